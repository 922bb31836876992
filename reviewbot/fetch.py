"""Fetch a thread through b4: from lore, any public-inbox (`--inbox`, `b4.midmask`), or a local
mbox/maildir (`--mbox`, no network then). Returns the messages of the thread, nothing more."""
from __future__ import annotations

import argparse
import re
from email.message import EmailMessage
from pathlib import Path

from reviewbot.config import b4 as load_b4
from reviewbot.errors import ReviewbotError
from reviewbot.mail import check_message, mboxrd_entry

_FROM_LINE = re.compile(rb"(?m)^From .*\n")
MAX_THREAD_BYTES = 16 * 1024 * 1024   # budget: a thread bigger than this is not a review's input


def normalise_msgid(value: str) -> str:
    """A bare message-id from `<id>`, `id:...` or a lore/public-inbox URL."""
    b4 = load_b4()
    msgid = b4.parse_msgid(value)
    if not msgid or "@" not in msgid or any(c.isspace() for c in msgid):
        raise ReviewbotError(value, "not a message-id or lore URL")
    return msgid


def inbox_from_url(value: str) -> str | None:
    """The inbox base of a public-inbox URL given in place of a message-id, if it is one."""
    if not value.startswith(("http://", "https://")):
        return None
    head, _, _rest = value.partition("@")
    base = head.rsplit("/", 1)[0]
    return base + "/" if base.count("/") >= 3 else None


def _maildir_messages(path: Path) -> list[bytes]:
    """The raw messages of a maildir (cur/ and new/, whichever exist), in name order; an
    unreadable one is an error naming it."""
    files = []
    for sub in ("cur", "new"):
        d = path / sub
        if d.is_dir():
            try:
                files += [f for f in d.iterdir() if not f.name.startswith(".")]
            except OSError as exc:
                raise ReviewbotError(str(d), f"cannot read: {exc.strerror}") from None
    out = []
    for f in sorted(files, key=lambda f: f.name.split(":")[0]):
        try:
            out.append(f.read_bytes())
        except OSError as exc:
            raise ReviewbotError(str(f), f"cannot read: {exc.strerror}") from None
    return out


def _read_local(path: Path) -> list[EmailMessage]:
    b4 = load_b4()
    if path.is_dir():
        if not (path / "cur").is_dir() and not (path / "new").is_dir():
            raise ReviewbotError(str(path), "a directory that is not a maildir (no cur/ or new/)")
        raw = b"".join(mboxrd_entry(m) for m in _maildir_messages(path))
    else:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ReviewbotError(str(path), f"cannot read: {exc.strerror}") from None
    _thread_budget(len(raw), str(path))
    if not raw.strip():
        raise ReviewbotError(str(path), "empty mailbox")
    raw = raw.replace(b"\r\n", b"\n")
    if not raw.startswith(b"From "):
        # a single message saved as .eml is a one-message mbox
        raw = mboxrd_entry(raw)
    parts = [p for p in _FROM_LINE.split(raw) if p.strip()]
    for i, one in enumerate(parts, 1):
        check_message(one, str(path) if len(parts) == 1 else f"{path} (message {i})")
    msgs = b4.mailsplit_bytes(raw)
    if not msgs:
        raise ReviewbotError(str(path), "no messages in mailbox")
    return msgs


def fetch_thread(target: str | None, mbox: str | None = None, inbox: str | None = None
                 ) -> tuple[str | None, list[EmailMessage]]:
    """Return (message-id asked for, messages of its thread).

    With `mbox`, read that file or maildir and never touch the network; `target` may then be
    None (the whole mailbox is the thread). With `inbox`, fetch from that public-inbox URL;
    otherwise b4's own `b4.midmask` (lore by default) decides.
    """
    b4 = load_b4()
    msgid = normalise_msgid(target) if target else None
    if mbox:
        was, b4.can_network = b4.can_network, False   # a local mailbox: b4 stays offline
        try:
            msgs = _read_local(Path(mbox))
            if msgid:
                strict = b4.get_strict_thread(msgs, msgid)
                if not strict:
                    raise ReviewbotError(msgid, f"message not found in {mbox}")
                msgs = strict
        finally:
            b4.can_network = was
        return msgid, msgs
    if not msgid:
        raise ReviewbotError("review", "a message-id, lore URL or --mbox is needed")
    inbox = inbox or (inbox_from_url(target) if target else None)
    config = {"cache-expire": "0"}
    if inbox:
        base = inbox if inbox.endswith("/") else inbox + "/"
        config.update({"midmask": base + "%s", "linkmask": base + "%s"})
    b4.setup_config(argparse.Namespace(config={f"b4.{k}": v for k, v in config.items()}))
    if inbox:   # setup_config merges; make sure the given inbox wins over git config
        b4.get_main_config().update(config)
    mask = str(b4.get_main_config().get("midmask") or "https://lore.kernel.org/all/%s")
    where = mask.replace("%s", msgid) if "%s" in mask else mask.rstrip("/") + "/" + msgid
    try:
        msgs = b4.get_pi_thread_by_msgid(msgid, nocache=True, quiet=True)
    except Exception as exc:   # b4/liblore raise many kinds; one line is what the user gets
        problem = _unreachable(where)
        raise ReviewbotError(msgid, problem or f"fetch from {where} failed: {exc}") from None
    if not msgs:
        raise ReviewbotError(msgid, _unreachable(where) or f"message not found at {where}")
    _check_fetched(msgs, where)
    return msgid, msgs


def _check_fetched(msgs: list[EmailMessage], where: str) -> None:
    """The budgets of a local mailbox for a fetched thread too: b4 has parsed it already, but
    nothing past this reads a message or a thread bigger than a review's input may be."""
    total = 0
    for i, m in enumerate(msgs, 1):
        try:
            raw = m.as_bytes()
        except RecursionError:
            raise ReviewbotError(f"{where} (message {i})", "MIME parts nested too deep to "
                                 "read") from None
        except Exception:       # a message b4 read but cannot write back: nothing to measure
            continue
        check_message(raw, f"{where} (message {i})")
        total += len(raw)
    _thread_budget(total, where)


def _thread_budget(size: int, where: str) -> None:
    if size > MAX_THREAD_BYTES:
        raise ReviewbotError(where, f"larger than {MAX_THREAD_BYTES >> 20} MiB, the budget of "
                             "a thread")


def _unreachable(url: str) -> str | None:
    """'the archive ... could not be reached' when nothing answers at `url`'s host; None when
    it answers (with anything, even 404)."""
    import requests
    try:
        requests.head(url, timeout=10, allow_redirects=False)
    except requests.RequestException as exc:
        kind = type(exc).__name__
        return f"the archive could not be reached at {url} ({kind})"
    return None
