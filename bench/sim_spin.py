"""Bench: SPIN cross-check of the seed scenario: our verdict and state count next to SPIN's
(spin -a, cc, ./pan) for the COW series and for the variant missing the !pte_same unlock."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from reviewbot.sim import promela, simulate  # noqa: E402
from reviewbot.sim.run import prepare  # noqa: E402
from sim_fixtures import apply_thread, reader  # noqa: E402


def spin(model: str, work: Path):
    (work / "m.pml").write_text(model)
    t0 = time.monotonic()
    subprocess.run(["spin", "-a", "m.pml"], cwd=work, check=True, capture_output=True)
    subprocess.run(["cc", "-O2", "-DSAFETY", "-o", "pan", "pan.c"], cwd=work, check=True, capture_output=True)
    p = subprocess.run(["./pan", "-m100000"], cwd=work, capture_output=True, text=True)
    dt = time.monotonic() - t0
    errors = int(re.search(r"errors: (\d+)", p.stdout).group(1))
    states = int(re.search(r"(\d+) states, stored", p.stdout).group(1))
    why = ""
    m = re.search(r"pan:\d+: (.*)", p.stdout)
    if m:
        why = m.group(1).strip()
    return ("violated" if errors else "holds"), states, why, dt


def main():
    if not shutil.which("spin"):
        print("spin is not installed (apt-get install spin)")
        return 2
    with tempfile.TemporaryDirectory() as td:
        print("%-20s %-9s %-8s %7s %8s | %-9s %8s %7s  %s" % (
            "tree", "knobs", "ours", "states", "wall s", "spin", "states", "wall s", "spin says"))
        for thread in ("cow", "cow-missing-unlock"):
            tree = apply_thread(Path(td) / thread, thread)
            t0 = time.monotonic()
            res = simulate(reader(tree), "cow-read-truncate", {"preemptions": None})
            ours_dt = time.monotonic() - t0
            prog, _, _ = prepare(reader(tree), "cow-read-truncate")
            k = promela.knobs(prog)
            work = Path(td) / (thread + ".spin")
            work.mkdir()
            verdict, states, why, dt = spin(promela.export(prog), work)
            print("%-20s %-9s %-8s %7d %8.2f | %-9s %8d %7.2f  %s" % (
                thread, "cow=%d,u=%d" % (k["handler_does_cow"], k["cow_unlocks"]), res.verdict, res.states,
                ours_dt, verdict, states, dt, why))
        print("(ours: the tree's C interpreted, 1 pgoff; SPIN: the same scenario as a hand-mapped Promela "
              "model parameterised by facts read from the tree's IR)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
