"""lock-contract: the lock a ->fault / ->page_mkwrite return carries (VM_FAULT_LOCKED with or
without a page) against what each consumer of that return releases, on every path, named on
both sides. Documentation: lock_contract.md beside this file."""
from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from typing import Iterable

from reviewbot import cparse, memo
from reviewbot.diff import is_c
from reviewbot.engine import Context
from reviewbot.findings import Finding, Site
from reviewbot_rules import fault_flow
from reviewbot_rules.fault_flow import ops_initialisers
from reviewbot_rules.lock_paths import (ANY, ACQUIRE, ERROR_BITS, RELEASE, TRYLOCK, Bits, Exit,
                                        Interp, Lock, State, expand, vmf_param)

OPS = ("fault", "page_mkwrite")
LOCK_WORDS = set(ACQUIRE) | set(RELEASE) | set(TRYLOCK)
RELEVANT = re.compile(r"\b(?:VM_FAULT_\w+|" + "|".join(sorted(LOCK_WORDS)) + r")\b|\bNULL\b|"
                      r"\(\s*!?\s*[\w.>-]*page\s*\)")
DEF = r"^(?!\s)(?:[\w\s\*]+\s\**)?{}\s*\([^;]*$"
# every definition line of a function that may be a handler's delegate: the tree's grep asks
# for this superset, led by a literal (a third of the CPU of DEFINED's own pass), and the lines
# are kept when DEFINED matches them
DEFINED = DEF.format(r"(\w*(?:fault|mkwrite)\w*)")
DEFINES = (r"(?:fault|mkwrite)\w*\s*\([^;]*$", "*.c")


class Resolver:
    """Where a function is defined: its own file first, then (for a call the handler returns)
    the tree, found by the word index; parsed trees are cached by cparse."""

    def __init__(self, tree, inline: set[str] | None = None):
        self.tree = tree
        self.inline = inline        # consumers: follow only these; None: handler mode
        self.cache: dict = {}
        self.files: dict[str, dict] = {}

    def source(self, path: str) -> bytes:
        if path not in self.files:
            self.files[path] = {"src": self.tree.read(path) or b""}
        return self.files[path]["src"]

    def define(self, name: str, path: str):
        """(path, node) of `name`'s definition in `path`, that function alone parsed."""
        defs = self.files.setdefault(path, {"src": self.source(path)}).setdefault("defs", {})
        if name not in defs:
            defs[name] = cparse.definition(self.files[path]["src"], name)
        return (path, defs[name]) if defs[name] is not None else None

    def locate(self, name: str) -> str | None:
        """The file that defines `name`, from the index of delegate definitions, or for a name
        it cannot hold (or a git without Perl patterns) from the word index; nothing is
        parsed."""
        if ("*", name) not in self.cache:
            defs = self.definitions() if FAULTY.search(name) else None
            if defs is not None:
                self.cache[("*", name)] = defs.get(name)
            else:
                rx = re.compile(DEF.format(re.escape(name)))
                self.cache[("*", name)] = next((p for p, _l, t in self.tree.grep_word(name)
                                                if p.endswith(".c") and rx.search(t)), None)
        return self.cache[("*", name)]

    def definitions(self) -> dict[str, str] | None:
        """Each delegate-like function name -> the first .c file that defines it."""
        if "defs" not in self.cache:
            hits = self.tree.grep_pattern(*DEFINES)
            defs: dict[str, str] | None = None
            if hits is not None:
                defs = {}
                rx = re.compile(DEFINED)
                for path, _ln, line in hits:        # sorted: the first file wins
                    m = rx.search(line)
                    if m:
                        defs.setdefault(m.group(1), path)
            self.cache["defs"] = defs
        return self.cache["defs"]

    def anywhere(self, name: str):
        path = self.locate(name)
        return self.define(name, path) if path else None

    def __call__(self, name: str, path: str, returned: bool):
        if self.inline is not None:
            return self.define(name, path) if name in self.inline else None
        here = self.define(name, path)
        if here is not None and (returned or b"VM_FAULT_" in here[1].text):
            return here
        # a handler that returns another file's handler: `return dax_iomap_fault(...)`
        return self.anywhere(name) if returned and FAULTY.search(name) else None


