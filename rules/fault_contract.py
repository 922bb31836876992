"""fault-contract: a series that changes what a VM_FAULT_* bit means is flagged, with every
producer and consumer of that bit in the tree. Documentation: fault_contract.md beside this file."""
from __future__ import annotations

import re
from typing import Iterable

from reviewbot import cindex, cparse, memo
from reviewbot_rules import fault_flow
from reviewbot.cparse import line_of, text
from reviewbot.diff import UNKNOWN_BLOCK, images, is_c
from reviewbot.engine import Context
from reviewbot.findings import Finding, Site

FLAG = re.compile(r"\bVM_FAULT_[A-Z0-9_]+\b")
DOCS = ("Documentation/filesystems/locking.rst", "Documentation/filesystems/Locking")
CHECK_TREE = "fault-contract: producers and consumers in the whole tree"
CHECK_DOCS = "fault-contract: which locking document the tree has"
# how code uses a bit, by its place in the syntax tree; the first three read it (consumer)
TESTS = ("tested", "compared", "masked")


def bit_role(node) -> str:
    """How one use of a bit acts: 'tested' (with & or as a condition), 'compared' (==, !=,
    case), 'masked' (cleared with ~), 'returned', 'or-ed' (into a result), 'assigned',
    'passed' (an argument), or 'other'."""
    n = node
    while n.parent is not None:
        p = n.parent
        t = p.type
        if t == "binary_expression":
            op = text(p.child_by_field_name("operator"))
            if op == "&":
                return "tested"
            if op in ("==", "!="):
                return "compared"
            if op in ("&&", "||"):
                return "tested"
            if op != "|":
                return "other"
        elif t == "unary_expression":
            op = text(p.child_by_field_name("operator"))
            return "masked" if op == "~" else "tested" if op == "!" else "other"
        elif t == "assignment_expression":
            op = text(p.child_by_field_name("operator"))
            return {"|=": "or-ed", "&=": "masked", "=": "assigned"}.get(op, "other")
        elif t == "return_statement":
            return "returned"
        elif t == "case_statement":
            return "compared"
        elif t in ("if_statement", "while_statement", "do_statement"):
            return "tested"
        elif t == "conditional_expression":
            if n == p.child_by_field_name("condition"):
                return "tested"
        elif t in ("init_declarator", "initializer_pair", "initializer_list"):
            return "assigned"
        elif t == "argument_list":
            call = p.parent
            fn = text(call.child_by_field_name("function")) if call is not None else ""
            if fn not in ("unlikely", "likely", "WARN_ON", "WARN_ON_ONCE", "BUG_ON"):
                return "passed"
        elif t in ("expression_statement", "compound_statement", "function_definition",
                   "translation_unit", "ERROR"):
            return "other"
        n = p
    return "other"


def status_of(role: str) -> str:
    return "consumer" if role in TESTS else "producer"


def bit_uses(src: bytes, flag: str | None = None):
    """(flag, function, role, line) for every use of a VM_FAULT_* bit (or of `flag`) in code;
    definitions and name tables are in `bit_definitions`."""
    stack = [cparse.parse(src).root_node]
    while stack:
        node = stack.pop()
        if node.type in ("preproc_def", "preproc_function_def", "enumerator"):
            continue
        if node.type == "identifier":
            name = text(node)
            if (name == flag) if flag else FLAG.fullmatch(name):
                yield name, cindex.enclosing_function(node), bit_role(node), line_of(node)
            continue
        stack.extend(node.named_children)


def _definitions(src: bytes) -> dict[str, tuple[str, int, int]]:
    """bit_definitions, kept on disk: a repeat review parses nothing for it."""
    return {k: tuple(v) for k, v in memo.cached(_definitions_json, src).items()}


def _definitions_json(src: bytes) -> dict:
    return {k: list(v) for k, v in bit_definitions(src).items()}


def _uses(src: bytes) -> list[tuple[str, str, str, int]]:
    """bit_uses of every bit, kept on disk."""
    return [tuple(u) for u in memo.cached(_uses_json, src)]


