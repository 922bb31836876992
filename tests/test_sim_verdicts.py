"""Verdict matrix of xip-model.md §5 on the bundled corpus tree and its variants."""
from __future__ import annotations

import pytest

from reviewbot.sim import simulate
from sim_fixtures import apply_thread, edit, reader


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    out = {}
    for name, thread in (("base", None), ("cow", "cow"), ("missing-init", "cow-missing-init"),
                         ("missing-unlock", "cow-missing-unlock")):
        out[name] = apply_thread(tmp_path_factory.mktemp(name), thread)
    return out


def _copy(src, tmp_path):
    import shutil
    dst = tmp_path / "tree"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".git"))
    return dst


def _show(res):
    print(res.render_text())


def _actions(res):
    return [s["action"] for s in res.trace]


def test_base_tree_holds_with_its_own_xip_handler(trees):
    res = simulate(reader(trees["base"]))
    _show(res)
    assert res.verdict == "holds"
    assert res.handler["function"] == "xip_file_fault" and res.handler_source == "tree"
    assert res.states > 100 and res.invariant is None


def test_before_truncate_race_fix_maps_freed_block_or_past_eof(trees, tmp_path):
    root = _copy(trees["base"], tmp_path)
    # the handler as it was before "fix XIP fault vs truncate race": no i_mmap, no recheck
    edit(root, "mm/filemap_xip.c",
         "\ti_mmap_lock_read(mapping);\n\tif (unlikely(vmf->pgoff >= xip_size_in_pages(inode))) {\n"
         "\t\ti_mmap_unlock_read(mapping);\n\t\treturn VM_FAULT_SIGBUS;\n\t}\n"
         "\terr = vm_insert_mixed(vma, (unsigned long)vmf->virtual_address,\n\t\t\t      xip_pfn);\n"
         "\ti_mmap_unlock_read(mapping);\n",
         "\terr = vm_insert_mixed(vma, (unsigned long)vmf->virtual_address,\n\t\t\t      xip_pfn);\n")
    res = simulate(reader(root))
    _show(res)
    assert res.verdict == "violated"
    assert res.invariant.split()[0] == "I4a"      # the block is freed under the mapping
    threads = {s["thread"] for s in res.trace}
    assert "TR" in threads
    assert any("vm_insert_mixed" in a for a in _actions(res))
    assert any(s["file"] == "mm/filemap_xip.c" and s["function"] == "xip_file_fault" for s in res.trace)


def test_cow_series_as_merged_holds_with_tree_handler(trees):
    res = simulate(reader(trees["cow"]))
    _show(res)
    assert res.verdict == "holds"
    assert res.handler["function"] == "xip_file_fault" and res.handler_source == "tree"
    assert res.bounds["threads"] == 3
    # the handler's own COW branch (LOCKED with no page, i_mmap held) was explored
    text = (trees["cow"] / "mm/filemap_xip.c").read_text().splitlines()
    line = next(i for i, t in enumerate(text, 1) if "if (vmf->cow_page)" in t)
    assert "mm/filemap_xip.c:%d:then" % line not in res.unreached
    # the list is not empty: truncate never takes its non-XIP branch on an XIP file
    src = (trees["cow"] / "fs/ext2/inode.c").read_text().splitlines()
    xip = next(i for i, t in enumerate(src, 1) if "if (mapping_is_xip(" in t)
    assert "fs/ext2/inode.c:%d:else" % xip in res.unreached


def test_cow_series_covers_not_pte_same_path(trees):
    res = simulate(reader(trees["cow"]))
    text = (trees["cow"] / "mm/memory.c").read_text().splitlines()
    line = next(i for i, t in enumerate(text, 1) if "!pte_same(*pte, orig_pte)" in t and i > 240)
    assert "mm/memory.c:%d:then" % line not in res.unreached
    assert "mm/memory.c:%d:else" % line not in res.unreached
    # while the failure branches the scenario cannot take are listed (the COW page allocation
    # never fails outside the *-failures scenarios)
    alloc = next(i for i, t in enumerate(text, 1) if "if (!new_page)" in t)
    assert "mm/memory.c:%d:then" % alloc in res.unreached