def handler_exits(tree, name: str, path: str, op: str, res: Resolver) -> list[Exit]:
    """Every return of one handler with its bits, its page and the locks held."""
    target = res.define(name, path) or res.anywhere(name)
    if target is None:
        return []
    fpath, node = target
    vmf = vmf_param(node)
    visited: set = set()
    out = []
    for s in Interp(fpath, res, vmf=vmf, visited=visited).run(node, State(), name):
        ret = s.get("$ret")
        file, line, fn = s.get("$at")
        bits = ret.bits if isinstance(ret, Bits) else frozenset()
        page = s.get(vmf + ".page")
        page = "null" if page == "null" else "nonnull" if "VM_FAULT_LOCKED" in bits else ""
        held = set(s.held)
        if "VM_FAULT_LOCKED" in bits and page != "null" and \
                not any(h.name == "page lock" for h in held):
            # the old contract: VM_FAULT_LOCKED with a page means that page is locked
            held.add(Lock("page lock", "page", "X", file, line, fn))
        assumed = frozenset((k.split(".", 1)[1], v) for k, v in s.assumed
                            if k.startswith(vmf + "."))
        out.append(Exit(file, fn, line, bits, page, tuple(sorted(held, key=repr)), (),
                        assumed=assumed, extra={"handler": name, "op": op,
                                                "visited": sorted(visited)}))
    return out


def consumer_exits(tree, res: Resolver, name: str, path: str) -> list[Exit]:
    target = res.define(name, path)
    if target is None:
        return []
    visited: set = set()
    out = []
    for s in Interp(path, res, visited=visited).run(target[1], State(), name):
        if not s.op:
            continue                 # a path that never called the handler
        file, line, fn = s.get("$at")
        out.append(Exit(file, name, line, held=(), released=tuple(sorted(s.released, key=repr)),
                        hcons=s.hcons, hpage=s.hpage, atcall=s.atcall,
                        extra={"op": s.op, "visited": sorted(visited), "end": (file, line, fn)}))
    return out


def compatible(h: Exit, c: Exit, strict: bool = True) -> bool:
    bits = expand(h.bits)
    if any(bool(bits if m == ANY else bits & m) != t for m, t in c.hcons):
        return False
    if strict and (c.hpage == "null" and h.page != "null" or
                   c.hpage == "nonnull" and h.page == "null"):
        return False
    at = dict(c.atcall)
    for member, v in h.assumed:
        known = at.get(member, at.get("*"))
        if known and known != v:
            return False
    return True


