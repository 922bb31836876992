"""Bench: exhaustive check of the seed scenario (COW fault + read fault + truncate, 3 threads)
on the bundled corpus tree with the COW series applied; with and without sleep sets."""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from reviewbot.sim import simulate  # noqa: E402
from sim_fixtures import apply_thread, reader  # noqa: E402


def run(read_file, por):
    t0 = time.monotonic()
    res = simulate(read_file, "cow-read-truncate", {"preemptions": None, "por": por, "max_seconds": 300})
    return res, time.monotonic() - t0


def main():
    with tempfile.TemporaryDirectory() as td:
        tree = apply_thread(Path(td) / "tree", "cow")
        rf = reader(tree)
        rows = []
        for por in (True, False):
            res, dt = run(rf, por)
            rows.append((("sleep+ample" if por else "none"), res, dt))
        print("seed scenario cow-read-truncate (FC + FR + TR) on corpus tree + cow series, handler %s"
              % rows[0][1].handler)
        print("%-11s %-8s %8s %12s %8s %10s" % ("reduction", "verdict", "states", "transitions", "wall s", "states/s"))
        for name, res, dt in rows:
            print("%-11s %-8s %8d %12d %8.2f %10.0f" % (name, res.verdict, res.states, res.transitions, dt,
                                                       res.states / dt if dt else 0))
        with_r, without = rows[0][1], rows[1][1]
        print("state count: %d with the reduction (sleep sets + private-step ample sets), %d without (%.0f%% of the states, %.0f%% of the transitions)" % (
            with_r.states, without.states, 100.0 * with_r.states / max(without.states, 1),
            100.0 * with_r.transitions / max(without.transitions, 1)))
        print("target: <= 10 s wall for the exhaustive check: %s" % ("met" if rows[0][2] <= 10 else "MISSED"))


if __name__ == "__main__":
    main()
