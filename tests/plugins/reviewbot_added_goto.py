"""A plug-in from outside reviewbot (tests/test_rule_plugin.py): the rule added-goto (every
`goto` a patch adds is a finding, with its own reply question and checklist item) and the
output format finding-count."""
from __future__ import annotations

import re

GOTO = re.compile(r"\bgoto\s+(\w+)\s*;")


class AddedGoto:
    """A patch adds a jump: every path to its label must unwind what it took."""
    id = "added-goto"
    severity = "warning"
    summary = "a goto the patch adds must unwind what its path took"

    def check(self, ctx):
        from reviewbot.findings import Finding
        if ctx.side == "base":
            return
        for h in ctx.diff.hunks():
            fn = h.functions[0] if h.functions else ""
            for line, text in h.added:
                m = GOTO.search(text)
                if m:
                    yield Finding(rule=self.id, severity=self.severity, patch=ctx.patch.msgid,
                                  file=h.path, line=line, function=fn,
                                  message=f"adds a jump to label '{m.group(1)}'",
                                  key=f"{h.path}:{fn}:{m.group(1)}",
                                  details={"label": m.group(1)})

    def questions(self, f):
        return [f"Does every path that jumps to {f.details['label']} in {f.function}() "
                "release what it took before the jump?"]

    def checklist_items(self, f):
        return [f"Unwinding at label `{f.details['label']}` in `{f.function}()`: is each "
                "step undone in reverse order?"]


def format_count(report, _options) -> str:
    """`review --format finding-count`: one line, the findings by rule (a format plug-in)."""
    rules = sorted({f.rule for f in report.findings})
    return " ".join(f"{r}={sum(f.rule == r for f in report.findings)}" for r in rules) + "\n"
