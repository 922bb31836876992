"""The simulator inside `review` and `simulate --diff`: a fault-path change is simulated with or
without a rule finding, a violation is one fault-sim finding at its line, and "holds" needs
every changed fault-path statement to have run."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim_fixtures import apply_thread, edit

ENV = dict(os.environ, GIT_AUTHOR_NAME="Pat Author", GIT_AUTHOR_EMAIL="pat@example.org",
           GIT_COMMITTER_NAME="Pat Author", GIT_COMMITTER_EMAIL="pat@example.org")


def _run(*args, cwd="/"):
    return subprocess.run([sys.executable, "-m", "reviewbot", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def _git(tree, *args):
    return subprocess.run(["git", *args], cwd=tree, env=ENV, check=True, capture_output=True,
                          text=True).stdout


def _patch_series(tree: Path, tmp: Path, subject: str, path: str, old: str, new: str) -> Path:
    """Commit one edit on top of tree, write it as a one-patch mbox, and take the tree back to
    the commit before it: the series then applies to the tree's HEAD."""
    edit(tree, path, old, new)
    _git(tree, "commit", "-qam", subject)
    mbox = tmp / "series.mbox"
    mbox.write_text(_git(tree, "format-patch", "-1", "--stdout", "--numbered", "--thread", "--to=linux-mm@kvack.org"))
    _git(tree, "reset", "-q", "--hard", "HEAD~1")
    return mbox


def _review(mbox, tree, *extra):
    r = _run("review", "--mbox", str(mbox), "--tree", str(tree), "--format", "json", *extra)
    assert r.returncode in (0, 1), r.stderr
    return r.returncode, json.loads(r.stdout)


@pytest.fixture()
def cow_tree(tmp_path):
    return apply_thread(tmp_path / "tree", "cow")


SUCCESS_UNLOCK = ("\t\t * for read to keep truncate out; release it.\n\t\t */\n"
                  "\t\ti_mmap_unlock_read(vma->vm_file->f_mapping);\n\t}\n\treturn ret;")


def test_fault_path_patch_with_no_rule_finding_is_simulated(cow_tree, tmp_path):
    # drops the success-path unlock of do_cow_fault(): no struct member, no VM_FAULT_* meaning
    # changes, so the simulator objects, and lock-contract (issue 8), which reads the handler's
    # VM_FAULT_LOCKED return holding i_mmap_rwsem against what do_cow_fault() releases
    text = (cow_tree / "mm/memory.c").read_text()
    assert text.count(SUCCESS_UNLOCK) == 1
    mbox = _patch_series(cow_tree, tmp_path, "mm: tidy the end of do_cow_fault", "mm/memory.c",
                         SUCCESS_UNLOCK, "\t\t * for read to keep truncate out; release it.\n\t\t */\n"
                         "\t}\n\treturn ret;")
    rc, rep = _review(mbox, cow_tree)
    assert rc == 1
    assert sorted(f["rule"] for f in rep["findings"]) == ["fault-sim", "lock-contract"], \
        rep["findings"]
    lc = next(f for f in rep["findings"] if f["rule"] == "lock-contract")
    assert lc["details"]["kind"] == "not released" and lc["function"] == "do_cow_fault"
    assert lc["details"]["lock"] == "i_mmap_rwsem" and lc["details"]["handler"]["page"] == "null"
    f = next(f for f in rep["findings"] if f["rule"] == "fault-sim")
    assert f["severity"] == "error" and f["introduced"]
    assert f["details"]["invariant"] == "I1" and "i_mmap" in f["message"]
    assert f["file"] == "mm/memory.c" and f["function"] == "do_cow_fault"
    # at a line of do_cow_fault, and the trace is attached there
    src = (cow_tree / "mm/memory.c").read_text().splitlines()
    start = next(i for i, t in enumerate(src, 1) if t.startswith("static int do_cow_fault("))
    assert start < f["line"] < start + 80
    assert f["simulation"]["trace"] and f["simulation"]["handler_source"] == "tree"
    text = _run("review", "--mbox", str(mbox), "--tree", str(cow_tree)).stdout
    assert "ERROR:FAULT_SIM: I1 lock balance at exit broken in do_cow_fault()" in text
    # --no-simulate: the simulator does not run; the static lock contract still objects
    rc, rep = _review(mbox, cow_tree, "--no-simulate")
    assert rc == 1 and [f["rule"] for f in rep["findings"]] == ["lock-contract"]