def _uses_json(src: bytes) -> list:
    return [list(u) for u in bit_uses(src)]


def bit_definitions(src: bytes) -> dict[str, tuple[str, int, int]]:
    """VM_FAULT_* name -> (its value, spaces normalised; first and last src line)."""
    out = {}
    for node in cindex.walk(cparse.parse(src).root_node):
        if node.type in ("preproc_def", "enumerator"):
            name = node.child_by_field_name("name")
            if name is not None and FLAG.fullmatch(text(name)):
                val = node.child_by_field_name("value")
                out[text(name)] = (" ".join(text(val).split()) if val is not None else "",
                                   line_of(node), node.end_point[0] + 1)
    return out


def flag_roles(src: bytes, path: str, flag: str) -> list[tuple[int, str, str]]:
    """(line, function, status) for every use of `flag` in one C file, status one of
    'definition', 'name table', 'consumer', 'producer'. Only the places where the word occurs
    are looked at: the syntax tree is entered at each occurrence, never walked whole."""
    root = cparse.parse(src).root_node
    word = re.compile(rb"(?<![A-Za-z0-9_])" + re.escape(flag.encode()) + rb"(?![A-Za-z0-9_])")
    out: set[tuple[int, str, str]] = set()
    macros = {}
    for m in word.finditer(src):
        node = root.named_descendant_for_byte_range(m.start(), m.end())
        if node is None:
            continue
        anc, p = None, node.parent if node.type == "identifier" else node
        while p is not None:
            if p.type in ("preproc_def", "preproc_function_def", "enumerator"):
                anc = p
                break
            p = p.parent
        if anc is None:
            if node.type == "identifier" and node.start_byte == m.start() and \
                    node.end_byte == m.end():
                out.add((line_of(node), cindex.enclosing_function(node),
                         status_of(bit_role(node))))
        elif anc.type == "enumerator":
            if text(anc.child_by_field_name("name")) == flag:
                out.add((line_of(anc), "", "definition"))
        else:
            macros[anc.start_byte] = anc
    for node in macros.values():
        name, val = node.child_by_field_name("name"), node.child_by_field_name("value")
        if name is not None and text(name) == flag:
            out.add((line_of(node), "", "definition"))
        elif val is not None and re.search(r"\b" + flag + r"\b", text(val)):
            role = "name table" if '"' in text(val) else "definition"
            out.update((line_of(val) + i, "", role) for i, ln in
                       enumerate(text(val).splitlines()) if re.search(r"\b" + flag + r"\b", ln))
    return sorted(out)


def _fn_name(fn: str) -> str:
    return "" if fn == UNKNOWN_BLOCK else fn


def _where(fn: str, path: str) -> str:
    return f"{fn}()" if fn else path


def _changed_functions(img) -> dict[str, int]:
    """Functions of an image holding a changed line -> their first file line."""
    import bisect
    out = {}
    changed = sorted(img.changed)     # one binary search a function, not a scan (issue 13)
    for f in cparse.function_spans(img.src):
        i = bisect.bisect_left(changed, f.start)
        if i < len(changed) and changed[i] <= f.end:
            out.setdefault(f.name, img.file_line(f.start) or img.file_line(changed[i]))
    return out


