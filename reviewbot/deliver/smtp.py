"""Sending mail the way `git send-email` does (sendemail.* keys, reviewbot.* overrides), with
retries and backoff; a failure raises and nothing is reported as sent."""
from __future__ import annotations

import logging
import smtplib
import ssl
import subprocess
import time
from dataclasses import dataclass

from reviewbot.config import git_config
from reviewbot.errors import ReviewbotError

log = logging.getLogger("reviewbot.smtp")
KEYS = ("smtpServer", "smtpServerPort", "smtpUser", "smtpPass", "smtpEncryption", "from")


@dataclass
class SmtpConfig:
    server: str = "localhost"
    port: int = 0
    user: str = ""
    password: str = ""
    encryption: str = ""          # "", "ssl"/"tls" (implicit TLS), "starttls"
    sender: str = ""
    timeout: float = 30.0
    retries: int = 4
    backoff: float = 1.0

    @classmethod
    def from_mapping(cls, m: dict) -> "SmtpConfig":
        """From a dict using git's key names (smtpServer, ...) or this class's field names."""
        get = lambda *ks: next((m[k] for k in ks if m.get(k) not in (None, "")), None)
        c = cls()
        c.server = str(get("smtpServer", "server") or c.server)
        c.port = int(get("smtpServerPort", "port") or 0)
        c.user = str(get("smtpUser", "user") or "")
        c.password = str(get("smtpPass", "password", "pass") or "")
        c.encryption = str(get("smtpEncryption", "encryption") or "").lower()
        c.sender = str(get("from", "sender") or "")
        c.timeout = float(get("timeout") or c.timeout)
        c.retries = int(get("retries") if get("retries") is not None else c.retries)
        c.backoff = float(get("backoff") if get("backoff") is not None else c.backoff)
        return c


def from_git_config(cwd=None) -> SmtpConfig:
    """sendemail.<key>, then reviewbot.<key> on top (git config precedence as usual)."""
    found = {}
    for k in KEYS:
        for section in ("sendemail", "reviewbot"):
            v = git_config(f"{section}.{k}", cwd)
            if v is not None:
                found[k] = v
    return SmtpConfig.from_mapping(found)


class SendError(ReviewbotError):
    pass


def _port(cfg: SmtpConfig) -> int:
    if cfg.port:
        return cfg.port
    return 465 if cfg.encryption in ("ssl", "tls") else 587 if cfg.encryption == "starttls" \
        else 25


def send_once(raw: bytes, mail_from: str, rcpts: list[str], cfg: SmtpConfig) -> None:
    if cfg.server.startswith("/"):           # git's convention: a sendmail-like program
        p = subprocess.run([cfg.server, "-i", *rcpts], input=raw, capture_output=True,
                           timeout=cfg.timeout)
        if p.returncode != 0:
            raise smtplib.SMTPException(p.stderr.decode(errors="replace").strip())
        return
    ctx = ssl.create_default_context()
    if cfg.encryption in ("ssl", "tls"):
        conn = smtplib.SMTP_SSL(cfg.server, _port(cfg), timeout=cfg.timeout, context=ctx)
    else:
        conn = smtplib.SMTP(cfg.server, _port(cfg), timeout=cfg.timeout)
    with conn:
        if cfg.encryption == "starttls":
            conn.starttls(context=ctx)
        if cfg.user:
            conn.login(cfg.user, cfg.password)
        # smtplib sends bytes as they are: SMTP needs CRLF line ends
        wire = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        refused = conn.sendmail(mail_from, rcpts, wire)
        if refused:
            log.warning("recipients refused: %s", ", ".join(sorted(refused)))


def send(raw: bytes, mail_from: str, rcpts: list[str], cfg: SmtpConfig,
         sleep=time.sleep) -> None:
    """Deliver or raise SendError after the retries; a 5xx other than a refused connection
    is permanent and not retried."""
    last = ""
    for attempt in range(cfg.retries + 1):
        try:
            send_once(raw, mail_from, rcpts, cfg)
            return
        except smtplib.SMTPResponseException as e:
            last = f"{e.smtp_code} {e.smtp_error!r}"
            if 500 <= e.smtp_code < 600:
                break
        except (OSError, smtplib.SMTPException, subprocess.SubprocessError) as e:
            last = str(e) or e.__class__.__name__
        if attempt < cfg.retries:
            delay = cfg.backoff * (2 ** attempt)
            log.warning("SMTP %s:%s failed (%s); retry in %.1fs", cfg.server, _port(cfg),
                        last, delay)
            sleep(delay)
    raise SendError(f"SMTP {cfg.server}:{_port(cfg)}", f"not sent: {last}")
