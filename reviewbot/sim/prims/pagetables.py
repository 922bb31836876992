"""Page tables: the PTE lock, PTE reads and installs, the vm_insert_* and vmf_insert_*
calls, zapping (unmap_mapping_range and friends) and the pure pte_* helpers."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import world as W
from ..interp import read_place, write_place
from ..invariants import I2, I3
from ..values import Loc, PTE_NONE, Pte, UNINIT, UNKNOWN, Value, is_obj, is_pte, is_ptr, is_rec, obj, pte, rec_get
from .registry import Blocked, primitive
from .common import EBUSY, PAGE_SHIFT, PS, lock_id, mem, page_arg, place_of, read_pte, set_mem, where, write_pte
from .locks import mutex_acquire, mutex_release
from .memory import put_ref

if TYPE_CHECKING:
    from ..interp import Ctx


def addr_to(ctx: Ctx, addr: Value) -> Loc | None:
    if type(addr) is not int:
        return None
    span = ctx.prog.cfg["npg"] * PS
    return Loc(addr // span, (addr % span) >> PAGE_SHIFT)


@primitive("pte_offset_map_lock")
def _pte_offset_map_lock(ctx: Ctx, a: list[Value]) -> Value:
    mutex_acquire(ctx, "ptl", "pte_offset_map_lock")
    if is_ptr(a[3]):
        write_place(ctx, place_of(a[3]), obj("lock", "ptl"))
    loc = addr_to(ctx, a[2])
    ctx.event("pte_offset_map_lock() -> PTL taken")
    return obj("pteptr", loc)


@primitive("pte_unmap_unlock")
def _pte_unmap_unlock(ctx: Ctx, a: list[Value]) -> Value:
    name = lock_id(ctx, a[1], "pte_unmap_unlock")
    if name is not None:
        mutex_release(ctx, name, "pte_unmap_unlock")
    ctx.event("pte_unmap_unlock() -> PTL released")
    return 0


@primitive("pte_lockptr", visible=False)
def _pte_lockptr(ctx: Ctx, a: list[Value]) -> Value:
    return obj("lock", "ptl")


@primitive("pte_offset_map", visible=False)
def _pte_offset_map(ctx: Ctx, a: list[Value]) -> Value:
    return obj("pteptr", addr_to(ctx, a[1]))


def _need_ptl(ctx: Ctx, fname: str) -> None:
    if ("ptl", "X") not in ctx.th.held:
        ctx.violate(I2, "%s() without the PTE lock at %s" % (fname, where(ctx)))


@primitive("do_set_pte")
def _do_set_pte(ctx: Ctx, a: list[Value]) -> Value:
    if is_ptr(a[0]):          # 6.1: do_set_pte(vmf, page, addr)
        vmf = read_place(ctx, place_of(a[0]))
        page_v, loc_v = a[1], rec_get(vmf, "pte")
        vma = rec_get(vmf, "vma")
        write = bool(rec_get(vmf, "flags") & 1) if type(rec_get(vmf, "flags")) is int else False
        anon = write and not ctx.prog.model.vma_shared(vma)
    else:
        page_v, loc_v, write, anon = a[2], a[3], bool(a[4]), bool(a[5])
    pid = page_arg(ctx, page_v, "do_set_pte")
    _need_ptl(ctx, "do_set_pte")
    loc = loc_v.ident if is_obj(loc_v, "pteptr") else None
    if pid is None or loc is None:
        return 0
    kind = mem(ctx, pid).kind
    v = pte("anon" if kind == "anon" else ("zero" if kind == "zero" else "page"), pid, write)
    write_pte(ctx, loc, v)
    if kind == "anon":
        set_mem(ctx, pid, pgoff=loc.pgoff)
    ctx.event("do_set_pte(page#%d) -> pte[%s] = %s" % (pid, loc_name(ctx, loc), show_pte(v)))
    return 0


@primitive("set_pte_at")
def _set_pte_at(ctx: Ctx, a: list[Value]) -> Value:
    _need_ptl(ctx, "set_pte_at")
    loc = a[2].ident if is_obj(a[2], "pteptr") else None
    if loc is not None and is_pte(a[3]):
        write_pte(ctx, loc, a[3])
        ctx.event("set_pte_at() -> pte[%s] = %s" % (loc_name(ctx, loc), show_pte(a[3])))
    return 0


@primitive("ptep_set_access_flags")
def _ptep_set_access_flags(ctx: Ctx, a: list[Value]) -> Value:
    _need_ptl(ctx, "ptep_set_access_flags")
    loc = a[2].ident if is_obj(a[2], "pteptr") else None
    if loc is not None and is_pte(a[3]):
        write_pte(ctx, loc, a[3])
    return 1


def loc_name(ctx: Ctx, loc: Loc) -> str:
    return "%s:%d" % (ctx.prog.cfg["vmas"][loc.vma][0], loc.pgoff)


def show_pte(v: Pte) -> str:
    if v.kind == "none":
        return "none"
    return "%s(%s,%s)" % (v.kind.upper(), v.target, "rw" if v.write else "ro")


def insert_pte(ctx: Ctx, vma: Value, addr: Value, v: Pte, fname: str) -> int:
    """Install v where no PTE is (else -EBUSY), waiting for a PTE lock another thread holds."""
    if W.lock_state(ctx.w, "ptl") not in (None, ctx.tid):
        raise Blocked()
    loc = ctx.prog.model.vma_loc(vma, addr)
    cur = read_pte(ctx, loc)
    if cur != PTE_NONE:
        ctx.event("%s() -> -EBUSY, pte[%s] already %s" % (fname, loc_name(ctx, loc), show_pte(cur)))
        return -EBUSY
    write_pte(ctx, loc, v)
    ctx.event("%s() -> pte[%s] = %s" % (fname, loc_name(ctx, loc), show_pte(v)))
    return 0


@primitive("vm_insert_mixed", "vm_insert_pfn")
def _vm_insert_mixed(ctx: Ctx, a: list[Value]) -> Value:
    if not is_obj(a[2], "pfn"):
        ctx.violate(I3, "vm_insert_mixed() with pfn %s at %s" % ("UNINIT" if a[2] == UNINIT else a[2], where(ctx)))
    b = a[2].ident
    ctx.touch("r", "blk")
    return insert_pte(ctx, a[0], a[1], pte("pfn", b, ctx.prog.model.vma_shared(a[0])), "vm_insert_mixed")


@primitive("vm_insert_page")
def _vm_insert_page(ctx: Ctx, a: list[Value]) -> Value:
    pid = page_arg(ctx, a[2], "vm_insert_page")
    kind = mem(ctx, pid).kind
    r = insert_pte(ctx, a[0], a[1], pte("zero" if kind == "zero" else "page", pid, False), "vm_insert_page")
    if r == 0:
        set_mem(ctx, pid, ref=mem(ctx, pid).ref + 1)
    return r


def _vmf_insert(ctx: Ctx, a: list[Value], write: bool) -> Value:
    vma, addr, pfn = a[0], a[1], a[2]
    if is_obj(pfn, "zero_pfn"):
        v = pte("zero", 0, False)
    elif is_obj(pfn, "pfn"):
        v = pte("pfn", pfn.ident, write or False)
    else:
        ctx.violate(I3, "%s() with pfn %s at %s" % (ctx.prim_name, "UNINIT" if pfn == UNINIT else pfn, where(ctx)))
    r = insert_pte(ctx, vma, addr, v, ctx.prim_name)
    if r == 0 and v.kind == "zero":
        set_mem(ctx, 0, ref=mem(ctx, 0).ref + 1)
    return ctx.prog.const("VM_FAULT_NOPAGE")


@primitive("vmf_insert_mixed")
def _vmf_insert_mixed(ctx: Ctx, a: list[Value]) -> Value:
    return _vmf_insert(ctx, a, False)


@primitive("vmf_insert_mixed_mkwrite")
def _vmf_insert_mixed_mkwrite(ctx: Ctx, a: list[Value]) -> Value:
    return _vmf_insert(ctx, a, True)


@primitive("my_zero_pfn", inline=True)
def _my_zero_pfn(ctx: Ctx, a: list[Value], line: int) -> Value:
    return obj("zero_pfn", 0)


def zap(ctx: Ctx, vi: int, first: int, last: Value, even_cows: bool, why: str) -> None:
    """Clear the PTEs of vma vi from pgoff first to last (private COW pages only with
    even_cows), dropping the page references they held."""
    if W.lock_state(ctx.w, "ptl") not in (None, ctx.tid):
        raise Blocked()
    npg = ctx.prog.cfg["npg"]
    last = npg - 1 if (type(last) is not int or last < 0 or last >= npg) else last
    gone = []
    for p in range(max(first, 0), last + 1):
        loc = Loc(vi, p)
        v = read_pte(ctx, loc)
        if v == PTE_NONE or (v.kind == "anon" and not even_cows):
            continue
        write_pte(ctx, loc, PTE_NONE)
        if v.kind in ("anon", "page", "zero"):
            put_ref(ctx, v.target)
        gone.append("%s=%s" % (loc_name(ctx, loc), show_pte(v)))
    ctx.event("%s: zap pgoff %d.. %s" % (why, first, ("-> " + ", ".join(gone)) if gone else "(nothing mapped)"))


@primitive("zap_page_range_single")
def _zap_page_range_single(ctx: Ctx, a: list[Value]) -> Value:
    vma, addr, size, det = a[0], a[1], a[2], a[3]
    vi, p = ctx.prog.model.vma_loc(vma, addr)
    n = (size >> PAGE_SHIFT) if type(size) is int else ctx.prog.cfg["npg"]
    even = True
    if is_ptr(det):
        d = read_place(ctx, place_of(det))
        cm = rec_get(d, "check_mapping") if is_rec(d) else 0
        ec = rec_get(d, "even_cows") if is_rec(d) else UNINIT
        even = (cm == 0) if ec in (UNINIT, 0) and cm != UNINIT else bool(ec)
    zap(ctx, vi, p, p + n - 1, even, "zap_page_range_single")
    return 0


@primitive("unmap_mapping_range_tree", prefer_tree=True)
def _unmap_mapping_range_tree(ctx: Ctx, a: list[Value]) -> Value:
    if len(a) >= 4:        # 6.1: (root, first, last, details)
        first, last, det = a[1], a[2], a[3]
    else:
        det = a[1]
        d = read_place(ctx, place_of(det))
        first, last = rec_get(d, "first_index"), rec_get(d, "last_index")
    d = read_place(ctx, place_of(det)) if is_ptr(det) else None
    even = True
    if is_rec(d):
        ec, cm = rec_get(d, "even_cows"), rec_get(d, "check_mapping")
        even = bool(ec) if type(ec) is int and ec else (cm == 0 if type(cm) is int else bool(ec))
    for vi in range(len(ctx.prog.cfg["vmas"])):
        zap(ctx, vi, first, last, even, "unmap_mapping_range_tree(%s)" % ctx.prog.cfg["vmas"][vi][0])
    return 0


@primitive("vma_interval_tree_iter_first", visible=False)
def _vit_first(ctx: Ctx, a: list[Value]) -> Value:
    return obj("vma", 0)


@primitive("vma_interval_tree_iter_next", visible=False)
def _vit_next(ctx: Ctx, a: list[Value]) -> Value:
    vi = a[0].ident if is_obj(a[0], "vma") else 99
    return obj("vma", vi + 1) if vi + 1 < len(ctx.prog.cfg["vmas"]) else 0


@primitive("__xip_unmap")
def _xip_unmap(ctx: Ctx, a: list[Value]) -> Value:
    st = W.lock_state(ctx.w, "i_mmap")
    if st is not None and (st.writer != -1 or st.queued):
        raise Blocked()
    for vi in range(len(ctx.prog.cfg["vmas"])):
        loc = Loc(vi, a[1])
        v = read_pte(ctx, loc)
        if v.kind == "zero":
            write_pte(ctx, loc, PTE_NONE)
            put_ref(ctx, v.target)
    ctx.event("__xip_unmap(pgoff %s): zero-page PTEs removed" % (a[1],))
    return 0


@primitive("pte_none", inline=True)
def _pte_none(ctx: Ctx, a: list[Value], line: int) -> Value:
    v = a[0]
    if v == UNINIT:
        ctx.violate(I3, "pte_none() of an uninitialised pte at line %d" % line)
    return int(v == PTE_NONE) if is_pte(v) else UNKNOWN


@primitive("pte_present", inline=True)
def _pte_present(ctx: Ctx, a: list[Value], line: int) -> Value:
    return int(is_pte(a[0]) and a[0] != PTE_NONE)


@primitive("pte_write", inline=True)
def _pte_write(ctx: Ctx, a: list[Value], line: int) -> Value:
    return a[0].write if is_pte(a[0]) else UNKNOWN


@primitive("pte_same", inline=True)
def _pte_same(ctx: Ctx, a: list[Value], line: int) -> Value:
    if UNINIT in a:
        ctx.violate(I3, "pte_same() on an uninitialised pte at line %d" % line)
    if not (is_pte(a[0]) and is_pte(a[1])):
        return UNKNOWN
    return int(a[0] == a[1])


@primitive("pte_mkwrite", inline=True)
def _pte_mkwrite(ctx: Ctx, a: list[Value], line: int) -> Value:
    return pte(a[0].kind, a[0].target, True) if is_pte(a[0]) else a[0]


@primitive("pte_mkdirty", "pte_mkyoung", "pte_mkold", "pte_mkclean", inline=True)
def _pte_same_value(ctx: Ctx, a: list[Value], line: int) -> Value:
    return a[0]


@primitive("mk_pte", inline=True)
def _mk_pte(ctx: Ctx, a: list[Value], line: int) -> Value:
    pid = page_arg(ctx, a[0], "mk_pte")
    if pid is None:
        return UNKNOWN
    kind = mem(ctx, pid).kind
    return pte("anon" if kind == "anon" else ("zero" if kind == "zero" else "page"), pid, False)


@primitive("vm_normal_page", inline=True)
def _vm_normal_page(ctx: Ctx, a: list[Value], line: int) -> Value:
    v = a[2]
    if is_pte(v) and v.kind in ("page", "anon"):
        return obj("page", v.target)
    return 0
