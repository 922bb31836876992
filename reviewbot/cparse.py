"""tree-sitter-c over kernel C: annotation masking, parsing with a cache, and the small syntax
queries every later stage needs (functions and their line spans, declarator names)."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

import tree_sitter
import tree_sitter_c

C = tree_sitter.Language(tree_sitter_c.language())

# Kernel annotations tree-sitter cannot read; blanked with spaces so lines and columns stay put.
# The pattern starts with the literal `__`, which the regex engine skips to (a leading \b would
# have it try every byte), then looks behind for the word boundary; the annotations without
# `__` are BARE_ANNOTATIONS, looked for only in a file that names one.
ANNOTATIONS = re.compile(
    rb"__(?<![A-Za-z0-9_]__)(?:(?:(?:init|exit|meminit|ref|refdata|initdata|initconst|meminitdata|read_mostly|"
    rb"ro_after_init|user|iomem|percpu|rcu|force|bitwise|kernel|weak|always_inline|noinline|"
    rb"maybe_unused|always_unused|must_check|cold|hot|pure|packed|latent_entropy|noreturn|"
    rb"visible|used|nocast|safe|private|cacheline_aligned(?:_in_smp)?|sched|noinstr|cpuidle|"
    rb"init_memblock|initdata_memblock|kprobes|irq_entry|softirq_entry|flatten|malloc|"
    rb"nocfi|no_kcsan|no_sanitize_address|no_sanitize_undefined|no_kasan_or_inline|"
    rb"init_or_module|meminitconst|exitdata|initdata_or_meminfo|ref_counted|overloadable|"
    rb"FORTIFY_INLINE|fortify_memcpy_chk|attribute_const__|designated_init|randomize_layout|"
    rb"no_randomize_layout|counted_by|section_rodata|lockdep_init|pcpu_init)|"
    rb"__cacheline_aligned(?:_in_smp)?|always_unused|ro_after_init)\b"
    rb"|(?:releases|acquires|must_hold|printf|scanf|aligned|section|attribute__|"
    rb"cond_acquires|alloc_size|realloc_size|diagnose_as|assume_aligned|nonstring|"
    rb"cond_lock|guarded_by)\s*\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\))")
BARE_WORDS = (b"noinline_for_stack", b"notrace", b"asmlinkage", b"POS")
BARE_ANNOTATIONS = re.compile(rb"\b(?:noinline_for_stack|notrace|asmlinkage|POS0?)\b")

# Macros that stand for C tree-sitter cannot read, rewritten in place as C it can, each
# replacement exactly as long as what it replaces (newlines kept) so byte offsets stay put.
_ARGS = rb"\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\)"
# SYSCALL_DEFINE3(name, type, arg, ...) opening a definition -> long name(type, arg, ...)
SYSCALL = re.compile(rb"^((?:COMPAT_)?SYSCALL(?:32)?_DEFINE\d)\([ \t]*(\w+)[ \t]*(,|\))", re.M)
# file-scope declaration macros: [static] DEFINE_*(...), DECLARE_*(...), LIST_HEAD(...)
DECLARATION = re.compile(rb"^((?:static\s+|extern\s+)?)((?:DEFINE|DECLARE)_\w+|LIST_HEAD|"
                         rb"HLIST_HEAD)(" + _ARGS + rb")(?=\s*[;=])", re.M)
# iterator macros opening a loop: for_each_*(...), list_for_each_entry(...) -> while (...); the
# search starts at the literal (a leading \w* would be tried at every byte), _iterators widens
# each hit to its whole identifier
FOR_EACH = re.compile(rb"for_each")
ITERATOR_ARGS = re.compile(rb"\s*" + _ARGS + rb"\s*[^\s;,)]")
_WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_SPACE_BYTES = frozenset(b" \t\n\r\x0b\x0c")       # what \s matches in a bytes pattern
# what may stand before a function's name in its head: the words of the return type and
# storage class, spaces and `*`
HEAD_BYTES = _WORD_BYTES | _SPACE_BYTES | frozenset(b"*")
ASM_GOTO = re.compile(rb"\basm_volatile_goto\b")
# an indented DECLARE_*(name, ...); (a struct member such as DECLARE_BITMAP, or a local) ->
# long name; so the member or variable it declares is seen, at the same offsets
MEMBER_MACRO = re.compile(rb"^([ \t]+)DECLARE_\w+\((\w+)\b[^;\n]*\)([ \t]*;)", re.M)


_SPACES = bytes(c if c == 10 else 32 for c in range(256))      # a table for bytes.translate


def _blank(b: bytes) -> bytes:
    """`b` with every byte but newlines turned into a space."""
    return b.translate(_SPACES)


def _syscall(m: re.Match) -> bytes:
    name = m.group(2)
    head = b"long " + name + b"("
    if m.group(3) == b")":
        head += b"void)"
    return head.ljust(len(m.group(0))) if len(head) <= len(m.group(0)) else m.group(0)


def _declaration(m: re.Match) -> bytes:
    args = m.group(3)[1:-1].split(b",")
    idx = -1 if m.group(2).startswith(b"DEFINE_PER_CPU") else 0
    name = args[idx].strip() if args else b""
    if not re.fullmatch(rb"\w+", name):
        name = b"_"
    body = b"int " + name
    rest = m.group(2) + m.group(3)
    if b"\n" in rest or len(body) > len(rest):
        return m.group(1) + b"int" + _blank(rest[3:]) if len(rest) > 3 else m.group(0)
    return m.group(1) + body.ljust(len(rest))


def _iterators(src: bytes) -> bytes:
    """Each identifier holding `for_each`, not a member (after . or ->), called and followed
    by a statement, rewritten as `while` padded to its length."""
    out: list[bytes] = []
    copied = seen = 0                   # copied up to; identifiers seen up to
    for m in FOR_EACH.finditer(src):
        start, end = m.start(), m.end()
        if start < seen:
            continue                    # a second for_each of an identifier already seen
        while start > 0 and src[start - 1] in _WORD_BYTES:
            start -= 1
        while end < len(src) and src[end] in _WORD_BYTES:
            end += 1
        seen = end
        if start > 0 and src[start - 1] in b".>" or not ITERATOR_ARGS.match(src, end):
            continue
        line_start = src.rfind(b"\n", 0, start) + 1
        if src[line_start:start].lstrip().startswith(b"#") or end - start < 5:
            continue                    # the macro's own #define, or too short for `while`
        out += [src[copied:start], b"while".ljust(end - start)]
        copied = end
    return b"".join(out) + src[copied:] if out else src


def _member_macro(m: re.Match) -> bytes:
    decl = b"long " + m.group(2)
    whole = m.group(0)[len(m.group(1)):-len(m.group(3))]
    return m.group(1) + decl.ljust(len(whole)) + m.group(3)


def mask(src: bytes) -> bytes:
    # each rewrite runs only on a file holding the literal its pattern starts with
    src = ANNOTATIONS.sub(lambda m: _blank(m.group(0)), src)
    if any(w in src for w in BARE_WORDS):
        src = BARE_ANNOTATIONS.sub(lambda m: _blank(m.group(0)), src)
    if b"DECLARE_" in src:
        src = MEMBER_MACRO.sub(_member_macro, src)
    if b"SYSCALL" in src:
        src = SYSCALL.sub(_syscall, src)
    if b"DECLARE_" in src or b"DEFINE_" in src or b"LIST_HEAD" in src:
        src = DECLARATION.sub(_declaration, src)
    if b"for_each" in src:
        src = _iterators(src)
    if b"asm_volatile_goto" in src:
        src = ASM_GOTO.sub(b"asm volatile goto", src)
    return src


# Budget: brackets nested deeper than this are not parsed. Every walk over the syntax tree
# (indexing, the member flow walk, the simulator's front end) then stays far below Python's
# recursion limit; the 6.1 tree nests at most 16 deep.
MAX_NESTING = 100
# comments, string and character literals: their brackets do not nest code
_NOT_CODE = re.compile(rb'/\*.*?\*/|//[^\n]*|"[^"\\\n]*(?:\\.[^"\\\n]*)*"|'
                       rb"'[^'\\\n]*(?:\\.[^'\\\n]*)*'", re.S)
# a bracket of code, or a comment or literal to step over whole: one scan, no blanked copy
_CODE_BRACKET = re.compile(_NOT_CODE.pattern + rb"|[(\[{]|[)\]}]", re.S)


_BRACKETS = bytes(range(256)).translate(bytes.maketrans(b"[{]}", b"(())"))
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"()[]{}")


@lru_cache(maxsize=64)
def same_code(a: bytes, b: bytes) -> bool:
    """Whether two texts are the same C once comments are dropped and whitespace is only a
    separator: a change of comments, blank lines or the flow of lines changes no code (kept
    for a few pairs: two rules ask it of the same images)."""
    def tokens(src: bytes) -> list[bytes]:
        return _NOT_CODE.sub(lambda m: b" " if m.group(0)[:1] == b"/" else m.group(0),
                             src).split()
    return a == b or tokens(a) == tokens(b)


def _max_depth(src: bytes) -> int:
    """How deep the brackets of the code nest (comments and literals left out), counted on
    the brackets alone: a few times faster than _deep_groups' scan, which only a file past
    the budget needs."""
    depth = deepest = 0
    for c in _NOT_CODE.sub(b"", src).translate(_BRACKETS, _NOT_BRACKETS):
        if c == 40:
            depth += 1
            deepest = max(deepest, depth)
        elif depth:
            depth -= 1
    return deepest


def _deep_groups(src: bytes) -> list[tuple[int, int]]:
    """Byte spans of the bracket groups opened one level inside a top-level group (a statement
    or initialiser of a function body) that nest deeper than MAX_NESTING."""
    if src.count(b"(") + src.count(b"{") + src.count(b"[") <= MAX_NESTING or \
            _max_depth(src) <= MAX_NESTING:
        return []
    spans: list[tuple[int, int]] = []
    depth = deepest = start = 0
    for m in _CODE_BRACKET.finditer(src):
        if m.end() - m.start() != 1:
            continue                    # a comment or a literal (never one byte long)
        if m.group(0) in b"([{":
            depth += 1
            if depth <= 2:
                start, deepest = m.start(), 0
            deepest = max(deepest, depth)
        elif depth > 0:
            depth -= 1
            if depth <= 1 and deepest > MAX_NESTING:
                spans.append((start, m.end()))
                deepest = 0
    if depth > 0 and deepest > MAX_NESTING:
        spans.append((start, len(src)))
    return spans


def too_deep(src: bytes) -> list[tuple[int, int]]:
    """Line spans (1-based, inclusive) of the code parse() leaves out for nesting deeper than
    MAX_NESTING brackets."""
    return [(src.count(b"\n", 0, a) + 1, src.count(b"\n", 0, b) + 1)
            for a, b in _deep_groups(src)]


def _without_deep(src: bytes) -> bytes:
    """`src` with each too-deep group emptied to `(0)`, `[0]` or `{}` padded with spaces, so
    the code around it (the rest of the function) still parses at the same offsets."""
    spans = _deep_groups(src)
    if not spans:
        return src
    out, at = [], 0
    for a, b in spans:
        group = src[a:b]
        inner = _blank(group[1:-1]) if group[-1:] in b")]}" else _blank(group[1:])
        if group[:1] in b"([" and inner[:1] == b" ":
            inner = b"0" + inner[1:]
        out += [src[at:a], group[:1], inner, group[-1:] if group[-1:] in b")]}" else b""]
        at = b
    out.append(src[at:])
    return b"".join(out)


@lru_cache(maxsize=512)
def _parse_cached(digest: str, src: bytes) -> tree_sitter.Tree:
    return tree_sitter.Parser(C).parse(_prepared(digest, src))


def parse(src: bytes) -> tree_sitter.Tree:
    return _parse_cached(hashlib.sha1(src).hexdigest(), src)


def text(node) -> str:
    return node.text.decode("utf-8", "replace")


def line_of(node) -> int:
    return node.start_point[0] + 1


@dataclass(frozen=True)
class Function:
    name: str
    start: int          # 1-based first line
    end: int            # 1-based last line
    node: object = None


def declarator_name(node) -> str | None:
    """The identifier a (possibly nested) declarator declares."""
    while node is not None:
        if node.type in ("identifier", "field_identifier", "type_identifier"):
            return text(node)
        nxt = node.child_by_field_name("declarator")
        if nxt is None:
            for c in node.named_children:
                if c.type in ("identifier", "function_declarator", "pointer_declarator",
                              "parenthesized_declarator", "array_declarator"):
                    nxt = c
                    break
        node = nxt
    return None


def functions(src: bytes) -> list[Function]:
    """Every function definition in the file, in order."""
    out = []
    stack = [parse(src).root_node]
    while stack:
        node = stack.pop()
        if node.type == "function_definition":
            name = declarator_name(node.child_by_field_name("declarator"))
            if name:
                out.append(Function(name, line_of(node), node.end_point[0] + 1, node))
            continue
        stack.extend(node.named_children)
    out.sort(key=lambda f: f.start)
    return out


def definition(src: bytes, name: str):
    """The syntax node of the last definition of the function `name` in the file, as
    functions() gives it (the same lines, columns and tree), or None. Each definition is cut
    out, from its head to its closing brace, and parsed alone at its own lines: a fraction of
    the work of parsing the whole file for one function. A definition that does not parse
    cleanly alone is looked up in the whole file's parse."""
    pre = _prepared(hashlib.sha1(src).hexdigest(), src)
    word = name.encode()
    found = None
    at = pre.find(word)
    while at >= 0:
        start, at = at, pre.find(word, at + 1)
        paren = start + len(word)
        while paren < len(pre) and pre[paren] in _SPACE_BYTES:
            paren += 1
        if start > 0 and pre[start - 1] in _WORD_BYTES or paren >= len(pre) or \
                pre[paren] != 40:
            continue                    # part of a longer word, or not followed by `(`
        span = _cut(pre, start, paren)
        if span is None:
            continue
        a, b = span
        if a < 0:
            return _from_whole_parse(src, name)
        line = pre.rfind(b"\n", 0, a) + 1
        # only the lines above and the columns before the head are kept, as blank: the
        # definition's lines and columns are the file's (its byte offsets are not)
        alone = tree_sitter.Parser(C).parse(b"\n" * pre.count(b"\n", 0, line) +
                                            b" " * (a - line) + pre[a:b])
        node = None if alone.root_node.has_error else next(
            (n for n in alone.root_node.named_children if n.type == "function_definition"
             and declarator_name(n.child_by_field_name("declarator")) == name), None)
        if node is None:
            return _from_whole_parse(src, name)
        found = node
    return found


