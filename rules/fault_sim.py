"""fault-sim: the fault-path simulator found an invariant broken on the patched tree. One
finding per violation, at the line where it happens, with the trace. Documentation:
fault_sim.md beside this file."""
from __future__ import annotations

from typing import Iterable

from reviewbot import simlink
from reviewbot.engine import Context
from reviewbot.findings import Finding


class FaultSim:
    """A violation the simulator finds by running the tree's own fault path."""
    id = "fault-sim"
    severity = "error"
    summary = "the fault-path simulator finds a lock, NULL-page, truncate or COW invariant broken"

    def check(self, ctx: Context) -> Iterable[Finding]:
        if ctx.patched is None:
            return
        sim = simlink.series_simulation(ctx)
        if ctx.side == "base":
            found = simlink.base_violations(ctx)
        else:
            found = [v for v in sim.violations
                     if simlink.violation_owner(sim, v, ctx.diffs) == ctx.patch.msgid]
        for v in found:
            yield self._finding(ctx, v)

    def _finding(self, ctx: Context, v: simlink.Violation) -> Finding:
        inv = v.invariant.split()[0]
        where = f" in {v.function}()" if v.function else ""
        sim = dict(v.result)
        sim["text"] = _text(sim)
        return Finding(
            rule=self.id, severity=self.severity, patch=ctx.patch.msgid, file=v.file,
            line=v.line, function=v.function,
            message=f"{v.invariant} broken{where}: {v.message} (scenario {v.scenario})",
            key=v.key, details={"scenario": v.scenario, "invariant": inv, "also_in": list(v.also),
                                "handler": sim.get("handler"),
                                "handler_source": sim.get("handler_source")},
            simulation=sim)


def _text(d: dict) -> str:
    from reviewbot.sim.result import SimResult
    keep = {k: d[k] for k in ("verdict", "invariant", "states", "bounds", "trace", "scenario",
                              "threads", "message", "transitions") if k in d}
    return SimResult(**keep).render_text()
