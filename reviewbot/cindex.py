"""The C index rules query: struct members a diff adds, every site that constructs a struct,
whether a field is set on every path before the object escapes, and every use of a flag.

Candidates come from `git grep`; only files that can matter are parsed (tree-sitter-c)."""
from __future__ import annotations

from dataclasses import dataclass

from reviewbot import cparse
from reviewbot.cparse import line_of, text

ZEROING_ALLOCS = {"kzalloc", "kvzalloc", "kcalloc", "kvcalloc", "kmem_cache_zalloc",
                  "kzalloc_node", "kvzalloc_node", "devm_kzalloc", "vzalloc", "kcalloc_node"}
PLAIN_ALLOCS = {"kmalloc", "kvmalloc", "kmalloc_node", "kvmalloc_node", "kmem_cache_alloc",
                "vmalloc", "kmalloc_array", "devm_kmalloc", "krealloc"}


@dataclass(frozen=True)
class Member:
    struct: str
    name: str
    file: str
    line: int
    is_pointer: bool


@dataclass(frozen=True)
class ConstructionSite:
    file: str
    line: int
    function: str
    kind: str           # "declaration", "initializer", "allocation", "zeroed allocation", "copy",
                        # "static"
    var: str
    node_id: tuple      # (start_byte, end_byte) of the construct, for later analysis


# --- struct members --------------------------------------------------------------------------

def members_at_lines(src: bytes, lines: set[int], path: str) -> list[Member]:
    """Struct members declared on the given lines of a file (1-based)."""
    out = []
    stack = [cparse.parse(src).root_node]
    while stack:
        node = stack.pop()
        if node.type == "struct_specifier" and node.child_by_field_name("body") is not None:
            name_node = node.child_by_field_name("name")
            sname = text(name_node) if name_node is not None else ""
            for fd in node.child_by_field_name("body").named_children:
                if fd.type != "field_declaration":
                    if fd.type != "comment":
                        stack.append(fd)
                    continue
                if line_of(fd) not in lines and (fd.end_point[0] + 1) not in lines:
                    stack.extend(fd.named_children)   # nested struct/union bodies
                    continue
                for decl in fd.children_by_field_name("declarator"):
                    mname = cparse.declarator_name(decl)
                    if mname and sname:
                        out.append(Member(sname, mname, path, line_of(decl),
                                          "pointer_declarator" in _types_down(decl)))
                stack.extend(c for c in fd.named_children if c.type in
                             ("struct_specifier", "union_specifier"))
            continue
        stack.extend(node.named_children)
    return sorted(out, key=lambda m: (m.file, m.line, m.name))


def _types_down(node) -> set[str]:
    seen, stack = set(), [node]
    while stack:
        n = stack.pop()
        seen.add(n.type)
        stack.extend(n.named_children)
    return seen


def members_from_hunk(section: str, added: list[str], path: str, line: int) -> list[Member]:
    """Diff-only mode: members added inside the struct the hunk header names."""
    sname = cparse.struct_from_section(section)
    if not sname:
        return []
    body = ("struct __rb_probe {\n" + "\n".join(added) + "\n};\n").encode()
    found = members_at_lines(body, set(range(2, 2 + len(added))), path)
    return [Member(sname, m.name, path, line, m.is_pointer) for m in found]


def struct_member_order(src: bytes, struct: str) -> list[str]:
    stack = [cparse.parse(src).root_node]
    while stack:
        node = stack.pop()
        if node.type == "struct_specifier" and node.child_by_field_name("body") is not None:
            nn = node.child_by_field_name("name")
            if nn is not None and text(nn) == struct:
                return _member_names(node.child_by_field_name("body"))
        stack.extend(node.named_children)
    return []


def _member_names(body) -> list[str]:
    """Member names in order, anonymous struct/union members flattened in place."""
    names = []
    for fd in body.named_children:
        if fd.type != "field_declaration":
            continue
        decls = fd.children_by_field_name("declarator")
        if not decls:
            t = fd.child_by_field_name("type")
            if t is not None and t.child_by_field_name("body") is not None:
                names.extend(_member_names(t.child_by_field_name("body")))
        for d in decls:
            names.append(cparse.declarator_name(d) or "")
    return names


