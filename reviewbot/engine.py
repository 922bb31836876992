"""The rule engine: rules are found by the `reviewbot.rules` entry point group (flake8-style),
each runs on the base and on the patched tree, and a finding the base also has is pre-existing."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from importlib.metadata import entry_points
from pathlib import Path
from typing import Iterable, Protocol

from reviewbot import worker
from reviewbot.diff import PatchDiff
from reviewbot.errors import ReviewbotError
from reviewbot.findings import Finding, Skipped
from reviewbot.series import Patch, Series
from reviewbot.tree import TreeView

GROUP = "reviewbot.rules"


@dataclass(frozen=True)
class ChecklistItem:
    """One check a rule adds to the reviewer checklist for a finding of its own. Items of the
    checklist and of rules that share a `topic` (e.g. ("member", struct, name) or ("flag",
    name), the checklist's own kinds) are one item: the rule's, with its evidence."""
    text: str
    evidence: tuple[str, ...] = ()
    topic: tuple | None = None


@dataclass(frozen=True)
class SimulationRequest:
    """What a finding asks of the fault-path simulator: the series' verdict on the path
    through `function`; with `must_reach`, "not reached" unless a scenario enters it."""
    function: str
    must_reach: bool = False


class Rule(Protocol):
    """A rule owns its analysis and what is said about its findings. Only `check` is
    required; a rule that lacks one of the others gets the default below (the engine's
    `questions`, `checklist_items`, `simulation_request` and `anchors` functions apply it)."""
    id: str
    severity: str
    summary: str

    def check(self, ctx: "Context") -> Iterable[Finding]: ...

    # Optional: `grep_words(ctx) -> Iterable[str]`, the words the rule will `grep_word` in the
    # tree for this patch, and `grep_patterns(ctx) -> Iterable[(pattern, glob)]`, the line
    # patterns it will `grep_pattern`; the engine finds them all in one pass of the tree
    # before any rule runs. And `concurrent = True`: the rule's check reads the Context and
    # only its own `shared` keys, so it may run in a worker process beside the other rules.

    def questions(self, finding: Finding) -> list[str]:
        """Questions for the patch's author, for a reply to the list; never verdicts."""
        return []

    def checklist_items(self, finding: Finding) -> list["ChecklistItem | str"]:
        """Checks this finding adds to the reviewer checklist (beside the finding itself)."""
        return []

    def simulation_request(self, finding: Finding) -> SimulationRequest | None:
        """Whether this finding quotes the simulator's verdict, and on which function."""
        return None

    def anchors(self, finding: Finding) -> list[tuple[str, int]]:
        """Other (file, line) places of the diff a reply may quote above this finding."""
        return []


def _hook(finding: Finding, name: str):
    rule = rule_for(finding.rule)
    own = getattr(rule, name, None) if rule is not None else None
    return own if own is not None else (lambda f: getattr(Rule, name)(None, f))


def questions(finding: Finding) -> list[str]:
    return list(_hook(finding, "questions")(finding))


def checklist_items(finding: Finding) -> list[ChecklistItem]:
    return [ChecklistItem(i) if isinstance(i, str) else i
            for i in _hook(finding, "checklist_items")(finding)]


def simulation_request(finding: Finding) -> SimulationRequest | None:
    return _hook(finding, "simulation_request")(finding)


def anchors(finding: Finding) -> list[tuple[str, int]]:
    return list(_hook(finding, "anchors")(finding))


# rule instances by id, loaded once a process: rules keep no state of their own (a review's
# lives in Context.shared), and a renderer asks about every finding
_loaded: dict[str, Rule | None] = {}


def rule_for(rule_id: str) -> Rule | None:
    """The installed rule with this id (loaded once), or None: a finding read back from JSON
    may name a rule this installation lacks, and then gets the defaults."""
    if rule_id not in _loaded:
        eps = sorted(entry_points(group=GROUP, name=rule_id), key=lambda e: e.value)
        _loaded[rule_id] = _instantiate(eps[0]) if eps else None
    return _loaded[rule_id]


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
    side: str = "patched"                  # set when the Context is made, never changed
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
        rule = _loaded.get(ep.name) or _instantiate(ep)
        _loaded[ep.name] = rule
        rules.append(rule)
    if only:
        missing = sorted(set(only) - {r.id for r in rules})
        if missing:
            raise ReviewbotError(", ".join(missing), "no such rule (see `reviewbot rules`)")
    return rules


def _instantiate(ep) -> Rule:
    try:
        cls = ep.load()
    except Exception as exc:
        raise ReviewbotError(f"rule {ep.name}", f"cannot be loaded: {exc}") from None
    rule = cls()
    if rule.id != ep.name:
        raise ReviewbotError(f"rule {ep.name}", f"entry point name differs from id {rule.id}")
    return rule


def rule_doc(rule: Rule) -> str:
    """The rule's documentation: the Markdown file beside its module."""
    import inspect
    md = Path(inspect.getfile(type(rule))).with_suffix(".md")
    return md.read_text() if md.exists() else (type(rule).__doc__ or "").strip()


def run_rules(rules: list[Rule], contexts: list[Context]) -> tuple[list[Finding], list[Skipped]]:
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    _prefetch(rules, contexts)
    _run(rules, contexts, findings, skipped)
    return findings, skipped


def _run(rules: list[Rule], contexts: list[Context], findings: list[Finding],
         skipped: list[Skipped]) -> None:
    """Every rule on every patch. The rules run apart (in the worker) go on while this process
    runs all the others on every patch; the outcomes are then merged in the order a serial
    run gives: patch by patch, rule by rule."""
    apart = worker.wanted(rules, contexts)
    pool = worker.RuleWorker(apart, contexts, _check) if apart else None
    try:
        before = [list(ctx.skipped) for ctx in contexts]
        done = {(i, rule.id): _check(rule, ctx) for i, ctx in enumerate(contexts)
                for rule in rules if rule not in apart}
        for i, ctx in enumerate(contexts):
            ctx.skipped[:] = before[i]
            for rule in rules:
                got = done.get((i, rule.id)) or (pool.outcome(i, rule.id) if pool else None)
                new, old_ids, skips = got if got is not None else _check(rule, ctx)
                if got is not None:
                    ctx.skipped.extend(skips)
                for f in new:
                    f.introduced = f.identity not in old_ids
                    f.patch_index = ctx.patch.index
                    findings.append(f)
            skipped.extend(ctx.skipped)
    finally:
        if pool is not None:
            pool.close()


def _check(rule: Rule, ctx: Context) -> tuple[list[Finding], set[str], list[Skipped]]:
    """One rule on one patch: its findings on the patched tree, the identities of those it
    also finds on the base (the same patch seen there: a Context of its own, sharing the memo
    and notes), and what it added to the patch's skipped list."""
    first = len(ctx.skipped)
    new = list(rule.check(ctx))
    old_ids: set[str] = set()
    if ctx.base is not None and ctx.patched is not None and new:
        old_ids = {f.identity for f in rule.check(replace(ctx, side="base"))}
    return new, old_ids, ctx.skipped[first:]


def _prefetch(rules: list[Rule], contexts: list[Context]) -> None:
    """One grep of the base for every word and line pattern any rule will ask about (the
    views share them)."""
    words: set[str] = set()
    patterns: set[tuple[str, str]] = set()
    for ctx in contexts:
        if ctx.base is None:
            continue
        for rule in rules:
            for hook, into in (("grep_words", words), ("grep_patterns", patterns)):
                ask = getattr(rule, hook, None)
                if ask is not None:
                    into.update(ask(ctx))
    if words or patterns:
        next(c.base for c in contexts if c.base is not None).prefetch(words, patterns)