class LockContract:
    """The lock a VM_FAULT_LOCKED return carries against what its consumers release."""
    id = "lock-contract"
    severity = "error"
    summary = "a ->fault/->page_mkwrite return and its consumers agree on the lock it carries"
    concurrent = True       # its own analysis and notes only: it may run beside the others

    def grep_words(self, ctx: Context) -> set[str]:
        return {"vm_operations_struct", "vm_ops"} if _relevant(ctx) else set()

    def grep_patterns(self, ctx: Context) -> set[tuple[str, str]]:
        return {DEFINES} if _relevant(ctx) else set()

    def check(self, ctx: Context) -> Iterable[Finding]:
        if ctx.tree is None or not _relevant(ctx) or ctx.side == "base":
            return      # a contract finding is about what the series changes: never pre-existing
        groups = self._groups(ctx, *self._exits(ctx, ctx.tree, "patched"))
        if ctx.base is not None and groups:
            old = self._groups(ctx, *self._exits(ctx, ctx.base, "base"))
            groups = {k: f for k, f in groups.items() if k not in old}
        # one finding a series: the first patch that touches either side reports it
        seen = ctx.shared.setdefault("lock-contract:reported", set())
        for key in sorted(groups):
            if key in seen:
                continue
            seen.add(key)
            f = groups[key]
            others = sorted({h["function"] for h in f.details["handlers"]}
                            - {f.details["handler"]["function"]})
            if others:
                f.message += f"; so do {', '.join(o + '()' for o in others)}"
            yield f

    def _exits(self, ctx: Context, tree, side: str) -> tuple[list[Exit], list[Exit]]:
        key = ("lock-contract", side)
        if key not in ctx.shared:
            touched = sorted({p for pd in ctx.diffs for p in pd.paths})
            got = fault_flow.per_view(
                tree, (__name__, "reviewbot_rules.lock_paths", "reviewbot_rules.fault_flow"),
                "lock-contract", lambda t: _analysis_json(tree, t), touched)
            ctx.shared[key] = ([Exit.from_json(e) for e in got["handlers"]],
                               [Exit.from_json(e) for e in got["consumers"]])
        return ctx.shared[key]

    def _groups(self, ctx: Context, handlers: list[Exit], consumers: list[Exit]
                ) -> dict[str, Finding]:
        """Every disagreement between a handler's return and a consumer's path where one of
        the two runs through a function this patch changes; one finding for every handler
        that returns the same way to the same consumer."""
        mine = {(h.path, fn) for h in ctx.diff.hunks() for fn in h.functions}
        groups: dict[str, Finding] = {}
        for c in consumers:
            c_fns = {tuple(v) for v in c.extra["visited"]}
            pairs, strict = [], True
            for strict in (True, False):
                pairs = [h for h in handlers if h.extra["op"] == c.extra["op"]
                         and "VM_FAULT_LOCKED" in h.bits | (frozenset({"VM_FAULT_LOCKED"})
                                                             if h.held and strict else frozenset())
                         and compatible(h, c, strict)]
                # no handler returns the way this path expects (a consumer changed alone for a
                # handler that was not): compare with every LOCKED return, releases only
                if pairs or not c.released or c.hpage != "null":
                    break
            for h in pairs:
                if not ({tuple(v) for v in h.extra["visited"]} | c_fns) & mine:
                    continue
                for f in self._compare(ctx, h, c, strict):
                    g = groups.get(f.key)
                    if g is None:
                        groups[f.key] = f
                        f.details["handlers"] = [f.details["handler"]]
                    elif f.details["handler"] not in g.details["handlers"]:
                        g.details["handlers"].append(f.details["handler"])
                        g.sites = sorted(set(g.sites) | set(f.sites), key=Site.sort_key)
        return groups

    def _compare(self, ctx: Context, h: Exit, c: Exit, strict: bool) -> list[Finding]:
        held = {l.key: l for l in h.held}
        rel = {l.key: l for l in c.released}
        out = []
        handler = h.extra["handler"]
        why = _returns(h)
        for k, r in sorted(rel.items()):
            l = held.get(k)
            if l is not None and l.mode == r.mode:
                continue
            kind = "mismatch" if l is not None else "nothing held"
            msg = (f"{handler}() {why} holding {l.describe()} ({l.file}:{l.line}), but "
                   f"{c.function}() releases it as {r.mode} ({r.file}:{r.line})"
                   if l is not None else
                   f"{c.function}() releases {r.describe()} at {r.file}:{r.line} when the "
                   f"handler {_path_of(c)}, but {handler}() {why} at {h.file}:{h.line} "
                   f"holding {_held(h)}" + ("" if strict else
                                           "; no handler returns the way that path expects"))
            out.append(self._finding(ctx, kind, h, c, l, r, msg))
        for k, l in sorted(held.items()):
            if k in rel or not strict:
                continue
            error = bool(expand(h.bits) & ERROR_BITS)
            kind = "not released on an error path" if error else "not released"
            msg = (f"{handler}() {why} at {h.file}:{h.line} still holding {l.describe()} "
                   f"(taken at {l.file}:{l.line}), and {c.function}() does not release it "
                   f"on that path (returns at {c.extra['end'][0]}:{c.extra['end'][1]})")
            out.append(self._finding(ctx, kind, h, c, l, None, msg))
        return out

    def _finding(self, ctx, kind, h: Exit, c: Exit, held: Lock | None, rel: Lock | None,
                 msg: str) -> Finding:
        lock = held or rel
        end = c.extra["end"]
        sites = [Site(h.file, h.line, h.function, "handler return", _touched(ctx, h),
                      f"returns {_bits(h)}; holds {_held(h)}")]
        if held is not None:
            sites.append(Site(held.file, held.line, held.function, "lock taken",
                              (held.file, held.function) in ctx.touched, held.describe()))
        if rel is not None:
            sites.append(Site(rel.file, rel.line, rel.function, "lock released",
                              (rel.file, rel.function) in ctx.touched, rel.describe()))
        else:
            sites.append(Site(end[0], end[1], end[2], "consumer return",
                              (end[0], end[2]) in ctx.touched,
                              f"releases {', '.join(l.describe() for l in c.released) or 'nothing'}"))
        side = lambda l: None if l is None else {  # noqa: E731
            "name": l.name, "ident": l.ident, "mode": l.mode, "file": l.file, "line": l.line,
            "function": l.function}
        # the finding stands where this patch changed the contract: the consumer's return
        # when only that side is the patch's, else the release, else the handler's return
        mine = {(x.path, fn) for x in ctx.diff.hunks() for fn in x.functions}
        at = (rel.file, rel.line, rel.function) if rel is not None else \
            (h.file, h.line, h.function)
        if rel is None and not {tuple(v) for v in h.extra["visited"]} & mine:
            at = end
        return Finding(
            rule=self.id, severity=self.severity, patch=ctx.patch.msgid,
            file=at[0], line=at[1], function=at[2],
            message=msg, sites=sites,
            key=f"{kind}:{c.function}:{lock.name}:{lock.ident}:{lock.mode}",
            details={"kind": kind, "op": c.extra["op"], "lock": lock.name, "ident": lock.ident,
                     "handler": {"function": h.extra["handler"], "returns_from": h.function,
                                 "file": h.file, "line": h.line, "bits": sorted(h.bits),
                                 "page": h.page, "holds": side(held),
                                 "path": [f for _p, f in h.extra["visited"]]},
                     "consumer": {"function": c.function, "file": end[0], "line": end[1],
                                  "releases": side(rel),
                                  "path": [f for _p, f in c.extra["visited"]],
                                  "when": _path_of(c)}})

    # what is said about a finding: the reply's questions, the checklist's item
    def questions(self, f: Finding) -> list[str]:
        d = f.details
        h, c = d.get("handler", {}), d.get("consumer", {})
        lock = f"{d.get('lock')} ({d.get('ident')})"
        if d.get("kind") == "mismatch":
            return [f"{h.get('function')}() returns holding {lock} in mode "
                    f"{(h.get('holds') or {}).get('mode')}, and {c.get('function')}() releases "
                    f"it in mode {(c.get('releases') or {}).get('mode')}: which one is right?"]
        if d.get("kind") == "nothing held":
            return [f"{c.get('function')}() releases {lock} when the handler {c.get('when')}, "
                    f"but {h.get('function')}() ({h.get('file')}:{h.get('line')}) does not "
                    f"return holding it: which ->{d.get('op')} handler does?"]
        return [f"{c.get('function')}() does not release {lock}, which {h.get('function')}() "
                f"still holds when it returns {', '.join(h.get('bits') or []) or 'there'} "
                f"({h.get('file')}:{h.get('line')}): who releases it on that path?"]

    def checklist_items(self, f: Finding) -> list[str]:
        d = f.details
        h, c = d.get("handler", {}), d.get("consumer", {})
        return [f"`{h.get('function')}()` ({h.get('file')}:{h.get('line')}) and "
                f"`{c.get('function')}()` ({c.get('file')}:{c.get('line')}) agree on "
                f"{d.get('lock')} ({d.get('ident')}): who takes it, in which mode, who drops it?"]