def contract_changes(ctx: Context) -> dict[str, list[tuple[int, str, str, int, str]]]:
    """flag -> [(rank, reason, file, line, function)], best evidence first, for the bits this
    patch changes the meaning of. Read from the parsed pre- and post-image of every change:
    a definition whose value changes, a function whose set of tests of a bit changes (a
    reflowed condition or a bit only returned changes nothing), and a changelog that gives a
    bit a new meaning while the patch changes a function using it."""
    out: dict[str, list[tuple[int, str, str, int, str]]] = {}
    changelog_flags = meaning_flags(ctx.patch.changelog)
    before = ctx.before_patch.read if ctx.before_patch is not None else None
    after = ctx.after_patch.read if ctx.after_patch is not None else None
    tests: dict[tuple[str, str], list[set]] = {}     # (file, function) -> [pre, post] tests
    where: dict[tuple[str, str], int] = {}
    uses: dict[tuple[str, str], dict[str, bool]] = {}  # flag -> used on a changed line?
    for f in ctx.diff.files:
        if not is_c(f.path):
            continue
        for pre, post in images(f, before, after):
            if b"VM_FAULT_" not in pre.src and b"VM_FAULT_" not in post.src or \
                    not changelog_flags and cparse.same_code(pre.src, post.src):
                # no bit on either side, or only comments and layout changed and the changelog
                # gives no bit a new meaning (a comment may document one): nothing to parse
                continue
            old_d, new_d = _definitions(pre.src), _definitions(post.src)
            for flag in sorted(set(old_d) | set(new_d)):
                o, n = old_d.get(flag), new_d.get(flag)
                touched = (o is not None and any(o[1] <= c <= o[2] for c in pre.changed)) or \
                    (n is not None and any(n[1] <= c <= n[2] for c in post.changed))
                line = post.file_line(n[1]) if n else 0
                if touched and (o is None or n is None or o[0] != n[0]):
                    out.setdefault(flag, []).append((0, "its definition changes", f.path, line, ""))
                elif touched and flag in changelog_flags:
                    out.setdefault(flag, []).append(
                        (0, "the changelog gives it a new meaning and the patch edits its "
                            "definition", f.path, line, ""))
            pre_fns, post_fns = _changed_functions(pre), _changed_functions(post)
            fns = set(pre_fns) | set(post_fns)    # changed on either side: compare both
            for name in fns:
                key = (f.path, _fn_name(name))
                tests.setdefault(key, [set(), set()])
                where.setdefault(key, post_fns.get(name) or pre_fns.get(name, 0))
            for side, img in ((0, pre), (1, post)):
                for flag, fn, role, ln in _uses(img.src):
                    if fn in fns:
                        key = (f.path, _fn_name(fn))
                        if role in TESTS:
                            tests[key][side].add((flag, role))
                        u = uses.setdefault(key, {})
                        u[flag] = u.get(flag, False) or ln in img.changed
    added = {(k, t) for k, (a, b) in tests.items() for t in b - a}
    removed = {(k, t) for k, (a, b) in tests.items() for t in a - b}
    moved = {t for _k, t in added} & {t for _k, t in removed}   # into a helper, out of another
    for (path, fn), (flag, role) in sorted(added | removed):
        if (flag, role) in moved:
            continue
        what = "a new test" if ((path, fn), (flag, role)) in added else "a test"
        how = {"tested": "", "compared": " (compared)", "masked": " (masked off)"}[role]
        tail = "" if what == "a new test" else " removed"
        out.setdefault(flag, []).append(
            (1, f"{what} of it{how}{tail} in {_where(fn, path)}", path, where.get((path, fn), 0),
             fn))
    for (path, fn), flags in sorted(uses.items()):
        for flag in sorted(changelog_flags & set(flags)):
            if fn:
                out.setdefault(flag, []).append(
                    (2 if flags[flag] else 3, f"the changelog gives it a new meaning and "
                     f"{fn}() handles it", path, where.get((path, fn), 0), fn))
    return {flag: sorted(set(r)) for flag, r in out.items()}


_HANDLES = re.compile(r"the changelog gives it a new meaning and (\S+\(\)) handles it")


def _join_reasons(reasons: list[str]) -> str:
    """The reasons as one clause each: the functions that handle the changelog's new meaning
    are named together, not in a clause of their own each."""
    fns = [m.group(1) for r in reasons if (m := _HANDLES.fullmatch(r))]
    out, said = [], False
    for r in reasons:
        if not _HANDLES.fullmatch(r):
            out.append(r)
        elif not said:
            said = True
            names = fns[0] if len(fns) == 1 else ", ".join(fns[:-1]) + " and " + fns[-1]
            out.append(f"the changelog gives it a new meaning, and {names} "
                       f"{'handles' if len(fns) == 1 else 'handle'} it")
    return "; ".join(out)


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


