/*
 *  mm/memory.c - the file-backed page fault path (reviewbot corpus)
 *
 *  A compact rewrite of the v3.19/v4.0-era fault path: enough of it to
 *  show who builds a struct vm_fault, who calls ->fault, and how the
 *  VM_FAULT_* bits that come back are acted on.
 */

#include <linux/types.h>
#include <linux/mm.h>
#include <linux/fs.h>
#include <linux/pagemap.h>

struct zap_details {
	struct address_space *check_mapping;	/* NULL: zap private COWs too */
	pgoff_t first_index;			/* first page offset to zap */
	pgoff_t last_index;			/* last page offset to zap */
};

extern struct vm_area_struct *vma_interval_tree_iter_first(struct rb_root *root,
		pgoff_t first, pgoff_t last);
extern struct vm_area_struct *vma_interval_tree_iter_next(struct vm_area_struct *vma,
		pgoff_t first, pgoff_t last);

static unsigned long fault_around_bytes = 65536;

static unsigned long fault_around_pages(void)
{
	return fault_around_bytes >> PAGE_SHIFT;
}

static unsigned long fault_around_mask(void)
{
	return ~(fault_around_bytes - 1) & PAGE_MASK;
}

/*
 * A shared file page is about to become writable: give the owner of the
 * mapping a chance to allocate blocks or to refuse.  Returns with the
 * page locked (VM_FAULT_LOCKED set) on success, 0 when the page was
 * truncated meanwhile and the fault should be retried, or error bits.
 */
static int do_page_mkwrite(struct vm_area_struct *vma, struct page *page,
			   unsigned long address)
{
	struct vm_fault vmf;
	int ret;

	vmf.virtual_address = (void *)(address & PAGE_MASK);
	vmf.pgoff = page->index;
	vmf.flags = FAULT_FLAG_WRITE | FAULT_FLAG_MKWRITE;
	vmf.page = page;

	ret = vma->vm_ops->page_mkwrite(vma, &vmf);
	if (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE)))
		return ret;
	if (unlikely(!(ret & VM_FAULT_LOCKED))) {
		lock_page(page);
		if (!page->mapping) {
			/* truncated while unlocked: let the fault retry */
			unlock_page(page);
			return 0;
		}
		ret |= VM_FAULT_LOCKED;
	}
	return ret;
}

/*
 * Ask the vma's ->fault handler for the page at @pgoff.  Unless the
 * handler dealt with the fault itself (NOPAGE) or failed, the page is
 * handed back through @page, locked and with a reference held.
 */
static int __do_fault(struct vm_area_struct *vma, unsigned long address,
		      pgoff_t pgoff, unsigned int flags, struct page **page)
{
	struct vm_fault vmf;
	int ret;

	vmf.virtual_address = (void *)(address & PAGE_MASK);
	vmf.pgoff = pgoff;
	vmf.flags = flags;
	vmf.page = NULL;

	ret = vma->vm_ops->fault(vma, &vmf);
	if (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY)))
		return ret;

	if (unlikely(PageHWPoison(vmf.page))) {
		if (ret & VM_FAULT_LOCKED)
			unlock_page(vmf.page);
		page_cache_release(vmf.page);
		return VM_FAULT_HWPOISON;
	}

	if (unlikely(!(ret & VM_FAULT_LOCKED)))
		lock_page(vmf.page);

	*page = vmf.page;
	return ret;
}

/*
 * Install @page at @address.  The caller holds the pte lock and has
 * checked that the slot still holds what it saw before.
 */
void do_set_pte(struct vm_area_struct *vma, unsigned long address,
		struct page *page, pte_t *pte, bool write, bool anon)
{
	pte_t entry;

	flush_icache_page(vma, page);
	entry = mk_pte(page, vma->vm_page_prot);
	if (write)
		entry = pte_mkwrite(pte_mkdirty(entry));
	if (anon) {
		inc_mm_counter_fast(vma->vm_mm, MM_ANONPAGES);
		page_add_new_anon_rmap(page, vma, address);
	} else {
		inc_mm_counter_fast(vma->vm_mm, MM_FILEPAGES);
		page_add_file_rmap(page);
	}
	set_pte_at(vma->vm_mm, address, pte, entry);
	update_mmu_cache(vma, address, pte);
}