# --- construction sites ----------------------------------------------------------------------

def _struct_name_of_type(tnode) -> str | None:
    if tnode is not None and tnode.type == "struct_specifier":
        nn = tnode.child_by_field_name("name")
        if nn is not None and tnode.child_by_field_name("body") is None:
            return text(nn)
    return None


def _enclosing_function(node) -> str:
    n = node.parent
    while n is not None:
        if n.type == "function_definition":
            return cparse.declarator_name(n.child_by_field_name("declarator")) or ""
        n = n.parent
    return ""


def _is_file_scope(node) -> bool:
    n = node.parent
    while n is not None:
        if n.type in ("function_definition", "compound_statement"):
            return False
        n = n.parent
    return True


def _has_storage(decl, word: str) -> bool:
    return any(c.type == "storage_class_specifier" and text(c) == word for c in decl.children)


def construction_sites(src: bytes, path: str, struct: str) -> list[ConstructionSite]:
    """Every place in one file that makes a `struct <struct>` object."""
    root = cparse.parse(src).root_node
    out: list[ConstructionSite] = []
    ptr_vars: dict[str, set[str]] = {}   # function -> names of `struct S *` locals/params
    stack = [root]
    while stack:
        node = stack.pop()
        t = node.type
        if t in ("declaration", "parameter_declaration"):
            if _struct_name_of_type(node.child_by_field_name("type")) == struct:
                fn = _enclosing_function(node)
                for d in node.children_by_field_name("declarator"):
                    inner = d.child_by_field_name("declarator") if d.type == "init_declarator" else d
                    name = cparse.declarator_name(inner) or ""
                    if inner is not None and inner.type in ("pointer_declarator",
                                                             "function_declarator"):
                        ptr_vars.setdefault(fn, set()).add(name)
                        continue
                    if t == "parameter_declaration":
                        continue
                    if _has_storage(node, "extern"):
                        continue
                    rng = (d.start_byte, d.end_byte)
                    if d.type == "init_declarator":
                        val = d.child_by_field_name("value")
                        kind = "initializer" if val is not None and val.type == "initializer_list" \
                            else "copy"
                        out.append(ConstructionSite(path, line_of(d), fn, kind, name, rng))
                    elif _is_file_scope(node) or _has_storage(node, "static"):
                        out.append(ConstructionSite(path, line_of(d), fn, "static", name, rng))
                    else:
                        out.append(ConstructionSite(path, line_of(d), fn, "declaration", name, rng))
        elif t == "compound_literal_expression":
            td = node.child_by_field_name("type")
            if td is not None and _struct_name_of_type(td.child_by_field_name("type")) == struct:
                out.append(ConstructionSite(path, line_of(node), _enclosing_function(node),
                                            "initializer", "(compound literal)",
                                            (node.start_byte, node.end_byte)))
        elif t == "call_expression":
            fname = text(node.child_by_field_name("function"))
            if fname in ZEROING_ALLOCS or fname in PLAIN_ALLOCS:
                if _sizeof_struct(node.child_by_field_name("arguments"), struct, ptr_vars,
                                  _enclosing_function(node)):
                    kind = "zeroed allocation" if fname in ZEROING_ALLOCS else "allocation"
                    out.append(ConstructionSite(path, line_of(node), _enclosing_function(node),
                                                kind, _assigned_to(node),
                                                (node.start_byte, node.end_byte)))
        stack.extend(reversed(node.named_children))
    # struct copies by assignment: `a = b;` with `a` a `struct S` object of the function
    objs: dict[str, set[str]] = {}
    for s in out:
        if s.kind in ("declaration", "initializer", "copy", "static"):
            objs.setdefault(s.function, set()).add(s.var)
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "assignment_expression" and text(node.child_by_field_name("operator")) == "=":
            left = node.child_by_field_name("left")
            fn = _enclosing_function(node)
            is_obj = left.type == "identifier" and text(left) in objs.get(fn, set())
            is_deref = (left.type == "pointer_expression" and text(left).startswith("*")
                        and text(left.child_by_field_name("argument")) in ptr_vars.get(fn, set()))
            if is_obj or is_deref:
                out.append(ConstructionSite(path, line_of(node), fn, "copy", text(left),
                                            (node.start_byte, node.end_byte)))
        stack.extend(node.named_children)
    return sorted(set(out), key=lambda s: (s.file, s.line, s.var, s.kind))


