"""Every registered primitive keeps the contract of reviewbot/sim/README.md: what it changes
or reads of the shared world it touches (ctx.touch), so that partial-order reduction stays
sound; an invisible primitive or an inline helper leaves the world alone.  Checked on every
call the simulator makes in real scenario runs, and on calls with varied arguments from
states those runs reach."""
from __future__ import annotations

import random

import pytest

from reviewbot.sim import explore, prims, world
from reviewbot.sim.interp import Ctx, Incomplete, NeedChoice, Thread, Violation
from reviewbot.sim.run import prepare
from reviewbot.sim.values import UNINIT, UNKNOWN, Loc, obj, ptr, rec
from sim_fixtures import apply_thread, reader

# Departures from the contract the simulator has today, each with its reason.  A new one
# fails the test, and so does one that no longer happens (take it off the list).  Touching
# more would change the explorer's reduction, hence its state counts and traces: a fix
# re-baselines them (bench/sim_seed.py, bench/sim_review.py) in its own change.
_WAITS = "waits while another thread holds the lock, and does not touch it when it goes on"
KNOWN = {
    # a new page-cache page is reachable only through the page cache, which is touched
    ("page_cache_read", "w", ("mem", "new")): "allocates a page",
    ("find_or_create_page", "w", ("mem", "new")): "allocates a page",
    ("grab_cache_page", "w", ("mem", "new")): "allocates a page",
    ("__xip_unmap", "r", ("lock", "i_mmap")): _WAITS,
    ("sim_drop_cached", "r", ("lock", "page")): _WAITS,
    ("sim_hole_page", "r", ("lock", "page")): _WAITS,
    ("truncate_inode_pages", "r", ("lock", "dax-entry")): _WAITS,
    ("truncate_inode_pages", "r", ("lock", "page")): _WAITS,
    ("truncate_inode_pages_range", "r", ("lock", "dax-entry")): _WAITS,
    ("truncate_inode_pages_range", "r", ("lock", "page")): _WAITS,
    ("unmap_mapping_range_tree", "r", ("lock", "ptl")): _WAITS,
    ("zap_page_range_single", "r", ("lock", "ptl")): _WAITS,
    ("vm_insert_mixed", "r", ("lock", "ptl")): _WAITS,
    ("vm_insert_page", "r", ("lock", "ptl")): _WAITS,
    ("vm_insert_pfn", "r", ("lock", "ptl")): _WAITS,
    ("vmf_insert_mixed", "r", ("lock", "ptl")): _WAITS,
    ("vmf_insert_mixed_mkwrite", "r", ("lock", "ptl")): _WAITS,
    ("PageLocked", "r", ("lock", "page")): "an inline test of a page lock, inside the caller's step",
    ("dax_direct_access", "r", "blk"): "bounds-checks the block number against the number of blocks",
    ("dax_iomap_direct_access", "r", "blk"): "bounds-checks the block number against the number of blocks",
    ("truncate_inode_page", "r", "pcache"): "touches the page cache only when the page is still in it",
    ("delete_from_page_cache", "r", "pcache"): "touches the page cache only when the page is still in it",
}

SCENARIOS = ("cow-read-truncate", "cow-cow-truncate", "dax-cow-read-truncate", "dax-read-cow-hole",
             "dax-cow-failures", "dax-punch-cow", "mkwrite-hole", "pagecache-cow-read-truncate",
             "model-pagecache-cow-read-truncate", "xip-cow-failures", "contract-cow", "shared-truncate",
             "xip-pre-cow-read-truncate")


def _lock_label(name: str) -> tuple:
    return ("lock", name.split("#")[0])       # page#3 -> page


class _Reads(dict):
    """The step's world, recording which components a primitive reads."""

    def __init__(self, w: dict, log: list) -> None:
        super().__init__(w)
        self.log = log

    def __getitem__(self, key: str):
        self.log.append(key)
        return super().__getitem__(key)


class Checker:
    def __init__(self) -> None:
        self.problems: set = set()
        self.checked: set = set()       # primitives seen returning normally
        self.lock_reads: list = []
        self.known_seen: set = set()

    def call(self, name: str, fn, ctx: Ctx, args: list, visible: bool, inline_line: int | None = None):
        orig = ctx.w
        before, held = dict(orig), list(ctx.th.held)
        step_access, touched = ctx.access, set()
        reads: list = []
        self.lock_reads = []
        ctx.w, ctx.access = _Reads(orig, reads), touched     # this call's own reads and touches
        try:
            v = fn(ctx, args) if inline_line is None else fn(ctx, args, inline_line)
        finally:
            orig.update(ctx.w)
            ctx.w = orig
            step_access |= touched
            ctx.access = step_access
        self.checked.add(name)
        self.judge(name, before, orig, held, ctx.th.held, touched, reads, list(self.lock_reads),
                   visible and inline_line is None)
        return v

    def judge(self, name, before, after, held0, held1, touched, reads, lock_reads, visible):
        keys = {x for _m, x in touched}
        need: list = []          # (mode, key) this call must have touched
        for k in world.KEYS:
            b, a = before[k], after[k]
            if b == a:
                continue
            if k == "mem":
                for i in range(len(a)):
                    if i >= len(b):
                        need.append(("w", ("mem", "new"), ("mem", i)))
                    elif a[i] != b[i]:
                        need.append(("w", ("mem", "i"), ("mem", i)))
            elif k == "locks":
                db, da = dict(b), dict(a)
                for n in set(db) | set(da):
                    if db.get(n) != da.get(n):
                        need.append(("w", _lock_label(n), ("lock", n)))
            elif k == "gen":
                need.append(("w", "blk", "blk"))      # the generation counts blocks written
            else:
                need.append(("w", k, k))
        for h in set(held0) ^ set(held1):
            need.append(("w", _lock_label(h[0]), ("lock", h[0])))
        for k in set(reads) & {"isize", "fmap", "blk", "pcache", "ptes", "trunc"}:
            need.append(("r", k, k))
        for n in set(lock_reads):
            need.append(("r", _lock_label(n), ("lock", n)))
        for mode, label, key in need:
            ok = ("w", key) in touched if mode == "w" else key in keys
            if not ok and (name, mode, label) in KNOWN:
                self.known_seen.add((name, mode, label))
            elif not ok:
                self.problems.add("%s %s %s without ctx.touch()" % (
                    name, "changes" if mode == "w" else "reads", label))
        if not visible and (touched or any(before[k] != after[k] for k in world.KEYS)):
            self.problems.add("%s is invisible (no scheduling point before it) but touches %s" % (
                name, sorted(map(str, keys)) or "the world"))


