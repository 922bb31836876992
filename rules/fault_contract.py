"""fault-contract: a series that changes what a VM_FAULT_* bit means is flagged, with every
producer and consumer of that bit in the tree. Documentation: fault_contract.md beside this file."""
from __future__ import annotations

import re
from typing import Iterable

from reviewbot import cindex
from reviewbot.diff import is_c
from reviewbot.engine import Context
from reviewbot.findings import Finding, Site

FLAG = re.compile(r"\bVM_FAULT_[A-Z0-9_]+\b")
# a definition: `#define VM_FAULT_X ...` (older trees) or an enumerator `VM_FAULT_X = ...`
DEFINE = re.compile(r"^\s*(?:#\s*define\s+(VM_FAULT_[A-Z0-9_]+)\b|(VM_FAULT_[A-Z0-9_]+)\s*=[^=])")
DOCS = ("Documentation/filesystems/locking.rst", "Documentation/filesystems/Locking")
CHECK_TREE = "fault-contract: producers and consumers in the whole tree"


def _norm(line: str) -> str:
    return " ".join(line.split())


def contract_changes(ctx: Context) -> dict[str, list[tuple[int, str, str, int, str]]]:
    """flag -> [(rank, reason, file, line, function)], best evidence first, for the bits this
    patch changes the meaning of."""
    out: dict[str, list[tuple[int, str, str, int, str]]] = {}
    changelog_flags = meaning_flags(ctx.patch.changelog)
    for h in ctx.diff.hunks():
        fn = h.functions[0] if h.functions else ""
        removed = {_norm(t) for _l, t in h.removed}
        added = {_norm(t) for _l, t in h.added}
        for ln, t in h.added + h.removed:
            m = DEFINE.match(t)
            if m:
                out.setdefault(m.group(1) or m.group(2), []).append(
                    (0, "its definition changes", h.path, ln, ""))
        # a test of a bit that is new, not just moved or re-indented: callers act differently
        for ln, t in h.added:
            if _norm(t) not in removed and not DEFINE.match(t):
                for flag in _tested(t):
                    out.setdefault(flag, []).append(
                        (1, f"a new test of it in {fn or h.path}()", h.path, ln, fn))
        for ln, t in h.removed:
            if _norm(t) not in added and not DEFINE.match(t):
                for flag in _tested(t):
                    out.setdefault(flag, []).append(
                        (1, f"a test of it removed from {fn or h.path}()", h.path,
                         h.target_start, fn))
        # the changelog gives a bit a new meaning and the patch changes code acting on it
        in_hunk = {flag for _k, t in h.lines for flag in FLAG.findall(t)}
        in_fn: set[str] = set()
        if ctx.after_patch is not None and h.functions and is_c(h.path):
            src = ctx.after_patch.read(h.path) or b""
            in_fn = {flag for flag, fn2, _r in _roles_any(src, h.path) if fn2 in h.functions}
        for flag in sorted(changelog_flags & (in_hunk | in_fn)):
            if fn:
                out.setdefault(flag, []).append(
                    (2 if flag in in_hunk else 3, f"the changelog gives it a new meaning and "
                     f"{fn}() handles it", h.path, h.first_line, fn))
    return {flag: sorted(set(r)) for flag, r in out.items()}


MEANING = re.compile(r"\b(?:allow|may (?:now )?return|can now|now returns?|instead of|in place of|"
                     r"means?|meaning|indicat\w*|signals?)\b", re.I)


def meaning_flags(changelog: str) -> set[str]:
    """Bits the changelog gives a new meaning: named in a sentence that allows, redefines or
    qualifies a return of them (`Allow it to return X with ...`, `X now means ...`)."""
    out = set()
    flat = " ".join(changelog.split())
    for sentence in re.split(r"(?<=[.!?])\s+", flat):
        flags = FLAG.findall(sentence)
        if not flags:
            continue
        for flag in flags:
            if MEANING.search(sentence) or re.search(r"\breturn\w*\s+" + flag + r"\s+with\b",
                                                     sentence):
                out.add(flag)
    return out


def _tested(line: str) -> list[str]:
    """The VM_FAULT_* bits one line of C tests (consumer role), by parsing it in a function."""
    flags = sorted(set(FLAG.findall(line)))
    if not flags:
        return []
    src = ("int __rb_probe(void)\n{\n" + line + "\n}\n").encode()
    return [f for f in flags
            if any(r == "consumer" for _l, _fn, r in cindex.flag_roles(src, "-", f))]


def _roles_any(src: bytes, path: str):
    """(flag, function, role) for every VM_FAULT_* identifier in a file."""
    found = set(FLAG.findall(src.decode("utf-8", "replace")))
    for flag in sorted(found):
        for _ln, fn, role in cindex.flag_roles(src, path, flag):
            yield flag, fn, role


def _changes(ctx: Context) -> dict[str, list[tuple[int, str, str, int, str]]]:
    """contract_changes, once a patch: the engine asks for the words before the check runs."""
    key = ("fault-contract:changes", ctx.patch.msgid)
    if key not in ctx.shared:
        ctx.shared[key] = contract_changes(ctx)
    return ctx.shared[key]


