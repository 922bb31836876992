"""Runtime values of the interpreter: plain ints (NULL is 0), the UNINIT and UNKNOWN
markers, model objects, pointers into a thread's frames, records and PTE values."""
from __future__ import annotations

from typing import Any, NamedTuple, TypeVar

# Each kind of value is a NamedTuple whose first field is a one-letter tag, so that values
# compare, sort and hash exactly as the plain tuples they replace (the explorer's visited
# set and the traces are unchanged), and print as those tuples do (plain_text).

_T = TypeVar("_T")


def plain_text(cls: _T) -> _T:
    """Print a NamedTuple's instances as the plain tuples they stand for: traces quote
    some values, in words that must not change."""
    cls.__repr__ = tuple.__repr__  # type: ignore[attr-defined]
    return cls


UNINIT = ("U",)      # never written: reading it where it matters is I3
UNKNOWN = ("?",)     # result of a call nothing models: branches on it go both ways


@plain_text
class Obj(NamedTuple):
    """A model object: ("O", kind, ident), e.g. a page (ident: its index in the page array),
    a lock (its name), a vma (its index), a function (its name)."""
    tag: str
    kind: str
    ident: Any


@plain_text
class Ptr(NamedTuple):
    """A pointer to a place: base ("slot", depth, slot) or ("obj", object), then a field path."""
    tag: str
    base: tuple
    path: tuple


@plain_text
class Rec(NamedTuple):
    """A struct value: fields is a sorted tuple of (name, value); a missing field reads as 0
    when zero_default (the struct was zero-initialised), else as UNINIT."""
    tag: str
    zero_default: bool
    fields: tuple


@plain_text
class Pte(NamedTuple):
    """A page-table entry: kind "none", "pfn" (target: a block), "page", "anon" or "zero"
    (target: a page index); write 1 for a writable mapping."""
    tag: str
    kind: str
    target: Any
    write: int


@plain_text
class Loc(NamedTuple):
    """Where a PTE is: the vma's index and the page offset in it."""
    vma: int
    pgoff: int


# tuple.__new__ builds a NamedTuple without the Python-level __new__ the class would run:
# values are made on every step, and the explorer's speed is kept this way.
_new = tuple.__new__

# What the interpreter computes with: an int, a marker (UNINIT, UNKNOWN), or one of the
# tuples above.  Any, not their Union: code narrows a value by is_obj()/is_ptr()/... tests,
# which a type checker does not follow.
Value = Any


def obj(kind: str, ident: Any) -> Obj:
    return _new(Obj, ("O", kind, ident))


def is_obj(v: Value, kind: str | None = None) -> bool:
    return type(v) is Obj and (kind is None or v.kind == kind)


def ptr(base: tuple, path: tuple | list = ()) -> Ptr:
    return _new(Ptr, ("P", base, tuple(path)))


def is_ptr(v: Value) -> bool:
    return type(v) is Ptr


def rec(zero_default: bool, fields: dict) -> Rec:
    return _new(Rec, ("R", zero_default, tuple(sorted(fields.items()))))


def is_rec(v: Value) -> bool:
    return type(v) is Rec


# rec_get and rec_set index their argument rather than name its fields: a primitive may hand
# them a marker (UNINIT, UNKNOWN), and the explorer reports the resulting IndexError as the
# reason the run is incomplete, in words that must not change.
def rec_get(r: Rec, f: str) -> Value:
    for k, v in r[2]:
        if k == f:
            return v
    return 0 if r[1] else UNINIT


def rec_set(r: Rec, f: str, v: Value) -> Rec:
    d = dict(r[2])
    d[f] = v
    return _new(Rec, ("R", r[1], tuple(sorted(d.items()))))


PTE_NONE = Pte("T", "none", None, 0)


def pte(kind: str, target: Any, write: Any) -> Pte:
    return _new(Pte, ("T", kind, target, 1 if write else 0))


def is_pte(v: Value) -> bool:
    return type(v) is Pte


def show(v: Value) -> str:
    """Short human text for a value in traces."""
    if v is UNINIT or v == UNINIT:
        return "UNINIT"
    if v == UNKNOWN:
        return "?"
    if type(v) is int:
        return "NULL" if v == 0 else (hex(v) if v > 255 or v < 0 else str(v))
    if is_obj(v):
        k, i = v.kind, v.ident
        if k == "page":
            return "page#%s" % (i,)
        if k == "fn":
            return str(i)
        if k == "lock":
            return str(i)
        return "%s:%s" % (k, i) if i is not None else k
    if is_pte(v):
        if v.kind == "none":
            return "pte_none"
        return "%s(%s%s)" % (v.kind.upper(), v.target, ",rw" if v.write else ",ro")
    if is_ptr(v):
        return "&" + ".".join(str(p) for p in (("local",) + v.path))
    if is_rec(v):
        return "{" + ", ".join("%s=%s" % (k, show(x)) for k, x in v.fields) + "}"
    return str(v)
