"""Changed-line coverage: which added or changed lines of the fault path (the tree functions
a scenario can reach) ran in some explored execution, and which were never reached."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from . import ir, prims

if TYPE_CHECKING:
    from .program import Program


def _names(e: Any, out: set[str]) -> None:
    if type(e) is tuple:
        if len(e) in (2, 3) and e[0] == "name" and type(e[1]) is str:
            out.add(e[1])
        for x in e:
            _names(x, out)


def reachable(prog: Program, roots: Iterable[str | None]) -> set[str]:
    """Names of the functions (tree and model) a run starting at roots can enter: direct
    calls, functions named as values (handlers passed to sim_enter), and the handlers the
    scenario's vm_operations_struct wires."""
    seen, todo = set(), [r for r in roots if r and prog.has_func(r)]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        fn = prog.func(name)
        found = set()
        for ins in fn.code:
            if ins[0] == ir.CALL:
                _names(ins[3], found)
                _names(ins[4], found)
            else:
                _names(ins[2:], found)
        for n in found:
            p = prims.PRIMS.get(n)
            if p is not None and not (p.prefer_tree and prog.cfg.get("tree_helpers") and prog.is_tree_func(n)):
                continue
            if n not in seen and prog.has_func(n) and not prog.func(n).error:
                todo.append(n)
    return seen


def changed_spans(prog: Program, funcs: Iterable[str], changed: dict[str, set[int]]) -> dict[tuple, str]:
    """{(path, first, last): function} for each statement of a reachable tree function that
    holds a changed line; changed is {path: set of lines}."""
    out = {}
    for name in sorted(funcs):
        if not prog.is_tree_func(name):
            continue
        fn = prog.func(name)
        lines = changed.get(fn.path)
        if not lines:
            continue
        for ln in sorted(lines):
            if ln < 0:          # a deletion point: the next statement, else the one before
                at = -ln
                if not fn.line <= at <= fn.last_line + 1:
                    continue
                after = [sp for sp in fn.spans if sp[0] >= at]
                before = [sp for sp in fn.spans if sp[1] < at]
                sp = min(after) if after else (max(before, key=lambda x: x[1]) if before else None)
            elif fn.line <= ln <= fn.last_line:
                sp = fn.span_of(ln)
            else:
                continue
            if sp is not None:
                out[(fn.path, sp[0], sp[1])] = name
    return out


def measure(prog: Program, roots: Iterable[str | None], changed: dict[str, set[int]] | None,
            executed: Iterable[tuple[str, int]]) -> dict:
    """The coverage record of one run: changed fault-path statements (by their first line),
    those some execution ran, and those none did."""
    funcs = reachable(prog, roots)
    spans = changed_spans(prog, funcs, changed or {})
    by_path: dict = {}
    for path, line in executed:
        by_path.setdefault(path, set()).add(line)
    reached, missed = [], []
    for (path, a, b), fn in sorted(spans.items()):
        ran = by_path.get(path, ())
        item = {"file": path, "line": a, "function": fn}
        (reached if any(a <= x <= b for x in ran) else missed).append(item)
    return {"changed": len(spans), "reached": reached, "not_reached": missed}


def merge(records: list[dict]) -> dict:
    """Coverage over several runs: a changed statement counts as reached if any run ran it."""
    all_items, ran = {}, set()
    for r in records:
        for it in r.get("reached", []) + r.get("not_reached", []):
            all_items[(it["file"], it["line"])] = it
        for it in r.get("reached", []):
            ran.add((it["file"], it["line"]))
    reached = [all_items[k] for k in sorted(all_items) if k in ran]
    missed = [all_items[k] for k in sorted(all_items) if k not in ran]
    return {"changed": len(all_items), "reached": reached, "not_reached": missed}


def describe_missing(missed: list[dict], limit: int = 8) -> str:
    items = ["%s:%d (%s())" % (m["file"], m["line"], m["function"]) for m in missed]
    more = len(items) - limit
    return ", ".join(items[:limit]) + (", and %d more" % more if more > 0 else "")


def _mark_deletion(out: dict[str, set[int]], path: str, at: int, nlines: int) -> None:
    # a deletion leaves no line behind: it is kept as -line (the line after it), and stands
    # for the statement that runs next (changed_spans)
    out.setdefault(path, set()).add(-max(1, min(at, max(nlines, 1))))


def changed_between(path: str, old: bytes | None, new: bytes | None,
                    out: dict[str, set[int]] | None = None) -> dict[str, set[int]]:
    """Lines of new that differ from old (added or replaced), and the neighbours of deletions."""
    import difflib
    out = {} if out is None else out
    a = (old or b"").decode("utf-8", "replace").splitlines()
    b = (new or b"").decode("utf-8", "replace").splitlines()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag in ("replace", "insert"):
            out.setdefault(path, set()).update(range(j1 + 1, j2 + 1))
        elif tag == "delete":
            _mark_deletion(out, path, j1 + 1, len(b))
    return out


def changed_from_diff(text: str) -> dict[str, set[int]]:
    """{path: lines} of the post-image from a unified diff (the tree is the patched one)."""
    import unidiff
    out: dict = {}
    for pf in unidiff.PatchSet(text):
        path = pf.path
        for h in pf:
            prev = h.target_start - 1
            for ln in h:
                if ln.is_added:
                    out.setdefault(path, set()).add(ln.target_line_no)
                    prev = ln.target_line_no
                elif ln.is_removed:
                    _mark_deletion(out, path, prev + 1, 10 ** 9)
                else:
                    prev = ln.target_line_no
    return out
