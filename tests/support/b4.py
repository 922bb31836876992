"""Running the real `b4` (the console script installed in the venv) offline
against a local public-inbox.

b4 0.16 fetches through <b4.midmask>/<msgid>/t.mbox.gz and, for am/shazam,
POSTs a search to the same inbox for code-review trailers.  It caches lookups
for 10 minutes unless b4.cache-expire=0 (set here), and writes under ~/.cache
and ~/.local/share, so HOME is always isolated.

PITFALL: even with b4.cache-expire=0, liblore 0.10.1 returns a cached answer
written less than a second ago (it tests int(age) > ttl).  To refetch right
after delivering mail, pass -C/--no-cache (b4 mbox/am/shazam), use a fresh
home, or nocache=True in the Python API.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Sequence

from . import env as _env


def b4_command() -> str:
    return _env.require_command("b4")


def b4_env(inbox, home: str | Path | None = None, base: dict | None = None) -> dict[str, str]:
    """A complete environment for subprocesses (b4, git am, reviewbot) that
    points b4 at `inbox`: os.environ (or `base`) + inbox.env + a git identity,
    with HOME/XDG_* moved to `home` if given (default: the inbox's own home).
    Existing GIT_CONFIG_COUNT entries in `base` are kept, ours appended."""
    env = dict(os.environ if base is None else base)
    over = dict(inbox.env)
    n0 = int(env.get("GIT_CONFIG_COUNT", "0") or 0)
    count = int(over.pop("GIT_CONFIG_COUNT"))
    for i in range(count):
        env[f"GIT_CONFIG_KEY_{n0 + i}"] = over.pop(f"GIT_CONFIG_KEY_{i}")
        env[f"GIT_CONFIG_VALUE_{n0 + i}"] = over.pop(f"GIT_CONFIG_VALUE_{i}")
    env["GIT_CONFIG_COUNT"] = str(n0 + count)
    env.update(over)
    if home is not None:
        home = Path(home)
        env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"),
                   XDG_DATA_HOME=str(home / ".local" / "share"),
                   XDG_CONFIG_HOME=str(home / ".config"))
    Path(env["HOME"]).mkdir(parents=True, exist_ok=True)
    for k, v in _env.git_identity().items():
        env.setdefault(k, v)
    env["PATH"] = f"{_env.VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_b4(args: Sequence[str], inbox, cwd: str | Path | None = None, home: str | Path | None = None,
           check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `b4 ARGS` against `inbox`; returns the CompletedProcess (text mode)."""
    p = subprocess.run([b4_command(), *args], cwd=cwd, env=b4_env(inbox, home),
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"b4 {' '.join(args)} exited {p.returncode}\n"
                             f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p
