"""field-init: a member added to a struct must be set at every site that builds that struct,
on every path, before the object escapes. Documentation: field_init.md beside this file."""
from __future__ import annotations

import bisect
import difflib
import re
from typing import Iterable

from reviewbot import cindex, cparse, memo
from reviewbot.cparse import line_of, text
from reviewbot.diff import UNKNOWN_BLOCK, images, is_c
from reviewbot.engine import Context
from reviewbot.findings import Finding, Site
from reviewbot_rules.field_init_ask import finding_checklist, finding_questions
from reviewbot_rules.field_init_flow import VALUE_SETTERS, field_status, is_init_helper
from reviewbot_rules.field_init_reach import file_summary
from reviewbot_rules.field_init_series import (changed_site_findings, new_read_findings,
                                               series_changes)

CHECK_TREE = "field-init: construction sites in the whole tree"
CHECK_STRUCT = "field-init: which struct a member belongs to"
# Budgets (README, "Budgets"): past them the rest is named under `skipped`, with counts
MAX_MEMBERS = 64          # new members of one patch checked against the whole tree
MAX_SITE_FILES = 100      # files scanned for one struct's construction sites


def _images(ctx: Context, pd=None):
    """(pre, post) images of every C file of one patch (this one by default)."""
    pd = pd or ctx.diff
    before = ctx.before_patch.read if ctx.before_patch is not None else None
    after = ctx.after_patch.read if ctx.after_patch is not None else None
    if pd is not ctx.diff:
        before = after = None     # another patch of the series: its hunks, as C
    for f in pd.files:
        if is_c(f.path):
            yield from images(f, before, after)


def added_members(ctx: Context) -> list[cindex.Member]:
    """Members the patch adds: declarations in a parsed struct body after the patch with no
    declaration of that name (nor a renamed one of the same type) in the same struct before
    it. The struct comes from the whole file, or with no tree from the hunk and its context;
    a member declared where neither tells which struct holds it is listed under `skipped`."""
    out: list[cindex.Member] = []
    for pre, post in _images(ctx):
        if not post.changed:
            continue
        if post.opener == "unknown":
            _skip_unknown_block(ctx, post)
        _skip_macro_members(ctx, post)
        old: dict | None = None       # the pre-image's structs, parsed only when needed
        changed = sorted(post.changed)    # a binary search a member: 5,000 stay linear
        for st in cindex.structs(post.src):
            new_decls = [m for m in st.members
                         if (i := bisect.bisect_left(changed, m.line)) < len(changed)
                         and changed[i] <= m.end]
            if not new_decls:
                continue
            if not st.name:
                for m in new_decls:
                    ctx.skip(CHECK_STRUCT, f"{post.path}:{post.file_line(m.line)}: member "
                             f"'{m.name}' is declared in a struct the diff does not name")
                continue
            if old is None:
                old = {s.name: s for s in cindex.structs(pre.src)}
            before = old.get(st.name)
            if before is None:
                continue          # a struct the patch defines: nothing built it before
            names = {m.name for m in before.members}
            now = {n.name for n in st.members}
            gone = [m.type for m in before.members if m.name not in now]
            for m in new_decls:
                if m.name in names:
                    continue      # a type or comment change of an existing member
                if m.type in gone:
                    gone.remove(m.type)   # renamed: its users changed with it
                    continue
                out.append(cindex.Member(st.name, m.name, post.path, post.file_line(m.line),
                                         m.is_pointer))
    return sorted(set(out), key=lambda m: (m.file, m.line, m.name))


def _members(ctx: Context) -> list[cindex.Member]:
    """added_members, once a patch (its skipped notes too): the engine asks before the check."""
    key = ("field-init:members", ctx.patch.msgid)
    if key not in ctx.shared:
        ctx.shared[key] = added_members(ctx)
    return ctx.shared[key]


def _changes(ctx: Context):
    """series_changes, once a patch; nothing without a tree (the walk needs the tree)."""
    key = ("field-init:changes", ctx.patch.msgid)
    if key not in ctx.shared:
        ctx.shared[key] = series_changes(_images(ctx)) if ctx.patched is not None else ([], [])
    return ctx.shared[key]


