"""The precision corpus, as source: small kernel-style files before and after each patch, the
changelog, and what reviewbot should say. `make.py` turns them into patch mails and
expected.json. Every line of C and prose here was written for reviewbot."""
from __future__ import annotations

MM_H = """\
#ifndef _LINUX_MM_H
#define _LINUX_MM_H

#include <linux/gfp.h>

extern unsigned long highest_memmap_pfn;
extern pgprot_t protection_map[16];

/*
 * What the fault path hands to a vma's ->fault method.  The method answers
 * with VM_FAULT_* bits; see the table below and Documentation/filesystems/Locking.
 */
struct vm_fault {
	unsigned int flags;		/* FAULT_FLAG_* bits of this fault */
	pgoff_t pgoff;			/* page offset of the address in the vma */
	void __user *virtual_address;	/* where the access faulted */

	struct page *cow_page;		/* private copy target, may be NULL */
	struct page *page;		/* the handler's page, unless it says
					 * VM_FAULT_NOPAGE (or an error) */
	void *entry;			/* a locked DAX entry instead of a page */
};

#define VM_FAULT_OOM	0x0001
#define VM_FAULT_SIGBUS	0x0002
#define VM_FAULT_MAJOR	0x0004
#define VM_FAULT_WRITE	0x0008	/* special case for do_wp_page */
#define VM_FAULT_HWPOISON 0x0010
#define VM_FAULT_NOPAGE	0x0100	/* the handler installed the pte */
#define VM_FAULT_LOCKED	0x0200	/* the handler returns the page locked */
#define VM_FAULT_RETRY	0x0400	/* mmap_sem was dropped, try again */
#define VM_FAULT_DAX_LOCKED 0x1000	/* a locked DAX entry in ->entry */

#define VM_FAULT_ERROR	(VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_HWPOISON)

struct vm_operations_struct {
	void (*open)(struct vm_area_struct *area);
	void (*close)(struct vm_area_struct *area);
	int (*fault)(struct vm_area_struct *vma, struct vm_fault *vmf);
	int (*page_mkwrite)(struct vm_area_struct *vma, struct vm_fault *vmf);
};

extern int handle_mm_fault(struct vm_area_struct *vma, unsigned long address,
			   unsigned int flags);

#endif
"""

MEMORY_C = """\
#include <linux/mm.h>
#include <linux/rmap.h>

static int do_page_mkwrite(struct vm_area_struct *vma, struct page *page,
			   unsigned long address)
{
	struct vm_fault vmf;
	int ret;

	vmf.virtual_address = (void __user *)(address & PAGE_MASK);
	vmf.pgoff = page->index;
	vmf.flags = FAULT_FLAG_WRITE | FAULT_FLAG_MKWRITE;
	vmf.page = page;

	ret = vma->vm_ops->page_mkwrite(vma, &vmf);
	if (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE)))
		return ret;
	if (unlikely(!(ret & VM_FAULT_LOCKED))) {
		lock_page(page);
		if (!page->mapping) {
			unlock_page(page);
			return 0;
		}
		ret |= VM_FAULT_LOCKED;
	}
	return ret;
}

static int __do_fault(struct vm_area_struct *vma, unsigned long address,
		      pgoff_t pgoff, unsigned int flags,
		      struct page *cow_page, struct page **page)
{
	struct vm_fault vmf;
	int ret;

	vmf.virtual_address = (void __user *)(address & PAGE_MASK);
	vmf.pgoff = pgoff;
	vmf.flags = flags;
	vmf.page = NULL;
	vmf.cow_page = cow_page;

	ret = vma->vm_ops->fault(vma, &vmf);
	if (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY | VM_FAULT_DAX_LOCKED)))
		return ret;
	if (!vmf.page)
		goto out;

	if (unlikely(PageHWPoison(vmf.page))) {
		if (ret & VM_FAULT_LOCKED)
			unlock_page(vmf.page);
		put_page(vmf.page);
		return VM_FAULT_HWPOISON;
	}

	if (unlikely(!(ret & VM_FAULT_LOCKED)))
		lock_page(vmf.page);
	else
		VM_BUG_ON_PAGE(!PageLocked(vmf.page), vmf.page);

 out:
	*page = vmf.page;
	return ret;
}

static int fault_result_to_errno(int ret)
{
	if (ret == VM_FAULT_OOM)
		return -ENOMEM;
	else if (ret == VM_FAULT_SIGBUS)
		return -EFAULT;
	return 0;
}

static int do_read_fault(struct vm_area_struct *vma, unsigned long address,
			 pgoff_t pgoff, unsigned int flags)
{
	struct page *fault_page;
	int ret;

	ret = __do_fault(vma, address, pgoff, flags, NULL, &fault_page);
	if (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY)))
		return ret;

	unlock_page(fault_page);
	return ret;
}

int handle_mm_fault(struct vm_area_struct *vma, unsigned long address,
		    unsigned int flags)
{
	int ret;

	count_vm_event(PGFAULT);
	ret = do_read_fault(vma, address, linear_page_index(vma, address), flags);
	if (ret & VM_FAULT_OOM)
		pr_debug("fault at %lx ran out of memory\\n", address);
	return ret;
}
"""

FILEMAP_C = """\
#include <linux/mm.h>
#include <linux/pagemap.h>

int filemap_fault(struct vm_area_struct *vma, struct vm_fault *vmf)
{
	struct file *file = vma->vm_file;
	struct address_space *mapping = file->f_mapping;
	struct page *page;
	int ret = 0;

	page = find_get_page(mapping, vmf->pgoff);
	if (!page)
		return VM_FAULT_SIGBUS;

	if (!lock_page_or_retry(page, vma->vm_mm, vmf->flags)) {
		put_page(page);
		return ret | VM_FAULT_RETRY;
	}

	vmf->page = page;
	return ret | VM_FAULT_LOCKED;
}
"""

