"""The contract corpus (issue 8): edits of tree/ that make each patch, and what reviewbot should
say about it. Every line of C and prose here was written for reviewbot; tests/test_contract.py
builds a git tree from tree/ and a patch mail from each case."""
from __future__ import annotations

# (file, text before, text after): each replaced once, in order
HANDLER_W = [
    ("fs/pmem.c", "\t\ti_mmap_lock_read(mapping);\n\t\tif (vmf->pgoff >= pmem_size_in_pages(inode)) {\n"
                  "\t\t\ti_mmap_unlock_read(mapping);",
     "\t\ti_mmap_lock_write(mapping);\n\t\tif (vmf->pgoff >= pmem_size_in_pages(inode)) {\n"
     "\t\t\ti_mmap_unlock_write(mapping);"),
]
CONSUMER_W = [
    ("mm/memory.c", "\t\ti_mmap_unlock_read(vma->vm_file->f_mapping);",
     "\t\ti_mmap_unlock_write(vma->vm_file->f_mapping);"),
]
ERROR_PATH_LEAK = [
    ("fs/pmem.c", "\t\tif (vmf->pgoff >= pmem_size_in_pages(inode)) {\n"
                  "\t\t\ti_mmap_unlock_read(mapping);\n\t\t\treturn VM_FAULT_SIGBUS;\n\t\t}",
     "\t\tif (vmf->pgoff >= pmem_size_in_pages(inode))\n\t\t\treturn VM_FAULT_SIGBUS;"),
]
# the handler finishes read faults itself too: VM_FAULT_LOCKED with no page reaches
# do_read_fault() and do_shared_fault() through __do_fault()'s return value
READS_TOO = [
    ("fs/pmem.c", "\tif (pmem_insert_pfn(vma, vmf->address, kaddr))",
     "\tif (!(vmf->flags & FAULT_FLAG_WRITE)) {\n"
     "\t\t/* a read maps the block under i_mmap_rwsem as well */\n"
     "\t\ti_mmap_lock_read(mapping);\n"
     "\t\tif (pmem_insert_pfn(vma, vmf->address, kaddr)) {\n"
     "\t\t\ti_mmap_unlock_read(mapping);\n"
     "\t\t\treturn VM_FAULT_SIGBUS;\n"
     "\t\t}\n"
     "\t\tvmf->page = NULL;\n"
     "\t\treturn VM_FAULT_LOCKED;\n"
     "\t}\n\n"
     "\tif (pmem_insert_pfn(vma, vmf->address, kaddr))"),
]
# a NULL check nobody needs: fault_page is never NULL on a read fault
NEEDLESS_NULL_CHECK = [
    ("mm/memory.c", "\tmap_page(vma, address, fault_page, false);\n\tunlock_page(fault_page);",
     "\tif (!fault_page)\n\t\treturn VM_FAULT_SIGBUS;\n"
     "\tmap_page(vma, address, fault_page, false);\n\tunlock_page(fault_page);"),
]
NEW_BIT_DEF = [
    ("include/linux/mm.h", "#define VM_FAULT_RETRY\t\t0x0400\t/* the mmap lock was dropped */\n",
     "#define VM_FAULT_RETRY\t\t0x0400\t/* the mmap lock was dropped */\n"
     "#define VM_FAULT_COMPLETED\t0x4000\t/* done, and the mmap lock was dropped */\n"),
    ("mm/memory.c", "\tret = __do_fault(vma, address, pgoff, flags, NULL, &fault_page);\n"
                    "\tif (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY)))\n"
                    "\t\treturn ret;\n\n\tmap_page(vma, address, fault_page, false);",
     "\tret = __do_fault(vma, address, pgoff, flags, NULL, &fault_page);\n"
     "\tif (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY)))\n"
     "\t\treturn ret;\n\n\tif (map_page_and_unlock_mm(vma, address, fault_page)) {\n"
     "\t\tunlock_page(fault_page);\n\t\treturn ret | VM_FAULT_COMPLETED;\n\t}\n"
     "\tmap_page(vma, address, fault_page, false);"),
]
TRACE = [
    ("include/linux/mm.h", "\t{ VM_FAULT_RETRY,\t\"RETRY\" }",
     "\t{ VM_FAULT_RETRY,\t\"RETRY\" },\t\\\n\t{ VM_FAULT_COMPLETED,\t\"COMPLETED\" }"),
]
ARCH_TEST = "\tif (fault & VM_FAULT_RETRY) {\n"


def arch(name: str) -> tuple[str, str, str]:
    return (f"arch/{name}/mm/fault.c", ARCH_TEST,
            "\t/* finished, and the mmap lock is already dropped */\n"
            "\tif (fault & VM_FAULT_COMPLETED)\n\t\treturn;\n\n" + ARCH_TEST)


GUP = [("mm/gup.c", "\tif (ret & VM_FAULT_RETRY)\n\t\treturn -EBUSY;",
        "\tif (ret & VM_FAULT_RETRY)\n\t\treturn -EBUSY;\n\tif (ret & VM_FAULT_COMPLETED)\n"
        "\t\treturn 0;")]

NEW_BIT_LOG = ("mm: add VM_FAULT_COMPLETED\n\nA read fault that maps the page may drop the mmap "
               "lock early and say so with the new VM_FAULT_COMPLETED bit: the callers of "
               "handle_mm_fault() must not touch the mmap lock again when they see it.")

def new_bit(edits: list) -> dict:
    return dict(subject="mm: add VM_FAULT_COMPLETED", edits=NEW_BIT_DEF + edits,
                changelog=NEW_BIT_LOG)


CASES = {
    "handler-lock-mode": dict(
        subject="pmem: take i_mmap_rwsem for write in the COW path", edits=HANDLER_W,
        changelog="The COW copy must also keep rmap walkers out, so take i_mmap_rwsem for "
                  "write."),
    "consumer-lock-mode": dict(
        subject="mm: drop the handler's i_mmap_rwsem for write after a COW", edits=CONSUMER_W,
        changelog="Release i_mmap_rwsem in write mode once the private copy is mapped."),
    "both-lock-mode": dict(
        subject="pmem, mm: hold i_mmap_rwsem for write across a handler's COW",
        edits=HANDLER_W + CONSUMER_W,
        changelog="The handler takes i_mmap_rwsem for write and do_cow_fault() drops it in "
                  "the same mode."),
    "error-path-leak": dict(
        subject="pmem: simplify the truncate recheck of the COW path", edits=ERROR_PATH_LEAK,
        changelog="Return SIGBUS directly when the file shrank under us."),
    "reads-too": dict(
        subject="pmem: finish read faults in the handler as well", edits=READS_TOO,
        changelog="Map the block of a read fault under i_mmap_rwsem too.  ->fault may now "
                  "return VM_FAULT_LOCKED with a NULL page for a read fault as well, holding "
                  "i_mmap_rwsem for read."),
    "needless-null-check": dict(
        subject="mm: check the page of a read fault", edits=NEEDLESS_NULL_CHECK,
        changelog="Be defensive about a missing page in do_read_fault()."),
    # a new bit: every caller of handle_mm_fault() is a peer, and so is the name table
    "new-bit-3-of-4": new_bit(TRACE + [arch("x86"), arch("arm"), arch("powerpc")] + GUP),
    "new-bit-all": new_bit(TRACE + [arch(a) for a in ("x86", "arm", "powerpc", "s390")] + GUP),
    "new-bit-no-trace": new_bit([arch(a) for a in ("x86", "arm", "powerpc", "s390")] + GUP),
}
