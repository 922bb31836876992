"""A small path interpreter over one C function (tree-sitter): for every way out of it, the locks
held and the locks it released that it never took, the VM_FAULT_* bits it returns, and what it
knew about the fault's page and the struct vm_fault members. Used by lock-contract."""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from reviewbot.cindex import walk
from reviewbot.cparse import line_of, text

MAX_STATES = 48
ANY = frozenset({"*"})      # a test of the whole result: `!ret`
MAX_DEPTH = 4
# VM_FAULT_ERROR as every tree since 2015 spells it; a test of it is a test of each of these
ERROR_BITS = frozenset({"VM_FAULT_OOM", "VM_FAULT_SIGBUS", "VM_FAULT_SIGSEGV",
                        "VM_FAULT_HWPOISON", "VM_FAULT_HWPOISON_LARGE", "VM_FAULT_FALLBACK"})
# lock calls: name -> (lock name or None to take it from the argument, mode)
ACQUIRE = {"i_mmap_lock_read": ("i_mmap_rwsem", "R"), "i_mmap_lock_write": ("i_mmap_rwsem", "W"),
           "down_read": (None, "R"), "down_write": (None, "W"), "down_read_killable": (None, "R"),
           "mutex_lock": (None, "X"), "lock_page": ("page lock", "X"),
           "folio_lock": ("page lock", "X"), "__folio_lock": ("page lock", "X"),
           "filemap_invalidate_lock_shared": ("invalidate_lock", "R"),
           "filemap_invalidate_lock": ("invalidate_lock", "W")}
TRYLOCK = {"trylock_page": ("page lock", "X"), "folio_trylock": ("page lock", "X"),
           "lock_page_or_retry": ("page lock", "X"), "mutex_trylock": (None, "X"),
           "down_read_trylock": (None, "R"), "down_write_trylock": (None, "W"),
           "i_mmap_trylock_read": ("i_mmap_rwsem", "R")}
RELEASE = {"i_mmap_unlock_read": ("i_mmap_rwsem", "R"),
           "i_mmap_unlock_write": ("i_mmap_rwsem", "W"),
           "up_read": (None, "R"), "up_write": (None, "W"), "mutex_unlock": (None, "X"),
           "unlock_page": ("page lock", "X"), "folio_unlock": ("page lock", "X"),
           "filemap_invalidate_unlock_shared": ("invalidate_lock", "R"),
           "filemap_invalidate_unlock": ("invalidate_lock", "W"),
           # ->read_folio unlocks the folio when the read completes
           "filemap_read_folio": ("page lock", "X")}
ZEROING = {"kzalloc", "kmem_cache_zalloc", "kvzalloc", "kcalloc"}


@dataclass(frozen=True)
class Lock:
    name: str        # "i_mmap_rwsem", "page lock", "invalidate_lock", or the mutex/rwsem
    ident: str       # whose: "mapping", "page", or the expression
    mode: str        # R, W or X
    file: str
    line: int
    function: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.name, self.ident)

    def describe(self) -> str:
        return f"{self.name} ({self.mode}, {self.ident})"


@dataclass(frozen=True, repr=False)
class Bits:
    """A fault result: bits it surely has, and whether the handler's own result is or-ed in."""
    bits: frozenset = frozenset()
    handler: bool = False

    def __repr__(self) -> str:      # sorted: a state's repr is part of its sort key (_order)
        return f"Bits({sorted(self.bits)!r}, {self.handler})"


@dataclass(frozen=True)
class State:
    held: frozenset = frozenset()          # Lock
    released: frozenset = frozenset()      # Lock released without being taken here
    vals: tuple = ()                       # sorted (key, value) facts
    hcons: frozenset = frozenset()         # (frozenset mask, bool) tests of the handler result
    hpage: str = ""                        # "null"/"nonnull": the handler's page, as tested
    atcall: tuple = ()                     # (member, value) of struct vm_fault at ->fault
    assumed: frozenset = frozenset()       # (key, value) the function tested but never set
    op: str = ""                           # the vm_ops member called: fault, page_mkwrite

    def get(self, key, hops: int = 3):
        d = dict(self.vals)
        v = d.get(key)
        if v is None and "." in key:
            v = d.get(key.split(".")[0] + ".*")
        if isinstance(v, tuple) and v and v[0] == "ref" and hops:
            return self.get(v[1], hops - 1) or v     # `vmf->page = page`: what page is
        return v

    def put(self, key, val) -> "State":
        d = {k: v for k, v in self.vals if k != key and not k.startswith(key + ".")}
        if val is not None:
            d[key] = val
        return replace(self, vals=tuple(sorted(d.items(), key=repr)))


