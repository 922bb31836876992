"""`reviewbot review` on Debian's linux-source-6.1: field-init agrees with Coccinelle on every
construction site, and fault-contract lists every consumer across arch/."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kpatch import file_diff, patch_mail, replace_once, show
from support.env import require_command

# the matching rules, then one reporting script per rule
COCCI = r"""
virtual report

@noinit@
identifier x;
position p;
@@
struct vm_fault x@p;

@braceinit@
identifier x;
position p;
@@
struct vm_fault x@p = { ... };

@otherinit@
identifier x;
expression E;
position p;
@@
struct vm_fault x@p = E;

@alloc@
position p;
identifier f = {kmalloc, kzalloc, kvmalloc, kvzalloc, kcalloc, kmem_cache_alloc, kmem_cache_zalloc};
@@
f@p(..., sizeof(struct vm_fault), ...)

@allocptr@
position p;
identifier f = {kmalloc, kzalloc, kvmalloc, kvzalloc, kcalloc};
struct vm_fault *E;
@@
f@p(..., sizeof(*E), ...)

""" + "".join(f"""
@script:python depends on {rule}@
p << {rule}.p;
@@
print("SITE %s:%s" % (p[0].file, p[0].line))
""" for rule in ("noinit", "braceinit", "otherinit", "alloc", "allocptr"))

SNAP_FN = """
/* Debug aid: the sequence number of the fault the handler saw. */
unsigned long vmf_fault_seq_probe(const struct vm_fault *vmf)
{
	struct vm_fault snap;

	snap.flags = vmf->flags;
	snap.pgoff = vmf->pgoff;
	return vmf_seq_consume(&snap);
}
"""


def reviewbot(*args):
    return subprocess.run([sys.executable, "-m", "reviewbot", *args], capture_output=True,
                          text=True, cwd="/", timeout=300)


@pytest.fixture(scope="module")
def field_series(kernel_tree, tmp_path_factory):
    """A patch adding `fault_seq` to struct vm_fault plus a helper that builds one unset."""
    mm_h = show(kernel_tree, "HEAD", "include/linux/mm.h")
    new_h = replace_once(mm_h, "\tstruct page *cow_page;\t\t/* Page handler may use for COW fault */\n",
                         "\tstruct page *cow_page;\t\t/* Page handler may use for COW fault */\n"
                         "\tunsigned long fault_seq;\t/* Sequence number of this fault */\n")
    mem = show(kernel_tree, "HEAD", "mm/memory.c")
    new_mem = mem + SNAP_FN
    mail = patch_mail("mm: add a fault sequence number to struct vm_fault", "fault-seq@example.org",
                      [file_diff(kernel_tree, "include/linux/mm.h", mm_h, new_h),
                       file_diff(kernel_tree, "mm/memory.c", mem, new_mem)],
                      changelog="Record a sequence number in struct vm_fault for debugging.")
    d = tmp_path_factory.mktemp("fseries")
    (d / "series.mbox").write_text(mail)
    return d / "series.mbox", {"include/linux/mm.h": new_h, "mm/memory.c": new_mem}


def test_field_init_matches_coccinelle_on_the_whole_tree(kernel_tree, field_series, tmp_path):
    spatch = require_command("spatch", "coccinelle")
    mbox, patched = field_series
    r = reviewbot("review", "--mbox", str(mbox), "--tree", str(kernel_tree), "--format", "json",
                  "--no-simulate")
    assert r.returncode == 1, r.stderr
    rep = json.loads(r.stdout)
    fi = [f for f in rep["findings"] if f["rule"] == "field-init"]
    assert len(fi) == 1 and fi[0]["function"] == "vmf_fault_seq_probe"
    assert fi[0]["file"] == "mm/memory.c" and fi[0]["introduced"]
    ours = sorted(f"{s['file']}:{s['line']}" for s in fi[0]["sites"])
    # Coccinelle over every file that mentions vm_fault, with the patched files in place
    files = subprocess.run(["git", "-C", str(kernel_tree), "grep", "-l", "-w", "vm_fault", "--",
                            "*.c", "*.h"], capture_output=True, text=True).stdout.split()
    root = tmp_path / "tree"
    for f in files:
        dst = root / f
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(kernel_tree / f, dst)
    for f, text in patched.items():
        (root / f).write_text(text)
    (tmp_path / "sites.cocci").write_text(COCCI)
    out = subprocess.run([spatch, "--very-quiet", "--include-headers", "-j", "2", "--sp-file",
                          str(tmp_path / "sites.cocci"), "--dir", str(root)],
                         capture_output=True, text=True, timeout=600)
    theirs = sorted({os.path.relpath(m.group(1), root) + ":" + m.group(2)
                     for m in re.finditer(r"^SITE (.+):(\d+)$", out.stdout, re.M)})
    assert theirs, out.stderr[-2000:]
    assert ours == theirs
    statuses = {f"{s['file']}:{s['line']}": s["status"] for s in fi[0]["sites"]}
    assert list(statuses.values()).count("implicitly zero") == 7
    assert [k for k, v in statuses.items() if v == "not set before escape"] == \
        [f"mm/memory.c:{fi[0]['line']}"]


def test_fault_contract_lists_every_consumer_across_arch(kernel_tree, tmp_path):
    path = "include/linux/mm_types.h"
    old = show(kernel_tree, "HEAD", path)
    new = replace_once(old, "VM_FAULT_RETRY          = (__force vm_fault_t)0x000400,",
                       "VM_FAULT_RETRY          = (__force vm_fault_t)0x000400,"
                       "\t/* mmap_lock may still be held */")
    mail = patch_mail("mm: VM_FAULT_RETRY no longer implies mmap_lock was dropped",
                      "retry-meaning@example.org", [file_diff(kernel_tree, path, old, new)],
                      changelog="VM_FAULT_RETRY now means the fault may be retried while "
                                "mmap_lock is still held.")
    (tmp_path / "s.mbox").write_text(mail)
    r = reviewbot("review", "--mbox", str(tmp_path / "s.mbox"), "--tree", str(kernel_tree),
                  "--format", "json", "--no-simulate")
    assert r.returncode == 1, r.stderr
    rep = json.loads(r.stdout)
    change = [f for f in rep["findings"] if f["key"] == "VM_FAULT_RETRY:change"]
    assert change, rep["findings"]
    consumers = {s["file"] for s in change[0]["sites"] if s["status"] == "consumer"}
    arch_files = set(subprocess.run(
        ["git", "-C", str(kernel_tree), "grep", "-l", "-w", "VM_FAULT_RETRY", "--", "arch/"],
        capture_output=True, text=True).stdout.split())
    arch_c = {f for f in arch_files if f.endswith(".c")}
    assert len(arch_c) > 15
    listed_files = {s["file"] for s in change[0]["sites"]}
    assert arch_c <= listed_files, sorted(arch_c - listed_files)
    fault_c = {f for f in arch_c if re.fullmatch(r"arch/[^/]+/mm/fault\.c", f)}
    assert len(fault_c) > 15 and fault_c <= consumers, sorted(fault_c - consumers)
    every = subprocess.run(["git", "-C", str(kernel_tree), "grep", "-n", "-w", "VM_FAULT_RETRY",
                            "--", "*.c"], capture_output=True, text=True).stdout.splitlines()
    listed = {f"{s['file']}:{s['line']}" for s in change[0]["sites"]}
    missing = [ln for ln in every if ":".join(ln.split(":")[:2]) not in listed]
    comments = [ln for ln in missing if re.search(r"^\S+:\d+:\s*(/?\*|//)", ln)]
    assert missing == comments    # every use in code is listed; only comments are not
    assert any(f["key"] == "VM_FAULT_RETRY:documentation" for f in rep["findings"])
    assert "mm/memory.c" in consumers and "mm/gup.c" in consumers
