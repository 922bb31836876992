"""Locks: page locks, mutexes and spinlocks (exclusive), rw-semaphores (writer-preferring,
with queueing), i_mmap_rwsem; the I2 and I9 checks on release and re-acquisition."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import world as W
from ..world import RW_FREE, RwState
from ..invariants import I2, I9
from ..values import Value, obj
from .registry import Blocked, STAY, primitive
from .common import lock_id, may_fail, page_arg, where

if TYPE_CHECKING:
    from ..interp import Ctx, Thread
    from .registry import PrimFn


def held_modes(th: Thread, name: str) -> list[str]:
    return [m for n, m in th.held if n == name]


def _take(ctx: Ctx, name: str, mode: str) -> None:
    ctx.th.held.append((name, mode))
    ctx.touch("w", ("lock", name))


def _drop(ctx: Ctx, name: str, mode: str, fname: str) -> None:
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


def mutex_acquire(ctx: Ctx, name: str, fname: str) -> None:
    st = W.lock_state(ctx.w, name)
    if st is not None:
        if st == ctx.tid:
            ctx.violate(I9, "%s(): %s already held by this thread, at %s" % (fname, name, where(ctx)))
        raise Blocked()
    W.set_lock(ctx.w, name, ctx.tid)
    _take(ctx, name, "X")


def mutex_release(ctx: Ctx, name: str, fname: str) -> None:
    _drop(ctx, name, "X", fname)
    W.set_lock(ctx.w, name, None)


def rw_acquire(ctx: Ctx, name: str, mode: str, fname: str) -> Value:
    st = W.lock_state(ctx.w, name) or RW_FREE
    writer, readers, wq = st
    mine = held_modes(ctx.th, name)
    if mode == "R":
        if "W" in mine or (mine and wq):
            ctx.violate(I9, "%s(): %s taken for read again while %s, at %s" % (
                fname, name, "held for write" if "W" in mine else "a writer is queued", where(ctx)))
        if writer != -1 or wq:
            raise Blocked()
        W.set_lock(ctx.w, name, RwState(writer, tuple(sorted(readers + (ctx.tid,))), wq))
        _take(ctx, name, "R")
        return 0
    if mine:
        ctx.violate(I9, "%s(): %s taken for write while this thread holds it, at %s" % (fname, name, where(ctx)))
    if ctx.th.phase == 0:
        if writer == -1 and not readers and not wq:
            W.set_lock(ctx.w, name, RwState(ctx.tid, readers, wq))
            _take(ctx, name, "W")
            return 0
        # writer-preferring: queue first, so that new readers wait behind us
        W.set_lock(ctx.w, name, RwState(writer, readers, wq + (ctx.tid,)))
        ctx.touch("w", ("lock", name))
        ctx.th.phase = 1
        ctx.event("%s: queued as writer on %s" % (fname, name))
        return STAY
    if writer != -1 or readers or wq[0] != ctx.tid:
        raise Blocked()
    W.set_lock(ctx.w, name, RwState(ctx.tid, readers, wq[1:]))
    ctx.th.phase = 0
    _take(ctx, name, "W")
    return 0


def rw_release(ctx: Ctx, name: str, mode: str, fname: str) -> None:
    _drop(ctx, name, mode, fname)
    writer, readers, wq = W.lock_state(ctx.w, name) or RW_FREE
    if mode == "W":
        writer = -1
    else:
        r = list(readers)
        r.remove(ctx.tid)
        readers = tuple(r)
    st = RwState(writer, readers, wq)
    W.set_lock(ctx.w, name, None if st == RW_FREE else st)


@primitive("lock_page")
def _lock_page(ctx: Ctx, a: list[Value]) -> Value:
    pid = page_arg(ctx, a[0], "lock_page")
    if pid is not None:
        mutex_acquire(ctx, "page#%d" % pid, "lock_page")
    ctx.event("lock_page(page#%s)" % pid)
    return 0


@primitive("trylock_page")
def _trylock_page(ctx: Ctx, a: list[Value]) -> Value:
    pid = page_arg(ctx, a[0], "trylock_page")
    if W.lock_state(ctx.w, "page#%d" % pid) is not None:
        ctx.touch("r", ("lock", "page#%d" % pid))
        return 0
    mutex_acquire(ctx, "page#%d" % pid, "trylock_page")
    return 1


@primitive("lock_page_or_retry")
def _lock_page_or_retry(ctx: Ctx, a: list[Value]) -> Value:
    pid = page_arg(ctx, a[0], "lock_page_or_retry")
    if W.lock_state(ctx.w, "page#%d" % pid) is not None or may_fail(ctx, "gives up the wait"):
        ctx.touch("r", ("lock", "page#%d" % pid))
        ctx.event("lock_page_or_retry(page#%d): contended, RETRY" % pid)
        return 0
    mutex_acquire(ctx, "page#%d" % pid, "lock_page_or_retry")
    ctx.event("lock_page_or_retry(page#%d): locked" % pid)
    return 1


@primitive("unlock_page")
def _unlock_page(ctx: Ctx, a: list[Value]) -> Value:
    pid = page_arg(ctx, a[0], "unlock_page")
    if pid is not None:
        mutex_release(ctx, "page#%d" % pid, "unlock_page")
    ctx.event("unlock_page(page#%s)" % pid)
    return 0


def _rw(mode: str, acquire: bool) -> PrimFn:
    def fn(ctx: Ctx, a: list[Value]) -> Value:
        fname = ctx.prim_name
        name = lock_id(ctx, a[0], fname)
        if name is None:
            return 0
        r = rw_acquire(ctx, name, mode, fname) if acquire else rw_release(ctx, name, mode, fname)
        if r is not STAY:
            ctx.event("%s(%s) -> %s %s" % (fname, name, "acquired" if acquire else "released", mode))
        return r
    return fn


for _n, _m, _acq in (("down_read", "R", True), ("up_read", "R", False),
                     ("down_write", "W", True), ("up_write", "W", False)):
    primitive(_n)(_rw(_m, _acq))


def _immap(mode: str, acquire: bool) -> PrimFn:
    inner = _rw(mode, acquire)

    def fn(ctx: Ctx, a: list[Value]) -> Value:
        return inner(ctx, [obj("lock", "i_mmap")])
    return fn


for _n, _m, _acq in (("i_mmap_lock_read", "R", True), ("i_mmap_unlock_read", "R", False),
                     ("i_mmap_lock_write", "W", True), ("i_mmap_unlock_write", "W", False)):
    primitive(_n, prefer_tree=True)(_immap(_m, _acq))


def _exclusive(cname: str, acquire: bool) -> PrimFn:
    """A plain exclusive lock call (mutex, spinlock) on the lock its first argument names."""
    def run(ctx: Ctx, a: list[Value]) -> Value:
        name = lock_id(ctx, a[0], cname)
        if name is not None:
            (mutex_acquire if acquire else mutex_release)(ctx, name, cname)
        ctx.event("%s(%s)" % (cname, name))
        return 0
    return run


for _cname, _acquire in (("mutex_lock", True), ("mutex_unlock", False),
                         ("spin_lock", True), ("spin_unlock", False)):
    primitive(_cname)(_exclusive(_cname, _acquire))
