"""Findings, sites and the review report: the one data shape every stage after analysis reads.

Serialised one way only (sorted keys, sorted findings) so the same input gives
byte-identical output.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

SEVERITIES = ("error", "warning", "info")
SITE_STATUSES = ("set", "implicitly zero", "not set before escape", "producer", "consumer",
                 "documentation", "name table")


@dataclass(frozen=True)
class Site:
    """One place in a tree a finding points at (a construction site, a producer, ...)."""
    file: str
    line: int
    function: str
    status: str
    touched: bool = False          # the series itself changed this site
    detail: str = ""

    def sort_key(self):
        return (self.file, self.line, self.function, self.status, self.detail)


@dataclass
class Finding:
    rule: str
    severity: str
    patch: str                      # message-id of the patch the finding is about
    file: str
    line: int
    function: str
    message: str
    introduced: bool = True
    sites: list[Site] = field(default_factory=list)
    key: str = ""                   # identity without line numbers, stable across revisions
    details: dict[str, Any] = field(default_factory=dict)
    simulation: dict[str, Any] | None = None
    fix: str | None = None
    patch_index: int = 0            # n of n/m, set by the engine for ordering; not serialised

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")
        self.sites = sorted(self.sites, key=Site.sort_key)
        if not self.key:
            self.key = f"{self.rule}:{self.file}:{self.function}:{self.message}"

    @property
    def identity(self) -> str:
        """A short hash of rule and key: what the bot remembers across revisions."""
        return hashlib.sha256(f"{self.rule}\0{self.key}".encode()).hexdigest()[:16]

    def sort_key(self):
        return (self.patch_index, self.file, self.line, self.rule, self.key)

    def to_dict(self) -> dict[str, Any]:
        d = {
            "rule": self.rule, "severity": self.severity, "patch": self.patch,
            "file": self.file, "line": self.line, "function": self.function,
            "message": self.message, "introduced": self.introduced,
            "sites": [asdict(s) for s in self.sites], "identity": self.identity,
            "key": self.key, "details": self.details,
        }
        if self.simulation is not None:
            d["simulation"] = self.simulation
        if self.fix is not None:
            d["fix"] = self.fix
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Finding":
        return cls(rule=d["rule"], severity=d["severity"], patch=d["patch"], file=d["file"],
                   line=d["line"], function=d["function"], message=d["message"],
                   introduced=d["introduced"], sites=[Site(**s) for s in d.get("sites", [])],
                   key=d.get("key", ""), details=d.get("details", {}),
                   simulation=d.get("simulation"), fix=d.get("fix"))


@dataclass(frozen=True)
class Skipped:
    """A check that did not run, and why: never silent."""
    check: str
    reason: str
    patch: str = ""


@dataclass
class PatchInfo:
    msgid: str
    subject: str
    index: int                      # n of n/m (0 = cover letter)
    total: int
    author: str = ""
    files: list[str] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)   # "file:function" touched


@dataclass
class Report:
    """Everything `reviewbot review` found for one series."""
    series_subject: str
    series_msgid: str
    revision: int
    patches: list[PatchInfo]
    base: str                       # commit id the series was applied to ("" in diff-only mode)
    mode: str                       # "tree" or "diff-only"
    findings: list[Finding] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    applied: str = "none"           # the apply ladder's step: exact|3way|fuzz|partial|none

    def sorted(self) -> "Report":
        self.findings.sort(key=Finding.sort_key)
        self.skipped = sorted(set(self.skipped), key=lambda s: (s.patch, s.check, s.reason))
        return self

    def to_dict(self) -> dict[str, Any]:
        self.sorted()
        return {
            "version": 1,
            "series": {"subject": self.series_subject, "msgid": self.series_msgid,
                       "revision": self.revision, "base": self.base, "mode": self.mode,
                       "applied": self.applied,
                       "patches": [asdict(p) for p in self.patches]},
            "findings": [f.to_dict() for f in self.findings],
            "skipped": [asdict(s) for s in self.skipped],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Report":
        s = d["series"]
        return cls(series_subject=s["subject"], series_msgid=s["msgid"], revision=s["revision"],
                   patches=[PatchInfo(**p) for p in s["patches"]], base=s["base"], mode=s["mode"],
                   applied=s.get("applied", "none"),
                   findings=[Finding.from_dict(f) for f in d["findings"]],
                   skipped=[Skipped(**k) for k in d["skipped"]])