/*
 * Map the pages around @address that are already in the page cache,
 * with one ->map_pages() call.  Called with the pte lock held; @pte is
 * the slot of @address.
 */
static void do_fault_around(struct vm_area_struct *vma, unsigned long address,
			    pte_t *pte, pgoff_t pgoff, unsigned int flags)
{
	unsigned long start_addr;
	pgoff_t max_pgoff;
	pgoff_t last_pgoff;
	struct vm_fault vmf;
	unsigned long off;

	start_addr = address & fault_around_mask();
	if (start_addr < vma->vm_start)
		start_addr = vma->vm_start;
	off = (address - start_addr) >> PAGE_SHIFT;
	pte -= off;
	pgoff -= off;

	/* stay inside both the fault-around window and the vma */
	max_pgoff = pgoff + fault_around_pages() - 1;
	last_pgoff = ((vma->vm_end - vma->vm_start) >> PAGE_SHIFT) +
		     vma->vm_pgoff - 1;
	if (max_pgoff > last_pgoff)
		max_pgoff = last_pgoff;

	/* skip over the leading slots that are already populated */
	for (; pgoff <= max_pgoff && !pte_none(*pte); pgoff++) {
		pte++;
		start_addr += PAGE_SIZE;
	}
	if (pgoff > max_pgoff)
		return;

	vmf.virtual_address = (void *)start_addr;
	vmf.pte = pte;
	vmf.pgoff = pgoff;
	vmf.max_pgoff = max_pgoff;
	vmf.flags = flags;
	vma->vm_ops->map_pages(vma, &vmf);
}

/* A read fault on a file page: map the page cache page read-only. */
static int do_read_fault(struct mm_struct *mm, struct vm_area_struct *vma,
			 unsigned long address, pmd_t *pmd,
			 pgoff_t pgoff, unsigned int flags, pte_t orig_pte)
{
	struct page *fault_page;
	spinlock_t *ptl;
	pte_t *pte;
	int ret = 0;

	/*
	 * If the mapping can map cached pages in bulk, try that first; when
	 * it fills our own slot there is no need to call ->fault at all.
	 */
	if (vma->vm_ops->map_pages && fault_around_pages() > 1) {
		pte = pte_offset_map_lock(mm, pmd, address, &ptl);
		do_fault_around(vma, address, pte, pgoff, flags);
		if (!pte_same(*pte, orig_pte))
			goto unlock_out;
		pte_unmap_unlock(pte, ptl);
	}

	ret = __do_fault(vma, address, pgoff, flags, &fault_page);
	if (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY)))
		return ret;

	pte = pte_offset_map_lock(mm, pmd, address, &ptl);
	if (unlikely(!pte_same(*pte, orig_pte))) {
		pte_unmap_unlock(pte, ptl);
		unlock_page(fault_page);
		page_cache_release(fault_page);
		return ret;
	}
	do_set_pte(vma, address, fault_page, pte, false, false);
	unlock_page(fault_page);
unlock_out:
	pte_unmap_unlock(pte, ptl);
	return ret;
}

/*
 * A write fault on a private file mapping: copy the file page into a
 * new anonymous page and map that one writable.
 */
