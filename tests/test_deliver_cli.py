"""`reviewbot reply`, `checklist` and `b4-check` as a user runs them, on the bundled series with
the real pipeline (offline)."""
from __future__ import annotations

import email
import email.policy
import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from support.mbox import split_mboxrd  # noqa: E402
from test_render_reply import own_lines  # noqa: E402

from reviewbot import corpus

REPO = Path(__file__).resolve().parents[1]
SENDER = "reviewbot <reviewbot@example.net>"


def rb(*args, stdin: bytes | None = None, cwd=REPO, env=None):
    return subprocess.run([sys.executable, "-m", "reviewbot", *args], cwd=cwd, input=stdin,
                          capture_output=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def bundled_replies(tmp_path_factory):
    out = tmp_path_factory.mktemp("eml")
    p = rb("reply", "--bundled", "--from", SENDER, "--list", "linux-mm@kvack.org",
           "--outdir", str(out))
    assert p.returncode == 0, p.stderr.decode()
    return [email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
            for f in sorted(out.glob("*.eml"))]


def test_reply_writes_one_eml_per_patch_with_findings(bundled_replies):
    thread = {}
    for raw in split_mboxrd(corpus.thread_path("cow").read_bytes()):
        m = email.message_from_bytes(raw, policy=email.policy.default)
        thread[m["Message-ID"]] = m
    assert bundled_replies
    for r in bundled_replies:
        parent = thread[r["In-Reply-To"]]
        assert "v2" in parent["Subject"], "the newest revision is the one answered"
        assert r["Subject"] == "Re: " + parent["Subject"]
        assert r["References"].split()[-1] == r["In-Reply-To"]
        body = r.get_content()
        assert all(len(l) <= 72 for l in own_lines(body))
        assert "reviewbot review --bundled cow" in body
        assert "\n-- \n" in body and "?" in body
        cc = r["Cc"].lower()
        assert "linux-mm@kvack.org" in cc and "reviewbot@example.net" not in cc


def test_reply_prints_an_mbox_without_outdir():
    p = rb("reply", "--bundled", "--from", SENDER)
    assert p.returncode == 0, p.stderr.decode()
    msgs = split_mboxrd(p.stdout)
    assert msgs and all(b"\nIn-Reply-To: <" in m for m in msgs)


def test_checklist_markdown_and_html():
    md = rb("checklist", "--bundled")
    assert md.returncode == 0, md.stderr.decode()
    text = md.stdout.decode()
    assert text.startswith("# Review checklist:") and "- [ ] **field-init**" in text
    assert "do_fault_around()" in text and "New member `cow_page`" in text
    html = rb("checklist", "--bundled", "--html").stdout.decode()
    assert html.startswith("<!DOCTYPE html>") and html.count('type="checkbox"') == text.count("- [ ]")


def test_b4_check_json_for_a_patch_and_empty_for_discussion(tmp_path):
    tree = tmp_path / "tree"
    corpus.build_tree_repo(tree)
    msgs = split_mboxrd(corpus.thread_path("cow").read_bytes())
    patch1 = next(m for m in msgs if b"Subject: [PATCH v2 1/2]" in m)
    p = rb("b4-check", "--no-simulate", stdin=patch1, cwd=tree,
           env=None)
    assert p.returncode == 0, p.stderr.decode()
    res = json.loads(p.stdout)
    assert res and all(set(r) == {"tool", "status", "summary", "url", "details"} for r in res)
    assert {r["status"] for r in res} <= {"pass", "warn", "fail"}
    assert "reviewbot/field-init" in {r["tool"] for r in res}
    talk = next(m for m in split_mboxrd(corpus.thread_path("no-patch").read_bytes()))
    p = rb("b4-check", stdin=talk, cwd=tree)
    assert p.returncode == 0 and json.loads(p.stdout) == []
    p = rb("b4-check", stdin=b"", cwd=tree)
    assert p.returncode == 2 and p.stderr.decode().count("\n") == 1


def test_reply_send_uses_git_sendemail_config(smtp_server, bundled_replies, tmp_path):
    from support.smtp import sendemail_env
    env = sendemail_env(tmp_path, smtp_server.host, smtp_server.port,
                        reviewbot_from=SENDER)
    p = rb("reply", "--bundled", "--list", "linux-mm@kvack.org", "--send", env=env)
    assert p.returncode == 0, p.stderr.decode()
    got = [r.message() for r in smtp_server.messages]
    assert [m["Message-ID"] for m in got] == [m["Message-ID"] for m in bundled_replies]
    for r in smtp_server.messages:
        assert r.mail_from == "reviewbot@example.net"
        assert "willa@example.org" in r.rcpt_tos and "linux-mm@kvack.org" in r.rcpt_tos


def test_reply_send_follows_git_send_email_keys(smtp_server, tmp_path):
    from support.smtp import sendemail_env
    env = sendemail_env(tmp_path, smtp_server.host, smtp_server.port,
                        sendemail_envelopeSender="bounces@example.net",
                        sendemail_to="archive@example.net", sendemail_cc="me@example.net")
    p = rb("reply", "--bundled", "--send", env=env)     # no --list: warned about
    assert p.returncode == 0, p.stderr.decode()
    assert "warning: no mailing list among the recipients" in p.stderr.decode()
    assert smtp_server.messages
    for r in smtp_server.messages:
        assert r.mail_from == "bounces@example.net"
        assert {"archive@example.net", "me@example.net"} <= set(r.rcpt_tos)
        m = r.message()
        assert "archive@example.net" in m["To"] and "me@example.net" in m["Cc"]


def test_reply_send_asks_first_unless_confirm_never(smtp_server, tmp_path):
    from support.smtp import sendemail_env
    env = sendemail_env(tmp_path, smtp_server.host, smtp_server.port, sendemail_confirm="auto")
    p = rb("reply", "--bundled", "--list", "linux-mm@kvack.org", "--send", env=env)
    err = p.stderr.decode()
    assert p.returncode == 2 and err.count("\n") == 1
    assert err.startswith("reviewbot: sendemail.confirm: cannot ask before sending")
    assert not smtp_server.messages


def test_smtp_encryption_tls_means_starttls_and_is_not_retried(smtp_server, tmp_path):
    from support.smtp import sendemail_env
    env = sendemail_env(tmp_path, smtp_server.host, smtp_server.port,
                        sendemail_smtpEncryption="tls")
    p = rb("reply", "--bundled", "--list", "linux-mm@kvack.org", "--send", env=env)
    err = p.stderr.decode()
    assert p.returncode == 2 and "TLS or authentication failed" in err and "STARTTLS" in err
    assert "retry in" not in err and not smtp_server.messages
