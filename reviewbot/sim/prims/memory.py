"""Pages and memory: page references (get/put), anonymous allocation, copies between
pages and blocks, kmap, and the page-flag tests."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import world as W
from ..world import Page
from ..interp import write_place
from ..invariants import I3, I6
from ..values import UNINIT, Value, is_obj, is_ptr, obj, rec
from .registry import constant, primitive
from .common import mem, page_arg, place_of, read_pte, set_mem, where
from .blocks import block_data

if TYPE_CHECKING:
    from ..interp import Ctx


def put_ref(ctx: Ctx, pid: int) -> None:
    """Drop a reference to page pid; the last one frees it (and ends a committed charge)."""
    e = mem(ctx, pid)
    ref = e.ref - 1
    if ref < 0:
        ctx.violate(I6, "page#%d reference count below zero at %s" % (pid, where(ctx)))
    if ref == 0:
        set_mem(ctx, pid, ref=0, live=0, charged=0 if e.charged == 2 else e.charged)
    else:
        set_mem(ctx, pid, ref=ref)


@primitive("page_cache_release", "put_page")
def _put_page(ctx: Ctx, a: list[Value]) -> Value:
    pid = page_arg(ctx, a[0], ctx.prim_name)
    if pid is not None:
        e = mem(ctx, pid)
        if not e.live:
            ctx.violate(I6, "%s(page#%d) of a freed page at %s" % (ctx.prim_name, pid, where(ctx)))
        put_ref(ctx, pid)
        ctx.event("%s(page#%d) -> ref %d%s" % (ctx.prim_name, pid, e.ref - 1, ", freed" if e.ref == 1 else ""))
    return 0


@primitive("page_cache_get", "get_page")
def _get_page(ctx: Ctx, a: list[Value]) -> Value:
    pid = page_arg(ctx, a[0], ctx.prim_name)
    if pid is not None:
        set_mem(ctx, pid, ref=mem(ctx, pid).ref + 1)
    return 0


def _alloc_anon(ctx: Ctx, data: Value) -> Value:
    if ctx.prog.cfg.get("failures"):
        if ctx.choose(2, "allocation may fail") == 0:
            ctx.event("%s -> NULL (allocation failed)" % ctx.prim_name)
            return 0
    pid = len(ctx.w["mem"])
    ctx.w["mem"] = ctx.w["mem"] + (Page("anon", 1, -1, data, 1, 0),)
    ctx.touch("w", ("mem", pid))
    ctx.event("%s -> page#%d (anon, contents %s)" % (ctx.prim_name, pid, "uninitialised" if data == "UNINIT" else data))
    return obj("page", pid)


@primitive("alloc_page_vma", "alloc_zeroed_user_highpage_movable")
def _alloc_page_vma(ctx: Ctx, a: list[Value]) -> Value:
    return _alloc_anon(ctx, "UNINIT")


@primitive("anon_vma_prepare", "__anon_vma_prepare", visible=False)
def _anon_vma_prepare(ctx: Ctx, a: list[Value]) -> Value:
    return 0


def page_data(ctx: Ctx, pid: int) -> Value:
    e = mem(ctx, pid)
    ctx.touch("r", ("mem", pid))
    if not e.live:
        return "POISON"
    return e.data


@primitive("copy_user_highpage", "cow_user_page", "copy_highpage")
def _copy_user_highpage(ctx: Ctx, a: list[Value]) -> Value:
    dst = page_arg(ctx, a[0], ctx.prim_name)
    if ctx.prim_name == "cow_user_page" and a[1] == 0:
        # no struct page behind the pte: the copy comes from the user address
        loc = ctx.prog.model.vma_loc(a[3], a[2])
        v = read_pte(ctx, loc)
        data = block_data(ctx, v.target) if v.kind == "pfn" else ("ZERO" if v.kind == "zero" else "UNINIT")
        src = "user address"
    else:
        sp = page_arg(ctx, a[1], ctx.prim_name)
        if dst is None or sp is None:
            return 0
        data = page_data(ctx, sp)
        src = "page#%d" % sp
    set_mem(ctx, dst, data=data)
    ctx.event("%s(page#%d <- %s) data %s" % (ctx.prim_name, dst, src, data))
    return 0


@primitive("clear_user_highpage")
def _clear_user_highpage(ctx: Ctx, a: list[Value]) -> Value:
    dst = page_arg(ctx, a[0], "clear_user_highpage")
    set_mem(ctx, dst, data="ZERO")
    ctx.event("clear_user_highpage(page#%d)" % dst)
    return 0


@primitive("kmap_atomic", "kmap", "page_address", visible=False)
def _kmap(ctx: Ctx, a: list[Value]) -> Value:
    pid = page_arg(ctx, a[0], ctx.prim_name)
    return obj("kmem_page", pid)


@primitive("copy_page")
def _copy_page(ctx: Ctx, a: list[Value]) -> Value:
    dst, src = a[0], a[1]
    for v in (dst, src):
        if v == 0 or v == UNINIT:
            ctx.violate(I3, "copy_page() with a %s address at %s" % ("NULL" if v == 0 else "uninitialised", where(ctx)))
    if is_obj(src, "kmem"):
        data = block_data(ctx, src.ident)
        what = "block B%d" % src.ident
    elif is_obj(src, "kmem_page"):
        data = page_data(ctx, src.ident)
        what = "page#%d" % src.ident
    else:
        return 0
    if is_obj(dst, "kmem_page"):
        set_mem(ctx, dst.ident, data=data)
        ctx.event("copy_page(page#%d <- %s) data %s" % (dst.ident, what, data))
    return 0


@primitive("copy_user_page")
def _copy_user_page(ctx: Ctx, a: list[Value]) -> Value:
    return _copy_page(ctx, [a[0], a[1]])


@primitive("memset", visible=False)
def _memset(ctx: Ctx, a: list[Value]) -> Value:
    if is_ptr(a[0]) and a[1] == 0:
        write_place(ctx, place_of(a[0]), rec(True, {}))
    return a[0]


primitive("clear_page", visible=False)(constant(0))


@primitive("PageHWPoison", "PageLocked", "PageUptodate", "PageTransCompound", inline=True)
def _page_flag(ctx: Ctx, a: list[Value], line: int) -> Value:
    name = ctx.inline_name
    pid = page_arg(ctx, a[0], name)
    if name == "PageLocked":
        return int(pid is not None and W.lock_state(ctx.w, "page#%d" % pid) is not None)
    if name == "PageUptodate":
        return 1
    return 0