MEANING = re.compile(r"\b(?:allow|may (?:now )?return|can now|now returns?|instead of|in place of|"
                     r"means?|meaning|indicat\w*|signals?)\b", re.I)


def meaning_flags(changelog: str) -> set[str]:
    """Bits the changelog gives a new meaning: named in a sentence that allows, redefines or
    qualifies a return of them (`Allow it to return X with ...`, `X now means ...`)."""
    out = set()
    flat = " ".join(changelog.split())
    for sentence in re.split(r"(?<=[.!?])\s+", flat):
        flags = FLAG.findall(sentence)
        if not flags:
            continue
        for flag in flags:
            if MEANING.search(sentence) or re.search(r"\breturn\w*\s+" + flag + r"\s+with\b",
                                                     sentence):
                out.add(flag)
    return out


def _changes(ctx: Context) -> dict[str, list[tuple[int, str, str, int, str]]]:
    """contract_changes, once a patch: the engine asks for the words before the check runs."""
    key = ("fault-contract:changes", ctx.patch.msgid)
    if key not in ctx.shared:
        ctx.shared[key] = contract_changes(ctx)
    return ctx.shared[key]


class FaultContract:
    """A change to what a VM_FAULT_* return bit means, with every producer and consumer."""
    id = "fault-contract"
    severity = "warning"
    summary = "changing the meaning of a VM_FAULT_* bit touches every producer and consumer"

    def grep_words(self, ctx: Context) -> set[str]:
        changes = _changes(ctx)
        words = set(changes)
        if changes:
            words |= {NAME_TABLE, "vm_operations_struct", "vm_ops"}
            words |= {fn for fns in _patch_seeds(ctx, changes)[0].values() for fn in fns}
        return words

    def check(self, ctx: Context) -> Iterable[Finding]:
        if ctx.side == "base":
            return   # the change is the patch itself: nothing in the base to compare with
        changes = _changes(ctx)
        for flag in sorted(changes):
            reasons = changes[flag]
            _rank, _why, file, line, fn = reasons[0]
            why = _join_reasons(list(dict.fromkeys(r for _k, r, *_x in reasons)))
            if ctx.tree is None:
                ctx.skip(CHECK_TREE, f"no kernel tree: producers and consumers of {flag} "
                                     "outside the diff are not listed")
                sites = self._diff_sites(ctx, flag)
                extra = "producers and consumers outside the diff were not listed (no tree)"
            else:
                sites = self._tree_sites(ctx, flag)
                cons = [s for s in sites if s.status == "consumer"]
                prod = [s for s in sites if s.status == "producer"]
                untouched = [s for s in cons if not s.touched]
                extra = (f"{_n(len(prod), 'producer')} and {_n(len(cons), 'consumer')} in the "
                         f"tree; {_n(len(untouched), 'consumer')} "
                         f"{'is' if len(untouched) == 1 else 'are'} not touched by the series")
            untouched_c = sorted({f"{s.file}:{s.function}" for s in sites
                                  if s.status == "consumer" and not s.touched and s.function})
            details = {"flag": flag, "reasons": list(dict.fromkeys(r for _k, r, *_x in reasons)),
                       "untouched_consumers": untouched_c}
            peers: list[Finding] = []
            if ctx.tree is not None:
                flow_sites, consumers, peers = self._flow(ctx, flag, file, line)
                sites = _merge_sites(sites, flow_sites)
                if consumers:
                    details["consumers"] = consumers
                    bad = sum(1 for c in consumers if c['handles'] is False)
                    extra += (f"; {_n(len(consumers), 'caller')} "
                              f"{'receives' if len(consumers) == 1 else 'receive'} its "
                              f"producers' result ({bad} "
                              f"{'does' if bad == 1 else 'do'} not handle the new case)")
            yield Finding(
                rule=self.id, severity=self.severity, patch=ctx.patch.msgid, file=file,
                line=line, function=fn, sites=sites,
                message=f"changes what {flag} means ({why}); {extra}",
                key=f"{flag}:change", details=details)
            # a peer is one finding a series, on the first patch that reaches it
            told = ctx.shared.setdefault(("fault-contract:peers", ctx.side), set())
            for p in peers:
                if p.key not in told:
                    told.add(p.key)
                    yield p
            first = ("fault-contract:documentation", flag)
            if _doc_updated(ctx, flag) or ctx.shared.setdefault(first, ctx.patch.msgid) \
                    != ctx.patch.msgid:
                continue
            doc, assumed = _locking_doc(ctx)
            if doc is None:
                ctx.skip(CHECK_DOCS, f"the tree has none of {', '.join(DOCS)}")
                continue
            dline = 0
            if ctx.tree is not None:
                data = (ctx.tree.read(doc) or b"").decode("utf-8", "replace").splitlines()
                dline = next((i for i, t in enumerate(data, 1) if "->fault" in t or
                              "fault:" in t), 0)
            yield Finding(
                rule=self.id, severity=self.severity, patch=ctx.patch.msgid, file=doc,
                line=dline, function="",
                message=f"the meaning of {flag} changes but neither {doc}{assumed} nor the "
                        f"comments on struct vm_fault are updated",
                key=f"{flag}:documentation",
                details={"flag": flag, "documents": [doc]})

    def _tree_sites(self, ctx: Context, flag: str) -> list[Site]:
        tree = ctx.tree
        sites: list[Site] = []
        by_file: dict[str, list[int]] = {}
        for path, ln, _t in tree.grep_word(flag):
            by_file.setdefault(path, []).append(ln)
        for path in sorted(by_file):
            if is_c(path):
                src = tree.read(path) or b""
                for ln, fn, role in memo.cached(flag_roles, src, path, flag):
                    sites.append(Site(path, ln, fn, role, (path, fn) in ctx.touched
                                      if fn else _file_touched(ctx, path)))
            elif path.startswith("Documentation/"):
                for ln in by_file[path]:
                    sites.append(Site(path, ln, "", "documentation", _file_touched(ctx, path)))
        return sites

    def _flow(self, ctx: Context, flag: str, file: str, line: int
              ) -> tuple[list[Site], list[dict], list[Finding]]:
        """The callers that receive the result of the functions the patch changes, at every
        level (through each caller that returns it on), with whether each handles the new
        case; for a new bit (or a changelog that gives an old one a new rule) a warning for
        each caller outside the series that does not act on it, and for each name table
        that does not name a new bit."""
        seeds, null_case = _seeds(ctx, _changes(ctx))
        seeds = {f: fns for f, fns in seeds.items() if f in _changes(ctx)}
        if flag not in seeds:
            return [], [], []
        flow = fault_flow.walk_up(ctx.tree, seeds[flag], ctx.touched)
        sites, consumers, peers = [], [], []
        new_bit = ctx.base is not None and not any(
            is_c(p) for p, _l, _t in ctx.base.grep_word(flag))
        new_rule = flag in meaning_flags(ctx.patch.changelog)
        for c in flow.callers:
            if c.function in seeds[flag]:
                continue            # a function the patch changes for this bit: not a consumer
            handles, how = _verdict(c, flag, null_case)
            via = " <- ".join(c.path)
            sites.append(Site(c.file, c.line, c.function, "consumer", c.touched,
                              f"via {via}: {how}"))
            consumers.append({"function": c.function, "file": c.file, "line": c.line,
                              "path": list(c.path), "level": c.level, "handles": handles,
                              "how": how, "touched": c.touched})
            peer = not c.touched and ((new_bit and not c.carried and flag not in c.tests)
                                      or (new_rule and flag in c.tests))
            if not peer:
                continue
            chain = [Site(*flow.carriers[n], n, "producer", (flow.carriers[n][0], n)
                          in ctx.touched, f"returns {flag}" if i == 0 else
                          f"returns {c.path[i - 1]}()'s result")
                     for i, n in enumerate(c.path[:-1]) if n in flow.carriers]
            tests = ", ".join(t for t in c.tests if t != flag)
            why = (f"tests {tests}, but not the new {flag}" if new_bit and tests else
                   f"does not test the new {flag}" if new_bit else
                   f"tests {flag}, whose rule the series changes")
            peers.append(Finding(
                rule=self.id, severity=self.severity, patch=ctx.patch.msgid, file=c.file,
                line=c.line, function=c.function,
                message=f"{c.file}: {c.function}() calls {c.callee}"
                        f"{'' if c.callee.startswith('->') else '()'} and {why} "
                        f"(via {via}); the series does not touch it",
                key=f"{flag}:peer:{c.file}:{c.function}",
                sites=chain + [Site(c.file, c.line, c.function, "consumer", False,
                                    f"via {via}: {how}")],
                details={"flag": flag, "path": list(c.path), "callee": c.callee,
                         "tests": list(c.tests), "new_bit": new_bit,
                         "call": {"file": c.file, "line": c.line, "function": c.function}}))
        if new_bit:
            for path, ln, names in _name_tables(ctx.tree, flag):
                touched = _file_touched(ctx, path)
                sites.append(Site(path, ln, "", "name table", touched,
                                  f"{NAME_TABLE} {'names' if names else 'does not name'} {flag}"))
                if not names:
                    peers.append(Finding(
                        rule=self.id, severity=self.severity, patch=ctx.patch.msgid,
                        file=path, line=ln, function="",
                        message=f"{path}: {NAME_TABLE} does not name the new {flag}",
                        key=f"{flag}:name-table:{path}",
                        sites=[Site(path, ln, "", "name table", False,
                                    f"{NAME_TABLE} does not name {flag}")],
                        details={"flag": flag, "table": NAME_TABLE, "new_bit": True}))
        return sites, consumers, peers

    def _diff_sites(self, ctx: Context, flag: str) -> list[Site]:
        """No tree: the uses of the bit in the series' changed code and its context."""
        sites = []
        for pd in ctx.diffs:
            for f in pd.files:
                if not is_c(f.path):
                    continue
                for _pre, post in images(f, None, None):
                    for _f, fn, role, ln in bit_uses(post.src, flag):
                        if post.file_line(ln):
                            sites.append(Site(f.path, post.file_line(ln), _fn_name(fn),
                                              status_of(role), True, role))
        return sorted(set(sites), key=lambda s: (s.file, s.line, s.function, s.status))

    # what is said about a finding: the reply's questions, the checklist's item, the simulator
    def questions(self, f: Finding) -> list[str]:
        flag = f.details.get("flag") or "the changed bit"
        if ":peer:" in f.key:
            what = "handle the new" if f.details.get("new_bit") else "still be right about"
            return [f"Does {f.function}() in {f.file} need to {what} {flag}, which reaches it "
                    f"via {' <- '.join(f.details.get('path', []))}?"]
        if ":name-table:" in f.key:
            return [f"Should {f.details.get('table', NAME_TABLE)} in {f.file} name {flag}, "
                    "so that traces print it?"]
        qs = []
        for c in f.details.get("consumers", []):
            if c.get("handles") is False and not c.get("touched"):
                qs.append(f"Does {c['function']}() in {c['file']}, which {c['how']} (via "
                          f"{' <- '.join(c['path'][:-1])}), handle the new meaning of {flag}?")
        for s in f.sites:
            if s.touched or s.detail:        # a caller reached through return values: above
                continue
            if s.status in ("consumer", "name table"):
                fn = f"{s.function}()" if s.function else s.file
                qs.append(f"Does {fn} in {s.file} still handle {flag} correctly with the new "
                          "meaning?")
            elif s.status == "documentation":
                qs.append(f"Does {s.file} need an update to describe the new contract?")
        docs = f.details.get("documents") or []
        if not qs and docs:
            qs.append(f"Should {docs[0]} or the comments on struct vm_fault describe the new "
                      f"meaning of {flag}?")
        elif not qs:
            qs.append(f"Does every caller that tests {flag} cope with the new meaning, "
                      "including the arch fault handlers and gup?")
        return list(dict.fromkeys(qs))

    def checklist_items(self, f: Finding) -> list:
        from reviewbot.engine import ChecklistItem
        flag = f.details.get("flag")
        if not flag:
            return []
        if ":peer:" in f.key:
            return [f"`{f.function}()` ({f.file}:{f.line}) receives `{flag}` via "
                    f"{' <- '.join(f.details.get('path', []))}: is it handled there?"]
        if ":name-table:" in f.key:
            return [f"`{NAME_TABLE}` ({f.file}:{f.line}) names `{flag}`?"]
        untouched = [s for s in f.sites if not s.touched and s.status == "consumer"]
        return [ChecklistItem(
            f"`{flag}` is changed or newly relied on: is every producer and consumer of it "
            "audited (core mm, arch/*/mm/fault.c, gup, filesystems, the "
            "VM_FAULT_RESULT_TRACE names)?",
            (f"fault-contract lists {len(f.sites)} sites, {len(untouched)} consumers the "
             "series does not touch",), topic=("flag", flag))] + [
            f"`{c['function']}()` ({c['file']}:{c['line']}, via "
            f"{' <- '.join(c['path'][:-1])}): {c['how']}: does it handle the new meaning?"
            for c in f.details.get("consumers", []) if c.get("handles") is False]

    def simulation_request(self, f: Finding):
        from reviewbot.engine import SimulationRequest
        return SimulationRequest(f.function) if f.key.endswith(":change") else None


