"""Bounded work on any patch (issue 13): one test per row of the issue's table. Each asserts
what a user sees past a budget (a `skipped` entry naming it, a one-line error, a finished
review); a command that does not finish within the generous `timeout` fails the test, and
bench/bounds.py prints the time and memory of each row."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reviewbot import corpus
from support import shapes

TIMEOUT = 60       # over 6 times each row's target: only a hang or a quadratic walk reaches it


def rb(*args, stdin: bytes | None = None, cwd="/"):
    return subprocess.run([sys.executable, "-m", "reviewbot", *args], input=stdin,
                          capture_output=True, cwd=cwd, timeout=TIMEOUT, env=dict(os.environ))


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    t = tmp_path_factory.mktemp("bounds") / "tree"
    corpus.build_tree_repo(t)
    return t


def review(tmp_path: Path, tree, mail: str | bytes, *extra: str) -> tuple[int, dict, str]:
    mbox = shapes.write(tmp_path, "in.mbox", mail)
    where = ["--tree", str(tree)] if tree else ["--no-tree"]
    p = rb("review", "--mbox", str(mbox), *where, "--format", "json", "--no-simulate", *extra)
    err = p.stderr.decode()
    return p.returncode, (json.loads(p.stdout) if p.stdout.strip() else {}), err


def skipped(rep: dict, check: str) -> list[str]:
    return [s["reason"] for s in rep.get("skipped", []) if s["check"] == check]


def one_error(p) -> str:
    """The single stderr line of a refused input; stdout must be empty."""
    err = p.stderr.decode()
    assert p.returncode == 2 and p.stdout == b"" and err.count("\n") == 1, (p.returncode, err)
    assert "internal error" not in err and err.startswith("reviewbot: ")
    return err


def b4check(mail: bytes, tree) -> list[dict]:
    p = rb("b4-check", "--tree", str(tree), "--no-simulate", stdin=mail)
    assert p.returncode == 0, p.stderr.decode()
    return json.loads(p.stdout)


# -- multipart nested 3,000 deep: a clear error, the same through b4-check -----------------

def test_mime_nested_3000_deep_is_a_clear_error(tmp_path, tree):
    raw = shapes.mime_nested(3000)
    p = rb("review", "--mbox", str(shapes.write(tmp_path, "m.mbox", raw)), "--tree", str(tree))
    assert "MIME parts nested 3000 deep, past the budget of 32" in one_error(p)
    [entry] = b4check(raw, tree)
    assert entry["status"] == "fail" and "MIME parts nested 3000 deep" in entry["summary"]


def test_mime_nested_a_few_levels_is_still_reviewed(tmp_path, tree):
    raw = shapes.mime_nested(5)
    p = rb("review", "--mbox", str(shapes.write(tmp_path, "m.mbox", raw)), "--tree", str(tree),
           "--no-simulate", "--format", "json")
    assert p.returncode == 0, p.stderr.decode()
    assert json.loads(p.stdout)["series"]["patches"][0]["files"] == ["mm/memory.c"]


# -- a header comment nested 2,500 deep (found by bench/fuzz.py): a clear error -------------

@pytest.mark.parametrize("in_part", [False, True])
def test_header_comments_nested_deep_are_a_clear_error(tmp_path, tree, in_part):
    raw = shapes.header_comments(2500, in_part)
    p = rb("review", "--mbox", str(shapes.write(tmp_path, "m.mbox", raw)), "--tree", str(tree))
    assert "header comments nested 2500 deep, past the budget of 32" in one_error(p)
    [entry] = b4check(raw, tree)
    assert entry["status"] == "fail" and "header comments nested 2500 deep" in entry["summary"]


def test_header_comments_a_few_deep_and_deep_c_in_the_body_are_reviewed(tmp_path, tree):
    for raw in (shapes.header_comments(3), shapes.header_comments(3, in_part=True),
                shapes.nested_parens(60).encode()):
        p = rb("review", "--mbox", str(shapes.write(tmp_path, "m.mbox", raw)), "--tree",
               str(tree), "--no-simulate", "--format", "json")
        assert p.returncode == 0, p.stderr.decode()
        assert json.loads(p.stdout)["series"]["patches"][0]["files"] == ["mm/memory.c"]


# -- C nested 3,000 parentheses / 1,500 blocks, with a tree and without ---------------------

@pytest.mark.parametrize("shape", [{"parens": 3000}, {"blocks": 1500}])
@pytest.mark.parametrize("with_tree", [True, False])
def test_deep_c_is_reviewed_with_a_skipped_entry(tmp_path, tree, shape, with_tree):
    rc, rep, err = review(tmp_path, tree if with_tree else None,
                          shapes.deep_in_fault_path(**shape))
    assert rc in (0, 1), err
    [note] = [s for s in skipped(rep, "parse") if "nesting budget" in s]
    assert note.startswith("mm/memory.c:53: brackets nested deeper than 100")
    if with_tree:
        # the rest of do_page_mkwrite() is still read: its struct vm_fault is still checked
        assert any(f["rule"] == "field-init" and f["function"] == "do_page_mkwrite"
                   for f in rep["findings"])


def test_nesting_within_the_budget_is_parsed(tmp_path, tree):
    rc, rep, err = review(tmp_path, tree, shapes.deep_in_fault_path(parens=90, blocks=5))
    assert rc in (0, 1), err
    assert not [s for s in skipped(rep, "parse") if "nesting budget" in s]


# -- a 100,000-line diff with a tree: one function table a file -----------------------------

def test_a_100000_line_diff_maps_every_function(tmp_path, tree):
    mail = shapes.many_functions(100_000)
    n = mail.count("+static int bounds_fn_")
    rc, rep, err = review(tmp_path, tree, mail)
    assert rc in (0, 1), err
    fns = rep["series"]["patches"][0]["functions"]
    assert len(fns) == n and "mm/bounds.c:bounds_fn_0" in fns \
        and f"mm/bounds.c:bounds_fn_{n - 1}" in fns


# -- 250 / 5,000 new members: one scan, and a member budget with counts ---------------------

@pytest.mark.parametrize("n", [250, 5000])
def test_many_new_members_are_checked_up_to_the_budget(tmp_path, kernel_tree, n):
    rc, rep, err = review(tmp_path, kernel_tree, shapes.kernel_members(kernel_tree, n))
    assert rc in (0, 1), err
    [note] = skipped(rep, "field-init: construction sites in the whole tree")
    assert note == (f"{n - 64} of the {n} new members (from struct vm_fault.bounds_member_64) "
                    "are not checked: past the budget of 64 members a patch")


def test_a_few_new_members_are_all_checked(tmp_path, tree):
    rc, rep, err = review(tmp_path, tree, shapes.many_members(3))
    assert rc == 1, err
    assert not skipped(rep, "field-init: construction sites in the whole tree")
    assert {f["details"]["member"] for f in rep["findings"] if f["rule"] == "field-init"} \
        == {f"bounds_member_{i}" for i in range(3)}


# -- a member added to struct list_head: sites capped, with counts --------------------------

def test_a_member_of_list_head_caps_the_files_scanned(tmp_path, kernel_tree):
    rc, rep, err = review(tmp_path, kernel_tree, shapes.list_head_member(kernel_tree))
    assert rc in (0, 1), err
    [note] = skipped(rep, "field-init: construction sites in the whole tree")
    assert note.startswith("struct list_head.bounds_gen: ") and \
        "files may build a struct list_head; only the first 100 are checked (" in note
    total = int(note.split(": ")[1].split()[0])
    assert total > 1000                         # the whole tree's count is given


def test_a_member_added_in_a_define_body_is_named_not_scanned(tmp_path, kernel_tree):
    """A #define whose body builds a union: its body is not C to parse, and the structs it
    builds are named where it is used; the review says so and scans nothing for it."""
    rc, rep, err = review(tmp_path, kernel_tree, shapes.macro_member(kernel_tree))
    assert rc == 0 and rep["series"]["mode"] == "tree", err
    assert not [f for f in rep["findings"] if f["rule"] == "field-init"]
    [note] = skipped(rep, "field-init: which struct a member belongs to")
    assert note == ("include/linux/kfifo.h:60: member 'bounds_gen' is declared in the body of "
                    "macro __STRUCT_KFIFO_COMMON; the structs it builds are named where it is "
                    "used and are not checked")
    assert not skipped(rep, "field-init: construction sites in the whole tree")


# -- one 20,000-character line: the checklist stays linear ----------------------------------

def test_a_20000_character_line_in_the_checklist(tmp_path, tree):
    mbox = shapes.write(tmp_path, "l.mbox", shapes.long_line(20000))
    p = rb("checklist", "--mbox", str(mbox), "--tree", str(tree), "--no-simulate")
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout.decode().startswith("# Review checklist: mm: bounds")


def test_member_lines_are_still_read_by_the_checklist():
    from reviewbot.render.checklist import member_name
    assert [member_name(x) for x in ("+\tstruct page *cow_page;\t/* c */", "+\tint a[4];",
                                     "+\tint (*fn)(void);", "+\tint a = 3;", "+int a;")] \
        == ["cow_page", "a", "", "", ""]


# -- a 30 MB mail: refused before it is parsed -----------------------------------------------

def test_a_30_mb_mail_is_refused_early(tmp_path, tree):
    raw = shapes.big_mail(30).encode()
    p = rb("review", "--mbox", str(shapes.write(tmp_path, "big.mbox", raw)),
           "--tree", str(tree))
    assert "larger than 16 MiB, the budget of a thread" in one_error(p)
    [entry] = b4check(raw, tree)
    assert entry["status"] == "fail" and "past the budget of 4 MiB a message" in entry["summary"]


def test_a_5_mb_message_in_a_small_thread_is_refused(tmp_path, tree):
    p = rb("review", "--mbox", str(shapes.write(tmp_path, "big.mbox", shapes.big_mail(5))),
           "--tree", str(tree))
    assert "past the budget of 4 MiB a message" in one_error(p)


# -- a 10 MB replay action string: error lines capped ----------------------------------------

def test_a_10_mb_replay_action_gives_a_capped_error_line(tmp_path, tree):
    trace = tmp_path / "t.json"
    trace.write_text(json.dumps({"trace": [{"thread": "TR", "action": "x" * 10_000_000}]}))
    p = rb("simulate", "--tree", str(tree), "--replay", str(trace))
    err = one_error(p)
    assert "diverged at step 1 (TR)" in err and len(err) <= 320


@pytest.mark.parametrize("content, problem", [
    ("[" * 5000 + "]" * 5000, "JSON nested deeper than 32, the budget of a trace"),
    ('{"trace": [{"thread": ["a"], "action": 1}]}', "step 1 needs a string thread and action"),
    ('{"scenario": 5, "trace": []}', "scenario must be a string"),
    ('{"trace": 3}', 'expected an object with a "trace" list'),
    ("\xff", "not JSON"),
])
def test_replay_input_of_the_wrong_shape(tmp_path, tree, content, problem):
    trace = tmp_path / "t.json"
    trace.write_text(content)
    assert problem in one_error(rb("simulate", "--tree", str(tree), "--replay", str(trace)))
