"""The diff read as C (issue 14): each misreading seen on real linux-mm traffic, on a patch of the
precision corpus (corpus/precision, written here), diff-only and against a small git tree
built from the same files."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reviewbot import cparse

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus" / "precision"
sys.path.insert(0, str(CORPUS))
from cases import CASES  # noqa: E402
from make import before_files, build_tree  # noqa: E402

EXPECTED = {Path(c["patch"]).stem.split("-", 1)[1]: c
            for c in json.loads((CORPUS / "expected.json").read_text())}
BY_NAME = {c["name"]: c for c in CASES}


def patch_of(name: str) -> Path:
    return CORPUS / EXPECTED[name]["patch"]


def reviewbot(*args, cwd="/"):
    return subprocess.run([sys.executable, "-m", "reviewbot", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def review(name: str, *extra, tree: Path | None = None):
    """(exit status, JSON report) of `reviewbot review` on one corpus patch."""
    where = ["--tree", str(tree)] if tree else ["--no-tree"]
    r = reviewbot("review", "--mbox", str(patch_of(name)), *where, "--no-simulate",
                  "--format", "json", *extra)
    assert r.returncode in (0, 1), r.stderr
    return r.returncode, json.loads(r.stdout)


def tree_of(tmp_path: Path, name: str, extra: dict[str, str] | None = None) -> Path:
    """A git tree holding the case's files as they were before its patch."""
    return build_tree({**before_files(BY_NAME[name]), **(extra or {})}, tmp_path / "tree")


def keys(rep) -> list[tuple[str, str]]:
    return [(f["key"], f["severity"]) for f in rep["findings"]]


# 1. a new member whose hunk header names another line -------------------------------------

def test_member_is_found_in_the_struct_the_context_opens():
    rc, rep = review("gfp-mask-member-alone")
    assert keys(rep) == [("vm_fault.gfp_mask:diff-only", "info")]
    assert rep["findings"][0]["details"] == {"struct": "vm_fault", "member": "gfp_mask"}
    assert rc == 0


def test_member_of_a_member_struct_is_a_member_of_the_outer_struct():
    rc, rep = review("member-of-a-member-struct")
    assert keys(rep) == [("page.zone_device_data:diff-only", "info")] and rc == 0


def test_member_of_a_struct_the_diff_does_not_name_is_listed_as_skipped():
    rc, rep = review("member-in-unnamed-block")
    assert rc == 0 and rep["findings"] == []
    skipped = [s for s in rep["skipped"] if s["check"] == "field-init: which struct a member "
               "belongs to"]
    assert skipped and "include/linux/vmstat_fault.h:" in skipped[0]["reason"]


def test_member_found_with_a_tree_lists_the_sites_that_miss_it(tmp_path):
    from cases import MEMORY_C
    rc, rep = review("gfp-mask-member-alone", tree=tree_of(tmp_path, "gfp-mask-member-alone",
                                                           {"mm/memory.c": MEMORY_C}))
    assert rep["series"]["applied"] == "exact"
    fi = sorted(f["function"] for f in rep["findings"] if f["rule"] == "field-init")
    assert rc == 1 and fi == ["__do_fault", "do_page_mkwrite"]


# 2. a reflowed condition is the same set of tests -----------------------------------------

@pytest.mark.parametrize("name", ["reflow-split-condition", "reflow-join-condition",
                                  "rename-local", "if-chain-to-switch", "move-function",
                                  "extract-helper-with-test", "else-branch-in-nested-block"])
def test_same_tests_differently_written_are_no_change(name):
    rc, rep = review(name)
    assert rep["findings"] == [] and rc == 0


def test_a_test_really_removed_is_still_reported():
    _rc, rep = review("removed-test-of-a-bit")
    change = [f for f in rep["findings"] if f["key"] == "VM_FAULT_RETRY:change"]
    assert change and "a test of it removed in faultin_page()" in change[0]["message"]