def _sizeof_struct(args, struct: str, ptr_vars, fn: str) -> bool:
    if args is None:
        return False
    stack = list(args.named_children)
    while stack:
        n = stack.pop()
        if n.type == "sizeof_expression":
            tdesc = n.child_by_field_name("type")
            if tdesc is not None and _struct_name_of_type(tdesc.child_by_field_name("type")) == struct \
                    and tdesc.child_by_field_name("declarator") is None:
                return True
            val = n.child_by_field_name("value")
            if val is not None:
                inner = val.named_children[0] if val.type == "parenthesized_expression" and \
                    val.named_children else val
                if inner.type == "pointer_expression" and text(inner).startswith("*") and \
                        text(inner.child_by_field_name("argument")) in ptr_vars.get(fn, set()):
                    return True
        stack.extend(n.named_children)
    return False


def _assigned_to(call) -> str:
    p = call.parent
    while p is not None and p.type in ("cast_expression", "parenthesized_expression"):
        p = p.parent
    if p is not None and p.type == "assignment_expression":
        return text(p.child_by_field_name("left"))
    if p is not None and p.type == "init_declarator":
        return cparse.declarator_name(p.child_by_field_name("declarator")) or ""
    return ""


def _find_node(src: bytes, rng: tuple):
    stack = [cparse.parse(src).root_node]
    while stack:
        n = stack.pop()
        if (n.start_byte, n.end_byte) == rng:
            return n
        stack.extend(c for c in n.named_children if c.start_byte <= rng[0] and c.end_byte >= rng[1])
    return None


# --- is a field set before the object escapes? -----------------------------------------------

def field_status(src: bytes, site: ConstructionSite, member: str,
                 order: list[str] | None = None) -> tuple[str, str]:
    """('set' | 'implicitly zero' | 'not set before escape', detail) for one site."""
    if site.kind == "static":
        return "implicitly zero", "static storage"
    if site.kind == "zeroed allocation":
        return "implicitly zero", "zeroing allocation"
    if site.kind == "copy":
        return "set", "copied from another object"
    node = _find_node(src, site.node_id)
    if node is None:
        return "not set before escape", "site not found when re-parsed"
    if site.kind == "initializer":
        init = None
        stack = [node]
        while stack:
            n = stack.pop()
            if n.type == "initializer_list":
                init = n
                break
            stack.extend(n.named_children)
        if init is None:
            return "implicitly zero", "empty initializer"
        positional = 0
        for el in init.named_children:
            if el.type == "initializer_pair":
                names = [text(d).lstrip(".") for d in el.children_by_field_name("designator")]
                if names and names[0] == member:
                    return "set", f"designated initializer .{member}"
            elif el.type != "comment":
                positional += 1
        if order and member in order and order.index(member) < positional:
            return "set", "positional initializer"
        return "implicitly zero", "brace initializer without it"
    body = node.parent
    while body is not None and body.type != "compound_statement":
        body = body.parent
    if body is None:
        return "not set before escape", "no enclosing block"
    var = site.var
    if site.kind == "allocation":
        if not var or not var.replace("_", "").isalnum():
            return "not set before escape", "allocated object not kept in a local"
    flow = _Flow(var, member, deref=(site.kind == "allocation"))
    stmt = node
    while stmt.parent is not None and stmt.parent != body:
        stmt = stmt.parent
    flow.run_block(body, stmt.end_byte)
    if flow.escape is None:
        return ("set", "assigned on every path before the object escapes") if flow.ever_set \
            else ("set", "the object never escapes")
    line, how = flow.escape
    return "not set before escape", f"{how} at line {line} before .{member} is set"


