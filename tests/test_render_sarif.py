"""SARIF 2.1.0 output and b4's check-command JSON, read back the way their consumers do."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from test_render_reply import P1, P2, sample_series  # noqa: E402

from reviewbot.findings import Report, Skipped
from reviewbot.render.b4check import b4check_entries
from reviewbot.render.sarif import render_sarif


def test_sarif_results_locations_and_baseline():
    report, _ = sample_series()
    report.skipped = [Skipped("field-init:tree-wide", "no tree given")]
    doc = json.loads(render_sarif(report))
    assert doc["version"] == "2.1.0" and len(doc["runs"]) == 1
    run = doc["runs"][0]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rules == ["fault-contract", "field-init"]
    res = run["results"]
    assert len(res) == 4
    for r in res:
        assert rules[r["ruleIndex"]] == r["ruleId"]
        assert r["level"] in ("error", "warning", "note")
        for loc in r["locations"]:
            assert loc["physicalLocation"]["region"]["startLine"] >= 1
    contract = next(r for r in res if r["ruleId"] == "fault-contract" and r["locations"])
    assert contract["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "mm/memory.c"
    assert contract["locations"][0]["logicalLocations"][0]["name"] == "__do_fault"
    assert [x["logicalLocations"][0]["name"] for x in contract["relatedLocations"]
            if "logicalLocations" in x] == ["do_read_fault", "do_cow_fault"]
    assert contract["properties"]["simulation"]["verdict"] == "violation"
    assert {r["baselineState"] for r in res} == {"new", "unchanged"}
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert notes[0]["message"]["text"] == "skipped field-init:tree-wide: no tree given"
    assert render_sarif(report) == render_sarif(Report.from_dict(report.to_dict()))


def test_b4check_warn_per_rule_pass_when_clean():
    report, _ = sample_series()
    p1 = b4check_entries(report, P1)
    assert [(e["tool"], e["status"]) for e in p1] == [("reviewbot/fault-contract", "warn"),
                                                      ("reviewbot/field-init", "warn")]
    assert set(p1[0]) == {"tool", "status", "summary", "url", "details"}
    assert "do_read_fault() in mm/memory.c: consumer" in p1[0]["details"]
    next(f for f in report.findings if f.rule == "field-init" and f.patch == P1).severity = "error"
    assert b4check_entries(report, P1)[1]["status"] == "fail"
    report.findings = [f for f in report.findings if f.patch != P2]
    assert b4check_entries(report, P2) == [
        {"tool": "reviewbot", "status": "pass", "summary": "no findings", "url": "", "details": ""}]
