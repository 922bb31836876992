#ifndef _LINUX_MM_H
#define _LINUX_MM_H

#include <linux/types.h>
#include <linux/fs.h>

struct page {
	unsigned long flags;
	struct address_space *mapping;
};

struct pt_regs;
struct mm_struct;

struct vm_area_struct {
	unsigned long vm_start;
	unsigned long vm_flags;
	struct mm_struct *vm_mm;
	struct file *vm_file;
	const struct vm_operations_struct *vm_ops;
};

#define VM_SHARED	0x0008

#define FAULT_FLAG_WRITE	0x01
#define FAULT_FLAG_ALLOW_RETRY	0x04
#define FAULT_FLAG_TRIED	0x20

/*
 * What the fault path tells a ->fault handler, and what the handler
 * hands back besides its VM_FAULT_* bits.
 */
struct vm_fault {
	unsigned int flags;		/* FAULT_FLAG_* */
	pgoff_t pgoff;			/* offset of the fault in the file */
	unsigned long address;		/* the faulting user address */
	struct page *cow_page;		/* the private page of a COW fault, or NULL */
	struct page *page;		/* the handler's page; NULL with VM_FAULT_LOCKED
					 * on a COW fault: i_mmap_rwsem is held (read) */
};

#define VM_FAULT_OOM		0x0001
#define VM_FAULT_SIGBUS		0x0002
#define VM_FAULT_MAJOR		0x0004
#define VM_FAULT_HWPOISON	0x0010
#define VM_FAULT_SIGSEGV	0x0040
#define VM_FAULT_NOPAGE		0x0100	/* the handler installed the pte */
#define VM_FAULT_LOCKED		0x0200	/* the page (or i_mmap_rwsem) is held */
#define VM_FAULT_RETRY		0x0400	/* the mmap lock was dropped */

#define VM_FAULT_ERROR	(VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV | \
			 VM_FAULT_HWPOISON)

#define VM_FAULT_RESULT_TRACE \
	{ VM_FAULT_OOM,		"OOM" },	\
	{ VM_FAULT_SIGBUS,	"SIGBUS" },	\
	{ VM_FAULT_MAJOR,	"MAJOR" },	\
	{ VM_FAULT_HWPOISON,	"HWPOISON" },	\
	{ VM_FAULT_SIGSEGV,	"SIGSEGV" },	\
	{ VM_FAULT_NOPAGE,	"NOPAGE" },	\
	{ VM_FAULT_LOCKED,	"LOCKED" },	\
	{ VM_FAULT_RETRY,	"RETRY" }

struct vm_operations_struct {
	int (*fault)(struct vm_area_struct *vma, struct vm_fault *vmf);
	int (*page_mkwrite)(struct vm_area_struct *vma, struct vm_fault *vmf);
};

extern void lock_page(struct page *page);
extern void unlock_page(struct page *page);
extern void put_page(struct page *page);
extern struct page *alloc_page_vma(struct vm_area_struct *vma, unsigned long address);
extern void copy_user_highpage(struct page *to, struct page *from, unsigned long address);
extern void map_page(struct vm_area_struct *vma, unsigned long address, struct page *page,
		     bool write);
extern pgoff_t linear_page_index(struct vm_area_struct *vma, unsigned long address);
extern int handle_mm_fault(struct vm_area_struct *vma, unsigned long address,
			   unsigned int flags);

#endif
