"""Explorer: stateful DFS with state hashing and sleep sets (default), and a
preemption-bounded 0-1 BFS that yields minimal-preemption counterexamples."""
from __future__ import annotations

import gc
import sys
import time
from collections import deque
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator, NamedTuple

from . import invariants, world
from .interp import Ctx, Frame, Incomplete, NeedChoice, Thread, ThreadState, Violation, run
from .values import UNINIT

if TYPE_CHECKING:
    from .program import Program
from .invariants import I7
from .prims import Blocked


MAX_OUTCOMES = 64


class State(NamedTuple):
    """A state of the search: the frozen world and each thread's frozen state."""
    world: world.WorldState
    threads: tuple[ThreadState, ...]


class Outcome:
    __slots__ = ("state", "events", "access", "violation", "incomplete")

    def __init__(self, state: State | None, events: list, access: frozenset, violation: tuple | None = None,
                 incomplete: str | None = None) -> None:
        self.state, self.events, self.access = state, events, access
        self.violation, self.incomplete = violation, incomplete


class Stop(Exception):
    def __init__(self, kind: str, detail: Any, path: list | None) -> None:
        self.kind, self.detail, self.path = kind, detail, path


class Engine:
    def __init__(self, prog: Program, names: list[str]) -> None:
        self.prog, self.names = prog, names
        self.cfg = prog.cfg
        self.covered = set()
        self.lines = set()
        self.not_modelled = set()
        self.steps = 0

    def initial(self, thread_specs: list[tuple]) -> State:
        w = world.initial(self.cfg)
        threads = []
        for tid, (name, fname, args) in enumerate(thread_specs):
            fn = self.prog.func(fname)
            th = Thread()
            locals_ = [UNINIT] * fn.nslots
            locals_[:len(args)] = args
            th.name, th.frames, th.held, th.done, th.phase, th.ret = name, [Frame(fn, 0, locals_, None, 0, None)], [], False, 0, 0
            ctx = Ctx(self.prog, w, th, tid, ())
            run(ctx, first_visible_done=True)
            self._absorb(ctx)
            threads.append(th.freeze())
        return State(world.freeze(w), tuple(threads))

    def step(self, state: State, tid: int) -> list[Outcome]:
        """All outcomes of one step of thread tid, or [] if it is finished or blocked."""
        wf, ths = state
        if ths[tid].done:
            return []
        out = []
        pending = [()]
        while pending:
            ch = pending.pop()
            w = world.thaw(wf)
            th = Thread.thaw(self.prog, ths[tid])
            ctx = Ctx(self.prog, w, th, tid, ch)
            self.steps += 1
            try:
                run(ctx)
            except NeedChoice as nc:
                if len(out) + len(pending) > MAX_OUTCOMES:
                    fr = ctx.th.frames[-1]
                    return [Outcome(None, ctx.events, frozenset(ctx.access), incomplete=(
                        "more than %d nondeterministic outcomes in one step of %s at %s:%d (%s)" % (
                            MAX_OUTCOMES, fr.fn.name, fr.fn.path, ctx.cur_line, nc.label)))]
                pending.extend(ch + (i,) for i in reversed(range(nc.n)))
                continue
            except Blocked:
                return []
            except Violation as v:
                self._absorb(ctx)
                if v.inv == "incomplete":
                    out.append(Outcome(None, ctx.events, frozenset(ctx.access), incomplete=v.msg))
                else:
                    if ctx.th.frames:
                        loc = (ctx.th.frames[-1].fn.path, ctx.cur_line, ctx.th.frames[-1].fn.name)
                    else:
                        loc = ctx.events[-1][:3] if ctx.events else ("", 0, "")
                    ctx.events.append(loc + ("VIOLATION: " + v.msg,))
                    out.append(Outcome(None, ctx.events, frozenset(ctx.access), violation=(v.inv, v.msg)))
                continue
            except Incomplete as e:
                self._absorb(ctx)
                out.append(Outcome(None, ctx.events, frozenset(ctx.access), incomplete=str(e)))
                continue
            except (TypeError, ValueError, IndexError, KeyError, AttributeError) as e:
                # a value the model cannot interpret (e.g. an unknown reached a primitive)
                self._absorb(ctx)
                fr = ctx.th.frames[-1] if ctx.th.frames else None
                out.append(Outcome(None, ctx.events, frozenset(ctx.access), incomplete="cannot model %s at %s:%d (%s)" % (
                    fr.fn.name if fr else "?", fr.fn.path if fr else "?", ctx.cur_line, e)))
                continue
            self._absorb(ctx)
            nths = list(ths)
            nths[tid] = th.freeze()
            ns = tuple.__new__(State, (world.freeze(w), tuple(nths)))
            bad = invariants.check_always(self.cfg, w)
            if bad is None and all(t.done for t in nths):
                bad = invariants.check_final(self.cfg, w)
            if bad is not None:
                ctx.events.append(("", 0, "", "VIOLATION: " + bad[1]))
                out.append(Outcome(None, ctx.events, frozenset(ctx.access), violation=bad))
                continue
            out.append(Outcome(ns, ctx.events, frozenset(ctx.access)))
        return out

    def _absorb(self, ctx: Ctx) -> None:
        self.covered |= ctx.covered
        self.lines |= ctx.lines
        self.not_modelled |= ctx.not_modelled

    def deadlocked(self, state: State) -> bool:
        return not all(t.done for t in state.threads)

    def blocked_desc(self, state: State) -> str:
        parts = []
        for t in state.threads:
            if not t.done:
                fr = t.frames[-1]
                fn = self.prog.func(fr.fn)
                ins = fn.code[fr.pc]
                parts.append("%s waits in %s() at %s:%d (%s)" % (t.name, fr.fn, fn.path, ins[1], ins[5]))
        held = ["%s holds %s(%s)" % (t.name, n, m) for t in state.threads for n, m in t.held]
        return "; ".join(parts) + ((" while " + ", ".join(held)) if held else "")


