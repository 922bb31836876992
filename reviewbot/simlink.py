"""The simulator in a review: run every scenario that reaches a function the series changes
(whatever the rules found), measure which changed fault-path lines ran, and hand each violation
to the fault-sim rule; other findings on the fault path refer to that violation."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from reviewbot.findings import Finding, Skipped

FAULT_PATH_STRUCTS = {"vm_fault"}
# All of a review's simulations share one budget of states (not seconds, so that the verdict
# does not depend on the machine's load); past it a run is "incomplete".  A run is exhaustive
# (sleep sets); a violation is then re-found with the fewest preemptions for a short trace.
REVIEW_STATES = 60000
RUN_STATES = 25000
SAFETY_SECONDS = 60.0
SHARED_KEY = "fault-sim"
FIX_RULE = "fault-sim"


def wants_simulation(f: Finding) -> bool:
    """Findings about the fault path that quote the simulator's verdict."""
    if f.rule == "field-init":
        return f.details.get("struct") in FAULT_PATH_STRUCTS and f.severity != "info"
    return f.rule == "fault-contract" and f.key.endswith(":change")


@dataclass
class Violation:
    scenario: str
    invariant: str
    message: str
    file: str
    line: int
    function: str
    functions: list            # tree functions on the violating trace
    result: dict               # the run, trace included
    also: list = field(default_factory=list)   # other scenarios that hit the same violation

    @property
    def key(self) -> str:
        return f"{self.invariant.split()[0]}:{self.function}"


@dataclass
class SeriesSimulation:
    verdict: str = "not simulated"     # holds | violated | incomplete | not simulated
    reason: str = ""
    runs: list = field(default_factory=list)       # per-run summaries (no traces)
    violations: list = field(default_factory=list)
    coverage: dict | None = None
    states: int = 0
    seconds: float = 0.0
    functions: set = field(default_factory=set)    # tree functions some run entered
    results: dict = field(default_factory=dict)    # scenario -> full result dict

    def summary(self) -> dict:
        d = {"verdict": self.verdict, "states": self.states,
             "scenarios": [r["scenario"] for r in self.runs], "runs": self.runs}
        if self.reason:
            d["reason"] = self.reason
        if self.coverage is not None:
            d["coverage"] = self.coverage
        return d


def changed_lines(base, patched, paths) -> dict:
    from reviewbot.sim.coverage import changed_between
    out: dict = {}
    for p in paths:
        if p.endswith((".c", ".h")):
            changed_between(p, base.read(p) if base else None, patched.read(p), out)
    return out


def _site(trace: list, is_tree: Callable[[str], bool]):
    """Where a violation happens: its own step when that is tree code, else the last step of
    tree code the violating thread ran (a lock left held shows up at the thread's exit)."""
    bad = next((s for s in reversed(trace) if s["action"].startswith("VIOLATION")), None)
    if bad is None:
        return None
    if bad["file"] and is_tree(bad["file"]):
        return bad
    mine = [s for s in trace if s["thread"] == bad["thread"] and s["file"] and is_tree(s["file"])]
    anyone = [s for s in trace if s["file"] and is_tree(s["file"])]
    return (mine or anyone or [None])[-1]


