"""Kernel primitives as model operations (xip-model.md §7.3): locks, page references,
PTL sections, PTE installs, copies, allocation, i_size, blocks, truncate helpers."""
from __future__ import annotations

from . import world as W
from .interp import Violation, read_place, write_place
from .values import PTE_NONE, UNINIT, UNKNOWN, is_obj, is_ptr, is_pte, is_rec, obj, pte, rec_get

PAGE_SHIFT = 12
PS = 1 << PAGE_SHIFT
ENODATA, EBUSY, ENOMEM = 61, 16, 12

I1 = "I1 lock balance at exit"
I2 = "I2 unlock matches lock and mode"
I3 = "I3 no NULL or uninitialised use"
I4A = "I4a no PTE maps freed storage"
I4B = "I4b nothing mapped past EOF after truncate"
I5 = "I5 COW data correct"
I6 = "I6 no leaked page or reference"
I7 = "I7 no deadlock"
I8 = "I8 handler contract kept"
I9 = "I9 no recursive acquisition"


class Blocked(Exception):
    pass


STAY = ("STAY",)     # the primitive made progress but the call is not finished (rwsem queueing)


class Prim:
    __slots__ = ("name", "fn", "visible", "prefer_tree")

    def __init__(self, name, fn, visible, prefer_tree):
        self.name, self.fn, self.visible, self.prefer_tree = name, fn, visible, prefer_tree


PRIMS: dict[str, Prim] = {}
INLINE: dict = {}


def prim(*names, visible=True, prefer_tree=False):
    def deco(fn):
        for n in names:
            PRIMS[n] = Prim(n, fn, visible, prefer_tree)
        return fn
    return deco


def inline(*names):
    def deco(fn):
        for n in names:
            INLINE[n] = fn
        return fn
    return deco


def noop(*names, ret=0):
    for n in names:
        PRIMS[n] = Prim(n, lambda ctx, args, _r=ret: _r, False, False)


# ---------------------------------------------------------------- helpers

def where(ctx):
    return "line %d in %s" % (ctx.cur_line, ctx.th.frames[-1].fn.name)


def page_arg(ctx, v, fname):
    if v == 0:
        ctx.violate(I3, "%s(NULL) at %s" % (fname, where(ctx)))
    if v == UNINIT:
        ctx.violate(I3, "%s() on an uninitialised page pointer at %s" % (fname, where(ctx)))
    if is_obj(v, "page"):
        return v[2]
    return None


def lock_id(ctx, v, fname):
    if is_obj(v) and v[1] in ("lock", "global"):
        return v[2]
    if v == 0 or v == UNINIT:
        ctx.violate(I3, "%s() on a %s lock pointer at %s" % (fname, "NULL" if v == 0 else "uninitialised", where(ctx)))
    return None


def mem(ctx, pid):
    return ctx.w["mem"][pid]


def set_mem(ctx, pid, **kw):
    e = list(ctx.w["mem"][pid])
    for k, v in kw.items():
        e[("kind", "ref", "pgoff", "data", "live", "charged").index(k)] = v
    W.set_item(ctx.w, "mem", pid, tuple(e))
    ctx.touch("w", ("mem", pid))


def held_modes(th, name):
    return [m for n, m in th.held if n == name]


def _take(ctx, name, mode):
    ctx.th.held.append((name, mode))
    ctx.touch("w", ("lock", name))


def _drop(ctx, name, mode, fname):
    modes = held_modes(ctx.th, name)
    if not modes:
        ctx.violate(I2, "%s() of %s, which this thread does not hold, at %s" % (fname, name, where(ctx)))
    if mode not in modes:
        ctx.violate(I2, "%s() releases %s in mode %s but it was taken in mode %s, at %s" % (
            fname, name, mode, modes[-1], where(ctx)))
    for i in range(len(ctx.th.held) - 1, -1, -1):
        if ctx.th.held[i] == (name, mode):
            del ctx.th.held[i]
            break
    ctx.touch("w", ("lock", name))


def mutex_acquire(ctx, name, fname):
    st = W.lock_state(ctx.w, name)
    if st is not None:
        if st == ctx.tid:
            ctx.violate(I9, "%s(): %s already held by this thread, at %s" % (fname, name, where(ctx)))
        raise Blocked()
    W.set_lock(ctx.w, name, ctx.tid)
    _take(ctx, name, "X")


def mutex_release(ctx, name, fname):
    _drop(ctx, name, "X", fname)
    W.set_lock(ctx.w, name, None)


def rw_acquire(ctx, name, mode, fname):
    st = W.lock_state(ctx.w, name) or (-1, (), ())
    writer, readers, wq = st
    mine = held_modes(ctx.th, name)
    if mode == "R":
        if "W" in mine or (mine and wq):
            ctx.violate(I9, "%s(): %s taken for read again while %s, at %s" % (
                fname, name, "held for write" if "W" in mine else "a writer is queued", where(ctx)))
        if writer != -1 or wq:
            raise Blocked()
        W.set_lock(ctx.w, name, (writer, tuple(sorted(readers + (ctx.tid,))), wq))
        _take(ctx, name, "R")
        return 0
    if mine:
        ctx.violate(I9, "%s(): %s taken for write while this thread holds it, at %s" % (fname, name, where(ctx)))
    if ctx.th.phase == 0:
        if writer == -1 and not readers and not wq:
            W.set_lock(ctx.w, name, (ctx.tid, readers, wq))
            _take(ctx, name, "W")
            return 0
        # writer-preferring: queue first, so that new readers wait behind us
        W.set_lock(ctx.w, name, (writer, readers, wq + (ctx.tid,)))
        ctx.touch("w", ("lock", name))
        ctx.th.phase = 1
        ctx.event("%s: queued as writer on %s" % (fname, name))
        return STAY
    if writer != -1 or readers or wq[0] != ctx.tid:
        raise Blocked()
    W.set_lock(ctx.w, name, (ctx.tid, readers, wq[1:]))
    ctx.th.phase = 0
    _take(ctx, name, "W")
    return 0


def rw_release(ctx, name, mode, fname):
    _drop(ctx, name, mode, fname)
    writer, readers, wq = W.lock_state(ctx.w, name) or (-1, (), ())
    if mode == "W":
        writer = -1
    else:
        r = list(readers)
        r.remove(ctx.tid)
        readers = tuple(r)
    st = (writer, readers, wq)
    W.set_lock(ctx.w, name, None if st == (-1, (), ()) else st)


# ---------------------------------------------------------------- locks

@prim("lock_page")
def _lock_page(ctx, a):
    pid = page_arg(ctx, a[0], "lock_page")
    if pid is not None:
        mutex_acquire(ctx, "page#%d" % pid, "lock_page")
    ctx.event("lock_page(page#%s)" % pid)
    return 0