ALPHA_FAULT_C = """\
#include <linux/mm.h>
#include <asm/mmu_context.h>

asmlinkage void
do_page_fault(unsigned long address, unsigned long mmcsr,
	      long cause, struct pt_regs *regs)
{
	struct vm_area_struct *vma;
	struct mm_struct *mm = current->mm;
	unsigned int flags = FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_KILLABLE;
	int fault;

retry:
	down_read(&mm->mmap_sem);
	vma = find_vma(mm, address);
	if (!vma)
		goto bad_area;

good_area:
	fault = handle_mm_fault(vma, address, flags);

	if ((fault & VM_FAULT_RETRY) && fatal_signal_pending(current))
		return;

	if (unlikely(fault & VM_FAULT_ERROR)) {
		if (fault & VM_FAULT_OOM)
			goto out_of_memory;
		else if (fault & VM_FAULT_SIGBUS)
			goto do_sigbus;
		BUG();
	}

	up_read(&mm->mmap_sem);
	return;

bad_area:
	up_read(&mm->mmap_sem);
	return;

out_of_memory:
	up_read(&mm->mmap_sem);
	pagefault_out_of_memory();
	return;

do_sigbus:
	up_read(&mm->mmap_sem);
	force_sig(SIGBUS, current);
}
"""

LOCKING = """\
	The locking rules of the VFS and mm methods, one section a method.

--------------------------- vm_operations_struct -----------------------------
prototypes:
	void (*open)(struct vm_area_struct*);
	void (*close)(struct vm_area_struct*);
	int (*fault)(struct vm_area_struct*, struct vm_fault *);

locking rules:
		mmap_sem	PageLocked(page)
open:		yes
close:		yes
fault:		yes		can return with page locked

	->fault() is called when a previously not present pte is about to be
faulted in.  The handler returns the page in vmf->page, locked when it says
VM_FAULT_LOCKED, or installs the pte itself and says VM_FAULT_NOPAGE.
"""

GUP_C = """\
#include <linux/mm.h>

static int faultin_page(struct vm_area_struct *vma, unsigned long address,
			unsigned int *flags, int *nonblocking)
{
	unsigned int fault_flags = 0;
	int ret;

	if (*flags & FOLL_WRITE)
		fault_flags |= FAULT_FLAG_WRITE;
	ret = handle_mm_fault(vma, address, fault_flags);
	if (ret & VM_FAULT_ERROR) {
		if (ret & VM_FAULT_OOM)
			return -ENOMEM;
		return -EFAULT;
	}

	if (ret & VM_FAULT_RETRY) {
		if (nonblocking)
			*nonblocking = 0;
		return -EBUSY;
	}
	return 0;
}

long populate_range(struct vm_area_struct *vma, unsigned long start,
		    unsigned long end)
{
	unsigned long nr = 0;
	unsigned int flags = FOLL_GET;

	while (start < end) {
		if (faultin_page(vma, start, &flags, NULL))
			break;
		start += PAGE_SIZE;
		nr++;
	}
	return nr;
}
"""

PAGE_ALLOC_C = """\
#include <linux/mm.h>
#include <linux/swap.h>

static unsigned long nr_kernel_pages;
static unsigned long nr_all_pages;

static void show_node_pages(int nid, unsigned long free, unsigned long total)
{
	printk("Node %d: %lu free of %lu pages\\n", nid, free, total);
}

void show_free_areas(unsigned int filter)
{
	int nid;

	for_each_online_node(nid) {
		unsigned long free = node_page_state(nid, NR_FREE_PAGES);
		unsigned long total = node_present_pages(nid);

		if (filter && !node_isset(nid, cpuset_current_mems_allowed))
			continue;
		show_node_pages(nid, free, total);
	}
	printk("%lu pages reserved for the kernel\\n", nr_kernel_pages);
}

static int __init set_hashdist(char *str)
{
	if (!str)
		return 0;
	nr_all_pages = simple_strtoul(str, &str, 0);
	return 1;
}

struct page *alloc_pages_exact_nid(int nid, size_t size, gfp_t gfp_mask)
{
	unsigned int order = get_order(size);
	struct page *p = alloc_pages_node(nid, gfp_mask, order);

	if (!p)
		return NULL;
	split_page(p, order);
	return p;
}
"""

SWAP_H = """\
#ifndef _LINUX_SWAP_H
#define _LINUX_SWAP_H

#define SWAP_FLAG_PREFER	0x8000
#define SWAP_FLAG_PRIO_MASK	0x7fff

struct swap_extent {
	struct list_head list;
	pgoff_t start_page;
	pgoff_t nr_pages;
	sector_t start_block;
};

enum {
	SWP_USED	= (1 << 0),
	SWP_WRITEOK	= (1 << 1),
	SWP_DISCARDABLE	= (1 << 2),
};

extern int total_swap_pages;

#endif
"""

KCONFIG = """\
config ZSWAP
	bool "Compressed cache for swap pages"
	depends on SWAP
	help
	  A cache of compressed swap pages in RAM.

config ZBUD
	tristate
	help
	  An allocator for compressed pages, two to a page.
"""

MAKEFILE = """\
mmu-y			:= nommu.o
mmu-$(CONFIG_MMU)	:= gup.o highmem.o memory.o mincore.o

obj-y			:= filemap.o mempool.o oom_kill.o fadvise.o
obj-$(CONFIG_ZSWAP)	+= zswap.o
"""

ADMIN_DOC = """\
Transparent hugepages
=====================

The kernel may back anonymous memory with huge pages when the
mapping is large enough.  The policy is set in
/sys/kernel/mm/transparent_hugepage/enabled.
"""

