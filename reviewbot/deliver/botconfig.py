"""The bot's TOML configuration: inboxes to follow with their per-list policy, identity,
timing, limits and SMTP (git's sendemail key names).  Dry-run unless it says otherwise."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from reviewbot.mail import normalise_addr, parse_addresses
from reviewbot.deliver.recipients import load_allow_list
from reviewbot.deliver.smtp import SmtpConfig
from reviewbot.deliver.smtp import check as check_smtp
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
cc_allow = ["MAINTAINERS"]             # people the patch Cc'd who may be Cc'd (at most max_cc)

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
    retry: float = 300.0            # first wait after a failed review; doubles per failure
    retry_max: float = 21600.0      # ... up to this
    cc_allow: list[str] = field(default_factory=list)
    max_cc: int = 8
    smtp: SmtpConfig = field(default_factory=SmtpConfig)

    @property
    def ignore_from(self) -> set[str]:
        """Loop guard: the bot itself and configured bots, plus muted senders."""
        return {normalise_addr(a) for a in self.bots + self.muted + [self.sender[1]]}


def _choice(value: str, allowed: tuple, where: str) -> str:
    if value not in allowed:
        raise ReviewbotError(where, f"must be one of {', '.join(allowed)}, not {value!r}")
    return value


_TYPES = {str: "a string", bool: "true or false", int: "an integer", float: "a number",
          list: "a list"}


class _Table:
    """One TOML table whose values are checked for type as they are read."""

    def __init__(self, data, where: str):
        if not isinstance(data, dict):
            raise ReviewbotError(where, "must be a table")
        self.data, self.where = data, where

    def get(self, key: str, kind: type, default):
        v = self.data.get(key, default)
        ok = isinstance(v, kind) and not (kind in (int, float) and isinstance(v, bool))
        if kind is float and isinstance(v, int) and not isinstance(v, bool):
            v, ok = float(v), True
        if not ok:
            raise ReviewbotError(f"{self.where} {key}", f"must be {_TYPES[kind]}, not {v!r}")
        if kind in (int, float) and v < 0:
            raise ReviewbotError(f"{self.where} {key}", f"must not be negative, not {v!r}")
        if kind is list and not all(isinstance(x, str) for x in v):
            raise ReviewbotError(f"{self.where} {key}", f"must be a list of strings, not {v!r}")
        return v


def _linkmask(value: str, where: str) -> str:
    try:
        ok = value.count("%s") == 1 and value % "x" is not None
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ReviewbotError(where, f"must contain %s once (for the Message-ID), and no other "
                             f"%-format, not {value!r}")
    return value


def load_config(path: str | Path) -> BotConfig:
    """Read and check the whole file; nothing is created here (the state comes later)."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text())
    except OSError as e:
        raise ReviewbotError(str(p), e.strerror or str(e))
    except UnicodeDecodeError:
        raise ReviewbotError(str(p), "not valid TOML: not UTF-8")
    except tomllib.TOMLDecodeError as e:
        raise ReviewbotError(str(p), f"not valid TOML: {e}")
    base_dir = p.resolve().parent
    rel = lambda v: (base_dir / Path(v).expanduser()) if v else None
    bot = _Table(data.get("bot", {}), f"{p}: [bot]")
    sender = parse_addresses(bot.get("from", str, ""))
    if not sender:
        raise ReviewbotError(f"{p}: [bot] from", "needs a valid address, e.g. "
                             "\"reviewbot <reviewbot@example.net>\"")
    raw_lists = data.get("list", [])
    if not isinstance(raw_lists, list):
        raise ReviewbotError(f"{p}: list", "must be [[list]] tables")
    lists = []
    for i, raw in enumerate(raw_lists):
        where = f"{p}: [[list]] #{i + 1}"
        l = _Table(raw, where)
        if not l.get("address", str, "") or not l.get("inbox", str, ""):
            raise ReviewbotError(where, "needs address and inbox")
        lists.append(ListPolicy(
            address=l.get("address", str, ""), inbox=rel(l.get("inbox", str, "")),
            recipients=_choice(l.get("recipients", str, "all"),
                               ("all", "author+lists", "author"), where + " recipients"),
            no_findings=_choice(l.get("no_findings", str, "none"), ("none", "author"),
                                where + " no_findings"),
            remail_still_present=l.get("remail_still_present", bool, False),
            report_preexisting=l.get("report_preexisting", bool, False),
            reply_to=l.get("reply_to", str, "")))
    if not lists:
        raise ReviewbotError(str(p), "no [[list]] to follow")
    state = rel(bot.get("state", str, "reviewbot-state.sqlite"))
    if state.is_dir():
        raise ReviewbotError(f"{p}: [bot] state", f"{state} is a directory")
    tree = bot.get("tree", str, "")
    cfg = BotConfig(
        lists=lists, state=state, sender=sender[0],
        outdir=rel(bot.get("outdir", str, "outbox")), dry_run=bot.get("dry_run", bool, True),
        tree=tree if tree in ("", "bundled") else str(rel(tree)),
        base=bot.get("base", str, ""),
        hold=bot.get("hold", float, 86400), settle=bot.get("settle", float, 0),
        poll=bot.get("poll", float, 60), resend_after=bot.get("resend_after", float, 3600),
        bots=bot.get("bots", list, []), muted=bot.get("muted", list, []),
        max_message_bytes=bot.get("max_message_bytes", int, 4 * 1024 * 1024),
        max_series_patches=bot.get("max_series_patches", int, 100),
        simulate=bot.get("simulate", bool, True),
        linkmask=_linkmask(bot.get("linkmask", str, "https://lore.kernel.org/r/%s"),
                           f"{p}: [bot] linkmask"),
        retry=bot.get("retry", float, 300), retry_max=bot.get("retry_max", float, 21600),
        cc_allow=load_allow_list(bot.get("cc_allow", list, []), f"{p}: [bot] cc_allow",
                                 base_dir),
        max_cc=bot.get("max_cc", int, 8))
    cfg.smtp = _smtp(data.get("smtp", {}), f"{p}: [smtp]")
    return cfg


_SMTP_KINDS = {str: ("smtpServer", "server", "smtpUser", "user", "smtpPass", "password", "pass",
                     "smtpEncryption", "encryption", "from", "sender", "envelopeSender",
                     "envelope_sender", "confirm"),
               int: ("smtpServerPort", "port", "retries"), float: ("timeout", "backoff")}


def _smtp(data, where: str) -> SmtpConfig:
    """[smtp], each value checked for type and range before it is used."""
    t = _Table(data, where)
    for key in _SMTP_KINDS[int]:        # git config spells numbers as strings: "25" is 25
        if isinstance(t.data.get(key), str) and t.data[key].strip().isdigit():
            t.data[key] = int(t.data[key])
    for kind, keys in _SMTP_KINDS.items():
        for key in keys:
            if key in t.data:
                t.get(key, kind, None)
    for key in ("to", "cc"):
        if key in t.data and not isinstance(t.data[key], str):
            t.get(key, list, [])
    return check_smtp(SmtpConfig.from_mapping(t.data), where + " ")
