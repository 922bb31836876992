"""A real public-inbox v2 inbox, served by public-inbox-httpd on 127.0.0.1.

    ibx = PublicInbox(tmpdir, name="linux-mm", address="linux-mm@kvack.org")
    ibx.create()                      # public-inbox-init -V2 -L full, spamcheck none
    ibx.import_mbox(path, ...)        # bulk import (tests/support/pi-import.pl, V2Writable)
    ibx.start()                       # public-inbox-httpd -D -P pid -W0 -l http://127.0.0.1:PORT
    ibx.deliver(raw_bytes)            # real public-inbox-mda, ORIGINAL_RECIPIENT=address
    ibx.thread(msgid)                 # GET .../<msgid>/t.mbox.gz -> [EmailMessage]
    ibx.stop()                        # SIGTERM to the pid from -P, wait, SIGKILL if needed

Everything (config, inbox, emergency Maildir, logs, b4 home) lives under the
given directory; nothing is written to ~/.public-inbox.  PI_DIR, PI_CONFIG and
PI_EMERGENCY are passed to each public-inbox command, not set in os.environ.

public-inbox-mda refuses (exit 0, mail put in the emergency Maildir) a message
without To/Cc naming the list address, Subject, Date, From or a Message-ID, and
a duplicate Message-ID (prints "CONFLICT").  Check `emergency_is_empty()`.
The bulk import has none of these checks, so header-trimmed archive copies
(shared/threads) import fine.
"""
from __future__ import annotations

import gzip
import os
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage
from pathlib import Path
from typing import Iterable

from . import env as _env
from .mbox import as_bytes, msgid as _msgid, parse, split_mboxrd

IMPORT_SCRIPT = _env.SUPPORT / "pi-import.pl"
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_MID_SAFE = "@.-~!$&'()*+,;=:_"


def quote_mid(mid: str) -> str:
    return urllib.parse.quote(mid.strip().strip("<>"), safe=_MID_SAFE)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


