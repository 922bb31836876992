#ifndef _EXT2_H
#define _EXT2_H

#include <linux/types.h>
#include <linux/fs.h>

#define EXT2_N_BLOCKS 15

/* ext2 in-memory inode; vfs_inode comes first so EXT2_I() is a cast */
struct ext2_inode_info {
	struct inode vfs_inode;
	unsigned long i_data[EXT2_N_BLOCKS];
	unsigned long i_nblocks;	/* data blocks in use */
	struct mutex truncate_mutex;	/* serialises block alloc and free */
};

static inline struct ext2_inode_info *EXT2_I(struct inode *inode)
{
	return (struct ext2_inode_info *)inode;
}

extern int ext2_get_block(struct inode *inode, unsigned long iblock,
			  struct buffer_head *bh, int create);
extern void ext2_free_data_block(struct inode *inode, unsigned long iblock);
extern int mapping_is_xip(struct address_space *mapping);
extern int xip_truncate_page(struct address_space *mapping, loff_t from);
extern int block_truncate_page(struct address_space *mapping, loff_t from);

#endif /* _EXT2_H */
