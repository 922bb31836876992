"""field-init's checks of what a series does to existing members: a construction site it adds
or changes, checked for every member its callees read, and a member it newly reads, checked at
every construction site that reaches the read through the call graph."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from reviewbot import cindex, cparse, memo
from reviewbot.cparse import text
from reviewbot.engine import Context
from reviewbot.findings import Finding, Site
from reviewbot_rules.field_init_flow import field_status, unset_escapes
from reviewbot_rules.field_init_reach import Graph, file_summary

CHECK_WALK = "field-init: callers and callees beyond the call-graph walk's bound"
ZERO = re.compile(r"^\(?\s*(?:0[uUlL]*|NULL|false|0x0+)\s*\)?$")
NO_MEMBER = "\0"          # a member name nothing sets: every escape of the object is listed


@dataclass(frozen=True)
class ChangedSite:
    file: str
    function: str
    struct: str
    var: str


@dataclass(frozen=True)
class NewRead:
    file: str
    function: str
    struct: str
    member: str
    arg: int             # the index of the parameter it is read through
    var: str


def _sites_json(src: bytes, path: str, struct: str) -> list:
    return [[cs.file, cs.line, cs.function, cs.kind, cs.var, list(cs.node_id)]
            for cs in cindex.construction_sites(src, path, struct)]


def construction_sites(src: bytes, path: str, struct: str) -> list[cindex.ConstructionSite]:
    """cindex.construction_sites, kept on disk: a repeat review does not walk the file again."""
    return [cindex.ConstructionSite(*r[:5], tuple(r[5]))
            for r in memo.cached(_sites_json, src, path, struct)]


def _changed_functions(img) -> set[str]:
    if not img.changed:
        return set()            # an image with no changed line: nothing to parse it for
    return {f.name for f in cparse.function_spans(img.src)
            if any(f.start <= c <= f.end for c in img.changed)}


def _struct_types(img, names: set[str]) -> set[str]:
    """Struct types of the parameters and locals of the named functions."""
    out = set()
    for f in cparse.functions(img.src):
        if f.name not in names or f.node is None:
            continue
        for n in cindex.walk(f.node):
            if n.type in ("declaration", "parameter_declaration"):
                t = n.child_by_field_name("type")
                nn = t.child_by_field_name("name") if t is not None and \
                    t.type == "struct_specifier" and t.child_by_field_name("body") is None else None
                if nn is not None:
                    out.add(text(nn))
    return out


def built_here(body: str, struct: str) -> bool:
    """Whether a file builds a `struct <struct>` object: a local declared as one, or an
    allocation sized by it (`sizeof(struct S)`, `sizeof(*p)` with `struct S *p`)."""
    s = re.escape(struct)
    if re.search(r"^\s+struct\s+" + s + r"\s+\w+\s*[;={\[]", body, re.M) or \
            re.search(r"sizeof\s*\(\s*struct\s+" + s + r"\s*\)", body):
        return True
    ptrs = set(re.findall(r"\bstruct\s+" + s + r"\s*\*\s*(\w+)", body))
    return any(re.search(r"sizeof\s*\(?\s*\*\s*" + re.escape(p) + r"\b", body) for p in ptrs)


def series_changes(images) -> tuple[list[ChangedSite], list[NewRead]]:
    """From one patch's (pre, post) whole-file images: the declared or allocated objects whose
    construction it changes (the object is named on a changed line of a changed function),
    and the members a changed function newly reads through a struct pointer parameter."""
    sites, reads = set(), set()
    for pre, post in images:
        if not post.whole or not (pre.changed or post.changed) or \
                cparse.same_code(pre.src, post.src):
            continue        # only comments and layout changed: no object is built otherwise
        fns = _changed_functions(post)
        old_fns = _changed_functions(pre)
        words = set()
        for img in (pre, post):
            lines = img.src.decode("utf-8", "replace").splitlines()
            for c in img.changed:
                if 1 <= c <= len(lines):
                    words.update(re.findall(r"\w+", lines[c - 1]))
        body = post.src.decode("utf-8", "replace")
        for struct in sorted(_struct_types(post, fns)):
            if not built_here(body, struct):
                continue     # never built as an object in this file: not worth a walk
            for cs in construction_sites(post.src, post.path, struct):
                if cs.kind in ("declaration", "allocation") and cs.function in fns and \
                        cs.var in words:
                    sites.add(ChangedSite(post.path, cs.function, struct, cs.var))
            now = file_summary(post.src, post.path, struct, sorted(fns))
            before = file_summary(pre.src, pre.path, struct, sorted(old_fns)) if old_fns else {}
            for fn in sorted(fns):
                f = now.get(fn)
                if f is None:
                    continue
                old = before.get(fn) or {"params": {}, "events": []}
                for var, i in sorted(f["params"].items()):
                    old_var = next((v for v, j in old["params"].items() if j == i), None)
                    had = {e[2] for e in old["events"] if e[0] == "r" and e[1] == old_var}
                    for m, line in _exposed_reads(f["events"], var):
                        if line in post.changed and m not in had:
                            reads.add(NewRead(post.path, fn, struct, m, i, var))
    return (sorted(sites, key=lambda s: (s.file, s.function, s.var)),
            sorted(reads, key=lambda r: (r.file, r.function, r.member)))


def _exposed_reads(events, var: str) -> list[tuple[str, int]]:
    """(member, line) of each read through `var` before the function sets that member."""
    written, out = set(), []
    for e in events:
        if e[1] != var:
            continue
        if e[0] == "w":
            written.add(e[2])
        elif e[0] == "r" and e[2] not in written:
            out.append((e[2], e[3]))
    return out


def _graph(ctx: Context, struct: str) -> Graph:
    key = ("field-init:graph", ctx.tree.label, struct)
    if key not in ctx.shared:
        ctx.shared[key] = Graph(ctx.tree, struct)
    return ctx.shared[key]


def _sites_of(src: bytes, path: str, struct: str, function: str, var: str):
    return [cs for cs in construction_sites(src, path, struct)
            if cs.function == function and cs.var == var]


def _hops(path: list, touched: set, reader: tuple | None = None) -> list[Site]:
    out = [Site(f, ln, fn, "call path", (f, fn) in touched, what) for f, ln, fn, what in path]
    if reader is not None:
        f, ln, fn, what = reader
        out.append(Site(f, ln, fn, "reader", (f, fn) in touched, what))
    return out


def _chain(names: list[str]) -> str:
    return " -> ".join(f"{n}()" for n in dict.fromkeys(names))


# --- a site the series adds or changes --------------------------------------------------------

def changed_site_findings(rule, ctx: Context, site: ChangedSite) -> Iterable[Finding]:
    src = ctx.tree.read(site.file)
    if src is None:
        return
    graph = _graph(ctx, site.struct)
    for cs in _sites_of(src, site.file, site.struct, site.function, site.var):
        if cs.kind not in ("declaration", "allocation"):
            continue
        calls = sorted({(c, i) for _ln, _h, c, i in unset_escapes(src, cs, NO_MEMBER) if c})
        graph.cut = False
        graph.walk_forward([(site.file, c, i) for c, i in calls])
        reads: dict[tuple[str, int], dict] = {call: graph.reads_from(site.file, *call)
                                              for call in calls}
        own = memo.cached(file_summary, src, site.file, site.struct).get(site.function, {})
        direct = {m for m, _ln in _exposed_reads(own.get("events", []), cs.var)}
        members = sorted(direct | {m for r in reads.values() for m in r})
        for m in members:
            hit = None
            for line, how, callee, idx in unset_escapes(src, cs, m):
                if callee and m in reads.get((callee, idx), {}):
                    hit = (line, callee, reads[(callee, idx)][m])
                    break
                if how == "its new field read":
                    hit = (line, "", [])
                    break
            if hit is None:
                continue
            yield _changed_site_finding(rule, ctx, cs, site, m, *hit)
    if graph.cut:
        ctx.skip(CHECK_WALK, f"{site.file}: {site.function}(): the walk over the calls that "
                             f"receive {site.var} stopped at its bound")


def _changed_site_finding(rule, ctx, cs, site: ChangedSite, m: str, line: int, callee: str,
                          chain: list) -> Finding:
    what = "allocated" if cs.kind == "allocation" else "declared without an initializer"
    ref = f"{cs.var}->{m}" if cs.kind == "allocation" else f"{cs.var}.{m}"
    if callee:
        reader = chain[-1]
        names = [site.function, callee] + [c[2] for c in chain]
        why = (f"it is passed to {callee}() at line {line} before .{m} is set, and "
               f"{reader[2]}() reads it ({_chain(names)})")
        amp = "&" if cs.kind == "declaration" else ""
        hops = [(site.file, line, site.function, f"passes {amp}{cs.var} to {callee}()")] + chain[:-1]
        sites = _hops(hops, ctx.touched, reader)
    else:
        reader = (site.file, line, site.function, f"reads {ref}")
        names = [site.function]
        why = f"{site.function}() itself reads {ref} at line {line} before setting it"
        sites = _hops([], ctx.touched, reader)
    sites.append(Site(cs.file, cs.line, cs.function, "not set before escape", True,
                      f"{cs.kind} of {cs.var}: .{m} not set before line {line}"))
    return Finding(
        rule=rule.id, severity="warning", patch=ctx.patch.msgid, file=cs.file, line=cs.line,
        function=cs.function, sites=sites,
        message=(f"the series changes how {cs.function}() builds struct {site.struct} "
                 f"{cs.var} ({what}): {why}"),
        key=f"{site.struct}.{m}:{cs.file}:{cs.function}:{cs.var}:changed-site",
        details={"check": "changed-site", "struct": site.struct, "member": m, "var": cs.var,
                 "kind": cs.kind, "escape_line": line, "callee": callee,
                 "call_path": list(dict.fromkeys(names + [reader[2]])),
                 "reader": reader[2], "reader_file": reader[0], "reader_line": reader[1]})


# --- a member the series newly reads ----------------------------------------------------------

def new_read_findings(rule, ctx: Context, read: NewRead) -> Iterable[Finding]:
    tree = ctx.tree
    src = tree.read(read.file)
    if src is None:
        return
    fn = memo.cached(file_summary, src, read.file, read.struct).get(read.function)
    if fn is None:
        return
    var = next((v for v, j in fn["params"].items() if j == read.arg), read.var)
    at = next((ln for m, ln in _exposed_reads(fn["events"], var) if m == read.member), None)
    if at is None:
        return                       # a later patch of the series sets it first
    graph = _graph(ctx, read.struct)
    graph.cut = False
    reader = (read.file, at, read.function, f"reads {var}->{read.member}")
    others = None
    for hit in graph.reaching(read.file, read.function, read.arg, read.member):
        hsrc = tree.read(hit["file"])
        for cs in _sites_of(hsrc, hit["file"], read.struct, hit["function"], hit["var"]):
            status = _status_at(hsrc, cs, read.member, hit)
            if status == "set":
                continue
            if others is None:
                others = _other_sites(tree, read.struct, read.member)
            yield _new_read_finding(rule, ctx, read, reader, cs, status, hit, others)
    if graph.cut:
        ctx.skip(CHECK_WALK, f"{read.file}: {read.function}(): the walk up its callers "
                             "stopped at its bound")


def _status_at(src: bytes, cs, member: str, hit: dict) -> str:
    """The member's status at the call by which the object leaves for the reader."""
    if cs.kind in ("declaration", "allocation"):
        unset = any(c == hit["callee"] and i == hit["arg"] and ln == hit["line"]
                    for ln, _h, c, i in unset_escapes(src, cs, member))
        return "not set before escape" if unset else "set"
    return field_status(src, cs, member)[0]


