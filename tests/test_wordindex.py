"""The persistent word index answers exactly what `git grep -w` answers: on the base it was built
for, on a new base sharing most files with it, on a locally edited checkout, and after a review
that was killed while building it."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reviewbot.tree import Repo, TreeView
from reviewbot.wordindex import WordIndex, pattern_key

WORDS = ["vm_fault", "VM_FAULT_RETRY", "cow_page", "no_such_word_anywhere"]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout


def git_grep(repo: Path, rev: str | None, word: str, *options: str,
             spec: tuple[str, ...] = ()) -> list[tuple[str, int, str]]:
    """What plain `git grep -n -w` says (or with `options`, e.g. -P, the pattern `word`),
    the reference the index must equal."""
    args = ["grep", "-z", "-n", "-I", *(options or ("-F", "-w")), "--full-name", "-e", word]
    r = subprocess.run(["git", "-C", str(repo), *args, *([rev] if rev else []), "--", *spec],
                       capture_output=True)
    out = []
    for rec in r.stdout.split(b"\n"):
        if rec:
            path, ln, text = rec.split(b"\0", 2)
            path = path.split(b":", 1)[1] if rev else path
            out.append((path.decode(), int(ln), text.decode("utf-8", "replace")))
    return sorted(out)


def no_grep(words, patterns=()):
    raise AssertionError(f"git grep ran for {words} {patterns}: the index should have answered")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWBOT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "words"


@pytest.fixture
def small_repo(tmp_path):
    repo = tmp_path / "linux"
    (repo / "mm").mkdir(parents=True)
    (repo / "include").mkdir()
    (repo / "mm/memory.c").write_text(
        "static int f(struct vm_fault *vmf)\n{\n\tif (ret & VM_FAULT_RETRY)\n\t\treturn 1;\n"
        "\tvmf->cow_page = NULL;\n\treturn 0;\n}\n")
    (repo / "mm/other.c").write_text("/* struct vm_fault_x is not a vm_faults */\n"
                                     "int g(void) { struct vm_fault v; return 0; }\n")
    (repo / "include/mm.h").write_text("struct vm_fault {\n\tstruct page *cow_page;\n};\n")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "A")
    return repo


def test_index_equals_git_grep_then_answers_without_grepping(small_repo, cache):
    repo = Repo(small_repo)
    head = repo.head()
    view = TreeView(repo, head)
    view.prefetch(WORDS)
    for w in WORDS:
        assert view.grep_word(w) == git_grep(small_repo, None, w), w
    assert view.grep_word("vm_fault", ("*.h",)) == [("include/mm.h", 1, "struct vm_fault {")]
    # a later review on the same base: the words come from disk, no grep at all
    again = WordIndex(Path(repo.repo.git_dir), repo.tree_of(head), no_grep, cache)
    assert again.hits(WORDS) == {w: git_grep(small_repo, None, w) for w in WORDS}


def test_a_new_base_reuses_unchanged_files_and_rescans_changed_ones(small_repo, cache):
    repo = Repo(small_repo)
    a = repo.head()
    WordIndex(Path(repo.repo.git_dir), repo.tree_of(a),
              TreeView(repo, a)._grep_base, cache).hits(WORDS)
    (small_repo / "mm/memory.c").write_text("int h(struct vm_fault *vmf)\n{\n"
                                            "\treturn VM_FAULT_RETRY;\n}\n")
    (small_repo / "mm/new.c").write_text("struct vm_fault z = { .cow_page = NULL };\n")
    (small_repo / "mm/other.c").unlink()
    git(small_repo, "add", "-A")
    git(small_repo, "commit", "-q", "-m", "B")
    b = repo.head()
    read = lambda p: repo.blob(f"{b}:{p}")                       # noqa: E731
    idx = WordIndex(Path(repo.repo.git_dir), repo.tree_of(b), no_grep, cache, read=read)
    assert idx.hits(WORDS) == {w: git_grep(small_repo, b, w) for w in WORDS}


def test_edited_working_files_do_not_leak_into_the_base(small_repo, cache):
    repo = Repo(small_repo)
    view = TreeView(repo, repo.head())
    (small_repo / "mm/other.c").write_text("int g(void) { return VM_FAULT_RETRY; }\n")
    assert view.grep_word("VM_FAULT_RETRY") == git_grep(small_repo, "HEAD", "VM_FAULT_RETRY")
    assert view.grep_word("vm_fault") == git_grep(small_repo, "HEAD", "vm_fault")


def test_a_review_killed_while_indexing_leaves_a_usable_cache(small_repo, cache, tmp_path):
    repo = Repo(small_repo)
    tree = repo.tree_of(repo.head())
    started = tmp_path / "started"
    child = subprocess.Popen([sys.executable, "-c", f"""
