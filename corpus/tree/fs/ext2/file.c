/*
 *  fs/ext2/file.c - ext2 file mappings (reviewbot corpus)
 *
 *  A DAX inode is mapped through ext2_dax_vm_ops; the fault handlers
 *  are the generic DAX ones with ext2's block mapper.
 */

#include <linux/types.h>
#include <linux/mm.h>
#include <linux/fs.h>
#include "ext2.h"

extern int dax_fault(struct vm_area_struct *vma, struct vm_fault *vmf,
		     get_block_t get_block);
extern int dax_mkwrite(struct vm_area_struct *vma, struct vm_fault *vmf,
		       get_block_t get_block);

static int ext2_dax_fault(struct vm_area_struct *vma, struct vm_fault *vmf)
{
	return dax_fault(vma, vmf, ext2_get_block);
}

static int ext2_dax_mkwrite(struct vm_area_struct *vma, struct vm_fault *vmf)
{
	return dax_mkwrite(vma, vmf, ext2_get_block);
}

static const struct vm_operations_struct ext2_dax_vm_ops = {
	.fault		= ext2_dax_fault,
	.page_mkwrite	= ext2_dax_mkwrite,
};

int ext2_file_mmap(struct file *file, struct vm_area_struct *vma)
{
	vma->vm_ops = &ext2_dax_vm_ops;
	vma->vm_flags |= VM_MIXEDMAP;
	return 0;
}
