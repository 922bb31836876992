"""Bench: exploration speed of the simulator (states per second, parse excluded) on the
largest scenarios of the corpus tree with the COW series and of the 6.1 tree.  Each run is
repeated; the figure is the least CPU time of the repeats (the machine is shared, and the
least is the one other load disturbed least).  Run it before and after a change to the
interpreter, the state or the primitives."""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from reviewbot.sim import simulate  # noqa: E402
from reviewbot.sim.program import Program  # noqa: E402
from sim_fixtures import apply_thread, reader  # noqa: E402
from support.kernel import kernel_path  # noqa: E402

CORPUS = ("cow-read-truncate", "cow-cow-truncate", "dax-cow-read-truncate", "pagecache-cow-read-truncate",
          "model-pagecache-cow-read-truncate")
KERNEL = ("dax-cow-read-truncate", "dax-read-cow-hole", "mkwrite-hole")
REPEAT = 5


def measure(read_file, names, label):
    prog = Program(read_file, {})
    rows = []
    for name in names:
        cpus = []
        for _ in range(REPEAT):
            t0 = time.process_time()
            res = simulate(read_file, name, {"preemptions": None, "max_seconds": 600}, program=prog)
            cpus.append(time.process_time() - t0)
        rows.append((label, name, res.verdict, res.states, res.transitions, min(cpus), statistics.median(cpus)))
    return rows


def main() -> None:
    with tempfile.TemporaryDirectory() as td:
        rows = measure(reader(apply_thread(Path(td) / "tree", "cow")), CORPUS, "corpus+cow")
    kernel = Path(sys.argv[1]) if len(sys.argv) > 1 else kernel_path()
    if kernel.is_dir():
        rows += measure(reader(kernel), KERNEL, "6.1")
    print("machine shared with other agents (2 cores): CPU seconds, least and median of %d runs" % REPEAT)
    print("%-11s %-34s %-9s %7s %11s %8s %8s %9s" % ("tree", "scenario", "verdict", "states", "transitions",
                                                       "least s", "median s", "states/s"))
    for label, name, verdict, states, trans, least, med in rows:
        print("%-11s %-34s %-9s %7d %11d %8.3f %8.3f %9.0f" % (label, name, verdict, states, trans, least, med,
                                                              states / least))
    states, least, med = sum(r[3] for r in rows), sum(r[5] for r in rows), sum(r[6] for r in rows)
    print("total: %d states, %.2f CPU s (least), %.2f (median), %.0f states/s" % (states, least, med, states / least))


if __name__ == "__main__":
    main()
