"""b4's check-command JSON: [{tool, status, summary, url, details}] for one patch, [] when
there is nothing to say (b4.review-perpatch-check-cmd protocol)."""
from __future__ import annotations

import json

from reviewbot.findings import B4_STATUS, Report
from reviewbot.render.reply import site_phrase, sim_lines


def b4check_entries(report: Report, patch_msgid: str | None = None, url: str = "") -> list[dict]:
    """One entry per rule with findings on the patch (fail for errors, warn otherwise); a
    single pass entry when the patch was reviewed and nothing was found."""
    fs = [f for f in report.sorted().findings if patch_msgid is None or f.patch == patch_msgid]
    out = []
    for rule in sorted({f.rule for f in fs}):
        mine = [f for f in fs if f.rule == rule]
        # B4_STATUS by severity; an error the base already has is the patch's warning only
        status = "fail" if any(B4_STATUS[f.severity] == "fail" and f.introduced
                               for f in mine) else "warn"
        new = sum(f.introduced for f in mine)
        summary = mine[0].message if len(mine) == 1 else f"{len(mine)} findings"
        summary += f" ({new} introduced, {len(mine) - new} pre-existing)" if len(mine) > 1 else \
            (" (introduced)" if mine[0].introduced else " (pre-existing)")
        details = []
        for f in mine:
            where = f"{f.file}:{f.line}" + (f" {f.function}()" if f.function else "")
            details.append(f"{f.severity}: {f.message}\n  at {where}, "
                           f"{'introduced by this patch' if f.introduced else 'pre-existing'}")
            details += ["  " + site_phrase(s) for s in f.sites]
            details += ["  " + l for l in sim_lines(f.simulation) if l != "TRACE"]
        out.append({"tool": f"reviewbot/{rule}", "status": status, "summary": summary,
                    "url": url, "details": "\n".join(details)})
    if not out and report.patches:
        skipped = [f"skipped {s.check}: {s.reason}" for s in report.skipped
                   if not s.patch or patch_msgid is None or s.patch == patch_msgid]
        if report.not_applied:        # nothing was applied: not a pass
            out.append({"tool": "reviewbot", "status": "warn", "summary": report.summary(),
                        "url": url, "details": "\n".join(skipped)})
        else:
            out.append({"tool": "reviewbot", "status": "pass",
                        "summary": "no findings" + (f", {len(skipped)} checks skipped"
                                                    if skipped else ""),
                        "url": url, "details": "\n".join(skipped)})
    return out


def render_b4check(report: Report | None, patch_msgid: str | None = None, url: str = "") -> str:
    return json.dumps(b4check_entries(report, patch_msgid, url) if report else [], indent=2) + "\n"


def format_b4check(report: Report, options) -> str:
    return render_b4check(report, options.patch, options.url)
