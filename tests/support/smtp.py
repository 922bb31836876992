"""An in-process SMTP server (aiosmtpd Controller) on 127.0.0.1 for tests.

    srv = SmtpServer().start()               # free port on 127.0.0.1
    srv.route(inbox)                         # mail whose envelope recipient is inbox.address
                                             #   is delivered with inbox.deliver() (public-inbox-mda)
    srv.fail_next(2)                         # the next 2 DATA commands get "451 4.3.0 ..."
    srv.before_accept(fn)                    # fn(received) at DATA, before anything else:
                                             #   return a reply ("550 ...") to refuse, or None
    srv.after_accept(fn)                     # fn(received) once the message is accepted and
                                             #   delivered, before the 250 goes out (a crash
                                             #   of the client here is the exactly-once window)
    smtplib.SMTP(srv.host, srv.port).send_message(msg)
    srv.messages[-1].mail_from / .rcpt_tos / .data / .message()
    srv.stop()

Every accepted transaction is appended to `messages`; refused ones (fail_next,
or a failed delivery into an inbox, both answered 451 so a sender retries) to
`rejected`.  `data` has LF line ends, as an MTA would hand it to a mailbox;
`wire` is what came over SMTP (CRLF).  Delivery happens inside DATA, so when
smtplib returns the message is already in the inbox.
"""
from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from . import env as _env
from .mbox import parse


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    wire: bytes
    reply: str = "250 OK"
    delivered_to: list[str] = field(default_factory=list)   # inbox addresses it went into

    @property
    def data(self) -> bytes:
        return self.wire.replace(b"\r\n", b"\n")

    def message(self) -> EmailMessage:
        return parse(self.data)


class _Handler:
    def __init__(self, server: "SmtpServer"):
        self.server = server

    async def handle_DATA(self, smtp, session, envelope):
        srv = self.server
        rec = Received(envelope.mail_from, list(envelope.rcpt_tos),
                       envelope.original_content or envelope.content or b"")
        loop = asyncio.get_running_loop()
        if srv._before is not None:
            refusal = await loop.run_in_executor(None, srv._before, rec)
            if refusal:
                rec.reply = refusal
                with srv._lock:
                    srv.rejected.append(rec)
                return refusal
        with srv._lock:
            if srv._fail_count > 0:
                srv._fail_count -= 1
                rec.reply = srv._fail_reply
                srv.rejected.append(rec)
                return rec.reply
            routes = dict(srv._routes)
        for rcpt in rec.rcpt_tos:
            inbox = routes.get(rcpt.lower())
            if inbox is None:
                continue
            p = await loop.run_in_executor(
                None, lambda: inbox.deliver(rec.data, recipient=rcpt, check=False))
            if p.returncode != 0:
                rec.reply = "451 4.3.0 public-inbox-mda failed"
                srv.delivery_errors.append(p.stdout.decode(errors="replace"))
                with srv._lock:
                    srv.rejected.append(rec)
                return rec.reply
            rec.delivered_to.append(rcpt)
        with srv._lock:
            srv.messages.append(rec)
            srv._cond.notify_all()
        if srv._after is not None:
            await loop.run_in_executor(None, srv._after, rec)
        return rec.reply


class SmtpServer:
    host = "127.0.0.1"

    def __init__(self):
        self.port: int | None = None
        self.messages: list[Received] = []
        self.rejected: list[Received] = []
        self.delivery_errors: list[str] = []
        self._routes: dict[str, object] = {}
        self._fail_count = 0
        self._fail_reply = ""
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._controller: Controller | None = None
        self._before = None
        self._after = None

    def start(self, attempts: int = 5) -> "SmtpServer":
        last: Exception | None = None
        for _ in range(attempts):
            port = _env.free_port(self.host)
            ctl = Controller(_Handler(self), hostname=self.host, port=port,
                             ready_timeout=10, enable_SMTPUTF8=True)
            try:
                ctl.start()
            except Exception as e:       # lost the port race; try another
                last = e
                continue
            self._controller, self.port = ctl, port
            return self
        raise RuntimeError(f"aiosmtpd did not start on {self.host}: {last!r}")

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> "SmtpServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def route(self, inbox, address: str | None = None) -> "SmtpServer":
        """Deliver mail whose envelope recipient is `address` (default
        inbox.address) into `inbox` with its .deliver (public-inbox-mda)."""
        with self._lock:
            self._routes[(address or inbox.address).lower()] = inbox
        return self

    def fail_next(self, n: int = 1, reply: str = "451 4.3.0 Try again later (test)") -> None:
        """Answer the next `n` DATA commands with `reply` instead of accepting."""
        with self._lock:
            self._fail_count, self._fail_reply = n, reply

    def before_accept(self, fn) -> None:
        """fn(Received) -> None to go on, or an SMTP reply such as "550 5.7.1 no" to refuse."""
        self._before = fn

    def after_accept(self, fn) -> None:
        """fn(Received) runs after acceptance and delivery, before the 250 is sent."""
        self._after = fn

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until at least `count` messages were accepted; returns them."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.messages) >= count, timeout):
                raise TimeoutError(f"{len(self.messages)} of {count} messages after {timeout}s")
            return list(self.messages)


def sendemail_env(home, server: str, port: int | None = None, **keys: str) -> dict[str, str]:
    """os.environ for `reviewbot reply --send` with git's sendemail.* (and reviewbot.*)
    configuration given through GIT_CONFIG_*: an isolated HOME and state directory, no
    confirmation prompt unless `confirm` is given, plus any `section.key=value` in `keys`
    (write reviewbot.from as reviewbot_from)."""
    import os
    cfg = {"sendemail.smtpServer": server, "sendemail.confirm": "never",
           "reviewbot.from": "reviewbot <reviewbot@example.net>"}
    if port is not None:
        cfg["sendemail.smtpServerPort"] = str(port)
    cfg.update({k.replace("_", ".", 1): v for k, v in keys.items()})
    env = dict(os.environ, HOME=str(home), XDG_STATE_HOME=str(home) + "/state",
               GIT_CONFIG_COUNT=str(len(cfg)))
    for i, (k, v) in enumerate(cfg.items()):
        env[f"GIT_CONFIG_KEY_{i}"], env[f"GIT_CONFIG_VALUE_{i}"] = k, v
    return env