class PublicInbox:
    def __init__(self, root: str | Path, name: str = "linux-mm",
                 address: str = "linux-mm@kvack.org"):
        self.root = Path(root).resolve()
        self.name = name
        self.address = address
        self.pi_dir = self.root / "pi"
        self.pi_config = self.pi_dir / "config"
        self.emergency = self.root / "emergency"
        self.inbox_dir = self.pi_dir / name
        self.home = self.root / "home"          # HOME/XDG_* for b4 in .env
        self.pidfile = self.root / "httpd.pid"
        self.port: int | None = None
        self.pid: int | None = None

    # ---- environment -------------------------------------------------------
    @property
    def pi_env(self) -> dict[str, str]:
        """os.environ plus PI_DIR/PI_CONFIG/PI_EMERGENCY for public-inbox commands."""
        return dict(os.environ, PI_DIR=str(self.pi_dir), PI_CONFIG=str(self.pi_config),
                    PI_EMERGENCY=str(self.emergency))

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("inbox is not being served; call start()")
        return f"http://127.0.0.1:{self.port}/{self.name}/"

    @property
    def midmask(self) -> str:
        return self.url + "%s"

    @property
    def epoch_git(self) -> Path:
        """The v2 epoch repository a follower bot can watch (new mail = new commit)."""
        return self.inbox_dir / "git" / "0.git"

    @property
    def env(self) -> dict[str, str]:
        """Variables (only these; merge into os.environ) that point b4 at this
        inbox: b4.midmask, b4.linkmask, b4.cache-expire=0 through git's
        environment config, and an isolated HOME/XDG_* so no user cache or
        ~/.gitconfig leaks in.  tests/support/b4.py:b4_env() makes a full env."""
        home = self.home
        return {
            "HOME": str(home),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "GIT_CONFIG_COUNT": "3",
            "GIT_CONFIG_KEY_0": "b4.midmask",
            "GIT_CONFIG_VALUE_0": self.midmask,
            "GIT_CONFIG_KEY_1": "b4.linkmask",
            "GIT_CONFIG_VALUE_1": self.midmask,
            "GIT_CONFIG_KEY_2": "b4.cache-expire",
            "GIT_CONFIG_VALUE_2": "0",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }

    def _run(self, cmd: list[str], *, input: bytes | None = None, extra_env: dict | None = None,
             check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        env = self.pi_env
        if extra_env:
            env.update(extra_env)
        p = subprocess.run(cmd, input=input, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout,
                           stdin=None if input is not None else subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise RuntimeError(f"{cmd[0]} exited {p.returncode}: {p.stdout.decode(errors='replace')}")
        return p

    # ---- lifecycle ---------------------------------------------------------
    def create(self) -> "PublicInbox":
        _env.require_command("public-inbox-init", "public-inbox")
        self.pi_dir.mkdir(parents=True, exist_ok=True)
        self.home.mkdir(parents=True, exist_ok=True)
        url = f"http://127.0.0.1/{self.name}/"     # rewritten with the port by start()
        self._run(["public-inbox-init", "-V2", "-L", "full", self.name, str(self.inbox_dir),
                   url, self.address])
        self._run(["git", "config", "-f", str(self.pi_config), "publicinboxmda.spamcheck", "none"])
        return self

    def start(self, attempts: int = 5, timeout: float = 20.0) -> "PublicInbox":
        httpd = _env.require_command("public-inbox-httpd", "public-inbox")
        if not self.pi_config.exists():
            self.create()
        last = ""
        for _ in range(attempts):
            port = _env.free_port()
            self._run(["git", "config", "-f", str(self.pi_config),
                       f"publicinbox.{self.name}.url", f"http://127.0.0.1:{port}/{self.name}/"])
            out, err = self.root / "httpd.out", self.root / "httpd.err"
            self.pidfile.unlink(missing_ok=True)
            # -D daemonizes and -P records the daemon's own pid; with -D every path
            # must be absolute.  Never a pipe for its output: the daemon would hold it.
            with open(self.root / "httpd.start", "wb") as log:
                rc = subprocess.run(
                    [httpd, "-D", "-P", str(self.pidfile), "-W0",
                     "-l", f"http://127.0.0.1:{port}", "-1", str(out), "-2", str(err)],
                    env=self.pi_env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                    timeout=60).returncode
            last = (self.root / "httpd.start").read_text(errors="replace")
            if rc != 0:
                continue                      # most likely lost the port race; try another
            self.port = port
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.pid is None and self.pidfile.exists():
                    txt = self.pidfile.read_text().strip()
                    self.pid = int(txt) if txt.isdigit() else None
                if self.pid is not None and self._get(self.url, timeout=2, probe=True) is not None:
                    return self
                time.sleep(0.05)
            self.stop()
            last += err.read_text(errors="replace") if err.exists() else ""
        raise RuntimeError(f"public-inbox-httpd did not come up: {last}")

    def stop(self, timeout: float = 10.0) -> None:
        pid = self.pid
        if pid is None and self.pidfile.exists():
            txt = self.pidfile.read_text().strip()
            pid = int(txt) if txt.isdigit() else None
        self.pid = None
        if pid is None or not _alive(pid):
            return
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            return
        if b"public-inbox-httpd" not in cmdline:
            return                                   # pid reused by something else
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)

    def __enter__(self) -> "PublicInbox":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- mail in -----------------------------------------------------------
    def import_mbox(self, *sources: str | Path | bytes) -> int:
        """Bulk-import mboxrd files (paths) or mboxrd bytes; returns how many were new."""
        if not self.pi_config.exists():
            self.create()
        files, tmps = [], []
        for s in sources:
            if isinstance(s, bytes):
                fd, name = tempfile.mkstemp(suffix=".mbox", dir=self.root)
                with os.fdopen(fd, "wb") as f:
                    f.write(s)
                tmps.append(name)
                files.append(name)
            else:
                files.append(str(Path(s).resolve()))
        try:
            p = self._run(["perl", str(IMPORT_SCRIPT), self.name, *files])
        finally:
            for t in tmps:
                os.unlink(t)
        words = p.stdout.decode().split()        # "imported N of M"
        return int(words[words.index("imported") + 1])

    def deliver(self, raw: bytes | str | EmailMessage, recipient: str | None = None,
                check: bool = True) -> subprocess.CompletedProcess:
        """Deliver one message with the real public-inbox-mda (about 0.3 s).
        Raises if mda exits non-zero and check is true.  A refused or duplicate
        message still exits 0 but lands in the emergency Maildir."""
        _env.require_command("public-inbox-mda", "public-inbox")
        data = as_bytes(raw).replace(b"\r\n", b"\n")
        return self._run(["public-inbox-mda"], input=data, check=check,
                         extra_env={"ORIGINAL_RECIPIENT": recipient or self.address})

    def emergency_messages(self) -> list[bytes]:
        out = []
        for sub in ("new", "cur"):
            d = self.emergency / sub
            if d.is_dir():
                out += [p.read_bytes() for p in sorted(d.iterdir()) if p.is_file()]
        return out

    def emergency_is_empty(self) -> bool:
        return not self.emergency_messages()

    # ---- mail out (HTTP) ---------------------------------------------------
    def _get(self, url: str, timeout: float = 30, probe: bool = False) -> bytes | None:
        """GET url (no proxies); None on 404 (and, when probing, on connection errors)."""
        try:
            with _NO_PROXY.open(url, timeout=timeout) as r:
                return r.read()
        except urllib.error.HTTPError as e:
            if probe:
                return b""                   # it answers: serving (an empty inbox is a 404)
            if e.code == 404:
                return None
            raise
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if probe:
                return None
            raise

    def thread_mbox(self, mid: str) -> bytes:
        """The whole thread of `mid` as mboxrd bytes (b'' if unknown)."""
        gz = self._get(self.url + quote_mid(mid) + "/t.mbox.gz")
        return gzip.decompress(gz) if gz else b""

    def thread(self, mid: str) -> list[EmailMessage]:
        """The messages of the thread containing `mid`, as served by httpd."""
        return [parse(r) for r in split_mboxrd(self.thread_mbox(mid))]

    def thread_msgids(self, mid: str) -> set[str]:
        return {_msgid(m) for m in self.thread(mid)}

    def raw(self, mid: str) -> bytes | None:
        """One message as stored (GET .../<msgid>/raw), or None."""
        return self._get(self.url + quote_mid(mid) + "/raw")


def import_and_serve(root: Path, mboxes: Iterable[str | Path | bytes] = (),
                     name: str = "linux-mm", address: str = "linux-mm@kvack.org") -> PublicInbox:
    ibx = PublicInbox(root, name, address).create()
    mboxes = list(mboxes)
    if mboxes:
        ibx.import_mbox(*mboxes)
    return ibx.start()