def run_series(read, changed: dict | None, budget: int = REVIEW_STATES,
               only: Callable[[str, set], bool] | None = None) -> SeriesSimulation:
    """Every review scenario of the tree that reaches a changed statement (or, with `only`,
    that `only(name, reachable)` accepts), within one time budget."""
    from reviewbot.sim import coverage, scenarios, simulate
    from reviewbot.sim.program import Program
    out = SeriesSimulation()
    t0 = time.monotonic()
    prog = Program(read, {})
    if not prog.is_tree_func("do_fault"):
        out.reason = "the tree has no do_fault(): no fault path to simulate"
        return out
    chosen = []
    for name in scenarios.review_set(prog):
        cfg, specs = scenarios.build(name, prog)
        prog.cfg = cfg
        roots = [s[1] for s in specs] + [h for h in cfg["handler"].values() if h]
        funcs = coverage.reachable(prog, roots)
        hit = coverage.changed_spans(prog, funcs, changed) if changed is not None else {}
        if (only(name, funcs) if only else hit):
            chosen.append(name)
    if not chosen:
        out.reason = "the series changes no function a fault-path scenario reaches"
        return out
    records, incomplete = [], []
    for name in chosen:
        left = budget - out.states
        if left <= 0:
            incomplete.append(f"{name}: the review's budget of {budget} states was used up before it ran")
            continue
        bounds = {"preemptions": None, "max_states": min(left, RUN_STATES), "max_seconds": SAFETY_SECONDS}
        res = simulate(read, name, bounds, changed, False, prog)
        if res.verdict == "violated":
            short = simulate(read, name, dict(bounds, preemptions=2, exhaustive=False), None, False, prog)
            if short.verdict == "violated":
                short.coverage, short.states = res.coverage, res.states + short.states
                res = short
        d = res.to_dict()
        out.results[name] = d
        out.states += res.states
        out.functions |= set(res.functions)
        run = {k: d.get(k) for k in ("scenario", "verdict", "invariant", "states", "handler",
                                     "handler_source", "reason")}
        out.runs.append(run)
        if res.coverage is not None:
            records.append(res.coverage)
        if res.verdict == "violated":
            site = _site(res.trace, prog.is_tree_path)
            fns = sorted({s["function"] for s in res.trace if s["file"] and prog.is_tree_path(s["file"])})
            v = Violation(name, res.invariant, res.message or "", site["file"] if site else "",
                          site["line"] if site else 0, site["function"] if site else "", fns, d)
            same = next((o for o in out.violations if (o.invariant, o.file, o.line) ==
                         (v.invariant, v.file, v.line)), None)
            if same is None:
                out.violations.append(v)
            else:           # reported once: the first scenario's trace, the others named
                same.also.append(name)
                same.functions = sorted(set(same.functions) | set(fns))
        elif res.verdict == "incomplete":
            incomplete.append(f"{name}: {res.reason}")
    out.seconds = time.monotonic() - t0
    out.coverage = coverage.merge(records) if changed is not None else None
    missed = out.coverage["not_reached"] if out.coverage else []
    if out.violations:
        out.verdict = "violated"
    elif incomplete:
        out.verdict, out.reason = "incomplete", "; ".join(incomplete)
    elif missed:
        out.verdict = "incomplete"
        out.reason = "changed code not reached: " + coverage.describe_missing(missed)
    else:
        out.verdict = "holds"
    return out


def series_simulation(ctx) -> SeriesSimulation:
    """The simulation of the series a rule context belongs to, run once per review."""
    shared = ctx.shared
    if SHARED_KEY not in shared:
        if not shared.get("simulate", True):
            shared[SHARED_KEY] = SeriesSimulation(reason="--no-simulate given")
        elif ctx.patched is None:
            shared[SHARED_KEY] = SeriesSimulation(reason="no patched tree to simulate")
        else:
            paths = sorted({p for d in ctx.diffs for p in d.paths})
            try:
                shared[SHARED_KEY] = run_series(ctx.patched.read,
                                                changed_lines(ctx.base, ctx.patched, paths))
            except Exception as exc:   # the review goes on; the skip says why
                shared[SHARED_KEY] = SeriesSimulation(reason=" ".join(str(exc).split()))
    return shared[SHARED_KEY]


def base_violations(ctx) -> list[Violation]:
    """The same scenarios on the base tree: a violation it has too is pre-existing."""
    key = SHARED_KEY + ":base"
    if key not in ctx.shared:
        sim = series_simulation(ctx)
        names = set(sim.results)
        ctx.shared[key] = [] if ctx.base is None or not names else run_series(
            ctx.base.read, None, only=lambda n, _f: n in names).violations
    return ctx.shared[key]


def _reference(v: Violation, patch: str) -> dict:
    from reviewbot.findings import Finding as F
    ident = F(rule=FIX_RULE, severity="error", patch=patch, file=v.file, line=v.line,
              function=v.function, message="", key=v.key).identity
    return {"rule": FIX_RULE, "file": v.file, "line": v.line, "function": v.function,
            "identity": ident}


