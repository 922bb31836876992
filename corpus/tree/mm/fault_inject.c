/*
 *  mm/fault_inject.c - poke a vma's ->fault from a debug interface
 *  (reviewbot corpus)
 */

#include <linux/types.h>
#include <linux/mm.h>
#include <linux/pagemap.h>

/*
 * Run @vma's ->fault handler once for file offset @pgoff, outside any
 * real page fault, and report the result bits.  The struct vm_fault is
 * allocated zeroed, so every field not set below starts out 0/NULL.
 * Nothing is mapped: a page the handler returns is released again.
 */
int fault_inject_probe(struct vm_area_struct *vma, pgoff_t pgoff)
{
	struct vm_fault *vmf;
	unsigned long address;
	int ret;

	if (!vma->vm_ops || !vma->vm_ops->fault)
		return -EFAULT;

	vmf = kzalloc(sizeof(struct vm_fault), GFP_KERNEL);
	if (!vmf)
		return -ENOMEM;

	address = vma->vm_start + ((pgoff - vma->vm_pgoff) << PAGE_SHIFT);
	vmf->virtual_address = (void *)address;
	vmf->pgoff = pgoff;
	vmf->flags = FAULT_FLAG_USER;

	ret = vma->vm_ops->fault(vma, vmf);
	if (!(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY))) {
		if (ret & VM_FAULT_LOCKED)
			unlock_page(vmf->page);
		page_cache_release(vmf->page);
	}
	printk("fault_inject: pgoff %lu -> %#x\n", pgoff, ret);

	kfree(vmf);
	return ret;
}
