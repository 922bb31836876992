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
ANNOTATIONS = re.compile(
    rb"\b(?:__(?:init|exit|meminit|ref|refdata|initdata|initconst|meminitdata|read_mostly|"
    rb"ro_after_init|user|iomem|percpu|rcu|force|bitwise|kernel|weak|always_inline|noinline|"
    rb"maybe_unused|always_unused|must_check|cold|hot|pure|packed|latent_entropy|noreturn|"
    rb"visible|used|nocast|safe|private|cacheline_aligned(?:_in_smp)?|sched|noinstr|cpuidle|"
    rb"init_memblock|initdata_memblock)|____cacheline_aligned(?:_in_smp)?|noinline_for_stack)\b"
    rb"|\b__(?:releases|acquires|must_hold|printf|scanf|aligned|section|attribute__|"
    rb"cond_acquires)\s*\((?:[^()]|\([^()]*\))*\)")


def mask(src: bytes) -> bytes:
    return ANNOTATIONS.sub(lambda m: re.sub(rb"[^\n]", b" ", m.group(0)), src)


@lru_cache(maxsize=512)
def _parse_cached(digest: str, src: bytes) -> tree_sitter.Tree:
    return tree_sitter.Parser(C).parse(mask(src))


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


def function_at(src: bytes, line: int, fns: list[Function] | None = None) -> str:
    """The function whose body holds `line` (1-based), or '' at file scope. Pass `fns`
    (from `functions(src)`) when asking about many lines of one file."""
    for f in fns if fns is not None else functions(src):
        if f.start <= line <= f.end:
            return f.name
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
    """Line spans (1-based, inclusive) of ERROR nodes outside any function body."""
    spans = []
    stack = [parse(src).root_node]
    while stack:
        node = stack.pop()
        if node.type == "function_definition":
            continue
        if node.type == "ERROR":
            spans.append((line_of(node), node.end_point[0] + 1))
            continue
        if node.has_error:
            stack.extend(node.children)
    return sorted(spans)