def _from_whole_parse(src: bytes, name: str):
    """The last definition of `name` in the whole file's parse (as functions() orders them)."""
    return {f.name: f.node for f in functions(src)}.get(name)


@lru_cache(maxsize=64)
def _prepared(_digest: str, src: bytes) -> bytes:
    return mask(_without_deep(src))


def _cut(pre: bytes, at: int, paren: int) -> tuple[int, int] | None:
    """(start, end) of the definition whose name is at `at` and whose parameter list opens at
    `paren`; None when that occurrence is not a definition (a call, a declaration); (-1, -1)
    for a definition whose head is not plain words from the start of a line (an attribute
    with arguments, code before it on its line): the caller parses the whole file then."""
    depth, end, body = 0, -1, -1
    for m in _CODE_BRACKET.finditer(pre, paren):
        if m.end() - m.start() != 1:
            continue
        c = m.group(0)
        if body < 0:
            if c in b"([":
                depth += 1
            elif c in b")]":
                depth -= 1
                if depth == 0:
                    body = _after_comments(pre, m.end())
                    if pre[body:body + 1] != b"{":
                        return None     # a declaration, a call or K&R parameters
            continue
        if c == b"{":
            depth += 1
        elif c == b"}":
            depth -= 1
            if depth == 0:
                end = m.end()
                break
    if end < 0:
        return None
    # the head: the lines above the name made only of words, spaces and `*` (the return
    # type, storage class), from the first that starts with a word at its first column
    run = at
    while run > 0 and pre[run - 1] in HEAD_BYTES:
        run -= 1
    head = run if run == 0 or pre[run - 1] == 10 else pre.find(b"\n", run) + 1
    while 0 < head < at and pre[head] not in _WORD_BYTES:
        nl = pre.find(b"\n", head, at)
        if nl < 0 or pre[head:nl].strip():
            return (-1, -1)
        head = nl + 1                   # a blank line between the head's lines
    if head <= 0 and run != 0 or head > at:
        return (-1, -1)
    return head, end


