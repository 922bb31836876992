"""Helpers for the simulator tests: corpus trees with a thread applied, and text edits."""
from __future__ import annotations

import mailbox
import os
import re
import subprocess
import tempfile
from pathlib import Path

from reviewbot import corpus


def apply_thread(dest: Path, thread: str | None) -> Path:
    """Build the corpus tree repo in dest and git-am the thread's patches onto it."""
    corpus.build_tree_repo(dest)
    if thread:
        env = dict(os.environ, GIT_COMMITTER_NAME="sim test", GIT_COMMITTER_EMAIL="sim@test.invalid",
                   GIT_AUTHOR_NAME="sim test", GIT_AUTHOR_EMAIL="sim@test.invalid")
        with tempfile.TemporaryDirectory() as td:
            mbox = Path(td) / "series.mbox"
            mbox.write_bytes(latest_patches(corpus.thread_path(thread)))
            subprocess.run(["git", "am", "-q", str(mbox)], cwd=dest, env=env, check=True, capture_output=True)
    return dest


def latest_patches(path: Path) -> bytes:
    """The patch mails (not cover letters or replies) of the newest revision in an mbox."""
    pat = re.compile(r"^\[PATCH(?: v(\d+))? (\d+)/(\d+)\]")
    best: dict[int, list] = {}
    for msg in mailbox.mbox(str(path)):
        m = pat.match(str(msg["Subject"] or ""))
        if m and int(m.group(2)) > 0:
            best.setdefault(int(m.group(1) or 1), []).append((int(m.group(2)), msg))
    if not best:
        return b""
    msgs = sorted(best[max(best)], key=lambda x: x[0])
    return b"".join(b"From sim@test Thu Jan  1 00:00:00 2015\n" + m.as_bytes() + b"\n" for _, m in msgs)


def reader(root: Path, overrides: dict | None = None):
    """A read_file for the simulator over a directory; overrides: {path: bytes} read instead."""
    root = Path(root)
    overrides = overrides or {}

    def read_file(path):
        if path in overrides:
            return overrides[path]
        p = root / path
        return p.read_bytes() if p.is_file() else None
    return read_file


def edit(root: Path, path: str, old: str, new: str, count: int = 1) -> None:
    """Replace old by new in a tree file; the old text must be there exactly count times."""
    p = Path(root) / path
    text = p.read_text()
    assert text.count(old) == count, "%s: expected %d occurrence(s) of %r" % (path, count, old)
    p.write_text(text.replace(old, new))
