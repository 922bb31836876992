"""field-init's flow analysis: is a member set on every path from where an object is built
to where it escapes (address passed or stored, copied, returned)?"""
from __future__ import annotations

import re

from reviewbot.cindex import ConstructionSite, find_node
from reviewbot.cparse import line_of, text

# called with the member itself (not its address) as the first argument, these set it
VALUE_SETTERS = {"WRITE_ONCE", "RCU_INIT_POINTER", "rcu_assign_pointer", "smp_store_release"}
_INIT = re.compile(r"(?:^(?:INIT_|init_|__init_)|_init$|^(?:atomic|atomic_long|atomic64|"
                   r"refcount|local|local64)_set$|^(?:bitmap|cpumask)_(?:zero|clear|fill)$)")


def is_init_helper(fn: str) -> bool:
    """Passing a member's address to one of these sets it: `*_init`, `init_*`, `INIT_*`, the
    atomic setters and the bitmap fillers."""
    return bool(_INIT.search(fn.strip()))


def field_status(src: bytes, site: ConstructionSite, member: str,
                 order: list[str] | None = None) -> tuple[str, str]:
    """('set' | 'implicitly zero' | 'not set before escape', detail) for one site."""
    if site.kind == "static":
        return "implicitly zero", "static storage"
    if site.kind == "zeroed allocation":
        return "implicitly zero", "zeroing allocation"
    if site.kind == "copy":
        return "set", "copied from another object"
    node = find_node(src, site.node_id)
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
    if site.kind == "allocation":
        if not site.var or not site.var.replace("_", "").isalnum():
            return "not set before escape", "allocated object not kept in a local"
    flow = _walk_from(node, site, member, collect=False)
    if flow is None:
        return "not set before escape", "no enclosing block"
    if flow.escape is None:
        return ("set", "assigned on every path before the object escapes") if flow.ever_set \
            else ("set", "the object never escapes")
    line, how = flow.escape
    return "not set before escape", f"{how} at line {line} before .{member} is set"


def unset_escapes(src: bytes, site: ConstructionSite, member: str
                  ) -> list[tuple[int, str, str, int]]:
    """Every escape of a declared or allocated object met on some path while `member` is
    still unset: (line, how, callee, argument index); callee is "" unless the object's
    address (or the pointer) is an argument of a direct call."""
    node = find_node(src, site.node_id)
    if node is None or site.kind not in ("declaration", "allocation") or not site.var \
            or not site.var.replace("_", "").isalnum():
        return []
    flow = _walk_from(node, site, member, collect=True)
    if flow is None:
        return []
    out = []
    for line, how, n in flow.escapes:
        callee, idx = "", -1
        args = n.parent
        if args is not None and args.type == "argument_list" and args.parent is not None:
            fn = args.parent.child_by_field_name("function")
            if fn is not None and fn.type == "identifier":
                callee = text(fn)
                idx = [c.start_byte for c in args.named_children].index(n.start_byte)
        out.append((line, how, callee, idx))
    return out


def _walk_from(node, site: ConstructionSite, member: str, collect: bool):
    """The flow walk over the block declaring the site, from the statement after it (None
    when the site is in no block)."""
    body = node.parent
    while body is not None and body.type != "compound_statement":
        body = body.parent
    if body is None:
        return None
    flow = _Flow(site.var, member, deref=(site.kind == "allocation"), collect=collect)
    stmt = node
    while stmt.parent is not None and stmt.parent != body:
        stmt = stmt.parent
    flow.run_block(body, stmt.end_byte)
    return flow


class _Flow:
    """A small path walk over one block: is `var.member` assigned on every path before `var`
    escapes (address taken, copied, passed, returned)? goto targets merge the states."""

    def __init__(self, var: str, member: str, deref: bool, collect: bool = False):
        self.var, self.member, self.deref = var, member, deref
        self.escape: tuple[int, str] | None = None   # the first escape on a path without it
        # collect: walk on past escapes, keeping every one met while the member is unset
        self.collect = collect
        self.escapes: list[tuple[int, str, object]] = []
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
            first = args.named_children[0] if args is not None and args.named_children else None
            if first is not None and self._sets_member(fn, first):
                for a in args.named_children[1:]:
                    state = self.expr(a, state)
                self.ever_set = True
                return True
            if fn in ("memset", "memzero_explicit", "memcpy", "memmove") and args is not None and args.named_children \
                    and self._is_whole(args.named_children[0]):
                self.ever_set = True
                return True
            for a in (args.named_children if args is not None else []):
                state = self.expr(a, state)
            return self.expr(node.child_by_field_name("function"), state)
        if t == "sizeof_expression":
            return state
        if self.deref and self._null_test(node):
            return state       # `!p`, `p == NULL`: testing the pointer lets nothing escape
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
        if self.collect:
            if not state:
                self.escapes.append((line_of(node), how, node))
            return
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

    def _null_test(self, node) -> bool:
        while node.type == "parenthesized_expression" and node.named_children:
            node = node.named_children[0]
        if node.type == "identifier":
            return text(node) == self.var and node.parent is not None and \
                node.parent.type == "parenthesized_expression" and node.parent.parent is not None \
                and node.parent.parent.type in ("if_statement", "while_statement")
        if node.type == "unary_expression" and text(node.child_by_field_name("operator")) == "!":
            arg = node.child_by_field_name("argument")
            return arg is not None and arg.type == "identifier" and text(arg) == self.var
        if node.type == "binary_expression" and \
                text(node.child_by_field_name("operator")) in ("==", "!="):
            sides = {text(node.child_by_field_name("left")),
                     text(node.child_by_field_name("right"))}
            return sides in ({self.var, "NULL"}, {self.var, "0"})
        return False

    def _sets_member(self, fn: str, first) -> bool:
        """`spin_lock_init(&x->m)`, `INIT_LIST_HEAD(&x.m)`, `atomic_set(&x->m, 0)`,
        `WRITE_ONCE(x->m, v)`: a call that sets the member it is given."""
        if first.type == "pointer_expression" and text(first).startswith("&"):
            arg = first.child_by_field_name("argument")
            return arg is not None and self._is_member(arg) and is_init_helper(fn)
        return self._is_member(first) and fn in VALUE_SETTERS

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
