/*
 *  mm/khugepaged.c - swap-in before a huge page collapse (reviewbot corpus)
 */

#include <linux/types.h>
#include <linux/mm.h>
#include <linux/pagemap.h>

/*
 * Bring back one swapped-out pte of a range khugepaged wants to
 * collapse.  Returns false when the collapse should be given up: the
 * swap-in failed, or mmap_sem was dropped to wait for I/O.
 */
static bool khugepaged_swapin_one(struct mm_struct *mm,
				  struct vm_area_struct *vma,
				  unsigned long address, pmd_t *pmd)
{
	struct vm_fault vmf = {
		.virtual_address = (void *)(address & PAGE_MASK),
		.pgoff = linear_page_index(vma, address),
		.flags = FAULT_FLAG_ALLOW_RETRY,
	};
	int ret;

	ret = swapin_fault(mm, vma, pmd, &vmf);
	if (ret & VM_FAULT_RETRY)
		return false;
	if (ret & VM_FAULT_ERROR)
		return false;
	return true;
}

/* Swap in every pte of [start, end) that is not present. */
bool khugepaged_swapin_range(struct mm_struct *mm, struct vm_area_struct *vma,
			     unsigned long start, unsigned long end,
			     pmd_t *pmd)
{
	unsigned long address;

	for (address = start; address < end; address += PAGE_SIZE) {
		if (!khugepaged_swapin_one(mm, vma, address, pmd))
			return false;
	}
	return true;
}
