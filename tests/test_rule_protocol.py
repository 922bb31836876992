"""The bundled rules keep the rule protocol: each class defines each method once (a merge that
adds a second `questions` would silently replace the first), every protocol method answers in
its own type for every finding the bundled review gives, and no renderer names a rule."""
from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reviewbot import engine
from reviewbot.findings import Finding

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("path", sorted((ROOT / "rules").glob("*.py")), ids=lambda p: p.name)
def test_each_class_defines_each_method_once(path):
    for cls in ast.walk(ast.parse(path.read_text())):
        if isinstance(cls, ast.ClassDef):
            names = [n.name for n in cls.body if isinstance(n, ast.FunctionDef)]
            twice = sorted({n for n in names if names.count(n) > 1})
            assert not twice, f"{path.name}: class {cls.name} defines {twice} more than once"


def test_renderers_and_simlink_name_no_rule():
    ids = [r.id for r in engine.load_rules()]
    files = sorted((ROOT / "reviewbot" / "render").glob("*.py")) + [ROOT / "reviewbot" /
                                                                    "simlink.py"]
    for f in files:
        text = f.read_text()
        for rid in ids:
            assert not re.search(rf"\b{re.escape(rid)}\b", text), f"{f.name} names {rid}"


def test_every_finding_of_the_bundled_review_gets_its_rules_answers():
    r = subprocess.run([sys.executable, "-m", "reviewbot", "review", "--bundled", "--format",
                        "json", "--no-simulate"], capture_output=True, text=True, timeout=300,
                       cwd=ROOT)
    findings = [Finding.from_dict(d) for d in json.loads(r.stdout)["findings"]]
    assert {f.rule for f in findings} >= {"field-init", "fault-contract"}
    for f in findings:
        qs = engine.questions(f)
        assert qs and all(isinstance(q, str) and q.endswith("?") for q in qs), f.rule
        items = engine.checklist_items(f)
        assert all(isinstance(i, engine.ChecklistItem) and i.text for i in items), f.rule
        req = engine.simulation_request(f)
        assert req is None or req.function == f.function
    asked = {f.rule for f in findings if engine.simulation_request(f) is not None}
    assert asked == {"field-init", "fault-contract"}
