"""`reviewbot bot --config FILE`: follow public-inbox mirrors and reply to new series under each
list's policy.  Dry-run (replies written as .eml files) unless the config or --send says so."""
from __future__ import annotations

import logging
import signal

from reviewbot.deliver.botconfig import EXAMPLE, load_config


def add_arguments(p) -> None:
    p.add_argument("--config", required=True, metavar="FILE",
                   help="TOML configuration; an example:\n" + EXAMPLE)
    p.add_argument("--once", action="store_true", help="one pass over the mirrors, then exit")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--send", action="store_true", help="send replies (overrides dry_run)")
    mode.add_argument("--dry-run", action="store_true", help="write replies, do not send")
    p.add_argument("-v", "--verbose", action="store_true", help="log each pass")


def run(args) -> int:
    from reviewbot.deliver.bot import Bot
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="reviewbot bot: %(levelname)s %(message)s")
    cfg = load_config(args.config)
    if args.send:
        cfg.dry_run = False
    elif args.dry_run:
        cfg.dry_run = True
    bot = Bot(cfg)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    try:
        if args.once:
            stats = bot.run_once()
            print(" ".join(f"{k}={v}" for k, v in stats.items()))
        else:
            bot.loop(stop=lambda: bool(stopping))
    finally:
        bot.close()
    return 0
