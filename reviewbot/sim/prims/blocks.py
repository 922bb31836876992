"""File size and blocks: i_size, the block map (get_block, get_xip_mem, iomap_begin),
direct access to a block, and freeing blocks on truncate and punch."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import world as W
from ..world import Block, FileData
from ..interp import read_place, write_place
from ..values import UNKNOWN, Value, is_ptr, is_rec, obj, rec, rec_get
from .registry import primitive
from .common import ENODATA, PAGE_SHIFT, PS, field_place, may_fail, place_of

if TYPE_CHECKING:
    from ..interp import Ctx


@primitive("i_size_read")
def _i_size_read(ctx: Ctx, a: list[Value]) -> Value:
    ctx.touch("r", "isize")
    v = ctx.w["isize"] * PS
    ctx.event("i_size_read() = %d pages" % ctx.w["isize"])
    return v


@primitive("i_size_write")
def _i_size_write(ctx: Ctx, a: list[Value]) -> Value:
    v = a[1]
    if type(v) is not int:
        return 0
    ctx.touch("w", "isize")
    ctx.w["isize"] = (v + PS - 1) >> PAGE_SHIFT
    ctx.event("i_size_write() -> %d pages" % ctx.w["isize"])
    return 0


def block_data(ctx: Ctx, b: int) -> Value:
    """The contents of block b ("POISON" once freed), touched for reading."""
    ctx.touch("r", "blk")
    owned, data = ctx.w["blk"][b]
    return data if owned else "POISON"


def get_block(ctx: Ctx, pgoff: int, create: bool, fname: str) -> int:
    """The block of pgoff, -1 for a hole; with create a hole gets a new block."""
    ctx.touch("r", "fmap")
    b = ctx.w["fmap"][pgoff] if 0 <= pgoff < ctx.prog.cfg["npg"] else -1
    if b >= 0:
        ctx.event("%s(pgoff %d) -> block B%d" % (fname, pgoff, b))
        return b
    if not create:
        ctx.event("%s(pgoff %d) -> hole" % (fname, pgoff))
        return -1
    b = len(ctx.w["blk"])
    g = ctx.w["gen"]
    ctx.w["blk"] = ctx.w["blk"] + (Block(1, FileData("D", pgoff, g)),)
    ctx.w["gen"] = g + 1
    W.set_item(ctx.w, "fmap", pgoff, b)
    ctx.touch("w", "fmap")
    ctx.touch("w", "blk")
    ctx.event("%s(pgoff %d, create) -> new block B%d" % (fname, pgoff, b))
    return b


@primitive("get_xip_mem")
def _get_xip_mem(ctx: Ctx, a: list[Value]) -> Value:
    pgoff, create = a[1], a[2]
    if may_fail(ctx, "block mapping"):
        return -5
    b = get_block(ctx, pgoff, bool(create), "get_xip_mem")
    if b < 0:
        return -ENODATA
    if is_ptr(a[3]):
        write_place(ctx, place_of(a[3]), obj("kmem", b))
    if is_ptr(a[4]):
        write_place(ctx, place_of(a[4]), obj("pfn", b))
    return 0


@primitive("xip_sparse_page", visible=False)
def _xip_sparse_page(ctx: Ctx, a: list[Value]) -> Value:
    return obj("page", 0)


def free_blocks(ctx: Ctx, first: int) -> list[str]:
    """Free every block from pgoff first on; the names of those freed."""
    freed = []
    npg = ctx.prog.cfg["npg"]
    for p in range(max(first, 0), npg):
        b = ctx.w["fmap"][p]
        if b >= 0:
            W.set_item(ctx.w, "blk", b, Block(0, "POISON"))
            W.set_item(ctx.w, "fmap", p, -1)
            freed.append("B%d" % b)
    ctx.touch("w", "fmap")
    ctx.touch("w", "blk")
    return freed


@primitive("ext2_free_data_block")
def _ext2_free_data_block(ctx: Ctx, a: list[Value]) -> Value:
    p = a[1]
    b = ctx.w["fmap"][p] if type(p) is int and 0 <= p < ctx.prog.cfg["npg"] else -1
    ctx.touch("w", "fmap")
    ctx.touch("w", "blk")
    if b >= 0:
        W.set_item(ctx.w, "blk", b, Block(0, "POISON"))
        W.set_item(ctx.w, "fmap", p, -1)
        ctx.event("ext2_free_data_block(pgoff %d) -> block B%d freed" % (p, b))
    else:
        ctx.event("ext2_free_data_block(pgoff %s): hole" % (p,))
    return 0


@primitive("ext2_get_block", "ext4_get_block", "xfs_get_blocks")
def _get_block_bh(ctx: Ctx, a: list[Value]) -> Value:
    """get_block(inode, iblock, bh, create): fill the buffer_head from the model's block map;
    a hole leaves it unmapped unless create allocates a block."""
    iblock, bh, create = a[1], a[2], a[3]
    if may_fail(ctx, "block mapping"):
        return -5
    if type(iblock) is not int:
        ctx.not_modelled.add("%s with a non-constant block" % ctx.prim_name)
        return -5
    had = ctx.w["fmap"][iblock] if 0 <= iblock < ctx.prog.cfg["npg"] else -1
    b = get_block(ctx, iblock, bool(create) if type(create) is int else True, ctx.prim_name)
    state = 0
    if b >= 0:
        state |= 1 << (ctx.prog.const("BH_Mapped") or 4)
        if had < 0:
            state |= 1 << (ctx.prog.const("BH_New") or 5)
    if is_ptr(bh):
        for fld, v in (("b_state", state), ("b_blocknr", b if b >= 0 else 0)):
            write_place(ctx, field_place(place_of(bh), fld), v)
    return 0


@primitive("bdev_direct_access")
def _bdev_direct_access(ctx: Ctx, a: list[Value]) -> Value:
    """bdev_direct_access(bh, &kaddr, &pfn): the kernel address and pfn of the block bh maps."""
    bh = a[0]
    rec_v = read_place(ctx, place_of(bh)) if is_ptr(bh) else UNKNOWN
    b = rec_get(rec_v, "b_blocknr") if is_rec(rec_v) else UNKNOWN
    if type(b) is not int:
        ctx.not_modelled.add("bdev_direct_access on an unknown buffer_head")
        return -5
    if may_fail(ctx, "direct access"):
        return -5
    ctx.touch("r", "blk")
    if is_ptr(a[1]):
        write_place(ctx, place_of(a[1]), obj("kmem", b))
    if is_ptr(a[2]):
        write_place(ctx, place_of(a[2]), obj("pfn", b))
    ctx.event("bdev_direct_access(B%d)%s" % (b, "" if ctx.w["blk"][b].owned else " (a freed block)"))
    return PS


@primitive("__ext2_truncate_blocks")
def _ext2_truncate_blocks(ctx: Ctx, a: list[Value]) -> Value:
    first = ((a[1] + PS - 1) >> PAGE_SHIFT) if type(a[1]) is int else 0
    freed = free_blocks(ctx, first)
    ctx.event("__ext2_truncate_blocks(from pgoff %d): %s" % (first, ", ".join(freed) or "none"))
    return 0


@primitive("iomap_iter")
def _iomap_iter(ctx: Ctx, a: list[Value]) -> Value:
    """iomap_iter(&iter, ops): the first call maps the one page (->iomap_begin: the model's block
    map, allocating with IOMAP_WRITE); the next one ends the walk, or returns the error the body
    recorded in iter.processed."""
    pl = place_of(a[0])
    it = read_place(ctx, pl)
    iomap = rec_get(it, "iomap")
    length = rec_get(iomap, "length") if is_rec(iomap) else 0
    if type(length) is int and length:
        done = rec_get(it, "processed")
        return done if type(done) is int and done < 0 else 0
    pos, flags = rec_get(it, "pos"), rec_get(it, "flags")
    p = pos >> PAGE_SHIFT if type(pos) is int else 0
    write = type(flags) is int and bool(flags & (ctx.prog.const("IOMAP_WRITE") or 1))
    if may_fail(ctx, "iomap_begin"):
        return -5
    had = ctx.w["fmap"][p] if 0 <= p < ctx.prog.cfg["npg"] else -1
    b = get_block(ctx, p, write, "iomap_begin")
    c = ctx.prog.const
    fields = {"offset": p << PAGE_SHIFT, "length": PS, "flags": 0,
              "type": c("IOMAP_MAPPED") if b >= 0 else c("IOMAP_HOLE"),
              "addr": (b << PAGE_SHIFT) if b >= 0 else c("IOMAP_NULL_ADDR")}
    if b >= 0 and had < 0:
        fields["flags"] = c("IOMAP_F_NEW") or 1
    write_place(ctx, field_place(pl, "iomap"), rec(True, fields))
    write_place(ctx, field_place(pl, "srcmap"), rec(True, {"type": c("IOMAP_HOLE") or 0}))
    write_place(ctx, field_place(pl, "processed"), 0)
    return 1


@primitive("iomap_length", inline=True)
def _iomap_length(ctx: Ctx, a: list[Value], line: int) -> Value:
    return PS


def _block_of(ctx: Ctx, addr_bytes: Value) -> int | None:
    if type(addr_bytes) is not int or addr_bytes < 0 or (addr_bytes >> PAGE_SHIFT) >= len(ctx.w["blk"]):
        return None
    return addr_bytes >> PAGE_SHIFT


def _direct_access(ctx: Ctx, b: int | None, kaddr_p: Value, pfn_p: Value, what: str) -> int | None:
    """The kernel address and pfn of block b into *kaddr_p and *pfn_p; None on success, or the
    error (an unknown block, or the failure branch of a failure-paths run)."""
    if b is None:
        ctx.not_modelled.add("%s without a mapped block" % what)
        return -5
    if may_fail(ctx, "direct access"):
        return -5
    ctx.touch("r", "blk")
    for ptr_v, v in ((kaddr_p, obj("kmem", b)), (pfn_p, obj("pfn", b))):
        if is_ptr(ptr_v):
            write_place(ctx, place_of(ptr_v), v)
    ctx.event("%s(B%d)%s" % (what, b, "" if ctx.w["blk"][b].owned else " (a freed block)"))
    return None


@primitive("dax_iomap_direct_access")
def _dax_iomap_direct_access(ctx: Ctx, a: list[Value]) -> Value:
    """(iomap, pos, size, &kaddr, &pfn): the kernel address and pfn of the mapped block."""
    b = _block_of(ctx, rec_get(a[0], "addr") if is_rec(a[0]) else read_place(ctx, field_place(place_of(a[0]), "addr")))
    err = _direct_access(ctx, b, a[3], a[4], "dax_iomap_direct_access")
    return err if err is not None else 0


@primitive("dax_direct_access")
def _dax_direct_access(ctx: Ctx, a: list[Value]) -> Value:
    """(dax_dev, pgoff, nr, mode, &kaddr, &pfn): pgoff is the block."""
    b = a[1] if type(a[1]) is int and 0 <= a[1] < len(ctx.w["blk"]) else None
    err = _direct_access(ctx, b, a[4], a[5] if len(a) > 5 else 0, "dax_direct_access")
    return err if err is not None else a[2]


@primitive("PHYS_PFN", inline=True)
def _phys_pfn(ctx: Ctx, a: list[Value], line: int) -> Value:
    return a[0] >> PAGE_SHIFT if type(a[0]) is int else a[0]
