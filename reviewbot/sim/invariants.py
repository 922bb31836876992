"""State invariants of xip-model.md §4 checked outside single primitives: I4a on every
state, I4b/I5/I6 on final states (every thread finished)."""
from __future__ import annotations

from .values import PTE_NONE

# The invariants of xip-model.md §4, by the names verdicts and traces carry.
I1 = "I1 lock balance at exit"
I2 = "I2 unlock matches lock and mode"
I3 = "I3 no NULL or uninitialised use"
I4A = "I4a no PTE maps freed storage"
I4B = "I4b nothing mapped past EOF after truncate"
I5 = "I5 COW data correct"
I6 = "I6 no leaked page or reference"
I7 = "I7 no deadlock"
I8 = "I8 handler contract kept"
I9 = "I9 no recursive acquisition"


def _loc(cfg, i):
    npg = cfg["npg"]
    return "%s:%d" % (cfg["vmas"][i // npg][0], i % npg)


def check_always(cfg, w):
    for i, v in enumerate(w["ptes"]):
        if v == PTE_NONE:
            continue
        if v[1] == "pfn" and not w["blk"][v[2]][0]:
            return I4A, "pte[%s] maps block B%d, which has been freed" % (_loc(cfg, i), v[2])
        if v[1] in ("page", "anon", "zero") and not w["mem"][v[2]][4]:
            return I4A, "pte[%s] maps page#%d, which has been freed" % (_loc(cfg, i), v[2])
    return None


def check_final(cfg, w):
    npg = cfg["npg"]
    mapped = set()
    for i, v in enumerate(w["ptes"]):
        if v == PTE_NONE:
            continue
        p = i % npg
        if v[1] in ("page", "anon", "zero"):
            mapped.add(v[2])
        if w["trunc"] and p >= w["isize"]:
            return I4B, "after truncate to %d page(s), pte[%s] still maps %s" % (
                w["isize"], _loc(cfg, i), "%s %s" % (v[1].upper(), v[2]))
        if v[1] == "anon":
            data = w["mem"][v[2]][3]
            if data in ("POISON", "UNINIT") or (type(data) is tuple and data[1] != p):
                return I5, "COW page#%d mapped at %s holds %s" % (
                    v[2], _loc(cfg, i), {"POISON": "data of a freed block", "UNINIT": "uninitialised memory"}.get(
                        data, "data of another offset"))
    for pid, e in enumerate(w["mem"]):
        kind, ref, pgoff, data, live, charged = e
        if kind == "anon" and live and pid not in mapped:
            return I6, "anonymous page#%d is neither mapped nor freed (ref %d)" % (pid, ref)
        if kind == "anon" and charged == 1:
            return I6, "memcg charge of page#%d neither committed nor cancelled" % pid
    return None
