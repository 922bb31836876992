"""C front end: mask kernel annotations, parse with tree-sitter-c, index functions,
macros and enum constants of a tree, and lower function bodies to the sim IR."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from reviewbot.cparse import mask, parse  # noqa: F401  (one masking, one parse cache)

from . import ir

if TYPE_CHECKING:
    from tree_sitter import Node

# how the simulator reads a tree: path relative to the tree's root -> bytes, or None if absent
ReadFile = Callable[[str], "bytes | None"]


class FuncSrc:
    """A function definition found in a tree file (lowered lazily)."""

    def __init__(self, name: str, path: str, node: Node, src: bytes) -> None:
        self.name, self.path, self.node, self.src = name, path, node, src
        self.line = node.start_point[0] + 1
        self._ir = None

    def lower(self, inline_names: set[str], config: set[str]) -> ir.Func:
        if self._ir is None:
            self._ir = Lowerer(self, inline_names, config).run()
        return self._ir


def _declarator_name(node: Node | None) -> str | None:
    while node is not None:
        if node.type in ("identifier", "field_identifier", "type_identifier"):
            return node.text.decode()
        node = node.child_by_field_name("declarator")
    return None


def _has_error(node: Node) -> Node | None:
    if node.type == "ERROR" or node.is_missing:
        return node
    if not node.has_error:
        return None
    for c in node.children:
        e = _has_error(c)
        if e is not None:
            return e
    return None


class TreeIndex:
    """Functions, object-like #defines and enum constants of a set of tree files."""

    def __init__(self, read_file: ReadFile, paths: Iterable[str]) -> None:
        self.read_file = read_file
        self.funcs: dict[str, FuncSrc] = {}
        self.macros: dict[str, tuple[str, str, int]] = {}
        # vm_operations_struct initialisers: name -> (path, line, {member: function})
        self.vm_ops: dict[str, tuple[str, int, dict[str, str]]] = {}
        self.present: list[str] = []
        for p in paths:
            self.add_file(p)

    def add_file(self, path: str, prefer: bool = True) -> bool:
        src = self.read_file(path)
        if src is None:
            return False
        self.present.append(path)
        tree = parse(src)
        for node in tree.root_node.children:
            self._collect(node, path, src, prefer)
        for m in re.finditer(rb"^[ \t]*#[ \t]*define[ \t]+(\w+)[ \t]+((?:[^\n\\]|\\\n|\\.)*)$", src, re.M):
            name = m.group(1).decode()
            body = m.group(2).replace(b"\\\n", b" ").decode(errors="replace")
            body = re.sub(r"/\*.*?\*/", " ", body).split("//")[0].strip()
            line = src.count(b"\n", 0, m.start()) + 1
            if name not in self.macros or prefer:
                self.macros.setdefault(name, (body, path, line))
        return True

    def _collect(self, node: Node, path: str, src: bytes, prefer: bool) -> None:
        if node.type == "function_definition":
            name = _declarator_name(node.child_by_field_name("declarator"))
            if name and (name not in self.funcs):
                self.funcs[name] = FuncSrc(name, path, node, src)
        elif node.type in ("preproc_ifdef", "preproc_if", "preproc_else", "preproc_elif"):
            for c in node.children:
                self._collect(c, path, src, prefer)
        elif node.type in ("declaration", "type_definition", "enum_specifier"):
            if node.type == "declaration":
                self._collect_ops(node, path)
            for enum in _walk(node, "enumerator_list"):
                # an enumerator without a value is one more than the one before it
                prev = None
                for en in enum.named_children:
                    if en.type != "enumerator":
                        continue
                    nm = en.child_by_field_name("name")
                    val = en.child_by_field_name("value")
                    text = val.text.decode() if val is not None else (
                        "0" if prev is None else "(%s) + 1" % prev)
                    if nm is not None:
                        self.macros.setdefault(nm.text.decode(), (text, path, en.start_point[0] + 1))
                        prev = nm.text.decode()


    def _collect_ops(self, node: Node, path: str) -> None:
        ty = node.child_by_field_name("type")
        if ty is None or ty.type != "struct_specifier" or ty.child_by_field_name("name") is None or \
                ty.child_by_field_name("name").text != b"vm_operations_struct":
            return
        for d in node.children_by_field_name("declarator"):
            val = d.child_by_field_name("value") if d.type == "init_declarator" else None
            if val is None or val.type != "initializer_list":
                continue
            members = {}
            for item in val.named_children:
                des = item.child_by_field_name("designator") if item.type == "initializer_pair" else None
                v = item.child_by_field_name("value") if des is not None else None
                if des is not None and des.type == "field_designator" and v is not None and v.type == "identifier":
                    members[des.named_children[0].text.decode()] = v.text.decode()
            name = _declarator_name(d.child_by_field_name("declarator"))
            if name and name not in self.vm_ops:
                self.vm_ops[name] = (path, d.start_point[0] + 1, members)