import time
from pathlib import Path
from reviewbot.tree import Repo, TreeView
from reviewbot.wordindex import WordIndex, pattern_key
repo = Repo({str(small_repo)!r})
view = TreeView(repo, repo.head())
def slow(words, patterns):
    out = view._grep_base(words, patterns)
    Path({str(started)!r}).write_text("x")
    time.sleep(60)
    return out
WordIndex(Path(repo.repo.git_dir), {tree!r}, slow, Path({str(cache)!r})).hits(["vm_fault"])
"""])
    try:
        deadline = time.monotonic() + 60
        while not started.exists() and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)
        assert started.exists(), "the indexing child never got to its grep"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    assert not (cache / f"{tree}.json").exists()
    # a torn file from some other crash is not trusted either
    cache.mkdir(parents=True, exist_ok=True)
    (cache / f"{tree}.json").write_text('{"format": 1, "words": {"vm_fault": [["mm/x.c", 1')
    view = TreeView(repo, repo.head())
    view.words = WordIndex(Path(repo.repo.git_dir), tree, view._grep_base, cache)
    assert view.grep_word("vm_fault") == git_grep(small_repo, None, "vm_fault")
    doc = json.loads((cache / f"{tree}.json").read_text())
    assert sorted(doc["words"]) == ["vm_fault"]
    assert not list(cache.glob(".words-*"))


def test_kernel_tree_index_matches_git_grep(kernel_tree, cache):
    """On the full 6.1 tree: the words two rules ask for, in one pass, equal per-word git grep."""
    repo = Repo(kernel_tree)
    view = TreeView(repo, repo.head())
    words = ["vm_fault", "VM_FAULT_RETRY", "VM_FAULT_LOCKED"]
    view.prefetch(words)
    for w in words:
        assert view.grep_word(w) == git_grep(kernel_tree, None, w), w


# --- line patterns (`git grep -P`), kept in the same index -----------------------------------

DEFS = (r"^(?!\s)(?:[\w\s\*]+\s\**)?(\w*(?:fault|mkwrite)\w*)\s*\([^;]*$", "*.c")


def git_grep_p(repo: Path, rev: str | None, pattern: str, spec: str) -> list[tuple[str, int, str]]:
    return git_grep(repo, rev, pattern, "-P", spec=(spec,))


@pytest.fixture
def handlers_repo(small_repo):
    (small_repo / "mm/handlers.c").write_text(
        "int y_fault(void);\n"                                  # a declaration: no
        "static vm_fault_t x_fault(struct vm_fault *vmf)\n{\n"   # a definition: yes
        "\treturn y_fault();\n}\n"                               # a call: no
        "int\nz_mkwrite(struct vm_fault *vmf,\n\t  int n)\n{\n\treturn 0;\n}\n")
    (small_repo / "mm/handlers.h").write_text("static inline int h_fault(int a)\n{\n}\n")
    git(small_repo, "add", "-A")
    git(small_repo, "commit", "-q", "-m", "handlers")
    return small_repo


def test_a_pattern_grepped_with_the_words_equals_git_grep_and_is_kept(handlers_repo, cache):
    small_repo = handlers_repo
    repo = Repo(small_repo)
    head = repo.head()
    view = TreeView(repo, head)
    view.prefetch(WORDS, [DEFS])
    want = git_grep_p(small_repo, None, *DEFS)
    assert [h[:2] for h in want] == [("mm/handlers.c", 2), ("mm/handlers.c", 7)]
    assert view.grep_pattern(*DEFS) == want
    # the next review on this base greps nothing for it
    again = WordIndex(Path(repo.repo.git_dir), repo.tree_of(head), no_grep, cache)
    assert again.hits([], [DEFS]) == {pattern_key(*DEFS): want}


def test_a_pattern_sees_the_series_and_not_the_local_edits(handlers_repo, cache):
    small_repo = handlers_repo
    repo = Repo(small_repo)
    head = repo.head()
    (small_repo / "mm/other.c").write_text("int edited_fault(void)\n{\n\treturn 0;\n}\n")
    base = TreeView(repo, head)
    blob = subprocess.run(["git", "-C", str(small_repo), "hash-object", "-w", "--stdin"],
                          input=b"static int new_mkwrite(struct vm_fault *vmf)\n{\n}\n",
                          capture_output=True, check=True).stdout.decode().strip()
    patched = base.with_overlay({"mm/new.c": blob, "mm/handlers.c": None}, "patched")
    base.prefetch([], [DEFS])
    assert base.grep_pattern(*DEFS) == git_grep_p(small_repo, "HEAD", *DEFS)
    assert len(base.grep_pattern(*DEFS)) == 2
    assert patched.grep_pattern(*DEFS) == [
        ("mm/new.c", 1, "static int new_mkwrite(struct vm_fault *vmf)")]


def test_a_new_base_rescans_only_the_changed_files_for_a_pattern(handlers_repo, cache):
    small_repo = handlers_repo
    repo = Repo(small_repo)
    a = repo.head()
    TreeView(repo, a).grep_pattern(*DEFS)
    (small_repo / "mm/more.c").write_text("vm_fault_t more_fault(struct vm_fault *vmf)\n{\n}\n")
    (small_repo / "mm/more.h").write_text("vm_fault_t header_fault(struct vm_fault *vmf)\n{\n}\n")
    git(small_repo, "add", "-A")
    git(small_repo, "commit", "-q", "-m", "B")
    b = repo.head()
    idx = WordIndex(Path(repo.repo.git_dir), repo.tree_of(b), no_grep, cache,
                    read=lambda p: repo.blob(f"{b}:{p}"))
    got = idx.hits([], [DEFS])[pattern_key(*DEFS)]
    assert got == git_grep_p(small_repo, b, *DEFS)
    assert ("mm/more.c", 1, "vm_fault_t more_fault(struct vm_fault *vmf)") in got


def test_a_git_without_perl_patterns_greps_words_as_fixed_strings(small_repo, cache,
                                                                  tmp_path, monkeypatch):
    """A git built without PCRE: the words are found all the same (as -F -w), and
    grep_pattern says None (lock-contract then asks word by word)."""
    real = subprocess.run(["sh", "-c", "command -v git"], capture_output=True,
                          text=True).stdout.strip()
    fake = tmp_path / "bin" / "git"
    fake.parent.mkdir()
    fake.write_text(f"""#!/bin/sh
