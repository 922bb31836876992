"""Rules that declare `concurrent = True` run in one forked process beside the main one, on the
second core, and hand their findings back; any failure of that process leaves the work to the
main process, so the result is always what a serial run gives."""
from __future__ import annotations

import os
import pickle
import sys
from typing import Callable

# What one rule gives for one patch: its findings, the identities of those it also finds on
# the base, and the entries it added to the patch's `skipped`.
Outcome = tuple[list, set, list]
Check = Callable[[object, object], Outcome]

# The parent's persistent `git cat-file` processes and database connection, as the child
# found them: held so that they are never finalized in the child (that would end them or
# release the parent's locks); the child starts its own.
_INHERITED: list = []


def wanted(rules: list, contexts: list) -> list:
    """The rules to run apart: only in tree mode (a diff-only review is fast), with a second
    core, fork, and REVIEWBOT_SERIAL unset."""
    if os.environ.get("REVIEWBOT_SERIAL") or not hasattr(os, "fork") or \
            (os.cpu_count() or 1) < 2 or not any(c.base is not None for c in contexts):
        return []
    return [r for r in rules if getattr(r, "concurrent", False)]


class RuleWorker:
    """A forked process that runs `rules` on every context, in order."""

    def __init__(self, rules: list, contexts: list, check: Check):
        self.results: dict[tuple[int, str], Outcome] | None = None
        self.pid = 0
        read, write = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:                                   # the child: never returns
            os.close(read)
            _child(write, rules, contexts, check)
        os.close(write)
        self.pid, self.read = pid, os.fdopen(read, "rb")

    def outcome(self, index: int, rule_id: str) -> Outcome | None:
        """What the worker found for context `index` and rule `rule_id`; None when it failed
        (the caller then runs the rule itself)."""
        if self.results is None:
            try:
                data = self.read.read()
                self.results = pickle.loads(data) if data else {}
            except Exception:                          # a torn or unreadable answer
                self.results = {}
            self.close()
        return self.results.get((index, rule_id))

    def close(self) -> None:
        """End the worker (if still running) and reap it."""
        if self.pid:
            if self.results is None:
                try:
                    os.kill(self.pid, 9)
                except ProcessLookupError:
                    pass
            os.waitpid(self.pid, 0)
            self.pid = 0
            self.read.close()


def _child(fd: int, rules: list, contexts: list, check: Check) -> None:
    status = 1
    try:
        _own_resources(contexts)
        out: dict[tuple[int, str], Outcome] = {}
        for i, ctx in enumerate(contexts):
            for rule in rules:
                out[(i, rule.id)] = check(rule, ctx)
        data = pickle.dumps(out)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        status = 0
    except BaseException:       # the parent reads nothing and runs the rules itself
        pass
    finally:
        os._exit(status)


def _own_resources(contexts: list) -> None:
    from reviewbot import memo
    _INHERITED.append(memo._store)
    memo._store = memo._Store()
    seen: set[int] = set()
    for ctx in contexts:
        for name in ("base", "patched", "before_patch", "after_patch"):
            view = getattr(ctx, name, None)
            g = getattr(getattr(getattr(view, "repo", None), "repo", None), "git", None)
            if g is None or id(g) in seen:
                continue
            seen.add(id(g))
            _INHERITED.append((g.cat_file_all, g.cat_file_header))
            g.cat_file_all = g.cat_file_header = None
