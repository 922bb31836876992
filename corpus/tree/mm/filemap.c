/*
 *  mm/filemap.c - page cache vm_operations (reviewbot corpus)
 *
 *  The ordinary page-cache ->fault: it returns the page locked, with
 *  VM_FAULT_LOCKED, after checking i_size under the page lock.
 */

#include <linux/types.h>
#include <linux/mm.h>
#include <linux/fs.h>
#include <linux/pagemap.h>

static pgoff_t size_in_pages(struct inode *inode)
{
	return (i_size_read(inode) + PAGE_CACHE_SIZE - 1) >> PAGE_CACHE_SHIFT;
}

/**
 * filemap_fault - find or read in the page cache page for a fault
 * @vma: the vma that faulted
 * @vmf: the fault; @vmf->page receives the page
 *
 * Returns VM_FAULT_LOCKED with the page locked and referenced in
 * @vmf->page, possibly ORed with VM_FAULT_MAJOR if it had to be read.
 * May return VM_FAULT_RETRY after dropping mmap_sem, if the flags allow.
 * Truncate removes pages under the page lock, so an i_size check made
 * while holding it is stable.
 */
int filemap_fault(struct vm_area_struct *vma, struct vm_fault *vmf)
{
	struct file *file = vma->vm_file;
	struct address_space *mapping = file->f_mapping;
	struct inode *inode = mapping->host;
	pgoff_t offset = vmf->pgoff;
	struct page *page;
	int ret = 0;
	int error;

	if (offset >= size_in_pages(inode))
		return VM_FAULT_SIGBUS;

retry_find:
	page = find_get_page(mapping, offset);
	if (!page) {
		/* not cached: read it in and count a major fault */
		ret = VM_FAULT_MAJOR;
		error = page_cache_read(file, offset);
		if (error == -ENOMEM)
			return VM_FAULT_OOM;
		if (error < 0 && error != -EEXIST)
			return VM_FAULT_SIGBUS;
		page = find_get_page(mapping, offset);
		if (!page)
			return VM_FAULT_SIGBUS;
	}

	if (!lock_page_or_retry(page, vma->vm_mm, vmf->flags)) {
		page_cache_release(page);
		return ret | VM_FAULT_RETRY;
	}

	/* truncated or invalidated while we slept on the lock */
	if (unlikely(page->mapping != mapping)) {
		unlock_page(page);
		page_cache_release(page);
		goto retry_find;
	}

	if (unlikely(!PageUptodate(page))) {
		unlock_page(page);
		page_cache_release(page);
		return VM_FAULT_SIGBUS;
	}

	/* the page lock keeps truncate out; check the size once more */
	if (unlikely(offset >= size_in_pages(inode))) {
		unlock_page(page);
		page_cache_release(page);
		return VM_FAULT_SIGBUS;
	}

	vmf->page = page;
	return ret | VM_FAULT_LOCKED;
}

/*
 * Map one already-cached, up-to-date page at @pte, if it can be had
 * without sleeping.  Called with the pte lock held.
 */
static void filemap_map_one(struct vm_area_struct *vma,
			    struct address_space *mapping, pgoff_t index,
			    unsigned long address, pte_t *pte)
{
	struct page *page;

	if (!pte_none(*pte))
		return;
	page = find_get_page(mapping, index);
	if (!page)
		return;
	if (!trylock_page(page))
		goto skip;
	if (page->mapping != mapping || !PageUptodate(page))
		goto unlock;
	if (index >= size_in_pages(mapping->host))
		goto unlock;
	do_set_pte(vma, address, page, pte, false, false);
	unlock_page(page);
	return;
unlock:
	unlock_page(page);
skip:
	page_cache_release(page);
}

/* ->map_pages: map every cached page from vmf->pgoff to vmf->max_pgoff. */
void filemap_map_pages(struct vm_area_struct *vma, struct vm_fault *vmf)
{
	struct file *file = vma->vm_file;
	struct address_space *mapping = file->f_mapping;
	unsigned long address = (unsigned long)vmf->virtual_address;
	pgoff_t index;
	pgoff_t delta;

	for (index = vmf->pgoff; index <= vmf->max_pgoff; index++) {
		delta = index - vmf->pgoff;
		filemap_map_one(vma, mapping, index,
				address + (delta << PAGE_SHIFT),
				vmf->pte + delta);
	}
}

/*
 * ->page_mkwrite for simple filesystems: mark the page dirty under its
 * lock and return it locked.  A page truncated meanwhile gives NOPAGE,
 * which makes the fault retry.
 */
int filemap_page_mkwrite(struct vm_area_struct *vma, struct vm_fault *vmf)
{
	struct page *page = vmf->page;
	struct inode *inode = file_inode(vma->vm_file);
	int ret = VM_FAULT_LOCKED;

	sb_start_pagefault(inode->i_sb);
	file_update_time(vma->vm_file);
	lock_page(page);
	if (page->mapping != inode->i_mapping) {
		unlock_page(page);
		ret = VM_FAULT_NOPAGE;
		goto out;
	}
	set_page_dirty(page);
	wait_for_stable_page(page);
out:
	sb_end_pagefault(inode->i_sb);
	return ret;
}

const struct vm_operations_struct generic_file_vm_ops = {
	.fault		= filemap_fault,
	.map_pages	= filemap_map_pages,
	.page_mkwrite	= filemap_page_mkwrite,
};