def _after_comments(pre: bytes, at: int) -> int:
    """The first byte at or after `at` that is neither space nor inside a comment."""
    while True:
        while at < len(pre) and pre[at] in _SPACE_BYTES:
            at += 1
        if pre.startswith(b"/*", at):
            close = pre.find(b"*/", at + 2)
            at = close + 2 if close >= 0 else len(pre)
        elif pre.startswith(b"//", at):
            nl = pre.find(b"\n", at)
            at = nl if nl >= 0 else len(pre)
        else:
            return at


def function_at(src: bytes, line: int, fns: list[Function] | None = None) -> str:
    """The function whose body holds `line` (1-based), or '' at file scope. Pass `fns`
    (from `functions(src)`) when asking about many lines of one file, or use FunctionTable."""
    return FunctionTable(fns if fns is not None else functions(src)).at(line)


def function_spans(src: bytes) -> list[Function]:
    """functions(src) without their syntax nodes, kept on disk: a repeat review maps lines to
    functions without parsing the file again."""
    from reviewbot import memo
    return [Function(n, a, b) for n, a, b in memo.cached(_spans_json, src)]


def _spans_json(src: bytes) -> list:
    return [[f.name, f.start, f.end] for f in functions(src)]


class FunctionTable:
    """A file's functions by line, built once: each lookup is a binary search, so mapping
    every line of a 100,000-line diff stays linear in the diff."""

    def __init__(self, fns: list[Function]):
        self.fns = sorted(fns, key=lambda f: f.start)
        self.starts = [f.start for f in self.fns]

    def at(self, line: int) -> str:
        import bisect
        i = bisect.bisect_right(self.starts, line) - 1
        # definitions do not nest, so only the last one starting at or before `line` can hold it
        if i >= 0 and self.fns[i].start <= line <= self.fns[i].end:
            return self.fns[i].name
        return ""