def expand(bits) -> frozenset:
    out = set(bits)
    if "VM_FAULT_ERROR" in out:
        out |= ERROR_BITS
    return frozenset(out)


def norm(node) -> str:
    """An expression as a fact key: `vmf->page` and `vmf.page` are both `vmf.page`."""
    t = "".join(text(node).split()).replace("->", ".")
    while t.startswith("(") and t.endswith(")"):
        t = t[1:-1]
    return t


def lock_ident(name: str, arg: str) -> tuple[str, str]:
    a = arg.lstrip("&").replace("->", ".")
    if name is None:
        if a.endswith(".i_mmap_rwsem"):
            return "i_mmap_rwsem", _owner(a[:-len(".i_mmap_rwsem")])
        return a.split(".")[-1] if "." in a else a, _owner(a.rsplit(".", 1)[0]) if "." in a else ""
    if name == "page lock":
        return name, "page"
    return name, _owner(a)


def _owner(a: str) -> str:
    """Whose lock: every spelling of the file's mapping (`vma->vm_file->f_mapping`,
    `mapping`, `inode->i_mapping`) is one; so is every spelling of the inode."""
    last = a.split(".")[-1]
    if last in ("mapping", "f_mapping", "i_mapping") or a.endswith("mapping"):
        return "mapping"
    if last in ("inode", "i_inode", "host") or "inode" in last:
        return "inode"
    return a


