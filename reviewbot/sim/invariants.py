"""State invariants of xip-model.md §4 checked outside single primitives: I4a on every
state, I4b/I5/I6 on final states (every thread finished)."""
from __future__ import annotations

from .values import PTE_NONE
from .world import FileData, World

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


def _loc(cfg: dict, i: int) -> str:
    npg = cfg["npg"]
    return "%s:%d" % (cfg["vmas"][i // npg][0], i % npg)


def check_always(cfg: dict, w: World) -> tuple[str, str] | None:
    for i, v in enumerate(w["ptes"]):
        if v == PTE_NONE:
            continue
        if v.kind == "pfn" and not w["blk"][v.target].owned:
            return I4A, "pte[%s] maps block B%d, which has been freed" % (_loc(cfg, i), v.target)
        if v.kind in ("page", "anon", "zero") and not w["mem"][v.target].live:
            return I4A, "pte[%s] maps page#%d, which has been freed" % (_loc(cfg, i), v.target)
    return None


def check_final(cfg: dict, w: World) -> tuple[str, str] | None:
    npg = cfg["npg"]
    mapped = set()
    for i, v in enumerate(w["ptes"]):
        if v == PTE_NONE:
            continue
        p = i % npg
        if v.kind in ("page", "anon", "zero"):
            mapped.add(v.target)
        if w["trunc"] and p >= w["isize"]:
            return I4B, "after truncate to %d page(s), pte[%s] still maps %s" % (
                w["isize"], _loc(cfg, i), "%s %s" % (v.kind.upper(), v.target))
        if v.kind == "anon":
            data = w["mem"][v.target].data
            if data in ("POISON", "UNINIT") or (type(data) is FileData and data.pgoff != p):
                return I5, "COW page#%d mapped at %s holds %s" % (
                    v.target, _loc(cfg, i), {"POISON": "data of a freed block", "UNINIT": "uninitialised memory"}.get(
                        data, "data of another offset"))
    for pid, e in enumerate(w["mem"]):
        if e.kind == "anon" and e.live and pid not in mapped:
            return I6, "anonymous page#%d is neither mapped nor freed (ref %d)" % (pid, e.ref)
        if e.kind == "anon" and e.charged == 1:
            return I6, "memcg charge of page#%d neither committed nor cancelled" % pid
    return None
