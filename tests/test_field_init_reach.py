"""field-init on what a series does to existing members (issue 8, part 4): a site it changes is
checked for every member its callees read, and a member it newly reads at every site that
reaches the read; on the precision corpus (written here) and on the real 6.1 tree."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kpatch import file_diff, patch_mail, replace_once, show
from reviewbot.findings import Finding

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus" / "precision"
sys.path.insert(0, str(CORPUS))
from cases import (CASES, SWAPIN_C, SWAPIN_PGOFF, WP_BARE, WP_FAULT_C, WP_INIT, edit,  # noqa: E402
                   wp_files)
from make import before_files, build_tree, patch_mail as corpus_mail  # noqa: E402

BY_NAME = {c["name"]: c for c in CASES}


def review(name: str, tmp_path: Path, tree_edits: dict[str, str] | None = None,
           extra_files: dict[str, str] | None = None):
    """(exit status, report) of `reviewbot review` of one corpus case's patch against a git
    tree of its files before the patch, with `tree_edits` (path -> text) in the tree."""
    case = BY_NAME[name]
    files = {**before_files(case), **(tree_edits or {}), **(extra_files or {})}
    tree = build_tree(files, tmp_path / "tree")
    mbox = tmp_path / "p.mbox"
    mbox.write_text(corpus_mail(1, case))
    r = subprocess.run([sys.executable, "-m", "reviewbot", "review", "--mbox", str(mbox),
                        "--tree", str(tree), "--no-simulate", "--format", "json"],
                       capture_output=True, text=True, cwd="/", timeout=300)
    assert r.returncode in (0, 1), r.stderr
    return r.returncode, json.loads(r.stdout)


def field_init(rep) -> list[dict]:
    return [f for f in rep["findings"] if f["rule"] == "field-init"]


def rule():
    from reviewbot_rules.field_init import FieldInit
    return FieldInit()


# --- a site changed from a designated initializer to a bare declaration -----------------------

def test_changed_site_warns_for_the_member_a_callee_reads(tmp_path):
    rc, rep = review("changed-site-bare-declaration", tmp_path)
    fi = field_init(rep)
    want = BY_NAME["changed-site-bare-declaration"]["expect_tree"]
    assert [(f["key"], f["severity"]) for f in fi] == [(w["key"], w["severity"]) for w in want]
    assert rc == 1
    f = fi[0]
    assert f["details"]["call_path"] == ["handle_wp_fault", "do_wp_fault", "wp_page_shared"]
    assert f["details"]["member"] == "flags" and f["details"]["callee"] == "do_wp_fault"
    by_status = {s["status"]: (s["function"], s["detail"]) for s in f["sites"]}
    assert by_status["reader"] == ("wp_page_shared", "reads vmf->flags")
    assert by_status["not set before escape"][0] == "handle_wp_fault"
    # .pgoff and .virtual_address are set before the call: no finding for them
    assert "pgoff" not in json.dumps(fi) and "virtual_address" not in f["key"]
    q = rule().questions(Finding.from_dict(f))
    assert q and "vmf.flags" in q[0] and "do_wp_fault()" in q[0] and "wp_page_shared()" in q[0]
    items = rule().checklist_items(Finding.from_dict(f))
    assert items and "`.flags`" in items[0] and "handle_wp_fault()" in items[0]


def test_changed_site_verdict_follows_the_callee(tmp_path):
    """The same patch, on a tree whose wp_page_shared() no longer reads vmf->flags."""
    no_read = edit(WP_FAULT_C, "\tif (vmf->flags & FAULT_FLAG_MKWRITE)\n",
                   "\tif (!PageDirty(page))\n")
    rc, rep = review("changed-site-bare-declaration", tmp_path, {"mm/wp_fault.c": no_read})
    assert rep["series"]["applied"] == "exact"
    assert field_init(rep) == [] and rc == 0


def test_changed_site_already_missing_the_member_is_pre_existing(tmp_path):
    """The tree already builds vmf field by field without .flags; the patch only adds .pgoff:
    the .flags warning is the base's own, not the patch's."""
    head = "\tstruct vm_fault vmf;\n\n\tvmf.virtual_address = (void __user *)(address & PAGE_MASK);\n"
    old = edit(WP_FAULT_C, WP_INIT, head)
    rc, rep = review_wp(tmp_path, edit(WP_FAULT_C, WP_INIT, WP_BARE), old_wp=old)
    fi = field_init(rep)
    assert [(f["key"], f["introduced"]) for f in fi] == \
        [("vm_fault.flags:mm/wp_fault.c:handle_wp_fault:vmf:changed-site", False)]


def test_changed_site_with_every_member_set_is_silent(tmp_path):
    rc, rep = review("changed-site-every-member-set", tmp_path)
    assert rep["series"]["applied"] == "exact" and rep["findings"] == [] and rc == 0


# --- a new read of an existing member, reached from a site that leaves it zero ----------------

def test_new_read_lists_the_site_that_leaves_it_zero(tmp_path):
    rc, rep = review("new-read-left-zero", tmp_path)
    fi = field_init(rep)
    want = BY_NAME["new-read-left-zero"]["expect_tree"]
    assert [(f["key"], f["severity"]) for f in fi] == [(w["key"], w["severity"]) for w in want]
    assert rc == 1
    d = fi[0]["details"]
    assert d["call_path"] == ["swapin_one", "do_swap_fault", "do_wp_fault", "wp_page_shared"]
    assert d["site_status"] == "implicitly zero" and d["zero_valid"] is False
    assert fi[0]["function"] == "wp_page_shared" and fi[0]["file"] == "mm/wp_fault.c"
    # handle_wp_fault() sets .pgoff from a value: it is not a finding of its own
    assert not [f for f in fi if "handle_wp_fault" in f["key"]]
    hops = [(s["function"], s["status"]) for s in fi[0]["sites"]]
    assert ("swapin_one", "implicitly zero") in hops and ("do_swap_fault", "call path") in hops
    q = rule().questions(Finding.from_dict(fi[0]))
    assert q and q[0].startswith("Is a zero pgoff valid") and "swapin_one()" in q[0]
    assert "pgoff" in rule().checklist_items(Finding.from_dict(fi[0]))[0]


def test_new_read_verdict_follows_the_site(tmp_path):
    """The tree's swapin_one() sets .pgoff: the same patch is silent."""
    fixed = edit(SWAPIN_C, *SWAPIN_PGOFF)
    rc, rep = review("new-read-left-zero", tmp_path, {"mm/swapin.c": fixed})
    assert rep["series"]["applied"] == "exact"
    assert field_init(rep) == [] and rc == 0


