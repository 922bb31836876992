"""SARIF 2.1.0 for CI systems (`reviewbot review --format sarif`): one run, one result per
finding, simulator traces as `codeFlows`, suggested fixes as `fixes`, each rule's help from its
`.md`.  Valid against the OASIS SARIF 2.1.0 schema (tests/test_render_output.py)."""
from __future__ import annotations

import json
import re
from urllib.parse import quote

from reviewbot import __version__
from reviewbot.findings import SARIF_LEVELS, Finding, Report
from reviewbot.render.trace import step_line, steps

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@")


def uri(path: str) -> str:
    """A relative URI reference for a tree path: percent-encoded, '/' kept."""
    return quote(path, safe="/")


def _physical(file: str, line: int) -> dict:
    phys: dict = {"artifactLocation": {"uri": uri(file), "uriBaseId": "SRCROOT"}}
    if line and line > 0:
        phys["region"] = {"startLine": line}
    return phys


def _location(file: str, line: int, function: str, message: str = "") -> dict:
    loc: dict = {}
    if file:
        loc["physicalLocation"] = _physical(file, line)
    if function:
        loc["logicalLocations"] = [{"name": function, "kind": "function"}]
    if message:
        loc["message"] = {"text": message}
    return loc


def code_flows(sim: dict | None) -> list[dict]:
    """The counterexample as one codeFlow: a threadFlow per simulated thread, each step with
    its place in the global order (executionOrder)."""
    st = steps(sim)
    if not st or (sim or {}).get("verdict") != "violated":
        return []
    flows: dict[str, list[dict]] = {}
    for i, s in enumerate(st):
        who = str(s.get("thread", s.get("cpu", "")) or "T")
        loc = _location(str(s.get("file") or ""), int(s.get("line") or 0),
                        str(s.get("function") or ""), step_line({"action": s.get("action", "")}))
        tfl = {"location": loc, "executionOrder": i + 1}
        if i == len(st) - 1:
            tfl["importance"] = "essential"
        flows.setdefault(who, []).append(tfl)
    return [{"message": {"text": f"{sim.get('invariant', 'violation')}: "
                                 f"{sim.get('message') or 'counterexample'}"},
             "threadFlows": [{"id": who, "locations": locs} for who, locs in flows.items()]}]


def fixes(f: Finding) -> list[dict]:
    """A unified-diff suggestion as SARIF replacements: each hunk replaces the whole lines it
    spans in the old file with its new lines."""
    if not f.fix:
        return []
    changes: dict[str, list[dict]] = {}
    path, hunk = None, None

    def close():
        if path and hunk and hunk["old_len"]:
            changes.setdefault(path, []).append({
                "deletedRegion": {"startLine": hunk["start"],
                                  "endLine": hunk["start"] + hunk["old_len"] - 1},
                "insertedContent": {"text": "\n".join(hunk["new"])}})

    for line in f.fix.rstrip("\n").split("\n"):
        if line.startswith("+++ "):
            close()
            hunk = None
            t = line[4:].split("\t")[0]
            path = t[2:] if t.startswith("b/") else t
        elif line.startswith("--- "):
            continue
        elif (m := HUNK.match(line)):
            close()
            hunk = {"start": int(m.group(1)), "old_len": 0, "new": []}
        elif hunk is not None and line[:1] in (" ", "+", "-", ""):
            if line == "" and not hunk["new"] and not hunk["old_len"]:
                continue
            if line[:1] != "+":
                hunk["old_len"] += 1
            if line[:1] != "-":
                hunk["new"].append(line[1:])
    close()
    if not changes:
        return []
    return [{"description": {"text": "the suggested fix"},
             "artifactChanges": [{"artifactLocation": {"uri": uri(p), "uriBaseId": "SRCROOT"},
                                  "replacements": r} for p, r in sorted(changes.items())]}]


def _result(f: Finding, rule_index: dict[str, int]) -> dict:
    res = {
        "ruleId": f.rule, "ruleIndex": rule_index[f.rule], "level": SARIF_LEVELS[f.severity],
        "message": {"text": f.message},
        # a finding the series introduced is new to the codebase; a pre-existing one is not
        "baselineState": "new" if f.introduced else "unchanged",
        "partialFingerprints": {"reviewbotIdentity/v1": f.identity},
        "properties": {"patch": f.patch, "introduced": f.introduced, "severity": f.severity},
    }
    loc = _location(f.file, f.line, f.function)
    res["locations"] = [loc] if loc else []
    related = []
    for i, s in enumerate(f.sites):
        text = f"{s.status}" + (" (changed by the series)" if s.touched else "")
        r = _location(s.file, s.line, s.function, text)
        if r:
            related.append({"id": i, **r})
    if related:
        res["relatedLocations"] = related
    if f.simulation:
        res["properties"]["simulation"] = f.simulation
        flows = code_flows(f.simulation)
        if flows:
            res["codeFlows"] = flows
    fx = fixes(f)
    if fx:
        res["fixes"] = fx
    return res


def _rule_help(rule_id: str) -> tuple[str, str]:
    """(first paragraph, whole Markdown) of the installed rule's documentation."""
    from reviewbot.engine import load_rules, rule_doc
    from reviewbot.errors import ReviewbotError
    try:
        rule = load_rules([rule_id])[0]
    except ReviewbotError:
        return f"reviewbot rule {rule_id}", ""
    doc = rule_doc(rule).strip()
    paras = [p for p in doc.split("\n\n")
             if p.strip() and not p.lstrip().startswith(("#", "**"))]
    short = " ".join(paras[0].split()) if paras else getattr(rule, "summary", rule_id)
    return short, doc


def render_sarif(report: Report) -> str:
    report.sorted()
    rules = sorted({f.rule for f in report.findings})
    rule_index = {r: i for i, r in enumerate(rules)}
    severity = {}
    for f in report.findings:
        severity.setdefault(f.rule, f.severity)
    descriptors = []
    for r in rules:
        short, doc = _rule_help(r)
        d = {"id": r, "name": r, "shortDescription": {"text": short},
             "defaultConfiguration": {"level": SARIF_LEVELS[severity[r]]}}
        if doc:
            d["fullDescription"] = {"text": short}
            d["help"] = {"text": doc, "markdown": doc}
        descriptors.append(d)
    run = {
        # no informationUri: the project has no public home page to point at
        "tool": {"driver": {"name": "reviewbot", "version": __version__,
                            "semanticVersion": __version__, "rules": descriptors}},
        "originalUriBaseIds": {"SRCROOT": {"description": {"text": "the kernel tree"}}},
        "results": [_result(f, rule_index) for f in report.findings],
        "invocations": [{
            "executionSuccessful": True,
            "toolExecutionNotifications": [
                {"level": "note", "message": {"text": f"skipped {s.check}: {s.reason}"},
                 "descriptor": {"id": s.check}} for s in report.skipped]}],
        "properties": {"series": report.series_msgid, "subject": report.series_subject,
                       "revision": report.revision, "base": report.base, "mode": report.mode,
                       "applied": report.applied, "summary": report.summary()},
    }
    return json.dumps({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]},
                      indent=2, sort_keys=True) + "\n"


def format_sarif(report: Report, _options) -> str:
    return render_sarif(report)
