"""Issue 8 parts 1-3 on the contract corpus (corpus/contract, written here): the lock a
VM_FAULT_LOCKED return carries against what its consumer releases, consumers reached through
return values, and every peer of a new bit; each case a real git tree and a patch mail."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kpatch import file_diff, patch_mail, replace_once
from reviewbot.corpus import build_tree_repo

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "corpus" / "contract"
sys.path.insert(0, str(CONTRACT))
from contract_cases import CASES  # noqa: E402


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> tuple[Path, str]:
    dest = tmp_path_factory.mktemp("contract") / "tree"
    return dest, build_tree_repo(dest, CONTRACT / "tree")


def review(tree, name: str, tmp_path: Path, edits=None) -> dict:
    """The JSON report of `reviewbot review` on the case's patch against the corpus tree."""
    repo, base = tree
    case = CASES[name]
    files: dict[str, tuple[str, str]] = {}
    for path, old, new in edits or case["edits"]:
        before = files.get(path, ((repo / path).read_text(),) * 2)
        files[path] = (before[0], replace_once(before[1], old, new))
    diffs = [file_diff(repo, p, a, b) for p, (a, b) in sorted(files.items())]
    mbox = tmp_path / f"{name}.mbox"
    mbox.write_text(patch_mail(case["subject"], f"{name}@example.org", diffs,
                               changelog=case["changelog"], base=base))
    r = subprocess.run([sys.executable, "-m", "reviewbot", "review", "--mbox", str(mbox),
                        "--tree", str(repo), "--no-simulate", "--format", "json"],
                       capture_output=True, text=True, cwd="/", timeout=300)
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout)


def rule(rep: dict, rule_id: str) -> list[dict]:
    return [f for f in rep["findings"] if f["rule"] == rule_id]


def line_of(tree, path: str, text: str, case: str | None = None, tmp=None) -> int:
    return next(i for i, t in enumerate((tree[0] / path).read_text().splitlines(), 1)
                if text in t)


# --- 3. the lock the return carries ------------------------------------------------------

def test_handler_lock_mode_changed_alone_is_a_mismatch(tree, tmp_path):
    rep = review(tree, "handler-lock-mode", tmp_path)
    lc = rule(rep, "lock-contract")
    assert [f["details"]["kind"] for f in lc] == ["mismatch"], lc
    f = lc[0]
    assert f["severity"] == "error" and f["introduced"]
    h, c = f["details"]["handler"], f["details"]["consumer"]
    # both sides, by file:line, though the patch only touches fs/pmem.c
    assert (h["function"], h["file"]) == ("pmem_fault", "fs/pmem.c")
    assert h["holds"]["mode"] == "W" and h["holds"]["name"] == "i_mmap_rwsem"
    assert h["holds"]["ident"] == "mapping" and h["page"] == "null"
    assert (c["function"], c["releases"]["file"], c["releases"]["mode"]) == \
        ("do_cow_fault", "mm/memory.c", "R")
    assert c["releases"]["line"] == line_of(tree, "mm/memory.c",
                                            "i_mmap_unlock_read(vma->vm_file->f_mapping)")
    sites = {(s["file"], s["status"]) for s in f["sites"]}
    assert ("fs/pmem.c", "handler return") in sites and ("mm/memory.c", "lock released") in sites
    assert "fs/pmem.c:" in f["message"] and "mm/memory.c:" in f["message"]


def test_consumer_lock_mode_changed_alone_is_a_mismatch(tree, tmp_path):
    rep = review(tree, "consumer-lock-mode", tmp_path)
    lc = rule(rep, "lock-contract")
    assert [f["details"]["kind"] for f in lc] == ["mismatch"], lc
    d = lc[0]["details"]
    assert d["handler"]["holds"]["mode"] == "R" and d["consumer"]["releases"]["mode"] == "W"
    assert d["handler"]["file"] == "fs/pmem.c" and lc[0]["file"] == "mm/memory.c"


def test_handler_and_consumer_changed_together_are_silent(tree, tmp_path):
    rep = review(tree, "both-lock-mode", tmp_path)
    assert rule(rep, "lock-contract") == []


def test_a_lock_left_held_on_an_error_path(tree, tmp_path):
    rep = review(tree, "error-path-leak", tmp_path)
    lc = rule(rep, "lock-contract")
    assert [f["details"]["kind"] for f in lc] == ["not released on an error path"], lc
    h = lc[0]["details"]["handler"]
    assert h["bits"] == ["VM_FAULT_SIGBUS"] and h["holds"]["mode"] == "R"
    assert lc[0]["details"]["consumer"]["function"] == "do_cow_fault"


