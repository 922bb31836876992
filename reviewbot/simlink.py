"""The simulator in a review: run every scenario that reaches a function the series changes
(whatever the rules found), measure which changed fault-path lines ran, and hand each violation
to the fault-sim rule; other findings on the fault path refer to that violation."""
from __future__ import annotations

from reviewbot.findings import Finding, Skipped
from reviewbot.sim.series import REVIEW_STATES, SeriesSimulation, Violation, run_series  # noqa: F401

FAULT_PATH_STRUCTS = {"vm_fault"}
SHARED_KEY = "fault-sim"
FIX_RULE = "fault-sim"


def wants_simulation(f: Finding) -> bool:
    """Findings about the fault path that quote the simulator's verdict."""
    if f.rule == "field-init":
        return f.details.get("struct") in FAULT_PATH_STRUCTS and f.severity != "info"
    return f.rule == "fault-contract" and f.key.endswith(":change")


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
    base = {"states": sim.states, "scenarios": [r["scenario"] for r in sim.runs],
            "runs": [{k: r.get(k) for k in ("scenario", "verdict", "states", "handler", "handler_source")}
                     for r in sim.runs]}
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