COW_2014 = ROOT.parent / "shared" / "threads" / \
    "C01-v11-04-21-mm-allow-page-fault-handlers-to-perform-the-cow.mbox"


@pytest.mark.skipif(not COW_2014.exists(), reason="needs ../shared/threads")
def test_real_cow_thread_diff_only_says_only_what_is_true(tmp_path):
    """The 2014 COW patch edits code around `ret & (VM_FAULT_ERROR | ...)` in do_cow_fault()
    without changing the test: only VM_FAULT_LOCKED's new meaning, its documentation and the
    new member are reported."""
    r = reviewbot("review", "--mbox", str(COW_2014), "--format", "json", cwd=tmp_path)
    rep = json.loads(r.stdout)
    assert sorted(keys(rep)) == [("VM_FAULT_LOCKED:change", "warning"),
                                 ("VM_FAULT_LOCKED:documentation", "warning"),
                                 ("vm_fault.cow_page:diff-only", "info")]
    assert r.returncode == 1


# 3. producing a bit is not testing it ------------------------------------------------------

@pytest.mark.parametrize("name", ["return-nopage", "ored-result", "return-sigbus"])
def test_returned_or_ored_bits_are_not_tests(name):
    rc, rep = review(name)
    assert rep["findings"] == [] and rc == 0


# 4. and 5. comment and type edits of existing members -------------------------------------

@pytest.mark.parametrize("name", ["comment-edit-cow-page", "type-change-two-members",
                                  "rename-member", "new-struct", "new-struct-grows"])
def test_existing_members_edited_are_not_new_members(name):
    rc, rep = review(name)
    assert rep["findings"] == [] and rc == 0


# 6. init helpers and zeroing allocators set the member ------------------------------------

@pytest.mark.parametrize("name,where", [
    ("init-completion", "kdamond_ctx_create"), ("seqcount-init", "vma_seq_create"),
    ("spin-lock-init", "zone_lockinfo_create"), ("init-list-head", "mem_pool_create"),
    ("mutex-init", "swap_dev_create"), ("atomic-set", "page_pool_info_create"),
    ("write-once", "lru_info_create")])
def test_init_helper_counts_as_setting_the_member(name, where):
    _rc, rep = review(name)
    (f,) = rep["findings"]
    assert f"the series sets it in {where}()" in f["message"] and "nowhere" not in f["message"]
    assert [s["function"] for s in f["sites"]] == [where]


@pytest.mark.parametrize("name", ["init-completion", "spin-lock-init", "init-list-head",
                                  "atomic-set", "kzalloc", "kmem-cache-zalloc", "memset"])
def test_with_a_tree_helpers_and_zeroing_leave_nothing_unset(tmp_path, name):
    rc, rep = review(name, tree=tree_of(tmp_path, name))
    assert rep["series"]["mode"] == "tree" and rep["series"]["applied"] == "exact"
    assert [f for f in rep["findings"] if f["severity"] != "info"] == [] and rc == 0


# 7. a suggested fix goes at a statement boundary of the declaring block -------------------

WB_H = ("struct writeback_control {\n\tlong nr_to_write;\n\tunsigned int sync_mode;\n};\n")
WB_C = ("#include <linux/writeback.h>\n\nstatic int write_one(struct address_space *mapping,\n"
        "\t\t     struct writeback_control *wbc)\n{\n\tstruct writeback_control tmp_wbc;\n\n"
        "\tif (!wbc)\n\t\twbc = &tmp_wbc;\n\treturn do_writepages(mapping, wbc);\n}\n")