class _Flow:
    """A small path walk over one block: is `var.member` assigned on every path before `var`
    escapes (address taken, copied, passed, returned)? goto targets merge the states."""

    def __init__(self, var: str, member: str, deref: bool):
        self.var, self.member, self.deref = var, member, deref
        self.escape: tuple[int, str] | None = None   # the first escape on a path without it
        self.labels: dict[str, list[bool]] = {}
        self.ever_set = False

    def run_block(self, block, start_after: int):
        state: bool | None = False
        for st in block.named_children:
            if st.end_byte <= start_after:
                continue
            state = self.stmt(st, state)
            if self.escape is not None:
                return state
        return state

    def stmt(self, st, state):
        """State after `st` (True: member assigned), None if control does not fall through."""
        if self.escape is not None:
            return state
        t = st.type
        if t == "labeled_statement":
            label = text(st.child_by_field_name("label"))
            incoming = self.labels.get(label, [])
            if state is None:
                state = all(incoming) if incoming else False
            else:
                state = state and all(incoming)
            inner = [c for c in st.named_children if c.type != "statement_identifier"]
            for c in inner:
                state = self.stmt(c, state)
            return state
        if state is None:
            return None   # unreachable code until the next label
        if t == "compound_statement":
            for c in st.named_children:
                state = self.stmt(c, state)
                if self.escape is not None:
                    break
            return state
        if t == "if_statement":
            state = self.expr(st.child_by_field_name("condition"), state)
            a = self.stmt(st.child_by_field_name("consequence"), state)
            alt = st.child_by_field_name("alternative")
            b = self.stmt(alt, state) if alt is not None else state
            if a is None:
                return b
            if b is None:
                return a
            return a and b
        if t == "else_clause":
            for c in st.named_children:
                state = self.stmt(c, state)
            return state
        if t in ("for_statement", "while_statement", "do_statement"):
            for c in st.named_children:
                if c.type in ("compound_statement", "expression_statement", "if_statement") \
                        and c == st.child_by_field_name("body"):
                    self.stmt(c, state)   # the body may run zero times
                else:
                    state = self.expr(c, state)
            return state
        if t == "switch_statement":
            state = self.expr(st.child_by_field_name("condition"), state)
            self.stmt(st.child_by_field_name("body"), state)
            return state
        if t == "case_statement":
            for c in st.named_children:
                if c.type.endswith("statement") or c.type == "declaration":
                    state = self.stmt(c, state)
            return state
        if t == "return_statement":
            for c in st.named_children:
                state = self.expr(c, state, returning=True)
            return None
        if t == "goto_statement":
            self.labels.setdefault(text(st.child_by_field_name("label")), []).append(bool(state))
            return None
        if t in ("break_statement", "continue_statement"):
            return None
        return self.expr(st, state)

    def expr(self, node, state, returning: bool = False):
        """Walk an expression in source order, updating state and recording the first escape."""
        if node is None or self.escape is not None:
            return state
        t = node.type
        if t == "assignment_expression":
            left = node.child_by_field_name("left")
            state = self.expr(node.child_by_field_name("right"), state)
            if self._is_member(left):
                self.ever_set = True
                return True
            if self._is_other_member(left):
                return state
            if left.type == "identifier" and text(left) == self.var and self.deref:
                return state
            return self.expr(left, state)
        if t == "call_expression":
            fn = text(node.child_by_field_name("function"))
            args = node.child_by_field_name("arguments")
            if fn in ("memset", "memzero_explicit", "memcpy", "memmove") and args is not None and args.named_children \
                    and self._is_whole(args.named_children[0]):
                self.ever_set = True
                return True
            for a in (args.named_children if args is not None else []):
                state = self.expr(a, state)
            return self.expr(node.child_by_field_name("function"), state)
        if t == "sizeof_expression":
            return state
        if self._is_member(node):
            if not state:
                self._escape(node, "its new field read", state)
            return state
        if self._is_other_member(node):
            return state
        if self._is_whole(node):
            how = "returned" if returning else (
                "its address passed or stored" if node.type == "pointer_expression" or self.deref
                else "copied or passed")
            self._escape(node, how, state)
            return state
        for c in node.named_children:
            state = self.expr(c, state, returning)
            if self.escape is not None:
                break
        return state

    def _escape(self, node, how: str, state):
        if self.escape is None and not state:
            self.escape = (line_of(node), how)

    def _field_base(self, node):
        if node.type != "field_expression":
            return None, None
        arg = node.child_by_field_name("argument")
        op = node.child_by_field_name("operator")
        fld = node.child_by_field_name("field")
        if arg is None or fld is None:
            return None, None
        opt = text(op) if op is not None else ""
        if self.deref and opt == "->" and arg.type == "identifier" and text(arg) == self.var:
            return text(fld), True
        if not self.deref and opt == "." and arg.type == "identifier" and text(arg) == self.var:
            return text(fld), True
        return None, None

    def _is_member(self, node) -> bool:
        f, ok = self._field_base(node)
        return bool(ok) and f == self.member

    def _is_other_member(self, node) -> bool:
        f, ok = self._field_base(node)
        return bool(ok) and f != self.member

    def _is_whole(self, node) -> bool:
        if node.type == "identifier":
            return text(node) == self.var
        if node.type == "pointer_expression" and text(node).startswith("&"):
            arg = node.child_by_field_name("argument")
            return arg is not None and arg.type == "identifier" and text(arg) == self.var
        return False