def test_a_needless_null_check_is_silent(tree, tmp_path):
    rep = review(tree, "needless-null-check", tmp_path)
    assert rule(rep, "lock-contract") == [] and rule(rep, "fault-contract") == []


# --- 1. consumers through return values ----------------------------------------------------

def test_consumers_reached_through_return_values(tree, tmp_path):
    rep = review(tree, "reads-too", tmp_path)
    change = [f for f in rule(rep, "fault-contract") if f["key"] == "VM_FAULT_LOCKED:change"]
    assert change, rep["findings"]
    cons = {c["function"]: c for c in change[0]["details"]["consumers"]}
    # every level, with the path the result came up through
    assert cons["__do_fault"]["path"] == ["pmem_fault", "->fault", "__do_fault"]
    assert cons["do_read_fault"]["path"] == ["pmem_fault", "->fault", "__do_fault",
                                             "do_read_fault"]
    assert cons["do_fault"]["level"] == 3 and cons["handle_mm_fault"]["level"] == 4
    # and whether each handles the new case: a page that may now be NULL
    assert cons["__do_fault"]["handles"] is True
    assert cons["do_cow_fault"]["handles"] is True
    assert cons["do_read_fault"]["handles"] is False
    assert "unlock_page" in cons["do_read_fault"]["how"] or "map_page" in \
        cons["do_read_fault"]["how"]
    assert cons["do_shared_fault"]["handles"] is False
    assert cons["do_fault"]["handles"] is None       # passes it up
    site = next(s for s in change[0]["sites"] if s["function"] == "do_read_fault"
                and s["status"] == "consumer")
    assert "via pmem_fault <- ->fault <- __do_fault <- do_read_fault" in site["detail"]
    # the lock the new return carries reaches do_read_fault, which never drops it
    lc = {(f["details"]["kind"], f["details"]["consumer"]["function"], f["details"]["lock"])
          for f in rule(rep, "lock-contract")}
    assert ("not released", "do_read_fault", "i_mmap_rwsem") in lc
    assert ("nothing held", "do_read_fault", "page lock") in lc


# --- 2. a new bit's peers ------------------------------------------------------------------

def peers(rep: dict) -> list[dict]:
    return [f for f in rule(rep, "fault-contract") if ":peer:" in f["key"]]


def test_new_bit_series_missing_one_arch_handler(tree, tmp_path):
    rep = review(tree, "new-bit-3-of-4", tmp_path)
    p = peers(rep)
    assert [(f["file"], f["function"]) for f in p] == [("arch/s390/mm/fault.c", "do_exception")]
    f = p[0]
    assert f["severity"] == "warning"
    assert "do_exception() calls handle_mm_fault() and tests" in f["message"]
    assert "VM_FAULT_RETRY" in f["message"] and "not the new VM_FAULT_COMPLETED" in f["message"]
    assert f["details"]["path"] == ["do_read_fault", "do_fault", "handle_mm_fault",
                                    "do_exception"]
    assert f["line"] == line_of(tree, "arch/s390/mm/fault.c", "handle_mm_fault(vma")
    assert not [x for x in rule(rep, "fault-contract") if ":name-table:" in x["key"]]


def test_new_bit_every_peer_updated_is_silent(tree, tmp_path):
    rep = review(tree, "new-bit-all", tmp_path)
    assert peers(rep) == []
    assert not [x for x in rule(rep, "fault-contract") if ":name-table:" in x["key"]]


def test_new_bit_missing_from_the_name_table(tree, tmp_path):
    rep = review(tree, "new-bit-no-trace", tmp_path)
    nt = [x for x in rule(rep, "fault-contract") if ":name-table:" in x["key"]]
    assert [(x["file"], x["details"]["table"]) for x in nt] == \
        [("include/linux/mm.h", "VM_FAULT_RESULT_TRACE")]
    assert peers(rep) == []


def test_rule_methods_ask_the_matching_question(tree, tmp_path):
    from reviewbot.findings import Finding
    from reviewbot_rules.fault_contract import FaultContract
    from reviewbot_rules.lock_contract import LockContract
    rep = review(tree, "new-bit-3-of-4", tmp_path)
    f = Finding.from_dict(peers(rep)[0])
    q = FaultContract().questions(f)
    assert q and "do_exception()" in q[0] and "VM_FAULT_COMPLETED" in q[0]
    assert "do_exception()" in FaultContract().checklist_items(f)[0]
    rep = review(tree, "handler-lock-mode", tmp_path)
    f = Finding.from_dict(rule(rep, "lock-contract")[0])
    q = LockContract().questions(f)
    assert "pmem_fault()" in q[0] and "do_cow_fault()" in q[0] and "mode W" in q[0]
    assert "fs/pmem.c:" in LockContract().checklist_items(f)[0]
