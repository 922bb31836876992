"""field-init's bounded call-graph walk over the tree: which members of a struct the functions
reached from a call read before setting them, and which construction sites reach a function."""
from __future__ import annotations

import re

from reviewbot import cindex, cparse, memo
from reviewbot.cparse import line_of, text

MAX_DEPTH = 5          # calls followed from the escape (or up from a reader)
MAX_FUNCTIONS = 120    # functions looked at per walk: keeps a review fast on the full tree


def file_summary(src: bytes, path: str, struct: str, only: list[str] | None = None) -> dict:
    """Every function of one file: its first line, whether it is static, the indexes of its
    `struct <struct> *` parameters, and in source order what it does with each object of
    that type (parameter or local): ["r"|"w", var, member, line] for a member read or set,
    ["c", var, callee, line, argument index] for the object passed to a direct call.
    With `only`, the events of the other functions are left out."""
    out = {}
    word = struct.encode()
    for f in cparse.functions(src):
        node = f.node
        static = any(c.type == "storage_class_specifier" and text(c) == "static"
                     for c in node.children)
        entry = out[f.name] = {"line": f.start, "static": static, "params": {}, "events": []}
        if (only is not None and f.name not in only) or word not in node.text:
            continue
        fdecl = node.child_by_field_name("declarator")
        while fdecl is not None and fdecl.type != "function_declarator":
            fdecl = fdecl.child_by_field_name("declarator")
        plist = fdecl.child_by_field_name("parameters") if fdecl is not None else None
        for i, p in enumerate(c for c in (plist.named_children if plist else [])
                              if c.type == "parameter_declaration"):
            pd = p.child_by_field_name("declarator")
            if _is_struct(p, struct) and pd is not None and pd.type == "pointer_declarator":
                entry["params"][cparse.declarator_name(pd) or ""] = i
        body = node.child_by_field_name("body")
        if body is None:
            continue
        objs, nodes = set(), []
        for d in cindex.walk(body):
            if d.type == "declaration" and _is_struct(d, struct):
                objs.update(cparse.declarator_name(dd) or ""
                            for dd in d.children_by_field_name("declarator"))
            elif d.type in ("field_expression", "argument_list"):
                nodes.append(d)
        names = (set(entry["params"]) | objs) - {""}
        if names:
            entry["events"] = _events(nodes, names)
    return out


def _is_struct(decl, struct: str) -> bool:
    t = decl.child_by_field_name("type")
    nn = t.child_by_field_name("name") if t is not None and t.type == "struct_specifier" else None
    return nn is not None and text(nn) == struct


def _events(nodes, names: set[str]) -> list:
    out = []
    for n in nodes:
        if n.type == "field_expression":
            arg = n.child_by_field_name("argument")
            fld = n.child_by_field_name("field")
            if arg is None or fld is None or arg.type != "identifier" or text(arg) not in names:
                continue
            out.append([_access(n), text(arg), text(fld), line_of(n), n.start_byte])
        elif n.type == "argument_list" and n.parent is not None:
            fn = n.parent.child_by_field_name("function")
            if fn is None or fn.type != "identifier":
                continue
            for i, a in enumerate(n.named_children):
                inner = a.child_by_field_name("argument") if a.type == "pointer_expression" \
                    and text(a).startswith("&") else a
                if inner is not None and inner.type == "identifier" and text(inner) in names:
                    out.append(["c", text(inner), text(fn), line_of(a), a.start_byte, i])
    out.sort(key=lambda e: e[4])
    return [e[:4] + e[5:] for e in out]


def _access(n) -> str:
    """'w' when the member is assigned (or its address handed to a callee to fill), else 'r'."""
    top = n
    while top.parent is not None and top.parent.type in ("field_expression",
                                                         "subscript_expression") \
            and top.parent.child_by_field_name("argument") == top:
        top = top.parent
    p = top.parent
    if p is not None and p.type == "assignment_expression" and \
            p.child_by_field_name("left") == top and text(p.child_by_field_name("operator")) == "=":
        return "w"
    if p is not None and p.type == "pointer_expression" and text(p).startswith("&"):
        return "w"
    return "r"


