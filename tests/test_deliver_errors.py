"""Bad configuration, state and output places, as a user meets them: one line
`reviewbot: <file or option>: <problem>`, exit 2, nothing on stdout, nothing created."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_deliver_bot import series_mbox, write_config  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def rb(*args, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reviewbot", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def one_error(p: subprocess.CompletedProcess, subject: str, *words: str) -> str:
    assert p.returncode == 2, p.stderr
    assert p.stdout == ""
    assert p.stderr.count("\n") == 1 and "internal error" not in p.stderr, p.stderr
    assert p.stderr.startswith(f"reviewbot: {subject}"), p.stderr
    for w in words:
        assert w in p.stderr, p.stderr
    return p.stderr


BAD_CONFIG = [
    ("[bot] hold", 'hold = 3600', 'hold = "soon"', "must be a number"),
    ("[bot] bots", 'hold = 3600', 'hold = 3600\nbots = "lkp@intel.com"', "must be a list"),
    ("[bot] dry_run", 'dry_run = true', 'dry_run = "yes"', "true or false"),
    ("[bot] max_message_bytes", 'hold = 3600', 'hold = 3600\nmax_message_bytes = 1.5',
     "an integer"),
    ("[bot] linkmask", 'hold = 3600', 'hold = 3600\nlinkmask = "https://lore.kernel.org/r/"',
     "must contain %s"),
    ("[bot] linkmask", 'hold = 3600', 'hold = 3600\nlinkmask = "https://x/%s/%d"',
     "must contain %s"),
    ("[[list]] #1 recipients", 'address = "linux-mm@kvack.org"',
     'address = "linux-mm@kvack.org"\nrecipients = 3', "must be a string"),
    ("[bot] cc_allow", 'hold = 3600', 'hold = 3600\ncc_allow = ["no-such-MAINTAINERS"]',
     "No such file"),
    ("[smtp]", 'dry_run = true', 'dry_run = true\n[smtp]\nsmtpServerPort = "twenty-five"',
     "smtpServerPort: must be an integer"),
]


@pytest.mark.parametrize("where,old,new,problem", BAD_CONFIG,
                         ids=[f"{w}-{i}" for i, (w, *_r) in enumerate(BAD_CONFIG)])
def test_bad_config_values_name_the_key_and_create_nothing(where, old, new, problem, tmp_path,
                                                           public_inbox_factory):
    inbox = public_inbox_factory(series_mbox())
    cfg = write_config(tmp_path, inbox, None)
    assert old in cfg.read_text()
    cfg.write_text(cfg.read_text().replace(old, new, 1))
    before = sorted(p.name for p in tmp_path.iterdir())
    one_error(rb("bot", "--config", str(cfg), "--once"), f"{cfg}: {where}", problem)
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "something was created"


def test_unusable_state_file(tmp_path, public_inbox_factory):
    inbox = public_inbox_factory(series_mbox())
    cfg = write_config(tmp_path, inbox, None)
    state = tmp_path / "state.sqlite"
    state.write_bytes(b"this is not a database\n" * 200)
    before = sorted(p.name for p in tmp_path.iterdir())
    one_error(rb("bot", "--config", str(cfg), "--once"), str(state), "state file unusable",
              "not a database")
    assert not (tmp_path / "outbox").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "something was created"
    state.unlink()
    state.mkdir()
    one_error(rb("bot", "--config", str(cfg), "--once"), f"{cfg}: [bot] state", "directory")


def test_unusable_outdir_for_the_bot(tmp_path, public_inbox_factory):
    inbox = public_inbox_factory(series_mbox())
    cfg = write_config(tmp_path, inbox, None)
    (tmp_path / "outbox").write_text("a file, not a directory\n")
    one_error(rb("bot", "--config", str(cfg), "--once"), f"{cfg}: [bot] outdir",
              "is not a directory")
    assert not (tmp_path / "state.sqlite").exists()


def test_reply_outdir_and_checklist_output_problems(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x\n")
    one_error(rb("reply", "--bundled", "--from", "r <r@example.net>", "--outdir", str(afile)),
              f"--outdir: {afile}", "is not a directory")
    one_error(rb("reply", "--bundled", "--from", "r <r@example.net>", "--outdir",
                 str(afile / "sub")), f"--outdir: {afile}/sub", "is not a directory")
    one_error(rb("checklist", "--bundled", "-o", str(afile / "x.md")), f"-o: {afile}/x.md",
              "is not a directory")
    one_error(rb("checklist", "--bundled", "-o", str(tmp_path)), f"-o: {tmp_path}",
              "is a directory")
    assert afile.read_text() == "x\n" and sorted(tmp_path.iterdir()) == [afile]


def test_maildir_with_only_new_or_cur_is_read_and_problems_are_named(tmp_path):
    md = tmp_path / "md"
    (md / "new").mkdir(parents=True)
    one_error(rb("review", "--mbox", str(md), "--no-tree"), str(md), "empty mailbox")
    (md / "new" / "1").write_bytes(b"From: a <a@example.org>\nSubject: hello\n"
                                   b"Message-ID: <x1@example.org>\n\nno patch here\n")
    one_error(rb("review", "--mbox", str(md), "--no-tree"), str(md), "no patch")


def test_an_unknown_message_at_a_live_inbox_is_still_not_found(tmp_path, public_inbox_factory):
    inbox = public_inbox_factory(series_mbox())
    err = one_error(rb("review", "--inbox", inbox.url, "nosuch@example.org", "--no-tree",
                       cwd=tmp_path), "nosuch@example.org", "message not found at",
                    inbox.url + "nosuch@example.org")
    assert "could not be reached" not in err


def test_an_inbox_that_is_not_one_is_named_before_any_state_exists(tmp_path,
                                                                   public_inbox_factory):
    inbox = public_inbox_factory(series_mbox())
    cfg = write_config(tmp_path, inbox, None)
    cfg.write_text(cfg.read_text().replace(f'inbox = "{inbox.inbox_dir}"',
                                           f'inbox = "{tmp_path}"'))
    one_error(rb("bot", "--config", str(cfg), "--once"), str(tmp_path),
              "cannot open the inbox of linux-mm@kvack.org", "not a public-inbox v2 inbox")
    assert not list(tmp_path.glob("state.sqlite*"))


# -- issue 13 item 7: two processes building the bundled tree at once ----------------------

def test_two_processes_building_the_bundled_tree_end_with_one_tree(tmp_path, monkeypatch):
    """Both see no tree, both build one aside; the second to finish keeps the first's
    (the same commit) instead of failing on the rename, and leaves nothing aside."""
    from reviewbot import corpus
    dest = tmp_path / "bundled-tree"
    real = corpus.build_tree_repo

    def other_process_finishes_first(tmp):
        head = real(tmp)
        if not dest.exists():       # the other builder renames its tree into place meanwhile
            other = tmp_path / "other"
            real(other)
            other.rename(dest)
        return head

    monkeypatch.setattr(corpus, "build_tree_repo", other_process_finishes_first)
    assert corpus.ensure_tree_repo(dest) == dest
    monkeypatch.undo()
    head = subprocess.run(["git", "-C", str(dest), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()
    assert head == real(tmp_path / "fresh")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundled-tree", "fresh"]
    # really at once: two processes, one tree, both succeed
    dest2 = tmp_path / "again"
    code = f"from reviewbot import corpus; print(corpus.ensure_tree_repo({str(dest2)!r}))"
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again", "bundled-tree", "fresh"]
