"""Runtime values of the interpreter: plain ints (NULL is 0), the UNINIT and UNKNOWN
markers, model objects, pointers into a thread's frames, records and PTE values."""
from __future__ import annotations

UNINIT = ("U",)      # never written: reading it where it matters is I3
UNKNOWN = ("?",)     # result of a call nothing models: branches on it go both ways


def obj(kind, ident):
    return ("O", kind, ident)


def is_obj(v, kind=None):
    return type(v) is tuple and len(v) == 3 and v[0] == "O" and (kind is None or v[1] == kind)


def ptr(base, path=()):
    return ("P", base, tuple(path))


def is_ptr(v):
    return type(v) is tuple and len(v) == 3 and v[0] == "P"


def rec(zero_default, fields):
    return ("R", zero_default, tuple(sorted(fields.items())))


def is_rec(v):
    return type(v) is tuple and len(v) == 3 and v[0] == "R"


def rec_get(r, f):
    for k, v in r[2]:
        if k == f:
            return v
    return 0 if r[1] else UNINIT


def rec_set(r, f, v):
    d = dict(r[2])
    d[f] = v
    return ("R", r[1], tuple(sorted(d.items())))


PTE_NONE = ("T", "none", None, 0)


def pte(kind, target, write):
    return ("T", kind, target, 1 if write else 0)


def is_pte(v):
    return type(v) is tuple and len(v) == 4 and v[0] == "T"


def show(v):
    """Short human text for a value in traces."""
    if v is UNINIT or v == UNINIT:
        return "UNINIT"
    if v == UNKNOWN:
        return "?"
    if type(v) is int:
        return "NULL" if v == 0 else (hex(v) if v > 255 or v < 0 else str(v))
    if is_obj(v):
        k, i = v[1], v[2]
        if k == "page":
            return "page#%s" % (i,)
        if k == "fn":
            return str(i)
        if k == "lock":
            return str(i)
        return "%s:%s" % (k, i) if i is not None else k
    if is_pte(v):
        if v[1] == "none":
            return "pte_none"
        return "%s(%s%s)" % (v[1].upper(), v[2], ",rw" if v[3] else ",ro")
    if is_ptr(v):
        return "&" + ".".join(str(p) for p in (("local",) + v[2]))
    if is_rec(v):
        return "{" + ", ".join("%s=%s" % (k, show(x)) for k, x in v[2]) + "}"
    return str(v)
