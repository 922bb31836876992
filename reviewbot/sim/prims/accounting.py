"""mm accounting: memcg charges (try, commit, cancel; the I6 checks), and the bookkeeping
calls the model does not track (counters, rmap, LRU, caches), which return a constant."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..interp import write_place
from ..invariants import I6
from ..values import Value, is_ptr, obj
from .registry import constant, primitive
from .common import ENOMEM, may_fail, mem, page_arg, place_of, set_mem, where

if TYPE_CHECKING:
    from ..interp import Ctx


@primitive("mem_cgroup_try_charge")
def _mc_try(ctx: Ctx, a: list[Value]) -> Value:
    pid = page_arg(ctx, a[0], "mem_cgroup_try_charge")
    if may_fail(ctx, "memcg charge"):
        return -ENOMEM
    set_mem(ctx, pid, charged=1)
    if len(a) > 3 and is_ptr(a[3]):
        write_place(ctx, place_of(a[3]), obj("memcg", None))
    return 0


@primitive("mem_cgroup_charge")
def _mc_charge(ctx: Ctx, a: list[Value]) -> Value:
    pid = page_arg(ctx, a[0], "mem_cgroup_charge")
    set_mem(ctx, pid, charged=2)
    return 0


@primitive("mem_cgroup_commit_charge")
def _mc_commit(ctx: Ctx, a: list[Value]) -> Value:
    pid = page_arg(ctx, a[0], "mem_cgroup_commit_charge")
    if mem(ctx, pid).charged != 1:
        ctx.violate(I6, "commit of an uncharged page#%d at %s" % (pid, where(ctx)))
    set_mem(ctx, pid, charged=2)
    return 0


@primitive("mem_cgroup_cancel_charge")
def _mc_cancel(ctx: Ctx, a: list[Value]) -> Value:
    pid = page_arg(ctx, a[0], "mem_cgroup_cancel_charge")
    if mem(ctx, pid).charged != 1:
        ctx.violate(I6, "cancel of a charge that is not pending on page#%d at %s" % (pid, where(ctx)))
    set_mem(ctx, pid, charged=0)
    return 0


primitive("__SetPageUptodate", "flush_icache_page", "inc_mm_counter_fast", "page_add_new_anon_rmap",
     "page_add_file_rmap", "page_remove_rmap", "lru_cache_add_active_or_unevictable", "update_mmu_cache",
     "update_mmu_tlb", "count_vm_event", "mem_cgroup_count_vm_event", "file_update_time",
     "balance_dirty_pages_ratelimited", "cgroup_throttle_swaprate", "inode_dio_wait", "mark_inode_dirty",
     "pte_unmap", "flush_cache_page", "lru_cache_add_inactive_or_unevictable", "folio_add_lru_vma",
     "write_seqcount_begin", "write_seqcount_end", "sb_start_pagefault", "sb_end_pagefault",
     "add_mm_counter", "inc_mm_counter", "page_add_file_rmap", "pte_free", "might_sleep", "cond_resched",
     "pagefault_out_of_memory", "perf_sw_event", "xip_truncate_page", "block_truncate_page",
     "dax_truncate_page", "wait_for_stable_page", "kunmap_atomic", "kunmap", visible=False)(constant(0))


primitive("set_page_dirty", visible=False)(constant(1))


primitive("mapping_mapped", "mapping_is_xip", visible=False)(constant(1))
