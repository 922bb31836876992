"""Pure C helpers evaluated inside expressions: likely/unlikely, error pointers, bit and
alignment macros, min/max, and the BUG_ON/WARN_ON family (I8)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..interp import Violation
from ..invariants import I3, I8
from ..values import UNINIT, UNKNOWN, Value
from .registry import primitive

if TYPE_CHECKING:
    from ..interp import Ctx


@primitive("unlikely", "likely", "READ_ONCE", "page_folio", "folio_page", "EXT2_I_inline", inline=True)
def _identity(ctx: Ctx, a: list[Value], line: int) -> Value:
    return a[0] if a else 0


@primitive("IS_ERR", inline=True)
def _is_err(ctx: Ctx, a: list[Value], line: int) -> Value:
    return int(type(a[0]) is int and -4095 <= a[0] < 0)


@primitive("PTR_ERR", "ERR_PTR", inline=True)
def _ptr_err(ctx: Ctx, a: list[Value], line: int) -> Value:
    return a[0]


@primitive("pmd_none", "RB_EMPTY_ROOT", "IS_SWAPFILE", "pmd_devmap_trans_unstable", "uffd_disable_fault_around",
        "fatal_signal_pending", "check_stable_address_space", "userfaultfd_missing", "is_zero_pfn", inline=True)
def _false(ctx: Ctx, a: list[Value], line: int) -> Value:
    return 0


@primitive("IS_DAX", "S_ISREG", "mapping_is_xip_inline", inline=True)
def _true(ctx: Ctx, a: list[Value], line: int) -> Value:
    return 1


@primitive("round_up", "ALIGN", inline=True)
def _round_up(ctx: Ctx, a: list[Value], line: int) -> Value:
    x, y = a
    if type(x) is not int or type(y) is not int or y == 0:
        return UNKNOWN
    return ((x + y - 1) // y) * y


@primitive("BIT", "_BITUL", "BIT_ULL", inline=True)
def _bit(ctx: Ctx, a: list[Value], line: int) -> Value:
    return 1 << a[0]


@primitive("_AC", "UL", "_UL", "ULL", "_ULL", inline=True)
def _ac(ctx: Ctx, a: list[Value], line: int) -> Value:
    return a[0]


@primitive("min", "min_t", inline=True)
def _min(ctx: Ctx, a: list[Value], line: int) -> Value:
    x, y = a[-2], a[-1]
    return min(x, y) if type(x) is int and type(y) is int else UNKNOWN


@primitive("max", "max_t", inline=True)
def _max(ctx: Ctx, a: list[Value], line: int) -> Value:
    x, y = a[-2], a[-1]
    return max(x, y) if type(x) is int and type(y) is int else UNKNOWN


@primitive("VM_BUG_ON_PAGE", "VM_BUG_ON", "BUG_ON", "WARN_ON", "WARN_ON_ONCE", "VM_WARN_ON_ONCE", "VM_BUG_ON_VMA",
           inline=True)
def _bug_on(ctx: Ctx, a: list[Value], line: int) -> Value:
    c = a[0]
    if c == UNINIT:
        ctx.violate(I3, "%s() on an uninitialised value at line %d" % (ctx.inline_name, line))
    if type(c) is int and c:
        raise Violation(I8, "%s() fires at line %d in %s" % (ctx.inline_name, line, ctx.th.frames[-1].fn.name))
    return 0


@primitive("xa_is_internal", "xa_is_err", "pmd_trans_huge", "pmd_devmap", "ext2_inode_is_fast_symlink", "IS_APPEND",
        "IS_IMMUTABLE", "inode_needs_sync", "S_ISLNK", "S_ISDIR", inline=True)
def _false_61(ctx: Ctx, a: list[Value], line: int) -> Value:
    return 0


@primitive("xa_to_internal", "pfn_to_pfn_t", "PHYS_PFN_inline", inline=True)
def _identity_61(ctx: Ctx, a: list[Value], line: int) -> Value:
    return a[0] if a else 0
