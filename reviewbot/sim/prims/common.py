"""Helpers every primitive module uses: page size, errnos, argument checks (NULL and
uninitialised pointers are I3), the page array accessors, and failure-path choices."""
from __future__ import annotations

from .. import world as W
from ..invariants import I3
from ..values import UNINIT, is_obj

PAGE_SHIFT = 12
PS = 1 << PAGE_SHIFT
ENODATA, EBUSY, ENOMEM = 61, 16, 12


def where(ctx):
    return "line %d in %s" % (ctx.cur_line, ctx.th.frames[-1].fn.name)


def page_arg(ctx, v, fname):
    if v == 0:
        ctx.violate(I3, "%s(NULL) at %s" % (fname, where(ctx)))
    if v == UNINIT:
        ctx.violate(I3, "%s() on an uninitialised page pointer at %s" % (fname, where(ctx)))
    if is_obj(v, "page"):
        return v[2]
    return None


def lock_id(ctx, v, fname):
    if is_obj(v) and v[1] in ("lock", "global"):
        return v[2]
    if v == 0 or v == UNINIT:
        ctx.violate(I3, "%s() on a %s lock pointer at %s" % (fname, "NULL" if v == 0 else "uninitialised", where(ctx)))
    return None


def mem(ctx, pid):
    return ctx.w["mem"][pid]


def set_mem(ctx, pid, **kw):
    e = list(ctx.w["mem"][pid])
    for k, v in kw.items():
        e[("kind", "ref", "pgoff", "data", "live", "charged").index(k)] = v
    W.set_item(ctx.w, "mem", pid, tuple(e))
    ctx.touch("w", ("mem", pid))


def may_fail(ctx, what):
    """In a failure-paths run, a leaf that can fail does so in one branch."""
    if ctx.prog.cfg.get("failures") and ctx.choose(2, what) == 0:
        ctx.event("%s fails (%s)" % (ctx.prim_name, what))
        return True
    return False


def pte_index(ctx, vi, pgoff):
    return vi * ctx.prog.cfg["npg"] + pgoff


def read_pte(ctx, loc):
    ctx.touch("r", "ptes")
    return ctx.w["ptes"][pte_index(ctx, *loc)]


def write_pte(ctx, loc, v):
    ctx.touch("w", "ptes")
    W.set_item(ctx.w, "ptes", pte_index(ctx, *loc), v)
