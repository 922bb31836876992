"""The C index rules query: struct definitions and their members, every site that constructs
a struct, and the enclosing function of a node. Rule-specific analyses live in rules/.

Candidates come from `git grep`; only files that can matter are parsed (tree-sitter-c)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

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

def _types_down(node) -> set[str]:
    seen, stack = set(), [node]
    while stack:
        n = stack.pop()
        seen.add(n.type)
        stack.extend(n.named_children)
    return seen


@dataclass(frozen=True)
class MemberDecl:
    name: str
    type: str          # the declaration with the member's name blanked, spaces normalised
    line: int          # first and last src line of its declaration (1-based)
    end: int
    is_pointer: bool


@dataclass(frozen=True)
class StructDef:
    name: str          # "" for an anonymous struct
    line: int          # src lines of `struct x {` ... `}` (1-based)
    end: int
    members: tuple[MemberDecl, ...]    # anonymous struct/union members flattened in place
    comments: tuple[tuple[int, int], ...]   # lines of comments in the body and right above it


@lru_cache(maxsize=256)
def structs(src: bytes) -> list[StructDef]:
    """Every struct definition (with a body) in a file, with its member declarations (kept in
    memory and on disk: each new member asks for its struct's order again, and a repeat review
    parses nothing for it; callers must not change the list)."""
    from reviewbot import memo
    return [StructDef(n, a, b, tuple(MemberDecl(*m) for m in members),
                      tuple(tuple(c) for c in comments))
            for n, a, b, members, comments in memo.cached(_structs_json, src)]


def _structs_json(src: bytes) -> list:
    return [[st.name, st.line, st.end,
             [[m.name, m.type, m.line, m.end, m.is_pointer] for m in st.members],
             [list(c) for c in st.comments]] for st in _structs(src)]


def _structs(src: bytes) -> list[StructDef]:
    out = []
    stack = [cparse.parse(src).root_node]
    while stack:
        node = stack.pop()
        if node.type == "struct_specifier" and node.child_by_field_name("body") is not None:
            nn = node.child_by_field_name("name")
            body = node.child_by_field_name("body")
            if nn is None and node.parent is not None and node.parent.type == "field_declaration":
                stack.extend(node.named_children)
                continue     # an anonymous member struct: flattened into its parent's members
            comments = [(line_of(c), c.end_point[0] + 1) for c in walk(body)
                        if c.type == "comment"]
            top = node
            while top.parent is not None and top.parent.type in ("declaration", "type_definition"):
                top = top.parent
            prev = top.prev_named_sibling
            while prev is not None and prev.type == "comment" and \
                    prev.end_point[0] + 1 >= line_of(top) - 1 - 0:
                comments.append((line_of(prev), prev.end_point[0] + 1))
                top, prev = prev, prev.prev_named_sibling
            out.append(StructDef(text(nn) if nn is not None else "", line_of(node),
                                 node.end_point[0] + 1, tuple(_member_decls(body)),
                                 tuple(sorted(comments))))
        stack.extend(node.named_children)
    return sorted(out, key=lambda s: (s.line, s.name))


def walk(node):
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(n.named_children)


def _member_decls(body) -> list[MemberDecl]:
    out = []
    for fd in body.named_children:
        if fd.type != "field_declaration":
            continue
        decls = fd.children_by_field_name("declarator")
        if not decls:
            t = fd.child_by_field_name("type")
            if t is not None and t.child_by_field_name("body") is not None:
                out.extend(_member_decls(t.child_by_field_name("body")))
            continue
        for d in decls:
            name = cparse.declarator_name(d) or ""
            whole = text(fd)
            rel = d.start_byte - fd.start_byte
            shape = whole[:rel] + text(d).replace(name, "@", 1) + whole[rel + len(text(d)):]
            out.append(MemberDecl(name, " ".join(shape.split()), line_of(fd),
                                  fd.end_point[0] + 1, "pointer_declarator" in _types_down(d)))
    return out


def struct_member_order(src: bytes, struct: str) -> list[str]:
    """The member names of `struct` in declaration order (anonymous members flattened)."""
    return next(([m.name for m in st.members] for st in structs(src) if st.name == struct), [])


# --- construction sites ----------------------------------------------------------------------

def _struct_name_of_type(tnode) -> str | None:
    if tnode is not None and tnode.type == "struct_specifier":
        nn = tnode.child_by_field_name("name")
        if nn is not None and tnode.child_by_field_name("body") is None:
            return text(nn)
    return None


def enclosing_function(node) -> str:
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


# file-scope blocks that construction_sites, like a function, skips when they do not name the
# struct (a block inside a function may use a `struct S *` of the function: it is walked)
_FILE_BLOCKS = frozenset({"preproc_ifdef", "preproc_if", "preproc_else", "preproc_elif",
                          "linkage_specification"})


@lru_cache(maxsize=1024)
def construction_sites(src: bytes, path: str, struct: str) -> list[ConstructionSite]:
    """Every place in one file that makes a `struct <struct>` object (kept: each new member
    of the struct asks again; the caller must not change the list)."""
    root = cparse.parse(src).root_node
    out: list[ConstructionSite] = []
    ptr_vars: dict[str, set[str]] = {}   # function -> names of `struct S *` locals/params
    word = struct.encode()
    stack = [root]
    while stack:
        node = stack.pop()
        t = node.type
        if (t == "function_definition" or t in _FILE_BLOCKS and node.parent is not None and
                node.parent.type == "translation_unit") and \
                src.find(word, node.start_byte, node.end_byte) < 0:
            continue        # a site names the struct, or a `struct S *` of its own function
        if t in ("declaration", "parameter_declaration"):
            if _struct_name_of_type(node.child_by_field_name("type")) == struct:
                fn = enclosing_function(node)
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
                out.append(ConstructionSite(path, line_of(node), enclosing_function(node),
                                            "initializer", "(compound literal)",
                                            (node.start_byte, node.end_byte)))
        elif t == "call_expression":
            fname = text(node.child_by_field_name("function"))
            if fname in ZEROING_ALLOCS or fname in PLAIN_ALLOCS:
                if _sizeof_struct(node.child_by_field_name("arguments"), struct, ptr_vars,
                                  enclosing_function(node)):
                    kind = "zeroed allocation" if fname in ZEROING_ALLOCS else "allocation"
                    out.append(ConstructionSite(path, line_of(node), enclosing_function(node),
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
        if node.type == "function_definition" and \
                cparse.declarator_name(node.child_by_field_name("declarator")) not in \
                set(objs) | set(ptr_vars):
            continue        # no object nor pointer of the struct in it: nothing to copy into
        if node.type == "assignment_expression" and text(node.child_by_field_name("operator")) == "=":
            left = node.child_by_field_name("left")
            fn = enclosing_function(node)
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


def find_node(src: bytes, rng: tuple):
    stack = [cparse.parse(src).root_node]
    while stack:
        n = stack.pop()
        if (n.start_byte, n.end_byte) == rng:
            return n
        stack.extend(c for c in n.named_children if c.start_byte <= rng[0] and c.end_byte >= rng[1])
    return None