class Interp:
    """Runs one function; `resolve(name)` -> (path, function node) of a callee to follow into
    (None: a call it does not follow)."""

    def __init__(self, path: str, resolve, depth: int = 0, vmf: str = "vmf",
                 visited: set | None = None):
        self.visited = visited if visited is not None else set()
        self.path = path
        self.resolve = resolve
        self.depth = depth
        self.vmf = vmf
        self.returns: list[State] = []
        self.gotos: dict[str, list[State]] = {}
        self.breaks: list[list[State]] = []
        self.fn = ""

    def run(self, fn_node, entry: State, name: str) -> list[State]:
        self.fn = name
        self.visited.add((self.path, name))
        self.delegates = {text(c.child_by_field_name("function")) for r in walk(fn_node)
                          if r.type == "return_statement" for c in walk(r)
                          if c.type == "call_expression"}
        body = fn_node.child_by_field_name("body")
        end = self.stmt(body, [entry])
        last = (self.path, fn_node.end_point[0] + 1, name)
        self.returns += [s.put("$ret", None).put("$at", last) for s in end]
        return _cap(self.returns)

    # --- statements ---------------------------------------------------------------------
    def stmt(self, node, states: list[State]) -> list[State]:
        if node is None:
            return states
        t = node.type
        if not states and t not in ("compound_statement", "labeled_statement"):
            return states       # unreachable, unless a label inside takes a goto
        if t == "compound_statement":
            for c in node.named_children:
                states = self.stmt(c, states)
            return states
        if t == "labeled_statement":
            label = text(node.child_by_field_name("label"))
            states = _cap(states + self.gotos.pop(label, []))
            for c in node.named_children[1:]:
                states = self.stmt(c, states)
            return states
        if t == "expression_statement":
            return [s for c in node.named_children for s, _v in self.eval(c, states)] \
                if node.named_children else states
        if t == "declaration":
            for d in node.children_by_field_name("declarator"):
                if d.type == "init_declarator":
                    var = norm(d.child_by_field_name("declarator")).lstrip("*")
                    states = [s.put(var, v) for s, v in self.eval(d.child_by_field_name("value"),
                                                                   states)]
            return states
        if t == "return_statement":
            val = node.named_children[0] if node.named_children else None
            outs = self.eval(val, states) if val is not None else [(s, None) for s in states]
            here = (self.path, line_of(node), self.fn)
            for s, v in outs:
                inner = s.get("$inner") if _strip(val) is not None and \
                    _strip(val).type == "call_expression" else None
                self.returns.append(s.put("$ret", v).put("$at", inner or here).put("$inner", None))
            return []
        if t == "goto_statement":
            self.gotos.setdefault(text(node.child_by_field_name("label")), []).extend(states)
            return []
        if t == "if_statement":
            cond = node.child_by_field_name("condition")
            yes = [y for s in states for y in self.refine(s, cond, True)]
            no = [n for s in states for n in self.refine(s, cond, False)]
            yes = self.stmt(node.child_by_field_name("consequence"), yes)
            alt = node.child_by_field_name("alternative")
            if alt is not None:
                no = self.stmt(alt.named_children[-1] if alt.type == "else_clause" else alt, no)
            return _cap(yes + no)
        if t in ("while_statement", "for_statement", "do_statement", "switch_statement"):
            self.breaks.append([])
            body = node.child_by_field_name("body")
            if t == "switch_statement":
                out, fall = [], []
                for case in (body.named_children if body is not None else []):
                    fall = _cap(fall + states)
                    for c in case.named_children[1 if case.child_by_field_name("value")
                                                 is not None else 0:]:
                        fall = self.stmt(c, fall)
                out = fall + states
            else:
                cond = node.child_by_field_name("condition")
                inside = [y for s in states for y in self.refine(s, cond, True)] \
                    if cond is not None and t != "do_statement" else states
                out = self.stmt(body, inside) + states
            return _cap(out + self.breaks.pop())
        if t in ("break_statement", "continue_statement"):
            if self.breaks:
                self.breaks[-1].extend(states)
            return []
        if t in ("preproc_ifdef", "preproc_if", "preproc_else", "preproc_elif"):
            inner = states
            for c in node.named_children:
                if c.type.endswith("statement") or c.type in ("declaration", "compound_statement"):
                    inner = self.stmt(c, inner)
            return _cap(inner + states)
        return states

    # --- conditions ---------------------------------------------------------------------
    def refine(self, s: State, cond, truth: bool) -> list[State]:
        n = _strip(cond)
        if n is None:
            return [s]
        t = n.type
        if t == "unary_expression" and text(n.child_by_field_name("operator")) == "!":
            return self.refine(s, n.child_by_field_name("argument"), not truth)
        if t == "binary_expression":
            op = text(n.child_by_field_name("operator"))
            left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
            if op in ("&&", "||"):
                both = (op == "&&") == truth
                firsts = self.refine(s, left, truth if both else not truth)
                if both:
                    return [b for a in firsts for b in self.refine(a, right, truth)]
                return _cap(self.refine(s, left, truth) +
                            [b for a in firsts for b in self.refine(a, right, truth)])
            if op in ("==", "!=") and "NULL" in (text(left), text(right)) or \
                    op in ("==", "!=") and text(right) == "0":
                other = right if text(left) == "NULL" else left
                return self.refine(s, other, truth != (op == "=="))
            if op == "&":
                return [x for x in self._bit_test(s, left, right, truth)]
            return [st for st, _v in self.eval(n, [s])]
        if t == "call_expression":
            name = text(n.child_by_field_name("function"))
            args = n.child_by_field_name("arguments").named_children
            if name in ("unlikely", "likely", "WARN_ON", "WARN_ON_ONCE") and args:
                return self.refine(s, args[0], truth)
            if name in TRYLOCK and args:
                if not truth:
                    return [s]
                lname, mode = TRYLOCK[name]
                return [self._acquire(s, lname, mode, text(args[0]), n)]
            return [st for st, v in self.eval(n, [s]) if _truth(v) in (None, truth)]
        if t in ("identifier", "field_expression", "pointer_expression"):
            key = norm(n)
            v = s.get(key)
            if isinstance(v, tuple) and v and v[0] == "ref":
                key, v = v[1], None
            if isinstance(v, Bits) and v.handler and not v.bits:
                # `!tmp` on a handler's result: no bit at all, or some bit
                if any(t != truth and m == ANY for m, t in s.hcons):
                    return []
                return [replace(s, hcons=s.hcons | {(ANY, truth)})]
            known = _truth(v)
            if known is not None:
                return [s] if known == truth else []
            if v == "HP":
                want = "nonnull" if truth else "null"
                if s.hpage and s.hpage != want:
                    return []
                return [replace(s, hpage=want)]
            fact = "nonnull" if truth else "null"
            s2 = s.put(key, fact)
            if "." in key:     # a member tested, never set here: what this path assumes
                s2 = replace(s2, assumed=s2.assumed | {(key, fact)})
            return [s2]
        return [st for st, _v in self.eval(n, [s])]

    def _bit_test(self, s: State, left, right, truth: bool) -> list[State]:
        out = []
        for s1, a in self.eval(left, [s]):
            for s2, b in self.eval(right, [s1]):
                val, mask = (a, b) if isinstance(b, Bits) and not b.handler else (b, a)
                if not isinstance(val, Bits) or not isinstance(mask, Bits):
                    out.append(s2)
                    continue
                m = expand(mask.bits)
                if expand(val.bits) & m:
                    out += [s2] if truth else []
                elif val.handler:
                    if any(t != truth and (m <= mm if truth else mm <= m)
                           for mm, t in s2.hcons):
                        continue
                    out.append(replace(s2, hcons=s2.hcons | {(m, truth)}))
                else:
                    out += [] if truth else [s2]
        return out

    # --- expressions --------------------------------------------------------------------
    def eval(self, n, states: list[State]) -> list[tuple[State, object]]:
        n = _strip(n)
        if n is None:
            return [(s, None) for s in states]
        t = n.type
        if t == "identifier":
            name = text(n)
            if name.startswith("VM_FAULT_"):
                return [(s, Bits(frozenset({name}))) for s in states]
            if name == "NULL" or name == "false":
                return [(s, "null") for s in states]
            if name == "true":
                return [(s, "nonnull") for s in states]
            return [(s, s.get(name) or ("ref", name)) for s in states]
        if t in ("null", "false"):
            return [(s, "null") for s in states]
        if t == "true":
            return [(s, "nonnull") for s in states]
        if t == "number_literal":
            v = Bits() if text(n) in ("0", "0x0") else "nonnull"
            return [(s, v) for s in states]
        if t in ("field_expression", "pointer_expression"):
            if t == "pointer_expression" and text(n).startswith("&"):
                return [(s, "nonnull") for s in states]
            return [(s, s.get(norm(n)) or ("ref", norm(n))) for s in states]
        if t == "cast_expression":
            return self.eval(n.child_by_field_name("value"), states)
        if t == "binary_expression":
            op = text(n.child_by_field_name("operator"))
            out = []
            for s1, a in self.eval(n.child_by_field_name("left"), states):
                for s2, b in self.eval(n.child_by_field_name("right"), [s1]):
                    if op == "|" and isinstance(a, Bits) and isinstance(b, Bits):
                        out.append((s2, Bits(a.bits | b.bits, a.handler or b.handler)))
                    elif op == "|" and (isinstance(a, Bits) or isinstance(b, Bits)):
                        out.append((s2, a if isinstance(a, Bits) else b))
                    else:
                        out.append((s2, None))
            return out
        if t == "conditional_expression":
            out = []
            for s in states:
                cond = n.child_by_field_name("condition")
                out += self.eval(n.child_by_field_name("consequence"),
                                 self.refine(s, cond, True))
                out += self.eval(n.child_by_field_name("alternative"),
                                 self.refine(s, cond, False))
            return out
        if t == "assignment_expression":
            op = text(n.child_by_field_name("operator"))
            key = norm(n.child_by_field_name("left")).lstrip("*")
            out = []
            for s, v in self.eval(n.child_by_field_name("right"), states):
                if op == "|=":
                    old = s.get(key)
                    v = Bits(old.bits | v.bits, old.handler or v.handler) \
                        if isinstance(old, Bits) and isinstance(v, Bits) else None
                elif op != "=":
                    v = None
                out.append((s.put(key, v), v))
            return out
        if t == "call_expression":
            return [x for s in states for x in self._call(n, s)]
        return [(s, None) for s in states]

    def _call(self, n, s: State) -> list[tuple[State, object]]:
        fn = _strip(n.child_by_field_name("function"))
        args = list(n.child_by_field_name("arguments").named_children)
        name = text(fn) if fn is not None and fn.type == "identifier" else ""
        if name in ("unlikely", "likely") and args:
            return self.eval(args[0], [s])
        if name in ACQUIRE and args:
            lname, mode = ACQUIRE[name]
            return [(self._acquire(s, lname, mode, text(args[0]), n), None)]
        if name in TRYLOCK and args:
            lname, mode = TRYLOCK[name]
            return [(s, None), (self._acquire(s, lname, mode, text(args[0]), n), "nonnull")]
        if name in RELEASE and args:
            lname, mode = RELEASE[name]
            return [(self._release(s, lname, mode, text(args[0]), n), None)]
        if name in ZEROING:
            return [(s, "zeroed")]
        if fn is not None and fn.type == "field_expression" and \
                text(fn.child_by_field_name("field")) in ("fault", "page_mkwrite"):
            vmf = next((norm(a).lstrip("&") for a in args
                        if norm(a).lstrip("&") and ("vmf" in text(a) or text(a).startswith("&"))),
                       "vmf")
            at = tuple(sorted((k.split(".", 1)[1], v) for k, v in s.vals
                              if k.startswith(vmf + ".") and v in ("null", "nonnull")))
            zero = s.get(vmf) == "zeroed"
            if zero:
                at = tuple(sorted(set(at) | {("*", "null")}))
            s = replace(s, atcall=at, op=text(fn.child_by_field_name("field")))
            s = s.put(vmf + ".page", "HP")
            return [(s, Bits(frozenset(), True))]
        target = self.resolve(name, self.path, name in self.delegates) \
            if name and self.depth < MAX_DEPTH else None
        if target is None:
            for a in args:
                if a.type == "pointer_expression" and text(a).startswith("&"):
                    key = norm(a.child_by_field_name("argument"))
                    if not isinstance(s.get(key), Bits):   # a result it may add bits to
                        s = s.put(key, None)
            for a in args:
                if a.type == "call_expression":
                    s = self._call(a, s)[0][0]
            return [(s, None)]
        path, node = target
        return self._inline(path, node, name, args, s)

    def _inline(self, path, node, name, args, s: State) -> list[tuple[State, object]]:
        params = _params(node)
        entry = State(held=s.held, released=s.released, hcons=s.hcons, hpage=s.hpage,
                      atcall=s.atcall, op=s.op)
        alias, amp = {}, set()
        for p, a in zip(params, args):
            if a.type == "pointer_expression" and text(a).startswith("&"):
                amp.add(p)
            t = text(a)
            if a.type == "pointer_expression" and t.startswith("&") or a.type == "identifier":
                alias[p] = norm(a.child_by_field_name("argument")) if a.type != "identifier" \
                    else text(a)
                for k, v in s.vals:
                    if k == alias[p] or k.startswith(alias[p] + "."):
                        entry = entry.put(p + k[len(alias[p]):], v)
            else:
                for st, v in self.eval(a, [s])[:1]:
                    if v is not None:
                        entry = entry.put(p, v)
        sub = Interp(path, self.resolve, self.depth + 1, self.vmf, self.visited)
        out = []
        for e in sub.run(node, entry, name):
            assumed = {(alias[k.split(".")[0]] + k[len(k.split(".")[0]):], v)
                       for k, v in e.assumed if k.split(".")[0] in alias}
            r = replace(s, held=e.held, released=e.released, hcons=e.hcons, hpage=e.hpage,
                        atcall=e.atcall or s.atcall, op=e.op or s.op,
                        assumed=s.assumed | assumed)
            for p, target in alias.items():
                for k, v in e.vals:
                    if k.startswith(p + ".") or (k == p and p in amp):
                        r = r.put(target + k[len(p):], v)
            out.append((r.put("$inner", e.get("$at")), e.get("$ret")))
        return out

    def _acquire(self, s: State, lname, mode, arg: str, node) -> State:
        name, ident = lock_ident(lname, arg)
        if any(h.key == (name, ident) for h in s.held):
            return s
        return replace(s, held=s.held | {Lock(name, ident, mode, self.path, line_of(node),
                                              self.fn)})

    def _release(self, s: State, lname, mode, arg: str, node) -> State:
        name, ident = lock_ident(lname, arg)
        mine = [h for h in s.held if h.key == (name, ident)]
        if mine:
            return replace(s, held=s.held - set(mine))
        return replace(s, released=s.released | {Lock(name, ident, mode, self.path,
                                                      line_of(node), self.fn)})


