"""The apply ladder on Debian's linux-source-6.1: a patch made against a drifted copy of a file
needs fuzz, a hunk whose lines the tree does not have is left out (the rest applies and the
whole-tree checks still run), and `series.applied` names the step that took the series."""
from __future__ import annotations

import json
import subprocess
import sys

from kpatch import file_diff, patch_mail, replace_once, show
from test_review_kernel import SNAP_FN

MEMBER_AT = "\tstruct page *cow_page;\t\t/* Page handler may use for COW fault */\n"
MEMBER = "\tunsigned long fault_seq;\t/* Sequence number of this fault */\n"
# The context line three below the new member, as a distro tree would have reworded it.
CONTEXT_AT = "\t\t\t\t\t * is set (which is also implied by\n"
CONTEXT_DRIFT = "\t\t\t\t\t * is set (which VM_FAULT_ERROR also implies,\n"


def reviewbot(*args, cwd="/"):
    return subprocess.run([sys.executable, "-m", "reviewbot", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


def review(kernel_tree, mail: str, tmp_path) -> dict:
    (tmp_path / "s.mbox").write_text(mail)
    r = reviewbot("review", "--mbox", str(tmp_path / "s.mbox"), "--tree", str(kernel_tree),
                  "--format", "json", "--no-simulate")
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout)


def seq_diffs(kernel_tree, drift_header: bool = False, memory_old: str | None = None,
              reword: bool = True):
    """The fault_seq series: the member in mm.h, an unset builder at the end of memory.c.
    drift_header: diff mm.h as a tree with 12 more lines above (and, with `reword`, one
    context line reworded) would have it. memory_old: the memory.c the diff claims as its
    preimage."""
    mm_h = show(kernel_tree, "HEAD", "include/linux/mm.h")
    old_h = mm_h
    if drift_header:
        if reword:
            old_h = replace_once(mm_h, CONTEXT_AT, CONTEXT_DRIFT)
        old_h = replace_once(old_h, "#include <linux/gfp.h>\n", "#include <linux/gfp.h>\n"
                             + "".join(f"/* distro line {i} */\n" for i in range(12)))
    new_h = replace_once(old_h, MEMBER_AT, MEMBER_AT + MEMBER)
    mem = memory_old if memory_old is not None else show(kernel_tree, "HEAD", "mm/memory.c")
    return [file_diff(kernel_tree, "include/linux/mm.h", old_h, new_h),
            file_diff(kernel_tree, "mm/memory.c", mem, mem + SNAP_FN)]


def seq_mail(diffs) -> str:
    return patch_mail("mm: add a fault sequence number to struct vm_fault", "fault-seq@example.org",
                      diffs, changelog="Record a sequence number in struct vm_fault.")


def field_init(rep: dict) -> list[dict]:
    return [f for f in rep["findings"] if f["rule"] == "field-init"]


def test_clean_patch_applies_exact(kernel_tree, tmp_path):
    rep = review(kernel_tree, seq_mail(seq_diffs(kernel_tree)), tmp_path)
    assert rep["series"]["mode"] == "tree" and rep["series"]["applied"] == "exact"
    assert not [s for s in rep["skipped"] if s["check"].startswith("apply")]
    assert [f["function"] for f in field_init(rep)] == ["vmf_fault_seq_probe"]


def test_moved_hunk_applies_exact_and_findings_have_the_trees_lines(kernel_tree, tmp_path):
    clean = review(kernel_tree, seq_mail(seq_diffs(kernel_tree)), tmp_path)
    diffs = seq_diffs(kernel_tree, drift_header=True, reword=False)
    assert "@@ -525,6 +525,7 @@" in diffs[0]      # 12 lines below where the tree has it
    rep = review(kernel_tree, seq_mail(diffs), tmp_path)
    assert rep["series"]["applied"] == "exact"
    assert rep["findings"] == clean["findings"]
    (fi,) = field_init(rep)
    mm_h = show(kernel_tree, "HEAD", "include/linux/mm.h")
    assert fi["details"]["member_line"] == mm_h[:mm_h.index(MEMBER_AT)].count("\n") + 2


def test_offset_and_changed_context_apply_with_fuzz_and_keep_the_verdict(kernel_tree, tmp_path):
    diffs = seq_diffs(kernel_tree, drift_header=True)
    # the diff really does not apply as is: its context is not the tree's
    assert "\n " + CONTEXT_DRIFT in diffs[0] and "@@ -525,6 +525,7 @@" in diffs[0]
    rep = review(kernel_tree, seq_mail(diffs), tmp_path)
    assert rep["series"]["mode"] == "tree" and rep["series"]["applied"] == "fuzz"
    assert not [s for s in rep["skipped"] if s["check"] == "apply"]
    notes = [s["reason"] for s in rep["skipped"] if s["check"] == "apply (fuzz)"]
    assert len(notes) == 1 and "patch 1/1" in notes[0] and "(fuzz)" in notes[0]
    fi = field_init(rep)
    assert [f["function"] for f in fi] == ["vmf_fault_seq_probe"]
    # the sites come from the whole patched tree, as with a clean apply
    statuses = [s["status"] for s in fi[0]["sites"]]
    assert statuses.count("implicitly zero") == 7 and "not set before escape" in statuses


def test_hunk_that_cannot_apply_is_named_and_the_rest_is_reviewed(kernel_tree, tmp_path):
    fm = show(kernel_tree, "HEAD", "mm/filemap.c")
    # mm/filemap.c as a tree the patch was made on has it: a line this tree lacks is changed,
    # so that hunk cannot apply; the mm.h and memory.c hunks can
    theirs = replace_once(fm, "vm_fault_t filemap_fault(struct vm_fault *vmf)\n{\n",
                          "vm_fault_t filemap_fault(struct vm_fault *vmf)\n{\n"
                          "\tunsigned long seq = 0;\n")
    ours = replace_once(theirs, "\tunsigned long seq = 0;\n",
                        "\tunsigned long seq = vmf->fault_seq;\n")
    diffs = seq_diffs(kernel_tree) + [file_diff(kernel_tree, "mm/filemap.c", theirs, ours)]
    rep = review(kernel_tree, seq_mail(diffs), tmp_path)
    assert rep["series"]["mode"] == "tree" and rep["series"]["applied"] == "partial"
    apply = [s["reason"] for s in rep["skipped"] if s["check"] == "apply"]
    assert len(apply) == 1, apply
    assert apply[0].startswith("patch 1/1 does not apply: mm/filemap.c hunk #1 (@@ -")
    checks = {s["check"]: s["reason"] for s in rep["skipped"]}
    assert "ran on the base tree" in checks["whole-tree checks"]
    # the hunks that applied are reviewed on the whole tree, as with a clean apply
    fi = field_init(rep)
    assert [f["function"] for f in fi] == ["vmf_fault_seq_probe"], rep["findings"]
    assert [s["status"] for s in fi[0]["sites"]].count("implicitly zero") == 7


def test_one_patch_of_a_series_is_applied_alone_and_the_rest_named(kernel_tree, tmp_path):
    """Patch 2/3 saved on its own: it applies, tree mode, `skipped` names 1/3 and 3/3."""
    mm_h = show(kernel_tree, "HEAD", "include/linux/mm.h")
    mail = patch_mail("mm: add a fault sequence number to struct vm_fault", "seq-2@example.org",
                      [file_diff(kernel_tree, "include/linux/mm.h", mm_h,
                                 replace_once(mm_h, MEMBER_AT, MEMBER_AT + MEMBER))],
                      n=2, total=3)
    rep = review(kernel_tree, mail, tmp_path)
    assert rep["series"]["mode"] == "tree" and rep["series"]["applied"] == "exact"
    series = [s["reason"] for s in rep["skipped"] if s["check"] == "series"]
    assert len(series) == 1 and "missing patch 1/3, 3/3" in series[0]
    assert "findings may change" in series[0]
    assert [p["index"] for p in rep["series"]["patches"]] == [2]


def test_patch_on_an_older_blob_applies_by_3way_merge(tmp_path):
    """The tree changed a context line since the patch's base; the index lines name blobs the
    tree has, so a 3-way merge takes it where a plain apply does not."""
    from reviewbot import corpus
    from support.mbox import read_mboxrd, write_mboxrd
    tree = tmp_path / "tree"
    corpus.build_tree_repo(tree)
    mem = tree / "mm" / "memory.c"
    old = "\tvmf.flags = FAULT_FLAG_WRITE | FAULT_FLAG_MKWRITE;\n"
    mem.write_text(replace_once(mem.read_text(), old, old.replace(";", ";\t/* from mkwrite */")))
    git = ["git", "-C", str(tree), "-c", "user.name=u", "-c", "user.email=u@example.org"]
    subprocess.run([*git, "commit", "-qam", "mm: say where the flags come from"], check=True)
    # the patches without the cover letter and its base-commit: applied onto HEAD
    mails = [m for m in read_mboxrd(corpus.thread_path("cow"))
             if str(m["Subject"]).startswith(("[PATCH v2 1/2]", "[PATCH v2 2/2]"))]
    write_mboxrd(tmp_path / "s.mbox", mails)
    r = reviewbot("review", "--mbox", str(tmp_path / "s.mbox"), "--tree", str(tree), "--format",
                  "json", "--no-simulate")
    assert r.returncode in (0, 1), r.stderr
    rep = json.loads(r.stdout)
    assert rep["series"]["mode"] == "tree" and rep["series"]["applied"] == "3way"
    notes = [s["reason"] for s in rep["skipped"] if s["check"] == "apply (3way)"]
    assert len(notes) == 1 and notes[0].startswith("patch 1/2 applies to")
    # line numbers follow the tree: do_page_mkwrite's new line is where the tree has it
    fns = rep["series"]["patches"][0]["functions"]
    assert "mm/memory.c:do_page_mkwrite" in fns and "mm/memory.c:__do_fault" in fns
    status = subprocess.run([*git, "status", "--porcelain"], capture_output=True, text=True)
    assert status.stdout == ""


def test_member_hunk_left_out_still_gets_the_whole_tree_site_list(kernel_tree, tmp_path):
    """The hunk adding the member is written against another tree (its context is not 6.1's),
    so only the new builder in memory.c applies: the member is read from the mail, and the
    6.1 sites of struct vm_fault are still listed, with the unset builder as a finding."""
    mm_h = show(kernel_tree, "HEAD", "include/linux/mm.h")
    other = replace_once(mm_h, " * pgoff should be used in favour of virtual_address, if "
                         "possible.\n */\nstruct vm_fault {\n\tconst struct {\n",
                         " * (another tree's comment)\n */\nstruct vm_fault {\n\tstruct {\n")
    new_h = replace_once(other, "struct vm_fault {\n", "struct vm_fault {\n" + MEMBER)
    header = file_diff(kernel_tree, "include/linux/mm.h", other, new_h)
    header = header.replace("@@\n", "@@ struct vm_fault {\n", 1)   # as git names the block
    mem = show(kernel_tree, "HEAD", "mm/memory.c")
    rep = review(kernel_tree, seq_mail([header, file_diff(kernel_tree, "mm/memory.c", mem,
                                                          mem + SNAP_FN)]), tmp_path)
    assert rep["series"]["applied"] == "partial"
    assert any(s["check"] == "apply" and "include/linux/mm.h hunk #1" in s["reason"]
               for s in rep["skipped"])
    fi = field_init(rep)
    assert len(fi) == 1 and fi[0]["function"] == "vmf_fault_seq_probe" and fi[0]["introduced"]
    statuses = [s["status"] for s in fi[0]["sites"]]
    assert statuses.count("implicitly zero") == 7 and statuses.count("not set before escape") == 1
