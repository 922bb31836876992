"""`reviewbot checklist MSGID`: a reviewer checklist for the series, Markdown by default or
HTML with --html: what each patch changes, each finding with its evidence, and the checks its
diff calls for.  Takes the same options as `reviewbot review`."""
from __future__ import annotations

import sys
from pathlib import Path


def add_arguments(p) -> None:
    from reviewbot.review_cmd import add_arguments as review_arguments
    review_arguments(p)
    p.add_argument("--html", action="store_true", help="write HTML instead of Markdown")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")


def run(args) -> int:
    from reviewbot import formats
    from reviewbot.review import review
    from reviewbot.review_cmd import request
    from reviewbot.deliver.outfiles import check_outfile, write_atomic
    if args.output:
        check_outfile(Path(args.output), "-o")
    report = review(request(args))
    text = formats.render("checklist-html" if args.html else "checklist-md", report)
    if args.output:
        write_atomic(Path(args.output), text.encode(), "-o")
    else:
        sys.stdout.write(text)
    return 0
