"""Time and peak memory (RSS) of each row of issue 13's table of bounds, one child process a
row: `python bench/bounds.py [--kernel DIR] [--only NAME,...]`. The tests (tests/test_bounds.py)
check what each row does; this prints what it costs on this machine."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support import shapes  # noqa: E402
from support.kernel import kernel_path  # noqa: E402

from reviewbot import corpus  # noqa: E402


def run(argv: list[str], stdin: bytes | None = None) -> tuple[float, float, int, str]:
    """(seconds, peak RSS in MB of this child alone, exit status, last stderr line)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen([sys.executable, "-m", "reviewbot", *argv], stdout=out,
                             stderr=err, stdin=subprocess.DEVNULL)
        _pid, status, usage = os.wait4(p.pid, 0)     # the rusage of this one child
        dt = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        last = (err.read().decode(errors="replace").strip().splitlines() or [""])[-1]
    return dt, usage.ru_maxrss / 1024, p.returncode, last[:100]


def rows(tmp: Path, tree: Path, kernel: Path | None):
    review = ["review", "--format", "json", "--no-simulate", "--mbox"]
    w = lambda name, text: str(shapes.write(tmp, name, text))  # noqa: E731
    yield "multipart nested 3,000 deep", review + [w("m", shapes.mime_nested(3000)),
                                                    "--tree", str(tree)], None
    yield "C nested 3,000 parentheses", review + [w("p", shapes.deep_in_fault_path(parens=3000)),
                                                   "--tree", str(tree)], None
    yield "C nested 1,500 blocks", review + [w("b", shapes.deep_in_fault_path(blocks=1500)),
                                              "--tree", str(tree)], None
    yield "100,000-line diff, tree", review + [w("d", shapes.many_functions(100_000)),
                                                "--tree", str(tree)], None
    yield "20,000-character line, checklist", ["checklist", "--no-simulate", "--mbox",
                                               w("l", shapes.long_line(20000)),
                                               "--tree", str(tree)], None
    trace = tmp / "t.json"
    trace.write_text(json.dumps({"trace": [{"thread": "TR", "action": "x" * 10_000_000}]}))
    yield "10 MB replay action string", ["simulate", "--tree", str(tree), "--replay",
                                         str(trace)], None
    yield "a 3.5 MB mail (within the budget)", review + [w("s", shapes.big_mail(3.5)),
                                                          "--tree", str(tree)], None
    yield "a 30 MB mail", review + [w("g", shapes.big_mail(30)), "--tree", str(tree)], None
    thread = "".join(shapes.big_mail(3.5).replace("bounds@example.org", f"b{i}@example.org")
                     for i in range(4))
    yield "a 14 MB thread of 3.5 MB mails", review + [w("t", thread), "--tree", str(tree)], None
    if kernel is not None:
        for n in (250, 500, 5000):
            yield f"{n:,} new members, 6.1 tree", review + [
                w(f"k{n}", shapes.kernel_members(kernel, n)), "--tree", str(kernel)], None
        yield "member added to struct list_head, 6.1 tree", review + [
            w("lh", shapes.list_head_member(kernel)), "--tree", str(kernel)], None
        yield "member added in a #define body (kfifo), 6.1 tree", review + [
            w("mac", shapes.macro_member(kernel)), "--tree", str(kernel)], None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kernel", help="the 6.1 tree (default: the cached one, if present)")
    ap.add_argument("--only", help="comma-separated substrings of row names")
    args = ap.parse_args()
    kernel = Path(args.kernel) if args.kernel else None
    if kernel is None:
        try:
            kernel = kernel_path()
        except Exception:
            kernel = None
    with tempfile.TemporaryDirectory(prefix="bench-bounds-") as d:
        tmp = Path(d)
        tree = tmp / "tree"
        corpus.build_tree_repo(tree)
        os.environ.setdefault("REVIEWBOT_NO_MEMO", "1")   # measure the work, not the memo
        print(f"{'row':46} {'time':>8} {'RSS':>8} exit  last stderr line")
        for name, argv, stdin in rows(tmp, tree, kernel):
            if args.only and not any(o in name for o in args.only.split(",")):
                continue
            dt, rss, rc, last = run(argv, stdin)
            print(f"{name:46} {dt:7.2f}s {rss:6.0f}MB {rc:4}  {last}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