def _relevant(ctx: Context) -> bool:
    """Only a patch that adds or drops a lock call, a VM_FAULT_* bit or a NULL test can change
    the contract: the words are counted on the removed and the added lines of each file, so
    a reflowed or moved line is no change."""
    key = ("lock-contract:relevant", ctx.patch.msgid)
    if key not in ctx.shared:
        from collections import Counter
        hit = False
        for f in ctx.diff.files:
            if not is_c(f.path):
                continue
            old, new = Counter(), Counter()
            for h in f.hunks:
                for _n, t in h.removed:
                    old.update(m.group(0).replace(" ", "") for m in RELEVANT.finditer(t))
                for _n, t in h.added:
                    new.update(m.group(0).replace(" ", "") for m in RELEVANT.finditer(t))
            hit = hit or old != new
        ctx.shared[key] = hit
    return ctx.shared[key]


# a handler file that can hand a lock back: it returns VM_FAULT_LOCKED or takes a lock of the
# file (a driver's own mutex taken and dropped inside its handler is not parsed at all)
CARRIES = re.compile(rb"\b(?:VM_FAULT_LOCKED|i_mmap_lock_\w+|filemap_invalidate_lock\w*|"
                     rb"lock_page\w*|folio_lock\w*|down_(?:read|write))\b")


