/*
 *  mm/gup.c - faulting pages in for get_user_pages (reviewbot corpus)
 */

#include <linux/types.h>
#include <linux/mm.h>

#define FOLL_WRITE	0x01	/* the caller wants to write */
#define FOLL_NOWAIT	0x20	/* start I/O, but do not wait for it */
#define FOLL_HWPOISON	0x100	/* report poisoned pages as -EHWPOISON */

/*
 * Fault in one page for get_user_pages.  Returns 0 when the lookup can
 * be repeated, -EBUSY when mmap_sem was dropped (*nonblocking is then
 * cleared), or a negative errno.
 */
static int faultin_page(struct task_struct *tsk, struct vm_area_struct *vma,
			unsigned long address, unsigned int *flags,
			int *nonblocking)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned int fault_flags = 0;
	int ret;

	if (*flags & FOLL_WRITE)
		fault_flags |= FAULT_FLAG_WRITE;
	if (nonblocking)
		fault_flags |= FAULT_FLAG_ALLOW_RETRY;
	if (*flags & FOLL_NOWAIT)
		fault_flags |= FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_RETRY_NOWAIT;

	ret = handle_mm_fault(mm, vma, address, fault_flags);
	if (ret & VM_FAULT_ERROR) {
		if (ret & VM_FAULT_OOM)
			return -ENOMEM;
		if (ret & (VM_FAULT_HWPOISON | VM_FAULT_HWPOISON_LARGE)) {
			if (*flags & FOLL_HWPOISON)
				return -EHWPOISON;
			return -EFAULT;
		}
		if (ret & (VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV))
			return -EFAULT;
		/* an error bit nobody knows how to report */
		return -EFAULT;
	}

	if (tsk) {
		if (ret & VM_FAULT_MAJOR)
			tsk->maj_flt++;
		else
			tsk->min_flt++;
	}

	if (ret & VM_FAULT_RETRY) {
		if (nonblocking)
			*nonblocking = 0;
		return -EBUSY;
	}

	/*
	 * A write fault on a read-only private mapping made a COW copy;
	 * do not ask for write access again or we would loop forever.
	 */
	if ((ret & VM_FAULT_WRITE) && !(vma->vm_flags & VM_WRITE))
		*flags &= ~FOLL_WRITE;
	return 0;
}

/* Make sure the page at @address is present, faulting it in if needed. */
int populate_one_page(struct task_struct *tsk, struct vm_area_struct *vma,
		      unsigned long address, int write)
{
	unsigned int flags = 0;
	int nonblocking = 1;

	if (write)
		flags |= FOLL_WRITE;
	return faultin_page(tsk, vma, address, &flags, &nonblocking);
}
