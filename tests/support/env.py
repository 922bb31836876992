"""Paths, ports and the missing-component policy shared by the test helpers."""
from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

import pytest

SUPPORT = Path(__file__).resolve().parent
TESTS = SUPPORT.parent
REPO = TESTS.parent
# CI lays the read-only shared/ directory beside the repo; developers have it at
# /work/shared, which is the same relative place.  REVIEWBOT_SHARED overrides.
SHARED = Path(os.environ.get("REVIEWBOT_SHARED") or REPO.parent / "shared")
VENV_BIN = Path(sys.executable).parent

SETUP_HINT = "run `bash .ci/setup` (as root) to install it"


def components_required() -> bool:
    """True when a missing component must fail the test (CI), not skip it."""
    return os.environ.get("REVIEWBOT_REQUIRE_COMPONENTS", "") not in ("", "0")


def missing(what: str, hint: str = SETUP_HINT) -> None:
    """Fail (REVIEWBOT_REQUIRE_COMPONENTS=1) or skip because `what` is unavailable."""
    msg = f"{what} is not available; {hint}"
    if components_required():
        pytest.fail(f"REVIEWBOT_REQUIRE_COMPONENTS=1: {msg}", pytrace=False)
    pytest.skip(msg)


def shared_thread(name: str) -> Path:
    """A real linux-mm thread from ../shared/threads; a fresh clone has none, so the test skips
    (or fails under REVIEWBOT_REQUIRE_COMPONENTS=1, as CI has shared/ beside the repo)."""
    path = SHARED / "threads" / name
    if not path.is_file():
        missing(f"the shared linux-mm thread {path}",
                "the repo expects shared/ beside it (or set REVIEWBOT_SHARED); the bundled "
                "corpus tests cover the same behaviour")
    return path


def which(cmd: str) -> str | None:
    """A command from the venv's bin/ first, then from PATH."""
    local = VENV_BIN / cmd
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which(cmd)


def require_command(cmd: str, package: str | None = None) -> str:
    path = which(cmd)
    if path is None:
        hint = SETUP_HINT if package is None else f"apt-get install {package}, or {SETUP_HINT}"
        missing(f"command `{cmd}`", hint)
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on `host` a moment ago (callers retry on a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def git_identity() -> dict[str, str]:
    """A committer/author identity for git am, b4 shazam and the like."""
    return {
        "GIT_AUTHOR_NAME": os.environ.get("GIT_AUTHOR_NAME", "reviewbot tests"),
        "GIT_AUTHOR_EMAIL": os.environ.get("GIT_AUTHOR_EMAIL", "tests@reviewbot.invalid"),
        "GIT_COMMITTER_NAME": os.environ.get("GIT_COMMITTER_NAME", "reviewbot tests"),
        "GIT_COMMITTER_EMAIL": os.environ.get("GIT_COMMITTER_EMAIL", "tests@reviewbot.invalid"),
    }
