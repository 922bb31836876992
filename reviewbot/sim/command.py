"""`reviewbot simulate`: run the tree's fault path on the XIP/DAX model, or replay a trace.

Exit status: 0 holds, 1 violated, 2 error or incomplete."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable

from . import scenarios, simulate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tree", default=".", metavar="DIR",
                        help="kernel tree to read (a plain directory or a git checkout; default: cwd)")
    parser.add_argument("--scenario", choices=scenarios.scenario_names(), metavar="NAME",
                        help="scenario to run (default: the one that fits the tree): "
                             + ", ".join(scenarios.scenario_names()))
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--diff", metavar="PATCH",
                        help="the patch the tree carries (unified diff, already applied): report which "
                             "of its changed fault-path lines ran; 'holds' needs all of them")
    parser.add_argument("--replay", metavar="TRACE_JSON_FILE",
                        help="re-run a trace (the JSON of a previous run) step by step")


def tree_reader(root: Path) -> Callable[[str], bytes | None]:
    root = root.resolve()

    def read_file(path: str) -> bytes | None:
        p = (root / path).resolve()
        if root not in p.parents or not p.is_file():
            return None
        return p.read_bytes()
    return read_file


def _err(what: str, problem: str) -> int:
    from reviewbot.cli import error_line     # escaped, one line, at most 300 characters
    print(error_line("%s: %s" % (what, problem)), file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    root = Path(args.tree)
    if not root.is_dir():
        return _err(args.tree, "no such directory")
    read_file = tree_reader(root)
    if args.replay:
        from .replay import load_trace, replay, ReplayError
        try:
            data = load_trace(Path(args.replay).read_bytes())
        except OSError as e:
            return _err(args.replay, e.strerror or "cannot read")
        except ReplayError as e:
            return _err(args.replay, str(e))
        try:
            return replay(read_file, data, args.scenario, args.format, sys.stdout)
        except ReplayError as e:
            return _err(args.replay, str(e))
    changed = None
    if args.diff:
        from .coverage import changed_from_diff
        try:
            changed = changed_from_diff(Path(args.diff).read_text(errors="replace"))
        except OSError as e:
            return _err(args.diff, e.strerror or "cannot read")
        except Exception as e:
            return _err(args.diff, "not a unified diff (%s)" % " ".join(str(e).split()))
    if changed is not None and not args.scenario:
        # the patch drives the run: every scenario that reaches a statement it changes
        from .series import run_series
        res = run_series(read_file, changed)
    else:
        res = simulate(read_file, args.scenario, changed=changed)
    if args.format == "json":
        json.dump(res.to_dict(), sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(res.render_text())
        # wall time is not in the JSON, which is byte-identical run to run
        sys.stdout.write("run: %s states in %.2f s\n" % (format(res.states, ","), res.seconds))
    if res.verdict in ("incomplete", "not simulated"):
        print("reviewbot: %s: simulation %s: %s" % (args.tree, res.verdict, res.reason), file=sys.stderr)
        return 2
    return 0 if res.verdict == "holds" else 1