def name_from_section(section: str) -> str:
    """The function a hunk header's section text names (`static int foo(int a,`), via the
    parser; the header is cut at 80 columns by git, so it is closed off before parsing."""
    section = section.strip()
    if not section or "(" not in section:
        return ""
    for tail in ("", ")", ");", "0);"):
        tree = tree_sitter.Parser(C).parse(mask((section + tail).encode()))
        stack = [tree.root_node]
        while stack:
            node = stack.pop(0)
            if node.type == "function_declarator":
                name = declarator_name(node.child_by_field_name("declarator"))
                if name:
                    return name
            stack.extend(node.children)
    return ""


def struct_from_section(section: str) -> str:
    """`struct x {` in a hunk header names the struct whose body the hunk is in."""
    section = section.strip()
    if not section.endswith("{"):
        return ""
    tree = tree_sitter.Parser(C).parse((section + "};").encode())
    stack = [tree.root_node]
    while stack:
        node = stack.pop(0)
        if node.type == "struct_specifier" and node.child_by_field_name("body") is not None \
                and node.child_by_field_name("name") is not None:
            return text(node.child_by_field_name("name"))
        stack.extend(node.named_children)
    return ""


def error_spans(src: bytes) -> list[tuple[int, int]]:
    """Line spans (1-based, inclusive) of ERROR nodes outside any function body (kept on
    disk, like function_spans)."""
    from reviewbot import memo
    return [(a, b) for a, b in memo.cached(_error_spans, src)]


def _error_spans(src: bytes) -> list[list[int]]:
    spans = []
    stack = [parse(src).root_node]
    while stack:
        node = stack.pop()
        if node.type == "function_definition":
            continue
        if node.type == "ERROR":
            spans.append([line_of(node), node.end_point[0] + 1])
            continue
        if node.has_error:
            stack.extend(node.children)
    return sorted(spans)