def _analyse(tree, touched: frozenset = frozenset()) -> tuple[list[Exit], list[Exit]]:
    """Every return of the tree's handlers that can carry a lock, and every way out of each
    function that receives a handler's result. `touched`: files the series changes, whose
    handlers are analysed whatever they hold."""
    res = Resolver(tree)
    inits, names, own = [], set(), {}
    wired: dict[str, list[tuple[str, str]]] = {}
    for path, _line, op, name in ops_initialisers(tree):
        if op in OPS:
            wired.setdefault(path, []).append((op, name))
    for path, pairs in sorted(wired.items()):
        facts = _handler_file(res.source(path), sorted({n for _o, n in pairs}))
        for op, name in pairs:
            delegates = facts["defined"].get(name)
            if delegates is not None:
                own.setdefault(name, path)
                if not facts["carries"] and not delegates and path not in touched:
                    continue
                names |= set(delegates)
            inits.append((path, op, name))
    if res.definitions() is None:
        tree.prefetch(sorted(names))    # no Perl patterns: one word query for every delegate
    # a handler wired in one file and defined in another is found where a file of the
    # scan defines it (filemap_fault, wired by most filesystems, in mm/filemap.c)
    inits = [(own.get(name), path, op, name) for path, op, name in inits]
    handlers: list[Exit] = []
    done = set()
    for where, path, op, name in inits:
        if (name, op) in done or where is None:
            continue
        if where != path and not _handler_file(res.source(where), [])["carries"] and \
                where not in touched:
            continue
        done.add((name, op))
        handlers += _memo_exits(tree, res, "handler", name, where, op)
    direct = fault_flow.callers_of(tree, {"->" + o for o in OPS})
    inline = {fn for _p, fn, _f, call in direct}
    units = set()
    for path, fn, _facts, call in direct:
        if call[2]:      # it returns the handler's result: its callers act on it
            for p2, fn2, _f2, _c2 in fault_flow.callers_of(tree, {fn}, {fn: path}):
                if p2 == path:
                    units.add((p2, fn2))
        else:
            units.add((path, fn))
    cres = Resolver(tree, inline)
    consumers = [e for p, fn in sorted(units)
                 for e in _memo_exits(tree, cres, "consumer", fn, p, ",".join(sorted(inline)))]
    return handlers, consumers


def _handler_file(src: bytes, names: list[str]) -> dict:
    """Whether one file can hand a lock back (CARRIES), and for each of `names` it defines
    the calls its body returns (`return dax_iomap_fault(...)`); kept on disk, so the base's
    side of a review and a repeat review read no file for it."""
    return memo.cached(_handler_file_json, src, names)


