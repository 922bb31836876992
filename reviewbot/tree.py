"""Base and patched views of a kernel tree with GitPython, without a checkout: the series is
applied into a temporary index holding only the files it touches (`git apply --cached`), and
every other file is read or grepped from the base (the working files when they are the base)."""
from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import git

from reviewbot.errors import ReviewbotError
from reviewbot.wordindex import WordIndex, scan, words_in


@dataclass
class ApplyResult:
    msgid: str
    index: int
    ok: bool
    error: str = ""
    overlay: dict[str, str | None] = field(default_factory=dict)   # path -> blob id (None: gone)


class Repo:
    """A kernel git repository; nothing here writes to its index, HEAD or working files."""

    def __init__(self, path: str | Path):
        p = Path(path)
        if not p.exists():
            raise ReviewbotError(str(path), "no such tree")
        try:
            self.repo = git.Repo(str(p), search_parent_directories=False)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise ReviewbotError(str(path), "not a git repository (use --tree on a kernel "
                                 "git checkout, or run without a tree for diff-only mode)") from None
        self.path = p
        self._blob_cache: dict[str, bytes] = {}

    def resolve(self, rev: str) -> str | None:
        try:
            return self.repo.git.rev_parse("--verify", "--quiet", f"{rev}^{{commit}}")
        except git.GitCommandError:
            return None

    def head(self) -> str | None:
        return self.resolve("HEAD")

    def tree_of(self, rev: str) -> str:
        return self.repo.git.rev_parse(f"{rev}^{{tree}}")

    def blob(self, spec: str) -> bytes | None:
        """Contents of a blob id or `rev:path`, or None when absent."""
        if spec in self._blob_cache:
            return self._blob_cache[spec]
        try:
            _sha, kind, _size, data = self.repo.git.get_object_data(spec)
        except (git.GitCommandError, ValueError):
            data, kind = None, None
        if kind not in ("blob", b"blob"):
            data = None
        if re.fullmatch(r"[0-9a-f]{40}", spec):
            self._blob_cache[spec] = data
        return data

    def _git(self, *args, env=None, stdin: bytes | None = None) -> subprocess.CompletedProcess:
        e = dict(os.environ)
        e.update(env or {})
        return subprocess.run(["git", "-C", str(self.path), *args], input=stdin,
                              capture_output=True, env=e)

    def apply_series(self, base: str, patches: list[tuple[str, int, str, list[str]]]
                     ) -> list[ApplyResult]:
        """Apply (msgid, n, mail body, paths) in order onto `base` in a throw-away index.

        Returns one result per patch; after the first failure the rest are not tried.
        """
        paths = sorted({p for *_x, ps in patches for p in ps})
        results: list[ApplyResult] = []
        with tempfile.TemporaryDirectory(prefix="reviewbot-index-") as tmp:
            env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
            listing = self._git("ls-tree", "-r", "--full-tree", base, "--", *paths).stdout
            r = self._git("update-index", "--add", "--index-info", env=env, stdin=listing)
            if r.returncode != 0:
                raise ReviewbotError(base, f"cannot prepare an index: {r.stderr.decode().strip()}")
            for msgid, n, body, _ps in patches:
                r = self._git("apply", "--cached", "--3way", "--whitespace=nowarn", "-",
                              env=env, stdin=body.encode("utf-8", "surrogateescape"))
                if r.returncode != 0:
                    results.append(ApplyResult(msgid, n, False, r.stderr.decode(errors="replace")))
                    break
                staged = self._git("ls-files", "-s", "--", *paths, env=env).stdout.decode()
                overlay: dict[str, str | None] = {p: None for p in paths}
                for line in staged.splitlines():
                    meta, path = line.split("\t", 1)
                    if meta.split()[2] != "0":
                        overlay = {}
                        break
                    overlay[path] = meta.split()[1]
                if not overlay:
                    results.append(ApplyResult(msgid, n, False, "3-way merge left conflicts"))
                    break
                results.append(ApplyResult(msgid, n, True, overlay=overlay))
        return results


