"""The rule engine: rules are found by the `reviewbot.rules` entry point group (flake8-style),
each runs on the base and on the patched tree, and a finding the base also has is pre-existing."""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Iterable, Protocol

from reviewbot.diff import PatchDiff
from reviewbot.errors import ReviewbotError
from reviewbot.findings import Finding, Skipped
from reviewbot.series import Patch, Series
from reviewbot.tree import TreeView

GROUP = "reviewbot.rules"


class Rule(Protocol):
    id: str
    severity: str
    summary: str

    def check(self, ctx: "Context") -> Iterable[Finding]: ...

    # Optional: `grep_words(ctx) -> Iterable[str]`, the words the rule will `grep_word` in the
    # tree for this patch; the engine finds them all in one pass before any rule runs.


@dataclass
class Context:
    """What a rule sees for one patch: the series, the patch and its parsed diff, and the trees
    before and after the whole series (None in diff-only mode). `side` says which tree the
    rule is being run on; rules read `ctx.tree` and never run git or read files themselves."""
    series: Series
    patch: Patch
    diff: PatchDiff
    diffs: list[PatchDiff]
    base: TreeView | None
    patched: TreeView | None
    before_patch: TreeView | None = None     # the tree just before / after this one patch:
    after_patch: TreeView | None = None      # hunk line numbers refer to these
    side: str = "patched"
    touched: set[tuple[str, str]] = field(default_factory=set)   # (file, function) the series changes
    skipped: list[Skipped] = field(default_factory=list)
    shared: dict = field(default_factory=dict)   # one dict for the whole series: series-wide memo

    @property
    def tree(self) -> TreeView | None:
        return self.patched if self.side == "patched" else self.base

    def skip(self, check: str, reason: str) -> None:
        if self.side == "patched":
            self.skipped.append(Skipped(check, reason, self.patch.msgid))


def load_rules(only: list[str] | None = None) -> list[Rule]:
    rules = []
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        if only and ep.name not in only:
            continue
        try:
            cls = ep.load()
        except Exception as exc:
            raise ReviewbotError(f"rule {ep.name}", f"cannot be loaded: {exc}") from None
        rule = cls()
        if rule.id != ep.name:
            raise ReviewbotError(f"rule {ep.name}", f"entry point name differs from id {rule.id}")
        rules.append(rule)
    if only:
        missing = sorted(set(only) - {r.id for r in rules})
        if missing:
            raise ReviewbotError(", ".join(missing), "no such rule (see `reviewbot rules`)")
    return rules


def rule_doc(rule: Rule) -> str:
    """The rule's documentation: the Markdown file beside its module."""
    import inspect
    md = Path(inspect.getfile(type(rule))).with_suffix(".md")
    return md.read_text() if md.exists() else (type(rule).__doc__ or "").strip()


def run_rules(rules: list[Rule], contexts: list[Context]) -> tuple[list[Finding], list[Skipped]]:
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    _prefetch(rules, contexts)
    for ctx in contexts:
        for rule in rules:
            ctx.side = "patched"
            new = list(rule.check(ctx))
            old_ids: set[str] = set()
            if ctx.base is not None and ctx.patched is not None and new:
                ctx.side = "base"
                old_ids = {f.identity for f in rule.check(ctx)}
                ctx.side = "patched"
            for f in new:
                f.introduced = f.identity not in old_ids
                f.patch_index = ctx.patch.index
                findings.append(f)
        skipped.extend(ctx.skipped)
    return findings, skipped


def _prefetch(rules: list[Rule], contexts: list[Context]) -> None:
    """One grep of the base for every word any rule will ask about (the views share it)."""
    words: set[str] = set()
    for ctx in contexts:
        if ctx.base is None:
            continue
        for rule in rules:
            ask = getattr(rule, "grep_words", None)
            if ask is not None:
                words.update(ask(ctx))
    if words:
        next(c.base for c in contexts if c.base is not None).prefetch(words)