PAGE_H = """\
#ifndef _LINUX_MM_TYPES_H
#define _LINUX_MM_TYPES_H

/* one per physical page; most of it is a union of what its current owner keeps */
struct page {
	unsigned long flags;
	union {
		struct {	/* the page cache and anonymous memory */
			struct list_head lru;
			struct address_space *mapping;
			pgoff_t index;
			unsigned long private;
		};
		struct {	/* slab */
			void *freelist;
			unsigned int inuse;
		};
	};
	atomic_t _refcount;
};

#endif
"""

# --- the members a changed site or a new read relies on (issue 8, part 4) -------------------
# A write fault path that hands its struct vm_fault down by direct calls, and a swap-in helper
# that builds one with a designated initializer leaving .pgoff zero.

WP_FAULT_C = """\
#include <linux/mm.h>
#include <linux/swap.h>

static int wp_page_shared(struct vm_area_struct *vma, struct vm_fault *vmf)
{
	struct page *page = vmf->page;

	if (vmf->flags & FAULT_FLAG_MKWRITE)
		set_page_dirty(page);
	return VM_FAULT_WRITE;
}

static int do_wp_fault(struct vm_area_struct *vma, struct vm_fault *vmf)
{
	vmf->page = vm_normal_page(vma, (unsigned long)vmf->virtual_address);
	if (!vmf->page)
		return VM_FAULT_SIGBUS;
	return wp_page_shared(vma, vmf);
}

int do_swap_fault(struct vm_area_struct *vma, struct vm_fault *vmf)
{
	struct page *page;

	page = lookup_swap_cache(vmf->entry);
	if (!page)
		return VM_FAULT_OOM;
	vmf->page = page;
	if (vmf->flags & FAULT_FLAG_WRITE)
		return do_wp_fault(vma, vmf);
	return 0;
}

int handle_wp_fault(struct vm_area_struct *vma, unsigned long address,
		    unsigned int flags)
{
	struct vm_fault vmf = {
		.virtual_address = (void __user *)(address & PAGE_MASK),
		.pgoff = linear_page_index(vma, address),
		.flags = flags,
	};

	return do_wp_fault(vma, &vmf);
}
"""

SWAPIN_C = """\
#include <linux/mm.h>
#include <linux/swap.h>

/* bring one swapped-out page of a range back before collapsing it */
static bool swapin_one(struct vm_area_struct *vma, unsigned long address,
		       void *entry)
{
	struct vm_fault vmf = {
		.virtual_address = (void __user *)address,
		.flags = FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_WRITE,
		.entry = entry,
	};

	return do_swap_fault(vma, &vmf) == 0;
}
"""

WP_INIT = ("\tstruct vm_fault vmf = {\n"
           "\t\t.virtual_address = (void __user *)(address & PAGE_MASK),\n"
           "\t\t.pgoff = linear_page_index(vma, address),\n"
           "\t\t.flags = flags,\n\t};\n")
WP_BARE = ("\tstruct vm_fault vmf;\n\n"
           "\tvmf.virtual_address = (void __user *)(address & PAGE_MASK);\n"
           "\tvmf.pgoff = linear_page_index(vma, address);\n")
WP_READ = ("\tif (vmf->flags & FAULT_FLAG_MKWRITE)\n",
           "\tif (vmf->pgoff >= vma_pages(vma))\n\t\treturn VM_FAULT_SIGBUS;\n"
           "\tif (vmf->flags & FAULT_FLAG_MKWRITE)\n")
SWAPIN_PGOFF = ("\t\t.virtual_address = (void __user *)address,\n",
                "\t\t.virtual_address = (void __user *)address,\n"
                "\t\t.pgoff = linear_page_index(vma, address),\n")


def wp_files(wp=None, swapin=None) -> dict:
    """mm.h unchanged (the tree needs the struct), and the two fault files before/after."""
    return {"include/linux/mm.h": (MM_H, MM_H),
            "mm/wp_fault.c": (WP_FAULT_C, wp or WP_FAULT_C),
            "mm/swapin.c": (SWAPIN_C, swapin or SWAPIN_C)}


# --- init helpers: a struct, its constructor, and a member set by a helper ------------------

def _init_files(struct: str, header: str, cfile: str, ctor: str, alloc: str,
                fields: str, sets: str) -> tuple[str, str]:
    h = (f"#ifndef _{struct.upper()}_H\n#define _{struct.upper()}_H\n\n"
         f"#include <linux/types.h>\n\n"
         f"/* one {struct} per user; built by {ctor}() */\n"
         f"struct {struct} {{\n{fields}}};\n\n"
         f"struct {struct} *{ctor}(void);\n\n#endif\n")
    c = (f"#include <linux/slab.h>\n#include <{header.split('include/')[-1]}>\n\n"
         f"struct {struct} *{ctor}(void)\n{{\n{alloc}\n"
         f"\tif (!p)\n\t\treturn NULL;\n\n{sets}\treturn p;\n}}\n")
    return h, c


INIT_FIELDS = "\tunsigned long flags;\n\tint nr_users;\n\tvoid *private;\n"
INIT_SETS = "\tp->flags = 0;\n\tp->nr_users = 1;\n\tp->private = NULL;\n"
KMALLOC = "\tstruct {s} *p = kmalloc(sizeof(*p), GFP_KERNEL);\n"