def _truth(v):
    if v in ("null",):
        return False
    if v in ("nonnull", "zeroed"):
        return True
    if isinstance(v, Bits):
        if v.bits:
            return True
        return None if v.handler else False
    return None


def _strip(n):
    while n is not None and n.type in ("parenthesized_expression", "condition_clause"):
        kids = [c for c in n.named_children if c.type != "comment"]
        n = kids[-1] if kids else None
    return n


def _param_decls(fn_node) -> list:
    d = fn_node.child_by_field_name("declarator")
    while d is not None and d.type != "function_declarator":
        d = d.child_by_field_name("declarator")
    if d is None:
        return []
    return [p for p in d.child_by_field_name("parameters").named_children
            if p.type == "parameter_declaration"]


def _params(fn_node) -> list[str]:
    from reviewbot.cparse import declarator_name
    return [declarator_name(p.child_by_field_name("declarator")) or ""
            for p in _param_decls(fn_node)]


def _order(s: "State") -> tuple:
    """A sort key for states that does not follow the hash seed (repr of a frozenset does):
    the order of states, and which ones survive the cap, are the same on every run."""
    return (sorted(map(repr, s.held)), sorted(map(repr, s.released)), repr(s.vals),
            sorted((sorted(m), t) for m, t in s.hcons), s.hpage, repr(s.atcall),
            sorted(map(repr, s.assumed)), s.op)


