#ifndef _LINUX_PAGEMAP_H
#define _LINUX_PAGEMAP_H

#include <linux/mm.h>
#include <linux/fs.h>

#define PAGE_CACHE_SHIFT	PAGE_SHIFT
#define PAGE_CACHE_SIZE		PAGE_SIZE
#define PAGE_CACHE_MASK		PAGE_MASK

extern struct page *find_get_page(struct address_space *mapping,
				  pgoff_t offset);
extern struct page *find_lock_page(struct address_space *mapping,
				   pgoff_t offset);
extern struct page *find_or_create_page(struct address_space *mapping,
					pgoff_t offset, gfp_t gfp_mask);
extern void delete_from_page_cache(struct page *page);
extern int page_cache_read(struct file *file, pgoff_t offset);
extern void wait_for_stable_page(struct page *page);
extern pgoff_t mapping_end_index(struct address_space *mapping);
extern void truncate_inode_page(struct address_space *mapping,
				struct page *page);

/* Offset in the file, in pages, of the page that maps @address. */
static inline pgoff_t linear_page_index(struct vm_area_struct *vma,
					unsigned long address)
{
	pgoff_t pgoff;

	pgoff = (address - vma->vm_start) >> PAGE_SHIFT;
	return pgoff + vma->vm_pgoff;
}

#endif /* _LINUX_PAGEMAP_H */
