"""The simulator on the real fault path of Debian linux-source-6.1 (mm/memory.c)."""
from __future__ import annotations

from reviewbot.sim import simulate
from sim_fixtures import reader

FAULT_PATH = ("do_read_fault", "do_cow_fault", "__do_fault", "finish_fault")


def _delete_line_in(text: str, func: str, needle: str) -> tuple[str, int]:
    lines = text.splitlines(keepends=True)
    start = next(i for i, t in enumerate(lines) if t.startswith("static vm_fault_t %s(" % func)
                 or t.startswith("vm_fault_t %s(" % func))
    idx = next(i for i in range(start, start + 80) if lines[i].strip() == needle)
    del lines[idx]
    return "".join(lines), idx + 1


def test_unmodified_61_fault_path_holds(kernel_tree):
    res = simulate(reader(kernel_tree), "model-pagecache-cow-read-truncate")
    print(res.render_text())
    assert res.verdict == "holds", res.reason or res.message
    assert res.states > 100
    # the fault path ran from the tree's own C
    assert set(FAULT_PATH) <= set(res.functions)
    # what had to be treated conservatively is listed, never silently dropped
    assert isinstance(res.not_modelled, list)
    assert "sim_fault:do_wp_page" in res.not_modelled


def test_61_deleted_unlock_page_gives_counterexample(kernel_tree):
    text = (kernel_tree / "mm/memory.c").read_text()
    edited, line = _delete_line_in(text, "do_read_fault", "unlock_page(vmf->page);")
    res = simulate(reader(kernel_tree, {"mm/memory.c": edited.encode()}), "model-pagecache-cow-read-truncate")
    print(res.render_text())
    assert res.verdict == "violated"
    assert res.invariant.startswith(("I1", "I7"))
    assert "page#" in res.message
    assert any(s["file"] == "mm/memory.c" and s["function"] == "do_read_fault" for s in res.trace)


def test_61_deleted_pte_unmap_unlock_gives_counterexample(kernel_tree):
    text = (kernel_tree / "mm/memory.c").read_text()
    edited, line = _delete_line_in(text, "finish_fault", "pte_unmap_unlock(vmf->pte, vmf->ptl);")
    res = simulate(reader(kernel_tree, {"mm/memory.c": edited.encode()}), "model-pagecache-cow-read-truncate")
    print(res.render_text())
    assert res.verdict == "violated"
    assert "ptl" in res.message
