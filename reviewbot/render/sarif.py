"""SARIF 2.1.0 for CI systems (`reviewbot review --format sarif`): one run, one result per finding."""
from __future__ import annotations

import json

from reviewbot import __version__
from reviewbot.findings import Finding, Report

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}


def _location(file: str, line: int, function: str, message: str = "") -> dict:
    loc: dict = {}
    if file:
        phys: dict = {"artifactLocation": {"uri": file, "uriBaseId": "SRCROOT"}}
        if line and line > 0:
            phys["region"] = {"startLine": line}
        loc["physicalLocation"] = phys
    if function:
        loc["logicalLocations"] = [{"name": function, "kind": "function"}]
    if message:
        loc["message"] = {"text": message}
    return loc


def _result(f: Finding, rule_index: dict[str, int]) -> dict:
    res = {
        "ruleId": f.rule, "ruleIndex": rule_index[f.rule], "level": LEVELS[f.severity],
        "message": {"text": f.message},
        # a finding the series introduced is new to the codebase; a pre-existing one is not
        "baselineState": "new" if f.introduced else "unchanged",
        "partialFingerprints": {"reviewbotIdentity/v1": f.identity},
        "properties": {"patch": f.patch, "introduced": f.introduced},
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
    if f.fix:
        res["properties"]["fix"] = f.fix
    return res


def render_sarif(report: Report) -> str:
    report.sorted()
    rules = sorted({f.rule for f in report.findings})
    rule_index = {r: i for i, r in enumerate(rules)}
    severity = {}
    for f in report.findings:
        severity.setdefault(f.rule, f.severity)
    run = {
        "tool": {"driver": {
            "name": "reviewbot", "version": __version__, "semanticVersion": __version__,
            "informationUri": "https://example.invalid/reviewbot",
            "rules": [{"id": r, "name": r,
                       "shortDescription": {"text": f"reviewbot rule {r}"},
                       "defaultConfiguration": {"level": LEVELS[severity[r]]}}
                      for r in rules]}},
        "originalUriBaseIds": {"SRCROOT": {"description": {"text": "the kernel tree"}}},
        "results": [_result(f, rule_index) for f in report.findings],
        "invocations": [{
            "executionSuccessful": True,
            "toolExecutionNotifications": [
                {"level": "note", "message": {"text": f"skipped {s.check}: {s.reason}"},
                 "descriptor": {"id": s.check}} for s in report.skipped]}],
        "properties": {"series": report.series_msgid, "subject": report.series_subject,
                       "revision": report.revision, "base": report.base, "mode": report.mode},
    }
    return json.dumps({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]},
                      indent=2, sort_keys=True) + "\n"
