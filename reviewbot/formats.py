"""Output formats, found by the `reviewbot.formats` entry point group (as flake8 finds its
`flake8.report` formatters): each is a function `(report, FormatOptions) -> str`."""
from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Callable

from reviewbot.errors import ReviewbotError
from reviewbot.findings import Report

GROUP = "reviewbot.formats"
# the built-in formats, listed first in the order the README gives them; plug-ins by name
BUILTIN = ("text", "terse", "json", "sarif", "checklist-md", "checklist-html", "b4-check")


@dataclass(frozen=True)
class FormatOptions:
    trace: str = "terse"            # text: the counterexample steps that matter, or "full"
    patch: str | None = None        # b4-check: the one patch the results are about
    url: str = ""                   # b4-check: a URL put in each result


Format = Callable[[Report, FormatOptions], str]


def names(command: str = "review") -> list[str]:
    """The formats a subcommand prints: those named after it (`checklist-md` for
    `checklist`, `b4-check` for `b4-check`); `review` prints every format no other command
    claims."""
    from reviewbot.cli import SUBCOMMANDS
    others = [c for c, _m, _h in SUBCOMMANDS if c != "review"]
    owner = lambda n: next((c for c in others if n == c or n.startswith(c + "-")), "review")
    found = {ep.name for ep in entry_points(group=GROUP)}
    order = [n for n in BUILTIN if n in found] + sorted(found - set(BUILTIN))
    return [n for n in order if owner(n) == command]


def get(name: str) -> Format:
    eps = sorted(entry_points(group=GROUP, name=name), key=lambda e: e.value)
    if not eps:
        raise ReviewbotError(name, "no such output format (have: " + ", ".join(names()) + ")")
    try:
        return eps[0].load()
    except Exception as exc:
        raise ReviewbotError(f"format {name}", f"cannot be loaded: {exc}") from None


def render(name: str, report: Report, options: FormatOptions | None = None) -> str:
    return get(name)(report, options or FormatOptions())