def _locking_doc(ctx: Context) -> tuple[str | None, str]:
    """The locking document of the tree's era (`Locking` until it became `locking.rst`), and,
    with no tree, the assumption made about it."""
    if ctx.tree is not None:
        return next((d for d in DOCS if ctx.tree.exists(d)), None), ""
    named = [d for d in DOCS if _file_touched(ctx, d)]
    if named:
        return named[0], ""
    return DOCS[0], f" (or {DOCS[1]} in trees before it was converted to reST; no tree to tell)"


def _doc_updated(ctx: Context, flag: str) -> bool:
    """The series edits the locking document, or a comment in or above struct vm_fault (beside
    or above an existing member, or its kerneldoc; the comment of a member the series adds
    counts only when it names the bit), read from the parsed images."""
    if any(_file_touched(ctx, d) for d in DOCS):
        return True
    for pd in ctx.diffs:
        before = ctx.before_patch.read if pd is ctx.diff and ctx.before_patch else None
        after = ctx.after_patch.read if pd is ctx.diff and ctx.after_patch else None
        for f in pd.files:
            if not is_c(f.path):
                continue
            for pre, post in images(f, before, after):
                old = next((st for st in cindex.structs(pre.src) if st.name == "vm_fault"), None)
                old_names = {m.name for m in old.members} if old else set()
                for img in (pre, post):
                    lines = img.src.decode("utf-8", "replace").splitlines()
                    for st in cindex.structs(img.src):
                        if st.name != "vm_fault":
                            continue
                        new = [m for m in st.members if m.name not in old_names]
                        for a, b in st.comments:
                            if not any(a <= c <= b for c in img.changed):
                                continue
                            own = any(a == m.line or b == m.line - 1 for m in new)
                            if not own or flag in " ".join(lines[a - 1:b]):
                                return True
    return False


