"""The simulator runs the handler the tree wires in its vm_operations_struct, from the tree's
C: editing that C flips the verdict, and every run says which handler ran and from where."""
from __future__ import annotations

import shutil

import pytest

from reviewbot.sim import simulate
from sim_fixtures import apply_thread, edit, reader


@pytest.fixture(scope="module")
def cow(tmp_path_factory):
    return apply_thread(tmp_path_factory.mktemp("cow"), "cow")


def _copy(src, tmp_path):
    dst = tmp_path / "tree"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".git"))
    return dst


def test_dax_scenario_runs_the_trees_dax_fault_through_ext2_dax_vm_ops(cow):
    res = simulate(reader(cow), "dax-cow-read-truncate")
    assert res.verdict == "holds", res.reason or res.message
    assert res.handler_source == "tree"
    text = (cow / "fs/ext2/file.c").read_text().splitlines()
    line = next(i for i, t in enumerate(text, 1) if t.startswith("static int ext2_dax_fault("))
    assert res.handler == {"function": "ext2_dax_fault", "file": "fs/ext2/file.c", "line": line}
    assert res.vm_ops.startswith("ext2_dax_vm_ops (fs/ext2/file.c:")
    assert {"__dax_fault", "dax_insert_mapping", "do_cow_fault"} <= set(res.functions)
    d = res.to_dict()
    assert d["handler"]["function"] == "ext2_dax_fault" and d["handler_source"] == "tree"


def test_rewiring_the_initialiser_changes_the_handler(cow, tmp_path):
    root = _copy(cow, tmp_path)
    # ->fault now points at a wrapper that skips the DAX handler's i_size checks entirely
    edit(root, "fs/ext2/file.c", "\t.fault\t\t= ext2_dax_fault,\n", "\t.fault\t\t= ext2_dax_mkwrite,\n")
    res = simulate(reader(root), "dax-cow-read-truncate")
    assert res.handler["function"] == "ext2_dax_mkwrite"


def test_deleting_the_dax_unlock_flips_the_verdict(cow, tmp_path):
    root = _copy(cow, tmp_path)
    assert simulate(reader(root), "dax-cow-read-truncate").verdict == "holds"
    edit(root, "fs/dax.c", "\terror = vm_insert_mixed(vma, vaddr, pfn);\nout:\n\ti_mmap_unlock_read(mapping);\n",
         "\terror = vm_insert_mixed(vma, vaddr, pfn);\nout:\n")
    res = simulate(reader(root), "dax-cow-read-truncate")
    print(res.render_text())
    assert res.verdict == "violated" and res.invariant.split()[0] in ("I1", "I8")
    assert "i_mmap" in res.message
    assert any(s["file"] == "fs/dax.c" and s["function"] == "dax_insert_mapping" for s in res.trace)


def test_deleting_the_dax_cow_size_recheck_maps_past_eof(cow, tmp_path):
    root = _copy(cow, tmp_path)
    edit(root, "fs/dax.c",
         "\t\t\ti_mmap_lock_read(mapping);\n\t\t\t/* truncate may have run since the first check */\n"
         "\t\t\tif (vmf->pgoff >= dax_size_in_pages(inode)) {\n\t\t\t\ti_mmap_unlock_read(mapping);\n"
         "\t\t\t\treturn VM_FAULT_SIGBUS;\n\t\t\t}\n",
         "\t\t\ti_mmap_lock_read(mapping);\n")
    res = simulate(reader(root), "dax-cow-truncate")
    print(res.render_text())
    assert res.verdict == "violated" and res.invariant.startswith("I4b")
    assert {s["thread"] for s in res.trace} == {"FC", "TR"}


def test_model_handlers_run_only_in_scenarios_named_for_them(cow, tmp_path):
    res = simulate(reader(cow), "model-xip-cow-read-truncate")
    assert res.handler_source == "model" and res.handler["function"] == "sim_xip_fault"
    assert res.handler["file"] == "sim/model/handlers.c"
    # a tree without the file kind a scenario names is not quietly given a model
    root = _copy(cow, tmp_path)
    (root / "fs/ext2/file.c").unlink()
    res = simulate(reader(root), "dax-cow-read-truncate")
    assert res.verdict == "incomplete" and "wires none" in res.reason
