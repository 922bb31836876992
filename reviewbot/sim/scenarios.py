"""Named scenarios: which threads run, on which mappings, against which ->fault handler,
and the choice of the one that fits a tree when none is named."""
from __future__ import annotations

from .values import obj

WRITE = "FAULT_FLAG_WRITE"

# thread kinds: (name, driver, vma index, flags) for faults; truncate/punch take the inode
_SCENARIOS = {
    "cow-read-truncate": dict(
        doc="COW write fault + read fault on the same private mapping, and a truncate to 0",
        vmas=[("P", False)], threads=[("FC", "P", 1), ("FR", "P", 0), ("TR",)]),
    "cow-truncate": dict(
        doc="COW write fault on a private mapping racing a truncate to 0",
        vmas=[("P", False)], threads=[("FC", "P", 1), ("TR",)]),
    "cow-cow-truncate": dict(
        doc="two COW write faults on the same private mapping, and a truncate to 0",
        vmas=[("P", False)], threads=[("FC", "P", 1), ("FC2", "P", 1), ("TR",)]),
    "read-truncate": dict(
        doc="read fault on a private mapping racing a truncate to 0",
        vmas=[("P", False)], threads=[("FR", "P", 0), ("TR",)]),
    "contract-read": dict(
        doc="read fault on a shared mapping; the contract-maximal ->fault",
        vmas=[("S", True)], threads=[("FR", "S", 0)], handler="sim_contract_fault"),
    "contract-shared": dict(
        doc="write fault on a shared mapping; the contract-maximal ->fault",
        vmas=[("S", True)], threads=[("FS", "S", 1)], handler="sim_contract_fault"),
    "contract-cow": dict(
        doc="COW write fault on a private mapping; the contract-maximal ->fault",
        vmas=[("P", False)], threads=[("FC", "P", 1)], handler="sim_contract_fault"),
    "mkwrite-hole": dict(
        doc="read fault then write fault on a shared mapping of a hole (DAX v4.0 model; ->page_mkwrite)",
        vmas=[("S", True)], threads=[("FR", "S", 0), ("FS", "S", 1)], handler="sim_dax_fault",
        mkwrite="sim_dax_fault", blocks=()),
    "dax-cow-read-truncate": dict(
        doc="COW + read fault on a private mapping and a truncate; DAX v4.0 model ->fault",
        vmas=[("P", False)], threads=[("FC", "P", 1), ("FR", "P", 0), ("TR",)], handler="sim_dax_fault"),
    "dax-punch-cow": dict(
        doc="COW fault racing an ext4-style hole punch (no i_size change); DAX v4.0 model",
        vmas=[("P", False)], threads=[("FC", "P", 1), ("HP",)], handler="sim_dax_fault"),
    "xip-pre-cow-read-truncate": dict(
        doc="seed scenario against the XIP model handler from before the truncate-race fix",
        vmas=[("P", False)], threads=[("FC", "P", 1), ("FR", "P", 0), ("TR",)], handler="sim_xip_pre_fault"),
    "pagecache-cow-read-truncate": dict(
        doc="COW + read fault on a private mapping and a truncate; page-cache ->fault (VM_FAULT_LOCKED pages)",
        vmas=[("P", False)], threads=[("FC", "P", 1), ("FR", "P", 0), ("TR",)], handler="sim_pagecache_fault",
        cached=(0,)),
}

DEFAULT = "cow-read-truncate"


def scenario_names():
    return sorted(_SCENARIOS)


def describe(name):
    return _SCENARIOS[name]["doc"]


def pick(prog):
    """The scenario that fits the tree: the seed scenario, with the tree's own XIP
    handler when it has one, else the page-cache model for a tree without XIP."""
    if prog.is_tree_func("xip_file_fault"):
        return DEFAULT
    return "pagecache-cow-read-truncate"


def build(name, prog):
    """(cfg, thread specs) for a scenario on this program's tree."""
    if name not in _SCENARIOS:
        raise KeyError(name)
    sc = _SCENARIOS[name]
    handler = sc.get("handler")
    if handler is None:
        handler = "xip_file_fault" if prog.is_tree_func("xip_file_fault") else "sim_xip_fault"
    cfg = {
        "npg": 1, "isize": 1, "blocks": sc.get("blocks", (0,)), "cached": sc.get("cached", ()),
        "vmas": sc["vmas"], "handler": {"fault": handler, "page_mkwrite": sc.get("mkwrite")},
        "failures": False,
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
            drv = "sim_truncate_ext2" if prog.is_tree_func("ext2_setsize") and prog.is_tree_func(
                "xip_file_fault") else "sim_truncate_generic"
            specs.append(("TR", drv, [obj("inode", None), 0]))
        elif t[0] == "HP":
            specs.append(("HP", "sim_punch", [obj("inode", None), 0]))
        else:
            flags = prog.const(WRITE) if t[2] else 0
            specs.append((t[0], "sim_fault", [obj("vma", vidx[t[1]]), 0, flags]))
    return cfg, specs
