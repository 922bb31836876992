"""Fetching through b4 from a real public-inbox served on 127.0.0.1, and every kind of bad
input: one line naming the input and the problem, exit status 2, nothing written."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pytest

from reviewbot import corpus

COW_MID = "20150112101500.4107-0-willa@example.org"
COW_P1 = "20150112101500.4107-1-willa@example.org"
SHARED_MID = "1411677218-29146-5-git-send-email-matthew.r.wilcox@intel.com"


def reviewbot(*args, env=None, cwd="/"):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "reviewbot", *args], capture_output=True,
                          text=True, cwd=cwd, env=e, timeout=300)


@pytest.fixture(scope="module")
def corpus_inbox(public_inbox_factory):
    return public_inbox_factory(*sorted(corpus.THREADS.glob("*.mbox")))


@pytest.fixture(scope="module")
def corpus_tree(tmp_path_factory):
    d = tmp_path_factory.mktemp("ctree") / "tree"
    corpus.build_tree_repo(d)
    return d


def test_fetch_by_msgid_through_inbox_option(corpus_inbox, corpus_tree, tmp_path):
    r = reviewbot("review", COW_P1, "--inbox", corpus_inbox.url, "--tree", str(corpus_tree),
                  "--no-simulate", env={"HOME": str(tmp_path)})
    assert r.returncode == 1, r.stderr
    assert "[v2] mm: allow page fault handlers to perform the COW" in r.stdout
    assert "WARNING:FIELD_INIT:" in r.stdout


def test_fetch_by_url_and_by_b4_midmask(corpus_inbox, corpus_tree, tmp_path):
    url = corpus_inbox.url + COW_MID + "/"
    by_url = reviewbot("review", url, "--tree", str(corpus_tree), "--format", "json",
                       "--no-simulate", env={"HOME": str(tmp_path)})
    env = dict(corpus_inbox.env)
    by_mask = reviewbot("review", f"<{COW_MID}>", "--tree", str(corpus_tree), "--format", "json",
                        "--no-simulate", env=env)
    assert by_url.returncode == 1 and by_mask.returncode == 1, by_url.stderr + by_mask.stderr
    assert by_url.stdout == by_mask.stdout, (by_url.stderr, by_mask.stderr)


def test_real_thread_through_inbox(threads_inbox, tmp_path):
    r = reviewbot("review", SHARED_MID, "--inbox", threads_inbox.url, "--format", "json",
                  env={"HOME": str(tmp_path)}, cwd=str(tmp_path))
    assert r.returncode == 1, r.stderr
    assert "VM_FAULT_LOCKED:change" in r.stdout


def test_unknown_msgid_is_one_line_error(corpus_inbox, tmp_path):
    r = reviewbot("review", "no-such-message@example.org", "--inbox", corpus_inbox.url,
                  env={"HOME": str(tmp_path)})
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "no-such-message@example.org" in r.stderr
    assert "not found" in r.stderr


# ---- bad input ----------------------------------------------------------------------------

def _mail(body: str, subject="[PATCH] mm: something", mid="bad@example.org", extra="") -> bytes:
    return (f"From x@y Mon Sep 17 00:00:00 2001\nFrom: A <a@example.org>\nTo: linux-mm@kvack.org\n"
            f"Subject: {subject}\nDate: Mon, 5 Jan 2015 10:00:00 +0000\nMessage-ID: <{mid}>\n"
            f"{extra}\n{body}").encode("utf-8", "surrogateescape")


DIFF = ("Fix it.\n\nSigned-off-by: A <a@example.org>\n---\n"
        "diff --git a/mm/memory.c b/mm/memory.c\n--- a/mm/memory.c\n+++ b/mm/memory.c\n"
        "@@ -1,3 +1,4 @@\n /* x */\n+int added;\n a\n b\n")


def bad(tmp_path, raw: bytes, *extra):
    p = tmp_path / "in.mbox"
    p.write_bytes(raw)
    before = sorted(os.listdir(tmp_path))
    r = reviewbot("review", "--mbox", str(p), *extra, cwd=str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == before, "a file was written"
    return r


def assert_one_line(r, *words):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stdout == ""
    assert r.stderr.startswith("reviewbot: ") and r.stderr.count("\n") == 1, r.stderr
    for w in words:
        assert w in r.stderr, r.stderr


def test_thread_with_no_patch(tmp_path):
    r = bad(tmp_path, corpus.thread_path("no-patch").read_bytes())
    assert_one_line(r, "no patch")


def test_mangled_mail(tmp_path):
    assert_one_line(bad(tmp_path, b"\x00\xff garbage \x00 not mail at all\n"), "in.mbox")


def test_empty_mailbox(tmp_path):
    assert_one_line(bad(tmp_path, b""), "empty")


def test_diff_that_does_not_parse(tmp_path):
    broken = DIFF.replace("@@ -1,3 +1,4 @@", "@@ -1,30 +1,40 @@")
    assert_one_line(bad(tmp_path, _mail(broken)), "bad@example.org", "does not parse")


def test_path_escaping_the_tree(tmp_path):
    esc = DIFF.replace("a/mm/memory.c", "a/../../etc/passwd").replace("b/mm/memory.c",
                                                                      "b/../../etc/passwd")
    assert_one_line(bad(tmp_path, _mail(esc)), "escapes the tree")


def test_binary_diff(tmp_path):
    binary = ("Add a blob.\n---\ndiff --git a/fw.bin b/fw.bin\nnew file mode 100644\n"
              "index 0000000..1111111\nGIT binary patch\nliteral 4\nLcmZ?d00001\n\n"
              "literal 0\nHcmV?d00001\n\n")
    assert_one_line(bad(tmp_path, _mail(binary)), "binary")


def test_rename(tmp_path):
    ren = ("Move it.\n---\ndiff --git a/mm/a.c b/mm/b.c\nsimilarity index 90%\n"
           "rename from mm/a.c\nrename to mm/b.c\n--- a/mm/a.c\n+++ b/mm/b.c\n"
           "@@ -1,3 +1,3 @@\n x\n-y\n+z\n w\n")
    assert_one_line(bad(tmp_path, _mail(ren)), "rename")


# a patch adding a struct member: its `+` line comes back as the finding's `code`, which shows
# what the body decoded to (no tree: an info finding, so this reads diff-only mode)
MEMBER = "\tint added;\t/* = 1 when caf\u00e9 */"
MEMBER_DIFF = ("Add a member.\n\nSigned-off-by: A <a@example.org>\n---\n"
               "diff --git a/mm/memory.c b/mm/memory.c\n--- a/mm/memory.c\n+++ b/mm/memory.c\n"
               "@@ -1,3 +1,4 @@\n struct zap_details {\n+" + MEMBER + "\n \tint a;\n \tint b;\n")


def decoded_member_line(tmp_path, raw: bytes) -> str:
    r = bad(tmp_path, raw, "--no-tree", "--format", "json")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    [f] = json.loads(r.stdout)["findings"]
    assert f["details"] == {"member": "added", "struct": "zap_details"}
    return f["code"]


def test_base64_and_quoted_printable_bodies_are_decoded(tmp_path):
    import quopri
    qp = quopri.encodestring(MEMBER_DIFF.encode()).decode()
    assert "=3D" in qp and "=C3=A9" in qp
    raw = _mail(qp, extra="MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
                          "Content-Transfer-Encoding: quoted-printable\n")
    assert decoded_member_line(tmp_path, raw) == "+" + MEMBER
    b64 = base64.encodebytes(MEMBER_DIFF.encode()).decode()
    raw = _mail(b64, mid="b64@example.org",
                extra="MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
                      "Content-Transfer-Encoding: base64\n")
    assert decoded_member_line(tmp_path, raw) == "+" + MEMBER


def test_non_utf8_mail(tmp_path):
    # declared utf-8, carries a latin-1 byte: the body is decoded with replacement, not refused
    raw = _mail(MEMBER_DIFF.encode("latin-1").decode("utf-8", "surrogateescape"),
                extra="Content-Type: text/plain; charset=utf-8\n")
    assert decoded_member_line(tmp_path, raw) == "+" + MEMBER.replace("\u00e9", "\ufffd")


def test_series_with_a_missing_patch_against_a_tree(tmp_path, corpus_tree):
    import json
    msgs = corpus.thread_path("cow-missing-init").read_bytes().split(b"\nFrom ")
    raw = b"\nFrom ".join(m for m in msgs if b"Subject: [PATCH 2/2]" not in m)
    r = bad(tmp_path, raw, "--tree", str(corpus_tree), "--format", "json", "--no-simulate")
    assert r.returncode == 1, r.stderr
    rep = json.loads(r.stdout)
    assert rep["series"]["mode"] == "tree" and rep["series"]["applied"] == "exact"
    assert any("missing patch 2/2" in s["reason"] for s in rep["skipped"]
               if s["check"] == "series")
    assert "do_page_mkwrite" in {f["function"] for f in rep["findings"]}


def test_tree_that_is_not_a_git_repo(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    r = bad(tmp_path, corpus.thread_path("cow").read_bytes(), "--tree", str(plain))
    assert_one_line(r, "not a git repository")


def test_missing_tree(tmp_path):
    r = bad(tmp_path, corpus.thread_path("cow").read_bytes(), "--tree", str(tmp_path / "nope"))
    assert_one_line(r, "no such tree")


def test_series_needing_fuzz_is_applied_with_fuzz(tmp_path, corpus_tree):
    raw = corpus.thread_path("cow").read_bytes().replace(
        b" \tvmf.flags = FAULT_FLAG_WRITE | FAULT_FLAG_MKWRITE;",
        b" \tvmf.flags = FAULT_FLAG_WRITE | FAULT_FLAG_NOTHERE;")
    r = bad(tmp_path, raw, "--tree", str(corpus_tree), "--format", "json", "--no-simulate")
    assert r.returncode == 1, r.stderr
    import json
    rep = json.loads(r.stdout)
    assert rep["series"]["mode"] == "tree" and rep["series"]["applied"] == "fuzz"
    assert not [s for s in rep["skipped"] if s["check"] == "apply"]
    apply = [s for s in rep["skipped"] if s["check"] == "apply (fuzz)"]
    assert apply and "patch 1/2 applies to" in apply[0]["reason"] and "(fuzz)" in \
        apply[0]["reason"]
    assert any(f["rule"] == "field-init" for f in rep["findings"])


def test_c_that_tree_sitter_cannot_parse(tmp_path, corpus_tree):
    junk = "".join(f"+)))) {{ ]] = ;; #{i} ((((\n" for i in range(30))
    body = ("Break it.\n---\ndiff --git a/mm/junk.c b/mm/junk.c\nnew file mode 100644\n"
            "--- /dev/null\n+++ b/mm/junk.c\n@@ -0,0 +1,30 @@\n" + junk)
    r = bad(tmp_path, _mail(body), "--tree", str(corpus_tree), "--format", "json")
    assert r.returncode in (0, 1), r.stderr
    import json
    parse = [s["reason"] for s in json.loads(r.stdout)["skipped"] if s["check"] == "parse"]
    assert parse and parse[0].startswith("mm/junk.c:1") and "cannot parse" in parse[0]


def test_a_fetched_thread_has_the_budgets_of_a_local_one(public_inbox_factory, tmp_path):
    """A message past 4 MiB served by a public-inbox: refused as it is from --mbox, with the
    archive named, not reviewed because b4 had already parsed it."""
    from support import shapes
    big = tmp_path / "big.mbox"
    big.write_text(shapes.mail("[PATCH] docs: a big file", "x\n", msgid="big-fetch@example.org")
                   .replace("x\n", shapes.big_mail(5).split("\n\n", 1)[1]))
    ibx = public_inbox_factory(big, name="big")
    r = reviewbot("review", "big-fetch@example.org", "--inbox", ibx.url, "--no-tree",
                  env={"HOME": str(tmp_path)})
    assert r.returncode == 2 and r.stdout == "", r.stderr
    assert r.stderr.count("\n") == 1
    assert "past the budget of 4 MiB a message" in r.stderr and ibx.url in r.stderr
