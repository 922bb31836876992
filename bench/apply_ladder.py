"""Issue 7's figure: what the apply ladder adds to a review whose series applies cleanly, on the
full linux-source-6.1 tree (budget: 0.5 s). Times the apply stage of a clean 2-file patch with
the ladder and with the single `git apply --cached --3way` it replaced, and `reviewbot review`
of the clean patch and of the same patch made to need fuzz. Prints figures; asserts nothing.

usage: .venv/bin/python bench/apply_ladder.py [KERNEL_TREE]   (default: the .ci cache)"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from support.kernel import kernel_path  # noqa: E402
from test_apply_ladder import seq_diffs, seq_mail  # noqa: E402

from review_speed import timed  # noqa: E402

from reviewbot.diff import PatchDiff, parse_diff_text  # noqa: E402
from reviewbot.review import at_claimed_lines  # noqa: E402
from reviewbot.series import Patch  # noqa: E402
from reviewbot.tree import Repo, TreeView  # noqa: E402


def single_3way(repo: Repo, base: str, body: str, paths: list[str]) -> int:
    """The apply stage before the ladder: one `git apply --cached --3way` into a temp index."""
    with tempfile.TemporaryDirectory(prefix="reviewbot-bench-") as tmp:
        env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
        listing = repo._git("ls-tree", "-r", "--full-tree", base, "--", *paths).stdout
        repo._git("update-index", "--add", "--index-info", env=env, stdin=listing)
        r = repo._git("apply", "--cached", "--3way", "--whitespace=nowarn", "-", env=env,
                      stdin=body.encode())
        repo._git("ls-files", "-s", "--", *paths, env=env)
        return r.returncode


def main() -> None:
    kernel = Path(sys.argv[1]) if len(sys.argv) > 1 else kernel_path()
    repo = Repo(kernel)
    base = repo.head()
    print(f"tree: {kernel} at {base[:12]}; machine shared with other jobs (2 cores): "
          "best of 3 runs")
    for label, drift in (("clean", False), ("needs fuzz", True)):
        mail = seq_mail(seq_diffs(kernel, drift_header=drift))
        body = mail.split("\n\n", 1)[1]
        files = parse_diff_text(body, "bench")
        paths = [f.path for f in files]
        def ladder():
            """The apply stage with the ladder: apply_series plus the check that the hunks sit
            where their headers say (else they are re-read in the tree's line numbers)."""
            res = repo.apply_series(base, [("m", 1, body, files)])
            after = TreeView(repo, base).with_overlay(res[0].overlay, "after")
            patch = Patch("m", "s", "s", 1, 1, "a", "a", "", body)
            at_claimed_lines(PatchDiff(patch, files), after)
            return res
        t_ladder, res = timed(ladder)
        t_old, rc = timed(lambda: single_3way(repo, base, body, paths))
        print(f"apply stage, {label} patch: ladder {t_ladder * 1000:.0f} ms "
              f"(step {res[0].step}); single --3way {t_old * 1000:.0f} ms "
              f"({'applied' if rc == 0 else 'failed'}); ladder adds "
              f"{(t_ladder - t_old) * 1000:+.0f} ms")
        with tempfile.TemporaryDirectory() as tmp:
            mbox = Path(tmp) / "s.mbox"
            mbox.write_text(mail)

            def go():
                return subprocess.run([sys.executable, "-m", "reviewbot", "review", "--mbox",
                                       str(mbox), "--tree", str(kernel), "--no-simulate",
                                       "--format", "json"], capture_output=True, cwd="/")
            t_rev, _r = timed(go, runs=3)
        print(f"reviewbot review, {label} patch: {t_rev:.2f} s (best of 3)")


if __name__ == "__main__":
    main()