def _other_sites(tree, struct: str, member: str) -> list[tuple]:
    """(file, function, var, status, values) of every construction site of the struct in the
    tree but copies: the values are what the site sets the member to."""
    from reviewbot_rules.field_init import scan_sites
    order = _member_order(tree, struct)
    out = []
    for cs, status, _detail, src in scan_sites(tree, struct, member, order):
        if cs.kind == "copy":
            continue
        out.append((cs.file, cs.function, cs.var, status, _values(src, cs, member)))
    return out


def _member_order(tree, struct: str) -> list[str]:
    opening = re.compile(r"\bstruct\s+" + re.escape(struct) + r"\s*\{")
    for path in sorted({p for p, _ln, t in tree.grep_word(struct, ("*.h", "*.c"))
                        if opening.search(t)}):
        order = cindex.struct_member_order(tree.read(path) or b"", struct)
        if order:
            return order
    return []


def _values(src: bytes, cs, member: str) -> list[str]:
    """What a site sets the member to: its designated initializer, or the right-hand sides of
    `var.member = ...` / `var->member = ...` in the function."""
    node = cindex.find_node(src, cs.node_id)
    if node is None:
        return []
    out = []
    if cs.kind == "initializer":
        for n in cindex.walk(node):
            if n.type == "initializer_pair" and any(
                    text(d).lstrip(".") == member for d in n.children_by_field_name("designator")):
                out.append(" ".join(text(n.child_by_field_name("value")).split()))
        return out
    fn = node
    while fn is not None and fn.type != "function_definition":
        fn = fn.parent
    for n in cindex.walk(fn) if fn is not None else []:
        if n.type == "assignment_expression":
            left = n.child_by_field_name("left")
            if left.type == "field_expression" and text(left.child_by_field_name("field")) == member \
                    and text(left.child_by_field_name("argument")) == cs.var:
                out.append(" ".join(text(n.child_by_field_name("right")).split()))
    return out


