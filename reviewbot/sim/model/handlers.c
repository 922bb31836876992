/*
 * Model ->fault handlers (reviewbot's own code, written from the behaviour
 * described in xip-model.md §2.4-2.5 and §3.6-3.7, not copied from a tree).
 * sim_fault_vma() is the vma the faulting thread touched.
 */

static struct mutex xip_sparse_mutex;

static unsigned long sim_size(struct inode *inode)
{
	return (i_size_read(inode) + PAGE_SIZE - 1) >> PAGE_SHIFT;
}

/* XIP after "fix XIP fault vs truncate race": insert under i_mmap (read). */
int sim_xip_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = sim_fault_vma();
	struct address_space *mapping = vma->vm_file->f_mapping;
	struct inode *inode = mapping->host;
	unsigned long pfn;
	void *kmem;
	int err;

	if (vmf->pgoff >= sim_size(inode))
		return VM_FAULT_SIGBUS;
	err = get_xip_mem(mapping, vmf->pgoff, 0, &kmem, &pfn);
	if (err && (vmf->flags & FAULT_FLAG_WRITE) && sim_vma_shared(vma)) {
		mutex_lock(&xip_sparse_mutex);
		err = get_xip_mem(mapping, vmf->pgoff, 1, &kmem, &pfn);
		mutex_unlock(&xip_sparse_mutex);
		if (err)
			return VM_FAULT_SIGBUS;
		__xip_unmap(mapping, vmf->pgoff);
	}
	if (err) {
		mutex_lock(&xip_sparse_mutex);
		i_mmap_lock_read(mapping);
		if (vmf->pgoff >= sim_size(inode)) {
			i_mmap_unlock_read(mapping);
			mutex_unlock(&xip_sparse_mutex);
			return VM_FAULT_SIGBUS;
		}
		vm_insert_page(vma, sim_address(vma, vmf->pgoff), xip_sparse_page());
		i_mmap_unlock_read(mapping);
		mutex_unlock(&xip_sparse_mutex);
		return VM_FAULT_NOPAGE;
	}
	i_mmap_lock_read(mapping);
	if (vmf->pgoff >= sim_size(inode)) {
		i_mmap_unlock_read(mapping);
		return VM_FAULT_SIGBUS;
	}
	vm_insert_mixed(vma, sim_address(vma, vmf->pgoff), pfn);
	i_mmap_unlock_read(mapping);
	return VM_FAULT_NOPAGE;
}

/* XIP before that fix: one unlocked i_size check, then the insert. */
int sim_xip_pre_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = sim_fault_vma();
	struct address_space *mapping = vma->vm_file->f_mapping;
	struct inode *inode = mapping->host;
	unsigned long pfn;
	void *kmem;
	int err;

	if (vmf->pgoff >= sim_size(inode))
		return VM_FAULT_SIGBUS;
	err = get_xip_mem(mapping, vmf->pgoff, 0, &kmem, &pfn);
	if (err) {
		mutex_lock(&xip_sparse_mutex);
		vm_insert_page(vma, sim_address(vma, vmf->pgoff), xip_sparse_page());
		mutex_unlock(&xip_sparse_mutex);
		return VM_FAULT_NOPAGE;
	}
	vm_insert_mixed(vma, sim_address(vma, vmf->pgoff), pfn);
	return VM_FAULT_NOPAGE;
}

/*
 * Contract-maximal ->fault: any outcome the post-2e4cdab0584f contract
 * allows, chosen nondeterministically, including "no page, i_mmap held
 * for read" on any fault (the contract keys it on the page pointer).
 */
int sim_contract_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = sim_fault_vma();
	struct address_space *mapping = vma->vm_file->f_mapping;
	struct inode *inode = mapping->host;
	struct page *page;
	unsigned long pfn;
	void *kmem;

	switch (sim_nondet(4)) {
	case 0:
		return VM_FAULT_SIGBUS;
	case 1:
		i_mmap_lock_read(mapping);
		if (vmf->pgoff >= sim_size(inode)) {
			i_mmap_unlock_read(mapping);
			return VM_FAULT_SIGBUS;
		}
		if (!get_xip_mem(mapping, vmf->pgoff, 0, &kmem, &pfn))
			vm_insert_mixed(vma, sim_address(vma, vmf->pgoff), pfn);
		i_mmap_unlock_read(mapping);
		return VM_FAULT_NOPAGE;
	case 2:
		page = sim_hole_page(mapping, vmf->pgoff);
		if (vmf->pgoff >= sim_size(inode)) {
			unlock_page(page);
			page_cache_release(page);
			return VM_FAULT_SIGBUS;
		}
		vmf->page = page;
		return VM_FAULT_LOCKED;
	default:
		i_mmap_lock_read(mapping);
		if (vmf->pgoff >= sim_size(inode)) {
			i_mmap_unlock_read(mapping);
			return VM_FAULT_SIGBUS;
		}
		sim_fill_cow(vmf);
		vmf->page = NULL;
		return VM_FAULT_LOCKED;
	}
}

/*
 * Page-cache ->fault in the filemap_fault() style: the page comes back
 * locked (VM_FAULT_LOCKED) after i_size was rechecked under the page lock.
 * A page that truncate removed meanwhile makes the fault retry.
 */
int sim_pagecache_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = sim_fault_vma();
	struct address_space *mapping = vma->vm_file->f_mapping;
	struct inode *inode = mapping->host;
	struct page *page;

	if (vmf->pgoff >= sim_size(inode))
		return VM_FAULT_SIGBUS;
	page = find_get_page(mapping, vmf->pgoff);
	if (!page)
		return VM_FAULT_SIGBUS;
	lock_page(page);
	if (page->mapping != mapping) {
		unlock_page(page);
		put_page(page);
		return VM_FAULT_NOPAGE;
	}
	if (vmf->pgoff >= sim_size(inode)) {
		unlock_page(page);
		put_page(page);
		return VM_FAULT_SIGBUS;
	}
	vmf->page = page;
	return VM_FAULT_LOCKED;
}
