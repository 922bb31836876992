"""Page cache and the DAX xarray: page-cache lookups, reads and removal (truncate), and
the DAX entry lock of the iomap fault path."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import world as W
from ..world import Page
from ..values import Value, is_obj, obj
from .registry import Blocked, constant, primitive
from .common import PAGE_SHIFT, PS, mem, page_arg, set_mem
from .locks import mutex_acquire, mutex_release
from .memory import put_ref
from .blocks import block_data, get_block

if TYPE_CHECKING:
    from ..interp import Ctx


@primitive("find_get_page", "find_lock_page")
def _find_get_page(ctx: Ctx, a: list[Value]) -> Value:
    p = a[1]
    ctx.touch("r", "pcache")
    npg = ctx.prog.cfg["npg"]
    pid = ctx.w["pcache"][p] if type(p) is int and 0 <= p < npg else -1
    if pid < 0:
        return 0
    if ctx.prim_name == "find_lock_page":
        mutex_acquire(ctx, "page#%d" % pid, "find_lock_page")
    set_mem(ctx, pid, ref=mem(ctx, pid).ref + 1)
    ctx.event("%s(pgoff %d) -> page#%d" % (ctx.prim_name, p, pid))
    return obj("page", pid)


@primitive("page_cache_read")
def _page_cache_read(ctx: Ctx, a: list[Value]) -> Value:
    p = a[1]
    ctx.touch("w", "pcache")
    if ctx.w["pcache"][p] >= 0:
        return -17
    b = get_block(ctx, p, False, "page_cache_read")
    pid = len(ctx.w["mem"])
    ctx.w["mem"] = ctx.w["mem"] + (Page("file", 1, p, block_data(ctx, b) if b >= 0 else "ZERO", 1, 0),)
    W.set_item(ctx.w, "pcache", p, pid)
    ctx.event("page_cache_read(pgoff %d) -> page#%d" % (p, pid))
    return 0


@primitive("truncate_inode_page", "delete_from_page_cache")
def _truncate_inode_page(ctx: Ctx, a: list[Value]) -> Value:
    pid = page_arg(ctx, a[-1], ctx.prim_name)
    p = mem(ctx, pid).pgoff
    if ctx.w["pcache"][p] == pid:
        W.set_item(ctx.w, "pcache", p, -1)
        ctx.touch("w", "pcache")
        put_ref(ctx, pid)
    ctx.event("%s(page#%d): removed from the page cache" % (ctx.prim_name, pid))
    return 0


@primitive("mapping_end_index", visible=False)
def _mapping_end_index(ctx: Ctx, a: list[Value]) -> Value:
    return ctx.prog.cfg["npg"]


@primitive("truncate_inode_pages", "truncate_inode_pages_range", prefer_tree=True)
def _truncate_inode_pages(ctx: Ctx, a: list[Value]) -> Value:
    first = ((a[1] + PS - 1) >> PAGE_SHIFT) if type(a[1]) is int else 0
    for p in range(first, ctx.prog.cfg["npg"]):
        # a DAX entry is deleted only once its lock is free (dax_delete_mapping_entry waits)
        if W.lock_state(ctx.w, "dax-entry#%d" % p) not in (None, ctx.tid):
            raise Blocked()
    for p in range(first, ctx.prog.cfg["npg"]):
        pid = ctx.w["pcache"][p]
        if pid >= 0:
            st = W.lock_state(ctx.w, "page#%d" % pid)
            if st is not None:
                raise Blocked()
    removed = []
    for p in range(first, ctx.prog.cfg["npg"]):
        pid = ctx.w["pcache"][p]
        if pid >= 0:
            W.set_item(ctx.w, "pcache", p, -1)
            put_ref(ctx, pid)
            removed.append("page#%d" % pid)
    ctx.touch("w", "pcache")
    ctx.event("truncate_inode_pages(from pgoff %d) %s" % (first, ", ".join(removed) or "(no cached pages)"))
    return 0


@primitive("find_or_create_page", "grab_cache_page")
def _find_or_create_page(ctx: Ctx, a: list[Value]) -> Value:
    """A locked, referenced page-cache page at pgoff; a new one (zeroed: a hole page) if none."""
    p = a[1]
    ctx.touch("w", "pcache")
    pid = ctx.w["pcache"][p]
    if pid >= 0:
        if W.lock_state(ctx.w, "page#%d" % pid) is not None:
            raise Blocked()
        set_mem(ctx, pid, ref=mem(ctx, pid).ref + 1)
    else:
        pid = len(ctx.w["mem"])
        ctx.w["mem"] = ctx.w["mem"] + (Page("file", 2, p, "ZERO", 1, 0),)
        W.set_item(ctx.w, "pcache", p, pid)
    mutex_acquire(ctx, "page#%d" % pid, ctx.prim_name)
    ctx.event("%s(pgoff %d) -> page#%d (locked)" % (ctx.prim_name, p, pid))
    return obj("page", pid)


def dax_entry_lock(ctx: Ctx) -> str:
    # one entry per pgoff; the faulting thread's pgoff (sim_fault's second argument)
    p = ctx.th.frames[0].locals[1] if type(ctx.th.frames[0].locals[1]) is int else 0
    return "dax-entry#%d" % p


@primitive("grab_mapping_entry")
def _grab_mapping_entry(ctx: Ctx, a: list[Value]) -> Value:
    """Look the DAX entry up and lock it, waiting while another thread holds it."""
    name = dax_entry_lock(ctx)
    mutex_acquire(ctx, name, "grab_mapping_entry")
    ctx.event("grab_mapping_entry() -> %s locked" % name)
    return obj("entry", name)


@primitive("dax_unlock_entry")
def _dax_unlock_entry(ctx: Ctx, a: list[Value]) -> Value:
    name = a[1].ident if is_obj(a[1], "entry") else dax_entry_lock(ctx)
    mutex_release(ctx, name, "dax_unlock_entry")
    ctx.event("dax_unlock_entry() -> %s unlocked" % name)
    return 0


@primitive("dax_insert_entry", visible=False)
def _dax_insert_entry(ctx: Ctx, a: list[Value]) -> Value:
    return a[3]


primitive("dax_read_unlock", "trace_dax_pte_fault", "trace_dax_pte_fault_done", "trace_dax_load_hole",
     "count_memcg_event_mm", "dax_truncate_page", "dax_zero_range", "sync_mapping_buffers",
     "sync_inode_metadata", visible=False)(constant(0))


primitive("dax_read_lock", "XA_STATE", visible=False)(constant(0))
