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
# The one severity vocabulary, and what each consumer calls it (README "Severity").
LABELS = {"error": "ERROR", "warning": "WARNING", "info": "INFO"}       # text and terse
SARIF_LEVELS = {"error": "error", "warning": "warning", "info": "note"}  # SARIF has no "info"
B4_STATUS = {"error": "fail", "warning": "warn", "info": "warn"}        # b4 check protocol

# Exit status of `review` (and `checklist`); README "Exit status".
EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR, EXIT_NOT_APPLIED = 0, 1, 2, 3


def failing(findings: list["Finding"]) -> bool:
    """A warning or an error among them: what makes a run exit 1 (info never does)."""
    return any(f.severity in ("warning", "error") for f in findings)
SITE_STATUSES = ("set", "implicitly zero", "not set before escape", "producer", "consumer",
                 "documentation", "name table", "call path", "reader", "handler return",
                 "lock taken", "lock released", "consumer return")


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
    patch_line: int | None = None   # line of the patch mail's body showing `line` (checkpatch #N)
    code: str = ""                  # the line at file:line; '+' first if the patch adds it
    raised_in: list[dict[str, str]] = field(default_factory=list)   # replies that said it first

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
        if self.patch_line is not None:
            d["patch_line"] = self.patch_line
        if self.code:
            d["code"] = self.code
        if self.raised_in:
            d["raised_in"] = self.raised_in
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Finding":
        return cls(rule=d["rule"], severity=d["severity"], patch=d["patch"], file=d["file"],
                   line=d["line"], function=d["function"], message=d["message"],
                   introduced=d["introduced"], sites=[Site(**s) for s in d.get("sites", [])],
                   key=d.get("key", ""), details=d.get("details", {}),
                   simulation=d.get("simulation"), fix=d.get("fix"),
                   patch_line=d.get("patch_line"), code=d.get("code", ""),
                   raised_in=d.get("raised_in", []))


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
    already_applied: bool = False   # every hunk of the series reverse-applies to the base
    tree_given: bool = False        # a tree was asked for (not --no-tree)
    # what the review read, for renderers that quote it; never serialised (None when the
    # report was read back from JSON)
    series: Any = field(default=None, repr=False, compare=False)      # series.Series
    diffs: list = field(default_factory=list, repr=False, compare=False)  # diff.PatchDiff each
    messages: dict = field(default_factory=dict, repr=False, compare=False)  # msgid -> mail

    @property
    def not_applied(self) -> bool:
        """A tree was wanted but the series went onto none: no check ran on a patched tree."""
        return self.tree_given and self.applied == "none"

    def exit_status(self) -> int:
        """1 with a warning or an error (info never fails a run, as checkpatch's CHECK lines
        do not); 3 when nothing was applied (it must not pass a CI gate); else 0."""
        if failing(self.findings):
            return EXIT_FINDINGS
        return EXIT_NOT_APPLIED if self.not_applied else EXIT_CLEAN

    def summary(self) -> str:
        """One line: counts by severity, and what was not checked when nothing applied."""
        counts = {s: sum(1 for f in self.findings if f.severity == s) for s in SEVERITIES}
        intro = sum(1 for f in self.findings if f.introduced)
        line = (f"total: {counts['error']} errors, {counts['warning']} warnings, "
                f"{counts['info']} info; {intro} introduced, "
                f"{len(self.findings) - intro} pre-existing")
        if self.already_applied and self.applied:
            line += f"; ALREADY APPLIED: the tree already has the series; reviewed against " \
                    f"{self.base[:12]}, the tree before it"
        elif self.already_applied:
            line += "; ALREADY APPLIED: the tree already has the series (every hunk " \
                    "reverse-applies); not reviewed as new"
        elif self.not_applied:
            why = next((s.reason for s in self.skipped if s.check in ("apply", "tree")),
                       "no kernel tree was found")
            line += f"; NOT APPLIED: {why}; " + ("whole-tree checks ran on the base tree only"
                                                 if self.mode == "tree" else
                                                 "whole-tree checks skipped")
        elif not self.findings:
            line += "; no findings"
        return line

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
                       "applied": self.applied, "already_applied": self.already_applied,
                       "not_applied": self.not_applied,
                       "patches": [asdict(p) for p in self.patches]},
            "findings": [f.to_dict() for f in self.findings],
            "skipped": [asdict(s) for s in self.skipped],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Report":
        s = d["series"]
        patches = [PatchInfo(**p) for p in s["patches"]]
        findings = [Finding.from_dict(f) for f in d["findings"]]
        index = {p.msgid: p.index for p in patches}
        for f in findings:      # not serialised; the findings are ordered by it
            f.patch_index = index.get(f.patch, 0)
        return cls(series_subject=s["subject"], series_msgid=s["msgid"], revision=s["revision"],
                   patches=patches, base=s["base"], mode=s["mode"],
                   applied=s.get("applied", "none"),
                   already_applied=s.get("already_applied", False),
                   tree_given=s.get("applied", "none") != "none" or s.get("not_applied", False),
                   findings=findings,
                   skipped=[Skipped(**k) for k in d["skipped"]])
