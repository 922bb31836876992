"""Silent wrong results (issue 13): inputs that were reviewed as something else, or passed by
b4-check while `review` refused them. Each asserts what a reviewer reads."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reviewbot import corpus
from support import shapes


def rb(*args, stdin: bytes | None = None):
    return subprocess.run([sys.executable, "-m", "reviewbot", *args], input=stdin,
                          capture_output=True, cwd="/", timeout=300, env=dict(os.environ))


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    t = tmp_path_factory.mktemp("silent") / "tree"
    corpus.build_tree_repo(t)
    return t


BASE = shapes.corpus_patch("mm/memory.c", shapes.FN_ANCHOR, "/* b */\n" + shapes.FN_ANCHOR)


def review(tmp_path, tree, mail: str | bytes):
    mbox = shapes.write(tmp_path, "in.mbox", mail)
    p = rb("review", "--mbox", str(mbox), "--tree", str(tree), "--no-simulate",
           "--format", "json")
    return p.returncode, (json.loads(p.stdout) if p.stdout.strip() else None), p.stderr.decode()


def series_notes(rep) -> list[str]:
    return [s["reason"] for s in rep["skipped"] if s["check"] == "series"]


def quilt(mail: str, plus: str) -> str:
    return (mail.replace("diff --git a/mm/memory.c b/mm/memory.c\n",
                         "diff -puN mm/memory.c~mm-fix-the-thing mm/memory.c\n")
            .replace("--- a/mm/memory.c\n", "--- a/mm/memory.c~mm-fix-the-thing\n")
            .replace("+++ b/mm/memory.c\n", f"+++ {plus}/mm/memory.c\n"))


@pytest.mark.parametrize("plus", ["a", "b"])
def test_akpm_quilt_fix_mails_are_ordinary_patches(tmp_path, tree, plus):
    rc, rep, err = review(tmp_path, tree, quilt(BASE, plus))
    assert rc == 0, err
    assert rep["series"]["applied"] == "exact"
    assert rep["series"]["patches"][0]["files"] == ["mm/memory.c"]


@pytest.mark.parametrize("edit, problem", [
    (lambda m: re.sub(r"(?m)^@@ -(\d+),(\d+) ", r"@@ -\1,x ", m, count=1),
     "mm/memory.c hunk #1: invalid hunk header '@@ -40,x +40,7 @@'"),
    (lambda m: m[:m.index("@@") + 8] + "\n", "mm/memory.c hunk #1: invalid hunk header '@@ -40,6'"),
])
def test_broken_hunk_header_is_an_error_naming_patch_and_hunk(tmp_path, tree, edit, problem):
    rc, rep, err = review(tmp_path, tree, edit(BASE))
    assert rc == 2 and rep is None
    assert err == f"reviewbot: bounds@example.org (patch 1/1): {problem}\n"
    [entry] = json.loads(rb("b4-check", "--tree", str(tree), "--no-simulate",
                            stdin=edit(BASE).encode()).stdout)
    assert entry["status"] == "fail" and problem in entry["summary"]


def test_crlf_mail_is_the_same_review(tmp_path, tree):
    rc, rep, err = review(tmp_path, tree, BASE.replace("\n", "\r\n").encode())
    assert rc == 0, err
    assert rep["series"]["applied"] == "exact" and \
        rep["series"]["patches"][0]["files"] == ["mm/memory.c"]
    [entry] = json.loads(rb("b4-check", "--tree", str(tree), "--no-simulate",
                            stdin=BASE.replace("\n", "\r\n").encode()).stdout)
    assert entry["status"] == "pass"


@pytest.mark.parametrize("tag, note", [
    ("[PATCH 3/2]", "a subject says [PATCH 3/2], a number past its total; reviewed as 3/3"),
    ("[PATCH 1/100000]", "a subject says [PATCH 1/100000], but the series has 1 patch; "
                         "reviewed as 1/1"),
])
def test_impossible_numbering_gets_a_note(tmp_path, tree, tag, note):
    rc, rep, err = review(tmp_path, tree, BASE.replace("[PATCH]", tag))
    assert rc in (0, 1), err
    assert note in series_notes(rep)


def test_a_duplicate_patch_number_is_noted(tmp_path, tree):
    one = BASE.replace("[PATCH]", "[PATCH 1/2]")
    dup = one.replace("bounds@example.org", "dup@example.org").replace("/* b */", "/* c */")
    two = shapes.corpus_patch("mm/memory.c", "static int do_page_mkwrite(",
                              "/* 2 */\nstatic int do_page_mkwrite(", "[PATCH 2/2] x") \
        .replace("bounds@example.org", "two@example.org")
    rc, rep, err = review(tmp_path, tree, one + "\n" + dup + "\n" + two)
    assert rep is not None, err
    assert any(n.startswith("2 mails are numbered [PATCH 1/2] (bounds@example.org, "
                            "dup@example.org)") for n in series_notes(rep))


def test_a_plain_series_has_no_numbering_note(tmp_path, tree):
    p = rb("review", "--bundled", "--no-simulate", "--format", "json")
    assert not series_notes(json.loads(p.stdout))


@pytest.mark.parametrize("msgid", ["a(b)c@x.org", 'a"b"c@x.org'])
def test_one_message_id_parser_for_review_reply_and_b4_check(tmp_path, tree, msgid):
    mail = shapes.many_members(1).replace("<bounds@example.org>", f"<{msgid}>")
    rc, rep, err = review(tmp_path, tree, mail)
    assert rc == 1 and rep["findings"] and {f["patch"] for f in rep["findings"]} == {msgid}
    entries = json.loads(rb("b4-check", "--tree", str(tree), "--no-simulate",
                            stdin=mail.encode()).stdout)
    assert {e["status"] for e in entries} == {"warn"}
    out = tmp_path / "out"
    p = rb("reply", "--mbox", str(shapes.write(tmp_path, "m.mbox", mail)), "--tree", str(tree),
           "--no-simulate", "--outdir", str(out), "--from", "Reviewer <reviewer@example.org>")
    assert p.returncode == 0 and len(list(out.iterdir())) == 1, p.stderr.decode()


@pytest.mark.parametrize("edit, problem", [
    (lambda m: m.replace("b/mm/memory.c", "b/mm/other.c"), "is not supported"),
    (lambda m: m.replace("a/mm/memory.c", "a/../mm/memory.c").replace(
        "b/mm/memory.c", "b/../mm/memory.c"), "escapes the tree"),
    (lambda m: m.replace("@@ -40,6 +40,7 @@", "@@ -40,6 +40,9 @@"), "diff does not parse"),
    (lambda m: shapes.big_mail(5), "past the budget of 4 MiB a message"),
])
def test_b4_check_fails_with_reviews_error(tmp_path, tree, edit, problem):
    mail = edit(BASE)
    rc, rep, err = review(tmp_path, tree, mail)
    assert rc == 2 and problem in err
    [entry] = json.loads(rb("b4-check", "--tree", str(tree), "--no-simulate",
                            stdin=mail.encode()).stdout)
    assert entry["status"] == "fail" and problem in entry["summary"]


def test_git_quoted_non_ascii_path_is_reviewed(tmp_path):
    t = tmp_path / "tree"
    corpus.build_tree_repo(t)
    git = ["git", "-C", str(t), "-c", "user.name=a", "-c", "user.email=a@b.c"]
    (t / "mm" / "été.c").write_text("int x;\n")
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-qm", "base"], check=True)
    (t / "mm" / "été.c").write_text("int x;\n\nstatic int f(void)\n{\n\treturn 1;\n}\n")
    diff = subprocess.run(git + ["diff"], check=True, capture_output=True, text=True).stdout
    subprocess.run(git + ["checkout", "-q", "."], check=True)
    assert '"a/mm/\\303\\251t\\303\\251.c"' in diff          # git's quoted form
    mail = shapes.mail("[PATCH] mm: q", f"Q.\n\nSigned-off-by: A <a@b.c>\n---\n{diff}-- \n2.39\n")
    rc, rep, err = review(tmp_path, t, mail)
    assert rc == 0, err
    [p] = rep["series"]["patches"]
    assert rep["series"]["applied"] == "exact" and p["files"] == ["mm/été.c"] \
        and p["functions"] == ["mm/été.c:f"]


@pytest.mark.parametrize("added, members", [
    ("\tDECLARE_BITMAP(bounds_bits, 8);\n", {"bounds_bits"}),
    ("\tunion {\n\t\tint bounds_a;\n\t\tlong bounds_b;\n\t};\n", {"bounds_a", "bounds_b"}),
])
def test_members_added_through_macros_and_anonymous_unions_are_checked(tmp_path, tree, added,
                                                                       members):
    anchor = "\tpte_t *pte;\t\t\t/* pte slot that belongs to ->pgoff */\n"
    rc, rep, err = review(tmp_path, tree, shapes.corpus_patch("include/linux/mm.h", anchor,
                                                              anchor + added))
    assert rc == 1, err
    assert {f["details"]["member"] for f in rep["findings"] if f["rule"] == "field-init"} \
        == members
    assert not [s for s in rep["skipped"] if s["check"] == "parse"]