def _cap(states: list[State]) -> list[State]:
    uniq = sorted(set(states), key=_order)
    if len(uniq) <= MAX_STATES:
        return uniq
    # too many ways through: forget what was known about values, keep locks and tests
    return sorted({replace(s, vals=tuple(kv for kv in s.vals if kv[0].startswith("$")))
                   for s in uniq}, key=_order)[:MAX_STATES]


@dataclass
class Exit:
    """One way out of a handler or a consumer, in the terms the contract is checked in."""
    file: str
    function: str
    line: int
    bits: frozenset = frozenset()
    page: str = ""               # the handler's vmf->page: "null", "nonnull" or ""
    held: tuple = ()
    released: tuple = ()
    hcons: frozenset = frozenset()
    hpage: str = ""
    atcall: tuple = ()
    assumed: frozenset = frozenset()
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        lock = lambda l: [l.name, l.ident, l.mode, l.file, l.line, l.function]  # noqa: E731
        return {"file": self.file, "function": self.function, "line": self.line,
                "bits": sorted(self.bits), "page": self.page,
                "held": [lock(l) for l in self.held],
                "released": [lock(l) for l in self.released],
                "hcons": sorted([sorted(m), t] for m, t in self.hcons), "hpage": self.hpage,
                "atcall": [list(a) for a in self.atcall],
                "assumed": sorted(list(a) for a in self.assumed),
                "extra": {k: (sorted([list(v) for v in x]) if k == "visited" else
                              list(x) if isinstance(x, tuple) else x)
                          for k, x in self.extra.items()}}

    @classmethod
    def from_json(cls, d: dict) -> "Exit":
        extra = dict(d["extra"])
        extra["visited"] = [tuple(v) for v in extra.get("visited", [])]
        if "end" in extra:
            extra["end"] = tuple(extra["end"])
        return cls(d["file"], d["function"], d["line"], frozenset(d["bits"]), d["page"],
                   tuple(Lock(*l) for l in d["held"]), tuple(Lock(*l) for l in d["released"]),
                   frozenset((frozenset(m), t) for m, t in d["hcons"]), d["hpage"],
                   tuple(tuple(a) for a in d["atcall"]),
                   frozenset(tuple(a) for a in d["assumed"]), extra)


def vmf_param(fn_node) -> str:
    """The name of a handler's struct vm_fault * parameter (`vmf` by convention)."""
    from reviewbot.cparse import declarator_name
    for p in _param_decls(fn_node):
        if re.search(r"\bvm_fault\b", text(p)):
            return declarator_name(p.child_by_field_name("declarator")) or "vmf"
    return "vmf"
