"""Interpreter for the lowered C subset: runs one thread for one atomic step (local
computation plus at most one visible primitive; a held spinlock keeps the step going)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn

from . import ir
from .invariants import I3, I7
if TYPE_CHECKING:
    from .program import Program

from .values import (UNINIT, UNKNOWN, Rec, Value, is_obj, is_ptr, is_rec, obj, plain_text, ptr, rec, rec_get,
                     rec_set, show)


class Violation(Exception):
    def __init__(self, inv: str, msg: str) -> None:
        super().__init__(msg)
        self.inv, self.msg = inv, msg


class Incomplete(Exception):
    pass


class NeedChoice(Exception):
    def __init__(self, n: int, label: str) -> None:
        self.n, self.label = n, label


BACK_EDGE_BOUND = 6
MAX_DEPTH = 24


@plain_text
class CallTag(NamedTuple):
    """Why a frame is watched on return: the vm_operations member it was called through
    ("" for a plain call), and the locks its thread held on entry."""
    member: str
    held: tuple


@plain_text
class FrameState(NamedTuple):
    """A frame between steps (Frame.freeze): hashable, part of the explorer's state."""
    fn: str            # the function's name
    pc: int
    locals: tuple
    dest: Any          # the caller's lvalue for the return value, or None
    backs: int         # back edges taken (the loop bound)
    tag: CallTag | None


@plain_text
class ThreadState(NamedTuple):
    """A thread between steps (Thread.freeze)."""
    name: str
    frames: tuple      # of FrameState, innermost last
    held: tuple        # (lock name, mode) in acquisition order
    done: bool
    phase: int         # progress inside a primitive that returned STAY
    ret: int


# tuple.__new__ builds the NamedTuples above without their Python-level __new__: a thread is
# frozen on every step of the search.
_new = tuple.__new__


class Frame:
    __slots__ = ("fn", "pc", "locals", "dest", "backs", "tag")

    def __init__(self, fn: ir.Func, pc: int, locals_: list, dest: Any, backs: int, tag: CallTag | None) -> None:
        self.fn, self.pc, self.locals, self.dest, self.backs, self.tag = fn, pc, locals_, dest, backs, tag

    def freeze(self) -> FrameState:
        return _new(FrameState, (self.fn.name, self.pc, tuple(self.locals), self.dest, self.backs, self.tag))


class Thread:
    """Mutable view of one thread during a step; frozen to a ThreadState between steps."""
    __slots__ = ("name", "frames", "held", "done", "phase", "ret")
    name: str
    frames: list[Frame]
    held: list[tuple[str, str]]
    done: bool
    phase: int
    ret: int

    def freeze(self) -> ThreadState:
        return _new(ThreadState, (self.name, tuple([f.freeze() for f in self.frames]), tuple(self.held), self.done,
                                  self.phase, self.ret))

    @staticmethod
    def thaw(prog: Program, t: ThreadState) -> Thread:
        th = Thread()
        th.name, th.done, th.phase, th.ret = t.name, t.done, t.phase, t.ret
        func = prog.func
        th.frames = [Frame(func(fn), pc, list(locs), dest, backs, tag) for fn, pc, locs, dest, backs, tag in t.frames]
        th.held = list(t.held)
        return th


class Ctx:
    """Everything one step may touch: the world, the running thread, trace output."""
    prim_name: str       # the primitive running, as the tree calls it (set by run())
    inline_name: str     # the inline helper running (set by eval_expr())

    def __init__(self, prog: Program, world: dict, th: Thread, tid: int, choices: tuple[int, ...]) -> None:
        self.prog, self.w, self.th, self.tid = prog, world, th, tid
        self.choices, self.nchoice = choices, 0
        self.events = []      # (file, line, function, action)
        self.access = set()
        self.cur_line = 0
        self.not_modelled = set()
        self.covered = set()
        self.lines = set()    # (path, line) of every instruction that ran

    # -- helpers for primitives
    def choose(self, n: int, label: str) -> int:
        i = self.nchoice
        self.nchoice += 1
        if i < len(self.choices):
            return self.choices[i]
        raise NeedChoice(n, label)

    def touch(self, mode: str, what: str | tuple) -> None:
        self.access.add((mode, what))

    def event(self, action: str) -> None:
        f = self.th.frames[-1] if self.th.frames else None
        if f is None:
            self.events.append(("", 0, "", action))
        else:
            self.events.append((f.fn.path, self.cur_line, f.fn.name, action))

    def violate(self, inv: str, msg: str) -> NoReturn:
        raise Violation(inv, msg)


