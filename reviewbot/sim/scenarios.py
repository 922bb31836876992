"""Named scenarios: which threads run, on which mappings, against which ->fault handler,
and the choice of the one that fits a tree when none is named.

A scenario names the kind of file it maps ("xip", "dax", "pagecache"); its handlers are the
members of the tree's own vm_operations_struct for that kind (`.fault = ...`), followed from
the initialiser.  Hand-written model handlers run only in scenarios that say so by name
(contract-*, xip-pre-*, model-*), for trees that have no handler of their own."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .interp import Incomplete
from .values import obj

if TYPE_CHECKING:
    from .program import Program

WRITE = "FAULT_FLAG_WRITE"

# the vm_operations_struct initialisers that wire a kind of file, in the order tried
VM_OPS = {
    "xip": ("xip_file_vm_ops",),
    "dax": ("ext2_dax_vm_ops",),
    "pagecache": ("generic_file_vm_ops",),
}

_FC_FR_TR = [("FC", "P", 1), ("FR", "P", 0), ("TR",)]

# thread kinds: (name, vma, write) for faults; truncate/punch take the inode
_SCENARIOS = {
    "cow-read-truncate": dict(
        doc="COW write fault + read fault on the same private mapping, and a truncate to 0 (XIP file)",
        file="xip", vmas=[("P", False)], threads=_FC_FR_TR),
    "cow-truncate": dict(
        doc="COW write fault on a private mapping racing a truncate to 0 (XIP file)",
        file="xip", vmas=[("P", False)], threads=[("FC", "P", 1), ("TR",)]),
    "cow-cow-truncate": dict(
        doc="two COW write faults on the same private mapping, and a truncate to 0 (XIP file)",
        file="xip", vmas=[("P", False)], threads=[("FC", "P", 1), ("FC2", "P", 1), ("TR",)]),
    "read-truncate": dict(
        doc="read fault on a private mapping racing a truncate to 0 (XIP file)",
        file="xip", vmas=[("P", False)], threads=[("FR", "P", 0), ("TR",)]),
    "shared-truncate": dict(
        doc="write fault on a shared mapping racing a truncate to 0 (XIP file)",
        file="xip", vmas=[("S", True)], threads=[("FS", "S", 1), ("TR",)]),
    "mkwrite-hole": dict(
        doc="read fault then write fault on a shared mapping of a hole (DAX file; ->page_mkwrite)",
        file="dax", vmas=[("S", True)], threads=[("FR", "S", 0), ("FS", "S", 1)], blocks=()),
    "dax-cow-read-truncate": dict(
        doc="COW + read fault on a private mapping and a truncate (DAX file)",
        file="dax", vmas=[("P", False)], threads=_FC_FR_TR),
    "dax-cow-truncate": dict(
        doc="COW write fault on a private mapping racing a truncate (DAX file)",
        file="dax", vmas=[("P", False)], threads=[("FC", "P", 1), ("TR",)]),
    "dax-shared-truncate": dict(
        doc="write fault on a shared mapping racing a truncate (DAX file)",
        file="dax", vmas=[("S", True)], threads=[("FS", "S", 1), ("TR",)]),
    "dax-cow-hole-truncate": dict(
        doc="COW write fault on a hole of a private mapping racing a truncate (DAX file)",
        file="dax", vmas=[("P", False)], threads=[("FC", "P", 1), ("TR",)], blocks=()),
    "dax-read-cow-hole": dict(
        doc="read fault then COW write fault on a hole of a private mapping (DAX file: the hole page), "
            "with every failure a leaf can report (lock_page_or_retry giving up included)",
        file="dax", vmas=[("P", False)], threads=[("FR", "P", 0), ("FC", "P", 1)], blocks=(), failures=True),
    "dax-cow-failures": dict(
        doc="one COW write fault with every failure a leaf can report (allocation, charge, block mapping)",
        file="dax", vmas=[("P", False)], threads=[("FC", "P", 1)], failures=True),
    "dax-punch-cow": dict(
        doc="COW fault racing an ext4-style hole punch (no i_size change) (DAX file)",
        file="dax", vmas=[("P", False)], threads=[("FC", "P", 1), ("HP",)]),
    "pagecache-cow-read-truncate": dict(
        doc="COW + read fault on a private mapping and a truncate (page-cache file, the tree's ->fault)",
        file="pagecache", vmas=[("P", False)], threads=_FC_FR_TR, cached=(0,)),
    "pagecache-cow-truncate": dict(
        doc="COW write fault on a cached page of a private mapping racing a truncate (page-cache file)",
        file="pagecache", vmas=[("P", False)], threads=[("FC", "P", 1), ("TR",)], cached=(0,)),
    "xip-cow-failures": dict(
        doc="one COW write fault with every failure a leaf can report (XIP file)",
        file="xip", vmas=[("P", False)], threads=[("FC", "P", 1)], failures=True),
    # ---- model handlers, by name only
    "contract-read": dict(
        doc="read fault on a shared mapping; the contract-maximal model ->fault",
        vmas=[("S", True)], threads=[("FR", "S", 0)], handler="sim_contract_fault"),
    "contract-shared": dict(
        doc="write fault on a shared mapping; the contract-maximal model ->fault",
        vmas=[("S", True)], threads=[("FS", "S", 1)], handler="sim_contract_fault"),
    "contract-cow": dict(
        doc="COW write fault on a private mapping; the contract-maximal model ->fault",
        vmas=[("P", False)], threads=[("FC", "P", 1)], handler="sim_contract_fault"),
    "xip-pre-cow-read-truncate": dict(
        doc="seed scenario against the model XIP handler from before the truncate-race fix",
        vmas=[("P", False)], threads=_FC_FR_TR, handler="sim_xip_pre_fault"),
    "model-xip-cow-read-truncate": dict(
        doc="seed scenario against the model XIP handler, for trees without XIP",
        vmas=[("P", False)], threads=_FC_FR_TR, handler="sim_xip_fault"),
    "model-pagecache-cow-read-truncate": dict(
        doc="COW + read fault and a truncate against the model page-cache ->fault (VM_FAULT_LOCKED pages)",
        vmas=[("P", False)], threads=_FC_FR_TR, handler="sim_pagecache_fault", cached=(0,)),
}

DEFAULT = "cow-read-truncate"
# what `pick` (the first) and a review (all) run, for a tree that wires that kind of file: COW,
# read, shared write, mkwrite on a hole, truncate, failure paths.  Hole punch is ext4's, not
# ext2's: its scenario runs by name only.
BY_KIND = {
    "xip": ("cow-read-truncate", "shared-truncate", "xip-cow-failures"),
    "dax": ("dax-cow-read-truncate", "mkwrite-hole", "dax-shared-truncate", "dax-cow-hole-truncate",
            "dax-read-cow-hole", "dax-cow-failures"),
    "pagecache": ("pagecache-cow-truncate",),
}


def scenario_names() -> list[str]:
    return sorted(_SCENARIOS)


def describe(name: str) -> str:
    return _SCENARIOS[name]["doc"]


def tree_ops(prog: Program, kind: str) -> tuple | None:
    """(vm_ops name, path, line, members) of the tree's handler for a kind of file, or None.
    A handler the simulator cannot lower (it does not parse, or the tree has no body for the
    function the initialiser names) does not count."""
    for name in VM_OPS[kind]:
        ent = prog.tree.vm_ops.get(name)
        if ent is None:
            continue
        fault = ent[2].get("fault")
        if fault and prog.is_tree_func(fault):
            return (name,) + ent
    return None


def file_kinds(prog: Program) -> list[str]:
    return [k for k in VM_OPS if tree_ops(prog, k) is not None]


def runnable(prog: Program, name: str) -> bool:
    sc = _SCENARIOS[name]
    return sc.get("handler") is not None or tree_ops(prog, sc["file"]) is not None


def pick(prog: Program) -> str:
    """The scenario that fits the tree: the first kind of file the tree wires a handler for
    (XIP, DAX, page cache), else the model page-cache handler."""
    for kind in VM_OPS:
        for name in BY_KIND[kind]:
            if runnable(prog, name) and _pick_ok(prog, kind):
                return name
    return "model-pagecache-cow-read-truncate"


# the iomap/xarray DAX fault path (v4.10+) runs only once its leaves are model primitives
IOMAP_DAX = True


def _pick_ok(prog: Program, kind: str) -> bool:
    # a page-cache ->fault of the folio era reads state the model does not have
    if kind == "pagecache":
        return prog.is_tree_func("xip_file_fault") or not prog.is_tree_func("filemap_get_folio")
    if kind == "dax":
        return IOMAP_DAX or not prog.is_tree_func("dax_iomap_fault")
    return True


def review_set(prog: Program) -> list[str]:
    """Every scenario a review runs on this tree: the tree-handler scenarios of each kind of
    file it wires (never a model handler: a review follows the tree's code)."""
    out = []
    for kind in VM_OPS:
        if tree_ops(prog, kind) is not None and _pick_ok(prog, kind):
            out.extend(BY_KIND[kind])
    return out


def build(name: str, prog: Program) -> tuple[dict, list[tuple]]:
    """(cfg, thread specs) for a scenario on this program's tree."""
    if name not in _SCENARIOS:
        raise KeyError(name)
    sc = _SCENARIOS[name]
    if sc.get("handler") is not None:
        fn = sc["handler"]
        src = prog.models.funcs.get(fn)
        handler = {"fault": fn, "page_mkwrite": sc.get("mkwrite"), "pfn_mkwrite": None}
        info = {"function": fn, "file": src.path if src else None, "line": src.line if src else None,
                "source": "model", "vm_ops": None}
    else:
        ops = tree_ops(prog, sc["file"])
        if ops is None:
            raise Incomplete("scenario %s runs the tree's own %s ->fault, and the tree wires none (%s); "
                             "model handlers run only in the model scenarios: %s" % (
                                 name, sc["file"], ", ".join(VM_OPS[sc["file"]]),
                                 ", ".join(n for n in scenario_names() if _SCENARIOS[n].get("handler"))))
        ops_name, path, line, members = ops
        handler = {"fault": members.get("fault"), "page_mkwrite": members.get("page_mkwrite"),
                   "pfn_mkwrite": members.get("pfn_mkwrite")}
        src = prog.tree.funcs[handler["fault"]]
        info = {"function": handler["fault"], "file": src.path, "line": src.line, "source": "tree",
                "vm_ops": "%s (%s:%d)" % (ops_name, path, line)}
    cfg = {
        "npg": 1, "isize": 1, "blocks": sc.get("blocks", (0,)), "cached": sc.get("cached", ()),
        "vmas": sc["vmas"], "handler": handler, "handler_info": info,
        "failures": sc.get("failures", False),
        # truncate/unmap helpers are run from the tree's C only in XIP-era trees; later trees
        # walk folio batches and interval trees that the model replaces by primitives
        "tree_helpers": prog.is_tree_func("xip_file_fault"),
    }
    vidx = {v[0]: i for i, v in enumerate(sc["vmas"])}
    specs = []
    for t in sc["threads"]:
        if t[0] == "TR":
            # ext2's own truncate where the tree is of the XIP era; later ext2 truncate
            # paths (DAX, iomap) are outside the model, so use truncate_setsize() there
            # (and ext2's own for its DAX files, whose truncate takes the invalidate lock)
            drv = "sim_truncate_ext2" if prog.is_tree_func("ext2_setsize") and (prog.is_tree_func(
                "xip_file_fault") or sc.get("file") == "dax") else "sim_truncate_generic"
            specs.append(("TR", drv, [obj("inode", None), 0]))
        elif t[0] == "HP":
            specs.append(("HP", "sim_punch", [obj("inode", None), 0]))
        else:
            flags = prog.const(WRITE) if t[2] else 0
            specs.append((t[0], "sim_fault", [obj("vma", vidx[t[1]]), 0, flags]))
    return cfg, specs
