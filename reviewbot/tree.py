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

import git

from reviewbot.errors import ReviewbotError

_WORD = r"(?<![A-Za-z0-9_]){}(?![A-Za-z0-9_])"


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
                 label: str = "base", base_hits: dict | None = None):
        self.repo = repo
        self.base = base
        self.overlay = dict(overlay or {})
        self.label = label
        self._grep_cache: dict[tuple, list[tuple[str, int, str]]] = {}
        # greps of the base, shared by every view over the same base: one git grep a pattern
        self._base_hits: dict[tuple, list[tuple[str, int, str]]] = \
            base_hits if base_hits is not None else {}
        self._worktree = (repo.head() == base and not repo.repo.bare)
        self._dirty: set[str] | None = None

    def with_overlay(self, overlay: dict[str, str | None], label: str) -> "TreeView":
        view = TreeView(self.repo, self.base, {**self.overlay, **overlay}, label,
                        base_hits=self._base_hits)
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

    def grep_word(self, word: str, pathspec: tuple[str, ...] = ()) -> list[tuple[str, int, str]]:
        """Every (path, line, text) where `word` occurs as a whole word, sorted."""
        key = (word, pathspec)
        if key in self._grep_cache:
            return self._grep_cache[key]
        base_hits = self._base_hits.get(key)
        if base_hits is None:
            base_hits = self._base_hits[key] = self._grep_base(word, pathspec)
        rx = re.compile(_WORD.format(re.escape(word)))
        hits = [h for h in base_hits if h[0] not in self.overlay]
        for path in sorted(self.overlay):
            if pathspec and not any(_spec_match(path, s) for s in pathspec):
                continue
            data = self.read(path)
            if data is None:
                continue
            for i, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
                if rx.search(line):
                    hits.append((path, i, line))
        hits.sort()
        self._grep_cache[key] = hits
        return hits

    def _grep_base(self, word: str, pathspec: tuple[str, ...]) -> list[tuple[str, int, str]]:
        args = ["grep", "-n", "-I", "-F", "-w", "--full-name", "-e", word]
        hits: list[tuple[str, int, str]] = []
        if self._worktree:
            r = self.repo._git(*args, "--", *pathspec)
            out = r.stdout.decode("utf-8", "replace")
            for line in out.splitlines():
                path, ln, text = line.split(":", 2)
                hits.append((path, int(ln), text))
            dirty = self.dirty()
            if dirty:
                hits = [h for h in hits if h[0] not in dirty]
                rx = re.compile(_WORD.format(re.escape(word)))
                for path in sorted(dirty):
                    if pathspec and not any(_spec_match(path, s) for s in pathspec):
                        continue
                    data = self.repo.blob(f"{self.base}:{path}")
                    for i, line in enumerate((data or b"").decode("utf-8", "replace")
                                             .splitlines(), 1):
                        if rx.search(line):
                            hits.append((path, i, line))
        else:
            r = self.repo._git(*args, self.base, "--", *pathspec)
            out = r.stdout.decode("utf-8", "replace")
            prefix = self.base + ":"
            for line in out.splitlines():
                line = line[len(prefix):] if line.startswith(prefix) else line
                path, ln, text = line.split(":", 2)
                hits.append((path, int(ln), text))
        if r.returncode not in (0, 1):
            raise ReviewbotError(str(self.repo.path), f"git grep failed: {r.stderr.decode().strip()}")
        return sorted(hits)

    def exists(self, path: str) -> bool:
        if path in self.overlay:
            return self.overlay[path] is not None
        return self.read(path) is not None


def _spec_match(path: str, spec: str) -> bool:
    import fnmatch
    if any(c in spec for c in "*?["):
        return fnmatch.fnmatch(path, spec)
    return path == spec or path.startswith(spec.rstrip("/") + "/")
