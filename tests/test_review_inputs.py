"""What reviewers actually have: one patch of a series, a checkout that is no kernel tree, the
README's first command, and a fresh clone without ../shared beside it."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from reviewbot import corpus
from support.env import shared_thread
from support.mbox import read_mboxrd, write_mboxrd

ROOT = Path(__file__).resolve().parent.parent
COW_2014 = "C01-v11-04-21-mm-allow-page-fault-handlers-to-perform-the-cow.mbox"
XIP_2014 = "C02-v12-03-20-mm-fix-xip-fault-vs-truncate-race.mbox"


def reviewbot(*args, cwd="/", env=None):
    return subprocess.run([sys.executable, "-m", "reviewbot", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=600, env={**os.environ, **(env or {})})


def review_json(*args, cwd="/") -> dict:
    r = reviewbot("review", "--format", "json", "--no-simulate", *args, cwd=cwd)
    assert r.returncode in (0, 1, 3), r.stderr      # 3: no warning, and nothing applied
    return json.loads(r.stdout)


def skips(rep: dict, check: str) -> list[str]:
    return [s["reason"] for s in rep["skipped"] if s["check"] == check]


# ---- 5: the README's first command ------------------------------------------------------
def test_readme_first_command_exits_zero_and_still_prints_findings():
    line1 = (ROOT / "README.md").read_text().splitlines()[0]
    cmd = shlex.split(line1.split("&&", 1)[1])
    assert cmd[0] == ".venv/bin/reviewbot" and "--exit-zero" in cmd
    r = reviewbot(*cmd[1:], "--no-simulate")
    assert r.returncode == 0, r.stderr
    assert "WARNING:FIELD_INIT:" in r.stdout
    without = reviewbot(*[a for a in cmd[1:] if a != "--exit-zero"], "--no-simulate")
    assert without.returncode == 1 and without.stdout == r.stdout


def test_exit_zero_does_not_hide_errors():
    r = reviewbot("review", "--bundled", "no-such-thread", "--exit-zero")
    assert r.returncode == 2 and r.stderr.startswith("reviewbot: no-such-thread: ")


# ---- 4: a checkout that is not the series' tree ---------------------------------------------
def test_unrelated_checkout_falls_back_to_diff_only_with_a_note(tmp_path):
    work = tmp_path / "webapp"
    work.mkdir()
    (work / "app.py").write_text("print('hello')\n")
    git = ["git", "-C", str(work), "-c", "user.name=u", "-c", "user.email=u@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "app"], check=True)
    r = reviewbot("review", "--mbox", str(corpus.thread_path("cow-missing-init")), "--format",
                  "json", "--no-simulate", cwd=work)
    assert r.returncode == 1, r.stderr
    rep = json.loads(r.stdout)
    assert rep["series"]["mode"] == "diff-only" and rep["series"]["applied"] == "none"
    note = skips(rep, "tree")
    assert len(note) == 1 and "has none of the files the series changes" in note[0]
    assert "mm/memory.c" in note[0]
    assert any(f["rule"] == "field-init" for f in rep["findings"])
    status = subprocess.run([*git, "status", "--porcelain"], capture_output=True, text=True)
    assert status.stdout == ""


# ---- 1: one patch of a series -----------------------------------------------------------------
def one_patch(src: Path, subject_start: str, dest: Path) -> Path:
    mails = [m for m in read_mboxrd(src) if str(m["Subject"]).startswith(subject_start)]
    assert len(mails) == 1
    write_mboxrd(dest, mails)
    return dest


def test_bundled_patch_2_of_2_alone_is_applied_in_tree_mode(tmp_path):
    tree = tmp_path / "tree"
    corpus.build_tree_repo(tree)
    mbox = one_patch(corpus.thread_path("cow"), "[PATCH v2 2/2]", tmp_path / "p2.mbox")
    rep = review_json("--mbox", str(mbox), "--tree", str(tree))
    assert rep["series"]["mode"] == "tree" and rep["series"]["applied"] == "exact"
    assert [p["index"] for p in rep["series"]["patches"]] == [2]
    note = skips(rep, "series")
    assert len(note) == 1 and "missing patch 1/2" in note[0] and "findings may change" in note[0]
    assert "mm/filemap_xip.c:xip_file_fault" in rep["series"]["patches"][0]["functions"]


def test_real_patch_4_of_21_on_the_61_tree(kernel_tree, tmp_path):
    """The 2014 COW patch alone against 6.1: its hunks do not apply (6.1 has moved on), yet
    the whole-tree VM_FAULT_LOCKED consumer list comes from the 6.1 tree."""
    rep = review_json("--mbox", str(shared_thread(COW_2014)), "--tree", str(kernel_tree))
    assert rep["series"]["mode"] == "tree" and rep["series"]["applied"] == "none"
    note = skips(rep, "series")
    assert len(note) == 1 and note[0].startswith("series v11 is missing patch 1/21, 2/21, 3/21, "
                                                 "5/21,")
    assert skips(rep, "apply")[0].startswith("patch 4/21 does not apply: include/linux/mm.h")
    change = [f for f in rep["findings"] if f["key"] == "VM_FAULT_LOCKED:change"]
    assert change and change[0]["function"] == "__do_fault"
    consumers = {s["file"] for s in change[0]["sites"] if s["status"] == "consumer"}
    assert "mm/filemap.c" in consumers or "mm/memory.c" in consumers, change[0]["sites"]


def test_real_patch_3_of_20_on_a_tree_without_its_file(kernel_tree):
    """mm/filemap_xip.c is long gone from 6.1: diff-only, saying why."""
    rep = review_json("--mbox", str(shared_thread(XIP_2014)), "--tree", str(kernel_tree))
    assert rep["series"]["mode"] == "diff-only" and rep["series"]["applied"] == "none"
    assert "mm/filemap_xip.c" in skips(rep, "tree")[0]
    assert "missing patch 1/20, 2/20, 4/20" in skips(rep, "series")[0]


# ---- 6: a fresh clone has no ../shared --------------------------------------------------------
SHARED_TESTS = ["tests/test_review_corpus.py::test_cow_thread_diff_only_reports_the_diff_and_"
                "lists_skips", "tests/test_render_reply.py",
                "tests/test_components.py::test_b4_fetches_seeded_thread"]


def run_pytest(tmp_path, require: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "REVIEWBOT_SHARED": str(tmp_path / "no-shared"),
           "REVIEWBOT_REQUIRE_COMPONENTS": require}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                           "--basetemp", str(tmp_path / "bt"), *SHARED_TESTS],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)


def test_without_shared_threads_tests_skip_with_the_reason(tmp_path):
    r = run_pytest(tmp_path, "0")
    assert r.returncode == 0, r.stdout[-3000:]
    assert "failed" not in r.stdout and " error" not in r.stdout
    assert "SKIPPED" in r.stdout and "no-shared/threads" in r.stdout
    assert "the bundled corpus tests cover the same behaviour" in r.stdout
    # the corpus twins ran
    assert "passed" in r.stdout


def test_without_shared_threads_ci_fails_instead(tmp_path):
    r = run_pytest(tmp_path, "1")
    assert r.returncode == 1
    assert "REVIEWBOT_REQUIRE_COMPONENTS=1" in r.stdout and "no-shared" in r.stdout
