"""The bundled corpus: a small kernel-style C tree and linux-mm threads.

``corpus/tree`` is a compact rewrite of the v3.19/v4.0-era file fault
path (the base the 2014 "allow page fault handlers to perform the COW"
series applies to).  ``corpus/threads`` holds mboxrd files whose patches
were made with ``git format-patch`` against the repository that
:func:`build_tree_repo` builds from that tree, so they apply with
``git am``.  See ``corpus/README.md`` for the ground-truth tables.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
TREE = CORPUS / "tree"
THREADS = CORPUS / "threads"

_IDENT = "reviewbot corpus"
_EMAIL = "corpus@reviewbot.invalid"
_DATE = "2015-01-01T00:00:00+0000"
_MESSAGE = "corpus: fault path base"


def list_threads() -> list[str]:
    """Names of the bundled threads (file names without ``.mbox``), sorted."""
    return sorted(p.stem for p in THREADS.glob("*.mbox"))


def thread_path(name: str) -> Path:
    """Path of the bundled thread *name* (with or without ``.mbox``)."""
    if name.endswith(".mbox"):
        name = name[: -len(".mbox")]
    path = THREADS / f"{name}.mbox"
    if not path.is_file():
        raise FileNotFoundError(f"no corpus thread named {name!r} in {THREADS}")
    return path


def _git(dest: Path, *args: str) -> str:
    env = dict(os.environ)
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(key, None)
    env.update({
        "GIT_AUTHOR_NAME": _IDENT, "GIT_AUTHOR_EMAIL": _EMAIL,
        "GIT_COMMITTER_NAME": _IDENT, "GIT_COMMITTER_EMAIL": _EMAIL,
        "GIT_AUTHOR_DATE": _DATE, "GIT_COMMITTER_DATE": _DATE,
        "GIT_CONFIG_NOSYSTEM": "1",
    })
    cmd = ["git", "-c", "core.autocrlf=false", "-c", "user.name=" + _IDENT,
           "-c", "user.email=" + _EMAIL, "-c", "commit.gpgsign=false",
           "-c", "init.defaultBranch=master", *args]
    out = subprocess.run(cmd, cwd=dest, env=env, check=True,
                         capture_output=True, text=True)
    return out.stdout


def build_tree_repo(dest: Path, src: Path | None = None) -> str:
    """Copy ``corpus/tree`` (or *src*, e.g. ``corpus/contract/tree``) into *dest*, commit it
    as one fixed commit, return its id.

    Identity, dates and message are fixed, so the same files always give
    the same commit id.  *dest* must not exist or be an empty directory.
    """
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} exists and is not empty")
    shutil.copytree(src or TREE, dest, dirs_exist_ok=True)
    _git(dest, "init", "-q", "-b", "master")
    _git(dest, "add", "-A", ".")
    _git(dest, "commit", "-q", "--no-verify", "-m", _MESSAGE)
    return _git(dest, "rev-parse", "HEAD").strip()


def ensure_tree_repo(dest: Path) -> Path:
    """The bundled tree's repository at *dest*, built once: aside under a name of this
    process, then renamed into place, so a crash never leaves a half tree and two processes
    building at once both end with the one tree (the second keeps the first's)."""
    dest = Path(dest)
    if dest.exists():
        return dest
    tmp = dest.with_name(f"{dest.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    build_tree_repo(tmp)
    try:
        os.rename(tmp, dest)
    except OSError:
        if not dest.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        shutil.rmtree(tmp, ignore_errors=True)     # another process was first: same commit
    return dest
