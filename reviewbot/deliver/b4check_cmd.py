"""`reviewbot b4-check`: read one patch mail on stdin and print b4's check-command JSON
([{tool, status, summary, url, details}], [] for mail that is not a patch).  Set it as
b4.review-perpatch-check-cmd; run from a kernel tree it checks the patch against HEAD."""
from __future__ import annotations

import email
import email.policy
import sys

from reviewbot.errors import ReviewbotError


def add_arguments(p) -> None:
    p.add_argument("--tree", metavar="DIR", help="kernel tree (default: the current checkout "
                   "if it is one; otherwise diff-only)")
    p.add_argument("--base", metavar="REV", help="base revision (default: base-commit or HEAD)")
    p.add_argument("--no-simulate", action="store_true", help="do not run the simulator")
    p.add_argument("--url", default="", help="URL to put in each result (e.g. the docs)")


def run(args) -> int:
    from reviewbot.mail import parse_patch_mail
    from reviewbot import formats
    from reviewbot.review import ReviewRequest, review
    raw = sys.stdin.buffer.read()
    if not raw.strip():
        raise ReviewbotError("stdin", "no message given")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    pm = parse_patch_mail(msg)
    if not pm.msgid:
        raise ReviewbotError("stdin", "the message has no Message-ID")
    if not pm.hunks:
        sys.stdout.write("[]\n")
        return 0
    tree = args.tree or (_cwd_tree())
    try:
        report = review(ReviewRequest(messages=[msg], tree=tree, no_tree=tree is None,
                                      base=args.base, simulate=not args.no_simulate))
    except ReviewbotError as e:   # b4 shows a result, not a traceback or an empty column
        sys.stdout.write(_json([{"tool": "reviewbot", "status": "warn",
                                 "summary": f"review failed: {e}", "url": args.url,
                                 "details": ""}]))
        return 0
    sys.stdout.write(formats.render("b4-check", report,
                                    formats.FormatOptions(patch=pm.msgid, url=args.url)))
    return 0


def _cwd_tree() -> str | None:
    import subprocess
    p = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else None


def _json(x) -> str:
    import json
    return json.dumps(x, indent=2) + "\n"
