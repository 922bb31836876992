"""The cached Debian linux-source-6.1 tree built by .ci/kernel-tree.

It is a full extract (about 78.6k files) committed once with a fixed identity
and date, so HEAD is KERNEL_COMMIT on every machine.  Treat it as read-only:
to change files, make a cheap clone (`git clone -q --shared --no-checkout`
plus a sparse checkout of the paths you need) or use a temporary index
(GIT_INDEX_FILE + `git apply --cached`).  The kernel_tree fixture checks at
the end of the session that HEAD did not move.
"""
from __future__ import annotations

import os
from pathlib import Path

KERNEL_PACKAGE = "linux-source-6.1"
KERNEL_VERSION = "6.1.192-2"
KERNEL_COMMIT = "1b6ceceaf19618375de5d97262b33caa3ad28c92"
MARKER = Path(".git") / "reviewbot-complete"


def kernel_cache_dir() -> Path:
    cache = os.environ.get("REVIEWBOT_CACHE")
    if cache:
        return Path(cache)
    return Path(os.environ.get("HOME") or Path.home()) / ".cache" / "reviewbot"


def kernel_path() -> Path:
    """REVIEWBOT_KERNEL if set, else the path .ci/kernel-tree builds."""
    env = os.environ.get("REVIEWBOT_KERNEL")
    if env:
        return Path(env)
    return kernel_cache_dir() / f"linux-source-{KERNEL_VERSION}"


def is_complete(path: Path) -> bool:
    return (path / MARKER).is_file()


def head(path: Path) -> str:
    """HEAD's commit id, read from the files (no git process)."""
    git = path / ".git"
    ref = (git / "HEAD").read_text().strip()
    if not ref.startswith("ref: "):
        return ref
    name = ref[5:]
    loose = git / name
    if loose.is_file():
        return loose.read_text().strip()
    packed = git / "packed-refs"
    if packed.is_file():
        for line in packed.read_text().splitlines():
            if line.endswith(" " + name):
                return line.split()[0]
    return ""
