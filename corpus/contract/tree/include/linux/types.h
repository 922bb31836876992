#ifndef _LINUX_TYPES_H
#define _LINUX_TYPES_H

typedef unsigned long pgoff_t;
typedef long long loff_t;
typedef _Bool bool;

#define NULL ((void *)0)
#define false 0
#define true 1

#define unlikely(x)	(x)
#define likely(x)	(x)

#endif
