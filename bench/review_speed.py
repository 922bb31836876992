"""Issue 2's figures on the full linux-source-6.1 tree: field-init whole-tree scan vs `spatch -j1`
with the equivalent semantic patch, `reviewbot review` of a one-patch series, and of a 20-patch
series served by a local public-inbox (fetch included). Prints figures; asserts nothing.

usage: .venv/bin/python bench/review_speed.py [KERNEL_TREE]   (default: the .ci cache)"""
from __future__ import annotations

import os
import re
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
from support.pi import PublicInbox  # noqa: E402
from test_review_kernel import COCCI, SNAP_FN  # noqa: E402

from reviewbot import cindex  # noqa: E402
from reviewbot.tree import Repo, TreeView  # noqa: E402
from reviewbot_rules.field_init import scan_sites  # noqa: E402


def timed(fn, runs=3):
    best, out = None, None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t
        best = dt if best is None else min(best, dt)
    return best, out


def review(*args) -> tuple[float, subprocess.CompletedProcess]:
    def go():
        return subprocess.run([sys.executable, "-m", "reviewbot", "review", *args],
                              capture_output=True, text=True, cwd="/")
    return timed(go)


def main() -> None:
    kernel = Path(sys.argv[1]) if len(sys.argv) > 1 else kernel_path()
    files = int(subprocess.run(["git", "-C", str(kernel), "ls-files"], capture_output=True,
                               text=True).stdout.count("\n"))
    print(f"tree: {kernel} ({files} files)")

    # 1. field-init whole-tree scan vs Coccinelle -j1, same site list
    def scan():
        repo = Repo(kernel)
        view = TreeView(repo, repo.head())
        order = cindex.struct_member_order(view.read("include/linux/mm.h"), "vm_fault")
        return sorted(f"{cs.file}:{cs.line}" for cs, *_r in scan_sites(view, "vm_fault",
                                                                          "cow_page", order))
    t_scan, ours = timed(scan)
    with tempfile.TemporaryDirectory() as tmp:
        cocci = Path(tmp) / "sites.cocci"
        cocci.write_text(COCCI)
        t0 = time.perf_counter()
        out = subprocess.run(["spatch", "--very-quiet", "--include-headers", "-j", "1",
                              "--sp-file", str(cocci), "--dir", str(kernel)],
                             capture_output=True, text=True)
        t_spatch = time.perf_counter() - t0
    theirs = sorted({os.path.relpath(m.group(1), kernel) + ":" + m.group(2)
                     for m in re.finditer(r"^SITE (.+):(\d+)$", out.stdout, re.M)})
    print(f"field-init scan: {t_scan:.2f} s for {len(ours)} sites (best of 3)")
    print(f"spatch -j1:      {t_spatch:.2f} s for {len(theirs)} sites")
    print(f"ratio:           {t_spatch / t_scan:.1f}x; same site list: {ours == theirs}")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # 2. one-patch series on the full tree, applying included
        mm_h = show(kernel, "HEAD", "include/linux/mm.h")
        new_h = replace_once(mm_h, "\tstruct page *cow_page;", "\tunsigned long fault_seq;\n"
                             "\tstruct page *cow_page;")
        mem = show(kernel, "HEAD", "mm/memory.c")
        one = patch_mail("mm: add fault_seq", "bench-one@example.org",
                         [file_diff(kernel, "include/linux/mm.h", mm_h, new_h),
                          file_diff(kernel, "mm/memory.c", mem, mem + SNAP_FN)])
        (tmp / "one.mbox").write_text(one)
        t1, r1 = review("--mbox", str(tmp / "one.mbox"), "--tree", str(kernel), "--no-simulate")
        print(f"review, 1 patch, full tree: {t1:.2f} s (exit {r1.returncode}; best of 3)")
        t1s, r1s = review("--mbox", str(tmp / "one.mbox"), "--tree", str(kernel))
        print(f"  same with the simulator:  {t1s:.2f} s (exit {r1s.returncode})")

        # 3. 20-patch series from a local public-inbox, fetch included
        head = subprocess.run(["git", "-C", str(kernel), "rev-parse", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
        targets = sorted(p for p in subprocess.run(
            ["git", "-C", str(kernel), "ls-files", "mm/*.c"], capture_output=True,
            text=True).stdout.split() if "/" not in p[3:])[:20]
        mails = [cover_mail("mm: twenty small comment fixes", "bench-20-0@example.org", 20, head)]
        for i, path in enumerate(targets, 1):
            old = show(kernel, "HEAD", path)
            new = old.replace("\n", f"\n/* bench note {i} */\n", 1)
            mails.append(patch_mail(f"{path}: add a note", f"bench-20-{i}@example.org",
                                    [file_diff(kernel, path, old, new)], n=i, total=20,
                                    in_reply_to="bench-20-0@example.org"))
        (tmp / "s20.mbox").write_text("".join(m if m.endswith("\n") else m + "\n" for m in mails))
        ibx = PublicInbox(tmp / "pi")
        ibx.create()
        ibx.start()
        try:
            ibx.import_mbox(tmp / "s20.mbox")
            t20, r20 = review("bench-20-3@example.org", "--inbox", ibx.url, "--tree", str(kernel),
                              "--format", "json")
        finally:
            ibx.stop()
        import json
        series = json.loads(r20.stdout)["series"] if r20.stdout else {}
        print(f"review, 20 patches via public-inbox, full tree: {t20:.2f} s (exit "
              f"{r20.returncode}; {len(series.get('patches', []))} messages, mode "
              f"{series.get('mode')}, applied {series.get('applied')}; best of 3)")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
