"""The tree's own DAX ->fault on Debian linux-source-6.1: ext2_dax_vm_ops -> ext2_dax_fault ->
dax_iomap_fault, run from fs/dax.c and mm/memory.c; only iomap_begin, dax_direct_access and
the xarray entry lock are model primitives."""
from __future__ import annotations

from reviewbot.sim import simulate
from sim_fixtures import reader


def _pte_fault_lines(root):
    lines = (root / "fs/dax.c").read_text().splitlines(keepends=True)
    start = next(i for i, t in enumerate(lines) if t.startswith("static vm_fault_t dax_iomap_pte_fault("))
    return lines, start


def test_dax_cow_fault_racing_truncate_holds(kernel_tree):
    for scenario in ("dax-cow-truncate", "dax-cow-read-truncate"):
        res = simulate(reader(kernel_tree), scenario)
        print(res.render_text())
        assert res.verdict == "holds", res.reason or res.message
        assert res.handler_source == "tree"
        assert res.handler["function"] == "ext2_dax_fault" and res.handler["file"] == "fs/ext2/file.c"
        assert res.vm_ops.startswith("ext2_dax_vm_ops (fs/ext2/file.c:")
        # the fault path ran from the tree's C, the COW finished by the handler itself
        assert {"dax_iomap_pte_fault", "dax_fault_iter", "dax_fault_cow_page", "finish_fault",
                "do_cow_fault", "ext2_setsize"} <= set(res.functions)
    # the tree's DAX handler is what a plain `simulate` of this tree picks
    assert simulate(reader(kernel_tree)).scenario == "dax-cow-read-truncate"


def test_deleting_the_entry_unlock_gives_i1(kernel_tree):
    lines, start = _pte_fault_lines(kernel_tree)
    victim = next(i for i in range(start, start + 90) if lines[i].strip() == "dax_unlock_entry(&xas, entry);")
    edited = "".join(lines[:victim] + lines[victim + 1:]).encode()
    res = simulate(reader(kernel_tree, {"fs/dax.c": edited}), "dax-cow-truncate")
    print(res.render_text())
    assert res.verdict == "violated" and res.invariant.startswith("I1")
    assert "dax-entry" in res.message
    assert any(s["file"] == "fs/dax.c" and s["function"] == "dax_iomap_pte_fault" for s in res.trace)


def test_deleting_the_i_size_check_breaks_the_truncate_invariant(kernel_tree):
    lines, start = _pte_fault_lines(kernel_tree)
    at = next(i for i in range(start, start + 40) if "if (iter.pos >= i_size_read(iter.inode)) {" in lines[i])
    assert lines[at + 3].strip() == "}"
    edited = "".join(lines[:at] + lines[at + 4:]).encode()
    res = simulate(reader(kernel_tree, {"fs/dax.c": edited}), "dax-cow-truncate")
    print(res.render_text())
    assert res.verdict == "violated" and res.invariant.startswith("I4b")
    assert any(s["thread"] == "TR" and s["function"] == "ext2_setsize" for s in res.trace)


def test_a_patch_deleting_the_entry_unlock_is_one_violation_at_its_function(kernel_tree):
    # what a review runs: every DAX scenario that reaches the change; the leaked entry lock
    # shows as I1 in some and as a handler returning with it (I8) in others, reported once
    from reviewbot.sim.series import run_series
    lines, start = _pte_fault_lines(kernel_tree)
    victim = next(i for i in range(start, start + 90) if lines[i].strip() == "dax_unlock_entry(&xas, entry);")
    edited = "".join(lines[:victim] + lines[victim + 1:]).encode()
    ser = run_series(reader(kernel_tree, {"fs/dax.c": edited}), {"fs/dax.c": {-(victim + 1)}})
    assert ser.verdict == "violated" and len(ser.violations) == 1
    v = ser.violations[0]
    assert (v.file, v.function) == ("fs/dax.c", "dax_iomap_pte_fault")
    assert edited.decode().splitlines()[v.line - 1].strip() == "return ret;"
    assert any("(I1)" in a for a in v.also) or v.invariant.startswith("I1")
    assert {r["handler_source"] for r in ser.runs} == {"tree"}
