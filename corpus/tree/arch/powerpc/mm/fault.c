/*
 *  arch/powerpc/mm/fault.c - powerpc page fault entry (reviewbot corpus)
 */

#include <linux/types.h>
#include <linux/mm.h>

#define DSISR_ISSTORE	0x02000000	/* the access was a store */

#define SIGBUS		7
#define SIGSEGV		11

extern struct task_struct *current;

extern int user_mode(struct pt_regs *regs);
extern int do_sigbus(struct pt_regs *regs, unsigned long address,
		     unsigned int fault);

/*
 * Map the error bits of a failed fault to the signal to deliver, or 0
 * when nothing more needs doing.  mmap_sem has been released.
 */
static int mm_fault_error(struct pt_regs *regs, unsigned long addr, int fault)
{
	if (fault & VM_FAULT_OOM) {
		/* kernel faults fail; the OOM killer is for user faults */
		if (!user_mode(regs))
			return SIGSEGV;
		pagefault_out_of_memory();
		return 0;
	}
	if (fault & (VM_FAULT_SIGBUS | VM_FAULT_HWPOISON |
		     VM_FAULT_HWPOISON_LARGE))
		return do_sigbus(regs, addr, fault);
	if (fault & VM_FAULT_SIGSEGV)
		return SIGSEGV;
	/* an error bit this code does not know */
	return SIGBUS;
}

int do_page_fault(struct pt_regs *regs, unsigned long address,
		  unsigned long error_code)
{
	struct task_struct *tsk = current;
	struct mm_struct *mm = tsk->mm;
	struct vm_area_struct *vma;
	unsigned int flags = FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_KILLABLE;
	int is_write = error_code & DSISR_ISSTORE;
	int fault;

	if (user_mode(regs))
		flags |= FAULT_FLAG_USER;
	if (is_write)
		flags |= FAULT_FLAG_WRITE;

retry:
	down_read(&mm->mmap_sem);
	vma = find_vma(mm, address);
	if (!vma || vma->vm_start > address)
		goto bad_area;
	if (is_write && !(vma->vm_flags & VM_WRITE))
		goto bad_area;

	fault = handle_mm_fault(mm, vma, address, flags);

	if (unlikely(fault & VM_FAULT_RETRY)) {
		/* mmap_sem was dropped for us */
		if ((flags & FAULT_FLAG_ALLOW_RETRY) &&
		    !fatal_signal_pending(tsk)) {
			flags &= ~FAULT_FLAG_ALLOW_RETRY;
			flags |= FAULT_FLAG_TRIED;
			goto retry;
		}
		return 0;
	}

	if (unlikely(fault & VM_FAULT_ERROR)) {
		up_read(&mm->mmap_sem);
		return mm_fault_error(regs, address, fault);
	}

	if (fault & VM_FAULT_MAJOR)
		tsk->maj_flt++;
	else
		tsk->min_flt++;
	up_read(&mm->mmap_sem);
	return 0;

bad_area:
	up_read(&mm->mmap_sem);
	return SIGSEGV;
}