def _first_hop_words(ctx: Context) -> set[str]:
    """The names the call-graph walk looks up first, so the engine's one grep finds them: the
    struct, the calls a changed object escapes into that its own file does not define, and a
    non-static function that newly reads a member (its callers)."""
    sites, reads = _changes(ctx)
    words = {s.struct for s in sites} | {r.struct for r in reads}
    if not words:
        return words
    read = (ctx.after_patch or ctx.patched).read
    for s in sites:
        fns = memo.cached(file_summary, read(s.file) or b"", s.file, s.struct)
        words |= {e[2] for e in fns.get(s.function, {}).get("events", [])
                  if e[0] == "c" and e[1] == s.var and e[2] not in fns}
    for r in reads:
        fns = memo.cached(file_summary, read(r.file) or b"", r.file, r.struct)
        if not fns.get(r.function, {}).get("static", False):
            words.add(r.function)
    return words


def _skip_unknown_block(ctx: Context, post) -> None:
    """No tree and a hunk inside a block its header does not name: a declaration there may be
    a struct member, but of which struct cannot be told."""
    wrapper = next((f.node for f in cparse.functions(post.src) if f.name == UNKNOWN_BLOCK), None)
    body = wrapper.child_by_field_name("body") if wrapper is not None else None
    for d in (cindex.walk(body) if body is not None else []):
        if d.type in ("declaration", "field_declaration") and line_of(d) in post.changed:
            ctx.skip(CHECK_STRUCT, f"{post.path}:{post.file_line(line_of(d))}: a declaration "
                     "in a block the hunk does not show (no tree): if it is a struct member, "
                     "its struct is not known")


# a member declaration on one line of a macro body: `type name;` or `type *name[N];`, maybe `\`
_MACRO_MEMBER = re.compile(rb"^\s*[A-Za-z_][\w\s\*]*?[\s\*](\w+)\s*(?:\[[^\]]*\])?\s*;\s*\\?\s*$")
_BUILDS_STRUCT = re.compile(rb"\b(?:struct|union)\b[^;{}]*\{")


def _skip_macro_members(ctx: Context, post) -> None:
    """A member added inside a #define that builds a struct or union: the macro's body is not
    parsed as C, and the struct it builds is named where the macro is used, so the member is
    not checked; say so rather than stay silent."""
    lines = post.src.split(b"\n")
    cand = [n for n in sorted(post.changed) if 2 <= n <= len(lines)
            and lines[n - 2].rstrip().endswith(b"\\") and _MACRO_MEMBER.match(lines[n - 1])]
    if not cand:
        return
    stack = [cparse.parse(post.src).root_node]
    while stack:
        node = stack.pop()
        if node.type in ("preproc_def", "preproc_function_def"):
            value = node.child_by_field_name("value")
            start, end = line_of(node), node.end_point[0] + 1
            if value is not None and _BUILDS_STRUCT.search(value.text):
                for n in cand:
                    if start < n <= end:
                        name = _MACRO_MEMBER.match(lines[n - 1]).group(1).decode()
                        ctx.skip(CHECK_STRUCT, f"{post.path}:{post.file_line(n)}: member "
                                 f"'{name}' is declared in the body of macro "
                                 f"{text(node.child_by_field_name('name'))}; the structs it "
                                 "builds are named where it is used and are not checked")
        elif node.type == "translation_unit" or node.type.startswith("preproc_if") or \
                node.type in ("preproc_else", "preproc_elif", "preproc_elifdef"):
            stack.extend(node.named_children)     # macros sit at file level, maybe under #if


def _sets_in_diff(ctx: Context, member: cindex.Member) -> list[Site]:
    """Diff-only mode: where the series' changed code sets the member, read from the parsed
    post-image of each hunk (assignment, designated initializer, init helper, value setter)."""
    sites = []
    for pd in ctx.diffs:
        for _pre, post in _images(ctx, pd):
            root = cparse.parse(post.src).root_node
            for node in cindex.walk(root):
                ln = line_of(node)
                if ln not in post.changed:
                    continue
                how = _setter(node, member.name)
                if how:
                    fn = cindex.enclosing_function(node)
                    sites.append(Site(post.path, post.file_line(ln), fn, "set", True, how))
    return sorted(set(sites), key=lambda s: (s.file, s.line, s.function, s.detail))


