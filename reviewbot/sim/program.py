"""A runnable program: the tree's functions and constants, the model C files, the
primitive table and the model objects (vma, file, mapping, inode, ops) of a scenario."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, NoReturn

from . import cfront, ir, prims
from .invariants import I1, I3, I8
from .interp import CallTag, Incomplete
from .values import UNINIT, UNKNOWN, Loc, Value, is_obj, is_rec, obj, rec_get

if TYPE_CHECKING:
    from .cfront import ReadFile
    from .interp import Ctx, Frame

TREE_FILES = (
    "mm/memory.c", "mm/filemap_xip.c", "mm/truncate.c", "mm/filemap.c", "fs/ext2/inode.c",
    "fs/ext2/ext2.h", "fs/ext2/file.c", "fs/dax.c", "include/linux/fs.h", "include/linux/mm.h", "include/linux/mm_types.h",
    "include/linux/types.h", "include/linux/pagemap.h", "include/linux/rwsem.h", "include/linux/iomap.h",
)
MODEL_DIR = Path(__file__).with_name("model")

# Values a real tree gets from arch headers that a subset may lack.
FALLBACK_CONSTS = {
    "PAGE_SHIFT": 12, "PAGE_SIZE": 4096, "PAGE_MASK": ~4095, "PAGE_CACHE_SHIFT": 12,
    "PAGE_CACHE_SIZE": 4096, "ULONG_MAX": -1, "NULL": 0, "true": 1, "false": 0,
    "GFP_KERNEL": 0x10, "GFP_HIGHUSER_MOVABLE": 0x200d2,
    "ENOMEM": 12, "EBUSY": 16, "ENODATA": 61, "EEXIST": 17, "EFAULT": 14, "EINTR": 4,
    "VM_READ": 1, "VM_WRITE": 2, "VM_SHARED": 8, "VM_MAYREAD": 0x10, "VM_MAYWRITE": 0x20,
    "VM_MAYSHARE": 0x80, "VM_MIXEDMAP": 0x10000000, "CONFIG_MMU": 1,
}
CONFIG = {"CONFIG_MMU", "CONFIG_FS_DAX", "CONFIG_SMP", "CONFIG_64BIT"}


class _ConstCtx:
    """Minimal interpreter context for evaluating macro bodies."""

    def __init__(self, prog: Program) -> None:
        self.prog = prog
        self.cur_line = 0
        self.not_modelled = set()

    def violate(self, inv: str, msg: str) -> NoReturn:
        raise Incomplete("constant expression: " + msg)


# the model objects field reads hand out, made once (values are immutable)
_ANON_VMA = obj("anon_vma", None)
_AOPS = obj("aops", None)
_FILE = obj("file", None)
_FN_GET_XIP_MEM = obj("fn", "get_xip_mem")
_INODE = obj("inode", None)
_LOCK_INVALIDATE_LOCK = obj("lock", "invalidate_lock")
_LOCK_I_MMAP = obj("lock", "i_mmap")
_LOCK_I_MUTEX = obj("lock", "i_mutex")
_LOCK_MMAP_SEM = obj("lock", "mmap_sem")
_LOCK_PTL = obj("lock", "ptl")
_LOCK_TRUNCATE_MUTEX = obj("lock", "truncate_mutex")
_MAPPING = obj("mapping", None)
_MM_A = obj("mm", "A")
_OPS = obj("ops", None)
_ROOT = obj("root", None)
_SB = obj("sb", None)
_XARRAY = obj("xarray", None)


class Model:
    """Field reads and writes of the model objects."""

    def __init__(self, prog: Program) -> None:
        self.prog = prog

    def vma_shared(self, vma: Value) -> bool:
        return is_obj(vma, "vma") and self.prog.cfg["vmas"][vma.ident][1]

    def vma_loc(self, vma: Value, addr: Value) -> Loc:
        span = self.prog.cfg["npg"] * prims.PS
        if type(addr) is not int:
            raise Incomplete("non-constant address")
        return Loc(addr // span, (addr % span) >> prims.PAGE_SHIFT)

    def read(self, ctx: Ctx, o: Value, path: tuple) -> Value:
        p = self.prog
        if o == UNKNOWN:
            return UNKNOWN
        v = o
        for f in path or ((),):
            v = self._field(ctx, v, f)
        return v

    def _field(self, ctx: Ctx, o: Value, f: str | tuple) -> Value:
        p = self.prog
        if is_rec(o):
            return rec_get(o, f) if f != () else o
        if not is_obj(o):
            return UNINIT if o == UNINIT else UNKNOWN
        kind, ident = o.kind, o.ident
        cfg = p.cfg
        if f == ():
            if kind == "pteptr":
                return prims.read_pte(ctx, ident)
            if kind == "pmd":
                return 1
            return o
        if kind == "vma":
            span = cfg["npg"] * prims.PS
            shared = cfg["vmas"][ident][1]
            flags = p.const("VM_READ") | p.const("VM_WRITE") | p.const("VM_MAYREAD") | p.const("VM_MAYWRITE") \
                | p.const("VM_MIXEDMAP")
            if shared:
                flags |= p.const("VM_SHARED") | p.const("VM_MAYSHARE")
            table = {"vm_start": ident * span, "vm_end": (ident + 1) * span, "vm_pgoff": 0,
                     "vm_flags": flags, "vm_mm": _MM_A, "vm_file": _FILE,
                     "vm_ops": _OPS, "anon_vma": _ANON_VMA, "vm_page_prot": 0,
                     "vm_private_data": 0}
        elif kind == "file":
            table = {"f_mapping": _MAPPING, "f_inode": _INODE, "f_mode": 3}
        elif kind == "mapping":
            table = {"host": _INODE, "i_mmap": _ROOT, "i_mmap_rwsem": _LOCK_I_MMAP,
                     "invalidate_lock": _LOCK_INVALIDATE_LOCK, "i_pages": _XARRAY,
                     "a_ops": _AOPS, "nrpages": sum(1 for x in ctx.w["pcache"] if x >= 0)}
        elif kind == "inode":
            if f == "i_size":
                ctx.touch("r", "isize")
                return ctx.w["isize"] * prims.PS
            table = {"i_blkbits": prims.PAGE_SHIFT, "i_sb": _SB, "i_mapping": _MAPPING,
                     "i_mutex": _LOCK_I_MUTEX, "truncate_mutex": _LOCK_TRUNCATE_MUTEX,
                     "i_nblocks": cfg["npg"], "vfs_inode": o, "i_mode": 0o100644, "i_flags": 0}
        elif kind == "global" and ident == "xas":
            # XA_STATE(xas, ...) of the DAX fault: the index is the faulting pgoff
            p = ctx.th.frames[0].locals[1] if ctx.th.frames else 0
            table = {"xa_index": p if type(p) is int else 0}
        elif kind == "root":
            table = {"rb_root": o}
        elif kind == "sb":
            table = {"s_flags": 0, "s_blocksize": prims.PS}
        elif kind == "aops":
            table = {"get_xip_mem": _FN_GET_XIP_MEM}
        elif kind == "ops":
            h = cfg["handler"]
            table = {"fault": obj("fn", h["fault"]), "map_pages": 0, "huge_fault": 0, "open": 0, "close": 0}
            for m in ("page_mkwrite", "pfn_mkwrite"):
                table[m] = obj("fn", h[m]) if h.get(m) else 0
        elif kind == "mm":
            table = {"mmap_sem": _LOCK_MMAP_SEM, "page_table_lock": _LOCK_PTL}
        elif kind == "page":
            e = ctx.w["mem"][ident]
            ctx.touch("r", ("mem", ident))
            incache = e.pgoff >= 0 and ctx.w["pcache"][e.pgoff] == ident
            table = {"index": e.pgoff, "mapping": _MAPPING if (e.kind == "file" and incache) else 0,
                     "flags": 0, "_count": e.ref}
        else:
            table = {}
        if f in table:
            return table[f]
        ctx.not_modelled.add("field %s->%s" % (kind, f))
        return UNKNOWN

    def write(self, ctx: Ctx, o: Value, path: tuple, v: Value) -> None:
        if is_obj(o, "inode") and path == ("i_size",):
            ctx.touch("w", "isize")
            ctx.w["isize"] = (v + prims.PS - 1) >> prims.PAGE_SHIFT if type(v) is int else ctx.w["isize"]
            return
        if is_obj(o, "pteptr") and path == ():
            prims.write_pte(ctx, o.ident, v)
            return
        if is_obj(o, "inode") and path == ("i_nblocks",):
            return
        if o == UNKNOWN:
            return
        ctx.not_modelled.add("write %s->%s" % (o.kind if is_obj(o) else "?", ".".join(map(str, path))))


class Program:
    Blocked = prims.Blocked

    def __init__(self, read_file: ReadFile, cfg: dict, extra_model_files: Iterable[str | Path] = ()) -> None:
        self.cfg = cfg
        self.tree = cfront.TreeIndex(read_file, TREE_FILES)
        self.models = cfront.TreeIndex(self._read_model, [])
        for p in sorted(MODEL_DIR.glob("*.c")) + list(extra_model_files):
            self.models.add_file("sim/model/" + Path(p).name)
        self.model = Model(self)
        self._funcs: dict[str, ir.Func] = {}
        self._consts: dict = {}
        self._ir_inline = set(prims.INLINE)
        self.tree_func_names = set(self.tree.funcs)

    @staticmethod
    def _read_model(path: str) -> bytes | None:
        p = MODEL_DIR / Path(path).name
        return p.read_bytes() if p.exists() else None

    # ---- functions
    def has_func(self, name: str) -> bool:
        return name in self.tree.funcs or name in self.models.funcs

    def is_tree_func(self, name: str) -> bool:
        return name in self.tree.funcs

    def releases(self, fname: str, lock: str) -> bool:
        """Does fname itself call the release of lock on some path?"""
        names = _RELEASES.get(lock.split("#")[0], ("mutex_unlock", "spin_unlock"))
        fn = self.func(fname)
        return any(ins[0] == "call" and ins[3][0] == "name" and ins[3][1] in names for ins in fn.code)

    def is_tree_path(self, path: str) -> bool:
        return path in self.tree.present

    def func(self, name: str) -> ir.Func:
        f = self._funcs.get(name)
        if f is None:
            src = self.tree.funcs.get(name) or self.models.funcs.get(name)
            if src is None:
                raise Incomplete("no function %s in the tree" % name)
            f = src.lower(self._ir_inline, CONFIG)
            self._funcs[name] = f
        return f

    def resolve(self, ctx: Ctx, ins: ir.Instr) -> tuple[str, Any]:
        callee = ins[3]
        tag = None
        if callee[0] == "name":
            name = callee[1]
        else:
            v = cfront_eval(ctx, callee)
            if v == 0 or v == UNINIT:
                ctx.violate(I3, "call through a %s function pointer (%s) at line %d in %s" % (
                    "NULL" if v == 0 else "uninitialised", ins[5], ins[1], ctx.th.frames[-1].fn.name))
            if not is_obj(v, "fn"):
                return "unknown", ins[5]
            name = v.ident
            if callee[0] == "field" and callee[2] in ("fault", "page_mkwrite", "pfn_mkwrite"):
                tag = CallTag(callee[2], tuple(ctx.th.held))
        p = prims.PRIMS.get(name)
        if p is not None and not (p.prefer_tree and self.cfg.get("tree_helpers") and name in self.tree.funcs
                                  and not self.func(name).error):
            return "prim", p
        if self.has_func(name):
            fn = self.func(name)
            return "func", (fn, tag)
        return "unknown", name

    # ---- values
    def const(self, name: str) -> int | None:
        if name in self._consts:
            v = self._consts[name]
            if v is _BUSY:
                return None
            return v
        self._consts[name] = _BUSY
        v = None
        for idx in (self.tree, self.models):
            m = idx.macros.get(name)
            if m is not None:
                v = self._eval_macro(m[0])
                if v is not None:
                    break
        if v is None:
            v = FALLBACK_CONSTS.get(name)
        self._consts[name] = v
        return v

    def _eval_macro(self, body: str) -> int | None:
        node = cfront.parse_expr(body)
        if node is None:
            return None
        try:
            low = cfront.Lowerer.__new__(cfront.Lowerer)
            low.inline, low.scopes, low.code, low.slot_names = self._ir_inline, [{}], [], []
            e = low.expr(node)
            if low.code:
                return None
            from .interp import eval_expr
            v = eval_expr(_ConstCtx(self), e)
        except Exception:
            return None
        return v if type(v) is int else None

    def global_value(self, ctx: Ctx, name: str, line: int, address: bool = False) -> Value:
        v = self.const(name)
        if v is not None:
            return v
        if self.has_func(name) or name in prims.PRIMS:
            return obj("fn", name)
        if address or name == "xas":     # XA_STATE(xas, ...) declares it by name
            return obj("global", name)
        ctx.not_modelled.add("global %s" % name)
        return UNKNOWN

    def inline(self, ctx: Ctx, name: str, args: list[Value], line: int) -> Value:
        return prims.INLINE[name](ctx, args, line)

    def in_atomic(self, ctx: Ctx) -> bool:
        return ("ptl", "X") in ctx.th.held

    # ---- hooks
    def on_call(self, ctx: Ctx, frame: Frame) -> None:
        ctx.covered.add((frame.fn.name, -1, None))
        text = "call %s()" % frame.fn.name if frame.tag is None or not frame.tag.member else "call ->%s = %s()" % (
            frame.tag.member, frame.fn.name)
        if len(ctx.th.frames) > 1:
            caller = ctx.th.frames[-2]
            ctx.events.append((caller.fn.path, ctx.cur_line, caller.fn.name, text))
        else:
            ctx.event(text)

    def on_return(self, ctx: Ctx, frame: Frame, v: Value) -> None:
        if frame.tag is None or not frame.tag.member:
            # a function of the tree returning with a lock it did not hold on entry (and whose
            # job is not to take it): where a leak shows in the tree
            th = ctx.th
            entry = list(frame.tag.held) if frame.tag else []
            extra = list(th.held)
            for h in entry:
                if h in extra:
                    extra.remove(h)
            if extra and self.is_tree_func(frame.fn.name) and not frame.fn.name.startswith(
                    _ACQUIRE_PREFIXES) and len(th.frames) > 1:
                own = any(self.releases(frame.fn.name, n) for n, _m in extra)
                ctx.event("%s() returns %s holding %s%s" % (frame.fn.name, _fault_bits(self, v), ", ".join(
                    "%s(%s)" % h for h in extra), RELEASES_ELSEWHERE if own else ""))
            return
        before = list(frame.tag.held)
        now = list(ctx.th.held)
        for h in before:
            if h in now:
                now.remove(h)
        names = {"VM_FAULT_ERROR": self.const("VM_FAULT_ERROR"), "VM_FAULT_NOPAGE": self.const("VM_FAULT_NOPAGE"),
                 "VM_FAULT_RETRY": self.const("VM_FAULT_RETRY")}
        ctx.event("->%s returns %s%s" % (frame.tag.member, _fault_bits(self, v),
                                         (" holding " + ", ".join("%s(%s)" % h for h in now)) if now else ""))
        if type(v) is int and any(x is not None and v & x for x in names.values()) and now:
            ctx.violate(I8, "->%s returned %s while still holding %s (line %d in %s)" % (
                frame.tag.member, _fault_bits(self, v), ", ".join("%s(%s)" % h for h in now), ctx.cur_line,
                frame.fn.name))

    def on_exit(self, ctx: Ctx, v: Value, frame: Frame) -> None:
        if ctx.th.held:
            ctx.violate(I1, "thread %s returns to user space holding %s" % (
                ctx.th.name, ", ".join("%s (%s)" % (n, {"R": "read", "W": "write", "X": "exclusive"}[m])
                                       for n, m in ctx.th.held)))
        ctx.events.append((frame.fn.path, ctx.cur_line, frame.fn.name,
                           "thread %s done (%s)" % (ctx.th.name, _fault_bits(self, v))))


RELEASES_ELSEWHERE = " (it releases that lock on another path)"
_RELEASES = {"i_mmap": ("i_mmap_unlock_read", "i_mmap_unlock_write", "up_read", "up_write"),
             "page": ("unlock_page",), "dax-entry": ("dax_unlock_entry", "put_unlocked_entry"),
             "invalidate_lock": ("filemap_invalidate_unlock_shared", "filemap_invalidate_unlock", "up_read",
                                 "up_write")}
# tree helpers whose job is to return holding a lock (i_mmap_lock_read(), ...)
_ACQUIRE_PREFIXES = ("i_mmap_lock", "filemap_invalidate_lock", "lock_", "mutex_lock", "spin_lock", "down_",
                     "pte_offset_map_lock", "grab_", "find_lock", "trylock")


class _BusyT:
    pass


_BUSY = _BusyT()


def _fault_bits(prog: Program, v: Value) -> str:
    if type(v) is not int:
        return str(v)
    if v == 0:
        return "0"
    names = []
    for n in ("VM_FAULT_OOM", "VM_FAULT_SIGBUS", "VM_FAULT_MAJOR", "VM_FAULT_WRITE", "VM_FAULT_HWPOISON",
              "VM_FAULT_SIGSEGV", "VM_FAULT_NOPAGE", "VM_FAULT_LOCKED", "VM_FAULT_RETRY", "VM_FAULT_FALLBACK",
              "VM_FAULT_DONE_COW"):
        c = prog.const(n)
        if c and v & c == c:
            names.append(n[9:])
    return "|".join(names) if names else hex(v)


def cfront_eval(ctx: Ctx, e: ir.Expr) -> Value:
    from .interp import eval_expr
    return eval_expr(ctx, e)