def test_fix_never_lands_between_an_unbraced_if_and_its_body(tmp_path):
    from tests.kpatch import file_diff, patch_mail
    repo = build_tree({"include/linux/writeback.h": WB_H, "mm/page-writeback.c": WB_C},
                      tmp_path / "tree")
    new_h = WB_H.replace("\tunsigned int sync_mode;\n", "\tunsigned int sync_mode;\n"
                         "\tunsigned int for_sync:1;\n")
    mail = patch_mail("writeback: add for_sync", "for-sync@example.org",
                      [file_diff(repo, "include/linux/writeback.h", WB_H, new_h)])
    (tmp_path / "p.mbox").write_text(mail)
    r = reviewbot("review", "--mbox", str(tmp_path / "p.mbox"), "--tree", str(repo),
                  "--no-simulate", "--format", "json")
    (f,) = json.loads(r.stdout)["findings"]
    assert r.returncode == 1 and f["function"] == "write_one"
    (tmp_path / "fix.diff").write_text(f["fix"])
    subprocess.run(["git", "-C", str(repo), "apply", str(tmp_path / "fix.diff")], check=True)
    fixed = (repo / "mm/page-writeback.c").read_bytes()
    fn = next(x for x in cparse.functions(fixed) if x.name == "write_one").node
    body = fn.child_by_field_name("body")
    stmts = [cparse.text(c) for c in body.named_children]
    # the body of the `if` is unchanged and the new statement is its own, unconditional one
    assert stmts == ["struct writeback_control tmp_wbc;", "tmp_wbc.for_sync = 0;",
                     "if (!wbc)\n\t\twbc = &tmp_wbc;", "return do_writepages(mapping, wbc);"]


# 8. a function name is never a file name ---------------------------------------------------

def test_change_in_a_block_the_header_does_not_name_cites_the_file():
    _rc, rep = review("label-header")
    change = next(f for f in rep["findings"] if f["key"] == "VM_FAULT_MAJOR:change")
    assert "a new test of it in arch/alpha/mm/fault.c" in change["message"]
    assert ".c()" not in change["message"] and change["function"] == ""


# 9. documentation findings that are true ---------------------------------------------------

def test_without_a_tree_the_document_assumed_is_said():
    _rc, rep = review("new-test-of-a-bit")
    doc = next(f for f in rep["findings"] if f["key"] == "VM_FAULT_HWPOISON:documentation")
    assert "Documentation/filesystems/Locking" in doc["message"]
    assert "no tree to tell" in doc["message"]


@pytest.mark.parametrize("doc", ["Documentation/filesystems/Locking",
                                 "Documentation/filesystems/locking.rst"])
def test_with_a_tree_its_own_document_is_named(tmp_path, doc):
    from cases import LOCKING
    rc, rep = review("new-test-of-a-bit", tree=tree_of(tmp_path, "new-test-of-a-bit",
                                                        {doc: LOCKING}))
    docs = [f for f in rep["findings"] if f["key"] == "VM_FAULT_HWPOISON:documentation"]
    assert rc == 1 and [f["file"] for f in docs] == [doc]
    assert "no tree to tell" not in docs[0]["message"] and docs[0]["line"] > 0


@pytest.mark.parametrize("name", ["contract-with-comment-update", "contract-with-locking-doc"])
def test_an_updated_comment_or_document_is_an_update(name):
    _rc, rep = review(name)
    assert [k for k, _s in keys(rep) if k.endswith(":documentation")] == []
    assert [k for k, _s in keys(rep) if k.endswith(":change")]


# 10. info never fails the run --------------------------------------------------------------

def test_info_only_exits_zero_and_warnings_exit_one():
    rc, rep = review("kzalloc")
    assert rc == 0 and {f["severity"] for f in rep["findings"]} == {"info"}
    text = reviewbot("review", "--mbox", str(patch_of("kzalloc")), "--no-tree")
    assert text.returncode == 0 and "shrink_ctl" in text.stdout
    rc, rep = review("redefined-bit")
    assert rc == 1 and "warning" in {f["severity"] for f in rep["findings"]}


# the corpus as a whole, and that it is what cases.py says ---------------------------------

