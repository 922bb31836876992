#ifndef _LINUX_TYPES_H
#define _LINUX_TYPES_H

/*
 * The handful of basic types the corpus tree needs.  A real tree gets
 * these from architecture headers; here they are spelled out once.
 */

#define NULL ((void *)0)
#define true 1
#define false 0

#define ULONG_MAX (~0UL)

typedef unsigned long pgoff_t;
typedef long long loff_t;
typedef unsigned int gfp_t;
typedef unsigned int fmode_t;
typedef unsigned long size_t;

/* errno values used by the fault path */
#define EFAULT		14
#define EBUSY		16
#define EEXIST		17
#define ENOMEM		12
#define EINTR		4
#define EIO		5
#define ENODATA		61
#define EHWPOISON	133

extern void *memset(void *s, int c, size_t n);

#endif /* _LINUX_TYPES_H */