def init_case(name, struct, member_decl, member, sets_line, alloc=None, after_alloc=None,
              set_where=True, first=False):
    header = f"include/linux/{struct}.h"
    cfile = f"mm/{struct}.c"
    ctor = f"{struct}_create"
    alloc = (alloc or KMALLOC).format(s=struct)
    before = _init_files(struct, header, cfile, ctor, alloc, INIT_FIELDS, INIT_SETS)
    after = _init_files(struct, header, cfile, ctor, after_alloc.format(s=struct)
                        if after_alloc else alloc,
                        INIT_FIELDS + member_decl,
                        sets_line + INIT_SETS if first else INIT_SETS + sets_line)
    return dict(
        name=name, kind="related",
        subject=f"mm: give struct {struct} a {member}",
        changelog=f"Add {member} to struct {struct} and set it up in {ctor}().",
        files={header: (before[0], after[0]), cfile: (before[1], after[1])},
        expect=[dict(rule="field-init", key=f"{struct}.{member}:diff-only", severity="info",
                     **({"message_has": f"sets it in {ctor}()"} if set_where else {}))])


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"anchor not unique: {old[:60]!r}"
    return text.replace(old, new)


def mm_h(*pairs) -> str:
    t = MM_H
    for old, new in pairs:
        t = edit(t, old, new)
    return t


def mem_c(*pairs) -> str:
    t = MEMORY_C
    for old, new in pairs:
        t = edit(t, old, new)
    return t


COND1 = "\tif (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY | VM_FAULT_DAX_LOCKED)))\n"
COND2 = ("\tif (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE |\n"
         "\t\t\t    VM_FAULT_RETRY | VM_FAULT_DAX_LOCKED)))\n")
COND3 = ("\tif (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY |\n"
         "\t\t\t    VM_FAULT_DAX_LOCKED)))\n")

CHANGE = lambda flag: dict(rule="fault-contract", key=f"{flag}:change", severity="warning")  # noqa: E731
DOC = lambda flag, **kw: dict(rule="fault-contract", key=f"{flag}:documentation",  # noqa: E731
                              severity="warning", **kw)

ADD_GFP_MASK = ("\tunsigned int flags;\t\t/* FAULT_FLAG_* bits of this fault */\n",
                "\tunsigned int flags;\t\t/* FAULT_FLAG_* bits of this fault */\n"
                "\tgfp_t gfp_mask;\t\t\t/* for allocations in the handler */\n")

