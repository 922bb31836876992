"""Write patch mails against a git tree the way `git format-patch` would, from text edits on
files at a given revision; for tests and benches on the cached kernel tree (never modified)."""
from __future__ import annotations

import difflib
import subprocess
from email.utils import format_datetime
from datetime import datetime, timezone
from pathlib import Path


def show(repo: Path, rev: str, path: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "show", f"{rev}:{path}"], check=True,
                          capture_output=True, text=True).stdout


def _hash(repo: Path, text: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "hash-object", "--stdin"], input=text,
                          check=True, capture_output=True, text=True).stdout.strip()


def file_diff(repo: Path, path: str, old: str, new: str) -> str:
    old_id = _hash(repo, old)[:12]
    new_id = _hash(repo, new)[:12]
    body = "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                        f"a/{path}", f"b/{path}", n=3))
    return f"diff --git a/{path} b/{path}\nindex {old_id}..{new_id} 100644\n{body}"


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) >= 1, f"anchor not found: {old[:60]!r}"
    return text.replace(old, new, 1)


def patch_mail(subject: str, msgid: str, diffs: list[str], *, n: int = 1, total: int = 1,
               author: str = "Test Author <author@example.org>", changelog: str = "",
               in_reply_to: str | None = None, day: int = 1, base: str | None = None) -> str:
    date = format_datetime(datetime(2025, 11, day, 9, 30, n % 60, tzinfo=timezone.utc))
    prefix = "[PATCH]" if total == 1 else f"[PATCH {n}/{total}]"
    hdr = [f"From: {author}", "To: linux-mm@kvack.org", "Cc: linux-kernel@vger.kernel.org",
           f"Date: {date}", f"Subject: {prefix} {subject}", f"Message-ID: <{msgid}>"]
    if in_reply_to:
        hdr += [f"In-Reply-To: <{in_reply_to}>", f"References: <{in_reply_to}>"]
    hdr += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
    body = (changelog or f"{subject}.") + f"\n\nSigned-off-by: {author}\n---\n"
    body += "".join(diffs)
    if base:
        body += f"\nbase-commit: {base}\n"
    body += "-- \n2.39.5\n"
    return "From reviewbot Mon Sep 17 00:00:00 2001\n" + "\n".join(hdr) + "\n\n" + \
        "".join((">" + ln if ln.startswith("From ") else ln) for ln in body.splitlines(True))


def cover_mail(subject: str, msgid: str, total: int, base: str,
               author: str = "Test Author <author@example.org>") -> str:
    date = format_datetime(datetime(2025, 11, 1, 9, 30, 0, tzinfo=timezone.utc))
    return ("From reviewbot Mon Sep 17 00:00:00 2001\n"
            f"From: {author}\nTo: linux-mm@kvack.org\nDate: {date}\n"
            f"Subject: [PATCH 0/{total}] {subject}\nMessage-ID: <{msgid}>\n"
            "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n"
            f"{subject}.\n\nbase-commit: {base}\n-- \n2.39.5\n")
