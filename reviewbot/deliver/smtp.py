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
KEYS = ("smtpServer", "smtpServerPort", "smtpUser", "smtpPass", "smtpEncryption", "from",
        "envelopeSender", "confirm")
MULTI = ("to", "cc")                 # git send-email: may be given more than once


@dataclass
class SmtpConfig:
    server: str = "localhost"
    port: int = 0
    user: str = ""
    password: str = ""
    encryption: str = ""          # "", "ssl" (implicit TLS), "tls"/"starttls" (STARTTLS)
    sender: str = ""
    envelope_sender: str = ""     # MAIL FROM, when not the From address
    to: list = None               # extra recipients of every mail (sendemail.to)
    cc: list = None               # ... (sendemail.cc)
    confirm: str = ""             # "never": send without asking; otherwise ask first
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
        c.envelope_sender = str(get("envelopeSender", "envelope_sender") or "")
        c.confirm = str(get("confirm") or "").lower()
        listed = lambda k: [str(v) for v in (m.get(k) if isinstance(m.get(k), list)
                                             else [m[k]] if m.get(k) else [])]
        c.to, c.cc = listed("to"), listed("cc")
        c.timeout = float(get("timeout") or c.timeout)
        c.retries = int(get("retries") if get("retries") is not None else c.retries)
        c.backoff = float(get("backoff") if get("backoff") is not None else c.backoff)
        return c


def from_git_config(cwd=None) -> SmtpConfig:
    """git send-email's settings as b4 reads them (b4.get_sendemail_config: sendemail.*, or
    sendemail.<identity>.* with sendemail.identity), then reviewbot.<key> on top; sendemail.to
    and .cc may be given more than once. b4.get_smtp is not used: it connects at once,
    without a timeout, and hands recipients to a sendmail program unguarded."""
    from reviewbot.config import b4
    sendemail = b4().get_sendemail_config()
    found: dict = {}
    for k in KEYS:
        v = git_config(f"reviewbot.{k}", cwd)
        v = v if v is not None else sendemail.get(k.lower())
        if v not in (None, ""):
            found[k] = str(v)
    for k in MULTI:
        found[k] = [a.strip() for v in _git_config_all(f"sendemail.{k}", cwd)
                    for a in v.split(",") if a.strip()]
    for k in ("smtpServerPort",):
        if found.get(k) and not str(found[k]).strip().isdigit():
            raise ReviewbotError(f"git config sendemail.{k}", f"must be a port number, not "
                                 f"{found[k]!r}")
    return check(SmtpConfig.from_mapping(found), "git config sendemail.")


def check(c: SmtpConfig, where: str) -> SmtpConfig:
    """The values no server could take, refused before anything is sent or written."""
    if not 0 <= c.port <= 65535:
        raise ReviewbotError(f"{where}smtpServerPort", f"must be a port number (1-65535), "
                             f"not {c.port}")
    if c.encryption not in ("", "ssl", "tls", "starttls"):
        raise ReviewbotError(f"{where}smtpEncryption", "must be one of ssl, tls, starttls, not "
                             f"{c.encryption!r}")
    return c


def _git_config_all(key: str, cwd=None) -> list[str]:
    try:
        out = subprocess.run(["git", "config", "--get-all", key], cwd=cwd, capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return []
    return out.stdout.splitlines() if out.returncode == 0 else []


class SendError(ReviewbotError):
    """Not sent; `permanent` when the server refused it (5xx) or an address is unusable, so
    sending it again cannot help."""

    def __init__(self, subject: str, problem: str, permanent: bool = False):
        super().__init__(subject, problem)
        self.permanent = permanent


def check_addresses(mail_from: str, rcpts: list[str]) -> None:
    """Every envelope address must be a plain RFC 5322 address not starting with '-': they
    come from the world's mail and end up in a program's argv or an SMTP command."""
    from reviewbot.render.reply import is_addr_spec
    bad = [a for a in [mail_from, *rcpts] if not is_addr_spec(a)]
    if bad or not rcpts:
        raise SendError("recipients", f"not sent: not a usable address: {bad[0]!r}" if bad
                        else "not sent: no recipient", permanent=True)


def _port(cfg: SmtpConfig) -> int:
    if cfg.port:
        return cfg.port
    # git send-email: 465 for ssl, else 25; "starttls" is this tool's name for submission
    return 465 if cfg.encryption == "ssl" else 587 if cfg.encryption == "starttls" else 25


def send_once(raw: bytes, mail_from: str, rcpts: list[str], cfg: SmtpConfig) -> None:
    check_addresses(mail_from, rcpts)
    if cfg.server.startswith("/"):           # git's convention: a sendmail-like program
        # '--' ends the options: what follows is only ever read as an address
        p = subprocess.run([cfg.server, "-i", "--", *rcpts], input=raw, capture_output=True,
                           timeout=cfg.timeout)
        if p.returncode != 0:
            raise smtplib.SMTPException(p.stderr.decode(errors="replace").strip())
        return
    ctx = ssl.create_default_context()
    if cfg.encryption == "ssl":
        conn = smtplib.SMTP_SSL(cfg.server, _port(cfg), timeout=cfg.timeout, context=ctx)
    else:
        conn = smtplib.SMTP(cfg.server, _port(cfg), timeout=cfg.timeout)
    with conn:
        if cfg.encryption in ("tls", "starttls"):
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
    last, permanent = "", False
    check_addresses(mail_from, rcpts)
    for attempt in range(cfg.retries + 1):
        try:
            send_once(raw, mail_from, rcpts, cfg)
            return
        except (ssl.SSLError, ssl.CertificateError, smtplib.SMTPNotSupportedError,
                smtplib.SMTPAuthenticationError) as e:
            # TLS or authentication: trying again cannot fix it
            last, permanent = f"TLS or authentication failed: {e}", True
            break
        except smtplib.SMTPResponseException as e:
            last = f"{e.smtp_code} {_text(e.smtp_error)}"
            if 500 <= e.smtp_code < 600:
                permanent = True
                break
        except smtplib.SMTPRecipientsRefused as e:
            codes = [c for c, _ in e.recipients.values()]
            last = "; ".join(f"{a}: {c} {_text(m)}" for a, (c, m) in e.recipients.items())
            if codes and all(500 <= c < 600 for c in codes):
                permanent = True
                break
        except (OSError, smtplib.SMTPException, subprocess.SubprocessError) as e:
            last = str(e) or e.__class__.__name__
        if attempt < cfg.retries:
            delay = cfg.backoff * (2 ** attempt)
            log.warning("SMTP %s:%s failed (%s); retry in %.1fs", cfg.server, _port(cfg),
                        last, delay)
            sleep(delay)
    raise SendError(f"SMTP {cfg.server}:{_port(cfg)}", f"not sent: {last}", permanent)


def _text(v) -> str:
    return v.decode(errors="replace") if isinstance(v, bytes) else str(v)
