"""Replay a JSON trace on a tree: re-execute its schedule step by step and check that
every recorded action happens again, ending in the same verdict."""
from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, TextIO

from . import explore, interp
from .run import prepare

if TYPE_CHECKING:
    from .cfront import ReadFile


class ReplayError(Exception):
    pass


MAX_TRACE_BYTES = 16 * 1024 * 1024   # budgets of a trace file (README, "Budgets")
MAX_JSON_DEPTH = 32                  # json.loads recurses per level: checked before it runs
# strings as an unrolled loop: an alternation per character would stack 10 MB of state
_JSON_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{]|[\]}]')


def json_depth(raw: bytes) -> int:
    """How deep JSON arrays and objects nest, read without recursion (strings skipped)."""
    depth = deepest = 0
    for m in _JSON_TOKEN.finditer(raw):
        c = m.group(0)[:1]
        if c in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in b"]}":
            depth -= 1
    return deepest


def load_trace(raw: bytes) -> Any:
    """A trace file as data of the shape `replay` takes: {"trace": [steps]} or [steps], each
    step an object with a string `thread` and `action`; a ReplayError names what is wrong."""
    if len(raw) > MAX_TRACE_BYTES:
        raise ReplayError("larger than %d MiB, the budget of a trace" % (MAX_TRACE_BYTES >> 20))
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise ReplayError("JSON nested deeper than %d, the budget of a trace" % MAX_JSON_DEPTH)
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ReplayError("not UTF-8 text") from None
    except ValueError as e:
        raise ReplayError("not JSON (%s)" % e) from None
    if isinstance(data, dict):
        steps, scenario = data.get("trace"), data.get("scenario")
        if scenario is not None and not isinstance(scenario, str):
            raise ReplayError("not a trace: scenario must be a string")
    else:
        steps = data
    if not isinstance(steps, list):
        raise ReplayError("not a trace: expected an object with a \"trace\" list, or a list "
                          "of steps")
    for i, st in enumerate(steps, 1):
        if not isinstance(st, dict) or not isinstance(st.get("thread"), str) \
                or not isinstance(st.get("action"), str):
            raise ReplayError("not a trace: step %d needs a string thread and action" % i)
        if not isinstance(st.get("sched"), (int, str, type(None))) or isinstance(st.get("sched"), bool):
            raise ReplayError("not a trace: step %d has a sched that is not a number" % i)
    return data


def _groups(steps: list) -> list[list]:
    out = []
    for s in steps:
        if not isinstance(s, dict) or "thread" not in s or "action" not in s:
            raise ReplayError("not a trace: each step needs thread and action")
        key = s.get("sched")
        if out and out[-1][0] == key and out[-1][1] == s["thread"]:
            out[-1][2].append(s)
        else:
            out.append([key, s["thread"], [s]])
    return out


def replay(read_file: ReadFile, data: Any, scenario: str | None, fmt: str, out: TextIO) -> int:
    steps = data.get("trace") if isinstance(data, dict) else data
    if not isinstance(steps, list) or not steps:
        raise ReplayError("no trace steps in the file")
    name = scenario or (data.get("scenario") if isinstance(data, dict) else None)
    try:
        prog, name, specs = prepare(read_file, name)
    except KeyError:
        raise ReplayError("unknown scenario %s" % name)
    except interp.Incomplete as e:
        raise ReplayError(str(e))
    names = [s[0] for s in specs]
    engine = explore.Engine(prog, names)
    state = engine.initial(specs)
    n = 0
    verdict, inv, msg = "holds", None, None
    log = []
    for _, thread, group in _groups(steps):
        if thread not in names:
            raise ReplayError("thread %s is not in scenario %s" % (thread, name))
        want = [s["action"] for s in group]
        outs = engine.step(state, names.index(thread))
        match = next((o for o in outs if [e[3] for e in o.events] == want), None)
        if match is None:
            got = [e[3] for e in outs[0].events] if outs else ["(thread blocked or finished)"]
            i = next((k for k in range(max(len(want), len(got)))
                      if k >= len(want) or k >= len(got) or want[k] != got[k]), 0)
            raise ReplayError("diverged at step %d (%s): expected %r, got %r" % (
                n + 1 + i, thread, want[i] if i < len(want) else "(nothing)", got[i] if i < len(got) else "(nothing)"))
        for f, line, fn, action in match.events:
            n += 1
            log.append({"step": n, "thread": thread, "file": f, "line": line, "function": fn, "action": action})
            if fmt == "text":
                out.write("  %3d  %-4s %-24s %-20s %s\n" % (n, thread, "%s:%d" % (f, line) if f else "-",
                                                            fn or "-", action))
        if match.violation is not None:
            verdict, (inv, msg) = "violated", match.violation
            break
        if match.incomplete is not None:
            verdict, msg = "incomplete", match.incomplete
            break
        state = match.state
    if fmt == "json":
        json.dump({"verdict": verdict, "invariant": inv, "message": msg, "scenario": name, "trace": log},
                  out, indent=2, sort_keys=True)
        out.write("\n")
    else:
        out.write("replay: %s%s\n" % (verdict, (": %s: %s" % (inv, msg)) if inv else (": " + msg if msg else
                                                                                     ", no violation on this trace")))
    return {"holds": 0, "violated": 1}.get(verdict, 2)
