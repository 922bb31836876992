"""Glue for simulate(): build the program and scenario, search for a minimal
counterexample with bounded preemptions, then prove or refute exhaustively."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from . import coverage, explore, interp, scenarios
from .program import Program
from .result import SimResult

if TYPE_CHECKING:
    from .cfront import ReadFile


def _steps(path: list, names: list[str]) -> list[dict]:
    trace = []
    for sched, (tid, events) in enumerate(path):
        for (f, line, fn, action) in events:
            trace.append({"sched": sched, "thread": names[tid], "file": f, "line": line, "function": fn,
                          "action": action})
    return trace


def _unreached(prog: Program, covered: set) -> list[str]:
    entered = {c[0] for c in covered if c[1] == -1}
    out = []
    for name in sorted(entered):
        if not prog.is_tree_func(name):
            continue
        fn = prog.func(name)
        for pc, line in fn.branches():
            for side, label in ((True, "then"), (False, "else")):
                if (name, pc, side) not in covered:
                    out.append("%s:%d:%s" % (fn.path, line, label))
    return sorted(set(out), key=lambda s: (s.split(":")[0], int(s.split(":")[1]), s))


def prepare(read_file: ReadFile, scenario: str | None = None) -> tuple[Program, str, list[tuple]]:
    prog = Program(read_file, {})
    if not prog.is_tree_func("do_fault"):
        raise interp.Incomplete("mm/memory.c: no do_fault() in the tree, nothing to simulate")
    name = scenario or scenarios.pick(prog)
    cfg, specs = scenarios.build(name, prog)
    prog.cfg = cfg
    return prog, name, specs


def simulate(read_file: ReadFile, scenario: str | None = None, bounds: dict | None = None,
             changed: dict | None = None, judge_coverage: bool = True, program: Program | None = None) -> SimResult:
    """One scenario on a tree.  changed ({path: set of lines of the tree read}) are the lines a
    patch added or changed: the run reports which of them on the fault path ran, and with
    judge_coverage a run that left one unreached is "incomplete", never "holds"."""
    t0 = time.monotonic()
    res = _simulate(read_file, scenario, bounds, changed, judge_coverage, program)
    res.seconds = time.monotonic() - t0
    return res


def _simulate(read_file: ReadFile, scenario: str | None, bounds: dict | None, changed: dict | None,
              judge_coverage: bool, program: Program | None) -> SimResult:
    from . import DEFAULT_BOUNDS
    b = dict(DEFAULT_BOUNDS)
    b.update(bounds or {})
    name = scenario
    try:
        if program is not None:
            prog = program
            name = scenario or scenarios.pick(prog)
            cfg, specs = scenarios.build(name, prog)
            prog.cfg = cfg
        else:
            prog, name, specs = prepare(read_file, scenario)
    except KeyError:
        return SimResult("incomplete", reason="unknown scenario %s (known: %s)" % (
            scenario, ", ".join(scenarios.scenario_names())), scenario=scenario)
    except interp.Incomplete as e:
        return SimResult("incomplete", reason=str(e), scenario=name)
    names = [s[0] for s in specs]
    engine = explore.Engine(prog, names)
    bdict = {"threads": len(specs), "preemptions": b["preemptions"], "max_states": b["max_states"],
             "max_seconds": b["max_seconds"], "max_depth": b["max_depth"], "loop_bound": interp.BACK_EDGE_BOUND,
             "pgoffs": prog.cfg["npg"], "reduction": "sleep sets + ample sets" if b["por"] else "none"}
    info = prog.cfg["handler_info"]
    res = SimResult("incomplete", scenario=name, threads=names, bounds=bdict,
                    handler={k: info[k] for k in ("function", "file", "line")}, handler_source=info["source"])
    res.vm_ops = info.get("vm_ops")
    roots = [s[1] for s in specs] + [h for h in prog.cfg["handler"].values() if h]
    try:
        s0 = engine.initial(specs)
    except (interp.Incomplete, interp.Violation) as e:
        res.reason = getattr(e, "msg", None) or str(e)
        return _finish(res, engine, prog, roots, changed, judge_coverage)
    bounds_obj = explore.Bounds(b["max_states"], b["max_seconds"], b["max_depth"], b["preemptions"], b["por"])
    kind, detail, path, stats = "holds", None, None, {"states": 0, "transitions": 0}
    if b["preemptions"] is not None:
        kind, detail, path, stats = explore.bounded(engine, s0, bounds_obj, b["preemptions"])
    if kind == "holds" and b.get("exhaustive", True):
        kind, detail, path, stats = explore.dfs(engine, s0, bounds_obj)
        bdict["preemptions"] = None
    res.states, res.transitions = stats["states"], stats["transitions"]
    res.trace = _steps(path or [], names)
    if kind == "violated":
        res.verdict, res.invariant, res.message = "violated", detail[0], detail[1]
    elif kind == "incomplete":
        res.verdict, res.reason = "incomplete", detail
    else:
        res.verdict = "holds"
    return _finish(res, engine, prog, roots, changed, judge_coverage)


def _finish(res: SimResult, engine: explore.Engine, prog: Program, roots: list, changed: dict | None,
            judge_coverage: bool) -> SimResult:
    if changed is not None:
        res.coverage = coverage.measure(prog, roots, changed, engine.lines)
        if judge_coverage and res.verdict == "holds" and res.coverage["not_reached"]:
            res.verdict = "incomplete"
            res.reason = "changed code not reached: " + coverage.describe_missing(res.coverage["not_reached"])
    res.not_modelled = sorted(engine.not_modelled)
    res.unreached = _unreached(prog, engine.covered)
    res.functions = sorted({c[0] for c in engine.covered if c[1] == -1 and prog.is_tree_func(c[0])})
    return res