# --- flags (VM_FAULT_* and friends) ----------------------------------------------------------

def flag_roles(src: bytes, path: str, flag: str) -> list[tuple[int, str, str]]:
    """(line, function, role) for every use of identifier `flag` in one C file.

    role: 'definition', 'name table', 'consumer' (tested or masked off), 'producer'
    (returned, assigned, or passed on as a result)."""
    out = []
    root = cparse.parse(src).root_node
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type in ("preproc_def", "preproc_function_def"):
            name = node.child_by_field_name("name")
            val = node.child_by_field_name("value")
            if name is not None and text(name) == flag:
                out.append((line_of(node), "", "definition"))
            elif val is not None and _word_in(text(val), flag):
                role = "name table" if '"' in text(val) else "definition"
                for i, ln in enumerate(text(val).splitlines()):
                    if _word_in(ln, flag):
                        out.append((line_of(val) + i, "", role))
            continue
        if node.type == "enumerator" and text(node.child_by_field_name("name")) == flag:
            out.append((line_of(node), "", "definition"))
            continue
        if node.type == "identifier" and text(node) == flag:
            out.append((line_of(node), _enclosing_function(node), _role(node)))
            continue
        stack.extend(node.named_children)
    return sorted(set(out))


def _word_in(s: str, word: str) -> bool:
    import re
    return re.search(r"(?<![A-Za-z0-9_])" + word + r"(?![A-Za-z0-9_])", s) is not None


def _role(node) -> str:
    n = node
    while n.parent is not None:
        p = n.parent
        if p.type == "binary_expression":
            op = text(p.child_by_field_name("operator"))
            if op in ("&", "==", "!=", "&&", "||"):
                return "consumer"
        if p.type == "assignment_expression":
            op = text(p.child_by_field_name("operator"))
            if op == "&=":
                return "consumer"
            return "producer"
        if p.type == "unary_expression" and text(p).startswith("~"):
            return "consumer"
        if p.type in ("case_statement",):
            return "consumer"
        if p.type in ("if_statement", "while_statement", "conditional_expression",
                      "switch_statement"):
            return "consumer"
        if p.type in ("return_statement", "init_declarator", "initializer_list",
                      "initializer_pair"):
            return "producer"
        if p.type in ("expression_statement", "compound_statement", "function_definition"):
            break
        n = p
    return "producer"
