"""Clear errors (issue 13): SMTP settings of the wrong type or out of range, in the bot's TOML
and in git config, are one line `reviewbot: <file or option>: <problem>`, with nothing
created and nothing on stdout."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BOT = """[bot]
from = "reviewbot <reviewbot@example.net>"
state = "{state}"
outdir = "{out}"
tree = "bundled"
[[list]]
address = "linux-mm@kvack.org"
inbox = "{inbox}"
[smtp]
{smtp}
"""


def rb(*args, env=None, cwd="/"):
    return subprocess.run([sys.executable, "-m", "reviewbot", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120, env={**os.environ, **(env or {})})


def one_error(p) -> str:
    assert p.returncode == 2 and p.stdout == "" and p.stderr.count("\n") == 1, p.stderr
    assert "internal error" not in p.stderr
    return p.stderr.strip()


@pytest.mark.parametrize("smtp, problem", [
    ('smtpServerPort = "abc"', "[smtp] smtpServerPort: must be an integer, not 'abc'"),
    ("smtpServerPort = 99999999", "[smtp] smtpServerPort: must be a port number (1-65535)"),
    ("smtpEncryption = 5", "[smtp] smtpEncryption: must be a string, not 5"),
    ('smtpEncryption = "rot13"', "[smtp] smtpEncryption: must be one of ssl, tls, starttls"),
    ("smtpServer = 5", "[smtp] smtpServer: must be a string, not 5"),
    ("timeout = [1]", "[smtp] timeout: must be a number"),
    ("to = [1, 2]", "[smtp] to: must be a list of strings"),
])
def test_bot_smtp_values_of_the_wrong_type(tmp_path, smtp, problem):
    inbox = tmp_path / "inbox"
    subprocess.run(["git", "init", "-q", "--bare", str(inbox / "git" / "0.git")], check=True)
    cfg = tmp_path / "bot.toml"
    cfg.write_text(BOT.format(state=tmp_path / "state.sqlite", out=tmp_path / "out",
                              inbox=inbox, smtp=smtp))
    before = sorted(p.name for p in tmp_path.iterdir())
    err = one_error(rb("bot", "--config", str(cfg), "--once"))
    assert err == f"reviewbot: {cfg}: {problem}" or err.startswith(f"reviewbot: {cfg}: {problem}")
    assert sorted(p.name for p in tmp_path.iterdir()) == before     # no state, no outbox


@pytest.mark.parametrize("key, value, problem", [
    ("smtpServerPort", "abc", "sendemail.smtpServerPort: must be a port number, not 'abc'"),
    ("smtpServerPort", "70000", "sendemail.smtpServerPort: must be a port number (1-65535)"),
    ("smtpEncryption", "rot13", "sendemail.smtpEncryption: must be one of ssl, tls, starttls"),
])
def test_reply_send_git_config_of_the_wrong_shape(tmp_path, key, value, problem):
    log = tmp_path / "sent-log"
    env = {"GIT_CONFIG_COUNT": "2", "GIT_CONFIG_KEY_0": f"sendemail.{key}",
           "GIT_CONFIG_VALUE_0": value, "GIT_CONFIG_KEY_1": "sendemail.confirm",
           "GIT_CONFIG_VALUE_1": "never"}
    err = one_error(rb("reply", "--bundled", "--no-simulate", "--send", "--sent-log", str(log),
                       "--from", "Reviewer <reviewer@example.org>", env=env,
                       cwd=str(tmp_path)))
    assert err.startswith(f"reviewbot: git config {problem}")
    assert not log.exists() and not list(Path(tmp_path).iterdir())