# ---------------------------------------------------------------- expressions

def _truth(ctx: Ctx, v: Value, line: int, what: str = "condition") -> bool:
    if type(v) is int:
        return v != 0
    if v == UNINIT:
        ctx.violate(I3,
                    "uninitialised value used as %s at line %d in %s" % (what, line, ctx.th.frames[-1].fn.name))
    if v == UNKNOWN:
        return ctx.choose(2, "unknown value at line %d" % line) == 1
    return True  # objects and pointers are non-NULL


def _num(ctx: Ctx, v: Value, line: int) -> Value:
    if type(v) is int:
        return v
    if v == UNINIT or v == UNKNOWN:
        return v
    if is_obj(v) or is_ptr(v):
        return v
    return UNKNOWN


def eval_expr(ctx: Ctx, e: ir.Expr) -> Value:
    k = e[0]
    if k == "const":
        return e[1]
    if k == "var":
        return ctx.th.frames[-1].locals[e[1]]
    if k == "name":
        return ctx.prog.global_value(ctx, e[1], e[2])
    if k == "field" or k == "deref":
        return read_place(ctx, place(ctx, e))
    if k == "addr":
        inner = e[1]
        if inner[0] == "name":
            return ctx.prog.global_value(ctx, inner[1], inner[2], address=True)
        pl = place(ctx, inner)
        if pl[0][0] == "obj":
            v = read_place(ctx, pl)
            if is_obj(v) and v.kind in ("lock", "global"):
                return v
        return ptr(pl[0], pl[1])
    if k == "un":
        op, a = e[1], eval_expr(ctx, e[2])
        if op == "!" or op == "!!":
            t = _truth(ctx, a, e[3])
            return int(t) if op == "!!" else int(not t)
        a = _num(ctx, a, e[3])
        if type(a) is not int:
            return a
        return {"-": -a, "~": ~a, "+": a}[op]
    if k == "bin":
        op = e[1]
        if op == "&&":
            return int(_truth(ctx, eval_expr(ctx, e[2]), e[4]) and _truth(ctx, eval_expr(ctx, e[3]), e[4]))
        if op == "||":
            return int(_truth(ctx, eval_expr(ctx, e[2]), e[4]) or _truth(ctx, eval_expr(ctx, e[3]), e[4]))
        a, b = eval_expr(ctx, e[2]), eval_expr(ctx, e[3])
        return binop(ctx, op, a, b, e[4])
    if k == "assign":
        op, lhs = e[1], e[2]
        if e[3][0] == "reclit":
            v = rec(True, {})
            for fld, x in e[3][1]:
                if fld is not None:
                    v = rec_set(v, fld, eval_expr(ctx, x))
        elif e[3][0] == "uninit":
            v = UNINIT
        else:
            v = eval_expr(ctx, e[3])
        pl = place(ctx, lhs)
        if op != "=":
            v = binop(ctx, op[:-1], read_place(ctx, pl), v, ctx.cur_line)
        write_place(ctx, pl, v)
        return v
    if k == "incdec":
        pl = place(ctx, e[3])
        old = read_place(ctx, pl)
        new = binop(ctx, "+" if e[1] == "++" else "-", old, 1, ctx.cur_line)
        write_place(ctx, pl, new)
        return new if e[2] else old
    if k == "cond":
        return eval_expr(ctx, e[2]) if _truth(ctx, eval_expr(ctx, e[1]), e[4]) else eval_expr(ctx, e[3])
    if k == "inline":
        args = [eval_expr(ctx, a) for a in e[2]]
        ctx.inline_name = e[1]
        return ctx.prog.inline(ctx, e[1], args, e[3])
    raise Incomplete("unknown construct %s at %s:%s in %s" % (
        e[1] if k == "unsupported" else k, ctx.th.frames[-1].fn.path,
        e[-1] if k in ("unsupported", "index") else ctx.cur_line, ctx.th.frames[-1].fn.name))