@prim("trylock_page")
def _trylock_page(ctx, a):
    pid = page_arg(ctx, a[0], "trylock_page")
    if W.lock_state(ctx.w, "page#%d" % pid) is not None:
        ctx.touch("r", ("lock", "page#%d" % pid))
        return 0
    mutex_acquire(ctx, "page#%d" % pid, "trylock_page")
    return 1


@prim("lock_page_or_retry")
def _lock_page_or_retry(ctx, a):
    pid = page_arg(ctx, a[0], "lock_page_or_retry")
    if W.lock_state(ctx.w, "page#%d" % pid) is not None or may_fail(ctx, "gives up the wait"):
        ctx.touch("r", ("lock", "page#%d" % pid))
        ctx.event("lock_page_or_retry(page#%d): contended, RETRY" % pid)
        return 0
    mutex_acquire(ctx, "page#%d" % pid, "lock_page_or_retry")
    ctx.event("lock_page_or_retry(page#%d): locked" % pid)
    return 1


@prim("unlock_page")
def _unlock_page(ctx, a):
    pid = page_arg(ctx, a[0], "unlock_page")
    if pid is not None:
        mutex_release(ctx, "page#%d" % pid, "unlock_page")
    ctx.event("unlock_page(page#%s)" % pid)
    return 0


def _rw(mode, acquire):
    def fn(ctx, a):
        fname = ctx.prim_name
        name = lock_id(ctx, a[0], fname)
        if name is None:
            return 0
        r = rw_acquire(ctx, name, mode, fname) if acquire else rw_release(ctx, name, mode, fname)
        if r is not STAY:
            ctx.event("%s(%s) -> %s %s" % (fname, name, "acquired" if acquire else "released", mode))
        return r
    return fn


PRIMS["down_read"] = Prim("down_read", _rw("R", True), True, False)
PRIMS["up_read"] = Prim("up_read", _rw("R", False), True, False)
PRIMS["down_write"] = Prim("down_write", _rw("W", True), True, False)
PRIMS["up_write"] = Prim("up_write", _rw("W", False), True, False)


def _immap(mode, acquire):
    inner = _rw(mode, acquire)

    def fn(ctx, a):
        return inner(ctx, [obj("lock", "i_mmap")])
    return fn


for _n, _m, _acq in (("i_mmap_lock_read", "R", True), ("i_mmap_unlock_read", "R", False),
                     ("i_mmap_lock_write", "W", True), ("i_mmap_unlock_write", "W", False)):
    PRIMS[_n] = Prim(_n, _immap(_m, _acq), True, True)


# ---------------------------------------------------------------- PTL and PTEs

def pte_index(ctx, vi, pgoff):
    return vi * ctx.prog.cfg["npg"] + pgoff