def test_unreached_changed_line_is_incomplete_not_holds(cow_tree, tmp_path):
    # a statement added where no scenario goes (xip_sparse_page() never fails in the model)
    old = "\tpage = xip_sparse_page();\n\tif (!page)\n\t\tgoto unlock;\n"
    new = "\tpage = xip_sparse_page();\n\tif (!page) {\n\t\tcount_vm_event(PGMAJFAULT);\n\t\tgoto unlock;\n\t}\n"
    mbox = _patch_series(cow_tree, tmp_path, "xip: count a missing zero page", "mm/filemap_xip.c", old, new)
    rc, rep = _review(mbox, cow_tree)
    assert rc == 0 and rep["findings"] == []
    skip = [s for s in rep["skipped"] if s["check"] == "simulation"]
    assert len(skip) == 1 and skip[0]["reason"].startswith("incomplete, not holds")
    assert "changed code not reached: mm/filemap_xip.c:" in skip[0]["reason"]
    assert "holds" not in skip[0]["reason"].replace("not holds", "")
    # the same tree and diff through `simulate --diff`: exit 2, the line named in text and JSON
    patched = tmp_path / "patched"
    _git(cow_tree, "worktree", "add", "-q", str(patched), "HEAD")
    _git(patched, "am", "-q", str(mbox))
    diff = tmp_path / "p.diff"
    diff.write_text(_git(patched, "diff", "HEAD~1", "HEAD"))
    r = _run("simulate", "--tree", str(patched), "--diff", str(diff), "--format", "json")
    assert r.returncode == 2
    data = json.loads(r.stdout)
    assert data["verdict"] == "incomplete" and data["reason"].startswith("changed code not reached")
    line = next(i for i, t in enumerate((patched / "mm/filemap_xip.c").read_text().splitlines(), 1)
                if "count_vm_event(PGMAJFAULT);" in t)
    assert {"file": "mm/filemap_xip.c", "line": line, "function": "xip_file_fault"} in \
        data["coverage"]["not_reached"]
    r = _run("simulate", "--tree", str(patched), "--diff", str(diff))
    assert "not reached: mm/filemap_xip.c:%d in xip_file_fault()" % line in r.stdout


def test_series_diff_fully_covered_holds(cow_tree, tmp_path):
    diff = tmp_path / "series.diff"
    diff.write_text(_git(cow_tree, "diff", "HEAD~2", "HEAD"))
    r = _run("simulate", "--tree", str(cow_tree), "--diff", str(diff), "--format", "json")
    data = json.loads(r.stdout)
    assert r.returncode == 0 and data["verdict"] == "holds", data.get("reason")
    cov = data["coverage"]
    assert cov["changed"] > 5 and not cov["not_reached"]
    assert {c["function"] for c in cov["reached"]} >= {"do_cow_fault", "__do_fault", "xip_file_fault",
                                                        "__dax_fault", "do_page_mkwrite"}


def test_missing_unlock_violation_is_one_finding_others_refer_to_it(tmp_path):
    r = _run("review", "--bundled", "cow-missing-unlock", "--format", "json")
    rep = json.loads(r.stdout)
    sims = [f for f in rep["findings"] if f["rule"] == "fault-sim"]
    assert len(sims) == 1, [(f["file"], f["line"]) for f in sims]
    v = sims[0]
    # where it happens: the !pte_same exit of do_cow_fault, in the patch that changes it
    assert v["function"] == "do_cow_fault" and v["patch"].endswith("-1-maren.okafor@example.org")
    # ... at the return that leaves with the handler's i_mmap_rwsem: the uncharge_out exit
    tree = apply_thread(tmp_path / "tree", "cow-missing-unlock")
    src = (tree / "mm/memory.c").read_text().splitlines()
    assert src[v["line"] - 1].strip() == "return ret;" and src[v["line"] - 4].strip() == "uncharge_out:"
    assert v["simulation"]["trace"]
    for f in rep["findings"]:
        if f is v or not f.get("simulation"):
            continue
        assert "trace" not in f["simulation"]
        if f["simulation"]["verdict"] == "violated":
            assert f["simulation"]["see"]["identity"] == v["identity"]
    around = [f for f in rep["findings"] if f["function"] == "do_fault_around"][0]
    assert around["simulation"]["verdict"] == "not reached"