def _file_touched(ctx: Context, path: str) -> bool:
    return any(f.path == path for pd in ctx.diffs for f in pd.files)


NAME_TABLE = "VM_FAULT_RESULT_TRACE"
NULL_PAGE = re.compile(r"\(\s*!?\s*[\w.>-]*page\s*\)|page\s*[!=]=\s*NULL|page\s*=\s*NULL\b")


def _patch_seeds(ctx: Context, changes: dict) -> tuple[dict, bool]:
    """flag -> the functions this patch makes produce or act on it, and whether the patch is
    about a page that may now be NULL; read from the tree just before and after the patch."""
    key = ("fault-contract:seeds", ctx.patch.msgid)
    if key in ctx.shared:
        return ctx.shared[key]
    out: dict[str, dict[str, tuple[str, int]]] = {}
    for flag, reasons in changes.items():
        for rank, _why, path, line, fn in reasons:
            # a function the changelog's new meaning reaches; a new test in a consumer
            # (rank 1) sends nothing new to its callers
            if fn and rank >= 2:
                out.setdefault(flag, {}).setdefault(fn, (path, line))
    after = ctx.after_patch.read if ctx.after_patch is not None else None
    before = ctx.before_patch.read if ctx.before_patch is not None else None
    for f in ctx.diff.files:
        if not is_c(f.path):
            continue
        for _pre, post in images(f, before, after):
            for flag, fn, role, ln in bit_uses(post.src):
                if flag in changes and fn and fn != UNKNOWN_BLOCK and ln in post.changed \
                        and status_of(role) == "producer":
                    out.setdefault(flag, {}).setdefault(fn, (f.path, post.file_line(ln)))
    null_case = any(NULL_PAGE.search(t) for h in ctx.diff.hunks() for _n, t in h.added)
    ctx.shared[key] = (out, null_case)
    return ctx.shared[key]


