"""Kernel primitives as model operations (xip-model.md §7.3), one module per kernel area;
importing the package registers them all in PRIMS and INLINE (see README.md)."""
from __future__ import annotations

from . import accounting, blocks, locks, memory, model, pagecache, pagetables, pure  # noqa: F401  (registration)
from .common import PAGE_SHIFT, PS, read_pte, write_pte
from .registry import INLINE, PRIMS, STAY, Blocked, Prim, constant, primitive

__all__ = ["PRIMS", "INLINE", "Prim", "primitive", "constant", "Blocked", "STAY", "PAGE_SHIFT", "PS", "read_pte",
           "write_pte"]
