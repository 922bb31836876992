/*
 *  arch/x86/mm/fault.c - the x86 page fault entry (reviewbot contract corpus)
 */

#include <linux/types.h>
#include <linux/mm.h>

extern struct mm_struct *current_mm(void);
extern struct vm_area_struct *find_vma(struct mm_struct *mm, unsigned long address);
extern void mmap_read_lock(struct mm_struct *mm);
extern void mmap_read_unlock(struct mm_struct *mm);
extern void bad_area(struct pt_regs *regs, unsigned long address);
extern void fault_signal(struct pt_regs *regs, unsigned long address, int fault);

void do_user_addr_fault(struct pt_regs *regs, unsigned long address, unsigned int flags)
{
	struct mm_struct *mm = current_mm();
	struct vm_area_struct *vma;
	int fault;

	flags |= FAULT_FLAG_ALLOW_RETRY;
retry:
	mmap_read_lock(mm);
	vma = find_vma(mm, address);
	if (!vma) {
		mmap_read_unlock(mm);
		bad_area(regs, address);
		return;
	}

	fault = handle_mm_fault(vma, address, flags);

	/* the fault code dropped the mmap lock */
	if (fault & VM_FAULT_RETRY) {
		flags |= FAULT_FLAG_TRIED;
		goto retry;
	}

	mmap_read_unlock(mm);
	if (unlikely(fault & VM_FAULT_ERROR))
		fault_signal(regs, address, fault);
}
