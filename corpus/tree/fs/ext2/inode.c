/*
 *  fs/ext2/inode.c - ext2 truncate (reviewbot corpus)
 */

#include <linux/types.h>
#include <linux/mm.h>
#include <linux/fs.h>
#include "ext2.h"

/*
 * Free the data blocks from @offset (rounded up to a block) onwards.
 * Runs after the page cache and every user mapping of that range are
 * gone; truncate_mutex keeps block allocation out meanwhile.
 */
static void __ext2_truncate_blocks(struct inode *inode, loff_t offset)
{
	struct ext2_inode_info *ei = EXT2_I(inode);
	unsigned long blocksize = 1UL << inode->i_blkbits;
	unsigned long iblock;
	unsigned long first;

	first = (offset + blocksize - 1) >> inode->i_blkbits;
	mutex_lock(&ei->truncate_mutex);
	for (iblock = first; iblock < ei->i_nblocks; iblock++)
		ext2_free_data_block(inode, iblock);
	if (first < ei->i_nblocks)
		ei->i_nblocks = first;
	mutex_unlock(&ei->truncate_mutex);
}

/*
 * Change the size of a regular file.  Called from ->setattr with
 * i_mutex held.
 */
static int ext2_setsize(struct inode *inode, loff_t newsize)
{
	int error;

	inode_dio_wait(inode);

	/* zero the tail of the last, partial block */
	if (mapping_is_xip(inode->i_mapping))
		error = xip_truncate_page(inode->i_mapping, newsize);
	else
		error = block_truncate_page(inode->i_mapping, newsize);
	if (error)
		return error;

	truncate_setsize(inode, newsize);
	__ext2_truncate_blocks(inode, newsize);

	mark_inode_dirty(inode);
	return 0;
}

int ext2_setattr_size(struct inode *inode, loff_t newsize)
{
	if (newsize == inode->i_size)
		return 0;
	return ext2_setsize(inode, newsize);
}
