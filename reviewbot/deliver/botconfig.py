"""The bot's TOML configuration: inboxes to follow with their per-list policy, identity,
timing, limits and SMTP (git's sendemail key names).  Dry-run unless it says otherwise."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from reviewbot.mail import normalise_addr, parse_addresses
from reviewbot.deliver.smtp import SmtpConfig
from reviewbot.errors import ReviewbotError

EXAMPLE = """\
[bot]
from = "reviewbot <reviewbot@example.net>"
state = "/var/lib/reviewbot/state.sqlite"
outdir = "/var/lib/reviewbot/outbox"   # dry-run replies are written here as .eml
dry_run = true
tree = "/srv/linux"                    # or "bundled" for the corpus tree
base = "HEAD"
hold = 86400            # seconds: an incomplete series is reviewed after this
settle = 0              # seconds: a complete series waits this long for stragglers
poll = 60
bots = ["lkp@intel.com"]               # never reviewed or answered
muted = []

[[list]]
address = "linux-mm@kvack.org"
inbox = "/srv/mirror/linux-mm"         # public-inbox v2 dir (git/0.git, ...)
recipients = "all"                     # all | author+lists | author
no_findings = "none"                   # none | author
remail_still_present = false
report_preexisting = false
reply_to = ""

[smtp]
smtpServer = "localhost"
smtpServerPort = 25
smtpEncryption = ""
"""


@dataclass
class ListPolicy:
    address: str
    inbox: Path
    recipients: str = "all"
    no_findings: str = "none"
    remail_still_present: bool = False
    report_preexisting: bool = False
    reply_to: str = ""


@dataclass
class BotConfig:
    lists: list[ListPolicy]
    state: Path
    sender: tuple[str, str]
    outdir: Path
    dry_run: bool = True
    tree: str = ""
    base: str = ""
    hold: float = 86400.0
    settle: float = 0.0
    poll: float = 60.0
    resend_after: float = 3600.0
    bots: list[str] = field(default_factory=list)
    muted: list[str] = field(default_factory=list)
    max_message_bytes: int = 4 * 1024 * 1024
    max_series_patches: int = 100
    simulate: bool = True
    linkmask: str = "https://lore.kernel.org/r/%s"
    smtp: SmtpConfig = field(default_factory=SmtpConfig)

    @property
    def ignore_from(self) -> set[str]:
        """Loop guard: the bot itself and configured bots, plus muted senders."""
        return {normalise_addr(a) for a in self.bots + self.muted + [self.sender[1]]}


def _choice(value: str, allowed: tuple, where: str) -> str:
    if value not in allowed:
        raise ReviewbotError(where, f"must be one of {', '.join(allowed)}, not {value!r}")
    return value


def load_config(path: str | Path) -> BotConfig:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text())
    except OSError as e:
        raise ReviewbotError(str(p), e.strerror or str(e))
    except tomllib.TOMLDecodeError as e:
        raise ReviewbotError(str(p), f"not valid TOML: {e}")
    base_dir = p.resolve().parent
    rel = lambda v: (base_dir / Path(v).expanduser()) if v else None
    bot = data.get("bot", {})
    sender = parse_addresses(bot.get("from", ""))
    if not sender:
        raise ReviewbotError(f"{p}: [bot] from", "needs a valid address, e.g. "
                             "\"reviewbot <reviewbot@example.net>\"")
    lists = []
    for i, l in enumerate(data.get("list", [])):
        where = f"{p}: [[list]] #{i + 1}"
        if not l.get("address") or not l.get("inbox"):
            raise ReviewbotError(where, "needs address and inbox")
        lists.append(ListPolicy(
            address=l["address"], inbox=rel(l["inbox"]),
            recipients=_choice(l.get("recipients", "all"), ("all", "author+lists", "author"),
                               where + " recipients"),
            no_findings=_choice(l.get("no_findings", "none"), ("none", "author"),
                                where + " no_findings"),
            remail_still_present=bool(l.get("remail_still_present", False)),
            report_preexisting=bool(l.get("report_preexisting", False)),
            reply_to=l.get("reply_to", "")))
    if not lists:
        raise ReviewbotError(str(p), "no [[list]] to follow")
    state = rel(bot.get("state", "reviewbot-state.sqlite"))
    tree = bot.get("tree", "")
    cfg = BotConfig(
        lists=lists, state=state, sender=sender[0],
        outdir=rel(bot.get("outdir", "outbox")), dry_run=bool(bot.get("dry_run", True)),
        tree=tree if tree in ("", "bundled") else str(rel(tree)), base=bot.get("base", ""),
        hold=float(bot.get("hold", 86400)), settle=float(bot.get("settle", 0)),
        poll=float(bot.get("poll", 60)), resend_after=float(bot.get("resend_after", 3600)),
        bots=list(bot.get("bots", [])), muted=list(bot.get("muted", [])),
        max_message_bytes=int(bot.get("max_message_bytes", 4 * 1024 * 1024)),
        max_series_patches=int(bot.get("max_series_patches", 100)),
        simulate=bool(bot.get("simulate", True)),
        linkmask=bot.get("linkmask", "https://lore.kernel.org/r/%s"),
        smtp=SmtpConfig.from_mapping(data.get("smtp", {})))
    return cfg