def _walk(node: Node, typ: str) -> Iterator[Node]:
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == typ:
            yield n
        stack.extend(reversed(n.children))


def parse_expr(text: str) -> Node | None:
    """Parse a macro body as a C expression; returns (node, src) or None."""
    src = ("int __sim_x = (" + text + ");\n").encode()
    tree = parse(src)
    for n in _walk(tree.root_node, "init_declarator"):
        v = n.child_by_field_name("value")
        if v is not None and not v.has_error:
            return v
    return None


class Unsupported(Exception):
    pass


class Lowerer:
    """Lowers one function body to ir.Func: calls become their own instructions,
    short-circuit operators around calls become branches, loops get back edges."""

    def __init__(self, fsrc: FuncSrc, inline_names: set[str], config: set[str]) -> None:
        self.f = fsrc
        self.inline = inline_names
        self.config = config
        self.code: list = []
        self.labels: dict[str, int] = {}
        self.fixups: list = []
        self.scopes: list[dict] = [{}]
        self.slot_names: list[str] = []
        self.loops: list = []  # (break_fixups, continue_target or fixups)
        self.error = None
        self.spans: list = []  # (first, last) source lines of each statement or condition

    # -- helpers
    def line(self, node: Node) -> int:
        return node.start_point[0] + 1

    def new_slot(self, name: str) -> int:
        self.slot_names.append(name)
        return len(self.slot_names) - 1

    def declare(self, name: str) -> int:
        s = self.new_slot(name)
        self.scopes[-1][name] = s
        return s

    def tmp(self) -> int:
        return self.new_slot("$t%d" % len(self.slot_names))

    def lookup(self, name: str) -> int | None:
        for sc in reversed(self.scopes):
            if name in sc:
                return sc[name]
        return None

    def emit(self, ins: ir.Instr) -> int:
        self.code.append(ins)
        return len(self.code) - 1

    def here(self) -> int:
        return len(self.code)

    def patch(self, idx: int, target: int) -> None:
        ins = list(self.code[idx])
        if ins[0] == ir.BR:
            if ins[3] is None:
                ins[3] = target
            else:
                ins[4] = target
        else:
            ins[2] = target
        self.code[idx] = tuple(ins)

    # -- entry
    def run(self) -> ir.Func:
        node = self.f.node
        err = _has_error(node)
        decl = node.child_by_field_name("declarator")
        while decl is not None and decl.type != "function_declarator":
            decl = decl.child_by_field_name("declarator")
        params = []
        if decl is not None:
            plist = decl.child_by_field_name("parameters")
            for p in plist.named_children:
                if p.type == "parameter_declaration":
                    nm = _declarator_name(p.child_by_field_name("declarator"))
                    if nm:
                        params.append(nm)
                        self.declare(nm)
        if err is not None:
            self.error = "cannot parse %s at %s:%d" % (self.f.name, self.f.path, err.start_point[0] + 1)
        else:
            try:
                self.stmt(node.child_by_field_name("body"))
                self.emit((ir.RET, self.line(node.child_by_field_name("body").children[-1]), None))
                for idx, label, ln in self.fixups:
                    if label not in self.labels:
                        raise Unsupported("goto to unknown label %s at line %d" % (label, ln))
                    ins = list(self.code[idx])
                    ins[2] = self.labels[label]
                    ins[3] = self.labels[label] <= idx
                    self.code[idx] = tuple(ins)
            except Unsupported as e:
                self.error = "%s in %s (%s)" % (e, self.f.name, self.f.path)
        return ir.Func(self.f.name, self.f.path, self.f.line, params, self.slot_names,
                       tuple(self.code), self.error, node.end_point[0] + 1, tuple(sorted(set(self.spans))))

    # -- statements
    def span(self, first: Node, last_node: Node) -> None:
        self.spans.append((self.line(first), last_node.end_point[0] + 1))

    def stmt(self, n: Node) -> None:
        t = n.type
        if t in ("expression_statement", "declaration", "return_statement", "goto_statement",
                 "break_statement", "continue_statement"):
            self.span(n, n)
        elif t in ("if_statement", "while_statement", "switch_statement") and \
                n.child_by_field_name("condition") is not None:
            self.span(n, n.child_by_field_name("condition"))
        elif t == "for_statement":
            body = n.child_by_field_name("body")
            self.spans.append((self.line(n), body.start_point[0] + 1 if body is not None else self.line(n)))
        elif t == "do_statement":
            self.span(n.child_by_field_name("condition"), n.child_by_field_name("condition"))
        if t == "compound_statement":
            self.scopes.append({})
            for c in n.named_children:
                self.stmt(c)
            self.scopes.pop()
        elif t == "declaration":
            self.declaration(n)
        elif t == "expression_statement":
            if n.named_children:
                self.expr_stmt(n.named_children[0])
        elif t == "if_statement":
            cond = self.expr(n.child_by_field_name("condition"))
            br = self.emit((ir.BR, self.line(n), cond, self.here() + 1, None))
            self.stmt(n.child_by_field_name("consequence"))
            alt = n.child_by_field_name("alternative")
            if alt is not None:
                j = self.emit((ir.JMP, self.line(n), None, False))
                self.patch(br, self.here())
                body = alt.named_children[0] if alt.type == "else_clause" else alt
                self.stmt(body)
                self.patch(j, self.here())
            else:
                self.patch(br, self.here())
        elif t == "labeled_statement":
            label = n.child_by_field_name("label").text.decode()
            self.labels[label] = self.here()
            for c in n.named_children[1:]:
                self.stmt(c)
        elif t == "goto_statement":
            label = n.child_by_field_name("label").text.decode()
            idx = self.emit((ir.JMP, self.line(n), None, False))
            self.fixups.append((idx, label, self.line(n)))
        elif t == "return_statement":
            e = self.expr(n.named_children[0]) if n.named_children else None
            self.emit((ir.RET, self.line(n), e))
        elif t in ("while_statement", "for_statement", "do_statement"):
            self.loop(n)
        elif t == "break_statement":
            if not self.loops:
                raise Unsupported("break outside loop at line %d" % self.line(n))
            self.loops[-1][0].append(self.emit((ir.JMP, self.line(n), None, False)))
        elif t == "continue_statement":
            if not self.loops or self.loops[-1][1] is None:
                raise Unsupported("continue outside loop at line %d" % self.line(n))
            self.loops[-1][1].append(self.emit((ir.JMP, self.line(n), None, True)))
        elif t == "switch_statement":
            self.switch(n)
        elif t in ("preproc_ifdef", "preproc_if", "preproc_elif", "preproc_else"):
            self.preproc(n)
        elif t in ("comment", ";", "empty_statement"):
            pass
        elif t in ("type_definition", "struct_specifier"):
            pass
        else:
            raise Unsupported("unknown construct %s at line %d" % (t, self.line(n)))

    def preproc(self, n: Node) -> None:
        t = n.type
        if t == "preproc_else":
            for c in n.named_children:
                self.stmt(c)
            return
        if t == "preproc_ifdef":
            name = n.child_by_field_name("name").text.decode()
            taken = (name in self.config) == (n.children[0].type == "#ifdef")
        else:
            taken = self.pp_cond(n.child_by_field_name("condition"))
        alt = n.child_by_field_name("alternative")
        for c in n.named_children:
            if c is alt or c.type in ("identifier",) and c == n.child_by_field_name("name"):
                continue
            if c == n.child_by_field_name("condition"):
                continue
            if taken:
                self.stmt(c)
        if not taken and alt is not None:
            self.preproc(alt)

    def pp_cond(self, c: Node) -> bool:
        txt = c.text.decode()
        txt = re.sub(r"defined\s*\(?\s*(\w+)\s*\)?",
                     lambda m: "1" if m.group(1) in self.config else "0", txt)
        txt = re.sub(r"IS_ENABLED\s*\(\s*(\w+)\s*\)",
                     lambda m: "1" if m.group(1) in self.config else "0", txt)
        txt = re.sub(r"\b[A-Za-z_]\w*\b", lambda m: "1" if m.group(0) in self.config else "0", txt)
        txt = txt.replace("&&", " and ").replace("||", " or ").replace("!", " not ")
        try:
            return bool(eval(txt, {"__builtins__": {}}))  # only digits and operators remain
        except Exception:
            raise Unsupported("#if %s at line %d" % (c.text.decode(), self.line(c)))

    def loop(self, n: Node) -> None:
        t = n.type
        ln = self.line(n)
        self.scopes.append({})
        if t == "for_statement":
            init = n.child_by_field_name("initializer")
            if init is not None:
                if init.type == "declaration":
                    self.declaration(init)
                else:
                    self.expr_stmt(init)
        top = self.here()
        breaks, conts = [], []
        self.loops.append((breaks, conts))
        if t == "do_statement":
            self.stmt(n.child_by_field_name("body"))
            cont_at = self.here()
            cond = self.expr(n.child_by_field_name("condition"))
            self.emit((ir.BR, ln, cond, top, None))
            brk = self.here() - 1
            breaks.append(brk)
        else:
            condn = n.child_by_field_name("condition")
            br = None
            if condn is not None:
                cond = self.expr(condn)
                br = self.emit((ir.BR, ln, cond, self.here() + 1, None))
            self.stmt(n.child_by_field_name("body"))
            cont_at = self.here()
            upd = n.child_by_field_name("update")
            if upd is not None:
                self.expr_stmt(upd)
            self.emit((ir.JMP, ln, top, True))
            if br is not None:
                breaks.append(br)
        self.loops.pop()
        end = self.here()
        for b in breaks:
            self.patch(b, end)
        for c in conts:
            ins = list(self.code[c])
            ins[2] = cont_at
            self.code[c] = tuple(ins)
        self.scopes.pop()

    def switch(self, n: Node) -> None:
        ln = self.line(n)
        v = self.expr(n.child_by_field_name("condition"))
        s = self.tmp()
        self.emit((ir.EVAL, ln, ("assign", "=", ("var", s), v)))
        body = n.child_by_field_name("body")
        cases = [c for c in body.named_children if c.type == "case_statement"]
        dispatch = []
        for c in cases:
            val = c.child_by_field_name("value")
            if val is not None:
                dispatch.append(self.emit((ir.BR, self.line(c), ("bin", "==", ("var", s), self.expr(val), self.line(c)), None, None)))
        jdef = self.emit((ir.JMP, ln, None, False))
        breaks = []
        self.loops.append((breaks, None))
        di = 0
        default_at = None
        for c in cases:
            at = self.here()
            if c.child_by_field_name("value") is not None:
                ins = list(self.code[dispatch[di]])
                ins[3] = at
                ins[4] = dispatch[di] + 1
                self.code[dispatch[di]] = tuple(ins)
                di += 1
            else:
                default_at = at
            for st in c.named_children:
                if st == c.child_by_field_name("value"):
                    continue
                self.stmt(st)
        self.loops.pop()
        end = self.here()
        ins = list(self.code[jdef])
        ins[2] = default_at if default_at is not None else end
        self.code[jdef] = tuple(ins)
        for b in breaks:
            self.patch(b, end)

    def declaration(self, n: Node) -> None:
        for d in n.children_by_field_name("declarator"):
            if d.type == "init_declarator":
                name = _declarator_name(d.child_by_field_name("declarator"))
                val = d.child_by_field_name("value")
                if val.type == "initializer_list":
                    pairs = []
                    for item in val.named_children:
                        if item.type == "initializer_pair":
                            des = item.child_by_field_name("designator")
                            if des is None or des.type != "field_designator":
                                raise Unsupported("initializer at line %d" % self.line(item))
                            fld = des.named_children[0].text.decode()
                            pairs.append((fld, self.expr(item.child_by_field_name("value"))))
                        elif item.type == "comment":
                            continue
                        else:
                            pairs.append((None, self.expr(item)))
                    slot = self.declare(name)
                    self.emit((ir.EVAL, self.line(d), ("assign", "=", ("var", slot), ("reclit", tuple(pairs)))))
                else:
                    e = self.expr(val)
                    slot = self.declare(name)
                    self.emit((ir.EVAL, self.line(d), ("assign", "=", ("var", slot), e)))
            else:
                name = _declarator_name(d)
                if name:
                    slot = self.declare(name)
                    self.emit((ir.EVAL, self.line(d), ("assign", "=", ("var", slot), ("uninit",))))

    def expr_stmt(self, n: Node) -> None:
        if n.type == "call_expression" and not self.is_inline(n):
            self.call(n, None)
            return
        if n.type == "assignment_expression" and n.child_by_field_name("operator").text == b"=":
            rhs = n.child_by_field_name("right")
            if rhs.type == "call_expression" and not self.is_inline(rhs):
                lhs = self.expr(n.child_by_field_name("left"))
                self.call(rhs, lhs)
                return
        if n.type == "comma_expression":
            self.expr_stmt(n.child_by_field_name("left"))
            self.expr_stmt(n.child_by_field_name("right"))
            return
        e = self.expr(n)
        self.emit((ir.EVAL, self.line(n), e))

    # -- expressions
    def is_inline(self, n: Node) -> bool:
        fn = n.child_by_field_name("function")
        return (fn.type == "identifier" and fn.text.decode() in self.inline) or self.is_cast_call(n)

    @staticmethod
    def is_cast_call(n: Node) -> bool:
        # "(pgoff_t)(x)": tree-sitter reads a cast to an unknown typedef as a call
        fn = n.child_by_field_name("function")
        if fn.type != "parenthesized_expression":
            return False
        inner = [c for c in fn.named_children if c.type != "comment"]
        return len(inner) == 1 and inner[0].type in ("identifier", "type_identifier") and \
            inner[0].text.decode().endswith("_t") and len(n.child_by_field_name("arguments").named_children) == 1

    def has_call(self, n: Node) -> bool:
        if n.type == "call_expression" and not self.is_inline(n):
            return True
        return any(self.has_call(c) for c in n.named_children)

    def call(self, n: Node, dest: ir.Expr | None) -> None:
        fn = n.child_by_field_name("function")
        args = [self.expr(a) for a in n.child_by_field_name("arguments").named_children
                if a.type != "comment"]
        if fn.type == "identifier" and self.lookup(fn.text.decode()) is None:
            callee = ("name", fn.text.decode())
        else:
            callee = self.expr(fn)
        self.emit((ir.CALL, self.line(n), dest, callee, tuple(args), fn.text.decode()))

    def expr(self, n: Node) -> ir.Expr:
        t = n.type
        if t == "parenthesized_expression":
            inner = [c for c in n.named_children if c.type != "comment"]
            return self.expr(inner[0])
        if t == "identifier":
            name = n.text.decode()
            s = self.lookup(name)
            if s is not None:
                return ("var", s)
            if name == "NULL":
                return ("const", 0)
            return ("name", name, self.line(n))
        if t == "number_literal":
            return ("const", _int(n.text.decode()))
        if t in ("true", "false"):
            return ("const", 1 if t == "true" else 0)
        if t == "null":
            return ("const", 0)
        if t == "char_literal":
            body = n.text.decode()[1:-1]
            return ("const", ord(body[-1]) if body else 0)
        if t in ("string_literal", "concatenated_string"):
            return ("const", 0)
        if t == "sizeof_expression":
            return ("const", 8)
        if t == "field_expression":
            base = self.expr(n.child_by_field_name("argument"))
            fld = n.child_by_field_name("field").text.decode()
            if n.children[1].type == "->":
                base = ("deref", base, self.line(n))
            return ("field", base, fld)
        if t == "pointer_expression":
            op = n.child_by_field_name("operator").text.decode()
            a = self.expr(n.child_by_field_name("argument"))
            return ("addr", a) if op == "&" else ("deref", a, self.line(n))
        if t == "unary_expression":
            return ("un", n.child_by_field_name("operator").text.decode(),
                    self.expr(n.child_by_field_name("argument")), self.line(n))
        if t == "cast_expression":
            return self.expr(n.child_by_field_name("value"))
        if t == "binary_expression":
            op = n.child_by_field_name("operator").text.decode()
            right = n.child_by_field_name("right")
            if op in ("&&", "||") and self.has_call(right):
                return self.short_circuit(n, op)
            return ("bin", op, self.expr(n.child_by_field_name("left")), self.expr(right), self.line(n))
        if t == "assignment_expression":
            op = n.child_by_field_name("operator").text.decode()
            lhs = self.expr(n.child_by_field_name("left"))
            rhs_n = n.child_by_field_name("right")
            if op == "=" and rhs_n.type == "call_expression" and not self.is_inline(rhs_n):
                self.call(rhs_n, lhs)
                return lhs
            return ("assign", op, lhs, self.expr(rhs_n))
        if t == "update_expression":
            op = n.child_by_field_name("operator").text.decode()
            arg = n.child_by_field_name("argument")
            prefix = n.children[0].type in ("++", "--")
            return ("incdec", op, prefix, self.expr(arg))
        if t == "conditional_expression":
            c, a, b = (n.child_by_field_name(k) for k in ("condition", "consequence", "alternative"))
            if self.has_call(a) or self.has_call(b):
                s = self.tmp()
                br = self.emit((ir.BR, self.line(n), self.expr(c), self.here() + 1, None))
                self.emit((ir.EVAL, self.line(n), ("assign", "=", ("var", s), self.expr(a))))
                j = self.emit((ir.JMP, self.line(n), None, False))
                self.patch(br, self.here())
                self.emit((ir.EVAL, self.line(n), ("assign", "=", ("var", s), self.expr(b))))
                self.patch(j, self.here())
                return ("var", s)
            return ("cond", self.expr(c), self.expr(a), self.expr(b), self.line(n))
        if t == "call_expression":
            fn = n.child_by_field_name("function")
            args = tuple(self.expr(a) for a in n.child_by_field_name("arguments").named_children
                         if a.type != "comment")
            if self.is_cast_call(n):
                return args[0]
            if self.is_inline(n):
                return ("inline", fn.text.decode(), args, self.line(n))
            s = self.tmp()
            self.call(n, ("var", s))
            return ("var", s)
        if t == "comma_expression":
            self.expr_stmt(n.child_by_field_name("left"))
            return self.expr(n.child_by_field_name("right"))
        if t == "subscript_expression":
            return ("index", self.expr(n.child_by_field_name("argument")),
                    self.expr(n.child_by_field_name("index")), self.line(n))
        return ("unsupported", t, self.line(n))

    def short_circuit(self, n: Node, op: str) -> ir.Expr:
        ln = self.line(n)
        s = self.tmp()
        left = self.expr(n.child_by_field_name("left"))
        self.emit((ir.EVAL, ln, ("assign", "=", ("var", s), ("un", "!!", left, ln))))
        if op == "&&":
            br = self.emit((ir.BR, ln, ("var", s), self.here() + 1, None))
        else:
            br = self.emit((ir.BR, ln, ("var", s), None, self.here() + 1))
        right = self.expr(n.child_by_field_name("right"))
        self.emit((ir.EVAL, ln, ("assign", "=", ("var", s), ("un", "!!", right, ln))))
        end = self.here()
        ins = list(self.code[br])
        if op == "&&":
            ins[4] = end
        else:
            ins[3] = end
        self.code[br] = tuple(ins)
        return ("var", s)


def _int(txt: str) -> int:
    t = txt.rstrip("uUlL")
    try:
        return int(t, 0)
    except ValueError:
        if t.startswith("0") and t.isdigit():
            return int(t, 8)
        raise Unsupported("number %s" % txt)
