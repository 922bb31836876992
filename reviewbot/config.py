"""Option defaults from git config (`reviewbot.*` keys), the way b4 and git read theirs.

Precedence: command-line flag, then `git config reviewbot.<key>`, then the built-in default.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

from reviewbot.errors import ReviewbotError

def _review_formats() -> tuple[str, ...]:
    from reviewbot.formats import names      # the installed formats, read when asked
    return tuple(names("review"))


# what each reviewbot.* key may hold; a value outside it is an error naming the key
CHOICES = {"format": _review_formats, "trace": lambda: ("terse", "full")}
PATTERNS = {"rules": (r"[a-z0-9][a-z0-9-]*(,[a-z0-9][a-z0-9-]*)*", "a comma-separated list "
                      "of rule ids")}


def b4():
    """b4, with its configuration read (git config b4.*, sendemail.*, user.*) once a process:
    fetching, sending and the sender's identity read the same settings b4 itself uses."""
    import argparse
    import logging

    import b4 as b4mod    # imported late: b4 reads git config at import, logs on its own logger
    logging.getLogger("b4").setLevel(logging.CRITICAL)
    if "midmask" not in b4mod.get_main_config():
        b4mod.setup_config(argparse.Namespace(config={}))
    return b4mod


def git_config(key: str, cwd: str | Path | None = None) -> str | None:
    """One value of `git config --get`, or None; never fails outside a repository."""
    try:
        out = subprocess.run(["git", "config", "--get", key], cwd=cwd, capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def from_git_config(given: dict[str, str | None], cwd: str | Path | None = None
                    ) -> dict[str, str | None]:
    """`given` (option name -> value from the command line) with every None filled from
    `git config reviewbot.<name>`, each checked; a new dict, nothing else is changed."""
    out = dict(given)
    for key, value in given.items():
        if value is None:
            found = git_config(f"reviewbot.{key}", cwd)
            if found is not None:
                out[key] = check_value(key, found)
    return out


def check_value(key: str, value: str) -> str:
    """`value` if `reviewbot.<key>` may hold it; else the one-line error naming the key."""
    where = f"git config reviewbot.{key}"
    choices = CHOICES[key]() if key in CHOICES else None
    if choices is not None and value not in choices:
        raise ReviewbotError(where, f"invalid value {value!r} (expected one of: "
                             + ", ".join(choices) + ")")
    if key in PATTERNS and not re.fullmatch(PATTERNS[key][0], value):
        raise ReviewbotError(where, f"invalid value {value!r} (expected "
                             f"{PATTERNS[key][1]})")
    return value
