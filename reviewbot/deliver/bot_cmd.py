"""`reviewbot bot --config FILE`: follow public-inbox mirrors and reply to new series under each
list's policy.  Dry-run (replies written as .eml files) unless the config or --send says so."""
from __future__ import annotations

import logging
import signal
import sys

from reviewbot.deliver.botconfig import EXAMPLE, load_config


def add_arguments(p) -> None:
    p.add_argument("--config", required=True, metavar="FILE",
                   help="TOML configuration; an example:\n" + EXAMPLE)
    p.add_argument("--once", action="store_true", help="one pass over the mirrors, then exit "
                   "(status 0: all done; 1: a review failed, a reply was not sent or an "
                   "archive was unreadable; 2: error)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--send", action="store_true", help="send replies (overrides dry_run)")
    mode.add_argument("--dry-run", action="store_true", help="write replies, do not send")
    p.add_argument("-v", "--verbose", action="store_true", help="log each pass")


def run(args) -> int:
    from reviewbot.deliver.bot import Bot
    from reviewbot.deliver.outfiles import check_outdir
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="reviewbot bot: %(levelname)s %(message)s")
    cfg = load_config(args.config)
    if args.send:
        cfg.dry_run = False
    elif args.dry_run:
        cfg.dry_run = True
    if cfg.dry_run:
        check_outdir(cfg.outdir, f"{args.config}: [bot] outdir")
    bot = Bot(cfg)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    try:
        if args.once:
            stats = bot.run_once()
            print(" ".join(f"{k}={v}" for k, v in stats.items()), flush=True)
            return _status(stats)
        bot.loop(stop=lambda: bool(stopping))
    finally:
        bot.close()
    return 0


def _status(stats: dict) -> int:
    """0 when the pass did everything it set out to; else one line naming what it did not."""
    problems = [f"{n} {what}" for n, what in (
        (stats.get("failed", 0), "review(s) failed"),
        (stats.get("unsent", 0), "reply(ies) not sent"),
        (stats.get("errors", 0), "archive(s) unreadable")) if n]
    if not problems:
        return 0
    print(f"reviewbot: bot --once: {', '.join(problems)} (see the log above)", file=sys.stderr)
    return 1