def addr_to(ctx, addr):
    if type(addr) is not int:
        return None
    span = ctx.prog.cfg["npg"] * PS
    return (addr // span, (addr % span) >> PAGE_SHIFT)


@prim("pte_offset_map_lock")
def _pte_offset_map_lock(ctx, a):
    mutex_acquire(ctx, "ptl", "pte_offset_map_lock")
    if is_ptr(a[3]):
        write_place(ctx, (a[3][1], a[3][2]), obj("lock", "ptl"))
    loc = addr_to(ctx, a[2])
    ctx.event("pte_offset_map_lock() -> PTL taken")
    return obj("pteptr", loc)


def _exclusive(cname: str, acquire: bool):
    """A plain exclusive lock call (mutex, spinlock) on the lock its first argument names."""
    def run(ctx, a):
        name = lock_id(ctx, a[0], cname)
        if name is not None:
            (mutex_acquire if acquire else mutex_release)(ctx, name, cname)
        ctx.event("%s(%s)" % (cname, name))
        return 0
    return run


for _cname, _acquire in (("mutex_lock", True), ("mutex_unlock", False),
                         ("spin_lock", True), ("spin_unlock", False)):
    prim(_cname)(_exclusive(_cname, _acquire))


@prim("pte_unmap_unlock")
def _pte_unmap_unlock(ctx, a):
    name = lock_id(ctx, a[1], "pte_unmap_unlock")
    if name is not None:
        mutex_release(ctx, name, "pte_unmap_unlock")
    ctx.event("pte_unmap_unlock() -> PTL released")
    return 0


@prim("pte_lockptr", visible=False)
def _pte_lockptr(ctx, a):
    return obj("lock", "ptl")


@prim("pte_offset_map", visible=False)
def _pte_offset_map(ctx, a):
    return obj("pteptr", addr_to(ctx, a[1]))


def read_pte(ctx, loc):
    ctx.touch("r", "ptes")
    return ctx.w["ptes"][pte_index(ctx, *loc)]


def write_pte(ctx, loc, v):
    ctx.touch("w", "ptes")
    W.set_item(ctx.w, "ptes", pte_index(ctx, *loc), v)


def _need_ptl(ctx, fname):
    if ("ptl", "X") not in ctx.th.held:
        ctx.violate(I2, "%s() without the PTE lock at %s" % (fname, where(ctx)))


@prim("do_set_pte")
def _do_set_pte(ctx, a):
    if is_ptr(a[0]):          # 6.1: do_set_pte(vmf, page, addr)
        vmf = read_place(ctx, (a[0][1], a[0][2]))
        page_v, loc_v = a[1], rec_get(vmf, "pte")
        vma = rec_get(vmf, "vma")
        write = bool(rec_get(vmf, "flags") & 1) if type(rec_get(vmf, "flags")) is int else False
        anon = write and not ctx.prog.model.vma_shared(vma)
    else:
        page_v, loc_v, write, anon = a[2], a[3], bool(a[4]), bool(a[5])
    pid = page_arg(ctx, page_v, "do_set_pte")
    _need_ptl(ctx, "do_set_pte")
    loc = loc_v[2] if is_obj(loc_v, "pteptr") else None
    if pid is None or loc is None:
        return 0
    kind = mem(ctx, pid)[0]
    v = pte("anon" if kind == "anon" else ("zero" if kind == "zero" else "page"), pid, write)
    write_pte(ctx, loc, v)
    if kind == "anon":
        set_mem(ctx, pid, pgoff=loc[1])
    ctx.event("do_set_pte(page#%d) -> pte[%s] = %s" % (pid, _locname(ctx, loc), _showpte(v)))
    return 0


@prim("set_pte_at")
def _set_pte_at(ctx, a):
    _need_ptl(ctx, "set_pte_at")
    loc = a[2][2] if is_obj(a[2], "pteptr") else None
    if loc is not None and is_pte(a[3]):
        write_pte(ctx, loc, a[3])
        ctx.event("set_pte_at() -> pte[%s] = %s" % (_locname(ctx, loc), _showpte(a[3])))
    return 0


@prim("ptep_set_access_flags")
def _ptep_set_access_flags(ctx, a):
    _need_ptl(ctx, "ptep_set_access_flags")
    loc = a[2][2] if is_obj(a[2], "pteptr") else None
    if loc is not None and is_pte(a[3]):
        write_pte(ctx, loc, a[3])
    return 1


def _locname(ctx, loc):
    return "%s:%d" % (ctx.prog.cfg["vmas"][loc[0]][0], loc[1])


def _showpte(v):
    if v[1] == "none":
        return "none"
    return "%s(%s,%s)" % (v[1].upper(), v[2], "rw" if v[3] else "ro")


def _insert(ctx, vma, addr, v, fname):
    if W.lock_state(ctx.w, "ptl") not in (None, ctx.tid):
        raise Blocked()
    loc = ctx.prog.model.vma_loc(vma, addr)
    cur = read_pte(ctx, loc)
    if cur != PTE_NONE:
        ctx.event("%s() -> -EBUSY, pte[%s] already %s" % (fname, _locname(ctx, loc), _showpte(cur)))
        return -EBUSY
    write_pte(ctx, loc, v)
    ctx.event("%s() -> pte[%s] = %s" % (fname, _locname(ctx, loc), _showpte(v)))
    return 0


@prim("vm_insert_mixed", "vm_insert_pfn")
def _vm_insert_mixed(ctx, a):
    if not is_obj(a[2], "pfn"):
        ctx.violate(I3, "vm_insert_mixed() with pfn %s at %s" % ("UNINIT" if a[2] == UNINIT else a[2], where(ctx)))
    b = a[2][2]
    ctx.touch("r", "blk")
    return _insert(ctx, a[0], a[1], pte("pfn", b, ctx.prog.model.vma_shared(a[0])), "vm_insert_mixed")


@prim("vm_insert_page")
def _vm_insert_page(ctx, a):
    pid = page_arg(ctx, a[2], "vm_insert_page")
    kind = mem(ctx, pid)[0]
    r = _insert(ctx, a[0], a[1], pte("zero" if kind == "zero" else "page", pid, False), "vm_insert_page")
    if r == 0:
        set_mem(ctx, pid, ref=mem(ctx, pid)[1] + 1)
    return r


def zap(ctx, vi, first, last, even_cows, why):
    if W.lock_state(ctx.w, "ptl") not in (None, ctx.tid):
        raise Blocked()
    npg = ctx.prog.cfg["npg"]
    last = npg - 1 if (type(last) is not int or last < 0 or last >= npg) else last
    gone = []
    for p in range(max(first, 0), last + 1):
        loc = (vi, p)
        v = read_pte(ctx, loc)
        if v == PTE_NONE or (v[1] == "anon" and not even_cows):
            continue
        write_pte(ctx, loc, PTE_NONE)
        if v[1] in ("anon", "page", "zero"):
            _put(ctx, v[2])
        gone.append("%s=%s" % (_locname(ctx, loc), _showpte(v)))
    ctx.event("%s: zap pgoff %d.. %s" % (why, first, ("-> " + ", ".join(gone)) if gone else "(nothing mapped)"))


@prim("zap_page_range_single")
def _zap_page_range_single(ctx, a):
    vma, addr, size, det = a[0], a[1], a[2], a[3]
    vi, p = ctx.prog.model.vma_loc(vma, addr)
    n = (size >> PAGE_SHIFT) if type(size) is int else ctx.prog.cfg["npg"]
    even = True
    if is_ptr(det):
        d = read_place(ctx, (det[1], det[2]))
        cm = rec_get(d, "check_mapping") if is_rec(d) else 0
        ec = rec_get(d, "even_cows") if is_rec(d) else UNINIT
        even = (cm == 0) if ec in (UNINIT, 0) and cm != UNINIT else bool(ec)
    zap(ctx, vi, p, p + n - 1, even, "zap_page_range_single")
    return 0


@prim("unmap_mapping_range_tree", prefer_tree=True)
def _unmap_mapping_range_tree(ctx, a):
    if len(a) >= 4:        # 6.1: (root, first, last, details)
        first, last, det = a[1], a[2], a[3]
    else:
        det = a[1]
        d = read_place(ctx, (det[1], det[2]))
        first, last = rec_get(d, "first_index"), rec_get(d, "last_index")
    d = read_place(ctx, (det[1], det[2])) if is_ptr(det) else None
    even = True
    if is_rec(d):
        ec, cm = rec_get(d, "even_cows"), rec_get(d, "check_mapping")
        even = bool(ec) if type(ec) is int and ec else (cm == 0 if type(cm) is int else bool(ec))
    for vi in range(len(ctx.prog.cfg["vmas"])):
        zap(ctx, vi, first, last, even, "unmap_mapping_range_tree(%s)" % ctx.prog.cfg["vmas"][vi][0])
    return 0


@prim("vma_interval_tree_iter_first", visible=False)
def _vit_first(ctx, a):
    return obj("vma", 0)


@prim("vma_interval_tree_iter_next", visible=False)
def _vit_next(ctx, a):
    vi = a[0][2] if is_obj(a[0], "vma") else 99
    return obj("vma", vi + 1) if vi + 1 < len(ctx.prog.cfg["vmas"]) else 0


# ---------------------------------------------------------------- pages and memory

def _put(ctx, pid):
    e = mem(ctx, pid)
    ref = e[1] - 1
    if ref < 0:
        ctx.violate(I6, "page#%d reference count below zero at %s" % (pid, where(ctx)))
    if ref == 0:
        set_mem(ctx, pid, ref=0, live=0, charged=0 if e[5] == 2 else e[5])
    else:
        set_mem(ctx, pid, ref=ref)


@prim("page_cache_release", "put_page")
def _put_page(ctx, a):
    pid = page_arg(ctx, a[0], ctx.prim_name)
    if pid is not None:
        e = mem(ctx, pid)
        if not e[4]:
            ctx.violate(I6, "%s(page#%d) of a freed page at %s" % (ctx.prim_name, pid, where(ctx)))
        _put(ctx, pid)
        ctx.event("%s(page#%d) -> ref %d%s" % (ctx.prim_name, pid, e[1] - 1, ", freed" if e[1] == 1 else ""))
    return 0


@prim("page_cache_get", "get_page")
def _get_page(ctx, a):
    pid = page_arg(ctx, a[0], ctx.prim_name)
    if pid is not None:
        set_mem(ctx, pid, ref=mem(ctx, pid)[1] + 1)
    return 0


def _alloc_anon(ctx, data):
    if ctx.prog.cfg.get("failures"):
        if ctx.choose(2, "allocation may fail") == 0:
            ctx.event("%s -> NULL (allocation failed)" % ctx.prim_name)
            return 0
    pid = len(ctx.w["mem"])
    ctx.w["mem"] = ctx.w["mem"] + (("anon", 1, -1, data, 1, 0),)
    ctx.touch("w", ("mem", pid))
    ctx.event("%s -> page#%d (anon, contents %s)" % (ctx.prim_name, pid, "uninitialised" if data == "UNINIT" else data))
    return obj("page", pid)


@prim("alloc_page_vma", "alloc_zeroed_user_highpage_movable")
def _alloc_page_vma(ctx, a):
    return _alloc_anon(ctx, "UNINIT")


@prim("anon_vma_prepare", "__anon_vma_prepare", visible=False)
def _anon_vma_prepare(ctx, a):
    return 0


def may_fail(ctx, what):
    """In a failure-paths run, a leaf that can fail does so in one branch."""
    if ctx.prog.cfg.get("failures") and ctx.choose(2, what) == 0:
        ctx.event("%s fails (%s)" % (ctx.prim_name, what))
        return True
    return False


@prim("mem_cgroup_try_charge")
def _mc_try(ctx, a):
    pid = page_arg(ctx, a[0], "mem_cgroup_try_charge")
    if may_fail(ctx, "memcg charge"):
        return -ENOMEM
    set_mem(ctx, pid, charged=1)
    if len(a) > 3 and is_ptr(a[3]):
        write_place(ctx, (a[3][1], a[3][2]), obj("memcg", None))
    return 0


@prim("mem_cgroup_charge")
def _mc_charge(ctx, a):
    pid = page_arg(ctx, a[0], "mem_cgroup_charge")
    set_mem(ctx, pid, charged=2)
    return 0


@prim("mem_cgroup_commit_charge")
def _mc_commit(ctx, a):
    pid = page_arg(ctx, a[0], "mem_cgroup_commit_charge")
    if mem(ctx, pid)[5] != 1:
        ctx.violate(I6, "commit of an uncharged page#%d at %s" % (pid, where(ctx)))
    set_mem(ctx, pid, charged=2)
    return 0


@prim("mem_cgroup_cancel_charge")
def _mc_cancel(ctx, a):
    pid = page_arg(ctx, a[0], "mem_cgroup_cancel_charge")
    if mem(ctx, pid)[5] != 1:
        ctx.violate(I6, "cancel of a charge that is not pending on page#%d at %s" % (pid, where(ctx)))
    set_mem(ctx, pid, charged=0)
    return 0


def page_data(ctx, pid):
    e = mem(ctx, pid)
    ctx.touch("r", ("mem", pid))
    if not e[4]:
        return "POISON"
    return e[3]


@prim("copy_user_highpage", "cow_user_page", "copy_highpage")
def _copy_user_highpage(ctx, a):
    dst = page_arg(ctx, a[0], ctx.prim_name)
    if ctx.prim_name == "cow_user_page" and a[1] == 0:
        # no struct page behind the pte: the copy comes from the user address
        loc = ctx.prog.model.vma_loc(a[3], a[2])
        v = read_pte(ctx, loc)
        data = block_data(ctx, v[2]) if v[1] == "pfn" else ("ZERO" if v[1] == "zero" else "UNINIT")
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


@prim("clear_user_highpage")
def _clear_user_highpage(ctx, a):
    dst = page_arg(ctx, a[0], "clear_user_highpage")
    set_mem(ctx, dst, data="ZERO")
    ctx.event("clear_user_highpage(page#%d)" % dst)
    return 0


noop("__SetPageUptodate", "flush_icache_page", "inc_mm_counter_fast", "page_add_new_anon_rmap",
     "page_add_file_rmap", "page_remove_rmap", "lru_cache_add_active_or_unevictable", "update_mmu_cache",
     "update_mmu_tlb", "count_vm_event", "mem_cgroup_count_vm_event", "file_update_time",
     "balance_dirty_pages_ratelimited", "cgroup_throttle_swaprate", "inode_dio_wait", "mark_inode_dirty",
     "pte_unmap", "flush_cache_page", "lru_cache_add_inactive_or_unevictable", "folio_add_lru_vma",
     "write_seqcount_begin", "write_seqcount_end", "sb_start_pagefault", "sb_end_pagefault",
     "add_mm_counter", "inc_mm_counter", "page_add_file_rmap", "pte_free", "might_sleep", "cond_resched",
     "pagefault_out_of_memory", "perf_sw_event", "xip_truncate_page", "block_truncate_page",
     "dax_truncate_page", "wait_for_stable_page", "kunmap_atomic", "kunmap")
noop("set_page_dirty", ret=1)
noop("mapping_mapped", "mapping_is_xip", ret=1)


# ---------------------------------------------------------------- file size and blocks

@prim("i_size_read")
def _i_size_read(ctx, a):
    ctx.touch("r", "isize")
    v = ctx.w["isize"] * PS
    ctx.event("i_size_read() = %d pages" % ctx.w["isize"])
    return v


@prim("i_size_write")
def _i_size_write(ctx, a):
    v = a[1]
    if type(v) is not int:
        return 0
    ctx.touch("w", "isize")
    ctx.w["isize"] = (v + PS - 1) >> PAGE_SHIFT
    ctx.event("i_size_write() -> %d pages" % ctx.w["isize"])
    return 0


def block_data(ctx, b):
    ctx.touch("r", "blk")
    owned, data = ctx.w["blk"][b]
    return data if owned else "POISON"


def get_block(ctx, pgoff, create, fname):
    ctx.touch("r", "fmap")
    b = ctx.w["fmap"][pgoff] if 0 <= pgoff < ctx.prog.cfg["npg"] else -1
    if b >= 0:
        ctx.event("%s(pgoff %d) -> block B%d" % (fname, pgoff, b))
        return b
    if not create:
        ctx.event("%s(pgoff %d) -> hole" % (fname, pgoff))
        return -1
    b = len(ctx.w["blk"])
    g = ctx.w["gen"]
    ctx.w["blk"] = ctx.w["blk"] + ((1, ("D", pgoff, g)),)
    ctx.w["gen"] = g + 1
    W.set_item(ctx.w, "fmap", pgoff, b)
    ctx.touch("w", "fmap")
    ctx.touch("w", "blk")
    ctx.event("%s(pgoff %d, create) -> new block B%d" % (fname, pgoff, b))
    return b


@prim("get_xip_mem")
def _get_xip_mem(ctx, a):
    pgoff, create = a[1], a[2]
    if may_fail(ctx, "block mapping"):
        return -5
    b = get_block(ctx, pgoff, bool(create), "get_xip_mem")
    if b < 0:
        return -ENODATA
    if is_ptr(a[3]):
        write_place(ctx, (a[3][1], a[3][2]), obj("kmem", b))
    if is_ptr(a[4]):
        write_place(ctx, (a[4][1], a[4][2]), obj("pfn", b))
    return 0


@prim("xip_sparse_page", visible=False)
def _xip_sparse_page(ctx, a):
    return obj("page", 0)


@prim("__xip_unmap")
def _xip_unmap(ctx, a):
    st = W.lock_state(ctx.w, "i_mmap")
    if st is not None and (st[0] != -1 or st[2]):
        raise Blocked()
    for vi in range(len(ctx.prog.cfg["vmas"])):
        loc = (vi, a[1])
        v = read_pte(ctx, loc)
        if v[1] == "zero":
            write_pte(ctx, loc, PTE_NONE)
            _put(ctx, v[2])
    ctx.event("__xip_unmap(pgoff %s): zero-page PTEs removed" % (a[1],))
    return 0


def free_blocks(ctx, first):
    freed = []
    npg = ctx.prog.cfg["npg"]
    for p in range(max(first, 0), npg):
        b = ctx.w["fmap"][p]
        if b >= 0:
            W.set_item(ctx.w, "blk", b, (0, "POISON"))
            W.set_item(ctx.w, "fmap", p, -1)
            freed.append("B%d" % b)
    ctx.touch("w", "fmap")
    ctx.touch("w", "blk")
    return freed


@prim("ext2_free_data_block")
def _ext2_free_data_block(ctx, a):
    p = a[1]
    b = ctx.w["fmap"][p] if type(p) is int and 0 <= p < ctx.prog.cfg["npg"] else -1
    ctx.touch("w", "fmap")
    ctx.touch("w", "blk")
    if b >= 0:
        W.set_item(ctx.w, "blk", b, (0, "POISON"))
        W.set_item(ctx.w, "fmap", p, -1)
        ctx.event("ext2_free_data_block(pgoff %d) -> block B%d freed" % (p, b))
    else:
        ctx.event("ext2_free_data_block(pgoff %s): hole" % (p,))
    return 0


# ---------------------------------------------------------------- page cache

@prim("find_get_page", "find_lock_page")
def _find_get_page(ctx, a):
    p = a[1]
    ctx.touch("r", "pcache")
    npg = ctx.prog.cfg["npg"]
    pid = ctx.w["pcache"][p] if type(p) is int and 0 <= p < npg else -1
    if pid < 0:
        return 0
    if ctx.prim_name == "find_lock_page":
        mutex_acquire(ctx, "page#%d" % pid, "find_lock_page")
    set_mem(ctx, pid, ref=mem(ctx, pid)[1] + 1)
    ctx.event("%s(pgoff %d) -> page#%d" % (ctx.prim_name, p, pid))
    return obj("page", pid)


@prim("page_cache_read")
def _page_cache_read(ctx, a):
    p = a[1]
    ctx.touch("w", "pcache")
    if ctx.w["pcache"][p] >= 0:
        return -17
    b = get_block(ctx, p, False, "page_cache_read")
    pid = len(ctx.w["mem"])
    ctx.w["mem"] = ctx.w["mem"] + (("file", 1, p, block_data(ctx, b) if b >= 0 else "ZERO", 1, 0),)
    W.set_item(ctx.w, "pcache", p, pid)
    ctx.event("page_cache_read(pgoff %d) -> page#%d" % (p, pid))
    return 0


@prim("truncate_inode_page", "delete_from_page_cache")
def _truncate_inode_page(ctx, a):
    pid = page_arg(ctx, a[-1], ctx.prim_name)
    p = mem(ctx, pid)[2]
    if ctx.w["pcache"][p] == pid:
        W.set_item(ctx.w, "pcache", p, -1)
        ctx.touch("w", "pcache")
        _put(ctx, pid)
    ctx.event("%s(page#%d): removed from the page cache" % (ctx.prim_name, pid))
    return 0


@prim("mapping_end_index", visible=False)
def _mapping_end_index(ctx, a):
    return ctx.prog.cfg["npg"]


@prim("truncate_inode_pages", "truncate_inode_pages_range", prefer_tree=True)
def _truncate_inode_pages(ctx, a):
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
            _put(ctx, pid)
            removed.append("page#%d" % pid)
    ctx.touch("w", "pcache")
    ctx.event("truncate_inode_pages(from pgoff %d) %s" % (first, ", ".join(removed) or "(no cached pages)"))
    return 0


# ---------------------------------------------------------------- inline (pure) helpers

@inline("unlikely", "likely", "READ_ONCE", "page_folio", "folio_page", "EXT2_I_inline")
def _identity(ctx, a, line):
    return a[0] if a else 0


@inline("pte_none")
def _pte_none(ctx, a, line):
    v = a[0]
    if v == UNINIT:
        ctx.violate(I3, "pte_none() of an uninitialised pte at line %d" % line)
    return int(v == PTE_NONE) if is_pte(v) else UNKNOWN


@inline("pte_present")
def _pte_present(ctx, a, line):
    return int(is_pte(a[0]) and a[0] != PTE_NONE)


@inline("pte_write")
def _pte_write(ctx, a, line):
    return a[0][3] if is_pte(a[0]) else UNKNOWN


@inline("pte_same")
def _pte_same(ctx, a, line):
    if UNINIT in a:
        ctx.violate(I3, "pte_same() on an uninitialised pte at line %d" % line)
    if not (is_pte(a[0]) and is_pte(a[1])):
        return UNKNOWN
    return int(a[0] == a[1])


@inline("pte_mkwrite")
def _pte_mkwrite(ctx, a, line):
    return pte(a[0][1], a[0][2], True) if is_pte(a[0]) else a[0]


@inline("pte_mkdirty", "pte_mkyoung", "pte_mkold", "pte_mkclean")
def _pte_same_value(ctx, a, line):
    return a[0]


@inline("mk_pte")
def _mk_pte(ctx, a, line):
    pid = page_arg(ctx, a[0], "mk_pte")
    if pid is None:
        return UNKNOWN
    kind = mem(ctx, pid)[0]
    return pte("anon" if kind == "anon" else ("zero" if kind == "zero" else "page"), pid, False)


@inline("vm_normal_page")
def _vm_normal_page(ctx, a, line):
    v = a[2]
    if is_pte(v) and v[1] in ("page", "anon"):
        return obj("page", v[2])
    return 0


@inline("PageHWPoison", "PageLocked", "PageUptodate", "PageTransCompound")
def _page_flag(ctx, a, line):
    name = ctx.inline_name
    pid = page_arg(ctx, a[0], name)
    if name == "PageLocked":
        return int(pid is not None and W.lock_state(ctx.w, "page#%d" % pid) is not None)
    if name == "PageUptodate":
        return 1
    return 0


@inline("IS_ERR")
def _is_err(ctx, a, line):
    return int(type(a[0]) is int and -4095 <= a[0] < 0)


@inline("PTR_ERR", "ERR_PTR")
def _ptr_err(ctx, a, line):
    return a[0]


@inline("pmd_none", "RB_EMPTY_ROOT", "IS_SWAPFILE", "pmd_devmap_trans_unstable", "uffd_disable_fault_around",
        "fatal_signal_pending", "check_stable_address_space", "userfaultfd_missing", "is_zero_pfn")
def _false(ctx, a, line):
    return 0


@inline("IS_DAX", "S_ISREG", "mapping_is_xip_inline")
def _true(ctx, a, line):
    return 1


@inline("round_up", "ALIGN")
def _round_up(ctx, a, line):
    x, y = a
    if type(x) is not int or type(y) is not int or y == 0:
        return UNKNOWN
    return ((x + y - 1) // y) * y


@inline("BIT", "_BITUL", "BIT_ULL")
def _bit(ctx, a, line):
    return 1 << a[0]


@inline("_AC", "UL", "_UL", "ULL", "_ULL")
def _ac(ctx, a, line):
    return a[0]


@inline("min", "min_t")
def _min(ctx, a, line):
    x, y = a[-2], a[-1]
    return min(x, y) if type(x) is int and type(y) is int else UNKNOWN


@inline("max", "max_t")
def _max(ctx, a, line):
    x, y = a[-2], a[-1]
    return max(x, y) if type(x) is int and type(y) is int else UNKNOWN


@inline("VM_BUG_ON_PAGE", "VM_BUG_ON", "BUG_ON", "WARN_ON", "WARN_ON_ONCE", "VM_WARN_ON_ONCE", "VM_BUG_ON_VMA")
def _bug_on(ctx, a, line):
    c = a[0]
    if c == UNINIT:
        ctx.violate(I3, "%s() on an uninitialised value at line %d" % (ctx.inline_name, line))
    if type(c) is int and c:
        raise Violation(I8, "%s() fires at line %d in %s" % (ctx.inline_name, line, ctx.th.frames[-1].fn.name))
    return 0


# ---------------------------------------------------------------- simulator-only primitives (model C)

@inline("sim_address")
def _sim_address(ctx, a, line):
    vi = a[0][2] if is_obj(a[0], "vma") else 0
    return vi * ctx.prog.cfg["npg"] * PS + (a[1] << PAGE_SHIFT)


@inline("sim_pmd")
def _sim_pmd(ctx, a, line):
    return obj("pmd", "A")


@inline("sim_vma_shared")
def _sim_vma_shared(ctx, a, line):
    return int(bool(ctx.prog.model.vma_shared(a[0])))


@inline("sim_fault_vma")
def _sim_fault_vma(ctx, a, line):
    return ctx.th.frames[0].locals[0]


@prim("sim_nondet", visible=False)
def _sim_nondet(ctx, a):
    c = ctx.choose(a[0], "nondeterministic choice at %s" % where(ctx))
    ctx.event("sim_nondet(%d) -> %d" % (a[0], c))
    return c


@prim("sim_pte_read")
def _sim_pte_read(ctx, a):
    loc = (a[0][2], a[1])
    v = read_pte(ctx, loc)
    ctx.event("fault at %s: pte read without lock = %s" % (_locname(ctx, loc), _showpte(v)))
    return v


_BIND = ("vma", "address", "pmd", "flags", "orig_pte", "pgoff", "pte", "ptl")


@prim("sim_enter", visible=False)
def _sim_enter(ctx, a):
    fobj, vp = a[0], a[1]
    if not is_obj(fobj, "fn") or not ctx.prog.has_func(fobj[2]):
        raise Violation("incomplete", "the tree has no %s()" % (fobj[2] if is_obj(fobj) else fobj))
    fn = ctx.prog.func(fobj[2])
    vmf = read_place(ctx, (vp[1], vp[2]))
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
        args[fn.params.index("page_table")] = obj("pteptr", (rec_get(vmf, "vma")[2], rec_get(vmf, "pgoff")))
    return ("PUSH", fn, args, None)


@prim("sim_truncate_done")
def _sim_truncate_done(ctx, a):
    ctx.w["trunc"] = ctx.w["trunc"] + 1
    ctx.touch("w", "trunc")
    ctx.event("truncate complete")
    return 0


@prim("sim_free_blocks")
def _sim_free_blocks(ctx, a):
    freed = free_blocks(ctx, a[1])
    ctx.event("free blocks from pgoff %d: %s" % (a[1], ", ".join(freed) or "none"))
    return 0


@prim("sim_free_block")
def _sim_free_block(ctx, a):
    p = a[1]
    b = ctx.w["fmap"][p]
    ctx.touch("w", "fmap")
    ctx.touch("w", "blk")
    if b >= 0:
        W.set_item(ctx.w, "blk", b, (0, "POISON"))
        W.set_item(ctx.w, "fmap", p, -1)
    ctx.event("punch: free block of pgoff %d%s" % (p, " (B%d)" % b if b >= 0 else " (hole)"))
    return 0


@prim("sim_drop_cached")
def _sim_drop_cached(ctx, a):
    p = a[1]
    pid = ctx.w["pcache"][p]
    if pid >= 0:
        if W.lock_state(ctx.w, "page#%d" % pid) is not None:
            raise Blocked()
        W.set_item(ctx.w, "pcache", p, -1)
        _put(ctx, pid)
    ctx.touch("w", "pcache")
    return 0


@prim("sim_copy_block")
def _sim_copy_block(ctx, a):
    dst = page_arg(ctx, a[0], "sim_copy_block")
    ctx.touch("r", "fmap")
    b = ctx.w["fmap"][a[1]]
    data = block_data(ctx, b) if b >= 0 else "ZERO"
    set_mem(ctx, dst, data=data)
    ctx.event("copy block of pgoff %d%s into page#%d: %s" % (a[1], " (B%d)" % b if b >= 0 else "", dst, data))
    return 0


@prim("sim_fill_cow")
def _sim_fill_cow(ctx, a):
    vmf = read_place(ctx, (a[0][1], a[0][2]))
    cow = rec_get(vmf, "cow_page")
    if is_obj(cow, "page"):
        return _sim_copy_block(ctx, [cow, rec_get(vmf, "pgoff")])
    return 0


@prim("sim_hole_page")
def _sim_hole_page(ctx, a):
    p = a[1]
    ctx.touch("w", "pcache")
    pid = ctx.w["pcache"][p]
    if pid < 0:
        pid = len(ctx.w["mem"])
        ctx.w["mem"] = ctx.w["mem"] + (("file", 1, p, "ZERO", 1, 0),)
        W.set_item(ctx.w, "pcache", p, pid)
    elif W.lock_state(ctx.w, "page#%d" % pid) not in (None, ctx.tid):
        raise Blocked()
    if W.lock_state(ctx.w, "page#%d" % pid) is None:
        mutex_acquire(ctx, "page#%d" % pid, "sim_hole_page")
    set_mem(ctx, pid, ref=mem(ctx, pid)[1] + 1)
    ctx.event("hole page for pgoff %d -> page#%d (locked)" % (p, pid))
    return obj("page", pid)


@prim("kmap_atomic", "kmap", "page_address", visible=False)
def _kmap(ctx, a):
    pid = page_arg(ctx, a[0], ctx.prim_name)
    return obj("kmem_page", pid)


@prim("copy_page")
def _copy_page(ctx, a):
    dst, src = a[0], a[1]
    for v in (dst, src):
        if v == 0 or v == UNINIT:
            ctx.violate(I3, "copy_page() with a %s address at %s" % ("NULL" if v == 0 else "uninitialised", where(ctx)))
    if is_obj(src, "kmem"):
        data = block_data(ctx, src[2])
        what = "block B%d" % src[2]
    elif is_obj(src, "kmem_page"):
        data = page_data(ctx, src[2])
        what = "page#%d" % src[2]
    else:
        return 0
    if is_obj(dst, "kmem_page"):
        set_mem(ctx, dst[2], data=data)
        ctx.event("copy_page(page#%d <- %s) data %s" % (dst[2], what, data))
    return 0


@inline("sim_wp_modelled")
def _sim_wp_modelled(ctx, a, line):
    # the write-protect path is run from the tree only for XIP-era trees; a later
    # do_wp_page() works on folios, swap and KSM state the model does not have
    if ctx.prog.cfg.get("tree_helpers"):
        return 1
    ctx.not_modelled.add("sim_fault:do_wp_page")
    return 0


# ---------------------------------------------------------------- block mapping leaves (DAX, XIP)

@prim("find_or_create_page", "grab_cache_page")
def _find_or_create_page(ctx, a):
    """A locked, referenced page-cache page at pgoff; a new one (zeroed: a hole page) if none."""
    p = a[1]
    ctx.touch("w", "pcache")
    pid = ctx.w["pcache"][p]
    if pid >= 0:
        if W.lock_state(ctx.w, "page#%d" % pid) is not None:
            raise Blocked()
        set_mem(ctx, pid, ref=mem(ctx, pid)[1] + 1)
    else:
        pid = len(ctx.w["mem"])
        ctx.w["mem"] = ctx.w["mem"] + (("file", 2, p, "ZERO", 1, 0),)
        W.set_item(ctx.w, "pcache", p, pid)
    mutex_acquire(ctx, "page#%d" % pid, ctx.prim_name)
    ctx.event("%s(pgoff %d) -> page#%d (locked)" % (ctx.prim_name, p, pid))
    return obj("page", pid)


@prim("ext2_get_block", "ext4_get_block", "xfs_get_blocks")
def _get_block_bh(ctx, a):
    """get_block(inode, iblock, bh, create): fill the buffer_head from the model's block map;
    a hole leaves it unmapped unless create allocates a block."""
    iblock, bh, create = a[1], a[2], a[3]
    if may_fail(ctx, "block mapping"):
        return -5
    if type(iblock) is not int:
        ctx.not_modelled.add("%s with a non-constant block" % ctx.prim_name)
        return -5
    had = ctx.w["fmap"][iblock] if 0 <= iblock < ctx.prog.cfg["npg"] else -1
    b = get_block(ctx, iblock, bool(create) if type(create) is int else True, ctx.prim_name)
    state = 0
    if b >= 0:
        state |= 1 << (ctx.prog.const("BH_Mapped") or 4)
        if had < 0:
            state |= 1 << (ctx.prog.const("BH_New") or 5)
    if is_ptr(bh):
        pl = (bh[1], bh[2])
        for fld, v in (("b_state", state), ("b_blocknr", b if b >= 0 else 0)):
            write_place(ctx, (pl[0], pl[1] + (fld,)), v)
    return 0


@prim("bdev_direct_access")
def _bdev_direct_access(ctx, a):
    """bdev_direct_access(bh, &kaddr, &pfn): the kernel address and pfn of the block bh maps."""
    bh = a[0]
    rec_v = read_place(ctx, (bh[1], bh[2])) if is_ptr(bh) else UNKNOWN
    b = rec_get(rec_v, "b_blocknr") if is_rec(rec_v) else UNKNOWN
    if type(b) is not int:
        ctx.not_modelled.add("bdev_direct_access on an unknown buffer_head")
        return -5
    if may_fail(ctx, "direct access"):
        return -5
    ctx.touch("r", "blk")
    if is_ptr(a[1]):
        write_place(ctx, (a[1][1], a[1][2]), obj("kmem", b))
    if is_ptr(a[2]):
        write_place(ctx, (a[2][1], a[2][2]), obj("pfn", b))
    ctx.event("bdev_direct_access(B%d)%s" % (b, "" if ctx.w["blk"][b][0] else " (a freed block)"))
    return PS


@prim("memset", visible=False)
def _memset(ctx, a):
    if is_ptr(a[0]) and a[1] == 0:
        from .values import rec
        write_place(ctx, (a[0][1], a[0][2]), rec(True, {}))
    return a[0]


noop("clear_page")


# ---------------------------------------------------------------- iomap DAX (v4.10+) leaves
# The tree's fs/dax.c runs as C down to these: the xarray entry lock, iomap_begin (the block
# map, with holes and allocation), dax_direct_access, and the pfn inserts.

def _entry_lock(ctx):
    # one entry per pgoff; the faulting thread's pgoff (sim_fault's second argument)
    p = ctx.th.frames[0].locals[1] if type(ctx.th.frames[0].locals[1]) is int else 0
    return "dax-entry#%d" % p


@prim("grab_mapping_entry")
def _grab_mapping_entry(ctx, a):
    """Look the DAX entry up and lock it, waiting while another thread holds it."""
    name = _entry_lock(ctx)
    mutex_acquire(ctx, name, "grab_mapping_entry")
    ctx.event("grab_mapping_entry() -> %s locked" % name)
    return obj("entry", name)


@prim("dax_unlock_entry")
def _dax_unlock_entry(ctx, a):
    name = a[1][2] if is_obj(a[1], "entry") else _entry_lock(ctx)
    mutex_release(ctx, name, "dax_unlock_entry")
    ctx.event("dax_unlock_entry() -> %s unlocked" % name)
    return 0


@prim("dax_insert_entry", visible=False)
def _dax_insert_entry(ctx, a):
    return a[3]


@inline("xa_is_internal", "xa_is_err", "pmd_trans_huge", "pmd_devmap", "ext2_inode_is_fast_symlink", "IS_APPEND",
        "IS_IMMUTABLE", "inode_needs_sync", "S_ISLNK", "S_ISDIR")
def _false_61(ctx, a, line):
    return 0


@inline("xa_to_internal", "pfn_to_pfn_t", "PHYS_PFN_inline")
def _identity_61(ctx, a, line):
    return a[0] if a else 0


@inline("PHYS_PFN")
def _phys_pfn(ctx, a, line):
    return a[0] >> PAGE_SHIFT if type(a[0]) is int else a[0]


@inline("my_zero_pfn")
def _my_zero_pfn(ctx, a, line):
    return obj("zero_pfn", 0)


@inline("iomap_length")
def _iomap_length(ctx, a, line):
    return PS


@prim("iomap_iter")
def _iomap_iter(ctx, a):
    """iomap_iter(&iter, ops): the first call maps the one page (->iomap_begin: the model's block
    map, allocating with IOMAP_WRITE); the next one ends the walk, or returns the error the body
    recorded in iter.processed."""
    ip = a[0]
    pl = (ip[1], ip[2])
    it = read_place(ctx, pl)
    iomap = rec_get(it, "iomap")
    length = rec_get(iomap, "length") if is_rec(iomap) else 0
    if type(length) is int and length:
        done = rec_get(it, "processed")
        return done if type(done) is int and done < 0 else 0
    pos, flags = rec_get(it, "pos"), rec_get(it, "flags")
    p = pos >> PAGE_SHIFT if type(pos) is int else 0
    write = type(flags) is int and bool(flags & (ctx.prog.const("IOMAP_WRITE") or 1))
    if may_fail(ctx, "iomap_begin"):
        return -5
    had = ctx.w["fmap"][p] if 0 <= p < ctx.prog.cfg["npg"] else -1
    b = get_block(ctx, p, write, "iomap_begin")
    from .values import rec
    c = ctx.prog.const
    fields = {"offset": p << PAGE_SHIFT, "length": PS, "flags": 0,
              "type": c("IOMAP_MAPPED") if b >= 0 else c("IOMAP_HOLE"),
              "addr": (b << PAGE_SHIFT) if b >= 0 else c("IOMAP_NULL_ADDR")}
    if b >= 0 and had < 0:
        fields["flags"] = c("IOMAP_F_NEW") or 1
    write_place(ctx, (pl[0], pl[1] + ("iomap",)), rec(True, fields))
    write_place(ctx, (pl[0], pl[1] + ("srcmap",)), rec(True, {"type": c("IOMAP_HOLE") or 0}))
    write_place(ctx, (pl[0], pl[1] + ("processed",)), 0)
    return 1


def _block_of(ctx, addr_bytes):
    if type(addr_bytes) is not int or addr_bytes < 0 or (addr_bytes >> PAGE_SHIFT) >= len(ctx.w["blk"]):
        return None
    return addr_bytes >> PAGE_SHIFT


def _direct_access(ctx, b, kaddr_p, pfn_p, what):
    """The kernel address and pfn of block b into *kaddr_p and *pfn_p; None on success, or the
    error (an unknown block, or the failure branch of a failure-paths run)."""
    if b is None:
        ctx.not_modelled.add("%s without a mapped block" % what)
        return -5
    if may_fail(ctx, "direct access"):
        return -5
    ctx.touch("r", "blk")
    for ptr_v, v in ((kaddr_p, obj("kmem", b)), (pfn_p, obj("pfn", b))):
        if is_ptr(ptr_v):
            write_place(ctx, (ptr_v[1], ptr_v[2]), v)
    ctx.event("%s(B%d)%s" % (what, b, "" if ctx.w["blk"][b][0] else " (a freed block)"))
    return None


@prim("dax_iomap_direct_access")
def _dax_iomap_direct_access(ctx, a):
    """(iomap, pos, size, &kaddr, &pfn): the kernel address and pfn of the mapped block."""
    b = _block_of(ctx, rec_get(a[0], "addr") if is_rec(a[0]) else read_place(ctx, (a[0][1], a[0][2] + ("addr",))))
    err = _direct_access(ctx, b, a[3], a[4], "dax_iomap_direct_access")
    return err if err is not None else 0


@prim("dax_direct_access")
def _dax_direct_access(ctx, a):
    """(dax_dev, pgoff, nr, mode, &kaddr, &pfn): pgoff is the block."""
    b = a[1] if type(a[1]) is int and 0 <= a[1] < len(ctx.w["blk"]) else None
    err = _direct_access(ctx, b, a[4], a[5] if len(a) > 5 else 0, "dax_direct_access")
    return err if err is not None else a[2]


noop("dax_read_unlock", "trace_dax_pte_fault", "trace_dax_pte_fault_done", "trace_dax_load_hole",
     "count_memcg_event_mm", "dax_truncate_page", "dax_zero_range", "sync_mapping_buffers",
     "sync_inode_metadata")
noop("dax_read_lock", "XA_STATE", ret=0)


@prim("copy_user_page")
def _copy_user_page(ctx, a):
    return _copy_page(ctx, [a[0], a[1]])


def _vmf_insert(ctx, a, write):
    vma, addr, pfn = a[0], a[1], a[2]
    if is_obj(pfn, "zero_pfn"):
        v = pte("zero", 0, False)
    elif is_obj(pfn, "pfn"):
        v = pte("pfn", pfn[2], write or False)
    else:
        ctx.violate(I3, "%s() with pfn %s at %s" % (ctx.prim_name, "UNINIT" if pfn == UNINIT else pfn, where(ctx)))
    r = _insert(ctx, vma, addr, v, ctx.prim_name)
    if r == 0 and v[1] == "zero":
        set_mem(ctx, 0, ref=mem(ctx, 0)[1] + 1)
    return ctx.prog.const("VM_FAULT_NOPAGE")


@prim("vmf_insert_mixed")
def _vmf_insert_mixed(ctx, a):
    return _vmf_insert(ctx, a, False)


@prim("vmf_insert_mixed_mkwrite")
def _vmf_insert_mixed_mkwrite(ctx, a):
    return _vmf_insert(ctx, a, True)


@prim("__ext2_truncate_blocks")
def _ext2_truncate_blocks(ctx, a):
    first = ((a[1] + PS - 1) >> PAGE_SHIFT) if type(a[1]) is int else 0
    freed = free_blocks(ctx, first)
    ctx.event("__ext2_truncate_blocks(from pgoff %d): %s" % (first, ", ".join(freed) or "none"))
    return 0
