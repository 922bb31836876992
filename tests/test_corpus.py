"""The bundled corpus: deterministic base repo, threads that apply, a clean parse."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reviewbot.corpus import (CORPUS, THREADS, build_tree_repo, list_threads,
                              thread_path)

EXPECTED_THREADS = ["clean", "cow", "cow-missing-init", "cow-missing-unlock", "no-patch"]
PATCH_SUBJECT = re.compile(r"\[PATCH(?: v(\d+))? (\d+)/(\d+)\]")


def _env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_COMMITTER_NAME": "corpus test",
                "GIT_COMMITTER_EMAIL": "test@reviewbot.invalid"})
    return env


def _git(repo: Path, *args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-c", "core.autocrlf=false", *args], cwd=repo,
                          env=env, capture_output=True, text=True)


def _split(mbox: Path, dest: Path, env: dict) -> list[Path]:
    dest.mkdir()
    subprocess.run(["git", "mailsplit", "--mboxrd", f"-o{dest}", str(mbox)],
                   check=True, capture_output=True, env=env)
    return sorted(dest.iterdir())


def _patch_groups(msgs: list[Path]) -> dict[int, list[tuple[int, Path]]]:
    """Patches (not covers) by revision, each list sorted by patch number."""
    groups: dict[int, list[tuple[int, Path]]] = {}
    for m in msgs:
        text = m.read_text(encoding="utf-8")
        head = text.split("\n\n", 1)[0]
        subj = re.search(r"^Subject: (.*)$", head, re.M).group(1)
        if subj.startswith("Re:"):
            continue
        hit = PATCH_SUBJECT.search(subj)
        if not hit or hit.group(2) == "0":
            continue
        assert "\ndiff --git " in text, f"{m}: patch without a diff"
        groups.setdefault(int(hit.group(1) or 1), []).append((int(hit.group(2)), m))
    return {v: sorted(g) for v, g in groups.items()}


def test_list_and_path():
    assert list_threads() == EXPECTED_THREADS
    assert thread_path("cow") == THREADS / "cow.mbox"
    assert thread_path("cow.mbox").is_file()
    with pytest.raises(FileNotFoundError):
        thread_path("no-such-thread")
    assert (CORPUS / "tree" / "mm" / "memory.c").is_file()


def test_build_tree_repo_is_deterministic(tmp_path):
    a = build_tree_repo(tmp_path / "a")
    b = build_tree_repo(tmp_path / "b")
    assert a == b
    assert re.fullmatch(r"[0-9a-f]{40}", a)
    env = _env(tmp_path)
    log = _git(tmp_path / "a", "log", "--format=%an <%ae>|%aI|%cI|%s", env=env).stdout
    assert log.strip() == ("reviewbot corpus <corpus@reviewbot.invalid>|"
                           "2015-01-01T00:00:00+00:00|2015-01-01T00:00:00+00:00|"
                           "corpus: fault path base")
    assert _git(tmp_path / "a", "status", "--porcelain", env=env).stdout == ""


def test_build_tree_repo_refuses_nonempty(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "f").write_text("x")
    with pytest.raises(FileExistsError):
        build_tree_repo(tmp_path / "x")


@pytest.mark.parametrize("name", EXPECTED_THREADS)
def test_thread_applies(name, tmp_path):
    env = _env(tmp_path)
    base = build_tree_repo(tmp_path / "base")
    msgs = _split(thread_path(name), tmp_path / "split", env)
    text = thread_path(name).read_text(encoding="utf-8")
    groups = _patch_groups(msgs)
    if name == "no-patch":
        assert groups == {}
        assert "diff --git" not in text
        return
    for line in re.findall(r"^base-commit: (\S+)$", text, re.M):
        assert line == base
    assert groups, f"{name}: no patches found"
    assert set(groups) == ({1, 2} if name == "cow" else {1})
    for rev, patches in groups.items():
        assert [n for n, _ in patches] == list(range(1, len(patches) + 1))
        repo = tmp_path / f"v{rev}"
        subprocess.run(["git", "clone", "-q", str(tmp_path / "base"), str(repo)],
                       check=True, env=env, capture_output=True)
        for _, patch in patches:
            res = _git(repo, "am", "-q", "--patch-format=mboxrd", str(patch), env=env)
            assert res.returncode == 0, f"{name} v{rev} {patch.name}: {res.stderr}"
        count = _git(repo, "rev-list", "--count", f"{base}..HEAD", env=env).stdout
        assert int(count) == len(patches)


def _tree_errors(parser, data: bytes) -> list[str]:
    errs, stack = [], [parser.parse(data).root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            errs.append(f"{node.type}@{node.start_point[0] + 1}")
        stack.extend(node.children)
    return errs


def test_tree_parses_cleanly():
    import tree_sitter_c
    from tree_sitter import Language, Parser
    parser = Parser(Language(tree_sitter_c.language()))
    files = sorted(p for p in (CORPUS / "tree").rglob("*") if p.suffix in (".c", ".h"))
    assert len(files) >= 15
    bad = {str(p.relative_to(CORPUS)): e for p in files
           if (e := _tree_errors(parser, p.read_bytes()))}
    assert bad == {}


def test_patched_trees_parse_cleanly(tmp_path):
    """After each series is applied the tree still parses without errors."""
    import tree_sitter_c
    from tree_sitter import Language, Parser
    parser = Parser(Language(tree_sitter_c.language()))
    env = _env(tmp_path)
    build_tree_repo(tmp_path / "base")
    for name in EXPECTED_THREADS:
        groups = _patch_groups(_split(thread_path(name), tmp_path / f"s-{name}", env))
        for rev, patches in groups.items():
            repo = tmp_path / f"{name}-v{rev}"
            subprocess.run(["git", "clone", "-q", str(tmp_path / "base"), str(repo)],
                           check=True, env=env, capture_output=True)
            for _, patch in patches:
                assert _git(repo, "am", "-q", str(patch), env=env).returncode == 0
            for p in sorted(repo.rglob("*")):
                if p.suffix in (".c", ".h") and ".git" not in p.parts:
                    assert _tree_errors(parser, p.read_bytes()) == [], f"{name} v{rev} {p}"


def test_generator_is_up_to_date():
    """corpus/make_threads.py --check: the committed mboxes and tables match the sources."""
    res = subprocess.run([sys.executable, str(CORPUS / "make_threads.py"), "--check"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
