/*
 *  arch/x86/mm/fault.c - x86 page fault entry (reviewbot corpus)
 */

#include <linux/types.h>
#include <linux/mm.h>

/* error_code bits pushed by the CPU */
#define PF_PROT		0x01	/* protection fault on a present page */
#define PF_WRITE	0x02	/* write access */
#define PF_USER		0x04	/* from user mode */

extern struct task_struct *current;

extern void bad_area(struct pt_regs *regs, unsigned long error_code,
		     unsigned long address);
extern void bad_area_nosemaphore(struct pt_regs *regs,
				 unsigned long error_code,
				 unsigned long address);
extern void do_sigbus(struct pt_regs *regs, unsigned long error_code,
		      unsigned long address, unsigned int fault);
extern void no_context(struct pt_regs *regs, unsigned long error_code,
		       unsigned long address);
extern int access_error(unsigned long error_code, struct vm_area_struct *vma);

/* Turn the error bits of a failed fault into a signal or an OOM kill. */
static void mm_fault_error(struct pt_regs *regs, unsigned long error_code,
			   unsigned long address, unsigned int fault)
{
	if (fault & VM_FAULT_OOM) {
		up_read(&current->mm->mmap_sem);
		if (!(error_code & PF_USER)) {
			no_context(regs, error_code, address);
			return;
		}
		pagefault_out_of_memory();
		return;
	}
	if (fault & (VM_FAULT_SIGBUS | VM_FAULT_HWPOISON |
		     VM_FAULT_HWPOISON_LARGE)) {
		do_sigbus(regs, error_code, address, fault);
		return;
	}
	if (fault & VM_FAULT_SIGSEGV) {
		bad_area_nosemaphore(regs, error_code, address);
		return;
	}
	/* unknown error bit: treat it like a bad kernel access */
	no_context(regs, error_code, address);
}

static void __do_page_fault(struct pt_regs *regs, unsigned long error_code,
			    unsigned long address)
{
	struct task_struct *tsk = current;
	struct mm_struct *mm = tsk->mm;
	struct vm_area_struct *vma;
	unsigned int flags = FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_KILLABLE;
	int fault;

	if (error_code & PF_USER)
		flags |= FAULT_FLAG_USER;
	if (error_code & PF_WRITE)
		flags |= FAULT_FLAG_WRITE;

retry:
	down_read(&mm->mmap_sem);
	vma = find_vma(mm, address);
	if (unlikely(!vma || vma->vm_start > address)) {
		bad_area(regs, error_code, address);
		return;
	}
	if (unlikely(access_error(error_code, vma))) {
		bad_area(regs, error_code, address);
		return;
	}

	fault = handle_mm_fault(mm, vma, address, flags);

	/* on RETRY the fault code has already released mmap_sem */
	if (unlikely(fault & VM_FAULT_RETRY)) {
		if (fatal_signal_pending(tsk))
			return;
		if (flags & FAULT_FLAG_ALLOW_RETRY) {
			flags &= ~FAULT_FLAG_ALLOW_RETRY;
			flags |= FAULT_FLAG_TRIED;
			goto retry;
		}
		return;
	}

	if (unlikely(fault & VM_FAULT_ERROR)) {
		mm_fault_error(regs, error_code, address, fault);
		return;
	}

	if (fault & VM_FAULT_MAJOR)
		tsk->maj_flt++;
	else
		tsk->min_flt++;

	up_read(&mm->mmap_sem);
}

void do_page_fault(struct pt_regs *regs, unsigned long error_code,
		   unsigned long address)
{
	__do_page_fault(regs, error_code, address);
}