CASES = [
    # ---------------------------------------------------------------- unrelated ---------------
    dict(name="reflow-split-condition", kind="unrelated",
         subject="mm: wrap the long fault result check in __do_fault",
         changelog="Keep the line under 80 columns.  No functional change.",
         files={"mm/memory.c": (MEMORY_C, mem_c((COND1, COND2)))}),
    dict(name="reflow-join-condition", kind="unrelated",
         subject="mm: rewrap the fault result check",
         changelog="Rewrap after the previous cleanup.  No functional change.",
         files={"mm/memory.c": (mem_c((COND1, COND2)), mem_c((COND1, COND3)))}),
    dict(name="return-nopage", kind="unrelated",
         subject="mm: bail out early in __do_fault when the vma has no fault method",
         changelog="A vma without ->fault can only be a special mapping; nothing to do.",
         files={"mm/memory.c": (MEMORY_C, mem_c((
             "\tret = vma->vm_ops->fault(vma, &vmf);\n",
             "\tif (!vma->vm_ops->fault)\n"
             "\t\treturn vma->vm_flags & VM_MIXEDMAP ? VM_FAULT_NOPAGE : VM_FAULT_SIGBUS;\n"
             "\tret = vma->vm_ops->fault(vma, &vmf);\n")))}),
    dict(name="comment-edit-cow-page", kind="unrelated",
         subject="mm: say what cow_page is for",
         changelog="The comment on cow_page did not say who allocates it.",
         files={"include/linux/mm.h": (MM_H, mm_h((
             "\tstruct page *cow_page;\t\t/* private copy target, may be NULL */\n",
             "\tstruct page *cow_page;\t\t/* the caller's private page a\n"
             "\t\t\t\t\t * handler may copy into, or NULL */\n")))}),
    dict(name="type-change-two-members", kind="unrelated",
         subject="mm: a folio and an unsigned long entry in struct vm_fault",
         changelog="Make the types say what the members hold.",
         files={"include/linux/mm.h": (MM_H, mm_h(
             ("\tvoid *entry;\t\t\t/* a locked DAX entry instead of a page */\n",
              "\tunsigned long entry;\t\t/* a locked DAX entry instead of a page */\n"),
             ("\tstruct page *cow_page;\t\t/* private copy target, may be NULL */\n",
              "\tstruct folio *cow_page;\t\t/* private copy target, may be NULL */\n")))}),
    dict(name="rename-member", kind="unrelated",
         subject="mm: rename vm_fault.virtual_address to address",
         changelog="Shorter, and every user is converted in this patch.",
         files={"include/linux/mm.h": (MM_H, mm_h((
             "\tvoid __user *virtual_address;\t/* where the access faulted */\n",
             "\tvoid __user *address;\t\t/* where the access faulted */\n"))),
                "mm/memory.c": (MEMORY_C, MEMORY_C.replace("vmf.virtual_address =",
                                                           "vmf.address ="))}),
    dict(name="new-struct", kind="unrelated",
         subject="mm/swap: describe a swap cluster",
         changelog="A small struct for the cluster allocator to come.",
         files={"include/linux/swap.h": (SWAP_H, edit(SWAP_H, "extern int total_swap_pages;\n",
             "struct swap_cluster_info {\n\tunsigned int data:24;\n\tunsigned int flags:8;\n};\n\n"
             "extern int total_swap_pages;\n"))}),
    dict(name="new-struct-grows", kind="unrelated",
         subject="mm/swap: a swap cluster with a lock",
         changelog="Add the cluster descriptor with its lock in one go.",
         files={"include/linux/swap.h": (SWAP_H, edit(SWAP_H, "extern int total_swap_pages;\n",
             "struct swap_cluster_info {\n\tspinlock_t lock;\n\tunsigned int data:24;\n"
             "\tunsigned int flags:8;\n\tstruct list_head list;\n};\n\n"
             "extern int total_swap_pages;\n"))}),
    dict(name="extract-helper-with-test", kind="unrelated",
         subject="mm/gup: move the error mapping of faultin_page into a helper",
         changelog="No functional change; the helper is reused later.",
         files={"mm/gup.c": (GUP_C, edit(edit(GUP_C,
             "static int faultin_page(",
             "static int fault_to_errno(int ret)\n{\n\tif (ret & VM_FAULT_OOM)\n"
             "\t\treturn -ENOMEM;\n\treturn -EFAULT;\n}\n\nstatic int faultin_page("),
             "\tif (ret & VM_FAULT_ERROR) {\n\t\tif (ret & VM_FAULT_OOM)\n\t\t\treturn -ENOMEM;\n"
             "\t\treturn -EFAULT;\n\t}\n",
             "\tif (ret & VM_FAULT_ERROR)\n\t\treturn fault_to_errno(ret);\n"))}),
    dict(name="rename-local", kind="unrelated",
         subject="mm/gup: call the fault result 'fault' like the arch code does",
         changelog="Rename a local.  No functional change.",
         files={"mm/gup.c": (GUP_C, edit(GUP_C, "\tint ret;\n\n\tif (*flags", "\tint fault;\n\n\tif (*flags")
                             .replace("ret = handle_mm_fault", "fault = handle_mm_fault")
                             .replace("(ret & VM_FAULT", "(fault & VM_FAULT"))}),
    dict(name="whitespace", kind="unrelated",
         subject="mm/page_alloc: fix indentation",
         changelog="Spaces to tabs.",
         files={"mm/page_alloc.c": (PAGE_ALLOC_C, edit(PAGE_ALLOC_C,
             "\tsplit_page(p, order);\n", "        split_page(p, order);\n"))}),
    dict(name="printk-text", kind="unrelated",
         subject="mm/page_alloc: print the node's free pages in kB",
         changelog="Pages mean little to a user; print kB.",
         files={"mm/page_alloc.c": (PAGE_ALLOC_C, edit(PAGE_ALLOC_C,
             '\tprintk("Node %d: %lu free of %lu pages\\n", nid, free, total);\n',
             '\tprintk("Node %d: %lukB free of %lukB\\n", nid, K(free), K(total));\n'))}),
    dict(name="new-function", kind="unrelated",
         subject="mm/page_alloc: add nr_free_kernel_pages()",
         changelog="A helper for the OOM report.",
         files={"mm/page_alloc.c": (PAGE_ALLOC_C, PAGE_ALLOC_C +
             "\nunsigned long nr_free_kernel_pages(void)\n{\n\treturn nr_kernel_pages;\n}\n")}),
    dict(name="kconfig", kind="unrelated",
         subject="mm: zswap depends on CRYPTO",
         changelog="zswap compresses with the crypto API.",
         files={"mm/Kconfig": (KCONFIG, edit(KCONFIG, "\tdepends on SWAP\n",
                                             "\tdepends on SWAP && CRYPTO\n"))}),
    dict(name="documentation-text", kind="unrelated",
         subject="docs/mm: say where the THP policy lives",
         changelog="Point at the sysfs file.",
         files={"Documentation/admin-guide/mm/transhuge.rst": (ADMIN_DOC, edit(ADMIN_DOC,
             "mapping is large enough.", "mapping is large and aligned enough."))}),
    dict(name="makefile", kind="unrelated",
         subject="mm: build mincore.c only with an MMU",
         changelog="Tidy the Makefile.",
         files={"mm/Makefile": (MAKEFILE, edit(MAKEFILE, "memory.o mincore.o", "memory.o"))}),
    dict(name="other-define", kind="unrelated",
         subject="mm/swap: widen the swap priority mask",
         changelog="Priorities above 32767 are asked for.",
         files={"include/linux/swap.h": (SWAP_H, edit(SWAP_H, "0x7fff", "0xffff"))}),
    dict(name="local-variable", kind="unrelated",
         subject="mm/page_alloc: name the order in set_hashdist",
         changelog="Read the value once.",
         files={"mm/page_alloc.c": (PAGE_ALLOC_C, edit(PAGE_ALLOC_C,
             "\tnr_all_pages = simple_strtoul(str, &str, 0);\n",
             "\tunsigned long v = simple_strtoul(str, &str, 0);\n\n\tnr_all_pages = v;\n"))}),
    dict(name="ored-result", kind="unrelated",
         subject="mm: report a major fault from do_read_fault",
         changelog="Account the fault when the page had to be read.",
         files={"mm/memory.c": (MEMORY_C, mem_c((
             "\tunlock_page(fault_page);\n\treturn ret;\n",
             "\tunlock_page(fault_page);\n\tif (!PageUptodate(fault_page))\n"
             "\t\tret |= VM_FAULT_MAJOR;\n\treturn ret;\n")))}),
    dict(name="if-chain-to-switch", kind="unrelated",
         subject="mm: use a switch in fault_result_to_errno",
         changelog="Easier to extend.  No functional change.",
         files={"mm/memory.c": (MEMORY_C, mem_c((
             "\tif (ret == VM_FAULT_OOM)\n\t\treturn -ENOMEM;\n\telse if (ret == VM_FAULT_SIGBUS)\n"
             "\t\treturn -EFAULT;\n\treturn 0;\n",
             "\tswitch (ret) {\n\tcase VM_FAULT_OOM:\n\t\treturn -ENOMEM;\n"
             "\tcase VM_FAULT_SIGBUS:\n\t\treturn -EFAULT;\n\t}\n\treturn 0;\n")))}),
    dict(name="dead-code", kind="unrelated",
         subject="mm/page_alloc: drop nr_all_pages",
         changelog="Nothing reads it.",
         files={"mm/page_alloc.c": (PAGE_ALLOC_C, edit(edit(PAGE_ALLOC_C,
             "static unsigned long nr_all_pages;\n", ""),
             "\tnr_all_pages = simple_strtoul(str, &str, 0);\n", ""))}),
    dict(name="comment-above-function", kind="unrelated",
         subject="mm/gup: document faultin_page",
         changelog="Say what the return values mean.",
         files={"mm/gup.c": (GUP_C, edit(GUP_C, "static int faultin_page(",
             "/*\n * Fault in one page.  Returns 0, -EBUSY when the mmap lock was dropped,\n"
             " * or the error the fault ended with.\n */\nstatic int faultin_page("))}),
    dict(name="gfp-change", kind="unrelated",
         subject="mm/page_alloc: do not warn on a failed exact allocation",
         changelog="Callers have a fallback.",
         files={"mm/page_alloc.c": (PAGE_ALLOC_C, edit(PAGE_ALLOC_C,
             "alloc_pages_node(nid, gfp_mask, order);",
             "alloc_pages_node(nid, gfp_mask | __GFP_NOWARN, order);"))}),
    dict(name="add-include", kind="unrelated",
         subject="mm/gup: include the header it uses",
         changelog="Do not rely on an indirect include.",
         files={"mm/gup.c": (GUP_C, edit(GUP_C, "#include <linux/mm.h>\n",
                                         "#include <linux/mm.h>\n#include <linux/sched.h>\n"))}),
    dict(name="enum-value", kind="unrelated",
         subject="mm/swap: add SWP_STABLE_WRITES",
         changelog="A device that needs stable pages during writeback.",
         files={"include/linux/swap.h": (SWAP_H, edit(SWAP_H,
             "\tSWP_DISCARDABLE\t= (1 << 2),\n",
             "\tSWP_DISCARDABLE\t= (1 << 2),\n\tSWP_STABLE_WRITES = (1 << 3),\n"))}),
    dict(name="rewrap-call", kind="unrelated",
         subject="mm: wrap the do_read_fault call",
         changelog="Line length.",
         files={"mm/memory.c": (MEMORY_C, mem_c((
             "\tret = do_read_fault(vma, address, linear_page_index(vma, address), flags);\n",
             "\tret = do_read_fault(vma, address,\n\t\t\t    linear_page_index(vma, address), flags);\n")))}),
    dict(name="realign-defines", kind="unrelated",
         subject="mm: align the VM_FAULT_* values",
         changelog="Whitespace only.",
         files={"include/linux/mm.h": (MM_H, mm_h(
             ("#define VM_FAULT_OOM\t0x0001\n", "#define VM_FAULT_OOM\t\t0x0001\n"),
             ("#define VM_FAULT_SIGBUS\t0x0002\n", "#define VM_FAULT_SIGBUS\t\t0x0002\n"),
             ("#define VM_FAULT_HWPOISON 0x0010\n", "#define VM_FAULT_HWPOISON\t0x0010\n")))}),
    dict(name="move-function", kind="unrelated",
         subject="mm: move fault_result_to_errno below its user",
         changelog="Keep the fault path together.  No functional change.",
         files={"mm/memory.c": (MEMORY_C, (lambda fn: edit(MEMORY_C, fn, "") + "\n" + fn.rstrip("\n") + "\n")(
             "static int fault_result_to_errno(int ret)\n{\n\tif (ret == VM_FAULT_OOM)\n"
             "\t\treturn -ENOMEM;\n\telse if (ret == VM_FAULT_SIGBUS)\n\t\treturn -EFAULT;\n"
             "\treturn 0;\n}\n\n"))}),
    dict(name="return-sigbus", kind="unrelated",
         subject="mm/filemap: fail a fault beyond the end of the file",
         changelog="A fault past i_size must not instantiate a page.",
         files={"mm/filemap.c": (FILEMAP_C, edit(FILEMAP_C,
             "\tpage = find_get_page(mapping, vmf->pgoff);\n",
             "\tif (vmf->pgoff >= i_size_pages(mapping->host))\n\t\treturn VM_FAULT_SIGBUS;\n"
             "\tpage = find_get_page(mapping, vmf->pgoff);\n"))}),
    dict(name="else-branch-in-nested-block", kind="unrelated",
         subject="mm: drop the COW page of a poisoned fault",
         changelog="The private page is not used when the source page is poisoned.",
         files={"mm/memory.c": (MEMORY_C, mem_c((
             "\t\treturn VM_FAULT_HWPOISON;\n\t}\n",
             "\t\tif (vmf.cow_page) {\n\t\t\tput_page(vmf.cow_page);\n\t\t} else {\n"
             "\t\t\tcount_vm_event(PGFAULT_POISON);\n\t\t}\n"
             "\t\treturn VM_FAULT_HWPOISON;\n\t}\n")))}),
    dict(name="member-in-unnamed-block", kind="unrelated",
         subject="mm: count retries in the fault statistics",
         changelog="One more counter.",
         files={"include/linux/vmstat_fault.h": (
             "/* counters of the fault path */\ntypedef struct {\n\tunsigned long faults;\n"
             "\tunsigned long major;\n\tunsigned long oom;\n\tunsigned long sigbus;\n"
             "\tunsigned long hwpoison;\n} fault_stats_t;\n",
             "/* counters of the fault path */\ntypedef struct {\n\tunsigned long faults;\n"
             "\tunsigned long major;\n\tunsigned long oom;\n\tunsigned long sigbus;\n"
             "\tunsigned long hwpoison;\n\tunsigned long retry;\n} fault_stats_t;\n")},
         expect_skipped=["field-init: which struct a member belongs to"]),

    # ---------------------------------------------------------------- related -----------------
    dict(name="gfp-mask-member", kind="related",
         subject="mm: pass the fault's gfp mask in struct vm_fault",
         changelog="Handlers should allocate with the mask of the fault.",
         files={"include/linux/mm.h": (MM_H, mm_h(ADD_GFP_MASK)),
                "mm/memory.c": (MEMORY_C, mem_c((
             "\tvmf.flags = flags;\n\tvmf.page = NULL;\n",
             "\tvmf.flags = flags;\n\tvmf.gfp_mask = __get_fault_gfp_mask(vma);\n"
             "\tvmf.page = NULL;\n")))},
         expect=[dict(rule="field-init", key="vm_fault.gfp_mask:diff-only", severity="info",
                      message_has="sets it in __do_fault()")]),
    dict(name="gfp-mask-member-alone", kind="related",
         subject="mm: add a gfp mask to struct vm_fault",
         changelog="The users come in the next patches.",
         files={"include/linux/mm.h": (MM_H, mm_h(ADD_GFP_MASK))},
         expect=[dict(rule="field-init", key="vm_fault.gfp_mask:diff-only", severity="info")]),
    dict(name="designated-initializer", kind="related",
         subject="mm: build the mkwrite vm_fault with an initializer",
         changelog="Add the fault's address space to struct vm_fault, set where it is built.",
         files={"include/linux/mm.h": (MM_H, mm_h((
             "\tpgoff_t pgoff;\t\t\t/* page offset of the address in the vma */\n",
             "\tpgoff_t pgoff;\t\t\t/* page offset of the address in the vma */\n"
             "\tstruct address_space *mapping;\t/* the file's pages */\n"))),
                "mm/memory.c": (MEMORY_C, mem_c((
             "\tstruct vm_fault vmf;\n\tint ret;\n\n\tvmf.virtual_address = (void __user *)(address & PAGE_MASK);\n\tvmf.pgoff = page->index;\n",
             "\tstruct vm_fault vmf = {\n\t\t.mapping = page->mapping,\n\t};\n\tint ret;\n\n"
             "\tvmf.virtual_address = (void __user *)(address & PAGE_MASK);\n\tvmf.pgoff = page->index;\n")))},
         expect=[dict(rule="field-init", key="vm_fault.mapping:diff-only", severity="info",
                      message_has="sets it in do_page_mkwrite()")]),
    dict(name="member-of-a-member-struct", kind="related",
         subject="mm: give device pages a private word",
         changelog="Drivers of device memory want a word of their own in struct page.",
         files={"include/linux/mm_types.h": (PAGE_H, edit(PAGE_H,
             "\t\t\tunsigned long private;\n",
             "\t\t\tunsigned long private;\n\t\t\tvoid *zone_device_data;\n"))},
         expect=[dict(rule="field-init", key="page.zone_device_data:diff-only",
                      severity="info")]),
    init_case("init-completion", "kdamond_ctx", "\tstruct completion started;\n", "started",
              "\tinit_completion(&p->started);\n"),
    init_case("seqcount-init", "vma_seq", "\tseqcount_t vm_sequence;\n", "vm_sequence",
              "\tseqcount_init(&p->vm_sequence);\n"),
    init_case("spin-lock-init", "zone_lockinfo", "\tspinlock_t lock;\n", "lock",
              "\tspin_lock_init(&p->lock);\n"),
    init_case("init-list-head", "mem_pool", "\tstruct list_head free;\n", "free",
              "\tINIT_LIST_HEAD(&p->free);\n"),
    init_case("mutex-init", "swap_dev", "\tstruct mutex lock;\n", "lock",
              "\tmutex_init(&p->lock);\n"),
    init_case("atomic-set", "page_pool_info", "\tatomic_t refs;\n", "refs",
              "\tatomic_set(&p->refs, 1);\n"),
    init_case("write-once", "lru_info", "\tunsigned long seq;\n", "seq",
              "\tWRITE_ONCE(p->seq, 0);\n"),
    init_case("kzalloc", "shrink_ctl", "\tunsigned long nr_scanned;\n", "nr_scanned", "",
              after_alloc="\tstruct {s} *p = kzalloc(sizeof(*p), GFP_KERNEL);\n",
              set_where=False),
    init_case("kmem-cache-zalloc", "anon_info", "\tunsigned long degree;\n", "degree", "",
              alloc="\tstruct {s} *p = kmem_cache_zalloc(anon_cachep, GFP_KERNEL);\n",
              set_where=False),
    init_case("memset", "mmu_batch", "\tunsigned int nr;\n", "nr",
              "\tmemset(p, 0, sizeof(*p));\n", set_where=False, first=True),
    dict(name="new-test-of-a-bit", kind="related",
         subject="mm: do not lock a poisoned page in do_read_fault",
         changelog="Handle a poisoned page before using it.",
         files={"mm/memory.c": (MEMORY_C, mem_c((
             "\tunlock_page(fault_page);\n\treturn ret;\n",
             "\tif (ret & VM_FAULT_HWPOISON)\n\t\treturn ret;\n"
             "\tunlock_page(fault_page);\n\treturn ret;\n")))},
         expect=[CHANGE("VM_FAULT_HWPOISON"),
                 DOC("VM_FAULT_HWPOISON", message_has="no tree to tell")]),
    dict(name="removed-test-of-a-bit", kind="related",
         subject="mm/gup: let the caller see VM_FAULT_RETRY",
         changelog="The caller now retries itself.",
         files={"mm/gup.c": (GUP_C, edit(GUP_C,
             "\tif (ret & VM_FAULT_RETRY) {\n\t\tif (nonblocking)\n\t\t\t*nonblocking = 0;\n"
             "\t\treturn -EBUSY;\n\t}\n", ""))},
         expect=[CHANGE("VM_FAULT_RETRY"), DOC("VM_FAULT_RETRY")]),
    dict(name="redefined-bit", kind="related",
         subject="mm: move VM_FAULT_LOCKED to a free bit",
         changelog="Make room for the DAX bits.",
         files={"include/linux/mm.h": (MM_H, mm_h((
             "#define VM_FAULT_LOCKED\t0x0200\t/* the handler returns the page locked */\n",
             "#define VM_FAULT_LOCKED\t0x0800\t/* the handler returns the page locked */\n")))},
         expect=[CHANGE("VM_FAULT_LOCKED"), DOC("VM_FAULT_LOCKED")]),
    dict(name="changelog-new-meaning", kind="related",
         subject="mm: allow ->fault to return VM_FAULT_LOCKED without a page",
         changelog="Allow a handler to return VM_FAULT_LOCKED with vmf->page NULL: it then\n"
                   "holds the mapping's i_mmap lock for read instead of the page lock.",
         files={"mm/memory.c": (MEMORY_C, mem_c((
             "\tif (!vmf.page)\n\t\tgoto out;\n",
             "\tif (!vmf.page) {\n\t\tcount_vm_event(PGFAULT_NOPAGE);\n\t\tgoto out;\n\t}\n")))},
         expect=[CHANGE("VM_FAULT_LOCKED"), DOC("VM_FAULT_LOCKED")]),
    dict(name="label-header", kind="related",
         subject="alpha: retry a fault that dropped the mmap lock",
         changelog="Handle VM_FAULT_RETRY like the other architectures.",
         files={"arch/alpha/mm/fault.c": (ALPHA_FAULT_C, edit(ALPHA_FAULT_C,
             "\tup_read(&mm->mmap_sem);\n\treturn;\n\nbad_area:",
             "\tif (fault & VM_FAULT_MAJOR)\n\t\tcurrent->maj_flt++;\n"
             "\tup_read(&mm->mmap_sem);\n\treturn;\n\nbad_area:"))},
         expect=[dict(CHANGE("VM_FAULT_MAJOR"), message_has="in arch/alpha/mm/fault.c)",
                      message_lacks="fault.c()"),
                 DOC("VM_FAULT_MAJOR")]),
    dict(name="contract-with-comment-update", kind="related",
         subject="mm: a DAX handler may return the entry unlocked",
         changelog="Stop testing VM_FAULT_DAX_LOCKED in __do_fault; say so in struct vm_fault.",
         files={"include/linux/mm.h": (MM_H, mm_h((
             "\tvoid *entry;\t\t\t/* a locked DAX entry instead of a page */\n",
             "\tvoid *entry;\t\t\t/* a DAX entry instead of a page, locked\n"
             "\t\t\t\t\t * only with VM_FAULT_DAX_LOCKED */\n"))),
                "mm/memory.c": (MEMORY_C, mem_c((COND1,
             "\tif (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY)))\n")))},
         expect=[CHANGE("VM_FAULT_DAX_LOCKED")]),
    dict(name="contract-with-locking-doc", kind="related",
         subject="mm: ->fault may return VM_FAULT_RETRY from do_read_fault's handler",
         changelog="do_read_fault no longer tests VM_FAULT_RETRY; the locking document says why.",
         files={"mm/memory.c": (MEMORY_C, mem_c((
             "\tret = __do_fault(vma, address, pgoff, flags, NULL, &fault_page);\n"
             "\tif (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY)))\n",
             "\tret = __do_fault(vma, address, pgoff, flags, NULL, &fault_page);\n"
             "\tif (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE)))\n"))),
                "Documentation/filesystems/Locking": (LOCKING, edit(LOCKING,
             "VM_FAULT_LOCKED, or installs", "VM_FAULT_LOCKED, may say VM_FAULT_RETRY, or installs"))},
         expect=[CHANGE("VM_FAULT_RETRY")]),
    dict(name="changed-site-bare-declaration", kind="related",
         subject="mm: build the write fault's vm_fault field by field",
         changelog="Set the members one by one; the initializer hid which ones the path needs.",
         files=wp_files(wp=edit(WP_FAULT_C, WP_INIT, WP_BARE)),
         expect_tree=[dict(rule="field-init", severity="warning",
                           key="vm_fault.flags:mm/wp_fault.c:handle_wp_fault:vmf:changed-site")]),
    dict(name="changed-site-every-member-set", kind="unrelated",
         subject="mm: build the write fault's vm_fault field by field",
         changelog="Set the members one by one.  No functional change.",
         files=wp_files(wp=edit(WP_FAULT_C, WP_INIT, WP_BARE + "\tvmf.flags = flags;\n"))),
    dict(name="new-read-left-zero", kind="related",
         subject="mm: refuse a write fault beyond the end of the mapping",
         changelog="Check the page offset before dirtying the page.",
         files=wp_files(wp=edit(WP_FAULT_C, *WP_READ)),
         expect_tree=[dict(rule="field-init", severity="warning",
                           key="vm_fault.pgoff:mm/swapin.c:swapin_one:vmf:new-read:wp_page_shared")]),
    dict(name="new-read-every-site-sets", kind="unrelated",
         subject="mm: refuse a write fault beyond the end of the mapping",
         changelog="Check the page offset before dirtying the page; swap-in now passes it.",
         files=wp_files(wp=edit(WP_FAULT_C, *WP_READ), swapin=edit(SWAPIN_C, *SWAPIN_PGOFF))),
]