class TreeView:
    """One state of the tree: a base commit plus an overlay of the files a series changed."""

    def __init__(self, repo: Repo, base: str, overlay: dict[str, str | None] | None = None,
                 label: str = "base", words: WordIndex | None = None):
        self.repo = repo
        self.base = base
        self.overlay = dict(overlay or {})
        self.label = label
        self._grep_cache: dict[tuple, list[tuple[str, int, str]]] = {}
        self._worktree = (repo.head() == base and not repo.repo.bare)
        self._dirty: set[str] | None = None
        # whole-word hits in the base, shared by every view over the same base and kept on
        # disk: one git grep a review for every word asked at once, none on a repeat review
        self.words = words if words is not None else WordIndex(
            Path(repo.repo.git_dir), repo.tree_of(base), self._grep_base,
            read=lambda path: repo.blob(f"{base}:{path}"))

    def with_overlay(self, overlay: dict[str, str | None], label: str) -> "TreeView":
        view = TreeView(self.repo, self.base, {**self.overlay, **overlay}, label,
                        words=self.words)
        view._dirty = self._dirty
        return view

    def read(self, path: str) -> bytes | None:
        if path in self.overlay:
            sha = self.overlay[path]
            return None if sha is None else self.repo.blob(sha)
        return self.repo.blob(f"{self.base}:{path}")

    def dirty(self) -> set[str]:
        """Tracked files whose working copy differs from the base (only in worktree mode)."""
        if self._dirty is None:
            out = self.repo._git("diff", "--name-only", "--no-renames", "HEAD", "--").stdout
            self._dirty = set(out.decode(errors="replace").splitlines())
        return self._dirty

    def prefetch(self, words: Iterable[str]) -> None:
        """Find every word not yet indexed in one pass over the base."""
        self.words.hits(words)

    def grep_word(self, word: str, pathspec: tuple[str, ...] = ()) -> list[tuple[str, int, str]]:
        """Every (path, line, text) where `word` occurs as a whole word, sorted."""
        key = (word, pathspec)
        if key in self._grep_cache:
            return self._grep_cache[key]
        hits = [h for h in self.words.hits([word])[word]
                if h[0] not in self.overlay and _in_spec(h[0], pathspec)]
        for path in sorted(self.overlay):
            if not _in_spec(path, pathspec):
                continue
            data = self.read(path)
            if data is None:
                continue
            hits += [(path, ln, t) for ln, t in
                     scan(data.decode("utf-8", "replace"), [word])[word]]
        hits.sort()
        self._grep_cache[key] = hits
        return hits

    def _grep_base(self, words: list[str]) -> dict[str, list[tuple[str, int, str]]]:
        """One `git grep` for all `words` over the base: the working files when they are the
        base (several times faster than inflating every blob), else the commit's tree."""
        args = ["grep", "-z", "-n", "-I", "-F", "-w", "--full-name"]
        for w in words:
            args += ["-e", w]
        if self._worktree:
            r = self.repo._git(*args)
            prefix = b""
        else:
            r = self.repo._git(*args, self.base)
            prefix = self.base.encode() + b":"
        if r.returncode not in (0, 1):
            raise ReviewbotError(str(self.repo.path), f"git grep failed: {r.stderr.decode().strip()}")
        out: dict[str, list[tuple[str, int, str]]] = {w: [] for w in words}
        dirty = self.dirty() if self._worktree else set()
        for rec in r.stdout.split(b"\n"):
            parts = rec.split(b"\0", 2)
            if len(parts) != 3:
                continue
            raw, ln, text = parts
            path = raw[len(prefix):] if raw.startswith(prefix) else raw
            p = path.decode("utf-8", "surrogateescape")
            if p in dirty:
                continue
            t = text.decode("utf-8", "replace")
            for w in words_in(t, words) if len(words) > 1 else words:
                out[w].append((p, int(ln), t))
        for p in sorted(dirty):     # a locally edited file: grep the base's copy instead
            data = self.repo.blob(f"{self.base}:{p}")
            if data is not None and b"\0" not in data[:8000]:
                for w, found in scan(data.decode("utf-8", "replace"), words).items():
                    out[w] += [(p, ln, t) for ln, t in found]
        return out

    def exists(self, path: str) -> bool:
        if path in self.overlay:
            return self.overlay[path] is not None
        return self.read(path) is not None


def _in_spec(path: str, pathspec: tuple[str, ...]) -> bool:
    return not pathspec or any(_spec_match(path, s) for s in pathspec)


def _spec_match(path: str, spec: str) -> bool:
    import fnmatch
    if any(c in spec for c in "*?["):
        return fnmatch.fnmatch(path, spec)
    return path == spec or path.startswith(spec.rstrip("/") + "/")