def _for_finding(f: Finding, sim: SeriesSimulation, owner: str) -> dict:
    """What a rule finding says of the simulation: a reference to the violation on its path
    (the trace stays with the fault-sim finding), "not reached" when no run entered its
    function, else the series verdict the coverage supports."""
    base = {"states": sim.states, "scenarios": [r["scenario"] for r in sim.runs]}
    if f.rule == "field-init" and f.function and f.function not in sim.functions:
        return dict(base, verdict="not reached",
                    reason=f"no execution of scenarios {', '.join(base['scenarios'])} enters "
                           f"{f.function}()")
    if sim.violations:
        on_path = [v for v in sim.violations if f.function in v.functions]
        v = (on_path or sim.violations)[0]
        return dict(base, verdict="violated", invariant=v.invariant, message=v.message,
                    scenario=v.scenario, see=_reference(v, owner))
    out = dict(base, verdict=sim.verdict)
    if sim.reason:
        out["reason"] = sim.reason
    if sim.coverage is not None:
        out["coverage"] = sim.coverage
    return out


def violation_owner(sim: SeriesSimulation, v: Violation, diffs) -> str:
    """The patch a violation belongs to: the last one that changes the function where it
    happens, else the last one that changes a function on its trace, else the last patch."""
    def last(test):
        hit = [d.patch.msgid for d in diffs if any(test(h, fn) for h in d.hunks() for fn in h.functions)]
        return hit[-1] if hit else None
    return (last(lambda h, fn: fn == v.function and h.path == v.file)
            or last(lambda h, fn: fn in v.functions) or diffs[-1].patch.msgid)


def apply_one_file_diff(src: bytes, diff: str) -> bytes:
    """Apply a one-file unified diff made by a rule to the file's text."""
    import unidiff
    lines = src.decode("utf-8", "replace").splitlines(keepends=True)
    out: list[str] = []
    pos = 0
    for hunk in unidiff.PatchSet(diff)[0]:
        start = hunk.source_start - 1
        out.extend(lines[pos:start])
        pos = start
        for ln in hunk:
            if ln.is_added:
                out.append(ln.value)
            elif ln.is_removed:
                pos += 1
            else:
                out.append(lines[pos])
                pos += 1
    out.extend(lines[pos:])
    return "".join(out).encode()


def attach_simulation(findings: list[Finding], tree, ctx=None) -> list[Skipped]:
    """Give each fault-path finding the series' verdict (or a reference to the violation on its
    path), and re-check a suggested fix on the scenarios that entered the finding's function.
    A simulation that proves less than "holds" is also said once in the report's skipped list."""
    targets = [f for f in findings if wants_simulation(f)]
    if ctx is None or tree is None:
        for f in targets:
            f.simulation = {"verdict": "not simulated", "reason": "no patched tree"}
        return [Skipped("simulation", "no patched tree to simulate")] if targets else []
    sim = series_simulation(ctx)
    if sim.verdict == "not simulated":
        for f in targets:
            f.simulation = {"verdict": "not simulated", "reason": sim.reason}
        quiet = sim.reason.startswith("the series changes no function")
        return [] if quiet and not targets else [Skipped("simulation", sim.reason)]
    for f in targets:
        owner = next((violation_owner(sim, v, ctx.diffs) for v in sim.violations
                      if f.function in v.functions), ctx.diffs[-1].patch.msgid)
        f.simulation = _for_finding(f, sim, owner)
        if f.fix and f.simulation["verdict"] in ("violated", "holds", "incomplete"):
            f.simulation["with_fix"] = _check_fix(f, tree, sim)
    if sim.verdict == "incomplete":
        return [Skipped("simulation", f"incomplete, not holds ({sim.states} states in "
                                      f"{len(sim.runs)} scenarios): {sim.reason}")]
    return []


def _check_fix(f: Finding, tree, sim: SeriesSimulation) -> dict:
    orig = tree.read(f.file)
    if orig is None:
        return {"verdict": "not simulated", "reason": f"{f.file} is not in the tree"}
    try:
        fixed = apply_one_file_diff(orig, f.fix)
    except Exception as exc:
        return {"verdict": "not simulated", "reason": f"fix does not apply: {exc}"}
    names = {n for n, d in sim.results.items() if f.function in d.get("functions", [])}
    if not names:
        return {"verdict": "not reached", "reason": f"no scenario enters {f.function}()"}
    res = run_series(lambda p: fixed if p == f.file else tree.read(p), None,
                     only=lambda n, _f: n in names)
    out = {"verdict": res.verdict, "states": res.states}
    if res.violations:
        out["invariant"] = res.violations[0].invariant
    if res.reason:
        out["reason"] = res.reason
    return out
