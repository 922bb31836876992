"""SARIF 2.1.0 output and b4's check-command JSON of real reviews (the pipeline's reports, not
hand-built ones), read back the way their consumers do and held against the review's JSON."""
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from sim_fixtures import apply_thread  # noqa: E402
from test_user_checks import one_patch, reviewbot  # noqa: E402

from reviewbot.findings import Report
from reviewbot.render.b4check import b4check_entries
from reviewbot.render.sarif import render_sarif

# README "Severity": what SARIF calls each severity, and b4's status for it
SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
VERDICTS = {"violated", "holds", "incomplete", "not reached", "not simulated"}


def review(*args) -> dict:
    out = {}
    for fmt in ("json", "sarif"):
        r = reviewbot("review", *args, "--format", fmt)
        assert r.returncode == 1, r.stderr
        out[fmt] = json.loads(r.stdout)
    return out


@pytest.fixture(scope="module")
def reviews(tmp_path_factory):
    """`new`: the COW series that forgets an init, all its findings introduced; `old`: a later
    patch to a tree that already has the forgotten unlock, its one finding pre-existing."""
    tmp = tmp_path_factory.mktemp("sarif")
    merged = apply_thread(tmp / "merged", "cow-missing-unlock")
    mbox = one_patch(tmp, merged, "mm/memory.c", [
        ("\tnew_page = alloc_page_vma(GFP_HIGHUSER_MOVABLE, vma, address);\n\tif (!new_page)\n",
         "\tnew_page = alloc_page_vma(GFP_HIGHUSER_MOVABLE, vma, address);\n"
         "\tif (unlikely(!new_page))\n")])
    return {"new": review("--bundled", "cow-missing-init"),
            "old": review("--mbox", str(mbox), "--tree", str(merged))}


@pytest.mark.parametrize("which", ["new", "old"])
def test_sarif_results_are_the_reviews_findings(reviews, which):
    rep, doc = reviews[which]["json"], reviews[which]["sarif"]
    assert doc["version"] == "2.1.0" and len(doc["runs"]) == 1
    run = doc["runs"][0]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rules == sorted({f["rule"] for f in rep["findings"]})
    assert len(run["results"]) == len(rep["findings"])
    for f, r in zip(rep["findings"], run["results"]):
        assert rules[r["ruleIndex"]] == r["ruleId"] == f["rule"]
        assert r["level"] == SARIF_LEVEL[f["severity"]]
        assert r["baselineState"] == ("new" if f["introduced"] else "unchanged")
        assert r["partialFingerprints"] == {"reviewbotIdentity/v1": f["identity"]}
        [loc] = r["locations"]
        phys = loc["physicalLocation"]
        assert phys["artifactLocation"]["uri"] == f["file"]
        assert phys["region"]["startLine"] == f["line"] >= 1
        if f["function"]:
            assert loc["logicalLocations"][0]["name"] == f["function"]
        related = [(x["physicalLocation"]["artifactLocation"]["uri"],
                    x["physicalLocation"]["region"]["startLine"])
                   for x in r.get("relatedLocations", [])]
        assert related == [(s["file"], s["line"]) for s in f["sites"]]
        sim = r["properties"].get("simulation")
        assert sim == f.get("simulation")
        if sim:
            assert sim["verdict"] in VERDICTS
        # the counterexample travels with the fault-sim finding only
        assert ("codeFlows" in r) == (f["rule"] == "fault-sim")
        assert ("fixes" in r) == bool(f.get("fix"))
    if which == "old":
        assert [r["baselineState"] for r in run["results"]] == ["unchanged"]
        assert run["results"][0]["properties"]["simulation"]["verdict"] == "violated"
    else:
        assert {r["baselineState"] for r in run["results"]} == {"new"}
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["message"]["text"] for n in notes] == [f"skipped {s['check']}: {s['reason']}"
                                                     for s in rep["skipped"]]
    # the SARIF of the report read back from the JSON is the same document
    assert json.loads(render_sarif(Report.from_dict(rep))) == doc


def test_b4check_warn_or_fail_per_rule_and_pass_when_clean(reviews):
    rep = Report.from_dict(reviews["new"]["json"])
    p1 = next(p.msgid for p in rep.patches if p.index == 1)
    entries = b4check_entries(rep, p1)
    assert [e["tool"] for e in entries] == sorted({f"reviewbot/{f.rule}" for f in rep.findings
                                                   if f.patch == p1})
    assert all(set(e) == {"tool", "status", "summary", "url", "details"} for e in entries)
    worst = {}
    for f in rep.findings:
        if f.patch == p1:
            worst[f.rule] = "fail" if f.severity == "error" or worst.get(f.rule) == "fail" \
                else "warn"
    assert {e["tool"]: e["status"] for e in entries} == {f"reviewbot/{k}": v
                                                         for k, v in worst.items()}
    contract = next(e for e in entries if e["tool"] == "reviewbot/fault-contract")
    assert "fault_inject_probe() in mm/fault_inject.c: consumer" in contract["details"]
    # a pre-existing error is only a warning to b4
    old = Report.from_dict(reviews["old"]["json"])
    [patch] = [p.msgid for p in old.patches if p.index == 1]
    assert [(e["tool"], e["status"]) for e in b4check_entries(old, patch)] == [
        ("reviewbot/fault-sim", "warn")]
    # a series with nothing to say passes, patch by patch
    r = reviewbot("review", "--bundled", "clean", "--format", "json")
    assert r.returncode == 0, r.stderr
    clean = Report.from_dict(json.loads(r.stdout))
    patches = [p.msgid for p in clean.patches if p.index]
    assert patches and not clean.findings
    for msgid in patches:
        [entry] = b4check_entries(clean, msgid)
        assert (entry["tool"], entry["status"]) == ("reviewbot", "pass")
        assert entry["summary"].startswith("no findings")