static int do_cow_fault(struct mm_struct *mm, struct vm_area_struct *vma,
			unsigned long address, pmd_t *pmd,
			pgoff_t pgoff, unsigned int flags, pte_t orig_pte)
{
	struct page *fault_page;
	struct page *new_page;
	struct mem_cgroup *memcg;
	spinlock_t *ptl;
	pte_t *pte;
	int ret;

	if (unlikely(anon_vma_prepare(vma)))
		return VM_FAULT_OOM;

	new_page = alloc_page_vma(GFP_HIGHUSER_MOVABLE, vma, address);
	if (!new_page)
		return VM_FAULT_OOM;

	if (mem_cgroup_try_charge(new_page, mm, GFP_KERNEL, &memcg)) {
		page_cache_release(new_page);
		return VM_FAULT_OOM;
	}

	ret = __do_fault(vma, address, pgoff, flags, &fault_page);
	if (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY)))
		goto uncharge_out;

	copy_user_highpage(new_page, fault_page, address, vma);
	__SetPageUptodate(new_page);

	pte = pte_offset_map_lock(mm, pmd, address, &ptl);
	if (unlikely(!pte_same(*pte, orig_pte))) {
		pte_unmap_unlock(pte, ptl);
		unlock_page(fault_page);
		page_cache_release(fault_page);
		goto uncharge_out;
	}
	do_set_pte(vma, address, new_page, pte, true, true);
	mem_cgroup_commit_charge(new_page, memcg, false);
	lru_cache_add_active_or_unevictable(new_page, vma);
	pte_unmap_unlock(pte, ptl);
	unlock_page(fault_page);
	page_cache_release(fault_page);
	return ret;
uncharge_out:
	mem_cgroup_cancel_charge(new_page, memcg);
	page_cache_release(new_page);
	return ret;
}

/*
 * A write fault on a shared file mapping: map the page cache page
 * writable, after ->page_mkwrite (if any) has agreed to it.
 */
static int do_shared_fault(struct mm_struct *mm, struct vm_area_struct *vma,
			   unsigned long address, pmd_t *pmd,
			   pgoff_t pgoff, unsigned int flags, pte_t orig_pte)
{
	struct page *fault_page;
	struct address_space *mapping;
	spinlock_t *ptl;
	pte_t *pte;
	int dirtied = 0;
	int ret;
	int tmp;

	ret = __do_fault(vma, address, pgoff, flags, &fault_page);
	if (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY)))
		return ret;

	if (vma->vm_ops->page_mkwrite) {
		unlock_page(fault_page);
		tmp = do_page_mkwrite(vma, fault_page, address);
		if (unlikely(!tmp ||
			     (tmp & (VM_FAULT_ERROR | VM_FAULT_NOPAGE)))) {
			page_cache_release(fault_page);
			return tmp;
		}
	}

	pte = pte_offset_map_lock(mm, pmd, address, &ptl);
	if (unlikely(!pte_same(*pte, orig_pte))) {
		pte_unmap_unlock(pte, ptl);
		unlock_page(fault_page);
		page_cache_release(fault_page);
		return ret;
	}
	do_set_pte(vma, address, fault_page, pte, true, false);
	pte_unmap_unlock(pte, ptl);

	if (set_page_dirty(fault_page))
		dirtied = 1;
	mapping = fault_page->mapping;
	unlock_page(fault_page);
	if ((dirtied || vma->vm_ops->page_mkwrite) && mapping)
		balance_dirty_pages_ratelimited(mapping);

	/* without ->page_mkwrite nobody else updates the file times */
	if (!vma->vm_ops->page_mkwrite)
		file_update_time(vma->vm_file);

	return ret;
}

/*
 * First touch of a pte in a vma that has ->fault: pick the read, COW or
 * shared path.  mmap_sem is held for read; the pte is not locked.
 */
static int do_fault(struct mm_struct *mm, struct vm_area_struct *vma,
		    unsigned long address, pte_t *page_table, pmd_t *pmd,
		    unsigned int flags, pte_t orig_pte)
{
	pgoff_t pgoff;

	pgoff = (((address & PAGE_MASK) - vma->vm_start) >> PAGE_SHIFT) +
		vma->vm_pgoff;

	pte_unmap(page_table);
	if (!(flags & FAULT_FLAG_WRITE))
		return do_read_fault(mm, vma, address, pmd, pgoff, flags,
				     orig_pte);
	if (!(vma->vm_flags & VM_SHARED))
		return do_cow_fault(mm, vma, address, pmd, pgoff, flags,
				    orig_pte);
	return do_shared_fault(mm, vma, address, pmd, pgoff, flags, orig_pte);
}

/*
 * Write to a present, read-only pte.  Shared writable mappings just get
 * the write bit (after ->page_mkwrite); everything else gets a private
 * copy.  Entered with the pte lock held; returns with it dropped.
 */
