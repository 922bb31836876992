"""Bench: all of a review's simulations on the full Debian linux-source-6.1 tree, for a
one-patch series that changes the tree's DAX fault path (fs/dax.c) and do_cow_fault().
Prints each run's states and wall time, the total, and the whole `review` wall time.
Target (issue 9): all simulations of a review together <= 5 s."""
from __future__ import annotations

import difflib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from reviewbot.sim import scenarios, simulate  # noqa: E402
from reviewbot.sim.coverage import changed_between  # noqa: E402
from reviewbot.sim.program import Program  # noqa: E402
from reviewbot.sim.series import run_series  # noqa: E402
from support.kernel import kernel_path  # noqa: E402

NEEDLE = "\tif ((vmf->flags & FAULT_FLAG_WRITE) && !vmf->cow_page)\n\t\titer.flags |= IOMAP_WRITE;\n"
CHANGE = ("\t/* a private write fault copies; only a shared one writes the file */\n"
          "\tif ((vmf->flags & FAULT_FLAG_WRITE) && vmf->cow_page == NULL)\n\t\titer.flags |= IOMAP_WRITE;\n")


def mail(diff: str) -> str:
    return ("From bench Thu Jan  1 00:00:00 2015\nFrom: Bench <bench@example.org>\n"
            "To: linux-mm@kvack.org\nSubject: [PATCH 1/1] dax: say why a COW fault does not write\n"
            "Message-ID: <bench-sim-review@example.org>\nDate: Thu, 1 Jan 2015 00:00:00 +0000\n\n"
            "Spell the COW test of the PTE fault path out.\n\nSigned-off-by: Bench <bench@example.org>\n---\n"
            + diff + "-- \n2.39.5\n\n")


def main() -> None:
    kernel = Path(sys.argv[1]) if len(sys.argv) > 1 else kernel_path()
    old = (kernel / "fs/dax.c").read_text()
    assert old.count(NEEDLE) == 1
    new = old.replace(NEEDLE, CHANGE)

    def read(p):
        if p == "fs/dax.c":
            return new.encode()
        f = kernel / p
        return f.read_bytes() if f.is_file() else None

    print(f"tree: {kernel}; machine shared with other agents (2 cores): wall times are noisy")
    changed = changed_between("fs/dax.c", old.encode(), new.encode())
    t0 = time.monotonic()
    ser = run_series(read, changed)
    total = time.monotonic() - t0
    print(f"review simulations (series runner, one process, parse included): verdict {ser.verdict}, "
          f"{ser.states} states, {total:.2f} s")
    prog = Program(read, {})
    print("%-24s %-9s %7s %8s" % ("scenario", "verdict", "states", "wall s"))
    for name in ser.results:
        t = time.monotonic()
        res = simulate(read, name, {"preemptions": None}, changed, False, prog)
        print("%-24s %-9s %7d %8.2f" % (name, res.verdict, res.states, time.monotonic() - t))
    print("scenarios the tree offers:", ", ".join(scenarios.review_set(prog)))
    print("target: all of a review's simulations <= 5 s: %s" % ("met" if total <= 5 else "MISSED"))
    diff = "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), "a/fs/dax.c", "b/fs/dax.c"))
    with tempfile.TemporaryDirectory() as td:
        mbox = Path(td) / "series.mbox"
        mbox.write_text(mail("diff --git a/fs/dax.c b/fs/dax.c\n" + diff))
        t = time.monotonic()
        r = subprocess.run([sys.executable, "-m", "reviewbot", "review", "--mbox", str(mbox), "--tree",
                            str(kernel), "--base", "HEAD", "--format", "json"], capture_output=True, text=True)
        wall = time.monotonic() - t
    print(f"`reviewbot review` of that patch on the full tree (apply, index, rules, simulations): "
          f"exit {r.returncode}, {wall:.2f} s wall")
    if r.returncode not in (0, 1):
        print(r.stderr.strip())
    else:
        import json
        rep = json.loads(r.stdout)
        print("findings:", [f["rule"] for f in rep["findings"]], "skipped:",
              [s["check"] + ": " + s["reason"][:80] for s in rep["skipped"]])


if __name__ == "__main__":
    main()
