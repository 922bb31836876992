"""Issue 15's standing figure: the mutation score of each core module (cosmic-ray), the share
of small deliberate bugs its tests catch (aim: 90% or more), and the mutants that survived.

usage: .venv/bin/python bench/mutation.py [MODULE ...] [--resume|--report|--recheck] [--workdir DIR]
       .venv/bin/python bench/mutation.py --list

MODULE is a name from --list (`findings`, `engine`, `rules.field_init`, ...) or its path; no
MODULE means all of them (hours: run a few at a time). Each module's mutants run only the test
files of its entry in TESTS, in a scratch copy of the work tree (the tree itself is never
touched). Needs the `mutation` extra: `.venv/bin/pip install -e '.[mutation]'`.  Survivors
are listed with the reason they are harmless, or a test that kills them, in
bench/mutation-survivors.md."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# Each module, and the test files that can see its bugs. A mutant stops at its first failing
# test, so a few quick and broad tests (one or two reviews each) go first; pytest runs a test
# named twice once.
SMOKE = ["tests/test_user_checks.py::test_identity_is_stable_across_revisions_and_follows_the_site",
         "tests/test_user_checks.py::test_json_keys_are_the_readme_schema"]
T_REVIEW = ["tests/test_review_corpus.py", "tests/test_user_checks.py"]
TESTS: dict[str, tuple[str, list[str]]] = {
    "findings": ("reviewbot/findings.py",
                 [*SMOKE, "tests/test_render_sarif.py", "tests/test_render_output.py",
                  *T_REVIEW]),
    "engine": ("reviewbot/engine.py",
               [*SMOKE, "tests/test_rule_plugins.py", "tests/test_rule_fixtures.py", *T_REVIEW,
                "tests/test_review_inputs.py"]),
    "diff": ("reviewbot/diff.py",
             ["tests/test_review_inputs.py", "tests/test_apply_ladder.py", *T_REVIEW,
              "tests/test_rule_fixtures.py"]),
    "rules.field_init": ("rules/field_init.py",
                         ["tests/test_rule_fixtures.py", "tests/test_rule_precision.py",
                          *T_REVIEW]),
    "rules.field_init_flow": ("rules/field_init_flow.py",
                              ["tests/test_rule_fixtures.py", "tests/test_rule_precision.py",
                               *T_REVIEW]),
    "rules.fault_contract": ("rules/fault_contract.py",
                             ["tests/test_rule_fixtures.py", "tests/test_rule_precision.py",
                              *T_REVIEW]),
    "rules.fault_sim": ("rules/fault_sim.py",
                        ["tests/test_sim_review.py", *T_REVIEW]),
    "sim.invariants": ("reviewbot/sim/invariants.py",
                       ["tests/test_sim_verdicts.py",
                        "tests/test_user_checks.py::test_a_freed_block_left_mapped_is_reported_as_i4a",
                        "tests/test_sim_handlers.py", "tests/test_sim_kernel61_dax.py"]),
    "sim.explore": ("reviewbot/sim/explore.py",
                    ["tests/test_sim_verdicts.py", "tests/test_sim_cli.py",
                     "tests/test_sim_handlers.py", "tests/test_sim_review.py"]),
    "deliver.state": ("reviewbot/deliver/state.py",
                      ["tests/test_deliver_bot.py", "tests/test_deliver_faults.py"]),
    "deliver.bot": ("reviewbot/deliver/bot.py",
                    ["tests/test_deliver_bot.py", "tests/test_deliver_faults.py",
                     "tests/test_deliver_e2e.py"]),
}
# The JSON renderer is Report.to_dict/to_json in findings.py (the `findings` entry).

# One meaningful alternative per operator, as mutmut makes them, instead of cosmic-ray's every
# permutation (`a + b` -> `a ** b`, ...): the score then counts bugs a person could write.
KEEP = ["ReplaceBinaryOperator_(Add_Sub|Sub_Add|Mul_Div|Div_Mul|FloorDiv_Mul|Mod_Mul|Pow_Mul|"
        "LShift_RShift|RShift_LShift|BitOr_BitAnd|BitAnd_BitOr|BitXor_BitOr)",
        "ReplaceComparisonOperator_(Eq_NotEq|NotEq_Eq|Lt_LtE|LtE_Lt|Gt_GtE|GtE_Gt|Lt_GtE|"
        "GtE_Lt|Gt_LtE|LtE_Gt|Is_IsNot|IsNot_Is)",
        "ReplaceUnaryOperator_(Delete_Not|USub_UAdd)",
        "AddNot", "ReplaceTrueWithFalse", "ReplaceFalseWithTrue", "ReplaceAndWithOr",
        "ReplaceOrWithAnd", "ReplaceBreakWithContinue", "ReplaceContinueWithBreak",
        "NumberReplacer", "ZeroIterationForLoop", "ExceptionReplacer", "RemoveDecorator"]
EXCLUDE = "core/(?!(" + "|".join(KEEP) + ")$)"


def scratch_copy(dest: Path) -> Path:
    """The work tree's files (committed or not) in dest, importable first: `reviewbot` and
    `reviewbot_rules` (a link to rules/) resolve there through PYTHONPATH."""
    if dest.exists():
        shutil.rmtree(dest)
    files = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard",
                            "-z"], check=True, capture_output=True, text=True).stdout
    for rel in filter(None, files.split("\0")):
        src = ROOT / rel
        if src.is_file() and not rel.startswith("bench/"):
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    (dest / "reviewbot_rules").symlink_to("rules")
    return dest


def test_env(copy: Path, work: Path) -> dict:
    kernel = subprocess.run(["bash", str(ROOT / ".ci/kernel-tree"), "--path"],
                            capture_output=True, text=True).stdout.strip()
    home = work / "home"
    for d in ("cache", "share", "config"):
        (home / d).mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(copy), REVIEWBOT_KERNEL=kernel,
               REVIEWBOT_CACHE=os.environ.get("REVIEWBOT_CACHE",
                                              str(Path.home() / ".cache/reviewbot")),
               REVIEWBOT_SHARED=os.environ.get("REVIEWBOT_SHARED", str(ROOT.parent / "shared")),
               # the analysis memo is keyed by some modules' code, not every one mutated here
               REVIEWBOT_NO_MEMO="1", PYTHONDONTWRITEBYTECODE="1", HOME=str(home),
               XDG_CACHE_HOME=str(home / "cache"), XDG_DATA_HOME=str(home / "share"),
               XDG_CONFIG_HOME=str(home / "config"), GIT_AUTHOR_NAME="reviewbot mutation",
               GIT_AUTHOR_EMAIL="mutation@reviewbot.invalid",
               GIT_COMMITTER_NAME="reviewbot mutation",
               GIT_COMMITTER_EMAIL="mutation@reviewbot.invalid",
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    return env


# Slow repeats left out of every run: the hash-seed check once (on the thread with the most
# findings), not on all three
DESELECT = ["tests/test_user_checks.py::test_output_is_byte_identical_whatever_the_hash_seed"
            f"[{t}]" for t in ("cow", "cow-missing-unlock")]


def test_command(tests: list[str], work: Path) -> str:
    return (f"{sys.executable} -m pytest -x -q -p no:cacheprovider "
            f"--basetemp={work / 'pytest'} " + " ".join(f"--deselect {d}" for d in DESELECT)
            + " " + " ".join(tests))


def cr(*args, env, cwd, check=True) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / args[0]), *args[1:]], env=env, cwd=cwd, text=True,
                          capture_output=True, check=check)


def run_module(name: str, work: Path, resume: bool) -> None:
    path, tests = TESTS[name]
    mdir = work / name
    session = mdir / "session.sqlite"
    copy = mdir / "tree"
    if not (resume and session.exists()):
        mdir.mkdir(parents=True, exist_ok=True)
        session.unlink(missing_ok=True)
        scratch_copy(copy)
    env = test_env(copy, mdir)
    cmd = test_command(tests, mdir)
    cfg = mdir / "cosmic-ray.toml"
    took = timeout = 0.0
    if resume and cfg.exists():     # the unmutated run was timed when the session began
        timeout = float(cfg.read_text().split("timeout = ")[1].split()[0])
    else:
        t0 = time.monotonic()
        base = subprocess.run(cmd.split(), cwd=copy, env=env, capture_output=True, text=True)
        took = time.monotonic() - t0
        if base.returncode != 0:
            sys.exit(f"mutation: {name}: the unmutated tests fail:\n{base.stdout[-3000:]}")
        timeout = max(120.0, 3 * took)
    cfg.write_text(f'''[cosmic-ray]
module-path = "{path}"
timeout = {timeout:.0f}
excluded-modules = []
test-command = "{cmd}"

[cosmic-ray.distributor]
name = "local"

[cosmic-ray.filters.operators-filter]
exclude-operators = ["{EXCLUDE}"]
''')
    if not (resume and session.exists()):
        cr("cosmic-ray", "init", str(cfg), str(session), env=env, cwd=copy)
        cr("cr-filter-operators", str(session), str(cfg), env=env, cwd=copy)
    todo = sum(1 for _i, r in results(session, env, copy) if not r)
    print(f"{name}: {path}: " + (f"tests {took:.0f} s unmutated, " if took else "resumed, ")
          + f"timeout {timeout:.0f} s; {todo} mutants to run", flush=True)
    cr("cosmic-ray", "exec", str(cfg), str(session), env=env, cwd=copy)


def results(session: Path, env: dict, cwd: Path) -> list[tuple[dict, dict | None]]:
    out = cr("cosmic-ray", "dump", str(session), env=env, cwd=cwd).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return [(item, res) for item, res in rows
            if not res or res.get("worker_outcome") != "skipped"]


def report(name: str, work: Path) -> tuple[int, int] | None:
    """Print one module's score and survivors; (killed, valid mutants) or None if never run."""
    session = work / name / "session.sqlite"
    if not session.exists():
        print(f"{name}: not run")
        return None
    rows = results(session, dict(os.environ), work)
    done = [(i, r) for i, r in rows if r]
    valid = [(i, r) for i, r in done if r.get("test_outcome") in ("killed", "survived")]
    killed = [x for x in valid if x[1]["test_outcome"] == "killed"]
    survived = [x for x in valid if x[1]["test_outcome"] == "survived"]
    timeouts = sum(1 for _i, r in killed if (r.get("output") or "") == "timeout")
    other = len(done) - len(valid)
    score = 100.0 * len(killed) / len(valid) if valid else 0.0
    pending = len(rows) - len(done)
    print(f"{name} ({TESTS[name][0]}): score {score:.1f}% - {len(killed)} of {len(valid)} "
          f"mutants killed ({timeouts} by timeout), {len(survived)} survived"
          + (f", {other} incompetent/errored" if other else "")
          + (f", {pending} not run yet" if pending else ""))
    for item, res in sorted(survived, key=lambda x: tuple(x[0]["mutations"][0]["start_pos"])):
        m = item["mutations"][0]
        line, col = m["start_pos"]
        op = m["operator_name"].removeprefix("core/")
        change = [ln[1:].strip() for ln in (res.get("diff") or "").splitlines()
                  if ln.startswith("+") and not ln.startswith("+++")]
        print(f"  survived {m['module_path']}:{line}:{col} {op} #{m['occurrence']}: "
              f"{change[0] if change else ''}")
    return len(killed), len(valid)


