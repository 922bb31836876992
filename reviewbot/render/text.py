"""Plain-text findings in the shape kernel people know from checkpatch: `SEVERITY:RULE: message`,
`#N: FILE: path:line:` (N = line of the patch) and the code line, then the evidence; and the
one-line-a-finding `--format terse` of `checkpatch.pl --terse`, for b4's check commands."""
from __future__ import annotations

from reviewbot.findings import LABELS, Finding, Report
from reviewbot.render.safe import escape, one_line
from reviewbot.render.trace import trace_lines

MAX_SITES = 40


def rule_tag(f: Finding) -> str:
    return f"{LABELS[f.severity]}:{f.rule.upper().replace('-', '_')}"


def where(f: Finding) -> str:
    """`path:line` (no line when there is none: never `:0`)."""
    line = f":{f.line}" if f.line and f.line > 0 else ""
    return f"{one_line(f.file) or '-'}{line}"


def site_list_key(f: Finding) -> tuple:
    return (f.rule, tuple(s.sort_key() + (s.touched,) for s in f.sites))


def assumed(f: Finding, mode: str) -> bool:
    """A path a rule named without a tree to look it up in (no line, not in the diff)."""
    return mode != "tree" and bool(f.file) and not (f.line and f.line > 0) and not f.patch_line


def _finding(f: Finding, trace: str, listed: dict[tuple, str],
             report_mode: str = "tree") -> list[str]:
    loc = f"FILE: {where(f)}:" + (f" {one_line(f.function)}()" if f.function else "")
    out = [f"{rule_tag(f)}: {one_line(f.message)}",
           (f"#{f.patch_line}: " if f.patch_line else "") + loc]
    if f.code:
        out.append(escape(f.code))
    elif assumed(f, report_mode):
        out.append(f"    {one_line(f.file)}: file name assumed (diff-only mode: no tree to "
                   "find it in)")
    origin = "introduced by this series" if f.introduced else "pre-existing in the base"
    out.append(f"    {origin}")
    for r in f.raised_in:
        out.append(f"    already raised by {one_line(r['author'])} in <{one_line(r['msgid'])}>")
    if f.sites:
        key = site_list_key(f)
        if key in listed:
            out.append(f"    sites ({len(f.sites)}): as listed above for {listed[key]}")
        else:
            listed[key] = f"{f.rule} at {where(f)}"
            out.append(f"    sites ({len(f.sites)}):")
            for s in f.sites[:MAX_SITES]:
                mark = " [touched by the series]" if s.touched else ""
                fn = f" {one_line(s.function)}()" if s.function else ""
                line = f":{s.line}" if s.line and s.line > 0 else ""
                out.append(f"      {one_line(s.file)}{line}:{fn} {one_line(s.status)}{mark}")
            if len(f.sites) > MAX_SITES:
                out.append(f"      ... {len(f.sites) - MAX_SITES} more (see --format json)")
    sim = f.simulation
    if sim:
        out.append(f"    simulation: {sim_line(sim)}")
        lines = trace_lines(sim, trace) if sim.get("verdict") == "violated" else []
        if lines:
            what = "every step" if trace == "full" else "the steps that matter; --trace full"
            out.append(f"    trace ({what}):")
            out.extend("      " + ln for ln in lines)
        fix = sim.get("with_fix")
        if fix:
            out.append(f"    with the suggested fix: {sim_line(fix)}")
    if f.fix:
        out.append("    suggested fix:")
        out.extend("      " + escape(ln) for ln in f.fix.rstrip().splitlines())
    return out


def sim_line(sim: dict) -> str:
    v = one_line(sim.get("verdict"))
    if v == "holds":
        return f"holds: {sim.get('states')} states explored, no violation"
    if v == "violated":
        see = sim.get("see")
        ref = f"; see the {see['rule']} finding at {see['file']}:{see['line']}" if see else ""
        return f"violated: {one_line(sim.get('invariant'))} ({sim.get('states')} states{ref})"
    return f"{v}: {one_line(sim.get('reason', ''))}".rstrip(": ")


def render_text(report: Report, trace: str = "terse") -> str:
    out = [f"reviewbot: [v{report.revision}] {one_line(report.series_subject)}",
           f"  {one_line(report.series_msgid)}; base {report.base[:12] or '(none)'}; "
           f"mode {report.mode}", ""]
    by_patch: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_patch.setdefault(f.patch, []).append(f)
    listed: dict[tuple, str] = {}
    for p in report.patches:
        fs = by_patch.pop(p.msgid, [])
        if not fs:
            continue
        out.append(f"{one_line(p.subject)} <{one_line(p.msgid)}>")
        out.append("")
        for f in fs:
            out.extend(_finding(f, trace, listed, report.mode))
            out.append("")
    for fs in by_patch.values():          # findings on no patch of the list: series-wide
        for f in fs:
            out.extend(_finding(f, trace, listed, report.mode))
            out.append("")
    for s in report.skipped:
        who = f" ({one_line(s.patch)})" if s.patch else ""
        out.append(f"SKIPPED: {one_line(s.check)}{who}: {one_line(s.reason)}")
    if report.skipped:
        out.append("")
    out.append(report.summary())
    return "\n".join(out) + "\n"


def render_terse(report: Report) -> str:
    """`FILE:LINE: SEVERITY:RULE: message`, one line a finding, as `checkpatch.pl --terse`;
    nothing when there is nothing to say, and one `reviewbot:` line when the series was applied
    to no tree, so that b4 does not show a pass."""
    out = [f"{where(f)}: {rule_tag(f)}: {one_line(f.message)}" for f in report.findings]
    if report.not_applied:
        out.append(f"reviewbot: {report.summary()}")
    return "".join(ln + "\n" for ln in out)


def format_text(report: Report, options) -> str:
    return render_text(report, trace=options.trace)


def format_terse(report: Report, _options) -> str:
    return render_terse(report)