def test_new_read_is_info_where_zero_is_valid_elsewhere(tmp_path):
    """Another site sets .pgoff to zero: zero is a valid value, so the finding is info."""
    other = ("#include <linux/mm.h>\n\nint prefault_first(struct vm_area_struct *vma)\n{\n"
             "\tstruct vm_fault vmf = {\n\t\t.pgoff = 0,\n\t\t.flags = FAULT_FLAG_WRITE,\n"
             "\t};\n\n\treturn do_swap_fault(vma, &vmf);\n}\n")
    rc, rep = review("new-read-left-zero", tmp_path, extra_files={"mm/prefault.c": other})
    fi = field_init(rep)
    assert [(f["details"]["site_function"], f["severity"]) for f in fi] == \
        [("swapin_one", "info")]
    assert fi[0]["details"]["zero_valid"] is True and rc == 0
    assert rule().questions(Finding.from_dict(fi[0]))[0].startswith("Does wp_page_shared() cope")


def test_new_read_every_site_sets_is_silent(tmp_path):
    rc, rep = review("new-read-every-site-sets", tmp_path)
    assert rep["series"]["applied"] == "exact" and rep["findings"] == [] and rc == 0


def review_wp(tmp_path: Path, new_wp: str, old_wp: str = WP_FAULT_C):
    """A patch of mm/wp_fault.c alone (`old_wp` to `new_wp`), reviewed like a corpus case."""
    files = dict(wp_files(wp=new_wp), **{"mm/wp_fault.c": (old_wp, new_wp)})
    BY_NAME["adhoc"] = dict(name="adhoc", kind="related", subject="mm: write fault change",
                            changelog="A change of the write fault path.", files=files)
    try:
        return review("adhoc", tmp_path)
    finally:
        del BY_NAME["adhoc"]


def test_new_read_of_a_member_set_on_the_way_is_silent(tmp_path):
    """A new read of vmf->page: do_wp_fault() sets it before passing the object on."""
    rc, rep = review_wp(tmp_path, edit(
        WP_FAULT_C, "\treturn VM_FAULT_WRITE;\n}\n",
        "\tif (!vmf->page)\n\t\treturn VM_FAULT_SIGBUS;\n\treturn VM_FAULT_WRITE;\n}\n"))
    assert rep["series"]["applied"] == "exact" and field_init(rep) == [] and rc == 0