def _setter(node, name: str) -> str:
    t = node.type
    if t == "assignment_expression":
        left = node.child_by_field_name("left")
        if left.type == "field_expression" and text(left.child_by_field_name("field")) == name:
            return text(node).split("\n")[0]
    elif t == "initializer_pair":
        if any(text(d).lstrip(".") == name for d in node.children_by_field_name("designator")):
            return text(node).split("\n")[0]
    elif t == "call_expression":
        args = node.child_by_field_name("arguments")
        first = args.named_children[0] if args is not None and args.named_children else None
        fn = text(node.child_by_field_name("function"))
        if first is None:
            return ""
        target = first.child_by_field_name("argument") if first.type == "pointer_expression" \
            and text(first).startswith("&") else None
        if target is not None and is_init_helper(fn):
            first = target
        elif fn not in VALUE_SETTERS:
            return ""
        if first.type == "field_expression" and text(first.child_by_field_name("field")) == name:
            return text(node).split("\n")[0]
    return ""


class FieldInit:
    """A member added to a struct is set at every construction site before the object escapes."""
    id = "field-init"
    severity = "warning"
    summary = "a new struct member must be set wherever the struct is built"

    def grep_words(self, ctx: Context) -> set[str]:
        return {m.struct for m in _members(ctx)} | _first_hop_words(ctx)

    def check(self, ctx: Context) -> Iterable[Finding]:
        members = _members(ctx)
        if ctx.tree is not None and len(members) > MAX_MEMBERS:
            rest = members[MAX_MEMBERS:]
            ctx.skip(CHECK_TREE, f"{len(rest)} of the {len(members)} new members (from "
                     f"struct {rest[0].struct}.{rest[0].name}) are not checked: past the budget "
                     f"of {MAX_MEMBERS} members a patch")
            members = members[:MAX_MEMBERS]
        for m in members:
            if ctx.tree is None:
                yield from self._diff_only(ctx, m)
            else:
                yield from self._whole_tree(ctx, m)
        if ctx.tree is None:
            return
        # on the base the same sites and reads are looked at: a finding it has too (a site
        # that already missed the member) is pre-existing
        sites, reads = _changes(ctx)
        for site in sites:
            yield from changed_site_findings(self, ctx, site)
        for read in reads:
            yield from new_read_findings(self, ctx, read)

    def questions(self, f: Finding) -> list[str]:
        """What a reply asks the author about one finding."""
        return finding_questions(f)

    # what is said about a finding: the reply's questions, the checklist's item, the simulator
    FAULT_PATH_STRUCTS = {"vm_fault"}

    def checklist_items(self, f: Finding) -> list:
        """What a reviewer's checklist asks about one finding: a changed site or a new read by
        its own item; a new member by the member's item, which stands for the checklist's own."""
        if f.details.get("check") in ("changed-site", "new-read"):
            return finding_checklist(f)
        from reviewbot.engine import ChecklistItem
        struct, member = f.details.get("struct"), f.details.get("member")
        if not struct or not member:
            return []
        bad = sum(s.status == "not set before escape" for s in f.sites)
        return [ChecklistItem(
            f"New member `{member}` of `struct {struct}`: is it initialised at every site "
            "that builds the struct (on-stack, brace initialisers, kmalloc vs kzalloc, copies)?",
            (f"field-init lists {len(f.sites)} construction sites; {bad} not set before "
             "escape",), topic=("member", struct, member))]

    def simulation_request(self, f: Finding):
        from reviewbot.engine import SimulationRequest
        if f.details.get("struct") in self.FAULT_PATH_STRUCTS and f.severity != "info":
            return SimulationRequest(f.function, must_reach=True)
        return None

    def anchors(self, f: Finding) -> list[tuple[str, int]]:
        """The member the patch adds is the cause: a reply may quote it."""
        if f.details.get("member_file"):
            return [(f.details["member_file"], f.details.get("member_line", 0))]
        return []

    def _diff_only(self, ctx: Context, m: cindex.Member) -> Iterable[Finding]:
        ctx.skip(CHECK_TREE, f"no kernel tree: struct {m.struct}.{m.name} is not checked "
                             "at sites outside the diff")
        sites = _sets_in_diff(ctx, m)
        where = ", ".join(sorted({f"{s.function}()" for s in sites if s.function}))
        said = f"the series sets it in {where}" if where else \
            "the series' changed lines do not set it"
        yield Finding(
            rule=self.id, severity="info", patch=ctx.patch.msgid, file=m.file, line=m.line,
            function="", sites=sites,
            message=f"adds member '{m.name}' to struct {m.struct}; {said}; other sites that "
                    f"build a struct {m.struct} were not checked (no tree)",
            key=f"{m.struct}.{m.name}:diff-only",
            details={"struct": m.struct, "member": m.name})

    def _whole_tree(self, ctx: Context, m: cindex.Member) -> Iterable[Finding]:
        tree = ctx.tree
        defsrc = tree.read(m.file)
        order = cindex.struct_member_order(defsrc, m.struct) if defsrc else []
        if m.name not in order:
            if ctx.side == "base" or not _left_out(ctx, m):
                return   # this tree has no such member (the base, before the series)
            # the hunk adding it did not apply: the tree's sites still tell what the diff says
            order = order + [m.name]
        sites = scan_sites(tree, m.struct, m.name, order)
        files, total = _struct_files(tree, m.struct)
        if total > len(files):
            ctx.skip(CHECK_TREE, f"struct {m.struct}.{m.name}: {total} files may build a struct "
                     f"{m.struct}; only the first {len(files)} are checked ({len(sites)} sites "
                     f"there): past the budget of {MAX_SITE_FILES} files a struct")
        site_list = [Site(cs.file, cs.line, cs.function, status, (cs.file, cs.function)
                          in ctx.touched, f"{cs.kind} of {cs.var}: {detail}")
                     for cs, status, detail, _src in sites]
        counts = {s: sum(1 for x in site_list if x.status == s)
                  for s in ("set", "implicitly zero", "not set before escape")}
        for cs, status, detail, src in sites:
            if status != "not set before escape":
                continue
            touched = (cs.file, cs.function) in ctx.touched
            yield Finding(
                rule=self.id, severity=self.severity, patch=ctx.patch.msgid, file=cs.file,
                line=cs.line, function=cs.function, sites=site_list,
                message=(f"struct {m.struct} gains '{m.name}', but {cs.function or 'file scope'}"
                         f"() builds a struct {m.struct} ({cs.var}) that {detail}"
                         + ("; the series changes this function" if touched else
                            "; the series does not touch this function")),
                key=f"{m.struct}.{m.name}:{cs.file}:{cs.function}:{cs.kind}:{cs.var}",
                details={"struct": m.struct, "member": m.name, "member_file": m.file,
                         "member_line": m.line, "counts": counts, "var": cs.var,
                         "kind": cs.kind},
                fix=suggest_fix(src, cs, m, detail))


