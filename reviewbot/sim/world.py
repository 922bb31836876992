"""The model state of xip-model.md §3.2 (file, blocks, pages, PTEs, locks), kept as a
dict of immutable components so that a frozen state is a hashable tuple."""
from __future__ import annotations

from .values import PTE_NONE

KEYS = ("isize", "fmap", "blk", "mem", "pcache", "ptes", "locks", "gen", "trunc")

# mem entry: (kind, ref, pgoff, data, live, charged); kind is "anon", "file" or "zero";
# data is ("D", pgoff, gen) | "ZERO" | "POISON" | "UNINIT"; charged 0 none, 1 tried, 2 committed.


def initial(cfg):
    """cfg: npg, isize, blocks (pgoffs with a block), vmas (names)."""
    npg = cfg["npg"]
    fmap, blk = [], []
    for p in range(npg):
        if p in cfg["blocks"]:
            fmap.append(len(blk))
            blk.append((1, ("D", p, 0)))
        else:
            fmap.append(-1)
    mem = [("zero", 1, -1, "ZERO", 1, 0)]      # the XIP sparse zero page is page#0
    pcache = [-1] * npg
    for p in cfg.get("cached", ()):
        pcache[p] = len(mem)
        mem.append(("file", 1, p, ("D", p, 0), 1, 0))
    ptes = [PTE_NONE] * (npg * len(cfg["vmas"]))
    return {"isize": cfg["isize"], "fmap": tuple(fmap), "blk": tuple(blk), "mem": tuple(mem),
            "pcache": tuple(pcache), "ptes": tuple(ptes), "locks": (), "gen": 1, "trunc": 0}


def freeze(w):
    return tuple(w[k] for k in KEYS)


def thaw(t):
    return dict(zip(KEYS, t))


def set_item(w, key, idx, val):
    t = list(w[key])
    t[idx] = val
    w[key] = tuple(t)


def lock_state(w, name):
    for n, s in w["locks"]:
        if n == name:
            return s
    return None


def set_lock(w, name, state):
    d = dict(w["locks"])
    if state is None:
        d.pop(name, None)
    else:
        d[name] = state
    w["locks"] = tuple(sorted(d.items()))
