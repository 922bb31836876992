"""Plain-text findings in the shape kernel people know from checkpatch:
`SEVERITY:RULE: message` then `#line: FILE: path:line:` and the evidence under it."""
from __future__ import annotations

from reviewbot.findings import Finding, Report

LABEL = {"error": "ERROR", "warning": "WARNING", "info": "CHECK"}
MAX_SITES = 40


def _finding(f: Finding, n: int) -> list[str]:
    rule = f.rule.upper().replace("-", "_")
    where = f"{f.file}:{f.line}:" + (f" {f.function}()" if f.function else "")
    out = [f"{LABEL[f.severity]}:{rule}: {f.message}",
           f"#{n}: FILE: {where}",
           f"    {'introduced by this series' if f.introduced else 'pre-existing in the base'}"]
    if f.sites:
        out.append(f"    sites ({len(f.sites)}):")
        for s in f.sites[:MAX_SITES]:
            mark = " [touched by the series]" if s.touched else ""
            fn = f" {s.function}()" if s.function else ""
            out.append(f"      {s.file}:{s.line}:{fn} {s.status}{mark}")
        if len(f.sites) > MAX_SITES:
            out.append(f"      ... {len(f.sites) - MAX_SITES} more (see --format json)")
    sim = f.simulation
    if sim:
        out.append(f"    simulation: {_sim_line(sim)}")
        text = sim.get("text") if sim.get("verdict") == "violated" else None
        if text:
            out.extend("      " + ln for ln in text.rstrip().splitlines())
        fix = sim.get("with_fix")
        if fix:
            out.append(f"    with the suggested fix: {_sim_line(fix)}")
    if f.fix:
        out.append("    suggested fix:")
        out.extend("      " + ln for ln in f.fix.rstrip().splitlines())
    return out


def _sim_line(sim: dict) -> str:
    v = sim.get("verdict")
    if v == "holds":
        return f"holds: {sim.get('states')} states explored, no violation"
    if v == "violated":
        see = sim.get("see")
        ref = f"; see the {see['rule']} finding at {see['file']}:{see['line']}" if see else ""
        return f"violated: {sim.get('invariant')} ({sim.get('states')} states{ref})"
    return f"{v}: {sim.get('reason', '')}".rstrip(": ")


def render_text(report: Report) -> str:
    out = [f"reviewbot: [v{report.revision}] {report.series_subject}",
           f"  {report.series_msgid}; base {report.base[:12] or '(none)'}; mode {report.mode}",
           ""]
    by_patch: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_patch.setdefault(f.patch, []).append(f)
    n = 0
    for p in report.patches:
        fs = by_patch.get(p.msgid, [])
        if not fs:
            continue
        out.append(f"{p.subject} <{p.msgid}>")
        out.append("")
        for f in fs:
            n += 1
            out.extend(_finding(f, n))
            out.append("")
    counts = {s: sum(1 for f in report.findings if f.severity == s) for s in LABEL}
    intro = sum(1 for f in report.findings if f.introduced)
    for s in report.skipped:
        who = f" ({s.patch})" if s.patch else ""
        out.append(f"SKIPPED: {s.check}{who}: {s.reason}")
    if report.skipped:
        out.append("")
    out.append(f"total: {counts['error']} errors, {counts['warning']} warnings, "
               f"{counts['info']} checks; {intro} introduced, "
               f"{len(report.findings) - intro} pre-existing")
    if not report.findings:
        out.append("no findings")
    return "\n".join(out) + "\n"
