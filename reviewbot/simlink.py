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


def _summary(result) -> dict:
    d = result.to_dict()
    d["text"] = result.render_text()
    return d


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

    def run(read: Callable[[str], bytes | None]) -> dict:
        try:
            return _summary(simulate(read))
        except Exception as exc:   # the review goes on; the finding says why it has no verdict
            return {"verdict": "not simulated", "reason": " ".join(str(exc).split())}

    base_result = run(tree.read)
    for f in targets:
        f.simulation = dict(base_result)
        if f.fix:
            fixed_path = f.file
            orig = tree.read(fixed_path)
            if orig is None:
                continue
            fixed = apply_one_file_diff(orig, f.fix)
            res = run(lambda p, _o=fixed: _o if p == fixed_path else tree.read(p))
            f.simulation["with_fix"] = {k: res.get(k) for k in
                                        ("verdict", "invariant", "states", "reason")}
    if base_result.get("verdict") == "not simulated":
        return [Skipped("simulation", base_result.get("reason", ""))]
    return []
