"""pytest fixtures that run reviewbot's tests against REAL components.

Nothing is mocked: public-inbox (v2 inbox, public-inbox-mda, public-inbox-httpd),
b4 (the console script from the venv), aiosmtpd, git, Coccinelle.  All servers
listen on 127.0.0.1 only, on free ports, and are stopped by the fixtures.
`bash .ci/setup` installs everything; `bash .ci/test` runs the suite.

Missing components: with REVIEWBOT_REQUIRE_COMPONENTS=1 (set by .ci/test when
CI is set) a fixture whose component is missing FAILS the test; otherwise it
skips with a message saying to run `bash .ci/setup`.

Fixtures
--------
kernel_tree (session) -> pathlib.Path
    The cached Debian linux-source-6.1 6.1.192-2 tree (full, ~78.6k files), a
    git repo whose HEAD is support.kernel.KERNEL_COMMIT.  From REVIEWBOT_KERNEL
    (exported by .ci/test), else ${REVIEWBOT_CACHE:-~/.cache/reviewbot}/
    linux-source-6.1.192-2.  READ-ONLY: clone it (`git clone --shared -n`) or
    use a temporary index to change anything; the session fails at teardown if
    HEAD moved.

public_inbox_factory (session) -> callable
    make(*mboxes, name="linux-mm", address="linux-mm@kvack.org") -> PublicInbox
    creates a v2 inbox in a fresh tmp dir, bulk-imports the given mboxrd files
    (paths or bytes), starts public-inbox-httpd; every inbox made is stopped
    at the end of the session.

public_inbox (function) -> PublicInbox
    A fresh, empty, served `linux-mm` inbox (linux-mm@kvack.org) for one test;
    stopped after it.  Seed with .import_mbox(path_or_bytes, ...).

threads_inbox (session) -> PublicInbox
    One served inbox seeded with every ../shared/threads/*.mbox.  Shared by
    the whole session: read from it, do not deliver into it.

PublicInbox (tests/support/pi.py) attributes:
    .url            http://127.0.0.1:PORT/linux-mm/
    .midmask        http://127.0.0.1:PORT/linux-mm/%s   (for b4.midmask)
    .name .address .port .pid .root
    .inbox_dir      the v2 inbox dir; .epoch_git = inbox_dir/git/0.git (what a bot follows)
    .pi_env         os.environ + PI_DIR/PI_CONFIG/PI_EMERGENCY (for public-inbox-* commands)
    .env            ONLY the variables pointing b4 at it: GIT_CONFIG_COUNT/KEY_n/VALUE_n
                    for b4.midmask, b4.linkmask, b4.cache-expire=0; HOME/XDG_* isolated
                    under .root/home; NO_PROXY.  Merge into os.environ (or use b4_env).
    .import_mbox(*paths_or_bytes) -> int     bulk import (V2Writable), returns # new
    .deliver(raw, recipient=None, check=True) real public-inbox-mda, ORIGINAL_RECIPIENT
                    = .address; the message needs To/Cc with the list, Subject, Date,
                    From, Message-ID, or it lands in the emergency Maildir
    .emergency_is_empty() / .emergency_messages()
    .thread(msgid) -> [EmailMessage]   GET <msgid>/t.mbox.gz (urllib); [] if unknown
    .thread_msgids(msgid) -> set[str]  .thread_mbox(msgid) -> bytes   .raw(msgid) -> bytes|None
    .start() / .stop()      stop sends SIGTERM to the pid public-inbox-httpd wrote (-P)

smtp_server (function) -> SmtpServer (tests/support/smtp.py)
    aiosmtpd Controller in this process on 127.0.0.1:free port.
    .host .port
    .messages       accepted: Received(mail_from, rcpt_tos, wire, data, message(), delivered_to)
    .rejected       refused transactions; .delivery_errors  mda output on failures
    .route(inbox, address=None)   deliver mail for inbox.address into it (inside DATA)
    .fail_next(n=1, reply="451 4.3.0 ...")   refuse the next n DATA commands
    .wait_for(count, timeout=10)

b4_env (function) -> callable
    b4_env(inbox, home=None) -> dict: full env for subprocess.run of b4/git/reviewbot,
    with HOME under this test's tmp_path unless `home` is given, plus a git identity.
    support.b4.run_b4(args, inbox, cwd=..., home=...) runs .venv/bin/b4 and checks rc.

shared_threads (session) -> Path of ../shared/threads (the real linux-mm mbox files).
    One file: support.env.shared_thread(name).  A fresh clone has no ../shared: tests
    needing it skip with the reason (fail under REVIEWBOT_REQUIRE_COMPONENTS=1, as CI has
    it); each has a twin on the bundled corpus that always runs.

Helpers: support.mbox.write_mboxrd(path, messages), split_mboxrd(bytes),
read_mboxrd(path), threads(messages) (message-id groups as public-inbox threads them).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import env as _env  # noqa: E402
from support import kernel as _kernel  # noqa: E402
from support.b4 import b4_env as _b4_env  # noqa: E402
from support.pi import PublicInbox  # noqa: E402
from support.smtp import SmtpServer  # noqa: E402


# ---- kernel tree ------------------------------------------------------------
@pytest.fixture(scope="session")
def kernel_tree() -> Path:
    path = _kernel.kernel_path()
    if not _kernel.is_complete(path):
        _env.missing(f"the cached kernel tree {path}",
                     "run `bash .ci/setup` (or `bash .ci/kernel-tree`) to build it")
    before = _kernel.head(path)
    yield path
    after = _kernel.head(path)
    if after != before:
        pytest.fail(f"a test moved HEAD of the shared kernel tree {path} from {before} to "
                    f"{after}; tests must not commit into it (clone it or use a temp index). "
                    f"Rebuild with: rm -rf {path} && bash .ci/kernel-tree", pytrace=False)


# ---- public-inbox -------------------------------------------------------------
def _check_pi() -> None:
    for cmd in ("public-inbox-init", "public-inbox-httpd", "public-inbox-mda"):
        _env.require_command(cmd, "public-inbox")
    _env.require_command("perl")


@pytest.fixture(scope="session")
def public_inbox_factory(tmp_path_factory):
    made: list[PublicInbox] = []

    def make(*mboxes, name: str = "linux-mm", address: str = "linux-mm@kvack.org") -> PublicInbox:
        _check_pi()
        ibx = PublicInbox(tmp_path_factory.mktemp(f"pi-{name}"), name, address)
        made.append(ibx)
        ibx.create()
        if mboxes:
            ibx.import_mbox(*mboxes)
        return ibx.start()

    yield make
    for ibx in made:
        ibx.stop()


@pytest.fixture
def public_inbox(tmp_path_factory):
    _check_pi()
    ibx = PublicInbox(tmp_path_factory.mktemp("pi-linux-mm"))
    try:
        ibx.create()
        yield ibx.start()
    finally:
        ibx.stop()


@pytest.fixture(scope="session")
def shared_threads() -> Path:
    d = _env.SHARED / "threads"
    if not any(d.glob("*.mbox")):
        _env.missing(f"the shared linux-mm threads ({d})",
                     "the repo expects shared/ beside it (or set REVIEWBOT_SHARED)")
    return d


@pytest.fixture(scope="session")
def threads_inbox(public_inbox_factory, shared_threads) -> PublicInbox:
    return public_inbox_factory(*sorted(shared_threads.glob("*.mbox")))


# ---- SMTP -------------------------------------------------------------------------
@pytest.fixture
def smtp_server():
    srv = SmtpServer().start()
    try:
        yield srv
    finally:
        srv.stop()


# ---- b4 -----------------------------------------------------------------------------
@pytest.fixture
def b4_env(tmp_path):
    def make(inbox, home=None) -> dict:
        _env.require_command("b4")
        return _b4_env(inbox, home if home is not None else tmp_path / "b4-home")

    return make
