"""field-init: a member added to a struct must be set at every site that builds that struct,
on every path, before the object escapes. Documentation: field_init.md beside this file."""
from __future__ import annotations

import difflib
import re
from typing import Iterable

from reviewbot import cindex
from reviewbot.diff import is_c
from reviewbot.engine import Context
from reviewbot.findings import Finding, Site

CHECK_TREE = "field-init: construction sites in the whole tree"


def added_members(ctx: Context) -> list[cindex.Member]:
    """Members the patch declares on added lines, read from the tree right after the patch
    (or, with no tree, from the hunk text and its `struct x {` header)."""
    out: list[cindex.Member] = []
    for f in ctx.diff.files:
        if not is_c(f.path):
            continue
        lines = {ln for h in f.hunks for ln, _t in h.added}
        if not lines:
            continue
        src = ctx.after_patch.read(f.path) if ctx.after_patch is not None else None
        if src is not None:
            out.extend(cindex.members_at_lines(src, lines, f.path))
        else:
            for h in f.hunks:
                if h.added:
                    out.extend(cindex.members_from_hunk(h.section, [t for _l, t in h.added],
                                                        f.path, h.added[0][0]))
    return sorted(set(out), key=lambda m: (m.file, m.line, m.name))


def _assigned_in_diff(ctx: Context, member: cindex.Member) -> list[Site]:
    """Diff-only mode: the places the series' added lines set the member."""
    rx = re.compile(r"(?:\.|->)\s*" + re.escape(member.name) + r"\s*=[^=]")
    sites = []
    for pd in ctx.diffs:
        for h in pd.hunks():
            for ln, t in h.added:
                if rx.search(t):
                    fn = h.functions[0] if h.functions else ""
                    sites.append(Site(h.path, ln, fn, "set", True, t.strip()))
    return sites


class FieldInit:
    """A member added to a struct is set at every construction site before the object escapes."""
    id = "field-init"
    severity = "warning"
    summary = "a new struct member must be set wherever the struct is built"

    def grep_words(self, ctx: Context) -> set[str]:
        return {m.struct for m in added_members(ctx)}

    def check(self, ctx: Context) -> Iterable[Finding]:
        for m in added_members(ctx):
            if ctx.tree is None:
                yield from self._diff_only(ctx, m)
            else:
                yield from self._whole_tree(ctx, m)

    def _diff_only(self, ctx: Context, m: cindex.Member) -> Iterable[Finding]:
        ctx.skip(CHECK_TREE, f"no kernel tree: struct {m.struct}.{m.name} is not checked "
                             "at sites outside the diff")
        sites = _assigned_in_diff(ctx, m)
        where = ", ".join(sorted({f"{s.function}()" for s in sites if s.function})) or "nowhere"
        yield Finding(
            rule=self.id, severity="info", patch=ctx.patch.msgid, file=m.file, line=m.line,
            function="", sites=sites,
            message=f"adds member '{m.name}' to struct {m.struct}; the series sets it in "
                    f"{where}; other sites that build a struct {m.struct} were not checked "
                    f"(no tree)",
            key=f"{m.struct}.{m.name}:diff-only",
            details={"struct": m.struct, "member": m.name})

    def _whole_tree(self, ctx: Context, m: cindex.Member) -> Iterable[Finding]:
        tree = ctx.tree
        defsrc = tree.read(m.file)
        order = cindex.struct_member_order(defsrc, m.struct) if defsrc else []
        if m.name not in order:
            return   # this tree has no such member (the base, before the series)
        sites = scan_sites(tree, m.struct, m.name, order)
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
    for path in candidate_files(tree, struct):
        src = tree.read(path)
        if src is None:
            continue
        for cs in cindex.construction_sites(src, path, struct):
            status, detail = cindex.field_status(src, cs, member, order)
            sites.append((cs, status, detail, src))
    return sites


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
    """A one-line diff that sets the member to NULL/0 right before the object escapes."""
    mline = re.search(r"at line (\d+)", detail)
    if cs.kind != "declaration" or not mline:
        return None
    at = int(mline.group(1))
    lines = src.decode("utf-8", "replace").splitlines(keepends=True)
    # after the last plain `var.x = ...;` before the escape, keeping the function's style
    insert = at - 1
    for i in range(at - 2, cs.line - 1, -1):
        if re.match(r"\s*" + re.escape(cs.var) + r"\.\w+\s*=", lines[i]):
            insert = i + 1
            break
    indent = re.match(r"[ \t]*", lines[insert if insert < len(lines) else -1]).group(0) or "\t"
    value = "NULL" if m.is_pointer else "0"
    new = lines[:insert] + [f"{indent}{cs.var}.{m.name} = {value};\n"] + lines[insert:]
    return "".join(difflib.unified_diff(lines, new, f"a/{cs.file}", f"b/{cs.file}", n=3))