class Graph:
    """The direct calls of one tree that pass a `struct <struct>` object on, found lazily:
    a callee is looked up in the caller's file first, then in the tree's word index (one
    batched `git grep` a level of the walk for names not yet indexed)."""

    def __init__(self, tree, struct: str):
        self.tree, self.struct = tree, struct
        self._files: dict[str, dict] = {}
        self._defs: dict[str, list[str]] = {}
        self._calls: dict[str, list[str]] = {}
        self._exposed: dict[tuple, dict] = {}
        self.cut = False              # a walk stopped at MAX_DEPTH or MAX_FUNCTIONS

    def summary(self, path: str) -> dict:
        if path not in self._files:
            src = self.tree.read(path)
            self._files[path] = memo.cached(file_summary, src, path, self.struct) \
                if src is not None else {}
        return self._files[path]

    def _prefetch(self, names: set[str]) -> None:
        names = {n for n in names if n not in self._defs}
        if names:
            self.tree.prefetch(names)

    def definitions(self, name: str, near: str) -> list[str]:
        """Files defining `name`: the caller's own file when it has it, else the tree's
        non-static definitions."""
        if name in self.summary(near):
            return [near]
        if name not in self._defs:
            start = re.compile(r"^[A-Za-z_].*\b" + re.escape(name) + r"\s*\([^;]*$")
            files = sorted({p for p, _ln, t in self.tree.grep_word(name, ("*.c", "*.h"))
                            if start.match(t)})
            self._defs[name] = [p for p in files
                                if name in self.summary(p) and not self.summary(p)[name]["static"]]
        return self._defs[name]

    def callers(self, name: str, path: str) -> list[str]:
        """Files that may call `name` (defined in `path`): that file alone for a static
        function of a .c file, else every file whose lines call it."""
        fn = self.summary(path).get(name)
        if fn is not None and fn["static"] and path.endswith(".c"):
            return [path]
        if name not in self._calls:
            call = re.compile(r"\b" + re.escape(name) + r"\s*\(")
            self._calls[name] = sorted({p for p, _ln, t in self.tree.grep_word(name, ("*.c", "*.h"))
                                        if call.search(t)})
        return self._calls[name]

    # -- forward: what the functions reached from a call read ----------------------------------
    def reads_from(self, path: str, callee: str, idx: int) -> dict[str, list]:
        """member -> the call path to its first read before any set, as [(file, line, function,
        what)], for the object passed as argument `idx` of `callee` called in `path`."""
        self.walk_forward([(path, callee, idx)])
        out: dict[str, list] = {}
        for dpath in self.definitions(callee, path):
            for m, chain in self._exposed_of(dpath, callee, idx, ()).items():
                out.setdefault(m, chain)
        return out

    def walk_forward(self, start: list[tuple[str, str, int]]) -> None:
        """Resolve the definitions the walks from these calls (caller file, callee, argument)
        will need, one level at a time, so the names of one level cost one batched grep."""
        frontier, seen = start, set()
        for _depth in range(MAX_DEPTH):
            far = {c for p, c, _i in frontier if c not in self.summary(p)}
            self._prefetch(far)
            nxt = []
            for p, c, i in frontier:
                for dp in self.definitions(c, p):
                    key = (dp, c, i)
                    if key in seen:
                        continue
                    seen.add(key)
                    if len(seen) > MAX_FUNCTIONS:
                        self.cut = True
                        return
                    fn = self.summary(dp)[c]
                    var = next((v for v, j in fn["params"].items() if j == i), None)
                    nxt += [(dp, e[2], e[4]) for e in fn["events"] if e[0] == "c" and e[1] == var]
            frontier = nxt
            if not frontier:
                return
        self.cut = self.cut or bool(frontier)

    def _exposed_of(self, path: str, name: str, idx: int, stack: tuple) -> dict[str, list]:
        key = (path, name, idx)
        if key in self._exposed:
            return self._exposed[key]
        if key in stack or len(stack) >= MAX_DEPTH:
            return {}
        fn = self.summary(path).get(name)
        var = next((v for v, j in (fn or {"params": {}})["params"].items() if j == idx), None)
        out: dict[str, list] = {}
        if var is None:
            return out
        written: set[str] = set()
        for e in fn["events"]:
            if e[1] != var:
                continue
            if e[0] == "w":
                written.add(e[2])
            elif e[0] == "r" and e[2] not in written:
                out.setdefault(e[2], [(path, e[3], name, f"reads {var}->{e[2]}")])
            elif e[0] == "c":
                for dp in self._resolved(e[2], path):
                    for m, chain in self._exposed_of(dp, e[2], e[4], stack + (key,)).items():
                        if m not in written and m not in out:
                            out[m] = [(path, e[3], name, f"passes {var} to {e[2]}()")] + chain
        self._exposed[key] = out
        return out

    def _resolved(self, name: str, path: str) -> list[str]:
        """definitions() without a new grep: what the walk already resolved."""
        if name in self.summary(path):
            return [path]
        return self._defs.get(name, [])

    # -- backward: which objects built where reach a function ---------------------------------
    def reaching(self, path: str, name: str, idx: int, member: str) -> list[dict]:
        """The local objects whose address reaches argument `idx` of `name` (defined in
        `path`) through direct calls that pass it on, with no function on the way setting
        `member` before the call: [{"file", "function", "var", "line" (the call), "callee",
        "arg", "path": [(file, line, function, what)] from the object to the reader}]."""
        out, seen = [], {(path, name, idx)}
        frontier = [(path, name, idx, [])]
        for _depth in range(MAX_DEPTH):
            self._prefetch({n for p, n, _i, _c in frontier
                            if not (self.summary(p).get(n) or {}).get("static")})
            nxt = []
            for p, n, i, chain in frontier:
                for cp in self.callers(n, p):
                    for g, fn in sorted(self.summary(cp).items()):
                        written: set[str] = set()
                        for e in fn["events"]:
                            if e[0] == "w" and e[2] == member:
                                written.add(e[1])
                            if e[0] != "c" or e[2] != n or e[4] != i or e[1] in written:
                                continue
                            hop = [(cp, e[3], g, f"passes {'&' if e[1] not in fn['params'] else ''}"
                                                 f"{e[1]} to {n}()")] + chain
                            if e[1] in fn["params"]:
                                key = (cp, g, fn["params"][e[1]])
                                if key not in seen:
                                    seen.add(key)
                                    nxt.append((cp, g, fn["params"][e[1]], hop))
                            else:
                                out.append({"file": cp, "function": g, "var": e[1],
                                            "line": e[3], "callee": n, "arg": i, "path": hop})
                if len(seen) > MAX_FUNCTIONS:
                    self.cut = True
                    return out
            frontier = nxt
            if not frontier:
                return out
        self.cut = self.cut or bool(frontier)
        return out
