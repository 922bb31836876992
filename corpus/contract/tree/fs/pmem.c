/*
 *  fs/pmem.c - a file on persistent memory (reviewbot contract corpus)
 *
 *  Every block is directly addressable: a fault maps the block itself,
 *  and a COW fault copies the block into the private page here, under
 *  i_mmap_rwsem, which the caller drops once the copy is mapped.
 */

#include <linux/types.h>
#include <linux/mm.h>
#include <linux/fs.h>

extern void *pmem_block_addr(struct inode *inode, pgoff_t pgoff);
extern int pmem_insert_pfn(struct vm_area_struct *vma, unsigned long address, void *kaddr);
extern void copy_to_page(struct page *page, void *kaddr);

static pgoff_t pmem_size_in_pages(struct inode *inode)
{
	return (inode->i_size + 4095) >> 12;
}

static int pmem_fault(struct vm_area_struct *vma, struct vm_fault *vmf)
{
	struct address_space *mapping = vma->vm_file->f_mapping;
	struct inode *inode = mapping->host;
	void *kaddr;

	if (vmf->pgoff >= pmem_size_in_pages(inode))
		return VM_FAULT_SIGBUS;
	kaddr = pmem_block_addr(inode, vmf->pgoff);
	if (!kaddr)
		return VM_FAULT_SIGBUS;

	if (vmf->cow_page) {
		copy_to_page(vmf->cow_page, kaddr);
		/* keep truncate out until the private copy is mapped */
		i_mmap_lock_read(mapping);
		if (vmf->pgoff >= pmem_size_in_pages(inode)) {
			i_mmap_unlock_read(mapping);
			return VM_FAULT_SIGBUS;
		}
		vmf->page = NULL;
		return VM_FAULT_LOCKED;
	}

	if (pmem_insert_pfn(vma, vmf->address, kaddr))
		return VM_FAULT_SIGBUS;
	return VM_FAULT_NOPAGE;
}

static const struct vm_operations_struct pmem_vm_ops = {
	.fault		= pmem_fault,
};

int pmem_file_mmap(struct file *file, struct vm_area_struct *vma)
{
	vma->vm_ops = &pmem_vm_ops;
	return 0;
}