def scan_sites(tree, struct: str, member: str, order: list[str]
               ) -> list[tuple[cindex.ConstructionSite, str, str, bytes]]:
    """Every construction site of `struct` in the tree, with the member's status there."""
    sites = []
    for path, src in _struct_files(tree, struct)[0]:
        for (*fields, node_id), status, detail in memo.cached(_file_sites, src, path, struct,
                                                              member, order):
            sites.append((cindex.ConstructionSite(*fields, tuple(node_id)), status, detail, src))
    return sites


def _struct_files(tree, struct: str) -> tuple[list[tuple[str, bytes]], int]:
    """(path, source) of the files that may build `struct`, found and read once a tree for
    all its new members, at most MAX_SITE_FILES of them; and how many there are."""
    key = ("field-init:files", struct)
    if key not in tree.cache:
        paths = candidate_files(tree, struct)
        files = [(p, src) for p in paths[:MAX_SITE_FILES] for src in [tree.read(p)]
                 if src is not None]
        tree.cache[key] = (files, len(paths))
    return tree.cache[key]


def _left_out(ctx: Context, m: cindex.Member) -> bool:
    """Whether the member comes from a hunk of its file that the tree did not take."""
    return any(not h.in_tree for f in ctx.diff.files if f.path == m.file for h in f.hunks)


def _file_sites(src: bytes, path: str, struct: str, member: str, order: list[str]) -> list:
    """One file's construction sites of `struct` with the member's status at each (as JSON,
    for the on-disk memo: a repeat review does not parse the file again)."""
    out = []
    for cs in cindex.construction_sites(src, path, struct):
        status, detail = field_status(src, cs, member, order)
        out.append([[cs.file, cs.line, cs.function, cs.kind, cs.var, list(cs.node_id)],
                    status, detail])
    return out


