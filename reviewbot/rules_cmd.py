"""`reviewbot rules`: list the installed rules, where they come from, and their documentation."""
from __future__ import annotations

import sys

from reviewbot.engine import load_rules, rule_doc


def add_arguments(p) -> None:
    p.add_argument("ids", nargs="*", help="show only these rules")
    p.add_argument("--short", action="store_true", help="one line per rule")


def run(args) -> int:
    rules = load_rules(args.ids or None)
    for rule in rules:
        sys.stdout.write(f"{rule.id} ({rule.severity}): {rule.summary}\n")
        if not args.short:
            doc = rule_doc(rule).rstrip()
            sys.stdout.write("\n".join("    " + ln if ln else "" for ln in doc.splitlines()))
            sys.stdout.write("\n\n")
    return 0
