"""Regenerate the precision corpus from cases.py: one patch mail per case in patches/, shaped
as `git format-patch` writes it (hunk headers name the last line before the hunk that starts
with a letter, as git's default does), and expected.json. `--check` verifies, writes nothing."""
from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from cases import CASES  # noqa: E402

FUNCNAME = re.compile(r"^[A-Za-z_$]")


def file_diff(path: str, old: str, new: str) -> str:
    a, b = old.splitlines(True), new.splitlines(True)
    out = [f"diff --git a/{path} b/{path}\n", f"--- a/{path}\n", f"+++ b/{path}\n"]
    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(3):
        i1, i2, j1, j2 = group[0][1], group[-1][2], group[0][3], group[-1][4]
        section = next((ln.rstrip("\n") for ln in reversed(a[:i1]) if FUNCNAME.match(ln)), "")
        out.append(f"@@ -{i1 + 1},{i2 - i1} +{j1 + 1},{j2 - j1} @@"
                   + (f" {section[:80]}" if section else "") + "\n")
        for tag, x1, x2, y1, y2 in group:
            if tag == "equal":
                out += [" " + ln for ln in a[x1:x2]]
                continue
            out += ["-" + ln for ln in a[x1:x2]]
            out += ["+" + ln for ln in b[y1:y2]]
    return "".join(ln if ln.endswith("\n") else ln + "\n\\ No newline at end of file\n"
                   for ln in out)


def build_tree(files: dict[str, str], dest: Path) -> Path:
    """A git repository at `dest` holding `files` (path -> text) in one commit, for reviewing
    a case's patch with a tree."""
    for path, text in files.items():
        (dest / path).parent.mkdir(parents=True, exist_ok=True)
        (dest / path).write_text(text)
    env = dict(os.environ, GIT_AUTHOR_NAME="corpus", GIT_AUTHOR_EMAIL="corpus@example.org",
               GIT_COMMITTER_NAME="corpus", GIT_COMMITTER_EMAIL="corpus@example.org")
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "base"]):
        subprocess.run(["git", "-C", str(dest), *cmd], check=True, env=env)
    return dest


def before_files(case: dict) -> dict[str, str]:
    return {path: old for path, (old, _new) in case["files"].items()}


def patch_mail(i: int, case: dict) -> str:
    name = case["name"]
    diffs = "".join(file_diff(p, old, new) for p, (old, new) in case["files"].items()
                    if old != new)
    return (f"From reviewbot-precision Mon Sep 17 00:00:00 2001\n"
            f"From: Corpus Author <author@example.org>\n"
            f"To: linux-mm@kvack.org\n"
            f"Date: Thu, 01 Sep 2016 09:{i // 60:02d}:{i % 60:02d} +0000\n"
            f"Subject: [PATCH] {case['subject']}\n"
            f"Message-ID: <precision-{name}@example.org>\n"
            f"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n"
            f"{case['changelog']}\n\nSigned-off-by: Corpus Author <author@example.org>\n---\n"
            f"{diffs}-- \n2.9.3\n")


def outputs() -> dict[str, str]:
    files = {}
    expected = []
    for i, case in enumerate(CASES, 1):
        fname = f"patches/{i:02d}-{case['name']}.patch"
        files[fname] = patch_mail(i, case)
        expected.append({"patch": fname, "kind": case["kind"],
                         "findings": case.get("expect", []),
                         "skipped": case.get("expect_skipped", [])})
    files["expected.json"] = json.dumps(expected, indent=1, sort_keys=True) + "\n"
    return files


def main(argv: list[str]) -> int:
    files = outputs()
    if "--check" in argv:
        stale = [n for n, t in files.items() if not (HERE / n).exists()
                 or (HERE / n).read_text() != t]
        listed = {str(p.relative_to(HERE)) for p in (HERE / "patches").glob("*.patch")}
        stale += sorted(listed - set(files))
        for n in stale:
            print(f"stale: {n}")
        return 1 if stale else 0
    (HERE / "patches").mkdir(exist_ok=True)
    for p in (HERE / "patches").glob("*.patch"):
        if str(p.relative_to(HERE)) not in files:
            p.unlink()
    for n, t in files.items():
        (HERE / n).write_text(t)
    print(f"{len(files) - 1} patches written")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
