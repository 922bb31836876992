"""A persistent whole-word index of base trees: for each word (or line pattern) a review asked
about, every line of the tree holding it, kept per git tree under the cache directory. A repeat
review on the same base greps nothing; a new base reuses the hits of every file it shares with an
indexed one."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from fnmatch import fnmatch
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable

Hit = tuple[str, int, str]                  # (path, line, text)
# one pass of the tree for words and (pattern, glob) pairs: hits by index key; a pattern the
# grep cannot run (a git without Perl patterns) is left out of its answer
Grep = Callable[[list[str], list[tuple[str, str]]], dict[str, list[Hit]]]

FORMAT = 1
NEIGHBOURS = 3              # other bases looked at for hits to reuse
MAX_CHANGED = 4000          # past this many changed files a fresh grep is cheaper than reuse
_WORD = r"(?<![A-Za-z0-9_])(?:{})(?![A-Za-z0-9_])"


def cache_root() -> Path:
    """$REVIEWBOT_CACHE, else $XDG_CACHE_HOME/reviewbot, else ~/.cache/reviewbot."""
    if os.environ.get("REVIEWBOT_CACHE"):
        return Path(os.environ["REVIEWBOT_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "reviewbot"


def words_in(line: str, words: Iterable[str]) -> list[str]:
    """Which of `words` occur in `line` as whole words (git grep -w's notion of a word)."""
    return [w for w in words if w in line and _word_rx(w).search(line)]


@lru_cache(maxsize=4096)
def _word_rx(word: str) -> re.Pattern:
    return re.compile(_WORD.format(re.escape(word)))


def pattern_key(pattern: str, spec: str) -> str:
    """The index key of a line pattern over the files matching `spec` (never a word)."""
    return f"re:{spec}:{pattern}"


def pattern_of(key: str) -> tuple[str, str] | None:
    """(pattern, spec) of a pattern's index key; None for a word."""
    if not key.startswith("re:"):
        return None
    spec, pattern = key[3:].split(":", 1)
    return pattern, spec


def scan_pattern(text: str, pattern: str) -> list[tuple[int, str]]:
    """(line, text) of every line of one file that `pattern` (Perl syntax that Python's re
    reads the same way) matches."""
    rx = re.compile(pattern)
    return [(i, line) for i, line in enumerate(text.splitlines(), 1) if rx.search(line)]


def scan(text: str, words: list[str]) -> dict[str, list[tuple[int, str]]]:
    """(line, text) of every whole-word occurrence of each word in one file's text."""
    out: dict[str, list[tuple[int, str]]] = {w: [] for w in words}
    words = [w for w in words if w in text]     # a word not in the text is on no line of it
    if not words:
        return out
    rx = re.compile(_WORD.format("|".join(map(re.escape, sorted(words, key=len, reverse=True)))))
    for i, line in enumerate(text.splitlines(), 1):
        if rx.search(line):
            for w in words_in(line, words):
                out[w].append((i, line))
    return out


class WordIndex:
    """The words of one git tree (`tree` is a tree id) that reviews have asked for so far."""

    def __init__(self, gitdir: Path, tree: str, grep: Grep, directory: Path | None = None,
                 read: Callable[[str], bytes | None] | None = None):
        self.gitdir = gitdir
        self.tree = tree
        self._grep = grep
        self._read = read
        self.dir = directory or cache_root() / "words"
        self.path = self.dir / f"{tree}.json"
        self._words: dict[str, list[Hit]] = self._load(self.path)

    # -- lookup ---------------------------------------------------------------------------
    def hits(self, words: Iterable[str], patterns: Iterable[tuple[str, str]] = ()
             ) -> dict[str, list[Hit]]:
        """The hits of each word, and of each (pattern, glob) under its pattern_key: from the
        index, from a neighbour base plus a scan of what changed, or from one grep of the tree
        for everything still missing. A pattern the grep cannot run is absent."""
        want = sorted(set(words)) + sorted({pattern_key(p, s) for p, s in patterns})
        missing = [k for k in want if k not in self._words]
        if missing:
            t0 = time.monotonic()
            got = self._reuse(missing)
            rest = [k for k in missing if k not in got]
            if rest:
                if sys.stderr.isatty():
                    print(f"reviewbot: indexing {len(rest)} word(s) of tree {self.tree[:12]}",
                          file=sys.stderr)
                found = self._grep([k for k in rest if pattern_of(k) is None],
                                   [pt for pt in map(pattern_of, rest) if pt is not None])
                got.update({k: sorted(h) for k, h in found.items()})
            self._words.update(got)
            self._save(got)
            if sys.stderr.isatty() and time.monotonic() - t0 > 1:
                print(f"reviewbot: word index updated in {time.monotonic() - t0:.1f} s",
                      file=sys.stderr)
        return {k: self._words[k] for k in want if k in self._words}

    def known(self) -> set[str]:
        return set(self._words)

    def has_pattern(self, pattern: str, spec: str) -> bool:
        return pattern_key(pattern, spec) in self._words

    # -- reuse from another base ----------------------------------------------------------
    def _reuse(self, words: list[str]) -> dict[str, list[Hit]]:
        """Hits for `words` carried over from an indexed neighbour tree: its hits in the files
        both trees share, plus a scan of the files that differ."""
        got: dict[str, list[Hit]] = {}
        if self._read is None or not self.dir.is_dir():
            return got
        others = sorted((p for p in self.dir.glob("*.json") if p != self.path),
                        key=lambda p: p.stat().st_mtime, reverse=True)
        for other in others[:NEIGHBOURS]:
            wanted = [w for w in words if w not in got]
            if not wanted:
                break
            old = self._load(other, only=set(wanted))
            if not old:
                continue
            changed = self._changed(other.stem)
            if changed is None:
                continue
            texts = {p: self._read(p) for p in sorted(changed)}
            for w in sorted(old):
                hits = [h for h in old[w] if h[0] not in changed]
                for p, data in texts.items():
                    if data is not None and b"\0" not in data[:8000]:
                        hits += [(p, ln, t) for ln, t in _scan_key(p, data, w)]
                got[w] = sorted(hits)
        return got

    def _changed(self, old_tree: str) -> set[str] | None:
        r = subprocess.run(["git", "--git-dir", str(self.gitdir), "diff-tree", "-r", "-z",
                            "--no-renames", "--name-only", old_tree, self.tree],
                           capture_output=True)
        if r.returncode != 0:
            return None                     # that tree is not in this repository
        paths = {p.decode("utf-8", "surrogateescape") for p in r.stdout.split(b"\0") if p}
        return paths if len(paths) <= MAX_CHANGED else None

    # -- storage --------------------------------------------------------------------------
    def _load(self, path: Path, only: set[str] | None = None) -> dict[str, list[Hit]]:
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            return {}                       # absent, or unreadable: it is only a cache
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            return {}
        words = doc.get("words") or {}
        return {w: [(p, int(n), t) for p, n, t in hits] for w, hits in words.items()
                if only is None or w in only}

    def _save(self, new: dict[str, list[Hit]]) -> None:
        """Merge `new` into the file on disk (another review may have added words meanwhile)
        and replace it atomically: a review killed mid-write leaves the old file whole."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            words = self._load(self.path)
            words.update(new)
            doc = {"format": FORMAT, "tree": self.tree,
                   "words": {w: [list(h) for h in words[w]] for w in sorted(words)}}
            fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".words-", suffix=".tmp")
            try:
                with os.fdopen(fd, "w") as f:
                    json.dump(doc, f, separators=(",", ":"))
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError:
            pass                            # a read-only cache costs speed, not correctness


def _scan_key(path: str, data: bytes, key: str) -> list[tuple[int, str]]:
    """The hits of one index key (a word, or a pattern over a file glob) in one file."""
    text = data.decode("utf-8", "replace")
    pt = pattern_of(key)
    if pt is not None:
        return scan_pattern(text, pt[0]) if fnmatch(path, pt[1]) else []
    return scan(text, [key])[key]
