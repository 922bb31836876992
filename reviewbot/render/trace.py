"""A simulator counterexample as lines, lockdep-terse (the steps that matter) or in full.

The violation step is always the last line and is never cut; the full trace stays in JSON and
behind `--trace full`."""
from __future__ import annotations

import re

from reviewbot.render.safe import one_line

# steps a reader needs to follow a fault-path violation: locks, ->fault and its return, the
# page-table update, and each thread's start and end
KEY = re.compile(r"\b(?:un)?lock_page\b|_(?:un)?lock\w*\(|\bPTL\b|\breturns\b|->fault\b|"
                 r"->page_mkwrite\b|VIOLATION")
MAX_TERSE = 10


def steps(sim: dict | None) -> list[dict]:
    trace = (sim or {}).get("trace") or []
    if isinstance(trace, str):
        return [{"action": ln} for ln in trace.splitlines() if ln.strip()]
    return [s if isinstance(s, dict) else {"action": str(s)} for s in trace]


def step_line(s: dict, full: bool = False) -> str:
    who = s.get("thread", s.get("cpu", ""))
    who = f"CPU{who}" if isinstance(who, int) else one_line(str(who or ""))
    action = one_line(str(s.get("action") or s.get("text") or ""))
    where = ""
    if s.get("file") and s.get("line"):
        where = f"{one_line(str(s['file']))}:{s['line']}"
        if s.get("function"):
            where += f" {one_line(str(s['function']))}()"
    parts = [p for p in (who, where) if p]
    return (" ".join(parts) + ": " if parts else "") + action


def trace_lines(sim: dict | None, mode: str = "terse") -> list[str]:
    """`terse`: each thread's first step, the steps that take or drop a lock or return from
    the handler, and the violation, with `...` where steps were left out; `full`: all."""
    st = steps(sim)
    if not st:
        return []
    if mode == "full":
        return [f"{i:3d} {step_line(s)}" for i, s in enumerate(st, 1)]
    keep: list[int] = []
    seen_threads: set = set()
    for i, s in enumerate(st):
        who = s.get("thread", s.get("cpu"))
        if who not in seen_threads or KEY.search(str(s.get("action", ""))):
            keep.append(i)
            seen_threads.add(who)
    last = len(st) - 1
    if len(keep) > MAX_TERSE:        # the newest steps lead to the violation: keep those
        keep = keep[:2] + keep[-(MAX_TERSE - 2):]
    if last not in keep:
        keep.append(last)
    out, prev = [], -1
    for i in keep:
        if i > prev + 1:
            n = i - prev - 1
            out.append(f"    ... {n} step{'s' if n > 1 else ''}")
        out.append(f"{i + 1:3d} {step_line(st[i])}")
        prev = i
    return out
