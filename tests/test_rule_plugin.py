"""A rule and a format installed from outside reviewbot, registered only by their entry points
(tests/plugins: a module and a dist-info, put on the path): the rule runs, replies and the
checklist carry its own question and item, and the format is a `review --format`, with no edit
to reviewbot."""
from __future__ import annotations

import email
import email.policy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reviewbot import corpus

PLUGINS = Path(__file__).resolve().parent / "plugins"
SENDER = "reviewbot <reviewbot@example.net>"


def rb(*args, plugin: bool = True, cwd=None):
    env = dict(os.environ)
    if plugin:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PLUGINS),
                                                          env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "reviewbot", *args], capture_output=True,
                          text=True, timeout=300, env=env, cwd=cwd)


def gotos(mbox: Path, revision: str) -> list[str]:
    """The labels of the gotos the patches of one revision add, read from the mail."""
    found = []
    for part in re.split(r"^(?=From )", mbox.read_text(), flags=re.M):
        if re.search(rf"^Subject: \[PATCH {revision} \d+/", part, re.M):
            found += re.findall(r"^\+.*\bgoto\s+(\w+)\s*;", part, re.M)
    return found


@pytest.fixture(scope="module")
def review():
    r = rb("review", "--bundled", "--rules", "added-goto", "--no-simulate", "--format", "json")
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout)


def test_the_plugin_is_listed_and_absent_without_its_entry_point():
    listed = rb("rules", "--short")
    assert listed.returncode == 0 and "added-goto (warning): a goto the patch adds" in listed.stdout
    without = rb("rules", "--short", plugin=False)
    assert "added-goto" not in without.stdout and "field-init" in without.stdout
    missing = rb("review", "--bundled", "--rules", "added-goto", plugin=False)
    assert missing.returncode == 2 and "added-goto: no such rule" in missing.stderr


def test_its_findings_follow_the_diff(review):
    labels = gotos(corpus.thread_path("cow"), "v2")     # the newest revision is reviewed
    assert labels, "the bundled COW series adds a goto"
    found = [f for f in review["findings"] if f["rule"] == "added-goto"]
    assert sorted(f["details"]["label"] for f in found) == sorted(labels)
    assert {f["rule"] for f in review["findings"]} == {"added-goto"}
    f = found[0]
    assert f["file"] == "mm/memory.c" and f["function"] == "__do_fault"
    assert f["code"].lstrip("+").strip() == f"goto {f['details']['label']};"


def test_reply_asks_the_rules_question(review, tmp_path):
    r = rb("reply", "--bundled", "--rules", "added-goto", "--no-simulate", "--from", SENDER,
           "--list", "linux-mm@kvack.org", "--outdir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    bodies = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
              .get_content() for p in sorted(tmp_path.glob("*.eml"))]
    text = " ".join(" ".join(b.split()) for b in bodies)
    assert "added-goto: adds a jump to label 'out'." in text
    assert ("Does every path that jumps to out in __do_fault() release what it took before "
            "the jump?") in text
    assert "Is this intended?" not in text


def test_checklist_carries_the_rules_item(review):
    r = rb("checklist", "--bundled", "--rules", "added-goto", "--no-simulate")
    assert r.returncode == 0, r.stderr
    assert "- [ ] **added-goto** (warning, introduced by this patch, mm/memory.c:" in r.stdout
    assert ("- [ ] Unwinding at label `out` in `__do_fault()`: is each step undone in "
            "reverse order?") in r.stdout


def test_a_format_from_the_same_plugin_is_a_review_format(review):
    r = rb("review", "--bundled", "--rules", "added-goto", "--no-simulate", "--format",
           "finding-count")
    n = sum(f["rule"] == "added-goto" for f in review["findings"])
    assert r.returncode == 1 and r.stdout == f"added-goto={n}\n", r.stderr
    assert "finding-count" in rb("review", "--help").stdout
    without = rb("review", "--bundled", "--format", "finding-count", plugin=False)
    assert without.returncode == 2 and "invalid choice: 'finding-count'" in without.stderr