_OPS = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": lambda a, b: a // b if b else 0, "%": lambda a, b: a % b if b else 0,
    "&": lambda a, b: a & b, "|": lambda a, b: a | b, "^": lambda a, b: a ^ b,
    "<<": lambda a, b: a << b, ">>": lambda a, b: a >> b,
    "==": lambda a, b: int(a == b), "!=": lambda a, b: int(a != b), "<": lambda a, b: int(a < b),
    ">": lambda a, b: int(a > b), "<=": lambda a, b: int(a <= b), ">=": lambda a, b: int(a >= b),
}


def binop(ctx: Ctx, op: str, a: Value, b: Value, line: int) -> Value:
    if type(a) is int and type(b) is int:
        return _OPS[op](a, b)
    if op in ("==", "!="):
        for v in (a, b):
            if v == UNINIT:
                ctx.violate(I3,
                            "uninitialised value compared at line %d in %s" % (line, ctx.th.frames[-1].fn.name))
        if UNKNOWN in (a, b):
            return UNKNOWN
        return _OPS[op](a, b)
    if UNINIT in (a, b):
        return UNINIT
    return UNKNOWN


def place(ctx: Ctx, e: ir.Expr) -> tuple:
    """An lvalue as (base, path): base ('slot', depth, slot) or ('obj', object)."""
    k = e[0]
    if k == "var":
        return (("slot", len(ctx.th.frames) - 1, e[1]), ())
    if k == "field":
        base, path = place(ctx, e[1])
        return (base, path + (e[2],))
    if k == "deref":
        v = eval_expr(ctx, e[1])
        return deref_place(ctx, v, e[2])
    if k == "name":
        v = ctx.prog.global_value(ctx, e[1], e[2])
        return (("obj", v), ())
    raise Incomplete("unsupported lvalue at line %d in %s" % (ctx.cur_line, ctx.th.frames[-1].fn.name))


def deref_place(ctx: Ctx, v: Value, line: int) -> tuple:
    if is_ptr(v):
        return (v.base, v.path)
    if is_obj(v):
        return (("obj", v), ())
    fn = ctx.th.frames[-1].fn.name
    if v == 0:
        ctx.violate(I3, "NULL pointer dereference at line %d in %s" % (line, fn))
    if v == UNINIT:
        ctx.violate(I3,
                    "dereference of an uninitialised pointer at line %d in %s" % (line, fn))
    return (("obj", UNKNOWN), ())


def read_place(ctx: Ctx, pl: tuple) -> Value:
    base, path = pl
    if base[0] == "slot":
        v = ctx.th.frames[base[1]].locals[base[2]]
        for f in path:
            if is_rec(v):
                v = rec_get(v, f)
            elif v == UNINIT:
                return UNINIT
            else:
                return UNKNOWN
        return v
    o = base[1]
    return ctx.prog.model.read(ctx, o, path)


def write_place(ctx: Ctx, pl: tuple, v: Value) -> None:
    base, path = pl
    if base[0] == "slot":
        fr = ctx.th.frames[base[1]]
        if not path:
            fr.locals[base[2]] = v
            return
        fr.locals[base[2]] = _rec_write(fr.locals[base[2]], path, v)
        return
    ctx.prog.model.write(ctx, base[1], path, v)


def _rec_write(r: Value, path: tuple, v: Value) -> Rec:
    if not is_rec(r):
        r = rec(False, {})
    if len(path) == 1:
        return rec_set(r, path[0], v)
    return rec_set(r, path[0], _rec_write(rec_get(r, path[0]), path[1:], v))


# ---------------------------------------------------------------- statements

def pending_prim(prog: Program, th: Thread) -> ir.Instr | None:
    """The visible primitive the thread is parked at, with its argument expressions."""
    if th.done or not th.frames:
        return None
    f = th.frames[-1]
    ins = f.fn.code[f.pc]
    if ins[0] != ir.CALL:
        return None
    return ins