def _new_read_finding(rule, ctx, read: NewRead, reader, cs, status, hit, others) -> Finding:
    rest = [o for o in others if (o[0], o[1], o[2]) != (cs.file, cs.function, cs.var)]
    real = bool(rest) and all(o[3] == "set" and any(not ZERO.match(v) for v in o[4])
                              for o in rest)
    m = read.member
    names = [h[2] for h in hit["path"]] + [read.function]
    if status == "not set before escape":
        severity, left = "warning", f"does not set .{m} before passing it on"
        zero = ""
    elif real:
        severity, left = "warning", f"leaves .{m} zero"
        zero = ("; zero is never used elsewhere: " + ("the other site sets" if len(rest) == 1
                 else f"all {len(rest)} other sites set") + " it from a value")
    else:
        severity, left = "info", f"leaves .{m} zero"
        zero = ("; other sites leave it zero or set it to zero too" if rest else
                "; no other site builds one")
    sites = _hops(hit["path"], ctx.touched, reader)
    sites.append(Site(cs.file, cs.line, cs.function, status, (cs.file, cs.function)
                      in ctx.touched, f"{cs.kind} of {cs.var}"))
    return Finding(
        rule=rule.id, severity=severity, patch=ctx.patch.msgid, file=read.file,
        line=reader[1], function=read.function, sites=sites,
        message=(f"{read.function}() newly reads {reader[3].split()[-1]}; {cs.function}() "
                 f"builds a struct {read.struct} ({cs.kind} of {cs.var}) that reaches it "
                 f"({_chain(names)}) and {left}{zero}"),
        key=f"{read.struct}.{m}:{cs.file}:{cs.function}:{cs.var}:new-read:{read.function}",
        details={"check": "new-read", "struct": read.struct, "member": m, "var": cs.var,
                 "kind": cs.kind, "site_file": cs.file, "site_line": cs.line,
                 "site_function": cs.function, "site_status": status,
                 "reader": read.function, "reader_file": read.file, "reader_line": reader[1],
                 "call_path": list(dict.fromkeys(names)), "zero_valid": not real,
                 "other_sites": len(rest)})