for a in "$@"; do
  if [ "$a" = "-P" ]; then
    echo "fatal: cannot use Perl-compatible regexes when not compiled with USE_LIBPCRE" >&2
    exit 128
  fi
done
exec {real} "$@"
""")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    repo = Repo(small_repo)
    view = TreeView(repo, repo.head())
    view.prefetch(WORDS, [DEFS])
    assert repo.no_perl
    for w in WORDS:
        assert view.grep_word(w) == git_grep(small_repo, None, w), w
    assert view.grep_pattern(*DEFS) is None


# --- reading the base from the working files ------------------------------------------------

def test_the_base_read_from_working_files_is_the_base(small_repo, cache):
    repo = Repo(small_repo)
    head = repo.head()
    (small_repo / "mm/other.c").write_text("edited\n")              # dirty: the base's copy
    (small_repo / "mm/untracked.c").write_text("not in the base\n")  # untracked: absent
    os.symlink("memory.c", small_repo / "mm/link.c")
    git(small_repo, "add", "mm/link.c")
    git(small_repo, "commit", "-q", "-m", "link")
    view = TreeView(repo, repo.head())
    assert view._worktree
    for path in ("mm/memory.c", "mm/other.c", "mm/link.c", "include/mm.h", "mm/untracked.c",
                 "mm/none.c"):
        assert view.read(path) == repo.blob(f"HEAD:{path}"), path
    assert view.read("mm/link.c") == b"memory.c"
    assert view.read("mm/untracked.c") is None
    assert head != repo.head()


def fake_git(tmp_path: Path, monkeypatch, body: str) -> Path:
    """A `git` first on PATH that runs `body` (sh) before the real git; its log file."""
    real = subprocess.run(["sh", "-c", "command -v git"], capture_output=True,
                          text=True).stdout.strip()
    fake = tmp_path / "bin" / "git"
    fake.parent.mkdir(exist_ok=True)
    log = tmp_path / "git.log"
    fake.write_text(f"#!/bin/sh\n{body}\nexec {real} \"$@\"\n".replace("LOG", str(log)))
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    return log


def test_words_and_patterns_are_one_pass_of_the_tree(handlers_repo, cache, tmp_path,
                                                    monkeypatch):
    """The words and the line patterns of a review are one `git grep`, and each answer equals
    a grep of its own: a line matched by a word only is no pattern hit, a pattern hit outside
    its glob (mm/handlers.h) is none either."""
    log = fake_git(tmp_path, monkeypatch, 'case " $* " in *" grep "*) echo grep >> LOG;; esac')
    repo = Repo(handlers_repo)
    view = TreeView(repo, repo.head())
    view.prefetch(WORDS, [DEFS])
    got = {w: view.grep_word(w) for w in WORDS}, view.grep_pattern(*DEFS)
    assert log.read_text().split() == ["grep"]
    assert got == ({w: git_grep(handlers_repo, None, w) for w in WORDS},
                   git_grep_p(handlers_repo, None, *DEFS))


def test_lock_contract_definitions_from_its_cheap_superset_equal_the_exact_pattern(
        handlers_repo, cache):
    """lock-contract greps a superset of the definition lines it wants (a pattern led by a
    literal) and keeps those its exact pattern matches: the same names as an exact grep."""
    from reviewbot_rules import lock_contract as lc
    (handlers_repo / "mm/calls.c").write_text(
        "\tx = do_fault(vmf,\n\t\t0);\n"                # a call, indented: no
        "static vm_fault_t\nfoo_page_mkwrite (struct vm_fault *vmf) {\n}\n"
        "int bar_fault(void);\n")                       # a declaration: no
    git(handlers_repo, "add", "-A")
    git(handlers_repo, "commit", "-q", "-m", "calls")
    repo = Repo(handlers_repo)
    view = TreeView(repo, repo.head())
    exact = git_grep_p(handlers_repo, None, lc.DEFINED, "*.c")
    assert [h[:2] for h in exact] == [("mm/calls.c", 4), ("mm/handlers.c", 2),
                                      ("mm/handlers.c", 7)]
    want: dict[str, str] = {}
    for path, _ln, line in exact:
        want.setdefault(re.search(lc.DEFINED, line).group(1), path)
    assert lc.Resolver(view).definitions() == want
    assert len(view.grep_pattern(*lc.DEFINES)) > len(exact)     # it is a superset
