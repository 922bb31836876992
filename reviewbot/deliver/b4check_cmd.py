"""`reviewbot b4-check`: read one patch mail on stdin and print b4's check-command JSON
([{tool, status, summary, url, details}], [] for mail that is not a patch).  Set it as
b4.review-perpatch-check-cmd; run from a kernel tree it checks the patch against HEAD."""
from __future__ import annotations

import sys

from reviewbot.errors import ReviewbotError


def add_arguments(p) -> None:
    p.add_argument("--tree", metavar="DIR", help="kernel tree (default: the current checkout "
                   "if it is one; otherwise diff-only)")
    p.add_argument("--base", metavar="REV", help="base revision (default: base-commit or HEAD)")
    p.add_argument("--no-simulate", action="store_true", help="do not run the simulator")
    p.add_argument("--url", default="", help="URL to put in each result (e.g. the docs)")


def run(args) -> int:
    """The verdict `review` gives the same mail: a mail review refuses is `fail` with its
    error line, never `[]` (which b4 reads as a pass); only talk that is no patch is `[]`."""
    from reviewbot import formats
    from reviewbot.mail import read_message, subject_tags
    from reviewbot.review import ReviewRequest, review
    raw = sys.stdin.buffer.read()
    if not raw.strip():
        raise ReviewbotError("stdin", "no message given")
    msg = None
    try:
        msg = read_message(raw, "stdin")
        if not str(msg.get("Message-ID", "") or "").strip():
            raise ReviewbotError("stdin", "the message has no Message-ID")
        tree = args.tree or (_cwd_tree())
        report = review(ReviewRequest(messages=[msg], tree=tree, no_tree=tree is None,
                                      base=args.base, simulate=not args.no_simulate,
                                      allow_incomplete=True))
    except ReviewbotError as e:
        if e.problem == "no patch in this thread" and not _is_patch_mail(msg, subject_tags):
            sys.stdout.write("[]\n")      # discussion: nothing to check
            return 0
        from reviewbot.cli import error_line
        sys.stdout.write(_json([{"tool": "reviewbot", "status": "fail",
                                 "summary": error_line(str(e)), "url": args.url,
                                 "details": ""}]))
        return 0
    # the patch as b4 (and so `review`) names it: one Message-ID parser for every command
    ids = [p.msgid for p in report.patches if p.index > 0]
    sys.stdout.write(formats.render("b4-check", report, formats.FormatOptions(
        patch=ids[0] if len(ids) == 1 else None, url=args.url)))
    return 0


def _is_patch_mail(msg, subject_tags) -> bool:
    if msg is None:
        return False
    return subject_tags(str(msg.get("Subject", "") or ""))[0]


def _cwd_tree() -> str | None:
    import subprocess
    p = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else None


def _json(x) -> str:
    import json
    return json.dumps(x, indent=2) + "\n"
