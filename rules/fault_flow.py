"""Where a fault result goes: per-file facts of every function (its calls, whether a call's result
reaches its return, out-parameters, bit tests, NULL tests) and the walk up the callers of a
producer, through every function that returns what it got. Used by fault-contract."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from reviewbot import cparse, memo
from reviewbot.cparse import line_of, text

OPS = ("fault", "page_mkwrite", "huge_fault", "pfn_mkwrite")   # vm_operations_struct members
OPS_HINTS = ("fault", "mkwrite")     # a line that names a member of OPS holds one of these
MAX_LEVELS = 8
NULLISH = re.compile(r"^\(?\s*(?:!\s*)?(\w+(?:(?:->|\.)\w+)*)\s*\)?$")


def _strip(n):
    while n is not None and n.type == "parenthesized_expression" and n.named_children:
        n = n.named_children[0]
    return n


def _callee(call) -> str:
    """`f` for f(...), `->fault` for x->vm_ops->fault(...), '' otherwise."""
    fn = _strip(call.child_by_field_name("function"))
    if fn is None:
        return ""
    if fn.type == "identifier":
        return text(fn)
    if fn.type == "field_expression":
        f = fn.child_by_field_name("field")
        if f is not None and text(f) in OPS:
            return "->" + text(f)
    return ""


def _null_tested(cond) -> list[str]:
    """Expressions a condition tests for NULL: `if (x)`, `if (!x)`, `x == NULL`, `x && ...`."""
    out, stack = [], [cond]
    while stack:
        n = _strip(stack.pop())
        if n is None:
            continue
        if n.type in ("identifier", "field_expression"):
            out.append("".join(text(n).split()))
        elif n.type == "unary_expression" and text(n.child_by_field_name("operator")) == "!":
            stack.append(n.child_by_field_name("argument"))
        elif n.type == "binary_expression":
            op = text(n.child_by_field_name("operator"))
            l, r = n.child_by_field_name("left"), n.child_by_field_name("right")
            if op in ("&&", "||"):
                stack += [l, r]
            elif op in ("==", "!=") and "NULL" in (text(l), text(r)):
                stack.append(r if text(l) == "NULL" else l)
        elif n.type == "call_expression" and text(n.child_by_field_name("function")) in (
                "unlikely", "likely"):
            stack += list(n.child_by_field_name("arguments").named_children)
    return out


def function_facts(src: bytes) -> dict:
    """For each function of a file: {"line", "end", "calls": [[callee, line, carried,
    [out-args]]], "tests": [bit], "nulls": [expr tested for NULL], "uses": [[var, callee,
    line]]}. `carried`: the call's result reaches one of the function's returns (directly or
    through the variable it is stored in); `->fault` stands for a call through vm_ops."""
    from reviewbot_rules.fault_contract import FLAG, TESTS, bit_role
    out: dict[str, dict] = {}
    for fn in cparse.functions(src):
        calls, stored, returned = [], {}, set()
        tests, nulls, uses = set(), set(), []
        for n in _walk(fn.node):
            t = n.type
            if t == "call_expression":
                name = _callee(n)
                if not name:
                    continue
                args = n.child_by_field_name("arguments")
                outs = [text(a.child_by_field_name("argument")) for a in args.named_children
                        if a.type == "pointer_expression" and text(a).startswith("&")
                        and a.child_by_field_name("argument").type == "identifier"]
                for a in args.named_children:
                    if a.type == "identifier":
                        uses.append([text(a), name, line_of(n)])
                target = _stored_in(n)
                if target:
                    stored.setdefault(target, set()).add((name, line_of(n)))
                calls.append([name, line_of(n), _in_return(n), outs])
            elif t == "return_statement" and n.named_children:
                returned |= _passed_on(n.named_children[0])
            elif t == "identifier" and FLAG.fullmatch(text(n)) and bit_role(n) in TESTS:
                tests.add(text(n))
            elif t in ("if_statement", "while_statement", "conditional_expression"):
                cond = n.child_by_field_name("condition")
                if cond is not None:
                    nulls.update(_null_tested(cond))
        for var, srcs in stored.items():
            if var in returned:
                for c in calls:
                    if (c[0], c[1]) in srcs:
                        c[2] = True
        static = any(c.type == "storage_class_specifier" and text(c) == "static"
                     for c in fn.node.children)
        prev = out.get(fn.name)     # one definition a configuration (#ifdef ... #else)
        if prev is not None:
            calls, uses = prev["calls"] + calls, prev["uses"] + uses
            tests, nulls = tests | set(prev["tests"]), nulls | set(prev["nulls"])
            static = static or prev["static"]
        out[fn.name] = {"line": prev["line"] if prev else fn.start, "end": fn.end,
                        "calls": calls, "static": static, "tests": sorted(tests),
                        "nulls": sorted(nulls), "uses": uses}
    return out


def _passed_on(expr) -> set[str]:
    """Variables a return hands on as they are: `ret`, `ret | major`, `x ? ret : 0`, a cast;
    not `ret & VM_FAULT_OOM ? -ENOMEM : 0` (that turns the result into something else)."""
    n = _strip(expr)
    if n is None:
        return set()
    if n.type == "identifier":
        return {text(n)}
    if n.type == "cast_expression":
        return _passed_on(n.child_by_field_name("value"))
    if n.type == "binary_expression" and text(n.child_by_field_name("operator")) == "|":
        return _passed_on(n.child_by_field_name("left")) | \
            _passed_on(n.child_by_field_name("right"))
    if n.type == "conditional_expression":
        return _passed_on(n.child_by_field_name("consequence")) | \
            _passed_on(n.child_by_field_name("alternative"))
    return set()


def _walk(node):
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.named_children))


def _stored_in(call) -> str:
    p = call.parent
    while p is not None and p.type in ("parenthesized_expression", "cast_expression",
                                       "binary_expression"):
        p = p.parent
    if p is not None and p.type == "assignment_expression":
        left = p.child_by_field_name("left")
        return text(left) if left.type == "identifier" else ""
    if p is not None and p.type == "init_declarator":
        return cparse.declarator_name(p.child_by_field_name("declarator")) or ""
    return ""


def _in_return(call) -> bool:
    p = call.parent
    while p is not None:
        if p.type == "return_statement":
            return True
        if p.type in ("expression_statement", "compound_statement", "if_statement",
                      "function_definition", "argument_list"):
            return False
        p = p.parent
    return False


def _is_static(tree, path: str, name: str) -> bool:
    return bool(facts_of(tree, path).get(name, {}).get("static"))


def facts_of(tree, path: str) -> dict:
    src = tree.read(path) or b""
    return memo.cached(function_facts, src) if src else {}


@dataclass
class Caller:
    """One function that receives a producer's result: `path` is the chain of functions the
    result came up through, producer first."""
    file: str
    function: str
    line: int                    # the call
    callee: str
    path: tuple[str, ...]
    carried: bool                # it returns the result on: a producer for its own callers
    tests: tuple[str, ...] = ()
    outs: tuple[str, ...] = ()   # out-parameters handed to the call (`&fault_page`)
    nulls: tuple[str, ...] = ()
    uses: tuple[tuple[str, str, int], ...] = ()
    level: int = 1
    touched: bool = False


@dataclass
class Flow:
    callers: list[Caller] = field(default_factory=list)
    carriers: dict[str, tuple[str, int]] = field(default_factory=dict)   # name -> (file, line)


def callers_of(tree, names: set[str], homes: dict[str, str] | None = None
               ) -> list[tuple[str, str, dict, list]]:
    """(file, function, its facts, call) for every call of one of `names` in the tree: one
    word-index query for all of them, then the facts of the files whose lines call one. A
    static function (`homes`: name -> its file) is called only from its own file: no query."""
    homes = {n: p for n, p in (homes or {}).items() if n in names and _is_static(tree, p, n)}
    files: set[str] = set(homes.values())
    rest = names - set(homes)
    if rest:
        tree.prefetch(sorted({n if not n.startswith("->") else "vm_ops" for n in rest}))
    for name in rest:
        if name.startswith("->"):
            # called through vm_ops: `vma->vm_ops->fault(...)`; "vm_ops" is a far rarer word
            rx = re.compile(r"->\s*" + name[2:] + r"\s*\(")
            hits = tree.grep_word("vm_ops", ("mm/",))
        else:
            word, rx = name, re.compile(r"\b" + re.escape(name) + r"\s*\(")
            hits = tree.grep_word(word)
        files |= {p for p, _ln, t in hits if p.endswith(".c") and rx.search(t)}
    out = []
    for path in sorted(files):
        for fn, facts in sorted(facts_of(tree, path).items()):
            for call in facts["calls"]:
                if call[0] in names:
                    out.append((path, fn, facts, call))
    return out


INIT = re.compile(r"\.\s*(" + "|".join(OPS) + r")\s*=\s*&?\s*(\w+)")


def _initialisers(src: bytes) -> list[list]:
    """[line, member, function] of each initialiser line of one file (kept on disk)."""
    out = []
    for i, t in enumerate(src.decode("utf-8", "replace").splitlines(), 1):
        if (OPS_HINTS[0] in t or OPS_HINTS[1] in t) and (m := INIT.search(t)):
            out.append([i, m.group(1), m.group(2)])
    return out


def ops_initialisers(tree) -> list[tuple[str, int, str, str]]:
    """(file, line, member, function) of every `.fault = f` (or another vm_ops member in
    OPS) in the files of the tree that name vm_operations_struct."""
    cached = getattr(tree, "_reviewbot_ops", None)
    if cached is not None:
        return cached
    out = []
    for path in sorted({p for p, _l, _t in tree.grep_word("vm_operations_struct")
                        if p.endswith(".c")}):
        src = tree.read(path) or b""
        out += [(path, i, op, fn) for i, op, fn in memo.cached(_initialisers, src)]
    tree._reviewbot_ops = out      # one scan a tree view: both rules ask
    return out


def _wired(tree, names: set[str]) -> dict[str, str]:
    """name -> `->fault` for a producer that nobody calls by name but a vm_operations_struct
    initialiser wires (`.fault = ext2_dax_fault`): its callers are the calls through vm_ops."""
    out = {}
    for _p, _l, member, fn in ops_initialisers(tree):
        if fn in names:
            out.setdefault(fn, "->" + member)
    return out


def walk_up(tree, seeds: dict[str, tuple[str, int]], touched: set[tuple[str, str]],
            levels: int = MAX_LEVELS) -> Flow:
    """walk_up_uncached, from the memo when this state of the tree was walked before."""
    from dataclasses import asdict
    seeds_j = sorted([n, p, ln] for n, (p, ln) in seeds.items())
    touched_j = sorted([p, f] for p, f in touched)

    def compute(seeds_j, touched_j, levels):
        flow = walk_up_uncached(tree, {n: (p, ln) for n, p, ln in seeds_j},
                                {(p, f) for p, f in touched_j}, levels)
        return {"callers": [asdict(c) for c in flow.callers],
                "carriers": sorted([n, p, ln] for n, (p, ln) in flow.carriers.items())}
    got = per_view(tree, (__name__, "reviewbot_rules.fault_contract"), "walk-up", compute,
                   seeds_j, touched_j, levels)
    return Flow([Caller(**{k: tuple(tuple(x) if isinstance(x, list) else x for x in v)
                           if isinstance(v, list) else v for k, v in c.items()})
                 for c in got["callers"]], {n: (p, ln) for n, p, ln in got["carriers"]})


def walk_up_uncached(tree, seeds: dict[str, tuple[str, int]], touched: set[tuple[str, str]],
                     levels: int = MAX_LEVELS) -> Flow:
    """Every caller of the seed producers, level by level, through every caller that returns
    the result it got (it becomes a producer for its own callers); a producer wired into a
    vm_operations_struct is called through vm_ops (`->fault`)."""
    flow = Flow(carriers=dict(seeds))
    paths = {name: (name,) for name in seeds}
    frontier = set(seeds)
    seen: set[tuple[str, str, int]] = set()
    for level in range(1, levels + 1):
        for name, op in _wired(tree, frontier).items():
            if op not in paths:
                paths[op] = paths[name] + (op,)
                frontier.add(op)
        if not frontier:
            break
        nxt: set[str] = set()
        homes = {n: flow.carriers[n][0] for n in frontier if n in flow.carriers}
        for path, fn, facts, call in callers_of(tree, frontier, homes):
            callee, line, carried, outs = call
            if (path, fn, line) in seen or fn == callee:
                continue
            seen.add((path, fn, line))
            c = Caller(path, fn, line, callee, paths[callee] + (fn,), bool(carried),
                       tuple(facts["tests"]), tuple(outs), tuple(facts["nulls"]),
                       tuple((u[0], u[1], u[2]) for u in facts["uses"] if u[0] in outs),
                       level, (path, fn) in touched)
            flow.callers.append(c)
            if carried and fn not in paths:
                flow.carriers[fn] = (path, facts["line"])
                paths[fn] = c.path
                nxt.add(fn)
        frontier = nxt
    flow.callers.sort(key=lambda c: (c.level, c.file, c.line, c.function))
    return flow


_HELD: dict = {}


def per_view(tree, modules: tuple, tag: str, compute, *args):
    """compute() for one state of the tree, from the on-disk memo when this code already ran
    it on the same base tree with the same series files on top: a repeat review reads no
    file for it. `modules`: the modules whose code the result depends on."""
    import hashlib
    import inspect
    import json
    import sys
    code = hashlib.sha1("".join(inspect.getsource(sys.modules[m]) for m in modules)
                        .encode()).hexdigest()
    key = json.dumps([getattr(getattr(tree, "words", None), "tree", ""), tree.base,
                      sorted(tree.overlay.items(), key=lambda kv: kv[0]), code]).encode()
    _HELD[tag] = compute
    try:
        return memo.cached(_held, key, tag, *args)
    finally:
        _HELD.pop(tag, None)


def _held(_key: bytes, tag: str, *args):
    return _HELD[tag](*args)