@pytest.fixture(scope="module")
def cow_tree(tmp_path_factory):
    return apply_thread(tmp_path_factory.mktemp("cow"), "cow")


@pytest.fixture()
def checker(monkeypatch):
    ch = Checker()
    real = world.lock_state

    def lock_state(w, name):
        ch.lock_reads.append(name)
        return real(w, name)
    monkeypatch.setattr(world, "lock_state", lock_state)
    for name, p in list(prims.PRIMS.items()):
        def fn(ctx, a, _p=p):
            return ch.call(_p.name, _p.fn, ctx, a, _p.visible)
        monkeypatch.setitem(prims.PRIMS, name, prims.Prim(p.name, fn, p.visible, p.prefer_tree))
    for name, f in list(prims.INLINE.items()):
        def ifn(ctx, a, line, _n=name, _f=f):
            return ch.call(_n, _f, ctx, a, False, line)
        monkeypatch.setitem(prims.INLINE, name, ifn)
    return ch


def _explore(read_file, name, checker, keep):
    """Run a scenario exhaustively with every primitive call checked; keep some states."""
    prog, name, specs = prepare(read_file, name)
    engine = explore.Engine(prog, [s[0] for s in specs])
    s0 = engine.initial(specs)
    kind, detail, _path, stats = explore.dfs(engine, s0, explore.Bounds(max_states=20000, max_seconds=120))
    # states to call primitives on: a breadth-first walk from the initial state
    todo, seen = [s0], {s0}
    while todo and len(seen) < 40:
        s = todo.pop(0)
        for t in range(len(s.threads)):
            for o in engine.step(s, t):
                if o.state is not None and o.state not in seen:
                    seen.add(o.state)
                    todo.append(o.state)
    keep.extend((prog, s) for s in sorted(seen, key=repr)[:12])
    return kind, stats


def _args(rng: random.Random, state, vmas: int) -> list:
    pages = [obj("page", i) for i in range(len(state.world.mem))]
    pool = pages + [obj("lock", n) for n in ("i_mmap", "ptl", "invalidate_lock", "i_mutex")] + [
        obj("vma", i) for i in range(vmas)] + [obj("pfn", 0), obj("kmem", 0), obj("kmem_page", 0),
                                                obj("pteptr", Loc(0, 0)), obj("entry", "dax-entry#0"),
                                                obj("zero_pfn", 0), obj("inode", None), obj("fn", "sim_fault"),
                                                ptr(("slot", 0, 0), ()), rec(True, {}),
                                                0, 1, 4096, 0, 1, 0, UNINIT, UNKNOWN]
    return [rng.choice(pool) for _ in range(rng.choice((2, 4, 6)))]


def test_every_primitive_touches_what_it_changes_or_reads(cow_tree, checker, kernel_tree):
    keep: list = []
    for name in SCENARIOS:
        kind, stats = _explore(reader(cow_tree), name, checker, keep)
        assert stats["states"] > 0, name
    for name in ("dax-cow-read-truncate", "dax-read-cow-hole", "mkwrite-hole"):
        _explore(reader(kernel_tree), name, checker, keep)
    # then each primitive on states of those runs, with arguments drawn from a fixed pool
    rng = random.Random(11)
    table = dict(prims.PRIMS)
    inline = dict(prims.INLINE)
    for prog, s in keep:
        for tid in range(len(s.threads)):
            if s.threads[tid].done:
                continue
            for name in sorted(table) + sorted(inline):
                for _ in range(6):
                    th = Thread.thaw(prog, s.threads[tid])
                    ctx = Ctx(prog, world.thaw(s.world), th, tid, (rng.randrange(2),) * 4)
                    ctx.cur_line, ctx.prim_name, ctx.inline_name = 1, name, name
                    if rng.randrange(2) and world.lock_state(ctx.w, "ptl") is None:
                        world.set_lock(ctx.w, "ptl", tid)      # inside a PTE-locked section
                        th.held.append(("ptl", "X"))
                    a = _args(rng, s, len(prog.cfg["vmas"]))
                    try:
                        if name in table:
                            table[name].fn(ctx, a)
                        else:
                            inline[name](ctx, a, 1)
                    except (prims.Blocked, Violation, NeedChoice, Incomplete, TypeError, ValueError, IndexError,
                            KeyError, AttributeError):
                        pass      # the step would be dropped, end in a verdict, or be "incomplete"
    assert not checker.problems, "\n".join(sorted(checker.problems))
    stale = set(KNOWN) - checker.known_seen
    assert not stale, "departures listed in KNOWN that no longer happen: %s" % sorted(stale)
    missing = (set(table) | set(inline)) - checker.checked
    assert not missing, "primitives never run to completion by this test: %s" % ", ".join(sorted(missing))