def private(state: State, acc: frozenset) -> bool:
    mem, ptes = state.world.mem, state.world.ptes
    for _mode, x in acc:
        if x == "trunc":
            continue
        if type(x) is tuple and x[0] == "mem" and x[1] < len(mem) and mem[x[1]].kind == "anon" \
                and not any(v.kind == "anon" and v.target == x[1] for v in ptes):
            continue
        return False
    return True


def _indep(a: frozenset, b: frozenset) -> bool:
    for mode, x in a:
        for mode2, y in b:
            if x == y and (mode == "w" or mode2 == "w"):
                return False
    return True


@contextmanager
def _no_collection() -> Iterator[None]:
    """The cyclic garbage collector paused for one search, and restored after it.  A search
    builds a large graph of immutable states that hold no cycles; the NamedTuples in them
    stay tracked by the collector (only exact tuples are untracked), so its passes during a
    search cost about 10% of the time and free nothing."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class Bounds:
    def __init__(self, max_states: int = 200000, max_seconds: float = 60.0, max_depth: int = 400,
                 preemptions: int | None = None, por: bool = True) -> None:
        self.max_states, self.max_seconds, self.max_depth = max_states, max_seconds, max_depth
        self.preemptions, self.por = preemptions, por


def dfs(engine: Engine, s0: State, bounds: Bounds) -> tuple:
    """Exhaustive stateful DFS with sleep sets. Returns (kind, detail, path, stats)."""
    visited = {}
    stats = {"states": 0, "transitions": 0}
    t0 = time.monotonic()
    path = []
    n = len(s0.threads)

    def visit(s: State, sleep: frozenset, depth: int) -> None:
        old = visited.get(s)
        if old is not None:
            if old <= sleep:
                return
            sleep = sleep & old
        visited[s] = sleep
        if old is None:
            stats["states"] += 1
        if stats["states"] > bounds.max_states:
            raise Stop("incomplete", "state bound %d reached" % bounds.max_states, None)
        if time.monotonic() - t0 > bounds.max_seconds:
            raise Stop("incomplete", "time bound %gs reached" % bounds.max_seconds, None)
        if depth > bounds.max_depth:
            raise Stop("incomplete", "step bound %d reached" % bounds.max_depth, None)
        succ = [(t, engine.step(s, t)) for t in range(n)]
        enabled = [(t, outs) for t, outs in succ if outs]
        if not enabled:
            if engine.deadlocked(s):
                raise Stop("violated", (I7, "deadlock: " + engine.blocked_desc(s)), list(path))
            return
        acc = {t: frozenset().union(*(o.access for o in outs)) for t, outs in enabled}
        if bounds.por:
            # ample set: a step that touches only objects no other thread can reach commutes
            # with everything the others may do, so exploring it alone is enough (the state
            # graph is acyclic, so no cycle proviso is needed)
            for t, outs in enabled:
                if len(outs) == 1 and outs[0].state is not None and private(s, acc[t]):
                    enabled = [(t, outs)]
                    break
        sleep_t = {t for t, _ in sleep}
        done = []
        for t, outs in enabled:
            if bounds.por and t in sleep_t:
                continue
            for o in outs:
                stats["transitions"] += 1
                path.append((t, o.events))
                if o.violation is not None:
                    raise Stop("violated", o.violation, list(path))
                if o.incomplete is not None:
                    raise Stop("incomplete", o.incomplete, list(path))
                if bounds.por:
                    nsleep = frozenset((u, a) for u, a in (set(sleep) | set(done)) if u != t and _indep(a, acc[t]))
                else:
                    nsleep = frozenset()
                visit(o.state, nsleep, depth + 1)
                path.pop()
            done.append((t, acc[t]))

    # one frame a step: the depth bound, not the interpreter's default, limits the recursion;
    # the limit is the caller's again once the search is over
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 4 * bounds.max_depth + 1000))
    try:
        with _no_collection():
            visit(s0, frozenset(), 0)
    except Stop as st:
        return st.kind, st.detail, st.path, stats
    finally:
        sys.setrecursionlimit(limit)
    return "holds", None, None, stats


def bounded(engine: Engine, s0: State, bounds: Bounds, k: int) -> tuple:
    """0-1 BFS over (state, last thread) by preemption count <= k; the first violation
    popped has the fewest preemptions. Returns (kind, detail, path, stats)."""
    with _no_collection():
        return _bounded(engine, s0, bounds, k)


def _bounded(engine: Engine, s0: State, bounds: Bounds, k: int) -> tuple:
    n = len(s0.threads)
    start = (s0, -1)
    dist = {start: 0}
    parent = {start: None}
    dq = deque([start])
    stats = {"states": 0, "transitions": 0}
    seen_states = set()
    t0 = time.monotonic()

    def rebuild(key: tuple, last: tuple | None) -> list:
        path = [last] if last else []
        while parent[key] is not None:
            pk, t, ev = parent[key]
            path.append((t, ev))
            key = pk
        path.reverse()
        return path

    while dq:
        key = dq.popleft()
        s, last = key
        d = dist[key]
        if s not in seen_states:
            seen_states.add(s)
            stats["states"] += 1
        if stats["states"] > bounds.max_states or time.monotonic() - t0 > bounds.max_seconds:
            return "incomplete", "bound reached in preemption-bounded search", None, stats
        succ = [(t, engine.step(s, t)) for t in range(n)]
        enabled = {t for t, outs in succ if outs}
        if not enabled:
            if engine.deadlocked(s):
                return "violated", (I7, "deadlock: " + engine.blocked_desc(s)), rebuild(key, None), stats
            continue
        for t, outs in succ:
            if not outs:
                continue
            cost = 1 if (last != -1 and t != last and last in enabled) else 0
            nd = d + cost
            if nd > k:
                continue
            for o in outs:
                stats["transitions"] += 1
                if o.violation is not None:
                    return "violated", o.violation, rebuild(key, (t, o.events)), stats
                if o.incomplete is not None:
                    return "incomplete", o.incomplete, rebuild(key, (t, o.events)), stats
                nk = (o.state, t)
                if nk not in dist or dist[nk] > nd:
                    dist[nk] = nd
                    parent[nk] = (key, t, o.events)
                    if cost:
                        dq.append(nk)
                    else:
                        dq.appendleft(nk)
    return "holds", None, None, stats
