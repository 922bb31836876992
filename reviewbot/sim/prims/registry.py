"""The primitive table: one decorator, primitive(), registers a kernel call the model
implements; README.md in this directory gives the contract a primitive keeps."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from ..interp import Ctx
    from ..values import Value

    PrimFn = Callable[[Ctx, list[Value]], Value]
    InlineFn = Callable[[Ctx, list[Value], int], Value]


class Blocked(Exception):
    """Raised by a primitive that must wait (a lock another thread holds): the whole step
    is dropped and the thread is not enabled in this state."""


STAY = ("STAY",)     # the primitive made progress but the call is not finished (rwsem queueing)


@dataclass(frozen=True, slots=True)
class Prim:
    name: str
    fn: PrimFn
    visible: bool        # a scheduling point: other threads may run before it
    prefer_tree: bool    # run the tree's own C of that name where the tree is of the XIP era


PRIMS: dict[str, Prim] = {}       # called as a statement: fn(ctx, args)
INLINE: dict[str, InlineFn] = {}  # evaluated inside an expression: fn(ctx, args, line)


def primitive(*names: str, visible: bool = True, prefer_tree: bool = False,
              inline: bool = False) -> Callable:
    """Register the decorated function under each of names.  inline: a pure helper evaluated
    in expressions (signature (ctx, args, line)); otherwise a call (ctx, args), visible
    unless visible=False, and replaced by the tree's C of that name with prefer_tree."""
    def deco(fn: Callable) -> Callable:
        for n in names:
            if inline:
                INLINE[n] = fn
            else:
                PRIMS[n] = Prim(n, fn, visible, prefer_tree)
        return fn
    return deco


def constant(value: int) -> PrimFn:
    """The body of a call the model does not track: it returns value and does nothing."""
    def fn(ctx: Ctx, args: list[Value]) -> Value:
        return value
    return fn
