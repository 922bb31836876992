/*
 *  mm/memory.c - the file fault path (reviewbot contract corpus)
 *
 *  Who calls ->fault, and what each caller does with the bits and the
 *  page that come back.  A COW fault may be finished by the handler
 *  itself: it then returns VM_FAULT_LOCKED with no page, holding
 *  i_mmap_rwsem for read, and do_cow_fault() drops it.
 */

#include <linux/types.h>
#include <linux/mm.h>
#include <linux/fs.h>

/*
 * Ask the vma's ->fault for the page at @pgoff.  The page comes back
 * locked in *@page, or NULL when a COW fault was completed by the
 * handler.
 */
static int __do_fault(struct vm_area_struct *vma, unsigned long address,
		      pgoff_t pgoff, unsigned int flags,
		      struct page *cow_page, struct page **page)
{
	struct vm_fault vmf;
	int ret;

	vmf.address = address;
	vmf.pgoff = pgoff;
	vmf.flags = flags;
	vmf.page = NULL;
	vmf.cow_page = cow_page;

	ret = vma->vm_ops->fault(vma, &vmf);
	if (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY)))
		return ret;
	if (!vmf.page)
		goto out;
	if (unlikely(!(ret & VM_FAULT_LOCKED)))
		lock_page(vmf.page);
out:
	*page = vmf.page;
	return ret;
}

/* A read fault: map the file's page read-only. */
static int do_read_fault(struct vm_area_struct *vma, unsigned long address,
			 pgoff_t pgoff, unsigned int flags)
{
	struct page *fault_page;
	int ret;

	ret = __do_fault(vma, address, pgoff, flags, NULL, &fault_page);
	if (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY)))
		return ret;

	map_page(vma, address, fault_page, false);
	unlock_page(fault_page);
	return ret;
}

/* A write fault on a private mapping: map a private copy of the page. */
static int do_cow_fault(struct vm_area_struct *vma, unsigned long address,
			pgoff_t pgoff, unsigned int flags)
{
	struct page *fault_page;
	struct page *new_page;
	int ret;

	new_page = alloc_page_vma(vma, address);
	if (!new_page)
		return VM_FAULT_OOM;

	ret = __do_fault(vma, address, pgoff, flags, new_page, &fault_page);
	if (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY))) {
		put_page(new_page);
		return ret;
	}

	if (fault_page)
		copy_user_highpage(new_page, fault_page, address);
	map_page(vma, address, new_page, true);
	if (fault_page) {
		unlock_page(fault_page);
		put_page(fault_page);
	} else {
		/* the handler made the copy under i_mmap_rwsem: drop it */
		i_mmap_unlock_read(vma->vm_file->f_mapping);
	}
	return ret;
}

/* A write fault on a shared mapping: map the file's page writable. */
static int do_shared_fault(struct vm_area_struct *vma, unsigned long address,
			   pgoff_t pgoff, unsigned int flags)
{
	struct page *fault_page;
	int ret;

	ret = __do_fault(vma, address, pgoff, flags, NULL, &fault_page);
	if (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY)))
		return ret;

	map_page(vma, address, fault_page, true);
	unlock_page(fault_page);
	return ret;
}

static int do_fault(struct vm_area_struct *vma, unsigned long address,
		    unsigned int flags)
{
	pgoff_t pgoff = linear_page_index(vma, address);

	if (!(flags & FAULT_FLAG_WRITE))
		return do_read_fault(vma, address, pgoff, flags);
	if (!(vma->vm_flags & VM_SHARED))
		return do_cow_fault(vma, address, pgoff, flags);
	return do_shared_fault(vma, address, pgoff, flags);
}

/*
 * The entry point of the architecture fault handlers and of gup.  The
 * mmap lock is held for read; on VM_FAULT_RETRY it has been dropped.
 */
int handle_mm_fault(struct vm_area_struct *vma, unsigned long address,
		    unsigned int flags)
{
	if (!vma->vm_ops || !vma->vm_ops->fault)
		return VM_FAULT_SIGBUS;
	return do_fault(vma, address, flags);
}
