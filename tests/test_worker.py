"""Rules marked `concurrent` run in a forked worker beside the others: their findings come back
in the order a serial run gives, and a worker that fails or dies leaves the rule to the main
process, which then finds the same."""
from __future__ import annotations

import os
import signal
from types import SimpleNamespace

import pytest

from reviewbot import engine
from reviewbot.findings import Finding, Skipped

MAIN = os.getpid()


class Probe:
    """A rule that says which process ran it; `fail` says what it does in a worker."""

    def __init__(self, rule_id: str, concurrent: bool, fail: str = ""):
        self.id, self.concurrent, self.fail = rule_id, concurrent, fail
        self.severity, self.summary = "warning", "probe"

    def check(self, ctx):
        if os.getpid() != MAIN and self.fail == "raise":
            raise RuntimeError("a rule that fails in the worker")
        if os.getpid() != MAIN and self.fail == "die":
            os.kill(os.getpid(), signal.SIGKILL)
        ctx.skip(self.id, f"{self.id} on patch {ctx.patch.index}")
        where = "main" if os.getpid() == MAIN else "worker"
        yield Finding(rule=self.id, severity="warning", patch=ctx.patch.msgid, file="mm/x.c",
                      line=ctx.patch.index, function="f", message=f"{self.id} ran in {where}")


def contexts(n: int = 2) -> list:
    out = []
    for i in range(1, n + 1):
        ctx = SimpleNamespace(patch=SimpleNamespace(index=i, msgid=f"p{i}@x"), base=object(),
                              patched=None, skipped=[], side="patched")
        ctx.skip = (lambda c: lambda check, why: c.skipped.append(Skipped(check, why,
                                                                          c.patch.msgid)))(ctx)
        out.append(ctx)
    return out


def run(rules) -> tuple[list[tuple[str, int, str]], list[str]]:
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    engine._run(rules, contexts(), findings, skipped)
    return [(f.rule, f.patch_index, f.message) for f in findings], [s.reason for s in skipped]


@pytest.fixture(autouse=True)
def two_cores(monkeypatch):
    monkeypatch.delenv("REVIEWBOT_SERIAL", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)


def test_a_concurrent_rule_runs_in_the_worker_and_keeps_the_serial_order():
    got, skipped = run([Probe("a-rule", False), Probe("b-rule", True), Probe("c-rule", False)])
    assert got == [("a-rule", 1, "a-rule ran in main"), ("b-rule", 1, "b-rule ran in worker"),
                   ("c-rule", 1, "c-rule ran in main"), ("a-rule", 2, "a-rule ran in main"),
                   ("b-rule", 2, "b-rule ran in worker"), ("c-rule", 2, "c-rule ran in main")]
    assert skipped == [f"{r} on patch {i}" for i in (1, 2) for r in ("a-rule", "b-rule",
                                                                      "c-rule")]


@pytest.mark.parametrize("fail", ["raise", "die"])
def test_a_worker_that_fails_or_dies_leaves_the_rule_to_the_main_process(fail):
    got, skipped = run([Probe("a-rule", False), Probe("b-rule", True, fail)])
    assert got == [("a-rule", 1, "a-rule ran in main"), ("b-rule", 1, "b-rule ran in main"),
                   ("a-rule", 2, "a-rule ran in main"), ("b-rule", 2, "b-rule ran in main")]
    assert skipped == [f"{r} on patch {i}" for i in (1, 2) for r in ("a-rule", "b-rule")]


def test_serial_one_core_or_diff_only_runs_every_rule_in_the_main_process(monkeypatch):
    rules = [Probe("b-rule", True)]
    assert engine.worker.wanted(rules, contexts()) == rules
    monkeypatch.setenv("REVIEWBOT_SERIAL", "1")
    assert engine.worker.wanted(rules, contexts()) == []
    assert run(rules)[0] == [("b-rule", 1, "b-rule ran in main"),
                             ("b-rule", 2, "b-rule ran in main")]
    monkeypatch.delenv("REVIEWBOT_SERIAL")
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert engine.worker.wanted(rules, contexts()) == []
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    no_tree = contexts()
    for c in no_tree:
        c.base = None
    assert engine.worker.wanted(rules, no_tree) == []
