"""Helpers every primitive module uses: page size, errnos, argument checks (NULL and
uninitialised pointers are I3), the page array and PTE accessors, failure-path choices."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import world as W
from ..invariants import I3
from ..values import UNINIT, Loc, Ptr, Value, is_obj

if TYPE_CHECKING:
    from ..interp import Ctx
    from ..world import Page

PAGE_SHIFT = 12
PS = 1 << PAGE_SHIFT
ENODATA, EBUSY, ENOMEM = 61, 16, 12


def where(ctx: Ctx) -> str:
    return "line %d in %s" % (ctx.cur_line, ctx.th.frames[-1].fn.name)


def page_arg(ctx: Ctx, v: Value, fname: str) -> int | None:
    """The page index a page pointer argument names (None if it names none); NULL and
    UNINIT are I3."""
    if v == 0:
        ctx.violate(I3, "%s(NULL) at %s" % (fname, where(ctx)))
    if v == UNINIT:
        ctx.violate(I3, "%s() on an uninitialised page pointer at %s" % (fname, where(ctx)))
    if is_obj(v, "page"):
        return v.ident
    return None


def lock_id(ctx: Ctx, v: Value, fname: str) -> str | None:
    if is_obj(v) and v.kind in ("lock", "global"):
        return v.ident
    if v == 0 or v == UNINIT:
        ctx.violate(I3, "%s() on a %s lock pointer at %s" % (fname, "NULL" if v == 0 else "uninitialised", where(ctx)))
    return None


def place_of(p: Ptr) -> tuple:
    """The place a pointer points at, for read_place/write_place.  By index: a primitive may
    be handed a marker instead of a pointer, and the IndexError then names why the run is
    incomplete in words that must stay the same."""
    return (p[1], p[2])


def field_place(pl: tuple, *fields: str) -> tuple:
    """The place of a member inside the struct at place pl."""
    base, path = pl
    return (base, path + fields)


def mem(ctx: Ctx, pid: int) -> Page:
    return ctx.w["mem"][pid]


def set_mem(ctx: Ctx, pid: int, **kw: Any) -> None:
    """Replace fields of page pid (and touch it for writing)."""
    W.set_item(ctx.w, "mem", pid, ctx.w["mem"][pid]._replace(**kw))
    ctx.touch("w", ("mem", pid))


def may_fail(ctx: Ctx, what: str) -> bool:
    """In a failure-paths run, a leaf that can fail does so in one branch."""
    if ctx.prog.cfg.get("failures") and ctx.choose(2, what) == 0:
        ctx.event("%s fails (%s)" % (ctx.prim_name, what))
        return True
    return False


def pte_index(ctx: Ctx, vi: int, pgoff: int) -> int:
    return vi * ctx.prog.cfg["npg"] + pgoff


def read_pte(ctx: Ctx, loc: Loc) -> Value:
    ctx.touch("r", "ptes")
    return ctx.w["ptes"][pte_index(ctx, *loc)]


def write_pte(ctx: Ctx, loc: Loc, v: Value) -> None:
    ctx.touch("w", "ptes")
    W.set_item(ctx.w, "ptes", pte_index(ctx, *loc), v)