def test_precision_corpus_is_generated_from_its_cases():
    r = subprocess.run([sys.executable, str(CORPUS / "make.py"), "--check"], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout
    assert len(EXPECTED) >= 40


def test_precision_corpus_gives_the_expected_findings():
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "precision.py")],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "findings per patch: 0.00 (total 0; target 0)" in r.stdout
    assert "(100%; target 100%); extra warnings 0 (target 0); extra info 0" in r.stdout
    assert "missing skipped" not in r.stdout


# the same shapes on the real 6.1 tree --------------------------------------------------------

def _kernel_review(kernel_tree, tmp_path, subject, edits, *tree):
    from tests.kpatch import file_diff, patch_mail, replace_once, show
    diffs = []
    for path, pairs in edits.items():
        old = new = show(kernel_tree, "HEAD", path)
        for a, b in pairs:
            new = replace_once(new, a, b)
        diffs.append(file_diff(kernel_tree, path, old, new))
    (tmp_path / "p.mbox").write_text(patch_mail(subject, f"{len(diffs)}-{subject[:9]}@x", diffs))
    r = reviewbot("review", "--mbox", str(tmp_path / "p.mbox"), *tree, "--no-simulate",
                  "--format", "json", cwd=tmp_path)
    assert r.returncode in (0, 1), r.stderr
    return r.returncode, json.loads(r.stdout)


KERNEL_NOISE = {
    "mm/memory.c": [
        ("\tif (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY |\n"
         "\t\t\t    VM_FAULT_DONE_COW)))",
         "\tif (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE |\n"
         "\t\t\t    VM_FAULT_RETRY | VM_FAULT_DONE_COW)))"),
        ("\t\tif (unlikely(!tmp || (tmp &\n\t\t\t\t      (VM_FAULT_ERROR | VM_FAULT_NOPAGE)))) {",
         "\t\tif (unlikely(!tmp || (tmp & (VM_FAULT_ERROR | VM_FAULT_NOPAGE)))) {")],
    "include/linux/mm.h": [
        ("\tstruct page *cow_page;\t\t/* Page handler may use for COW fault */",
         "\tstruct page *cow_page;\t\t/* private page a handler may COW into */"),
        ("\t\tunsigned long real_address;\t/* Faulting virtual address - unmasked */",
         "\t\tconst unsigned long real_address;\t/* Faulting virtual address - unmasked */")]}


@pytest.mark.parametrize("mode", ["tree", "diff-only"])
def test_kernel_reflow_comment_and_type_edits_are_silent(kernel_tree, tmp_path, mode):
    tree = ["--tree", str(kernel_tree)] if mode == "tree" else ["--no-tree"]
    rc, rep = _kernel_review(kernel_tree, tmp_path, "mm: reflow and comment", KERNEL_NOISE,
                             *tree)
    assert rep["series"]["mode"] == mode and rep["findings"] == [] and rc == 0


def test_kernel_test_dropped_from_a_reflowed_condition_is_reported(kernel_tree, tmp_path):
    rc, rep = _kernel_review(kernel_tree, tmp_path, "mm: let __do_fault pass RETRY on", {
        "mm/memory.c": [
            ("\tif (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY |\n"
             "\t\t\t    VM_FAULT_DONE_COW)))",
             "\tif (unlikely(ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE |\n"
             "\t\t\t    VM_FAULT_DONE_COW)))")]}, "--tree", str(kernel_tree))
    assert rc == 1 and sorted(k for k, _s in keys(rep)) == ["VM_FAULT_RETRY:change",
                                                           "VM_FAULT_RETRY:documentation"]
    change = next(f for f in rep["findings"] if f["key"] == "VM_FAULT_RETRY:change")
    assert "a test of it removed in __do_fault()" in change["message"]
    doc = next(f for f in rep["findings"] if f["key"] == "VM_FAULT_RETRY:documentation")
    assert doc["file"] == "Documentation/filesystems/locking.rst"
