/*
 *  arch/arm/mm/fault.c - ARM data abort handling (reviewbot corpus)
 */

#include <linux/types.h>
#include <linux/mm.h>

/* arch-private results, kept clear of the generic VM_FAULT_* bits */
#define VM_FAULT_BADMAP		0x010000
#define VM_FAULT_BADACCESS	0x020000

#define FSR_WRITE	(1 << 11)

#define SIGBUS		7
#define SIGSEGV		11
#define BUS_ADRERR	2
#define SEGV_MAPERR	1
#define SEGV_ACCERR	2

extern struct task_struct *current;

extern int user_mode(struct pt_regs *regs);
extern int access_error(unsigned int fsr, struct vm_area_struct *vma);
extern void __do_user_fault(struct task_struct *tsk, unsigned long addr,
			    unsigned int fsr, int sig, int code,
			    struct pt_regs *regs);
extern void __do_kernel_fault(struct mm_struct *mm, unsigned long addr,
			      unsigned int fsr, struct pt_regs *regs);

static int __do_page_fault(struct mm_struct *mm, unsigned long addr,
			   unsigned int fsr, unsigned int flags)
{
	struct vm_area_struct *vma;

	vma = find_vma(mm, addr);
	if (unlikely(!vma || vma->vm_start > addr))
		return VM_FAULT_BADMAP;
	if (access_error(fsr, vma))
		return VM_FAULT_BADACCESS;
	return handle_mm_fault(mm, vma, addr & PAGE_MASK, flags);
}

int do_page_fault(unsigned long addr, unsigned int fsr, struct pt_regs *regs)
{
	struct task_struct *tsk = current;
	struct mm_struct *mm = tsk->mm;
	unsigned int flags = FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_KILLABLE;
	int fault;
	int sig;
	int code;

	if (user_mode(regs))
		flags |= FAULT_FLAG_USER;
	if (fsr & FSR_WRITE)
		flags |= FAULT_FLAG_WRITE;

retry:
	down_read(&mm->mmap_sem);
	fault = __do_page_fault(mm, addr, fsr, flags);

	/* mmap_sem is gone on RETRY; a fatal signal ends the fault here */
	if ((fault & VM_FAULT_RETRY) && fatal_signal_pending(tsk))
		return 0;

	if (!(fault & VM_FAULT_ERROR) && (flags & FAULT_FLAG_ALLOW_RETRY)) {
		if (fault & VM_FAULT_MAJOR)
			tsk->maj_flt++;
		else
			tsk->min_flt++;
		if (fault & VM_FAULT_RETRY) {
			flags &= ~FAULT_FLAG_ALLOW_RETRY;
			flags |= FAULT_FLAG_TRIED;
			goto retry;
		}
	}

	up_read(&mm->mmap_sem);

	if (likely(!(fault & (VM_FAULT_ERROR | VM_FAULT_BADMAP |
			      VM_FAULT_BADACCESS))))
		return 0;

	if (fault & VM_FAULT_OOM) {
		pagefault_out_of_memory();
		return 0;
	}

	if (!user_mode(regs))
		goto no_context;

	if (fault & VM_FAULT_SIGBUS) {
		sig = SIGBUS;
		code = BUS_ADRERR;
	} else if (fault & VM_FAULT_SIGSEGV) {
		sig = SIGSEGV;
		code = SEGV_MAPERR;
	} else {
		sig = SIGSEGV;
		if (fault == VM_FAULT_BADACCESS)
			code = SEGV_ACCERR;
		else
			code = SEGV_MAPERR;
	}
	__do_user_fault(tsk, addr, fsr, sig, code, regs);
	return 0;

no_context:
	__do_kernel_fault(mm, addr, fsr, regs);
	return 0;
}
