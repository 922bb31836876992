"""`reviewbot review`: fetch a series, apply it to a tree in a throw-away index, run the rules and
the simulator, and print the findings (text, terse, JSON or SARIF).

Exit status: 0 none or only info, 1 warnings or errors (0 with --exit-zero), 2 error, 3 no
warning or error but the series was applied to no tree (it did not apply, the tree already has
it, or no tree was found), so the whole-tree checks did not run on the patched tree.

Options may also come from git config: reviewbot.tree, reviewbot.base, reviewbot.inbox,
reviewbot.format, reviewbot.rules, reviewbot.trace.

As b4's check command (`b4 am --check`, `b4 prep --check`):
  git config b4.am-perpatch-check-cmd "reviewbot review --mbox - --format terse"
  git config b4.prep-perpatch-check-cmd "reviewbot review --mbox - --format terse"
"""
from __future__ import annotations

import sys

from reviewbot import config, formats
from reviewbot.findings import EXIT_FINDINGS
from reviewbot.review import ReviewRequest, review

# the options of a review request that git config (reviewbot.<key>) may give
REQUEST_KEYS = ("tree", "base", "inbox", "rules")


def add_arguments(p) -> None:
    p.add_argument("msgid", nargs="?", help="message-id or lore URL of any message of the series")
    src = p.add_argument_group("where the thread comes from")
    src.add_argument("--mbox", metavar="PATH", help="read the thread from a local mbox file or "
                     "maildir, or '-' for one message or mbox on stdin (no network)")
    src.add_argument("--inbox", metavar="URL", help="public-inbox to fetch from, e.g. "
                     "https://lore.kernel.org/linux-mm/ (default: b4.midmask, i.e. lore)")
    src.add_argument("--bundled", nargs="?", const="cow", metavar="NAME",
                     help="review a bundled corpus series (default 'cow') against the bundled "
                          "tree, offline")
    src.add_argument("--revision", type=int, metavar="N", help="review revision vN (default: "
                     "the newest in the thread)")
    tree = p.add_argument_group("the tree the series is applied to")
    tree.add_argument("--tree", metavar="DIR", help="kernel git tree (default: the current "
                      "checkout; none: diff-only mode). It is never modified.")
    tree.add_argument("--base", metavar="REV", help="base when the series has no base-commit "
                      "the tree knows (default: HEAD)")
    tree.add_argument("--no-tree", action="store_true", help="diff-only mode even inside a tree")
    out = p.add_argument_group("what runs and what is printed")
    out.add_argument("--rules", metavar="ID,...", help="run only these rules")
    out.add_argument("--no-simulate", action="store_true", help="do not run the simulator")
    out.add_argument("--format", choices=formats.names("review"), default=None,
                     help="output format (default text); terse: one line a finding, "
                          "FILE:LINE: SEVERITY:RULE: message, like checkpatch --terse")
    out.add_argument("--trace", choices=("terse", "full"), default=None,
                     help="counterexample traces in text output: the steps that matter "
                          "(default) or every step")
    out.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are "
                     "findings (they are still printed); errors still exit 2")


def request(args) -> ReviewRequest:
    """The review the command line asks for: flags first, then git config reviewbot.*."""
    opts = config.from_git_config({k: getattr(args, k) for k in REQUEST_KEYS},
                                  cwd=args.tree or None)
    return ReviewRequest(msgid=args.msgid, mbox=args.mbox, inbox=opts["inbox"],
                         bundled=args.bundled, revision=args.revision, tree=opts["tree"],
                         base=opts["base"], no_tree=args.no_tree,
                         rules=opts["rules"].split(",") if opts["rules"] else None,
                         simulate=not args.no_simulate)


def run(args) -> int:
    shown = config.from_git_config({"format": args.format, "trace": args.trace},
                                   cwd=args.tree or None)
    report = review(request(args))
    options = formats.FormatOptions(trace=shown["trace"] or "terse")
    sys.stdout.write(formats.render(shown["format"] or "text", report, options))
    status = report.exit_status()
    return 0 if status == EXIT_FINDINGS and args.exit_zero else status
