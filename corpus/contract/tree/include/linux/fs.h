#ifndef _LINUX_FS_H
#define _LINUX_FS_H

#include <linux/types.h>

struct rw_semaphore {
	long count;
};

struct inode {
	loff_t i_size;
	struct address_space *i_mapping;
};

/* a file's pages and the vmas that map it; i_mmap_rwsem guards the latter */
struct address_space {
	struct inode *host;
	struct rw_semaphore i_mmap_rwsem;
};

struct file {
	struct address_space *f_mapping;
};

extern void i_mmap_lock_read(struct address_space *mapping);
extern void i_mmap_unlock_read(struct address_space *mapping);
extern void i_mmap_lock_write(struct address_space *mapping);
extern void i_mmap_unlock_write(struct address_space *mapping);

#endif
