"""What each finding points at, for the checkpatch-like text: the line of the patch mail that
shows it (checkpatch's `#N`) and the source line itself, marked `+` when the patch adds it."""
from __future__ import annotations

import re
from typing import Callable

from reviewbot.findings import Finding

HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")
MAX_CODE = 200


def patch_lines(body: str) -> dict[tuple[str, int], tuple[int, str]]:
    """(file, patched line) -> (line of the body, 1-based; diff line) for every context and added
    line of a patch body, the numbering checkpatch uses for `#N` on the same text."""
    out: dict[tuple[str, int], tuple[int, str]] = {}
    path, new = None, 0
    in_hunk = False
    for n, line in enumerate(body.split("\n"), 1):
        if line.startswith("+++ "):
            target = line[4:].split("\t")[0].strip()
            path = target[2:] if target.startswith("b/") else None
            in_hunk = False
            continue
        m = HUNK.match(line)
        if m and path:
            new, in_hunk = int(m.group(1)), True
            continue
        if not in_hunk:
            continue
        if line.startswith("diff --git ") or line == "-- ":
            in_hunk = False
        elif line.startswith(("+", " ")):
            out.setdefault((path, new), (n, line))
            new += 1
        elif line.startswith(("-", "\\")):
            pass
        elif line == "":          # a context line whose space a mailer ate
            out.setdefault((path, new), (n, " "))
            new += 1
        else:
            in_hunk = False
    return out


def locate(findings: list[Finding], bodies: dict[str, str],
           read: Callable[[str], bytes | None] | None) -> None:
    """Set `patch_line` and `code` on each finding: from its own patch when the patch shows the
    line, else the code from the tree (`read`, the patched tree), else nothing."""
    maps = {msgid: patch_lines(body) for msgid, body in bodies.items()}
    files: dict[str, list[str] | None] = {}
    for f in findings:
        if not f.file or not f.line or f.line < 1:
            continue
        hit = maps.get(f.patch, {}).get((f.file, f.line))
        if hit:
            f.patch_line, f.code = hit[0], hit[1][:MAX_CODE].rstrip()
            continue
        if read is None:
            continue
        if f.file not in files:
            data = read(f.file)
            files[f.file] = data.decode("utf-8", "replace").split("\n") if data else None
        lines = files[f.file]
        if lines and f.line <= len(lines):
            f.code = (" " + lines[f.line - 1])[:MAX_CODE].rstrip()
