"""The simulator in a review: run every scenario that reaches a function the series changes
(whatever the rules found), measure which changed fault-path lines ran, and hand each violation
to the rule that reports violations; a finding whose rule asks for the simulation
(engine.Rule.simulation_request) quotes the verdict, or refers to the violation on its path."""
from __future__ import annotations

from reviewbot import engine
from reviewbot.findings import Finding, Skipped
from reviewbot.sim.series import SeriesSimulation, Violation, run_series

SHARED_KEY = "simulation"


def changed_lines(base, patched, paths) -> dict:
    from reviewbot.sim.coverage import changed_between
    out: dict = {}
    for p in paths:
        if p.endswith((".c", ".h")):
            changed_between(p, base.read(p) if base else None, patched.read(p), out)
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


def _reference(v: Violation, reported: dict[str, Finding]) -> dict | None:
    """Where the violation is reported: the finding a rule made of it (the one whose key is
    the violation's), or None when no rule that reports violations ran."""
    f = reported.get(v.key)
    if f is None:
        return None
    return {"rule": f.rule, "file": v.file, "line": v.line, "function": v.function,
            "identity": f.identity}


def _for_finding(req: engine.SimulationRequest, sim: SeriesSimulation,
                 reported: dict[str, Finding]) -> dict:
    """What a rule finding says of the simulation: a reference to the violation on its path
    (the trace stays with the finding that reports it), "not reached" when the request needs
    a run through its function and none entered it, else the verdict the coverage supports."""
    base = {"states": sim.states, "scenarios": [r["scenario"] for r in sim.runs],
            "runs": [{k: r.get(k) for k in ("scenario", "verdict", "states", "handler", "handler_source")}
                     for r in sim.runs]}
    if req.must_reach and req.function and req.function not in sim.functions:
        return dict(base, verdict="not reached",
                    reason=f"no execution of scenarios {', '.join(base['scenarios'])} enters "
                           f"{req.function}()")
    if sim.violations:
        on_path = [v for v in sim.violations if req.function in v.functions]
        v = (on_path or sim.violations)[0]
        out = dict(base, verdict="violated", invariant=v.invariant, message=v.message,
                   scenario=v.scenario)
        see = _reference(v, reported)
        return dict(out, see=see) if see else out
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
    requests = {id(f): engine.simulation_request(f) for f in findings}
    targets = [f for f in findings if requests[id(f)] is not None]
    # a finding that already carries a simulation was made from a violation by its rule
    reported = {f.key: f for f in findings if f.simulation is not None}
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
        req = requests[id(f)]
        f.simulation = _for_finding(req, sim, reported)
        if f.fix and f.simulation["verdict"] in ("violated", "holds", "incomplete"):
            f.simulation["with_fix"] = _check_fix(f, req.function, tree, sim)
    if sim.verdict == "incomplete":
        return [Skipped("simulation", f"incomplete, not holds ({sim.states} states in "
                                      f"{len(sim.runs)} scenarios): {sim.reason}")]
    return []


def _check_fix(f: Finding, function: str, tree, sim: SeriesSimulation) -> dict:
    orig = tree.read(f.file)
    if orig is None:
        return {"verdict": "not simulated", "reason": f"{f.file} is not in the tree"}
    try:
        fixed = apply_one_file_diff(orig, f.fix)
    except Exception as exc:
        return {"verdict": "not simulated", "reason": f"fix does not apply: {exc}"}
    names = {n for n, d in sim.results.items() if function in d.get("functions", [])}
    if not names:
        return {"verdict": "not reached", "reason": f"no scenario enters {function}()"}
    res = run_series(lambda p: fixed if p == f.file else tree.read(p), None,
                     only=lambda n, _f: n in names)
    out = {"verdict": res.verdict, "states": res.states}
    if res.violations:
        out["invariant"] = res.violations[0].invariant
    if res.reason:
        out["reason"] = res.reason
    return out