def test_missing_unlock_on_not_pte_same_is_caught(trees):
    res = simulate(reader(trees["missing-unlock"]), scenario="cow-cow-truncate")
    _show(res)
    assert res.verdict == "violated"
    assert res.invariant.startswith("I1")
    assert "i_mmap" in res.message
    # two faults on the same private mapping race: the second one finds the pte taken
    faults = {s["thread"] for s in res.trace if "pte read without lock" in s["action"]}
    assert len(faults) >= 2
    assert any(s["function"] == "do_cow_fault" and "pte_unmap_unlock" in s["action"] for s in res.trace)


def test_missing_unlock_seed_scenario_also_fails(trees):
    res = simulate(reader(trees["missing-unlock"]))
    assert res.verdict == "violated" and res.invariant.startswith("I1")


def test_read_lock_then_write_unlock_is_a_mode_mismatch(trees, tmp_path):
    root = _copy(trees["cow"], tmp_path)
    edit(root, "mm/memory.c",
         "\t\ti_mmap_unlock_read(vma->vm_file->f_mapping);\n\t}\n\treturn ret;",
         "\t\ti_mmap_unlock_write(vma->vm_file->f_mapping);\n\t}\n\treturn ret;")
    res = simulate(reader(root), scenario="cow-truncate")
    _show(res)
    assert res.verdict == "violated"
    assert res.invariant.startswith("I2")
    assert "mode" in res.message


def test_contract_maximal_handler_breaks_do_read_fault(trees):
    res = simulate(reader(trees["cow"]), scenario="contract-read")
    _show(res)
    assert res.verdict == "violated"
    assert res.invariant.startswith("I3")
    assert "NULL" in res.message and "do_read_fault" in res.message
    assert any("LOCKED" in a and "i_mmap" in a for a in _actions(res))


def test_contract_maximal_handler_is_fine_for_cow(trees):
    res = simulate(reader(trees["cow"]), scenario="contract-cow")
    assert res.verdict == "holds"


def test_missing_cow_page_init_in_do_page_mkwrite(trees):
    good = simulate(reader(trees["cow"]), scenario="mkwrite-hole")
    bad = simulate(reader(trees["missing-init"]), scenario="mkwrite-hole")
    _show(bad)
    assert good.verdict == "holds"
    assert bad.verdict == "violated"
    assert bad.invariant.startswith("I3")
    assert "uninitialised" in bad.message
    assert any(s["function"] == "do_page_mkwrite" for s in bad.trace)


def test_deleting_one_unlock_line_flips_the_verdict(trees, tmp_path):
    root = _copy(trees["cow"], tmp_path)
    before = simulate(reader(root))
    assert before.verdict == "holds"
    path = root / "mm/memory.c"
    lines = path.read_text().splitlines(keepends=True)
    start = next(i for i, t in enumerate(lines) if t.startswith("static int do_cow_fault("))
    victim = [i for i in range(start, start + 80) if "i_mmap_unlock_read(" in lines[i]][-1]
    del lines[victim]
    path.write_text("".join(lines))
    after = simulate(reader(root))
    _show(after)
    assert after.verdict == "violated"
    assert after.invariant.startswith("I1")
    assert "i_mmap" in after.message


def test_a_search_leaves_the_interpreter_and_the_collector_as_it_found_them(trees):
    """A library caller's process is not changed by a simulation (issue 11, hidden state)."""
    import gc
    import sys
    limit, collecting = sys.getrecursionlimit(), gc.isenabled()
    res = simulate(reader(trees["base"]))
    assert res.verdict == "holds" and res.states > 100
    assert sys.getrecursionlimit() == limit and gc.isenabled() == collecting
