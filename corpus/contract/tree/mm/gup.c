/*
 *  mm/gup.c - faulting a page in for get_user_pages (reviewbot contract corpus)
 */

#include <linux/types.h>
#include <linux/mm.h>

#define EFAULT	14
#define ENOMEM	12
#define EBUSY	16

/* Fault in the page at @address; 0, -EBUSY when the mmap lock was dropped, or an errno. */
static int faultin_page(struct vm_area_struct *vma, unsigned long address,
			unsigned int fault_flags)
{
	int ret;

	ret = handle_mm_fault(vma, address, fault_flags);
	if (ret & VM_FAULT_ERROR) {
		if (ret & VM_FAULT_OOM)
			return -ENOMEM;
		return -EFAULT;
	}
	if (ret & VM_FAULT_RETRY)
		return -EBUSY;
	return 0;
}

int populate_page(struct vm_area_struct *vma, unsigned long address, int write)
{
	return faultin_page(vma, address, write ? FAULT_FLAG_WRITE : 0);
}
