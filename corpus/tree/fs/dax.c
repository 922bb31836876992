/*
 *  fs/dax.c - direct access to persistent memory for file mappings
 *  (reviewbot corpus)
 *
 *  A DAX file keeps no page cache for its data: a fault maps the pfn of
 *  the block itself.  A read fault on a hole gets a zeroed page-cache
 *  page (the "hole page") instead; a later write fault allocates the
 *  block, throws the hole page away and maps the block.
 */

#include <linux/types.h>
#include <linux/mm.h>
#include <linux/fs.h>
#include <linux/pagemap.h>

static pgoff_t dax_size_in_pages(struct inode *inode)
{
	return (i_size_read(inode) + PAGE_SIZE - 1) >> PAGE_SHIFT;
}

/*
 * Map the block @bh names at the faulting address.  i_size is checked
 * again under i_mmap_rwsem (read): truncate writes i_size before its
 * unmap takes the lock for write, so either the check sees the new size
 * or that unmap removes what is inserted here.
 */
static int dax_insert_mapping(struct inode *inode, struct buffer_head *bh,
			      struct vm_area_struct *vma, struct vm_fault *vmf)
{
	struct address_space *mapping = inode->i_mapping;
	unsigned long vaddr = (unsigned long)vmf->virtual_address;
	unsigned long pfn;
	void *kaddr;
	long error;

	i_mmap_lock_read(mapping);
	if (unlikely(vmf->pgoff >= dax_size_in_pages(inode))) {
		error = -EIO;
		goto out;
	}
	error = bdev_direct_access(bh, &kaddr, &pfn);
	if (error < 0)
		goto out;
	/* a block fresh from the allocator holds someone else's old data */
	if (buffer_unwritten(bh) || buffer_new(bh))
		clear_page(kaddr);
	error = vm_insert_mixed(vma, vaddr, pfn);
out:
	i_mmap_unlock_read(mapping);
	return error;
}

/*
 * A read fault on a hole: hand back a zeroed page-cache page, locked,
 * once i_size has been checked under its lock (truncate takes the page
 * lock to remove the page, so the check is stable).
 */
static int dax_load_hole(struct address_space *mapping, struct page *page,
			 struct vm_fault *vmf)
{
	struct inode *inode = mapping->host;

	if (!page)
		page = find_or_create_page(mapping, vmf->pgoff, GFP_KERNEL);
	if (!page)
		return VM_FAULT_OOM;
	if (vmf->pgoff >= dax_size_in_pages(inode)) {
		unlock_page(page);
		page_cache_release(page);
		return VM_FAULT_SIGBUS;
	}
	vmf->page = page;
	return VM_FAULT_LOCKED;
}

/**
 * __dax_fault - ->fault for a DAX file
 * @vma: the vma that faulted
 * @vmf: the fault
 * @get_block: the filesystem's block mapper
 *
 * Returns VM_FAULT_NOPAGE once the block is mapped, or VM_FAULT_LOCKED
 * with a locked hole page in @vmf->page for a read of a hole.
 */
int __dax_fault(struct vm_area_struct *vma, struct vm_fault *vmf,
		get_block_t get_block)
{
	struct file *file = vma->vm_file;
	struct address_space *mapping = file->f_mapping;
	struct inode *inode = mapping->host;
	struct buffer_head bh;
	struct page *page;
	unsigned long block;
	int major = 0;
	int error;

	if (vmf->pgoff >= dax_size_in_pages(inode))
		return VM_FAULT_SIGBUS;

	memset(&bh, 0, sizeof(bh));
	block = vmf->pgoff << (PAGE_SHIFT - inode->i_blkbits);
	bh.b_size = PAGE_SIZE;

repeat:
	page = find_get_page(mapping, vmf->pgoff);
	if (page) {
		if (!lock_page_or_retry(page, vma->vm_mm, vmf->flags)) {
			page_cache_release(page);
			return VM_FAULT_RETRY;
		}
		/* truncated while we slept on the lock: look again */
		if (unlikely(page->mapping != mapping)) {
			unlock_page(page);
			page_cache_release(page);
			goto repeat;
		}
		if (unlikely(vmf->pgoff >= dax_size_in_pages(inode))) {
			error = -EIO;
			goto unlock_page;
		}
	}

	error = get_block(inode, block, &bh, 0);
	if (error)
		goto unlock_page;

	if (!buffer_mapped(&bh)) {
		if (!(vmf->flags & FAULT_FLAG_WRITE))
			return dax_load_hole(mapping, page, vmf);
		error = get_block(inode, block, &bh, 1);
		major = VM_FAULT_MAJOR;
		if (error)
			goto unlock_page;
	}

	/* a real block now stands behind the hole page: drop the page */
	if (page) {
		unmap_mapping_range(mapping, vmf->pgoff << PAGE_SHIFT,
				    PAGE_SIZE, 0);
		delete_from_page_cache(page);
		unlock_page(page);
		page_cache_release(page);
	}

	error = dax_insert_mapping(inode, &bh, vma, vmf);

out:
	if (error == -ENOMEM)
		return VM_FAULT_OOM | major;
	/* -EBUSY: a racing fault mapped the block first, just as good */
	if (error < 0 && error != -EBUSY)
		return VM_FAULT_SIGBUS | major;
	return VM_FAULT_NOPAGE | major;

unlock_page:
	if (page) {
		unlock_page(page);
		page_cache_release(page);
	}
	goto out;
}

int dax_fault(struct vm_area_struct *vma, struct vm_fault *vmf,
	      get_block_t get_block)
{
	return __dax_fault(vma, vmf, get_block);
}

/* ->page_mkwrite: a write to a read-only hole page is a fault like any other. */
int dax_mkwrite(struct vm_area_struct *vma, struct vm_fault *vmf,
		get_block_t get_block)
{
	return __dax_fault(vma, vmf, get_block);
}