def candidate_files(tree, struct: str) -> list[str]:
    """Files that can construct a `struct <struct>`: a non-pointer mention, or a pointer plus an
    allocation sized by it or a copy through it. Keeps parsing to the files that matter."""
    nonptr = re.compile(r"struct\s+" + re.escape(struct) + r"\s*(?:[A-Za-z_(){]|\)\s*\{)")
    ptr = re.compile(r"struct\s+" + re.escape(struct) + r"\s*\*\s*(?:const\s+)?(\w+)")
    by_file: dict[str, list[str]] = {}
    for path, _ln, line in tree.grep_word(struct, ("*.c", "*.h")):
        by_file.setdefault(path, []).append(line)
    out = []
    for path, lines in sorted(by_file.items()):
        if any(nonptr.search(ln.split("//")[0]) for ln in lines):
            out.append(path)
            continue
        names = sorted({n for ln in lines for n in ptr.findall(ln)})
        if not names:
            continue
        alt = "|".join(map(re.escape, names))
        # only a pointer to it here: an allocation sized by it, or a copy through it
        through = re.compile(r"sizeof\s*\(?\s*\*\s*(?:" + alt + r")\b|^\s*\*\s*(?:" + alt
                             + r")\s*=[^=]", re.M)
        src = tree.read(path)
        if src is not None and through.search(src.decode("utf-8", "replace")):
            out.append(path)
    return out


def suggest_fix(src: bytes, cs: cindex.ConstructionSite, m: cindex.Member, detail: str) -> str | None:
    """A one-line diff that sets the member to NULL/0 before the object escapes, inserted only
    at a statement boundary of the block that declares the object (after its last plain
    `var.x = ...;` there, else right before the statement holding the escape), and kept only
    when the re-parsed function has the same control flow apart from the new statement."""
    mline = re.search(r"at line (\d+)", detail)
    node = cindex.find_node(src, cs.node_id) if cs.kind == "declaration" and mline else None
    if node is None:
        return None
    at = int(mline.group(1))
    decl = node
    while decl.parent is not None and decl.parent.type != "compound_statement":
        decl = decl.parent
    block = decl.parent
    if block is None:
        return None
    stmts = [c for c in block.named_children if c.type != "comment"]
    idx = next(i for i, c in enumerate(stmts) if c.start_byte == decl.start_byte)
    esc_i = next((i for i in range(idx + 1, len(stmts))
                  if line_of(stmts[i]) <= at <= stmts[i].end_point[0] + 1), None)
    if esc_i is None:
        return None
    after = None
    for st in stmts[idx + 1:esc_i]:
        if st.type == "expression_statement" and st.named_children and \
                st.named_children[0].type == "assignment_expression" and \
                re.fullmatch(re.escape(cs.var) + r"\.\w+", text(
                    st.named_children[0].child_by_field_name("left"))):
            after = st
    if after is None and stmts[esc_i].type == "labeled_statement":
        after = stmts[esc_i - 1]       # a jump to the label must meet the fix too
        if after.type != "declaration":
            return None
    lines = src.decode("utf-8", "replace").splitlines(keepends=True)
    if after is not None:
        insert, like = after.end_point[0] + 1, after
    else:
        insert, like = stmts[esc_i].start_point[0], stmts[esc_i]
    lead = lines[like.start_point[0]][:like.start_point[1]]
    if lead.strip() or (after is not None and lines[after.end_point[0]][after.end_point[1]:].strip()
                        not in ("", "\n")):
        return None                    # not alone on its line: no clean boundary to insert at
    value = "NULL" if m.is_pointer else "0"
    added = f"{lead}{cs.var}.{m.name} = {value};\n"
    new = lines[:insert] + [added] + lines[insert:]
    if not _same_flow(src, "".join(new).encode(), cs.function, insert + 1):
        return None
    return "".join(difflib.unified_diff(lines, new, f"a/{cs.file}", f"b/{cs.file}", n=3))


def _same_flow(old: bytes, new: bytes, function: str, added_line: int) -> bool:
    """The function re-parsed after the insertion has the same syntax tree as before, apart
    from one new expression statement directly inside a block."""
    def shape(src: bytes, skip: int):
        fn = next((f for f in cparse.functions(src) if f.name == function), None)
        if fn is None:
            return None, None
        out, new_stmt, stack = [], None, [(fn.node, 0)]
        while stack:
            n, depth = stack.pop()
            if n.type == "expression_statement" and line_of(n) == skip:
                new_stmt = n
                continue
            out.append((n.type, depth))
            stack.extend((c, depth + 1) for c in reversed(n.children))
        return out, new_stmt
    before, _ = shape(old, -1)
    after, stmt = shape(new, added_line)
    return (before is not None and before == after and stmt is not None
            and stmt.parent.type == "compound_statement" and not stmt.has_error)
