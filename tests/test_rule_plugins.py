"""Third-party rules through the `reviewbot.rules` entry points, as a plugin author installs
them (a distribution on the path): one that cannot be loaded is a one-line error, and the engine
tells introduced from pre-existing for a rule that knows nothing of base and patched trees."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PLUGIN = '''
from reviewbot.findings import Finding


class Always:
    """Says the same thing of every patch, whichever tree it is shown."""
    id = "always"
    severity = "warning"
    summary = "a finding on every patch"

    def check(self, ctx):
        yield Finding(rule=self.id, severity=self.severity, patch=ctx.patch.msgid,
                      file="mm/memory.c", line=0, function="", message="seen")


class Misnamed(Always):
    id = "not-its-name"
'''


def plugin_path(tmp_path: Path, entries: dict[str, str]) -> Path:
    """A directory holding the plugin module and a distribution declaring `entries`."""
    d = tmp_path / "site"
    dist = d / "reviewbot_test_plugin-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: reviewbot-test-plugin\n"
                                   "Version: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[reviewbot.rules]\n" + "".join(f"{k} = {v}\n" for k, v in entries.items()))
    (d / "reviewbot_test_plugin.py").write_text(PLUGIN)
    (d / "reviewbot_test_broken.py").write_text(
        'raise RuntimeError("needs reviewbot 2")\n')
    return d


def review(site: Path, *args) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(site), *filter(None, [os.environ.get("PYTHONPATH")])]))
    return subprocess.run([sys.executable, "-m", "reviewbot", "review", *args],
                          capture_output=True, text=True, env=env, cwd="/", timeout=300)


def test_a_rule_that_cannot_be_loaded_is_one_line_naming_it(tmp_path):
    site = plugin_path(tmp_path, {"broken": "reviewbot_test_broken:Rule"})
    r = review(site, "--bundled", "clean", "--no-simulate")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == "reviewbot: rule broken: cannot be loaded: needs reviewbot 2\n"


def test_a_rule_whose_id_is_not_its_entry_point_name_is_refused(tmp_path):
    site = plugin_path(tmp_path, {"misnamed": "reviewbot_test_plugin:Misnamed"})
    r = review(site, "--bundled", "clean", "--no-simulate")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == ("reviewbot: rule misnamed: entry point name differs from id "
                        "not-its-name\n")


def test_a_plugin_finding_is_pre_existing_only_when_a_base_tree_has_it(tmp_path):
    site = plugin_path(tmp_path, {"always": "reviewbot_test_plugin:Always"})
    # with a tree the rule says the same of the base: nothing the series brought
    tree = json.loads(review(site, "--bundled", "clean", "--no-simulate", "--rules", "always",
                             "--format", "json").stdout)
    # without one there is no base to have it
    diff_only = json.loads(review(site, "--bundled", "clean", "--no-tree", "--rules", "always",
                                  "--format", "json").stdout)
    for rep, introduced in ((tree, False), (diff_only, True)):
        fs = rep["findings"]
        assert fs and {f["rule"] for f in fs} == {"always"}
        assert {f["introduced"] for f in fs} == {introduced}, rep["series"]["mode"]


def test_reviewbot_rules_shows_a_plugins_docstring_when_it_has_no_markdown(tmp_path):
    site = plugin_path(tmp_path, {"always": "reviewbot_test_plugin:Always"})
    env = dict(os.environ, PYTHONPATH=str(site))
    r = subprocess.run([sys.executable, "-m", "reviewbot", "rules", "always"],
                       capture_output=True, text=True, env=env, cwd="/", timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ("always (warning): a finding on every patch\n"
                        "    Says the same thing of every patch, whichever tree it is shown.\n\n")


def test_rules_option_takes_a_plugin_and_names_an_unknown_rule(tmp_path):
    site = plugin_path(tmp_path, {"always": "reviewbot_test_plugin:Always"})
    r = review(site, "--bundled", "clean", "--no-simulate", "--rules", "always,nosuch")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == "reviewbot: nosuch: no such rule (see `reviewbot rules`)\n"
    r = review(site, "--bundled", "clean", "--no-simulate", "--rules", "always")
    assert r.returncode == 1 and "WARNING:ALWAYS: seen" in r.stdout, r.stderr


def test_rules_option_runs_only_the_rules_named(tmp_path):
    site = plugin_path(tmp_path, {"always": "reviewbot_test_plugin:Always"})
    for only in (["field-init"], ["fault-contract", "field-init"]):
        r = review(site, "--bundled", "cow", "--no-simulate", "--format", "json",
                   "--rules", ",".join(only))
        assert r.returncode == 1, r.stderr
        assert sorted({f["rule"] for f in json.loads(r.stdout)["findings"]}) == only
