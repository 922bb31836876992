"""The model state of xip-model.md §3.2 (file, blocks, pages, PTEs, locks): during a step a
dict of immutable components, between steps a WorldState, hashable and comparable."""
from __future__ import annotations

from typing import Any, NamedTuple

from .values import PTE_NONE, Pte, plain_text


@plain_text
class FileData(NamedTuple):
    """The contents a block or page holds: the file's data of pgoff, written in generation gen.
    (Other contents are the strings "ZERO", "POISON" (a freed block's) and "UNINIT".)"""
    tag: str        # "D"
    pgoff: int
    gen: int


@plain_text
class Block(NamedTuple):
    owned: int      # 1 while the file owns it, 0 once freed
    data: Any       # FileData | "POISON"


@plain_text
class Page(NamedTuple):
    """An entry of the page array; page#0 is the XIP sparse zero page."""
    kind: str       # "anon", "file" or "zero"
    ref: int
    pgoff: int      # -1 until an anonymous page is mapped
    data: Any       # FileData | "ZERO" | "POISON" | "UNINIT"
    live: int       # 0 once freed
    charged: int    # memcg: 0 none, 1 tried, 2 committed


@plain_text
class RwState(NamedTuple):
    """A rw-semaphore that is held or queued on: writer tid (-1 none), reader tids, and the
    queue of writer tids waiting (writer-preferring)."""
    writer: int
    readers: tuple
    queued: tuple


RW_FREE = RwState(-1, (), ())


@plain_text
class WorldState(NamedTuple):
    isize: int             # in pages
    fmap: tuple            # pgoff -> block index, -1 for a hole
    blk: tuple[Block, ...]
    mem: tuple[Page, ...]
    pcache: tuple          # pgoff -> page index, -1 when not cached
    ptes: tuple[Pte, ...]  # vma index * npg + pgoff
    locks: tuple           # sorted (name, state): a tid for a mutex, an RwState for a rwsem
    gen: int               # generation of the next block written
    trunc: int             # truncates completed


KEYS = WorldState._fields
_new = tuple.__new__
World = dict    # the mutable view a step works on: {key: component}


def initial(cfg: dict) -> World:
    """cfg: npg, isize, blocks (pgoffs with a block), vmas (names)."""
    npg = cfg["npg"]
    fmap, blk = [], []
    for p in range(npg):
        if p in cfg["blocks"]:
            fmap.append(len(blk))
            blk.append(Block(1, FileData("D", p, 0)))
        else:
            fmap.append(-1)
    mem = [Page("zero", 1, -1, "ZERO", 1, 0)]      # the XIP sparse zero page is page#0
    pcache = [-1] * npg
    for p in cfg.get("cached", ()):
        pcache[p] = len(mem)
        mem.append(Page("file", 1, p, FileData("D", p, 0), 1, 0))
    ptes = [PTE_NONE] * (npg * len(cfg["vmas"]))
    return {"isize": cfg["isize"], "fmap": tuple(fmap), "blk": tuple(blk), "mem": tuple(mem),
            "pcache": tuple(pcache), "ptes": tuple(ptes), "locks": (), "gen": 1, "trunc": 0}


def freeze(w: World) -> WorldState:
    # tuple.__new__: no Python-level __new__ on this path, taken once per step
    return _new(WorldState, (w["isize"], w["fmap"], w["blk"], w["mem"], w["pcache"], w["ptes"], w["locks"],
                             w["gen"], w["trunc"]))


def thaw(t: WorldState) -> World:
    return dict(zip(KEYS, t))


def set_item(w: World, key: str, idx: int, val: Any) -> None:
    t = list(w[key])
    t[idx] = val
    w[key] = tuple(t)


def lock_state(w: World, name: str) -> Any:
    for n, s in w["locks"]:
        if n == name:
            return s
    return None


def set_lock(w: World, name: str, state: Any) -> None:
    d = dict(w["locks"])
    if state is None:
        d.pop(name, None)
    else:
        d[name] = state
    w["locks"] = tuple(sorted(d.items()))
