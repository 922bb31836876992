"""Each rule's own examples (rules/fixtures/) give the verdicts its documentation promises."""
from __future__ import annotations

from pathlib import Path

from reviewbot import cindex
from reviewbot_rules.field_init_flow import field_status
from reviewbot.diff import parse_patch
from reviewbot.engine import Context
from reviewbot.series import Patch, Series
from reviewbot_rules.fault_contract import FaultContract

FIX = Path(__file__).resolve().parent.parent / "rules" / "fixtures"


def statuses(name: str) -> dict[str, str]:
    src = (FIX / "field_init" / name).read_bytes()
    order = cindex.struct_member_order(src, "vm_fault")
    return {f"{s.function}:{s.var}": field_status(src, s, "cow_page", order)[0]
            for s in cindex.construction_sites(src, name, "vm_fault")}


def test_field_init_bad_fixture():
    assert statuses("bad.c") == {"mkwrite_site:vmf": "not set before escape",
                                 "half_site:vmf": "not set before escape"}


def test_field_init_good_fixture():
    got = statuses("good.c")
    assert "not set before escape" not in got.values()
    assert got[":spare_vmf"] == "implicitly zero"
    assert got["both_paths:vmf"] == "set"
    assert got["brace:vmf"] == "implicitly zero"
    assert got["zeroed:vmf"] == "implicitly zero"
    assert got["filled:tmp"] == "set" and got["filled:*dst"] == "set"


def _contract(name: str) -> list[str]:
    text = (FIX / "fault_contract" / name).read_text()
    subject = text.splitlines()[0].split(": ", 1)[1]
    body = text.split("\n\n", 1)[1]
    patch = Patch(msgid=f"{name}@fixture", subject=subject, title=subject, index=1, total=1,
                  author="a <a@example.org>", author_email="a@example.org", date="", body=body)
    pd = parse_patch(patch)
    for h in pd.hunks():
        from reviewbot.cparse import name_from_section
        h.functions = [name_from_section(h.section)]
    series = Series(subject=subject, revision=1, total=1, cover=None, patches=[patch],
                    base_commit=None, complete=True, revisions=[1])
    ctx = Context(series=series, patch=patch, diff=pd, diffs=[pd], base=None, patched=None)
    return [f.key for f in FaultContract().check(ctx)]


def test_fault_contract_flags_a_redefined_bit():
    keys = _contract("changes-locked.patch")
    assert "VM_FAULT_LOCKED:change" in keys and "VM_FAULT_LOCKED:documentation" in keys
    assert not [k for k in keys if "NOPAGE" in k or "RETRY" in k]


def test_fault_contract_ignores_a_moved_test():
    assert _contract("moves-a-test.patch") == []