ALLOC = ("\tstruct vm_fault *vmf = {alloc}(sizeof(*vmf), GFP_KERNEL);\n\tint ret;\n\n"
         "\tif (!vmf)\n\t\treturn VM_FAULT_OOM;\n"
         "\tvmf->virtual_address = (void __user *)(address & PAGE_MASK);\n"
         "\tvmf->pgoff = linear_page_index(vma, address);\n"
         "\tret = do_wp_fault(vma, vmf);\n\tkfree(vmf);\n\treturn ret;\n}}\n")


@pytest.mark.parametrize("alloc, warned", [("kmalloc", True), ("kzalloc", False)])
def test_changed_site_allocated_is_checked_like_a_declaration(tmp_path, alloc, warned):
    """The initializer becomes an allocation: kmalloc leaves .flags garbage, kzalloc zero."""
    new = edit(WP_FAULT_C, WP_INIT + "\n\treturn do_wp_fault(vma, &vmf);\n}\n",
               ALLOC.format(alloc=alloc))
    rc, rep = review_wp(tmp_path, new)
    keys = [f["key"] for f in field_init(rep)]
    assert keys == (["vm_fault.flags:mm/wp_fault.c:handle_wp_fault:vmf:changed-site"]
                    if warned else [])
    assert rc == int(warned)


# --- the real 6.1 tree ------------------------------------------------------------------------

SWAPIN = "\t\t\tpage = swapin_readahead(entry, GFP_HIGHUSER_MOVABLE,\n"
KH_INIT = "\t\t\t.pgoff = linear_page_index(vma, haddr),\n"


def _kernel_review(kernel_tree, tmp_path, with_khugepaged_fix: bool):
    mem = show(kernel_tree, "HEAD", "mm/memory.c")
    diffs = [file_diff(kernel_tree, "mm/memory.c", mem, replace_once(
        mem, SWAPIN, "\t\t\tpage = swapin_readahead(entry, vmf->gfp_mask,\n"))]
    if with_khugepaged_fix:
        kh = show(kernel_tree, "HEAD", "mm/khugepaged.c")
        diffs.append(file_diff(kernel_tree, "mm/khugepaged.c", kh, replace_once(
            kh, KH_INIT, KH_INIT + "\t\t\t.gfp_mask = GFP_HIGHUSER_MOVABLE,\n")))
    mail = patch_mail("mm: swap in with the fault's gfp mask", "swapin-gfp@example.org", diffs,
                      changelog="Read swapped-out pages in with the mask of the fault.")
    (tmp_path / "s.mbox").write_text(mail)
    r = subprocess.run([sys.executable, "-m", "reviewbot", "review", "--mbox",
                        str(tmp_path / "s.mbox"), "--tree", str(kernel_tree), "--format", "json",
                        "--no-simulate"], capture_output=True, text=True, cwd="/", timeout=300)
    assert r.returncode in (0, 1), r.stderr
    return [f for f in json.loads(r.stdout)["findings"]
            if f["rule"] == "field-init" and f["details"].get("check") == "new-read"]


def test_kernel_new_read_of_gfp_mask_in_do_swap_page(kernel_tree, tmp_path):
    """do_swap_page() newly reads vmf->gfp_mask: khugepaged's swap-in site builds its
    vm_fault with a designated initializer and no .gfp_mask; __handle_mm_fault() sets it."""
    fi = _kernel_review(kernel_tree, tmp_path, with_khugepaged_fix=False)
    sites = {(f["details"]["site_file"], f["details"]["site_function"]) for f in fi}
    assert ("mm/khugepaged.c", "__collapse_huge_page_swapin") in sites, fi
    assert not [s for s in sites if s[1] == "__handle_mm_fault"]
    kh = next(f for f in fi if f["details"]["site_function"] == "__collapse_huge_page_swapin")
    assert kh["details"]["call_path"] == ["__collapse_huge_page_swapin", "do_swap_page"]
    assert kh["details"]["site_status"] == "implicitly zero"
    assert kh["function"] == "do_swap_page" and kh["file"] == "mm/memory.c"
    # the edit that adds the member to khugepaged's initializer removes the finding
    fixed = _kernel_review(kernel_tree, tmp_path, with_khugepaged_fix=True)
    assert not [f for f in fixed if f["details"]["site_function"] == "__collapse_huge_page_swapin"]
