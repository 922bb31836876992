"""A patch's simulation: every scenario of the tree that reaches a changed statement, one
budget of states for all of them, changed-line coverage merged over the runs, and each
violation once, at the tree line where it happens."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from .cfront import ReadFile

# All of a patch's simulations share one budget of states (not seconds, so that the verdict
# does not depend on the machine's load); past it a run is "incomplete".  A run is exhaustive
# (sleep sets); a violation is then re-found with the fewest preemptions for a short trace.
REVIEW_STATES = 60000
RUN_STATES = 25000
SAFETY_SECONDS = 60.0


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

    def to_dict(self) -> dict:
        """The JSON of `simulate --diff`: the runs, the merged coverage, each violation with
        its trace (wall time is left out: the output is byte-identical run to run)."""
        return {"verdict": self.verdict, "reason": self.reason or None, "states": self.states,
                "scenarios": [r["scenario"] for r in self.runs], "runs": self.runs,
                "coverage": self.coverage,
                "violations": [{"scenario": v.scenario, "also_in": v.also, "invariant": v.invariant,
                                "message": v.message, "file": v.file, "line": v.line,
                                "function": v.function, "trace": v.result.get("trace", [])}
                               for v in self.violations]}

    def render_text(self) -> str:
        from .result import SimResult
        lines = ["%s: %s" % (self.verdict, self.reason) if self.reason else self.verdict]
        for r in self.runs:
            h = r.get("handler") or {}
            lines.append("  %-26s %-10s %7d states  handler %s() (%s)%s" % (
                r["scenario"], r["verdict"], r["states"], h.get("function"), r.get("handler_source"),
                ": " + r["reason"] if r.get("reason") else ""))
        if self.coverage is not None:
            c = self.coverage
            lines.append("changed fault-path lines: %d, reached %d" % (c["changed"], len(c["reached"])))
            for m in c["not_reached"]:
                lines.append("  not reached: %s:%d in %s()" % (m["file"], m["line"], m["function"]))
        for v in self.violations:
            d = v.result
            lines += ["", "violation at %s:%d in %s():" % (v.file, v.line, v.function)]
            keep = {k: d[k] for k in ("verdict", "invariant", "states", "bounds", "trace", "scenario",
                                      "threads", "message") if k in d}
            lines += ["  " + x for x in SimResult(**keep).render_text().splitlines()]
        return "\n".join(lines) + "\n"


def _site(trace: list, is_tree: Callable[[str], bool]) -> dict | None:
    """Where a violation happens.  For a lock still held at exit: the return of the function
    that releases that lock on another path but not on this one, else of the innermost tree
    function that returned holding it (Program.on_return marks those returns).  Otherwise the
    violation's own step when that is tree code, else the last tree step of its thread."""
    from .program import RELEASES_ELSEWHERE
    bad = next((s for s in reversed(trace) if s["action"].startswith("VIOLATION")), None)
    if bad is None:
        return None
    mine = [s for s in trace if s["thread"] == bad["thread"] and s["file"] and is_tree(s["file"])]
    if bad["action"].startswith(("VIOLATION: thread", "VIOLATION: ->")):
        leaks, inside = [], False
        for s in mine:
            a = s["action"]
            if a.startswith("call ->"):
                inside = True
            elif a.startswith("->"):
                inside = False
            elif "() returns " in a and " holding " in a:
                leaks.append((inside, s))
        # a caller of ->fault that drops the lock on other paths, else the innermost function
        # that returned holding it (a handler may hand a lock up by contract)
        owned = [s for inside_h, s in leaks if not inside_h and s["action"].endswith(RELEASES_ELSEWHERE)]
        if owned or leaks:
            return (owned or [s for _i, s in leaks])[0]
    if bad["file"] and is_tree(bad["file"]):
        return bad
    anyone = [s for s in trace if s["file"] and is_tree(s["file"])]
    return (mine or anyone or [None])[-1]


def run_series(read: ReadFile, changed: dict | None, budget: int = REVIEW_STATES,
               only: Callable[[str, set], bool] | None = None) -> SeriesSimulation:
    """Every review scenario of the tree that reaches a changed statement (or, with `only`,
    that `only(name, reachable)` accepts), within one time budget."""
    from . import coverage, scenarios, simulate
    from .program import Program
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
            # one finding per place: the first scenario's trace, the others (and any other
            # invariant the same statement breaks there) named
            same = next((o for o in out.violations if (o.file, o.line) == (v.file, v.line)), None)
            if same is None:
                out.violations.append(v)
            else:
                same.also.append(name if v.invariant == same.invariant else "%s (%s)" % (
                    name, v.invariant.split()[0]))
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
