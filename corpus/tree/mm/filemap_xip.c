/*
 *  mm/filemap_xip.c - execute-in-place file mappings (reviewbot corpus)
 *
 *  An XIP file has no page cache: its blocks are directly addressable
 *  memory, so the fault handler maps the block's pfn straight into the
 *  page tables and returns VM_FAULT_NOPAGE.
 */

#include <linux/types.h>
#include <linux/mm.h>
#include <linux/fs.h>
#include <linux/pagemap.h>

/*
 * Serialises hole handling: block allocation for shared writes, and
 * mapping the shared zero page for reads of holes.
 */
static struct mutex xip_sparse_mutex;

extern struct page *xip_sparse_page(void);
extern void __xip_unmap(struct address_space *mapping, pgoff_t pgoff);

static pgoff_t xip_size_in_pages(struct inode *inode)
{
	return (i_size_read(inode) + PAGE_CACHE_SIZE - 1) >> PAGE_CACHE_SHIFT;
}

/*
 * ->fault for XIP files.  Never returns a page: the pte is installed
 * here.  i_size is checked again under i_mmap_rwsem (read) right before
 * the insert.  Truncate writes i_size before unmap_mapping_range() takes
 * i_mmap_rwsem for write, so either the recheck sees the new size, or
 * the pte inserted here is zapped by that unmap.
 */
static int xip_file_fault(struct vm_area_struct *vma, struct vm_fault *vmf)
{
	struct file *file = vma->vm_file;
	struct address_space *mapping = file->f_mapping;
	struct inode *inode = mapping->host;
	unsigned long xip_pfn;
	struct page *page;
	void *xip_mem;
	int ret = VM_FAULT_OOM;
	int error;
	int err;

	if (vmf->pgoff >= xip_size_in_pages(inode))
		return VM_FAULT_SIGBUS;

	error = mapping->a_ops->get_xip_mem(mapping, vmf->pgoff, 0,
					    &xip_mem, &xip_pfn);
	if (likely(!error))
		goto found;
	if (error != -ENODATA)
		return VM_FAULT_OOM;

	/* A write through a shared mapping needs a real block behind it. */
	if ((vmf->flags & FAULT_FLAG_WRITE) && (vma->vm_flags & VM_SHARED)) {
		mutex_lock(&xip_sparse_mutex);
		error = mapping->a_ops->get_xip_mem(mapping, vmf->pgoff, 1,
						    &xip_mem, &xip_pfn);
		mutex_unlock(&xip_sparse_mutex);
		if (error)
			return VM_FAULT_SIGBUS;
		/* other mappings may still show the zero page here */
		__xip_unmap(mapping, vmf->pgoff);
		goto found;
	}

	/* Anything else that hits a hole sees the shared zero page. */
	mutex_lock(&xip_sparse_mutex);
	i_mmap_lock_read(mapping);
	if (unlikely(vmf->pgoff >= xip_size_in_pages(inode))) {
		ret = VM_FAULT_SIGBUS;
		goto unlock;
	}
	page = xip_sparse_page();
	if (!page)
		goto unlock;
	err = vm_insert_page(vma, (unsigned long)vmf->virtual_address, page);
	if (err == -ENOMEM)
		goto unlock;
	ret = VM_FAULT_NOPAGE;
unlock:
	i_mmap_unlock_read(mapping);
	mutex_unlock(&xip_sparse_mutex);
	return ret;

found:
	/* recheck i_size with truncate's unmap excluded */
	i_mmap_lock_read(mapping);
	if (unlikely(vmf->pgoff >= xip_size_in_pages(inode))) {
		i_mmap_unlock_read(mapping);
		return VM_FAULT_SIGBUS;
	}
	err = vm_insert_mixed(vma, (unsigned long)vmf->virtual_address,
			      xip_pfn);
	i_mmap_unlock_read(mapping);
	if (err == -ENOMEM)
		return VM_FAULT_OOM;
	/* -EBUSY: a racing fault mapped it first, which is just as good */
	if (err != -EBUSY && err)
		return VM_FAULT_SIGBUS;
	return VM_FAULT_NOPAGE;
}

static const struct vm_operations_struct xip_file_vm_ops = {
	.fault	= xip_file_fault,
};

int xip_file_mmap(struct file *file, struct vm_area_struct *vma)
{
	vma->vm_ops = &xip_file_vm_ops;
	vma->vm_flags |= VM_MIXEDMAP;
	return 0;
}
