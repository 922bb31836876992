"""Export the seed scenario (COW fault + read fault on one private mapping, truncate) of
the XIP model to Promela for a SPIN cross-check; the knobs come from the tree's IR."""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import ir

if TYPE_CHECKING:
    from .program import Program


def _calls(prog: Program, fname: str) -> list[str]:
    if not prog.is_tree_func(fname):
        return []
    return [ins[5] for ins in prog.func(fname).code if ins[0] == ir.CALL]


def knobs(prog: Program) -> dict:
    """Facts of the tree the Promela model is parameterised by (approach B of the notes)."""
    handler = prog.cfg["handler"]["fault"]
    hcalls = _calls(prog, handler) if prog.is_tree_func(handler) else []
    hsrc = prog.func(handler) if prog.has_func(handler) else None
    reads_cow = bool(hsrc) and any("cow_page" in repr(ins) for ins in hsrc.code)
    cow = _calls(prog, "do_cow_fault")
    return {
        "recheck_under_immap": "i_mmap_lock_read" in hcalls,
        "handler_does_cow": reads_cow,
        "cow_unlocks": cow.count("i_mmap_unlock_read"),
    }


def export(prog: Program) -> str:
    k = knobs(prog)
    both = 1 if k["cow_unlocks"] >= 2 else 0
    return _TEMPLATE % {
        "recheck": 1 if k["recheck_under_immap"] else 0,
        "cow": 1 if k["handler_does_cow"] else 0,
        "unlock_not_same": both,
        "knobs": ", ".join("%s=%s" % kv for kv in sorted(k.items())),
    }


_TEMPLATE = r"""/* reviewbot sim: seed scenario exported to Promela (%(knobs)s) */
#define RECHECK %(recheck)d
#define HANDLER_COW %(cow)d
#define UNLOCK_NOT_SAME %(unlock_not_same)d

#define NONE 0
#define PFN 1
#define ANON 2

byte isize = 1;
bool blk_live = 1;
byte pte = NONE;
byte readers = 0;
bool writer = 0;
byte wq = 0;
bool trunc_done = 0;
byte cow_data = 0;       /* 0 none, 1 file data, 2 freed block */
byte fc_holds = 0;
byte fr_holds = 0;

inline down_read(h) { atomic { (writer == 0 && wq == 0) -> readers++; h++ } }
inline up_read(h) { atomic { assert(readers > 0 && h > 0); readers--; h-- } }
inline down_write() {
  wq++;
  atomic { (writer == 0 && readers == 0) -> writer = 1; wq-- }
}
inline up_write() { writer = 0 }

proctype FR() {
  byte orig;
  bool got;
  orig = pte;
  if :: orig != NONE -> goto done :: else -> skip fi;
  if :: isize < 1 -> goto done :: else -> skip fi;
  got = blk_live;
  if :: !got -> goto done :: else -> skip fi;
  if
  :: RECHECK ->
     down_read(fr_holds);
     if :: isize < 1 -> up_read(fr_holds); goto done :: else -> skip fi;
     atomic { if :: pte == NONE -> pte = PFN :: else -> skip fi };
     up_read(fr_holds)
  :: else ->
     atomic { if :: pte == NONE -> pte = PFN :: else -> skip fi }
  fi;
done:
  assert(fr_holds == 0)
}

proctype FC() {
  byte orig;
  bool same;
  orig = pte;
  if :: orig != NONE -> goto done :: else -> skip fi;
  if :: isize < 1 -> goto done :: else -> skip fi;
  if :: !blk_live -> goto done :: else -> skip fi;
  if
  :: HANDLER_COW ->
     atomic { cow_data = (blk_live -> 1 : 2) };
     down_read(fc_holds);
     if :: isize < 1 -> up_read(fc_holds); goto done :: else -> skip fi;
     atomic { if :: pte == orig -> pte = ANON; same = 1 :: else -> same = 0 fi };
     if
     :: same -> up_read(fc_holds)
     :: else -> if :: UNLOCK_NOT_SAME -> up_read(fc_holds) :: else -> skip fi
     fi
  :: else ->
     /* no COW in the handler: it installs the pfn read-only and returns NOPAGE */
     down_read(fc_holds);
     if :: isize < 1 -> up_read(fc_holds); goto done :: else -> skip fi;
     atomic { if :: pte == NONE -> pte = PFN :: else -> skip fi };
     up_read(fc_holds)
  fi;
done:
  assert(fc_holds == 0)      /* I1 lock balance at exit */
}

proctype TR() {
  isize = 0;
  down_write();
  pte = NONE;
  up_write();
  down_write();
  pte = NONE;
  up_write();
  blk_live = 0;
  trunc_done = 1
}

active proctype monitor() {
end:
  do
  :: atomic { (pte == PFN && !blk_live) -> assert(false) }   /* I4a */
  od
}

init {
  atomic { run FC(); run FR(); run TR() };
  (_nr_pr == 2) ->                                             /* only init and monitor left */
  assert(!(trunc_done && pte != NONE));                        /* I4b */
  assert(!(pte == ANON && cow_data == 2))                      /* I5 */
}
"""