def run(ctx: Ctx, first_visible_done: bool = False) -> bool:
    """Run the thread until it parks before its next visible primitive or exits."""
    th, prog = ctx.th, ctx.prog
    visible_done = first_visible_done
    budget = 20000
    while not th.done:
        budget -= 1
        if budget < 0:
            raise Incomplete("step budget exhausted in %s" % th.frames[-1].fn.name)
        f = th.frames[-1]
        ins = f.fn.code[f.pc]
        op = ins[0]
        ctx.cur_line = ins[1]
        if op != ir.CALL:
            ctx.lines.add((f.fn.path, ins[1]))
        if op == ir.EVAL:
            eval_expr(ctx, ins[2])
            f.pc += 1
        elif op == ir.BR:
            t = _truth(ctx, eval_expr(ctx, ins[2]), ins[1])
            ctx.covered.add((f.fn.name, f.pc, t))
            _jump(ctx, f, ins[3] if t else ins[4])
        elif op == ir.JMP:
            _jump(ctx, f, ins[2])
        elif op == ir.RET:
            v = eval_expr(ctx, ins[2]) if ins[2] is not None else 0
            prog.on_return(ctx, f, v)
            th.frames.pop()
            if not th.frames:
                th.done, th.ret = True, v if type(v) is int else 0
                ctx.cur_line = ins[1]
                prog.on_exit(ctx, v, f)
                break
            caller = th.frames[-1]
            if f.dest is not None:
                write_place(ctx, place(ctx, f.dest), v)
            caller.pc += 1
        elif op == ir.CALL:
            kind, target = prog.resolve(ctx, ins)
            first = not visible_done
            if kind == "prim" and target.visible:
                if visible_done and not prog.in_atomic(ctx):
                    break
                visible_done = True
            ctx.lines.add((f.fn.path, ins[1]))
            if kind == "func":
                callee, tag = target
                args = [eval_expr(ctx, a) for a in ins[4]]
                _push(ctx, callee, args, ins[2], tag)
                continue
            args = [eval_expr(ctx, a) for a in ins[4]]
            if kind == "prim":
                ctx.prim_name = target.name
                nev = len(ctx.events)
                try:
                    v = target.fn(ctx, args)
                except prog.Blocked:
                    if first:
                        raise
                    raise Violation(I7, "%s() would sleep while holding the PTE lock, at line %d in %s"
                                    % (target.name, ins[1], f.fn.name))
                if target.visible and len(ctx.events) == nev:
                    ctx.event("%s()" % target.name)
                if type(v) is tuple and v and v[0] == "STAY":
                    break
                if type(v) is tuple and v and v[0] == "PUSH":
                    _push(ctx, v[1], v[2], ins[2], v[3])
                    continue
            else:
                ctx.not_modelled.add("%s:%s" % (f.fn.name, target))
                v = UNKNOWN
            if ins[2] is not None:
                write_place(ctx, place(ctx, ins[2]), v)
            f.pc += 1
        else:
            raise Incomplete("bad instruction %r" % (op,))
    return visible_done


def _jump(ctx: Ctx, f: Frame, target: int) -> None:
    if target <= f.pc:
        f.backs += 1
        if f.backs > BACK_EDGE_BOUND:
            raise Incomplete("loop bound %d exceeded in %s at %s:%d" % (
                BACK_EDGE_BOUND, f.fn.name, f.fn.path, ctx.cur_line))
    f.pc = target


def _push(ctx: Ctx, fn: ir.Func, args: list[Value], dest: ir.Expr | None, tag: CallTag | None) -> None:
    th = ctx.th
    if fn.error:
        raise Incomplete(fn.error)
    if any(fr.fn.name == fn.name for fr in th.frames):
        raise Incomplete("recursion into %s at %s:%d" % (fn.name, th.frames[-1].fn.path, ctx.cur_line))
    if len(th.frames) >= MAX_DEPTH:
        raise Incomplete("call depth bound at %s" % fn.name)
    if tag is not None and len(fn.params) == 1 and len(args) == 2:
        args = args[1:]        # a one-argument (vmf) model handler called the v4.0 way
    if tag is None and th.held:
        tag = CallTag("", tuple(th.held))     # not a handler: the locks held on entry, for leak reports
    locals_ = [UNINIT] * fn.nslots
    for i, a in enumerate(args[:len(fn.params)]):
        locals_[i] = a
    th.frames.append(Frame(fn, 0, locals_, dest, 0, tag))
    ctx.prog.on_call(ctx, th.frames[-1])


__all__ = ["Violation", "Incomplete", "NeedChoice", "Ctx", "Thread", "Frame", "run", "eval_expr",
           "pending_prim", "obj", "show"]
