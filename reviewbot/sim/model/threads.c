/*
 * Simulator thread drivers (reviewbot's own model code, not kernel code).
 * A fault thread reads its pte without the pte lock and dispatches the way
 * handle_pte_fault() does; the fault path itself is the tree's C.
 */

int sim_fault(struct vm_area_struct *vma, unsigned long pgoff, unsigned int flags)
{
	struct vm_fault vmf = {
		.vma = vma,
		.pgoff = pgoff,
		.flags = flags,
		.address = sim_address(vma, pgoff),
		.real_address = sim_address(vma, pgoff),
		.pmd = sim_pmd(vma),
		.gfp_mask = GFP_KERNEL,
	};

	vmf.orig_pte = sim_pte_read(vma, pgoff);
	if (pte_none(vmf.orig_pte))
		return sim_enter(do_fault, &vmf);
	if (!(flags & FAULT_FLAG_WRITE) || pte_write(vmf.orig_pte))
		return 0;
	if (!sim_wp_modelled())
		return 0;
	/* present and read-only: the write-protect path runs under the pte lock */
	vmf.pte = pte_offset_map_lock(vma->vm_mm, vmf.pmd, vmf.address, &vmf.ptl);
	if (!pte_same(*vmf.pte, vmf.orig_pte)) {
		pte_unmap_unlock(vmf.pte, vmf.ptl);
		return 0;
	}
	return sim_enter(do_wp_page, &vmf);
}

/* ext2 truncate: the tree's own ext2_setsize() frees the blocks itself. */
int sim_truncate_ext2(struct inode *inode, unsigned long newpages)
{
	int err;

	err = ext2_setsize(inode, newpages << PAGE_SHIFT);
	sim_truncate_done();
	return err;
}

/* Any other fs: the tree's truncate_setsize(), then the blocks go. */
int sim_truncate_generic(struct inode *inode, unsigned long newpages)
{
	truncate_setsize(inode, newpages << PAGE_SHIFT);
	sim_free_blocks(inode, newpages);
	sim_truncate_done();
	return 0;
}

/* ext4-style hole punch before v4.5: one unmap that keeps COW pages, no i_size change. */
int sim_punch(struct inode *inode, unsigned long pgoff)
{
	struct address_space *mapping = inode->i_mapping;

	unmap_mapping_range(mapping, pgoff << PAGE_SHIFT, PAGE_SIZE, 0);
	sim_drop_cached(mapping, pgoff);
	sim_free_block(inode, pgoff);
	return 0;
}
