#ifndef _LINUX_RWSEM_H
#define _LINUX_RWSEM_H

/*
 * Reader/writer semaphore.  Writers are preferred: once a writer is
 * queued, new readers wait behind it.
 */
struct rw_semaphore {
	long count;
	int nr_waiting_writers;
};

struct mutex {
	int owned;
};

extern void down_read(struct rw_semaphore *sem);
extern void up_read(struct rw_semaphore *sem);
extern void down_write(struct rw_semaphore *sem);
extern void up_write(struct rw_semaphore *sem);

extern void mutex_lock(struct mutex *lock);
extern void mutex_unlock(struct mutex *lock);

#endif /* _LINUX_RWSEM_H */
