"""sim stage of reviewbot: run the tree's fault-path C against the XIP/DAX model and
explore thread interleavings; simulate() is the entry point."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .result import SimResult

if TYPE_CHECKING:
    from .cfront import ReadFile
    from .program import Program

__all__ = ["simulate", "SimResult", "DEFAULT_BOUNDS"]

DEFAULT_BOUNDS = {"preemptions": 2, "max_states": 200000, "max_seconds": 60.0, "max_depth": 400, "por": True,
                  "exhaustive": True}


def simulate(read_file: ReadFile, scenario: str | None = None, bounds: dict | None = None,
             changed: dict | None = None, judge_coverage: bool = True, program: Program | None = None) -> SimResult:
    """Run one scenario (default: the one that fits the tree).  changed: {path: lines} a patch
    added or changed in this tree; a run that leaves one of them unreached is "incomplete"."""
    from .run import simulate as _sim
    return _sim(read_file, scenario, bounds, changed, judge_coverage, program)