static int do_wp_page(struct mm_struct *mm, struct vm_area_struct *vma,
		      unsigned long address, pte_t *page_table, pmd_t *pmd,
		      spinlock_t *ptl, pte_t orig_pte)
{
	struct page *old_page;
	struct page *new_page;
	struct mem_cgroup *memcg;
	pte_t entry;
	int shared;
	int tmp;

	old_page = vm_normal_page(vma, address, orig_pte);
	shared = (vma->vm_flags & (VM_WRITE | VM_SHARED)) ==
		 (VM_WRITE | VM_SHARED);
	if (!shared)
		goto copy;
	if (!old_page || !vma->vm_ops || !vma->vm_ops->page_mkwrite)
		goto reuse;

	page_cache_get(old_page);
	pte_unmap_unlock(page_table, ptl);
	tmp = do_page_mkwrite(vma, old_page, address);
	if (unlikely(!tmp || (tmp & (VM_FAULT_ERROR | VM_FAULT_NOPAGE)))) {
		page_cache_release(old_page);
		return tmp;
	}
	page_table = pte_offset_map_lock(mm, pmd, address, &ptl);
	if (!pte_same(*page_table, orig_pte)) {
		pte_unmap_unlock(page_table, ptl);
		unlock_page(old_page);
		page_cache_release(old_page);
		return 0;
	}
	entry = pte_mkwrite(pte_mkdirty(pte_mkyoung(orig_pte)));
	set_pte_at(mm, address, page_table, entry);
	pte_unmap_unlock(page_table, ptl);
	set_page_dirty(old_page);
	unlock_page(old_page);
	page_cache_release(old_page);
	return VM_FAULT_WRITE;

reuse:
	entry = pte_mkwrite(pte_mkdirty(pte_mkyoung(orig_pte)));
	if (ptep_set_access_flags(vma, address, page_table, entry, 1))
		update_mmu_cache(vma, address, page_table);
	pte_unmap_unlock(page_table, ptl);
	return VM_FAULT_WRITE;

copy:
	if (old_page)
		page_cache_get(old_page);
	pte_unmap_unlock(page_table, ptl);

	if (unlikely(anon_vma_prepare(vma)))
		goto oom;
	new_page = alloc_page_vma(GFP_HIGHUSER_MOVABLE, vma, address);
	if (!new_page)
		goto oom;
	/* with no struct page behind the pte, copy from the user address */
	cow_user_page(new_page, old_page, address, vma);
	__SetPageUptodate(new_page);
	if (mem_cgroup_try_charge(new_page, mm, GFP_KERNEL, &memcg)) {
		page_cache_release(new_page);
		goto oom;
	}

	page_table = pte_offset_map_lock(mm, pmd, address, &ptl);
	if (!pte_same(*page_table, orig_pte)) {
		/* somebody else resolved the fault first */
		pte_unmap_unlock(page_table, ptl);
		mem_cgroup_cancel_charge(new_page, memcg);
		page_cache_release(new_page);
		if (old_page)
			page_cache_release(old_page);
		return 0;
	}
	if (old_page)
		page_remove_rmap(old_page);
	do_set_pte(vma, address, new_page, page_table, true, true);
	mem_cgroup_commit_charge(new_page, memcg, false);
	lru_cache_add_active_or_unevictable(new_page, vma);
	pte_unmap_unlock(page_table, ptl);
	if (old_page)
		page_cache_release(old_page);
	return VM_FAULT_WRITE;

oom:
	if (old_page)
		page_cache_release(old_page);
	return VM_FAULT_OOM;
}

/*
 * Look at the pte without its lock first; take the lock only once we
 * know the fault is on a present pte.
 */