def _seeds(ctx: Context, changes: dict) -> tuple[dict[str, dict[str, tuple[str, int]]], bool]:
    """The seeds of every patch of the series (the engine asks each patch for its words, and
    so its seeds, before any check runs): each patch's finding lists the same callers."""
    _patch_seeds(ctx, changes)
    out: dict[str, dict[str, tuple[str, int]]] = {}
    null_case = False
    for key in sorted(k for k in ctx.shared if isinstance(k, tuple) and len(k) == 2
                      and k[0] == "fault-contract:seeds"):
        seeds, null = ctx.shared[key]
        null_case = null_case or null
        for flag, fns in seeds.items():
            for fn, where in fns.items():
                out.setdefault(flag, {}).setdefault(fn, where)
    return out, null_case


def _verdict(c: "fault_flow.Caller", flag: str, null_case: bool) -> tuple[bool | None, str]:
    """Whether one caller handles the new case, and how it was told."""
    # the page an out-parameter brings back: `&fault_page`, or the `page` of a `&vmf`
    pages = [o if "page" in o else f"{o}.page" for o in c.outs]
    if null_case and pages:
        for o in pages:
            if o in c.nulls or o.replace(".", "->") in c.nulls:
                return True, f"checks {o} for NULL"
        use = next(((v, fn, ln) for v, fn, ln in c.uses if fn != c.callee), None)
        if use:
            return False, f"uses {use[0]} with no NULL check ({use[1]}() at line {use[2]})"
        return False, f"never checks {pages[0]} for NULL"
    if flag in c.tests:
        return True, f"tests {flag}"
    if c.carried:
        return None, "returns the result to its callers"
    others = [t for t in c.tests if t != flag]
    return False, f"does not test {flag}" + (f" (tests {', '.join(others)})" if others else "")


def _merge_sites(a: list[Site], b: list[Site]) -> list[Site]:
    seen = {(s.file, s.line, s.function, s.status) for s in a}
    return a + [s for s in b if (s.file, s.line, s.function, s.status) not in seen]


def _name_tables(tree, flag: str) -> list[tuple[str, int, bool]]:
    """(file, line, names the flag?) of every name table of the VM_FAULT_* bits."""
    out = []
    for path, ln, t in tree.grep_word(NAME_TABLE):
        if re.search(r"#\s*define\s+" + NAME_TABLE + r"\b", t):
            lines = (tree.read(path) or b"").decode("utf-8", "replace").splitlines()
            body, i = [], ln - 1
            while i < len(lines):
                body.append(lines[i])
                if not lines[i].rstrip().endswith("\\"):
                    break
                i += 1
            out.append((path, ln, bool(re.search(r"\b" + flag + r"\b", "\n".join(body)))))
    return out
