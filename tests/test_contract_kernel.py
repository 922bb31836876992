"""Issue 8 on Debian's linux-source-6.1: every caller of handle_mm_fault() is a peer of a new bit
it returns, exactly the calls `git grep` finds; and the tree's ->fault handlers with the locks
they hold at each return."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from kpatch import file_diff, patch_mail, replace_once, show

from reviewbot.tree import Repo, TreeView
from reviewbot_rules import lock_contract

NEW_BIT = ("\tVM_FAULT_HINDEX_MASK    = (__force vm_fault_t)0x0f0000,\n",
           "\tVM_FAULT_HINDEX_MASK    = (__force vm_fault_t)0x0f0000,\n"
           "\tVM_FAULT_EARLY_DONE     = (__force vm_fault_t)0x100000,\n")
RETURN_IT = ("\tmm_account_fault(regs, address, flags, ret);\n\n\treturn ret;\n}\n"
             "EXPORT_SYMBOL_GPL(handle_mm_fault);",
             "\tmm_account_fault(regs, address, flags, ret);\n\n"
             "\tif (ret & VM_FAULT_COMPLETED)\n\t\tret |= VM_FAULT_EARLY_DONE;\n"
             "\treturn ret;\n}\nEXPORT_SYMBOL_GPL(handle_mm_fault);")


def calls_by_grep(kernel) -> set[str]:
    """file:line of every call of handle_mm_fault(): `git grep -nw`, without declarations,
    the definition, comments, documentation and address-of uses."""
    out = subprocess.run(["git", "-C", str(kernel), "grep", "-nw", "handle_mm_fault", "--",
                          "*.c"], capture_output=True, text=True, check=True).stdout
    calls = set()
    for rec in out.splitlines():
        path, line, text = rec.split(":", 2)
        before = text.split("handle_mm_fault")[0]
        if "/*" in before or "//" in before or re.match(r"\s*\*(\s|/|$)", before):
            continue                        # a comment
        if not re.search(r"\bhandle_mm_fault\s*\(", text):
            continue                        # `(unsigned long)handle_mm_fault`
        if re.match(r"^\w", text):
            continue                        # the definition
        calls.add(f"{path}:{line}")
    return calls


def test_handle_mm_fault_peers_are_every_call_git_grep_finds(kernel_tree, tmp_path):
    types = "include/linux/mm_types.h"
    old_t, old_m = show(kernel_tree, "HEAD", types), show(kernel_tree, "HEAD", "mm/memory.c")
    mail = patch_mail(
        "mm: report a fault finished early", "early-done@example.org",
        [file_diff(kernel_tree, types, old_t, replace_once(old_t, *NEW_BIT)),
         file_diff(kernel_tree, "mm/memory.c", old_m, replace_once(old_m, *RETURN_IT))],
        changelog="handle_mm_fault() now returns VM_FAULT_EARLY_DONE with "
                  "VM_FAULT_COMPLETED when the fault finished before the mmap lock was "
                  "dropped.")
    (tmp_path / "s.mbox").write_text(mail)
    r = subprocess.run([sys.executable, "-m", "reviewbot", "review", "--mbox",
                        str(tmp_path / "s.mbox"), "--tree", str(kernel_tree), "--format",
                        "json", "--no-simulate"], capture_output=True, text=True, cwd="/",
                       timeout=600)
    assert r.returncode == 1, r.stderr
    rep = json.loads(r.stdout)
    change = next(f for f in rep["findings"] if f["key"] == "VM_FAULT_EARLY_DONE:change")
    direct = {f"{c['file']}:{c['line']}" for c in change["details"]["consumers"]
              if c["path"][:-1] == ["handle_mm_fault"]}
    expected = calls_by_grep(kernel_tree)
    assert len(expected) > 25
    assert direct == expected, (sorted(expected - direct), sorted(direct - expected))
    # each caller the series leaves alone and that does not pass the result up is a warning
    peers = {(f["file"], f["function"]) for f in rep["findings"] if ":peer:" in f["key"]}
    assert ("arch/x86/mm/fault.c", "do_user_addr_fault") in peers
    assert ("mm/gup.c", "faultin_page") in peers
    assert any(f["file"] == "include/linux/mm_types.h" and ":name-table:" in f["key"]
               for f in rep["findings"])


def test_the_61_fault_handlers_and_the_locks_they_return_with(kernel_tree):
    repo = Repo(kernel_tree)
    handlers, consumers = lock_contract._analyse(TreeView(repo, repo.head()))
    by = {}
    for e in handlers:
        by.setdefault(e.extra["handler"], []).append(e)

    def locked(name):
        return [e for e in by[name] if "VM_FAULT_LOCKED" in e.bits]

    # the page cache and shmem: VM_FAULT_LOCKED with the page, locked
    for name, file in (("filemap_fault", "mm/filemap.c"), ("shmem_fault", "mm/shmem.c")):
        assert locked(name), name
        for e in locked(name):
            assert e.file == file and e.page == "nonnull"
            assert [(l.name, l.mode) for l in e.held] == [("page lock", "X")]
    # the DAX iomap faults: the pfn is mapped, nothing is held at any return (ext4 takes
    # the invalidate lock and drops it before returning)
    for name in ("ext2_dax_fault", "ext4_dax_fault"):
        assert by[name] and all(not e.held and "VM_FAULT_LOCKED" not in e.bits
                                for e in by[name]), name
    ext4 = {f for e in by["ext4_dax_fault"] for _p, f in e.extra["visited"]}
    assert "ext4_dax_huge_fault" in ext4
    # filesystems that wire filemap_fault itself get its returns
    assert locked("filemap_fault")[0].extra["op"] == "fault"
    assert {c.function for c in consumers} == {"do_read_fault", "do_cow_fault",
                                               "do_shared_fault", "wp_page_shared"}
    # every consumer releases the page lock of a LOCKED return on its success path
    for c in consumers:
        if c.function != "wp_page_shared":
            assert any(l.name == "page lock" for e in consumers if e.function == c.function
                       for l in e.released), c.function


def test_a_lock_contract_review_of_the_61_tree_is_byte_identical_whatever_the_hash_seed(
        kernel_tree, tmp_path):
    """The walk meets a handler's exits in an order sets of strings decide; the findings list
    the handlers in one order all the same (this once differed between runs). And whether
    lock-contract runs in the worker process beside the other rules or in the main one after
    them (REVIEWBOT_SERIAL) changes no byte either."""
    old = show(kernel_tree, "HEAD", "mm/memory.c")
    new = replace_once(old, "\tif (ret & VM_FAULT_DONE_COW)\n",
                       "\tif (ret & (VM_FAULT_DONE_COW | VM_FAULT_LOCKED))\n")
    (tmp_path / "s.mbox").write_text(patch_mail(
        "mm: a COW fault that returns locked", "cow-locked@example.org",
        [file_diff(kernel_tree, "mm/memory.c", old, new)]))
    outs = []
    for seed, serial in (("1", ""), ("2", ""), ("3", "1")):
        env = {k: v for k, v in os.environ.items() if k != "REVIEWBOT_SERIAL"}
        r = subprocess.run([sys.executable, "-m", "reviewbot", "review", "--mbox",
                            str(tmp_path / "s.mbox"), "--tree", str(kernel_tree), "--format",
                            "json", "--no-simulate"], capture_output=True, text=True, cwd="/",
                           timeout=600, env={**env, "PYTHONHASHSEED": seed,
                                             "REVIEWBOT_CACHE": str(tmp_path / seed),
                                             **({"REVIEWBOT_SERIAL": serial} if serial else {})})
        assert r.returncode == 1, r.stderr
        outs.append(r.stdout)
    lc = [f for f in json.loads(outs[0])["findings"] if f["rule"] == "lock-contract"]
    assert any(len(f["details"]["handlers"]) > 1 for f in lc)
    assert outs[0] == outs[1] == outs[2]


def test_a_git_without_perl_patterns_finds_the_same_handlers(kernel_tree, tmp_path,
                                                             monkeypatch):
    """The delegates a handler returns are found word by word when `git grep -P` is not
    there: the same exits as with the one Perl pass."""
    monkeypatch.setenv("REVIEWBOT_CACHE", str(tmp_path / "perl"))
    repo = Repo(kernel_tree)
    with_perl = lock_contract._analyse(TreeView(repo, repo.head()))
    monkeypatch.setenv("REVIEWBOT_CACHE", str(tmp_path / "words"))
    repo = Repo(kernel_tree)
    repo.no_perl = True
    view = TreeView(repo, repo.head())
    without = lock_contract._analyse(view)
    assert view.grep_pattern(*lock_contract.DEFINES) is None
    assert [[e.to_json() for e in side] for side in without] == \
        [[e.to_json() for e in side] for side in with_perl]
    ext4 = {f for e in without[0] if e.extra["handler"] == "ext4_dax_fault"
            for _p, f in e.extra["visited"]}
    assert "ext4_dax_huge_fault" in ext4


def test_a_handler_delegate_in_another_file_is_read_from_the_patched_tree(kernel_tree,
                                                                         tmp_path, monkeypatch):
    """erofs_dax_fault() returns into fs/dax.c's dax_iomap_fault(), found through the index
    of definitions. Edit that C in the series (a return that keeps i_mmap_rwsem) and the
    handler's exits follow the edit; the base's stay as they were."""
    monkeypatch.setenv("REVIEWBOT_CACHE", str(tmp_path / "cache"))
    old = show(kernel_tree, "HEAD", "fs/dax.c")
    new = replace_once(old, "\tdefault:\n\t\treturn VM_FAULT_FALLBACK;\n\t}\n}\n"
                       "EXPORT_SYMBOL_GPL(dax_iomap_fault);",
                       "\tdefault:\n\t\ti_mmap_lock_read(vmf->vma->vm_file->f_mapping);\n"
                       "\t\treturn VM_FAULT_FALLBACK;\n\t}\n}\nEXPORT_SYMBOL_GPL(dax_iomap_fault);")
    blob = subprocess.run(["git", "-C", str(kernel_tree), "hash-object", "-w", "--stdin"],
                          input=new.encode(), capture_output=True, check=True).stdout.decode()
    repo = Repo(kernel_tree)
    base = TreeView(repo, repo.head())
    patched = base.with_overlay({"fs/dax.c": blob.strip()}, "patched")

    def held(view):
        handlers, _c = lock_contract._analyse(view, frozenset({"fs/dax.c"}))
        return {(l.name, l.mode, e.file) for e in handlers
                if e.extra["handler"] == "erofs_dax_fault" for l in e.held}

    assert held(base) == set()
    assert ("i_mmap_rwsem", "R", "fs/dax.c") in held(patched)


def test_a_comment_beside_a_bit_test_changes_no_contract_and_the_test_itself_does(
        kernel_tree, tmp_path):
    """Diffs read as C on the 6.1 tree: a comment added on the line of do_cow_fault()'s test
    of VM_FAULT_DONE_COW says nothing to fault-contract, the same line's test widened to
    VM_FAULT_LOCKED does."""
    old = show(kernel_tree, "HEAD", "mm/memory.c")
    line = "\tif (ret & VM_FAULT_DONE_COW)\n"
    found = {}
    for tag, new_line in (("comment", "\tif (ret & VM_FAULT_DONE_COW)\t/* the copy is done */\n"),
                          ("code", "\tif (ret & (VM_FAULT_DONE_COW | VM_FAULT_LOCKED))\n")):
        (tmp_path / f"{tag}.mbox").write_text(patch_mail(
            f"mm: {tag} at the COW test", f"{tag}-cow@example.org",
            [file_diff(kernel_tree, "mm/memory.c", old, replace_once(old, line, new_line))]))
        r = subprocess.run([sys.executable, "-m", "reviewbot", "review", "--mbox",
                            str(tmp_path / f"{tag}.mbox"), "--tree", str(kernel_tree),
                            "--format", "json", "--no-simulate"], capture_output=True,
                           text=True, cwd="/", timeout=600,
                           env={**os.environ, "REVIEWBOT_CACHE": str(tmp_path / "cache")})
        assert r.returncode in (0, 1), r.stderr
        found[tag] = {f["rule"] for f in json.loads(r.stdout)["findings"]}
    assert "fault-contract" not in found["comment"]
    assert "fault-contract" in found["code"]
