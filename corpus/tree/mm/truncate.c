/*
 *  mm/truncate.c - shrinking a file (reviewbot corpus)
 */

#include <linux/types.h>
#include <linux/mm.h>
#include <linux/fs.h>
#include <linux/pagemap.h>

/*
 * Drop every page cache page from @lstart (rounded up to a page) to the
 * end of the file.  Each page is removed under its page lock.
 */
void truncate_inode_pages(struct address_space *mapping, loff_t lstart)
{
	pgoff_t start;
	pgoff_t end;
	pgoff_t index;
	struct page *page;

	start = (lstart + PAGE_CACHE_SIZE - 1) >> PAGE_CACHE_SHIFT;
	end = mapping_end_index(mapping);
	for (index = start; index < end; index++) {
		page = find_lock_page(mapping, index);
		if (page) {
			truncate_inode_page(mapping, page);
			unlock_page(page);
			page_cache_release(page);
		}
	}
}

/*
 * Remove mappings and page cache beyond @newsize.  The first unmap makes
 * the pages unmapped before they are dropped; the second one catches
 * private COW pages that a racing fault may have created in between.
 * i_size must already hold the new size.
 */
void truncate_pagecache(struct inode *inode, loff_t newsize)
{
	struct address_space *mapping = inode->i_mapping;
	loff_t holebegin;

	holebegin = (newsize + PAGE_SIZE - 1) & ~((loff_t)PAGE_SIZE - 1);
	unmap_mapping_range(mapping, holebegin, 0, 1);
	truncate_inode_pages(mapping, newsize);
	unmap_mapping_range(mapping, holebegin, 0, 1);
}

/*
 * Set a new file size and get rid of what lies beyond it.  The order is
 * what matters: i_size first, then the unmaps, so that a fault which
 * rechecks i_size under the page lock or i_mmap_rwsem cannot map a page
 * that truncate will not unmap.  Called with i_mutex held.
 */
void truncate_setsize(struct inode *inode, loff_t newsize)
{
	i_size_write(inode, newsize);
	truncate_pagecache(inode, newsize);
}