static int handle_pte_fault(struct mm_struct *mm, struct vm_area_struct *vma,
			    unsigned long address, pte_t *pte, pmd_t *pmd,
			    unsigned int flags)
{
	spinlock_t *ptl;
	pte_t entry;

	entry = *pte;
	if (!pte_present(entry)) {
		if (pte_none(entry)) {
			if (vma->vm_ops && vma->vm_ops->fault)
				return do_fault(mm, vma, address, pte, pmd,
						flags, entry);
			return do_anonymous_page(mm, vma, address, pte, pmd,
						 flags);
		}
		return do_swap_page(mm, vma, address, pte, pmd, flags, entry);
	}

	ptl = pte_lockptr(mm, pmd);
	spin_lock(ptl);
	if (unlikely(!pte_same(*pte, entry)))
		goto unlock;
	if (flags & FAULT_FLAG_WRITE) {
		if (!pte_write(entry))
			return do_wp_page(mm, vma, address, pte, pmd, ptl,
					  entry);
		entry = pte_mkdirty(entry);
	}
	entry = pte_mkyoung(entry);
	if (ptep_set_access_flags(vma, address, pte, entry,
				  flags & FAULT_FLAG_WRITE))
		update_mmu_cache(vma, address, pte);
unlock:
	pte_unmap_unlock(pte, ptl);
	return 0;
}

/*
 * Entry point from the architecture fault handlers and from gup.  The
 * caller holds mmap_sem for read; on VM_FAULT_RETRY it has been dropped.
 */
int handle_mm_fault(struct mm_struct *mm, struct vm_area_struct *vma,
		    unsigned long address, unsigned int flags)
{
	pmd_t *pmd;
	pte_t *pte;

	pmd = pmd_alloc_for(mm, address);
	if (!pmd)
		return VM_FAULT_OOM;
	if (unlikely(pmd_none(*pmd)) &&
	    unlikely(__pte_alloc(mm, vma, pmd, address)))
		return VM_FAULT_OOM;

	pte = pte_offset_map(pmd, address);
	return handle_pte_fault(mm, vma, address, pte, pmd, flags);
}

static void unmap_mapping_range_tree(struct rb_root *root,
				     struct zap_details *details)
{
	struct vm_area_struct *vma;
	pgoff_t vba;
	pgoff_t vea;
	pgoff_t zba;
	pgoff_t zea;

	for (vma = vma_interval_tree_iter_first(root, details->first_index,
						details->last_index);
	     vma;
	     vma = vma_interval_tree_iter_next(vma, details->first_index,
					       details->last_index)) {
		vba = vma->vm_pgoff;
		vea = vba + ((vma->vm_end - vma->vm_start) >> PAGE_SHIFT) - 1;
		zba = details->first_index;
		if (zba < vba)
			zba = vba;
		zea = details->last_index;
		if (zea > vea)
			zea = vea;
		zap_page_range_single(vma,
			((zba - vba) << PAGE_SHIFT) + vma->vm_start,
			(zea - zba + 1) << PAGE_SHIFT, details);
	}
}

/**
 * unmap_mapping_range - remove the user mappings of part of a file
 * @mapping: the file whose mappings go
 * @holebegin: first byte of the range; rounded down to a page
 * @holelen: length of the range; 0 means "to the end of the file"
 * @even_cows: 1 to also zap private COW copies (truncate), 0 to keep
 *	them (hole punch, invalidation)
 *
 * i_mmap_rwsem is held for write across the walk.  A fault that holds
 * it for read therefore either finishes before the zap starts, or only
 * starts once every affected pte has been cleared.
 */
void unmap_mapping_range(struct address_space *mapping,
			 loff_t const holebegin, loff_t const holelen,
			 int even_cows)
{
	struct zap_details details;
	pgoff_t hba;
	pgoff_t hlen;

	hba = holebegin >> PAGE_SHIFT;
	hlen = (holelen + PAGE_SIZE - 1) >> PAGE_SHIFT;

	if (even_cows)
		details.check_mapping = NULL;
	else
		details.check_mapping = mapping;
	details.first_index = hba;
	details.last_index = hba + hlen - 1;
	if (hlen == 0 || details.last_index < details.first_index)
		details.last_index = ULONG_MAX;

	i_mmap_lock_write(mapping);
	if (mapping_mapped(mapping))
		unmap_mapping_range_tree(&mapping->i_mmap, &details);
	i_mmap_unlock_write(mapping);
}
