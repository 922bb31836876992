"""Back fault-path findings with the simulator: run it once on the patched tree, attach its
verdict and trace to each field-init / fault-contract finding, and re-run on a suggested fix."""
from __future__ import annotations

from typing import Callable

from reviewbot.findings import Finding, Skipped

FAULT_PATH_STRUCTS = {"vm_fault"}


def wants_simulation(f: Finding) -> bool:
    if f.rule == "field-init":
        return f.details.get("struct") in FAULT_PATH_STRUCTS and f.severity != "info"
    return f.rule == "fault-contract" and f.key.endswith(":change")


# The fault-path function a finding is about -> the scenario whose threads run through it; the
# default scenario (COW fault, read fault, truncate) never reaches ->page_mkwrite.
SCENARIO_FOR_FUNCTION = {"do_page_mkwrite": "mkwrite-hole"}
# A review waits seconds, not minutes: past these the verdict is "incomplete", never "holds".
REVIEW_BOUNDS = {"max_seconds": 10.0, "max_states": 100000}


def _summary(result) -> dict:
    d = result.to_dict()
    d["text"] = result.render_text()
    return d


def _for_finding(f: Finding, result: dict) -> dict:
    """The result as this finding may quote it: a run that never entered the finding's function
    proves nothing about it, so it says "not reached" rather than "holds"."""
    out = dict(result)
    if f.rule == "field-init" and out.get("verdict") == "holds" and f.function and \
            f.function not in out.get("functions", []):
        out["verdict"] = "not reached"
        out["reason"] = (f"no execution of scenario {out.get('scenario')} enters "
                         f"{f.function}()")
        out.pop("text", None)
    return out


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


def attach_simulation(findings: list[Finding], tree) -> list[Skipped]:
    targets = [f for f in findings if wants_simulation(f)]
    if not targets:
        return []
    if tree is None:
        for f in targets:
            f.simulation = {"verdict": "not simulated", "reason": "no patched tree"}
        return [Skipped("simulation", "no patched tree to simulate")]
    try:
        from reviewbot.sim import simulate
    except ImportError as exc:
        for f in targets:
            f.simulation = {"verdict": "not simulated", "reason": f"simulator unavailable: {exc}"}
        return [Skipped("simulation", f"simulator unavailable: {exc}")]

    def run(read: Callable[[str], bytes | None], scenario: str | None) -> dict:
        try:
            return _summary(simulate(read, scenario, REVIEW_BOUNDS))
        except Exception as exc:   # the review goes on; the finding says why it has no verdict
            return {"verdict": "not simulated", "reason": " ".join(str(exc).split())}

    results: dict[str | None, dict] = {}
    for f in targets:
        scenario = SCENARIO_FOR_FUNCTION.get(f.function) if f.rule == "field-init" else None
        if scenario not in results:
            results[scenario] = run(tree.read, scenario)
        f.simulation = _for_finding(f, results[scenario])
        if f.fix:
            fixed_path = f.file
            orig = tree.read(fixed_path)
            if orig is None:
                continue
            try:
                fixed = apply_one_file_diff(orig, f.fix)
            except Exception as exc:
                f.simulation["with_fix"] = {"verdict": "not simulated",
                                            "reason": f"fix does not apply: {exc}"}
                continue
            res = run(lambda p, _o=fixed: _o if p == fixed_path else tree.read(p), scenario)
            res = _for_finding(f, res)
            f.simulation["with_fix"] = {k: res.get(k) for k in
                                        ("verdict", "invariant", "states", "reason")}
    return [Skipped("simulation", r.get("reason", "")) for r in results.values()
            if r.get("verdict") == "not simulated"]
