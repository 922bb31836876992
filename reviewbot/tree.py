"""Base and patched views of a kernel tree with GitPython, without a checkout: the series is
applied into a temporary index holding only the files it touches (`git apply --cached`), and
every other file is read or grepped from the base (the working files when they are the base)."""
from __future__ import annotations

import os
import re
import stat
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from fnmatch import fnmatch
from typing import Callable, Iterable, Iterator

import git

from reviewbot.errors import ReviewbotError
from reviewbot.wordindex import Hit, WordIndex, pattern_key, scan, scan_pattern, words_in


# The apply ladder, best first; a series' `applied` is the worst step any of its patches needed.
STEPS = ("exact", "3way", "fuzz", "partial", "none")
# git apply's reduced context: at least this many lines must match around each change, as GNU
# patch's fuzz ignores the outer context lines; git apply finds moved hunks (offsets) itself.
FUZZ_CONTEXT = 1


@dataclass
class ApplyResult:
    msgid: str
    index: int
    ok: bool                # something of the patch is in the overlay
    error: str = ""
    overlay: dict[str, str | None] = field(default_factory=dict)   # path -> blob id (None: gone)
    step: str = "exact"     # one of STEPS
    failed: list = field(default_factory=list)   # the hunks (reviewbot.diff.Hunk) left out


def worst_step(steps) -> str:
    return max(steps, key=STEPS.index, default="none")


def file_patch(f, hunks=None) -> str:
    """The text of one file's diff (all its hunks, or only `hunks`), as git apply reads it."""
    out = [f"diff --git a/{f.path} b/{f.path}"]
    if f.is_added:
        out += ["new file mode 100644", "--- /dev/null", f"+++ b/{f.path}"]
    elif f.is_removed:
        out += ["deleted file mode 100644", f"--- a/{f.path}", "+++ /dev/null"]
    else:
        out += [f"--- a/{f.path}", f"+++ b/{f.path}"]
    for h in (f.hunks if hunks is None else hunks):
        out.append(f"@@ -{h.source_start},{h.source_length} "
                   f"+{h.target_start},{h.target_length} @@")
        out += [kind + text for kind, text in h.lines]
    return "\n".join(out) + "\n"


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
        self.no_perl = False        # this git cannot `grep -P` (found on first use)

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

    def has_any(self, base: str, paths: list[str]) -> bool:
        """Whether `base` holds at least one of `paths`."""
        if not paths:
            return True
        return bool(self._git("ls-tree", "--name-only", "--full-tree", base, "--",
                              *paths).stdout.strip())

    def apply_series(self, base: str, patches: list[tuple[str, int, str, list]]
                     ) -> list[ApplyResult]:
        """Apply (msgid, n, mail body, FileDiffs) in order onto `base` in a throw-away index,
        each patch by the first step of the ladder that takes it: as is, `--3way` with the
        blob ids of its index lines, reduced context with offsets, then file by file and hunk
        by hunk. One result per patch; a patch of which nothing applies leaves the index as
        it was and the next is still tried."""
        paths = sorted({f.path for *_x, fs in patches for f in fs})
        results: list[ApplyResult] = []
        with tempfile.TemporaryDirectory(prefix="reviewbot-index-") as tmp:
            index = os.path.join(tmp, "index")
            env = {"GIT_INDEX_FILE": index}
            listing = self._git("ls-tree", "-r", "--full-tree", base, "--", *paths).stdout
            r = self._git("update-index", "--add", "--index-info", env=env, stdin=listing)
            if r.returncode != 0:
                raise ReviewbotError(base, f"cannot prepare an index: {r.stderr.decode().strip()}")
            for msgid, n, body, files in patches:
                saved = Path(index).read_bytes() if os.path.exists(index) else None
                res = self._apply_ladder(env, index, saved, body, files)
                res.msgid, res.index = msgid, n
                res.overlay = self._staged(env, paths)
                results.append(res)
        return results

    def _apply_ladder(self, env: dict, index: str, saved: bytes | None, body: str,
                      files: list) -> ApplyResult:
        def restore() -> None:
            if saved is None:       # no file of the series in the base: no index yet
                Path(index).unlink(missing_ok=True)
            else:
                Path(index).write_bytes(saved)

        def attempt(text: str, *opts: str) -> bool:
            r = self._git("apply", "--cached", "--whitespace=nowarn", *opts, "-", env=env,
                          stdin=text.encode("utf-8", "surrogateescape"))
            errors.append(r.stderr.decode(errors="replace"))
            # --3way may "succeed" with conflict stages in the index: that is no apply
            return r.returncode == 0 and not ("--3way" in opts and self._conflicted(env))

        errors: list[str] = []
        fuzz = f"-C{FUZZ_CONTEXT}"
        for step, opts in (("exact", ()), ("3way", ("--3way",)), ("fuzz", (fuzz,))):
            if step != "exact":
                restore()
            if attempt(body, *opts):
                return ApplyResult("", 0, True, step=step)
        restore()
        failed, applied = [], 0
        for f in files:
            if attempt(file_patch(f), fuzz):
                applied += len(f.hunks)
                continue
            for h in f.hunks:
                if attempt(file_patch(f, [h]), fuzz):
                    applied += 1
                else:
                    failed.append(h)
        if not applied:
            restore()
        return ApplyResult("", 0, bool(applied), errors[0],
                           step="partial" if applied else "none", failed=failed)

    def file_diff(self, path: str, old: str, new: str) -> str:
        """The diff of `path` between two blob specs (ids or rev:path), as `git diff` writes
        it, with the path in its headers."""
        r = self._git("diff", "--no-color", "--no-ext-diff", "-U3", old, new)
        hunks = r.stdout.decode("utf-8", "surrogateescape").split("\n@@", 1)
        if r.returncode not in (0, 1) or len(hunks) < 2:
            return ""
        return (f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@"
                + hunks[1])

    def _conflicted(self, env: dict) -> bool:
        return bool(self._git("ls-files", "-u", env=env).stdout.strip())

    def _staged(self, env: dict, paths: list[str]) -> dict[str, str | None]:
        # -z: git quotes a non-ASCII path otherwise, and the file would look deleted
        staged = self._git("ls-files", "-z", "-s", "--", *paths, env=env).stdout.decode(
            "utf-8", "surrogateescape")
        overlay: dict[str, str | None] = {p: None for p in paths}
        for line in staged.split("\0"):
            if not line:
                continue
            meta, path = line.split("\t", 1)
            overlay[path] = meta.split()[1]
        return overlay


