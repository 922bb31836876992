#ifndef _LINUX_MM_TYPES_H
#define _LINUX_MM_TYPES_H

#include <linux/types.h>
#include <linux/rwsem.h>

struct address_space;
struct anon_vma;
struct file;
struct mem_cgroup;
struct vm_operations_struct;

typedef struct { unsigned long pte; } pte_t;
typedef struct { unsigned long pmd; } pmd_t;
typedef struct { unsigned long pgprot; } pgprot_t;
typedef struct { unsigned int slock; } spinlock_t;

/*
 * One struct page per physical page frame.  Only the fields the fault
 * and truncate paths look at are kept.
 */
struct page {
	unsigned long flags;		/* PG_locked, PG_uptodate, ... */
	struct address_space *mapping;	/* owning file, NULL once truncated */
	pgoff_t index;			/* offset within mapping */
	int _count;			/* reference count */
	int _mapcount;			/* number of ptes mapping the page */
};

struct mm_struct {
	struct rw_semaphore mmap_sem;	/* held for read across a fault */
	spinlock_t page_table_lock;
	unsigned long rss_file;
	unsigned long rss_anon;
};

struct vm_area_struct {
	unsigned long vm_start;		/* first address covered */
	unsigned long vm_end;		/* first address after the area */
	struct mm_struct *vm_mm;
	pgprot_t vm_page_prot;
	unsigned long vm_flags;		/* VM_READ, VM_SHARED, ... */
	pgoff_t vm_pgoff;		/* file offset of vm_start, in pages */
	struct file *vm_file;		/* mapped file, or NULL */
	struct anon_vma *anon_vma;	/* for private COW pages */
	const struct vm_operations_struct *vm_ops;
};

struct task_struct {
	struct mm_struct *mm;
	unsigned long maj_flt;
	unsigned long min_flt;
};

#endif /* _LINUX_MM_TYPES_H */