def _doc_updated(ctx: Context, flag: str) -> bool:
    for pd in ctx.diffs:
        for f in pd.files:
            if f.path in DOCS:
                return True
            for h in f.hunks:
                inside = "struct vm_fault" in h.section or any(
                    "struct vm_fault {" in t for _k, t in h.lines)
                if inside and any(flag in t and ("/*" in t or t.lstrip().startswith("*"))
                                  for _l, t in h.added):
                    return True
    return False


class FaultContract:
    """A change to what a VM_FAULT_* return bit means, with every producer and consumer."""
    id = "fault-contract"
    severity = "warning"
    summary = "changing the meaning of a VM_FAULT_* bit touches every producer and consumer"

    def grep_words(self, ctx: Context) -> set[str]:
        return set(_changes(ctx))

    def check(self, ctx: Context) -> Iterable[Finding]:
        if ctx.side == "base":
            return   # the change is the patch itself: nothing in the base to compare with
        changes = _changes(ctx)
        for flag in sorted(changes):
            reasons = changes[flag]
            _rank, _why, file, line, fn = reasons[0]
            why = "; ".join(dict.fromkeys(r for _k, r, *_x in reasons))
            if ctx.tree is None:
                ctx.skip(CHECK_TREE, f"no kernel tree: producers and consumers of {flag} "
                                     "outside the diff are not listed")
                sites = self._diff_sites(ctx, flag)
                extra = "producers and consumers outside the diff were not listed (no tree)"
            else:
                sites = self._tree_sites(ctx, flag)
                cons = [s for s in sites if s.status == "consumer"]
                prod = [s for s in sites if s.status == "producer"]
                untouched = [s for s in cons if not s.touched]
                extra = (f"{len(prod)} producers and {len(cons)} consumers in the tree; "
                         f"{len(untouched)} consumers are not touched by the series")
            untouched_c = sorted({f"{s.file}:{s.function}" for s in sites
                                  if s.status == "consumer" and not s.touched and s.function})
            yield Finding(
                rule=self.id, severity=self.severity, patch=ctx.patch.msgid, file=file,
                line=line, function=fn, sites=sites,
                message=f"changes what {flag} means ({why}); {extra}",
                key=f"{flag}:change",
                details={"flag": flag, "reasons": list(dict.fromkeys(r for _k, r, *_x in reasons)),
                         "untouched_consumers": untouched_c})
            first = ("fault-contract:documentation", flag)
            if not _doc_updated(ctx, flag) and ctx.shared.setdefault(first, ctx.patch.msgid) \
                    == ctx.patch.msgid:
                doc = next((d for d in DOCS if ctx.tree is not None and ctx.tree.exists(d)),
                           DOCS[0])
                dline = 0
                if ctx.tree is not None:
                    data = (ctx.tree.read(doc) or b"").decode("utf-8", "replace").splitlines()
                    dline = next((i for i, t in enumerate(data, 1) if "->fault" in t or
                                  "fault:" in t), 0)
                yield Finding(
                    rule=self.id, severity=self.severity, patch=ctx.patch.msgid, file=doc,
                    line=dline, function="",
                    message=f"the meaning of {flag} changes but neither {doc} nor the "
                            f"comments on struct vm_fault are updated",
                    key=f"{flag}:documentation",
                    details={"flag": flag, "documents": list(DOCS)})

    def _tree_sites(self, ctx: Context, flag: str) -> list[Site]:
        tree = ctx.tree
        sites: list[Site] = []
        by_file: dict[str, list[int]] = {}
        for path, ln, _t in tree.grep_word(flag):
            by_file.setdefault(path, []).append(ln)
        for path in sorted(by_file):
            if is_c(path):
                src = tree.read(path) or b""
                for ln, fn, role in cindex.flag_roles(src, path, flag):
                    sites.append(Site(path, ln, fn, role, (path, fn) in ctx.touched
                                      if fn else _file_touched(ctx, path)))
            elif path.startswith("Documentation/"):
                for ln in by_file[path]:
                    sites.append(Site(path, ln, "", "documentation", _file_touched(ctx, path)))
        return sites

    def _diff_sites(self, ctx: Context, flag: str) -> list[Site]:
        sites = []
        for pd in ctx.diffs:
            for h in pd.hunks():
                for ln, t in h.added + [(p, t) for _b, p, t in h.context]:
                    if flag in FLAG.findall(t):
                        src = ("int __rb_probe(void)\n{\n" + t + "\n}\n").encode()
                        roles = [r for _l, _f, r in cindex.flag_roles(src, h.path, flag)] \
                            or ["producer"]
                        fn = h.functions[0] if h.functions else ""
                        sites.append(Site(h.path, ln, fn, roles[0], True, t.strip()))
        return sites


def _file_touched(ctx: Context, path: str) -> bool:
    return any(f.path == path for pd in ctx.diffs for f in pd.files)
