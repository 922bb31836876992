"""`reviewbot simulate`: exit status, JSON shape, determinism, --replay, bad input."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from reviewbot.sim import simulate
from sim_fixtures import apply_thread, edit, reader


def _sim(*args, cwd=None):
    p = subprocess.run([sys.executable, "-m", "reviewbot", "simulate", *args], capture_output=True, text=True,
                       cwd=cwd)
    return p.returncode, p.stdout, p.stderr


@pytest.fixture(scope="module")
def cow(tmp_path_factory):
    return apply_thread(tmp_path_factory.mktemp("cow"), "cow")


@pytest.fixture(scope="module")
def unlock(tmp_path_factory):
    return apply_thread(tmp_path_factory.mktemp("unlock"), "cow-missing-unlock")


def test_holds_exit_zero_and_text(cow):
    rc, out, err = _sim("--tree", str(cow))
    assert rc == 0, err
    assert out.startswith("holds: ") and "states explored, no violation (bounds: 3 threads" in out


def test_violated_json_has_the_issue_fields_and_is_deterministic(unlock):
    rc, out, err = _sim("--tree", str(unlock), "--format", "json")
    assert rc == 1
    data = json.loads(out)
    for key in ("verdict", "invariant", "states", "bounds", "not_modelled", "trace", "scenario", "unreached",
                "reason"):
        assert key in data
    assert data["verdict"] == "violated" and data["invariant"].startswith("I1")
    for step in data["trace"]:
        assert {"thread", "file", "line", "function", "action"} <= set(step)
    assert any(s["file"] == "mm/memory.c" and s["function"] == "do_cow_fault" for s in data["trace"])
    rc2, out2, _ = _sim("--tree", str(unlock), "--format", "json")
    assert out2 == out


def test_text_counterexample_is_a_cpu_table_plus_steps(unlock):
    rc, out, _ = _sim("--tree", str(unlock), "--scenario", "cow-cow-truncate")
    assert rc == 1
    assert "CPU0 (FC)" in out and "CPU1 (FC2)" in out
    assert "full trace:" in out
    assert "mm/memory.c:" in out and "do_cow_fault" in out


def test_replay_reproduces_and_detects_a_fixed_tree(unlock, cow, tmp_path):
    rc, out, _ = _sim("--tree", str(unlock), "--format", "json")
    trace = tmp_path / "trace.json"
    trace.write_text(out)
    rc, out, err = _sim("--tree", str(unlock), "--replay", str(trace))
    assert rc == 1
    assert "replay: violated: I1" in out
    rc, out, err = _sim("--tree", str(cow), "--replay", str(trace))
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("reviewbot: %s: diverged at step" % trace)


def test_errors_are_one_line(tmp_path):
    rc, out, err = _sim("--tree", str(tmp_path / "nope"))
    assert rc == 2 and err == "reviewbot: %s: no such directory\n" % (tmp_path / "nope")
    rc, out, err = _sim("--tree", str(tmp_path))
    assert rc == 2 and err.count("\n") == 1 and "do_fault" in err
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    rc, out, err = _sim("--tree", str(tmp_path), "--replay", str(bad))
    assert rc == 2 and err.count("\n") == 1


def _copy(src, tmp_path):
    dst = tmp_path / "t"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".git"))
    return dst


def test_unbounded_loop_is_incomplete_naming_function_and_line(cow, tmp_path):
    root = _copy(cow, tmp_path)
    edit(root, "mm/memory.c", "\tif (unlikely(anon_vma_prepare(vma)))\n\t\treturn VM_FAULT_OOM;\n",
         "\tfor (;;)\n\t\tanon_vma_prepare(vma);\n")
    res = simulate(reader(root))
    assert res.verdict == "incomplete"
    assert "do_cow_fault" in res.reason and "mm/memory.c:" in res.reason and "loop" in res.reason
    rc, out, err = _sim("--tree", str(root))
    assert rc == 2 and err.count("\n") == 1 and "do_cow_fault" in err


def test_recursion_is_incomplete(cow, tmp_path):
    root = _copy(cow, tmp_path)
    edit(root, "mm/memory.c", "\tif (unlikely(anon_vma_prepare(vma)))\n\t\treturn VM_FAULT_OOM;\n",
         "\tif (unlikely(anon_vma_prepare(vma)))\n\t\treturn do_cow_fault(mm, vma, address, pmd, pgoff, flags, orig_pte);\n")
    res = simulate(reader(root))
    # anon_vma_prepare() never fails in the model, so the recursive call is not reached
    assert res.verdict == "holds"
    edit(root, "mm/memory.c", "\tif (unlikely(anon_vma_prepare(vma)))\n\t\treturn do_cow_fault(",
         "\tif (!anon_vma_prepare(vma))\n\t\treturn do_cow_fault(")
    res = simulate(reader(root))
    assert res.verdict == "incomplete" and "recursion into do_cow_fault" in res.reason


def test_unknown_construct_is_incomplete(cow, tmp_path):
    root = _copy(cow, tmp_path)
    edit(root, "mm/memory.c", "\tif (unlikely(anon_vma_prepare(vma)))\n\t\treturn VM_FAULT_OOM;\n",
         "\tif (unlikely(anon_vma_prepare(vma)))\n\t\treturn VM_FAULT_OOM;\n\tret = (int[]){1}[0];\n")
    res = simulate(reader(root))
    assert res.verdict == "incomplete"
    assert "do_cow_fault" in res.reason and "mm/memory.c" in res.reason
