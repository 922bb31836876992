"""Simulator-only primitives, called from the model C in ../model/: the scenario drivers
(fault entry, truncate, punch, nondeterminism) and their block and page helpers."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import world as W
from ..world import Block, Page
from ..interp import Violation, read_place
from ..values import Loc, UNKNOWN, Value, is_obj, obj, rec_get
from .registry import Blocked, primitive
from .common import PAGE_SHIFT, PS, mem, page_arg, place_of, read_pte, set_mem, where
from .locks import mutex_acquire
from .memory import put_ref
from .blocks import block_data, free_blocks
from .pagetables import loc_name, show_pte

if TYPE_CHECKING:
    from ..interp import Ctx


@primitive("sim_address", inline=True)
def _sim_address(ctx: Ctx, a: list[Value], line: int) -> Value:
    vi = a[0].ident if is_obj(a[0], "vma") else 0
    return vi * ctx.prog.cfg["npg"] * PS + (a[1] << PAGE_SHIFT)


@primitive("sim_pmd", inline=True)
def _sim_pmd(ctx: Ctx, a: list[Value], line: int) -> Value:
    return obj("pmd", "A")


@primitive("sim_vma_shared", inline=True)
def _sim_vma_shared(ctx: Ctx, a: list[Value], line: int) -> Value:
    return int(bool(ctx.prog.model.vma_shared(a[0])))


@primitive("sim_fault_vma", inline=True)
def _sim_fault_vma(ctx: Ctx, a: list[Value], line: int) -> Value:
    return ctx.th.frames[0].locals[0]


@primitive("sim_nondet", visible=False)
def _sim_nondet(ctx: Ctx, a: list[Value]) -> Value:
    c = ctx.choose(a[0], "nondeterministic choice at %s" % where(ctx))
    ctx.event("sim_nondet(%d) -> %d" % (a[0], c))
    return c


@primitive("sim_pte_read")
def _sim_pte_read(ctx: Ctx, a: list[Value]) -> Value:
    loc = Loc(a[0][2], a[1])
    v = read_pte(ctx, loc)
    ctx.event("fault at %s: pte read without lock = %s" % (loc_name(ctx, loc), show_pte(v)))
    return v


_BIND = ("vma", "address", "pmd", "flags", "orig_pte", "pgoff", "pte", "ptl")


@primitive("sim_enter", visible=False)
def _sim_enter(ctx: Ctx, a: list[Value]) -> Value:
    fobj, vp = a[0], a[1]
    if not is_obj(fobj, "fn") or not ctx.prog.has_func(fobj.ident):
        raise Violation("incomplete", "the tree has no %s()" % (fobj.ident if is_obj(fobj) else fobj))
    fn = ctx.prog.func(fobj.ident)
    vmf = read_place(ctx, place_of(vp))
    args = []
    for p in fn.params:
        if p == "vmf":
            args.append(vp)
        elif p == "mm":
            args.append(obj("mm", "A"))
        elif p in ("page_table", "entry"):
            args.append(rec_get(vmf, "pte" if p == "page_table" else "orig_pte"))
        elif p in _BIND:
            args.append(rec_get(vmf, p))
        else:
            args.append(UNKNOWN)
    if fn.params and fn.params[0] != "vmf" and "page_table" in fn.params and rec_get(vmf, "pte") == 0:
        args[fn.params.index("page_table")] = obj("pteptr", Loc(rec_get(vmf, "vma")[2], rec_get(vmf, "pgoff")))
    return ("PUSH", fn, args, None)


@primitive("sim_truncate_done")
def _sim_truncate_done(ctx: Ctx, a: list[Value]) -> Value:
    ctx.w["trunc"] = ctx.w["trunc"] + 1
    ctx.touch("w", "trunc")
    ctx.event("truncate complete")
    return 0


@primitive("sim_free_blocks")
def _sim_free_blocks(ctx: Ctx, a: list[Value]) -> Value:
    freed = free_blocks(ctx, a[1])
    ctx.event("free blocks from pgoff %d: %s" % (a[1], ", ".join(freed) or "none"))
    return 0


@primitive("sim_free_block")
def _sim_free_block(ctx: Ctx, a: list[Value]) -> Value:
    p = a[1]
    b = ctx.w["fmap"][p]
    ctx.touch("w", "fmap")
    ctx.touch("w", "blk")
    if b >= 0:
        W.set_item(ctx.w, "blk", b, Block(0, "POISON"))
        W.set_item(ctx.w, "fmap", p, -1)
    ctx.event("punch: free block of pgoff %d%s" % (p, " (B%d)" % b if b >= 0 else " (hole)"))
    return 0


@primitive("sim_drop_cached")
def _sim_drop_cached(ctx: Ctx, a: list[Value]) -> Value:
    p = a[1]
    pid = ctx.w["pcache"][p]
    if pid >= 0:
        if W.lock_state(ctx.w, "page#%d" % pid) is not None:
            raise Blocked()
        W.set_item(ctx.w, "pcache", p, -1)
        put_ref(ctx, pid)
    ctx.touch("w", "pcache")
    return 0


@primitive("sim_copy_block")
def _sim_copy_block(ctx: Ctx, a: list[Value]) -> Value:
    dst = page_arg(ctx, a[0], "sim_copy_block")
    ctx.touch("r", "fmap")
    b = ctx.w["fmap"][a[1]]
    data = block_data(ctx, b) if b >= 0 else "ZERO"
    set_mem(ctx, dst, data=data)
    ctx.event("copy block of pgoff %d%s into page#%d: %s" % (a[1], " (B%d)" % b if b >= 0 else "", dst, data))
    return 0


@primitive("sim_fill_cow")
def _sim_fill_cow(ctx: Ctx, a: list[Value]) -> Value:
    vmf = read_place(ctx, place_of(a[0]))
    cow = rec_get(vmf, "cow_page")
    if is_obj(cow, "page"):
        return _sim_copy_block(ctx, [cow, rec_get(vmf, "pgoff")])
    return 0


@primitive("sim_hole_page")
def _sim_hole_page(ctx: Ctx, a: list[Value]) -> Value:
    p = a[1]
    ctx.touch("w", "pcache")
    pid = ctx.w["pcache"][p]
    if pid < 0:
        pid = len(ctx.w["mem"])
        ctx.w["mem"] = ctx.w["mem"] + (Page("file", 1, p, "ZERO", 1, 0),)
        W.set_item(ctx.w, "pcache", p, pid)
    elif W.lock_state(ctx.w, "page#%d" % pid) not in (None, ctx.tid):
        raise Blocked()
    if W.lock_state(ctx.w, "page#%d" % pid) is None:
        mutex_acquire(ctx, "page#%d" % pid, "sim_hole_page")
    set_mem(ctx, pid, ref=mem(ctx, pid).ref + 1)
    ctx.event("hole page for pgoff %d -> page#%d (locked)" % (p, pid))
    return obj("page", pid)


@primitive("sim_wp_modelled", inline=True)
def _sim_wp_modelled(ctx: Ctx, a: list[Value], line: int) -> Value:
    # the write-protect path is run from the tree only for XIP-era trees; a later
    # do_wp_page() works on folios, swap and KSM state the model does not have
    if ctx.prog.cfg.get("tree_helpers"):
        return 1
    ctx.not_modelled.add("sim_fault:do_wp_page")
    return 0
