#ifndef _LINUX_FS_H
#define _LINUX_FS_H

#include <linux/types.h>
#include <linux/rwsem.h>
#include <linux/mm_types.h>

struct address_space;
struct super_block;

struct rb_root {
	void *rb_node;
};

struct address_space_operations {
	int (*readpage)(struct file *file, struct page *page);
	int (*get_xip_mem)(struct address_space *mapping, pgoff_t pgoff,
			   int create, void **kmem, unsigned long *pfn);
};

struct inode {
	loff_t i_size;			/* read with i_size_read() */
	unsigned int i_blkbits;
	struct super_block *i_sb;
	struct address_space *i_mapping;
	struct mutex i_mutex;		/* serialises truncate and writes */
};

/*
 * The page cache and the mappings of one file.  i_mmap holds every vma
 * that maps the file; i_mmap_rwsem protects that tree.  Walkers of the
 * tree take it for read; unmap_mapping_range() and vma insertion take
 * it for write.
 */
struct address_space {
	struct inode *host;
	struct rb_root i_mmap;
	struct rw_semaphore i_mmap_rwsem;
	unsigned long nrpages;
	const struct address_space_operations *a_ops;
};

struct file {
	struct inode *f_inode;
	struct address_space *f_mapping;
	fmode_t f_mode;
};

struct super_block {
	unsigned long s_blocksize;
	unsigned long s_flags;
};

static inline void i_mmap_lock_write(struct address_space *mapping)
{
	down_write(&mapping->i_mmap_rwsem);
}

static inline void i_mmap_unlock_write(struct address_space *mapping)
{
	up_write(&mapping->i_mmap_rwsem);
}

static inline void i_mmap_lock_read(struct address_space *mapping)
{
	down_read(&mapping->i_mmap_rwsem);
}

static inline void i_mmap_unlock_read(struct address_space *mapping)
{
	up_read(&mapping->i_mmap_rwsem);
}

/* Word-sized on the configurations modelled here, so a plain load. */
static inline loff_t i_size_read(const struct inode *inode)
{
	return inode->i_size;
}

/* Callers hold i_mutex. */
static inline void i_size_write(struct inode *inode, loff_t i_size)
{
	inode->i_size = i_size;
}

static inline struct inode *file_inode(const struct file *f)
{
	return f->f_inode;
}

/*
 * Where a block of a file lives on the device, as get_block() reports
 * it.  b_state holds the BH_* bits below.
 */
enum bh_state_bits {
	BH_Uptodate,
	BH_Dirty,
	BH_Lock,
	BH_Req,
	BH_Mapped,	/* b_blocknr is a real block */
	BH_New,		/* the block was allocated by this get_block() */
	BH_Unwritten,	/* allocated, not yet written: reads as zeroes */
};

struct buffer_head {
	unsigned long b_state;
	unsigned long b_blocknr;
	size_t b_size;
};

typedef int (get_block_t)(struct inode *inode, unsigned long iblock,
			  struct buffer_head *bh, int create);

static inline int buffer_mapped(const struct buffer_head *bh)
{
	return (bh->b_state >> BH_Mapped) & 1;
}

static inline int buffer_new(const struct buffer_head *bh)
{
	return (bh->b_state >> BH_New) & 1;
}

static inline int buffer_unwritten(const struct buffer_head *bh)
{
	return (bh->b_state >> BH_Unwritten) & 1;
}

/* The block can be read as it is: mapped, and not merely reserved. */
static inline int buffer_written(const struct buffer_head *bh)
{
	return buffer_mapped(bh) && !buffer_unwritten(bh);
}

extern long bdev_direct_access(struct buffer_head *bh, void **kaddr,
			       unsigned long *pfn);

extern void file_update_time(struct file *file);
extern void inode_dio_wait(struct inode *inode);
extern void mark_inode_dirty(struct inode *inode);
extern void sb_start_pagefault(struct super_block *sb);
extern void sb_end_pagefault(struct super_block *sb);
extern int mapping_mapped(struct address_space *mapping);
extern void balance_dirty_pages_ratelimited(struct address_space *mapping);

#endif /* _LINUX_FS_H */
