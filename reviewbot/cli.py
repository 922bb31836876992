"""The `reviewbot` command line: each subcommand only parses and hands over to one module."""
from __future__ import annotations

import argparse
import importlib
import sys

from reviewbot import __version__
from reviewbot.errors import ReviewbotError

# (name, module with add_arguments(parser) and run(args) -> int, one-line help)
SUBCOMMANDS = [
    ("review", "reviewbot.review_cmd", "review a patch series by message-id, lore URL or mbox"),
    ("rules", "reviewbot.rules_cmd", "list the installed rules with their documentation"),
    ("simulate", "reviewbot.sim.command", "run the fault path of a tree on the XIP/DAX model"),
    ("checklist", "reviewbot.deliver.checklist_cmd", "write a reviewer checklist for a series"),
    ("reply", "reviewbot.deliver.reply_cmd", "write (or --send) replies to the list for a series"),
    ("b4-check", "reviewbot.deliver.b4check_cmd",
     "read one patch mail on stdin, print b4's check-command JSON"),
    ("bot", "reviewbot.deliver.bot_cmd", "follow a public-inbox mirror and reply to new series"),
]


class HelpFormatter(argparse.HelpFormatter):
    """Wraps prose as argparse does, but keeps blocks as they are written: the lines after the
    first newline of an option's help (a config example), and indented lines or paragraphs
    of a description (command lines)."""

    def _split_lines(self, text, width):
        if "\n" in text:
            head, _, block = text.partition("\n")
            return super()._split_lines(head, width) + block.rstrip("\n").splitlines()
        return super()._split_lines(text, width)

    def _fill_text(self, text, width, indent):
        out = []
        for para in text.strip("\n").split("\n\n"):
            lines = para.splitlines()
            if any(ln.startswith("  ") for ln in lines):
                out.append("\n".join(indent + ln for ln in lines))
            else:
                out.append(super()._fill_text(para, width, indent))
        return "\n\n".join(out)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or with `only` just that subcommand's (importing one stage's
    module, not all seven, keeps a review's start-up short)."""
    parser = argparse.ArgumentParser(
        prog="reviewbot",
        description="Review Linux kernel mailing-list patches: fetch a thread with b4, apply "
                    "it to a kernel tree without touching the checkout, run rule plugins "
                    "and the fault-path simulator, and report what a reviewer should look at.")
    parser.add_argument("--version", action="version", version=f"reviewbot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, modname, helptext in SUBCOMMANDS:
        if only and name != only:
            continue
        try:
            module = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name != modname:
                raise
            continue   # a stage not installed in this build
        p = sub.add_parser(name, help=helptext, description=(module.__doc__ or helptext).strip(),
                           formatter_class=HelpFormatter)
        module.add_arguments(p)
        p.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args_in = sys.argv[1:] if argv is None else argv
    first = args_in[0] if args_in else ""
    parser = build_parser(first if first in {n for n, _m, _h in SUBCOMMANDS} else None)
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.run(args)
    except ReviewbotError as exc:
        print(error_line(str(exc)), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("reviewbot: interrupted", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 2
    except Exception as exc:   # exit 1 means "findings"; a crash must never look like that
        print(error_line(f"internal error: {type(exc).__name__}: {exc}"), file=sys.stderr)
        return 2


MAX_ERROR = 300


def error_line(text: str) -> str:
    """`reviewbot: <input>: <problem>` on one line: controls from mail escaped, capped."""
    from reviewbot.render.safe import one_line
    line = one_line(text)
    if len(line) > MAX_ERROR:
        line = line[:MAX_ERROR - 3] + "..."
    return f"reviewbot: {line}"
