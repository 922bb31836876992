"""Issue 10's figures on the full linux-source-6.1 tree: `reviewbot review` of 1-, 5- and
20-patch series that each add a struct vm_fault member and a construction site and change a test
of a VM_FAULT bit (so both rules search the whole tree), first with an empty word index and then
again on the same base; the peak RSS of each; and `spatch -j1` listing the same construction
sites on the same patched tree. Prints figures; asserts nothing.

usage: .venv/bin/python bench/review_speed.py [KERNEL_TREE]   (default: the .ci cache)"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from kpatch import cover_mail, file_diff, patch_mail, replace_once, show  # noqa: E402
from support.kernel import kernel_path  # noqa: E402
from test_review_kernel import COCCI, SNAP_FN  # noqa: E402

MEMBER = ("\tstruct page *cow_page;", "\tunsigned long fault_seq;\n\tstruct page *cow_page;")
TEST = ("\tif (ret & VM_FAULT_DONE_COW)\n", "\tif (ret & (VM_FAULT_DONE_COW | VM_FAULT_LOCKED))\n")


def series(kernel: Path, n: int) -> tuple[str, dict[str, str]]:
    """An n-patch mbox: the member (patch 1), n-2 small edits of other mm files, and the new
    construction site plus the changed bit test in mm/memory.c (patch n); one patch when n=1."""
    head = subprocess.run(["git", "-C", str(kernel), "rev-parse", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    mm_h = show(kernel, "HEAD", "include/linux/mm.h")
    mem = show(kernel, "HEAD", "mm/memory.c")
    files = {"include/linux/mm.h": replace_once(mm_h, *MEMBER),
             "mm/memory.c": replace_once(mem, *TEST) + SNAP_FN}
    member = file_diff(kernel, "include/linux/mm.h", mm_h, files["include/linux/mm.h"])
    site = file_diff(kernel, "mm/memory.c", mem, files["mm/memory.c"])
    tag = f"speed{n}"
    if n == 1:
        return patch_mail("mm: add fault_seq", f"{tag}-1@example.org", [member, site],
                          base=head), files
    others = sorted(p for p in subprocess.run(
        ["git", "-C", str(kernel), "ls-files", "mm/*.c"], capture_output=True,
        text=True).stdout.split() if "/" not in p[3:] and p != "mm/memory.c")[:n - 2]
    diffs = [member]
    for path in others:
        old = show(kernel, "HEAD", path)
        files[path] = old.replace("\n", "\n/* bench note */\n", 1)
        diffs.append(file_diff(kernel, path, old, files[path]))
    diffs.append(site)
    mails = [cover_mail("mm: fault_seq", f"{tag}-0@example.org", n, head)]
    mails += [patch_mail(f"mm: step {i}", f"{tag}-{i}@example.org", [d], n=i, total=n,
                         in_reply_to=f"{tag}-0@example.org") for i, d in enumerate(diffs, 1)]
    return "".join(m if m.endswith("\n") else m + "\n" for m in mails), files


CPU: list[float] = []


def review(mbox: Path, kernel: Path, cache: Path, *extra: str) -> tuple[float, int, dict, int]:
    """Seconds, peak RSS in KiB, the JSON report and the exit status of one review. The CPU
    seconds (user+sys, git's included) go to CPU[-1]: on a loaded machine they say what the
    review costs where the wall time says how long it waited."""
    env = dict(os.environ, REVIEWBOT_CACHE=str(cache))
    t = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-m", "reviewbot", "review", "--mbox", str(mbox),
                          "--tree", str(kernel), "--format", "json", *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd="/")
    out, err = p.stdout.read(), p.stderr.read()
    _pid, status, usage = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t
    CPU.append(usage.ru_utime + usage.ru_stime)
    rc = os.waitstatus_to_exitcode(status)
    if rc == 2:
        sys.exit(f"review failed: {err.decode()[-400:]}")
    return dt, usage.ru_maxrss, json.loads(out), rc


def spatch_sites(kernel: Path, files: dict[str, str], tmp: Path) -> tuple[float, list[str]]:
    """`spatch -j1` over the whole patched tree: a copy of the tree's files with the series'
    files written in place. A real copy, not hard links: linking changes the cached tree's
    inode ctimes, and git would then re-read every file to tell it is unchanged."""
    root = tmp / "patched"
    root.mkdir()
    subprocess.run(f"git -C {shlex.quote(str(kernel))} archive HEAD | tar -x -C "
                   f"{shlex.quote(str(root))}", shell=True, check=True)
    for path, text in files.items():
        (root / path).write_text(text)
    (tmp / "sites.cocci").write_text(COCCI)
    t = time.perf_counter()
    out = subprocess.run(["spatch", "--very-quiet", "--include-headers", "-j", "1",
                          "--sp-file", str(tmp / "sites.cocci"), "--dir", str(root)],
                         capture_output=True, text=True)
    dt = time.perf_counter() - t
    shutil.rmtree(root)
    return dt, sorted({os.path.relpath(m.group(1), root) + ":" + m.group(2)
                       for m in re.finditer(r"^SITE (.+):(\d+)$", out.stdout, re.M)})


def main() -> None:
    kernel = Path(sys.argv[1]) if len(sys.argv) > 1 else kernel_path()
    print(f"tree: {kernel}; load average at start {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} cores")
    # "first" means an empty word index and memo, not a cold disk: read the tree once so the
    # page cache holds it (an idle host may have dropped it; that read is printed apart)
    t = time.perf_counter()
    subprocess.run(["git", "-C", str(kernel), "grep", "-q", "-F", "no such word in a tree"],
                   capture_output=True)
    print(f"page cache warm-up (one git grep of the tree): {time.perf_counter() - t:.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for n in (1, 5, 20):
            text, files = series(kernel, n)
            mbox = tmp / f"s{n}.mbox"
            mbox.write_text(text)
            cache = tmp / f"cache{n}"          # an empty word index: a first review
            t1, rss1, rep, rc = review(mbox, kernel, cache, "--no-simulate")
            t2, rss2, rep2, _ = review(mbox, kernel, cache, "--no-simulate")
            c1, c2 = CPU[-2:]
            t3, rss3, _r, _ = review(mbox, kernel, cache)
            rules = sorted({f["rule"] for f in rep["findings"]})
            fi = [f for f in rep["findings"] if f["rule"] == "field-init"]
            ours = sorted(f"{s['file']}:{s['line']}" for s in fi[0]["sites"]) if fi else []
            same = json.dumps(rep, sort_keys=True) == json.dumps(rep2, sort_keys=True)
            print(f"{n:2d} patches: first review {t1:.2f} s ({c1:.2f} s CPU), repeat {t2:.2f} s "
                  f"({c2:.2f} s CPU) "
                  f"(peak RSS {max(rss1, rss2) / 1024:.0f} MB); with the simulator {t3:.2f} s "
                  f"({rss3 / 1024:.0f} MB); exit {rc}; applied {rep['series'].get('applied')}; "
                  f"rules with findings: {', '.join(rules) or 'none'}; {len(ours)} sites; "
                  f"repeat output identical: {same}")
            if n == 1:
                ts, theirs = spatch_sites(kernel, files, tmp)
                print(f"spatch -j1 on the same patched tree: {ts:.2f} s for {len(theirs)} sites;"
                      f" same site list: {ours == theirs}; {ts / t1:.1f}x the first review, "
                      f"{ts / t2:.1f}x the repeat")


if __name__ == "__main__":
    main()
