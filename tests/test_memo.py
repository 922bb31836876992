"""The on-disk memo of per-file analyses: a repeat answers from disk, a changed file or a changed
analysis is computed again, a broken cache costs time and never a wrong or missing answer."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from reviewbot import memo

CALLS: list[bytes] = []


def count_words(src: bytes, word: str) -> list:
    CALLS.append(src)
    return [[i, line.decode()] for i, line in enumerate(src.splitlines(), 1) if word.encode() in line]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWBOT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("REVIEWBOT_NO_MEMO", raising=False)
    CALLS.clear()
    return tmp_path / "cache"


def test_a_repeat_is_answered_from_disk_and_an_edit_is_not(cache):
    src = b"int a;\nstruct vm_fault vmf;\n"
    first = memo.cached(count_words, src, "vm_fault")
    assert first == [[2, "struct vm_fault vmf;"]] and len(CALLS) == 1
    assert memo.cached(count_words, src, "vm_fault") == first and len(CALLS) == 1
    edited = src + b"struct vm_fault other;\n"
    assert memo.cached(count_words, edited, "vm_fault")[-1] == [3, "struct vm_fault other;"]
    assert memo.cached(count_words, src, "other") == [] and len(CALLS) == 3
    assert (cache / "analysis.sqlite").exists()


def test_a_broken_cache_file_costs_time_not_answers(cache):
    cache.mkdir(parents=True)
    (cache / "analysis.sqlite").write_bytes(b"this is not a database" * 100)
    src = b"struct vm_fault vmf;\n"
    assert memo.cached(count_words, src, "vm_fault") == [[1, "struct vm_fault vmf;"]]
    assert memo.cached(count_words, src, "vm_fault") == [[1, "struct vm_fault vmf;"]]


def test_review_output_is_the_same_from_the_memo_and_without_it(tmp_path):
    def review(**env):
        r = subprocess.run([sys.executable, "-m", "reviewbot", "review", "--bundled",
                            "cow-missing-init", "--no-simulate", "--format", "json"],
                           capture_output=True, text=True, cwd="/",
                           env={**os.environ, "REVIEWBOT_CACHE": str(tmp_path / "c"), **env})
        assert r.returncode == 1, r.stderr
        return r.stdout
    cold = review()
    warm = review()
    assert (tmp_path / "c" / "analysis.sqlite").exists()
    assert cold == warm == review(REVIEWBOT_NO_MEMO="1")
    assert json.loads(warm)["findings"]


def test_an_edit_of_the_parser_or_the_index_invalidates_every_result(cache, monkeypatch):
    """Every analysis reads C through cparse and cindex: editing either one (a new masking
    rule, say) must not leave results of the old parser on disk."""
    import inspect

    from reviewbot import cindex, cparse
    src = b"struct vm_fault vmf;\n"
    real = inspect.getsource
    try:
        memo._code_version.cache_clear()
        memo.cached(count_words, src, "vm_fault")
        memo.cached(count_words, src, "vm_fault")
        assert len(CALLS) == 1
        for edited in (cparse, cindex):
            monkeypatch.setattr(memo.inspect, "getsource", lambda m, e=edited: real(m) + (
                "\n# edited" if m is e else ""))
            memo._code_version.cache_clear()
            memo.cached(count_words, src, "vm_fault")
        assert len(CALLS) == 3
    finally:
        monkeypatch.undo()
        memo._code_version.cache_clear()