def _handler_file_json(src: bytes, names: list[str]) -> dict:
    defined = {}
    for name in names:
        found = _definition(src, name)
        if found is not None:
            body = src[found:src.find(b"\n}", found)]
            defined[name] = sorted({m.decode() for m in DELEGATE.findall(body)})
    return {"carries": bool(CARRIES.search(src)), "defined": defined}


def _definition(src: bytes, name: str) -> int | None:
    """Where the first match of DEF for `name` starts in `src` (whole-file, multi-line, as
    re.search(DEF, src, re.M) finds it), trying only the line starts that can lead to an
    occurrence of the name: a match's text before the name is all word, space and `*`."""
    word = name.encode()
    if word not in src:
        return None
    rx = _def_rx(name)
    starts: set[int] = set()
    at = src.find(word)
    while at >= 0:
        w = at
        while w > 0 and src[w - 1] in cparse.HEAD_BYTES:
            w -= 1
        line = src.rfind(b"\n", 0, w) + 1     # the line start at or before the window
        while 0 <= line <= at:
            starts.add(line)
            nl = src.find(b"\n", line, at)
            line = nl + 1 if nl >= 0 else at + 1
        at = src.find(word, at + 1)
    for start in sorted(starts):
        if rx.match(src, start):
            return start
    return None


@lru_cache(maxsize=4096)
def _def_rx(name: str) -> re.Pattern:
    return re.compile(DEF.format(re.escape(name)).encode(), re.M)


def _analysis_json(tree, touched: list[str]) -> dict:
    handlers, consumers = _analyse(tree, frozenset(touched))
    return {"handlers": [e.to_json() for e in handlers],
            "consumers": [e.to_json() for e in consumers]}


DELEGATE = re.compile(rb"\breturn\s+(\w*(?:fault|mkwrite)\w*)\s*\(")
FAULTY = re.compile(r"fault|mkwrite")
_TREE: dict = {}


def _memo_exits(tree, res: Resolver, kind: str, name: str, path: str, arg: str) -> list[Exit]:
    """The exits of one handler or consumer from the on-disk memo when every file its
    analysis read still has the bytes it had; computed (and stored) otherwise."""
    src = res.source(path)
    _TREE["tree"], _TREE["res"] = tree, res
    stored = memo.cached(_exits_json, src, kind, name, path, arg)
    if all(_digest(res.source(p)) == d for p, d in stored["files"]):
        return [Exit.from_json(e) for e in stored["exits"]]
    return [Exit.from_json(e) for e in _exits_json(src, kind, name, path, arg)["exits"]]


def _exits_json(_src: bytes, kind: str, name: str, path: str, arg: str) -> dict:
    tree, res = _TREE["tree"], _TREE["res"]
    exits = handler_exits(tree, name, path, arg, res) if kind == "handler" else \
        consumer_exits(tree, res, name, path)
    files = sorted({p for e in exits for p, _f in e.extra["visited"]} | {path})
    return {"exits": [e.to_json() for e in exits],
            "files": [[p, _digest(res.source(p))] for p in files]}


def _digest(src: bytes) -> str:
    return hashlib.sha1(src).hexdigest()


def _returns(h: Exit) -> str:
    page = " with no page" if h.page == "null" else ""
    return f"returns {_bits(h)}{page}"


def _bits(h: Exit) -> str:
    return " | ".join(sorted(h.bits)) or "0"


def _held(h: Exit) -> str:
    return ", ".join(l.describe() for l in h.held) or "nothing"


def _path_of(c: Exit) -> str:
    parts = []
    for m, t in sorted(c.hcons, key=lambda x: (sorted(x[0]), x[1])):
        names = " | ".join(sorted(b for b in m if b not in ERROR_BITS or "VM_FAULT_ERROR" not in m))
        if m == ANY:
            parts.append("returns non-zero" if t else "returns 0")
            continue
        parts.append(f"{'sets' if t else 'does not set'} {names}")
    if c.hpage:
        parts.append("gives no page" if c.hpage == "null" else "gives a page")
    return " and ".join(parts) or "returns"


def _touched(ctx, e: Exit) -> bool:
    return any(tuple(v) in ctx.touched for v in e.extra["visited"])
