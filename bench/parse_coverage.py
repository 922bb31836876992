"""Issue 7's figure: the share of function definitions cparse indexes across mm/, fs/,
include/linux/ and arch/*/mm of the full linux-source-6.1 tree (aim: at least 99.5%).

A function definition is counted the way kernel style writes one: a `{` alone at column 0
whose previous non-blank line closes a parameter list (`)`, maybe followed by attributes). It
is indexed when cparse.functions() returns a function whose body opens on that line.
Prints the figure per area and the first unindexed definitions; asserts nothing.

usage: .venv/bin/python bench/parse_coverage.py [KERNEL_TREE] [--list N]"""
from __future__ import annotations

import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.kernel import kernel_path  # noqa: E402

from reviewbot import cparse  # noqa: E402

AREAS = ("mm/", "fs/", "include/linux/", "arch/*/mm/")
CLOSES_PARAMS = re.compile(rb"\)\s*(?:__\w+(?:\([^)]*\))?\s*)*(?:/\*.*\*/\s*)?$")


def definitions(src: bytes) -> list[int]:
    """1-based lines of the `{` that opens each function body, by kernel layout."""
    lines = src.split(b"\n")
    out, prev = [], b""
    in_comment = False
    for i, line in enumerate(lines, 1):
        if line.rstrip() == b"{" and CLOSES_PARAMS.search(prev.rstrip()) and not in_comment \
                and not prev.lstrip().startswith((b"#", b"*", b"//")):
            out.append(i)
        if line.strip():
            prev = line
        if b"/*" in line and b"*/" not in line.split(b"/*")[-1]:
            in_comment = True
        if in_comment and b"*/" in line:
            in_comment = False
    return out


def indexed_bodies(src: bytes) -> set[int]:
    out = set()
    for f in cparse.functions(src):
        body = f.node.child_by_field_name("body") if f.node is not None else None
        if body is not None:
            out.add(body.start_point[0] + 1)
    return out


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    show = int(sys.argv[sys.argv.index("--list") + 1]) if "--list" in sys.argv else 15
    if "--list" in sys.argv:
        args = [a for a in args if a != str(show)]
    kernel = Path(args[0]) if args else kernel_path()
    files = subprocess.run(["git", "-C", str(kernel), "ls-files", "--", *[a + "*.[ch]"
                                                                          for a in AREAS]],
                           capture_output=True, text=True, check=True).stdout.split()
    total, hit = Counter(), Counter()
    missed: list[str] = []
    t0 = time.perf_counter()
    for path in files:
        src = (kernel / path).read_bytes()
        defs = definitions(src)
        if not defs:
            continue
        area = next(a for a in ("mm/", "fs/", "include/linux/") if path.startswith(a)) \
            if not path.startswith("arch/") else "arch/*/mm/"
        got = indexed_bodies(src)
        total[area] += len(defs)
        for ln in defs:
            if ln in got:
                hit[area] += 1
            else:
                missed.append(f"{path}:{ln}")
    dt = time.perf_counter() - t0
    print(f"tree: {kernel}; {len(files)} files parsed in {dt:.0f} s (machine shared with "
          "other jobs)")
    for area in AREAS:
        if total[area]:
            print(f"  {area:15} {hit[area]:6}/{total[area]:6} = "
                  f"{100 * hit[area] / total[area]:.2f}%")
    n, h = sum(total.values()), sum(hit.values())
    print(f"function definitions indexed: {h}/{n} = {100 * h / n:.2f}% (aim >= 99.5%)")
    for m in missed[:show]:
        print(f"  not indexed: {m}")


if __name__ == "__main__":
    main()