def recheck(name: str, work: Path) -> None:
    """Run each survivor of a past session again, against the work tree's tests as they are
    now (copied over the session's), on the session's own copy of the module."""
    mdir = work / name
    copy = mdir / "tree"
    session = mdir / "session.sqlite"
    if not session.exists():
        print(f"{name}: not run")
        return
    shutil.rmtree(copy / "tests")
    shutil.copytree(ROOT / "tests", copy / "tests",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = test_env(copy, mdir)
    cmd = test_command(TESTS[name][1], mdir)
    for item, res in results(session, env, copy):
        if not res or res.get("test_outcome") != "survived":
            continue
        m = item["mutations"][0]
        src = copy / m["module_path"]
        keep = src.read_bytes()
        try:
            cr("cosmic-ray", "apply", m["module_path"], m["operator_name"],
               str(m["occurrence"]), env=env, cwd=copy)
            r = subprocess.run(cmd.split(), cwd=copy, env=env, capture_output=True, text=True)
        finally:
            src.write_bytes(keep)
        failed = [ln for ln in r.stdout.splitlines() if ln.startswith("FAILED ")]
        line = m["start_pos"][0]
        print(f"  {m['module_path']}:{line} {m['operator_name'].removeprefix('core/')} "
              f"#{m['occurrence']}: " + (f"now killed by {failed[0][7:].split(' - ')[0]}"
                                         if r.returncode else "still survives"), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("modules", nargs="*", help="names from --list, or their paths")
    ap.add_argument("--list", action="store_true", help="the modules and their test files")
    ap.add_argument("--report", action="store_true", help="print the scores of past runs only")
    ap.add_argument("--resume", action="store_true", help="go on with a run left unfinished")
    ap.add_argument("--recheck", action="store_true",
                    help="run a past session's survivors against the tests as they are now")
    ap.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp"))
                    / "reviewbot-mutation")
    a = ap.parse_args()
    if a.list:
        for name, (path, tests) in TESTS.items():
            print(f"{name:24} {path:32} {' '.join(t.removeprefix('tests/') for t in tests)}")
        return
    by_path = {p: n for n, (p, _t) in TESTS.items()}
    names = [by_path.get(m, m) for m in a.modules] or list(TESTS)
    bad = [m for m in names if m not in TESTS]
    if bad:
        sys.exit(f"mutation: {', '.join(bad)}: no such module (see --list)")
    if not a.report and not (BIN / "cosmic-ray").exists():
        sys.exit("mutation: cosmic-ray is not installed: .venv/bin/pip install -e '.[mutation]'")
    for name in names:
        if a.recheck:
            recheck(name, a.workdir.resolve())
            continue
        if not a.report:
            run_module(name, a.workdir.resolve(), a.resume)
        report(name, a.workdir.resolve())


if __name__ == "__main__":
    main()
