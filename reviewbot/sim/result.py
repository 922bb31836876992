"""SimResult: verdict, violated invariant, counts, bounds, coverage and the trace, with
JSON (to_dict) and lockdep-style text (render_text) renderings."""
from __future__ import annotations

from dataclasses import dataclass, field

COLW = 44


@dataclass
class SimResult:
    verdict: str
    invariant: str | None = None
    states: int = 0
    bounds: dict = field(default_factory=dict)
    not_modelled: list = field(default_factory=list)
    unreached: list = field(default_factory=list)
    trace: list = field(default_factory=list)
    reason: str | None = None
    scenario: str | None = None
    threads: list = field(default_factory=list)
    message: str | None = None
    transitions: int = 0
    handler: dict | None = None          # {function, file, line} of the ->fault that ran
    handler_source: str | None = None    # "tree" or "model"
    functions: list = field(default_factory=list)
    coverage: dict | None = None         # changed fault-path lines reached / not reached
    vm_ops: str | None = None
    seconds: float = 0.0                 # wall time; not in to_dict, which is deterministic

    def to_dict(self) -> dict:
        return {
            "verdict": self.verdict,
            "invariant": self.invariant,
            "message": self.message,
            "states": self.states,
            "transitions": self.transitions,
            "bounds": dict(self.bounds),
            "not_modelled": list(self.not_modelled),
            "trace": [dict(s) for s in self.trace],
            "scenario": self.scenario,
            "handler": dict(self.handler) if self.handler else None,
            "handler_source": self.handler_source,
            "vm_ops": self.vm_ops,
            "coverage": self.coverage,
            "functions": list(self.functions),
            "threads": list(self.threads),
            "unreached": list(self.unreached),
            "reason": self.reason,
        }

    def bounds_text(self) -> str:
        b = self.bounds
        parts = ["%d threads" % b.get("threads", 0)]
        if b.get("preemptions") is None:
            parts.append("all interleavings")
        else:
            parts.append("%d preemptions" % b["preemptions"])
        parts.append("loops %d" % b.get("loop_bound", 0))
        return ", ".join(parts)

    def render_text(self) -> str:
        if self.verdict == "holds":
            head = "holds: %s states explored, no violation (bounds: %s)" % (format(self.states, ","), self.bounds_text())
            lines = [head, "scenario: %s" % self.scenario]
        elif self.verdict == "incomplete":
            lines = ["incomplete: %s" % self.reason, "scenario: %s; %s states explored" % (
                self.scenario, format(self.states, ","))]
            if self.trace and not (self.coverage and self.reason.startswith("changed code not reached")):
                lines += ["", "steps up to the point where the simulation stopped:"] + self._steps()
        else:
            lines = ["violated: %s" % self.invariant, "  %s" % self.message,
                     "scenario: %s; %s states explored (bounds: %s)" % (self.scenario, format(self.states, ","),
                                                                       self.bounds_text()),
                     ""] + self._table() + ["", "full trace:"] + self._steps()
        if self.handler:
            lines.append("handler: %s() at %s:%s (%s%s)" % (
                self.handler["function"], self.handler["file"], self.handler["line"], self.handler_source,
                ", wired by " + self.vm_ops if self.vm_ops else ""))
        if self.coverage is not None:
            c = self.coverage
            lines.append("changed fault-path lines: %d, reached %d" % (c["changed"], len(c["reached"])))
            for m in c["not_reached"]:
                lines.append("  not reached: %s:%d in %s()" % (m["file"], m["line"], m["function"]))
        if self.not_modelled:
            lines.append("not modelled (treated conservatively): " + ", ".join(self.not_modelled))
        if self.unreached and self.verdict == "holds":
            lines.append("unreached branches: " + ", ".join(self.unreached))
        return "\n".join(lines) + "\n"

    def _table(self) -> list[str]:
        names = self.threads or sorted({s["thread"] for s in self.trace})
        cols = {n: i for i, n in enumerate(names)}
        COLW = {1: 76, 2: 60}.get(len(names), 44)
        out = [" Possible unsafe scenario:", ""]
        out.append("  " + "".join(("CPU%d (%s)" % (i, n)).ljust(COLW) for i, n in enumerate(names)).rstrip())
        out.append("  " + "".join("----".ljust(COLW) for _ in names).rstrip())
        for s in self.trace:
            if s["action"].startswith("call ") and not s["action"].startswith("call ->"):
                continue
            text = s["action"]
            text = text if len(text) < COLW - 2 else text[:COLW - 5] + "..."
            col = cols.get(s["thread"], 0)
            out.append("  " + "".ljust(COLW * col) + text)
        return out

    def _steps(self) -> list[str]:
        out = []
        for i, s in enumerate(self.trace, 1):
            loc = "%s:%d" % (s["file"], s["line"]) if s["file"] else "-"
            out.append("  %3d  %-4s %-24s %-20s %s" % (i, s["thread"], loc, s["function"] or "-", s["action"]))
        return out