class NoPerl(Exception):
    """This git was built without PCRE: `git grep -P` is not available."""


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _matched(path: str, text: str, words: list[str],
             rxs: list[tuple[str, str, re.Pattern, str]]) -> Iterator[str]:
    """The index keys one line of a combined grep's output belongs to: the words it holds,
    and the patterns it matches in a file of their glob."""
    yield from (words_in(text, words) if len(words) > 1 or rxs else words)
    for key, _pattern, rx, spec in rxs:
        if fnmatch(path, spec) and rx.search(text):
            yield key


def _no_perl(err: bytes) -> bool:
    return b"Perl" in err or b"PCRE" in err or b"pcre" in err


@dataclass
class _BaseFacts:
    """What every view over one base shares: facts of the working files, found once."""
    dirty: set[str] | None = None
    tracked: set[str] | None = None


def _paths(out: bytes) -> set[str]:
    return {p for p in out.decode("utf-8", "surrogateescape").split("\0") if p}


class TreeView:
    """One state of the tree: a base commit plus an overlay of the files a series changed."""

    def __init__(self, repo: Repo, base: str, overlay: dict[str, str | None] | None = None,
                 label: str = "base", words: WordIndex | None = None):
        self.repo = repo
        self.base = base
        self.overlay = dict(overlay or {})
        self.label = label
        self._grep_cache: dict[tuple, list[tuple[str, int, str]]] = {}
        self.cache: dict = {}    # what a rule computed once for this view (files of a struct)
        self._worktree = (repo.head() == base and not repo.repo.bare)
        self._facts = _BaseFacts()
        # whole-word hits in the base, shared by every view over the same base and kept on
        # disk: one git grep a review for every word asked at once, none on a repeat review
        self.words = words if words is not None else WordIndex(
            Path(repo.repo.git_dir), repo.tree_of(base), self._grep_base,
            read=lambda path: repo.blob(f"{base}:{path}"))

    def with_overlay(self, overlay: dict[str, str | None], label: str) -> "TreeView":
        view = TreeView(self.repo, self.base, {**self.overlay, **overlay}, label,
                        words=self.words)
        view._facts = self._facts
        return view

    def blob_spec(self, path: str) -> str | None:
        """What `git` calls this view's `path`: a blob id or base:path (None: no such file)."""
        if path in self.overlay:
            return self.overlay[path]
        return f"{self.base}:{path}"

    def read(self, path: str) -> bytes | None:
        if path in self.overlay:
            sha = self.overlay[path]
            return None if sha is None else self.repo.blob(sha)
        if self._worktree:
            data = self._read_worktree(path)
            if data is not None:
                return data
        return self.repo.blob(f"{self.base}:{path}")

    def _read_worktree(self, path: str) -> bytes | None:
        """A tracked, unedited regular file read from the working files, which then are the
        base: a read from disk costs a tenth of a blob from git. None: ask git."""
        if path not in self._tracked() or path in self.dirty() or ".." in path.split("/"):
            return None
        full = os.path.join(self.repo.repo.working_tree_dir, path)
        try:
            if not stat.S_ISREG(os.lstat(full).st_mode):
                return None             # a symlink's blob is its target's name
            with open(full, "rb") as f:
                return f.read()
        except OSError:
            return None

    def _tracked(self) -> set[str]:
        if self._facts.tracked is None:
            self._facts.tracked = _paths(self.repo._git("ls-files", "-z").stdout)
        return self._facts.tracked

    def dirty(self) -> set[str]:
        """Tracked files whose working copy differs from the base (only in worktree mode)."""
        if self._facts.dirty is None:
            self._facts.dirty = _paths(self.repo._git(
                "diff", "-z", "--name-only", "--no-renames", "HEAD", "--").stdout)
        return self._facts.dirty

    def prefetch(self, words: Iterable[str],
                 patterns: Iterable[tuple[str, str]] = ()) -> None:
        """Find every word and line pattern not yet indexed, in one pass over the base."""
        self.words.hits(words, () if self.repo.no_perl else patterns)

    def grep_word(self, word: str, pathspec: tuple[str, ...] = ()) -> list[Hit]:
        """Every (path, line, text) where `word` occurs as a whole word, sorted."""
        key = (word, pathspec)
        if key not in self._grep_cache:
            hits = [h for h in self.words.hits([word])[word]
                    if h[0] not in self.overlay and _in_spec(h[0], pathspec)]
            hits += self._overlay_hits(lambda p: _in_spec(p, pathspec),
                                       lambda text: scan(text, [word])[word])
            self._grep_cache[key] = sorted(hits)
        return self._grep_cache[key]

    def grep_pattern(self, pattern: str, spec: str) -> list[Hit] | None:
        """Every (path, line, text) of the files matching the glob `spec` where the line
        pattern (Perl syntax that Python's re reads the same way) matches, sorted; None when
        this git cannot grep Perl patterns (the caller falls back to words)."""
        key = ("re", pattern, spec)
        if key not in self._grep_cache:
            base = self.words.hits([], [(pattern, spec)]).get(pattern_key(pattern, spec))
            if base is None:
                self._grep_cache[key] = None
                return None
            hits = [h for h in base if h[0] not in self.overlay]
            hits += self._overlay_hits(lambda p: fnmatch(p, spec),
                                       lambda text: scan_pattern(text, pattern))
            self._grep_cache[key] = sorted(hits)
        return self._grep_cache[key]

    def _overlay_hits(self, wanted: Callable[[str], bool],
                      scan_text: Callable[[str], list[tuple[int, str]]]) -> list[Hit]:
        """The hits in the files the series changed: those the base's index cannot hold."""
        hits: list[Hit] = []
        for path in sorted(self.overlay):
            data = self.read(path) if wanted(path) else None
            if data is not None:
                hits += [(path, ln, t) for ln, t in scan_text(data.decode("utf-8", "replace"))]
        return hits

    def _grep_argv(self, *options: str, pathspec: tuple[str, ...] = ()) -> tuple[list[str], bytes]:
        """`git grep` over the base: the working files when they are the base (several times
        faster than inflating every blob), else the commit's tree; and the prefix its paths
        carry."""
        argv = ["git", "-C", str(self.repo.path), "grep", "-z", "-n", "-I", "--full-name",
                *options]
        if self._worktree:
            return argv + ["--", *pathspec], b""
        return argv + [self.base, "--", *pathspec], self.base.encode() + b":"

    def _grep_records(self, out: bytes, prefix: bytes) -> Iterator[Hit]:
        """The hits of a `git grep -z -n` output, leaving out locally edited files."""
        dirty = self.dirty() if self._worktree else set()
        for rec in out.split(b"\n"):
            parts = rec.split(b"\0", 2)
            if len(parts) != 3:
                continue
            raw, ln, text = parts
            path = raw[len(prefix):] if raw.startswith(prefix) else raw
            p = path.decode("utf-8", "surrogateescape")
            if p not in dirty:
                yield p, int(ln), text.decode("utf-8", "replace")

    def _dirty_texts(self) -> Iterator[tuple[str, str]]:
        """The base's copy of each locally edited file (a grep of the worktree saw the edit)."""
        for p in sorted(self.dirty()) if self._worktree else ():
            data = self.repo.blob(f"{self.base}:{p}")
            if data is not None and b"\0" not in data[:8000]:
                yield p, data.decode("utf-8", "replace")

    def _grep_base(self, words: list[str], patterns: list[tuple[str, str]]
                   ) -> dict[str, list[Hit]]:
        """One `git grep` over the base for all `words` and line patterns. The words go in as
        one Perl pattern between word boundaries when they are identifiers (a third faster than
        -F -w's, the same lines), each line pattern as an -e of its own, and every line is
        sorted to what it matched here. A git without Perl patterns greps the words as fixed
        strings and leaves the patterns out."""
        ident = all(_IDENT.fullmatch(w) for w in words)
        if self.repo.no_perl:
            patterns = []
        elif patterns and not ident:        # fixed-string words and Perl patterns: two runs
            return {**self._grep_base(words, []), **self._grep_base([], patterns)}
        if not words and not patterns:
            return {}
        perl = not self.repo.no_perl and ident
        if perl:
            options = ["-P"] + (["-e", r"\b(?:" + "|".join(words) + r")\b"] if words else [])
            for pattern, _spec in patterns:
                options += ["-e", pattern]
        else:
            options = ["-F", "-w"]
            for w in words:
                options += ["-e", w]
        globs = {spec for _p, spec in patterns}
        argv, prefix = self._grep_argv(*options, pathspec=tuple(globs) if not words else ())
        r = subprocess.run(argv, capture_output=True)
        if perl and r.returncode not in (0, 1) and _no_perl(r.stderr):
            self.repo.no_perl = True
            return self._grep_base(words, [])
        self._grep_failed(r.returncode, r.stderr)
        out: dict[str, list[Hit]] = {w: [] for w in words}
        rxs = [(pattern_key(p, spec), p, re.compile(p), spec) for p, spec in patterns]
        out.update({key: [] for key, *_rest in rxs})
        for p, ln, t in self._grep_records(r.stdout, prefix):
            for key in _matched(p, t, words, rxs):
                out[key].append((p, ln, t))
        for p, text in self._dirty_texts():
            for w, found in scan(text, words).items():
                out[w] += [(p, ln, t) for ln, t in found]
            for key, pattern, _rx, spec in rxs:
                if fnmatch(p, spec):
                    out[key] += [(p, ln, t) for ln, t in scan_pattern(text, pattern)]
        return out

    def _grep_failed(self, status: int, err: bytes) -> None:
        if status not in (0, 1):
            raise ReviewbotError(str(self.repo.path), f"git grep failed: {err.decode().strip()}")

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
