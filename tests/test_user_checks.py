"""What a reviewer checks in a review's output, each one a bug that once passed the whole suite
(issue 15's mutants): the functions a patch touches, pre-existing vs introduced, identities
across revisions, byte-identical output whatever the hash seed, quoted-printable mail, the
reply's quoted context, README line 1 and the README's JSON schema.  All through the CLI."""
from __future__ import annotations

import email
import json
import os
import re
import shutil
import subprocess
import sys
from email import policy
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kpatch import file_diff, patch_mail, replace_once, show  # noqa: E402
from sim_fixtures import apply_thread  # noqa: E402
from support.mbox import split_mboxrd  # noqa: E402

from reviewbot import corpus

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def reviewbot(*args, env=None, cwd="/"):
    e = dict(os.environ, REVIEWBOT_NO_MEMO="1")
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "reviewbot", *args], capture_output=True,
                          text=True, cwd=cwd, env=e, timeout=600)


def review_json(*args, **kw) -> dict:
    r = reviewbot("review", "--format", "json", *args, **kw)
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def base_tree(tmp_path_factory):
    return apply_thread(tmp_path_factory.mktemp("base") / "tree", None)


def one_patch(tmp_path, repo: Path, path: str, edits, subject="mm: a change",
              msgid="one@example.org") -> Path:
    old = show(repo, "HEAD", path)
    new = old
    for a, b in edits:
        new = replace_once(new, a, b)
    mbox = tmp_path / f"{msgid}.mbox"
    mbox.write_text(patch_mail(subject, msgid, [file_diff(repo, path, old, new)]))
    return mbox


# --- diff: the function of each added line ------------------------------------------------

def test_an_added_line_in_the_middle_of_a_hunk_is_named_for_its_own_function(tmp_path,
                                                                          base_tree):
    # one hunk over two small functions: a line added in each, the second one mid-hunk
    mbox = one_patch(tmp_path, base_tree, "mm/memory.c", [
        ("\treturn fault_around_bytes >> PAGE_SHIFT;\n",
         "\tWARN_ON_ONCE(!fault_around_bytes);\n\treturn fault_around_bytes >> PAGE_SHIFT;\n"),
        ("\treturn ~(fault_around_bytes - 1) & PAGE_MASK;\n",
         "\tWARN_ON_ONCE(fault_around_bytes & (PAGE_SIZE - 1));\n"
         "\treturn ~(fault_around_bytes - 1) & PAGE_MASK;\n")])
    hunks = [ln for ln in mbox.read_text().splitlines() if ln.startswith("@@")]
    assert len(hunks) == 1, hunks
    rep = review_json("--mbox", str(mbox), "--tree", str(base_tree), "--no-simulate")
    [p] = [p for p in rep["series"]["patches"] if p["index"] == 1]
    assert p["functions"] == ["mm/memory.c:fault_around_mask", "mm/memory.c:fault_around_pages"]


# --- engine: introduced vs pre-existing -------------------------------------------------

def test_a_finding_the_base_already_has_is_pre_existing(tmp_path, base_tree):
    # the COW series that forgets an unlock, reviewed against the tree without it: the
    # simulator's I1 finding is the series' doing
    rep = review_json("--mbox", str(corpus.thread_path("cow-missing-unlock")),
                      "--tree", str(base_tree))
    [new] = [f for f in rep["findings"] if f["rule"] == "fault-sim"]
    assert new["introduced"] is True and new["message"].startswith("I1")
    # the same bug already merged, and a later patch touching the same function: the
    # finding is still there, but the patch did not bring it
    merged = apply_thread(tmp_path / "merged", "cow-missing-unlock")
    mbox = one_patch(tmp_path, merged, "mm/memory.c", [
        ("\tnew_page = alloc_page_vma(GFP_HIGHUSER_MOVABLE, vma, address);\n\tif (!new_page)\n",
         "\tnew_page = alloc_page_vma(GFP_HIGHUSER_MOVABLE, vma, address);\n"
         "\tif (unlikely(!new_page))\n")], subject="mm: the COW page allocation rarely fails")
    r = reviewbot("review", "--mbox", str(mbox), "--tree", str(merged), "--format", "json")
    later = json.loads(r.stdout)
    [old] = [f for f in later["findings"] if f["rule"] == "fault-sim"]
    assert old["identity"] == new["identity"] and old["function"] == "do_cow_fault"
    assert old["introduced"] is False
    text = reviewbot("review", "--mbox", str(mbox), "--tree", str(merged)).stdout
    assert "pre-existing in the base" in text and "introduced by this series" not in text
    assert "0 introduced, 1 pre-existing" in text


def test_the_total_line_counts_the_findings(tmp_path):
    rep = review_json("--bundled", "cow-missing-unlock", "--no-simulate")
    text = reviewbot("review", "--bundled", "cow-missing-unlock", "--no-simulate").stdout
    fs = rep["findings"]
    n = {s: sum(f["severity"] == s for f in fs) for s in ("error", "warning", "info")}
    new = sum(f["introduced"] for f in fs)
    assert fs and new == len(fs)
    assert (f"total: {n['error']} errors, {n['warning']} warnings, {n['info']} info; "
            f"{new} introduced, 0 pre-existing") in text


# --- identity across revisions -------------------------------------------------------------

def test_identity_is_stable_across_revisions_and_follows_the_site():
    v1 = review_json("--bundled", "cow", "--revision", "1", "--no-simulate")
    v2 = review_json("--bundled", "cow", "--no-simulate")
    assert (v1["series"]["revision"], v2["series"]["revision"]) == (1, 2)

    def field_init(rep):
        return {f["function"]: f for f in rep["findings"] if f["rule"] == "field-init"}
    a, b = field_init(v1), field_init(v2)
    assert all(re.fullmatch(r"[0-9a-f]{16}", f["identity"]) for f in [*a.values(), *b.values()])
    # do_fault_around() is left unset in both revisions, at a line v2 moved: same identity
    assert a["do_fault_around"]["line"] != b["do_fault_around"]["line"]
    assert a["do_fault_around"]["identity"] == b["do_fault_around"]["identity"]
    # v1 also forgot do_page_mkwrite(): another site, another identity, gone from v2
    assert a["do_page_mkwrite"]["identity"] != a["do_fault_around"]["identity"]
    gone = {f["identity"] for f in v1["findings"]} - {f["identity"] for f in v2["findings"]}
    assert a["do_page_mkwrite"]["identity"] in gone
    # what else v2 no longer has follows from that one fix: do_page_mkwrite() and the
    # page_mkwrite return that do_wp_page() consumes
    assert all(re.search(r"do_page_mkwrite|do_wp_page", f["key"])
               for f in v1["findings"] if f["identity"] in gone)
    assert not {f["identity"] for f in v1["findings"] if f["function"] == "do_fault_around"} \
        & gone


# --- determinism --------------------------------------------------------------------------

@pytest.mark.parametrize("thread", ["cow", "cow-missing-init", "cow-missing-unlock"])
def test_output_is_byte_identical_whatever_the_hash_seed(thread, tmp_path):
    for fmt in ("text", "json", "sarif"):
        runs = [reviewbot("review", "--bundled", thread, "--format", fmt,
                          env={"PYTHONHASHSEED": seed, "REVIEWBOT_CACHE": str(tmp_path / seed)})
                for seed in ("1", "2")]
        assert [r.returncode for r in runs] == [1, 1], runs[0].stderr
        assert runs[0].stdout, fmt
        assert "simulation" in runs[0].stdout or "codeFlows" in runs[0].stdout, fmt
        assert runs[0].stdout == runs[1].stdout, f"{thread} --format {fmt}"


# --- mail: quoted-printable -----------------------------------------------------------------

def test_a_quoted_printable_series_is_reviewed_as_its_decoded_diff(tmp_path, base_tree):
    plain = corpus.thread_path("cow-missing-init")
    out = []
    for raw in split_mboxrd(plain.read_bytes()):
        msg = email.message_from_bytes(raw, policy=policy.default)
        if "diff --git" in msg.get_content():
            body = msg.get_content()
            del msg["Content-Transfer-Encoding"]
            msg.set_content(body, cte="quoted-printable")
        out.append(b"From qp@example.org Mon Sep 17 00:00:00 2001\n" + msg.as_bytes() + b"\n")
    qp = tmp_path / "qp.mbox"
    qp.write_bytes(b"".join(out))
    assert b"=3D" in qp.read_bytes() and b"=\n" in qp.read_bytes()
    want = review_json("--mbox", str(plain), "--tree", str(base_tree), "--no-simulate")
    got = review_json("--mbox", str(qp), "--tree", str(base_tree), "--no-simulate")
    assert got["findings"] == want["findings"] and got["skipped"] == want["skipped"]
    fix = next(f["fix"] for f in got["findings"] if f.get("fix"))
    assert "+\tvmf.cow_page = NULL;" in fix
    # and the reply to it quotes the decoded patch, as it does the plain one
    replies = [re.sub(r"^Date: .*$|--mbox \S+", "", reviewbot(
        "reply", "--mbox", str(m), "--tree", str(base_tree), "--no-simulate",
        "--from", "reviewbot <bot@example.net>").stdout, flags=re.M) for m in (plain, qp)]
    assert "> +\tstruct page *cow_page;" in replies[0] and "=3D" not in replies[1]
    assert replies[1] == replies[0]


# --- reply: five lines of context ---------------------------------------------------------

def test_a_reply_quotes_five_lines_above_each_comment():
    r = reviewbot("reply", "--bundled", "cow-missing-init", "--no-simulate",
                  "--from", "reviewbot <bot@example.net>")
    assert r.returncode in (0, 1), r.stderr
    above = []
    lines = r.stdout.split("\n")
    for i in range(1, len(lines) - 1):
        if lines[i] == "" and lines[i - 1].startswith("> ") and not lines[i + 1].startswith(">"):
            n = 0       # quoted diff lines up to and including the commented one
            while lines[i - 1 - n].startswith("> ") and not lines[i - 1 - n].startswith("> @@"):
                n += 1
            above.append(n)
    assert above and max(above) == 5, above


# --- README ------------------------------------------------------------------------------

def test_readme_line_one_reviews_the_bundled_series_through_the_console_script(tmp_path):
    line1 = (ROOT / "README.md").read_text().splitlines()[0]
    assert line1 == "bash .ci/setup && .venv/bin/reviewbot review --bundled --exit-zero"
    script = BIN / "reviewbot"
    assert script.exists(), f"no console script {script}"
    r = subprocess.run([str(script), *line1.split(".venv/bin/reviewbot ")[1].split()],
                       capture_output=True, text=True, cwd=tmp_path, timeout=600,
                       env=dict(os.environ, REVIEWBOT_NO_MEMO="1"))
    assert r.returncode == 0, r.stderr                 # --exit-zero: findings, status 0
    # the bundled COW series: its unset member and its contract change, and the simulator ran
    assert "WARNING:FIELD_INIT:" in r.stdout and "WARNING:FAULT_CONTRACT:" in r.stdout
    assert "simulation: holds:" in r.stdout
    assert re.search(r"^total: \d+ errors, [1-9]\d* warnings, .*introduced", r.stdout, re.M)


def _keys_at_top(obj: str) -> set[str]:
    """The quoted names of one `{...}` of the README block at its own level: not values
    (after `:` or `|`), not the keys of the objects and lists nested in it."""
    flat, depth = [], 0
    for ch in obj[1:-1]:
        depth += {"{": 1, "[": 1}.get(ch, 0)
        if depth == 0:
            flat.append(ch)
        depth -= {"}": 1, "]": 1}.get(ch, 0)
    return {m.group(2) for m in re.finditer(r'([:|]\s*)?"([a-z_]+)"', "".join(flat))
            if not m.group(1)}


def _object_after(block: str, name: str) -> str:
    """The `{...}` that follows `"name": ` (the first element's, for a list of objects)."""
    start = block.index("{", block.index(f'"{name}": '))
    depth = 0
    for i in range(start, len(block)):
        depth += {"{": 1, "[": 1}.get(block[i], 0) - {"}": 1, "]": 1}.get(block[i], 0)
        if depth == 0:
            return block[start:i + 1]
    raise AssertionError(f"README JSON block: {name} is not closed")


def readme_json_schema() -> dict[str, set[str]]:
    """The key names the README's "JSON (`review --format json`)" block lists per object."""
    text = (ROOT / "README.md").read_text()
    block = text.split("## JSON (`review --format json`)")[1].split("```")[1].strip()
    return {"top": _keys_at_top(block),
            "version": int(re.search(r'"version": (\d+)', block)[1]),
            "series": _keys_at_top(_object_after(block, "series")),
            **{k: _keys_at_top(_object_after(block, k))
               for k in ("patches", "findings", "sites", "skipped")}}


def test_json_keys_are_the_readme_schema():
    schema = readme_json_schema()
    rep = review_json("--bundled", "cow-missing-init")
    assert set(rep) == schema["top"] == {"version", "series", "findings", "skipped"}
    assert rep["version"] == schema["version"] == 1
    assert set(rep["series"]) == schema["series"]
    # present only for some findings; no reply in this thread raised anything first
    optional = {"simulation", "fix", "patch_line", "code", "raised_in"}
    for f in rep["findings"]:
        assert schema["findings"] - optional <= set(f) <= schema["findings"], f["rule"]
    assert schema["findings"] - {"raised_in"} <= {k for f in rep["findings"] for k in f}
    no_tree = review_json("--bundled", "cow-missing-init", "--no-tree")
    for name, items in (("patches", rep["series"]["patches"]), ("skipped", no_tree["skipped"]),
                        ("sites", [s for f in rep["findings"] for s in f["sites"]])):
        assert items and all(set(x) == schema[name] for x in items), name


# --- simulator: what never ran, and a freed block still mapped ------------------------------

def simulate_json(tree: Path, *args) -> tuple[int, dict]:
    r = reviewbot("simulate", "--tree", str(tree), "--format", "json", *args)
    assert r.returncode in (0, 1, 2), r.stderr
    return r.returncode, json.loads(r.stdout)


def test_unreached_names_the_branch_the_scenario_cannot_take(base_tree):
    # the modelled file is XIP: truncate's `if (mapping_is_xip(...))` never takes its else
    src = (base_tree / "fs/ext2/inode.c").read_text().splitlines()
    line = next(i for i, t in enumerate(src, 1) if "if (mapping_is_xip(inode->i_mapping))" in t)
    rc, res = simulate_json(base_tree, "--scenario", "cow-read-truncate")
    assert rc == 0 and res["verdict"] == "holds"
    assert f"fs/ext2/inode.c:{line}:else" in res["unreached"]
    assert f"fs/ext2/inode.c:{line}:then" not in res["unreached"]
    text = reviewbot("simulate", "--tree", str(base_tree), "--scenario", "cow-read-truncate")
    assert f"fs/ext2/inode.c:{line}:else" in text.stdout.split("unreached branches: ")[1]


def test_a_freed_block_left_mapped_is_reported_as_i4a(tmp_path, base_tree):
    # the XIP handler as it was before "fix XIP fault vs truncate race": it maps the block
    # without holding i_mmap or rechecking the size, so truncate frees it under the PTE
    root = tmp_path / "tree"
    shutil.copytree(base_tree, root, ignore=shutil.ignore_patterns(".git"))
    path = root / "mm/filemap_xip.c"
    path.write_text(replace_once(
        path.read_text(),
        "\ti_mmap_lock_read(mapping);\n\tif (unlikely(vmf->pgoff >= xip_size_in_pages(inode))) {\n"
        "\t\ti_mmap_unlock_read(mapping);\n\t\treturn VM_FAULT_SIGBUS;\n\t}\n"
        "\terr = vm_insert_mixed(vma, (unsigned long)vmf->virtual_address,\n\t\t\t      xip_pfn);\n"
        "\ti_mmap_unlock_read(mapping);\n",
        "\terr = vm_insert_mixed(vma, (unsigned long)vmf->virtual_address,\n\t\t\t      xip_pfn);\n"))
    rc, res = simulate_json(root, "--scenario", "cow-read-truncate")
    assert rc == 1 and res["verdict"] == "violated"
    assert res["invariant"].split()[0] == "I4a"
    # the file's page 0 is block B0, which truncate frees under the PTE
    assert res["message"] == "pte[P:0] maps block B0, which has been freed"
    assert res["trace"][-1]["action"] == "VIOLATION: " + res["message"]
    assert {"FR", "TR"} <= {s["thread"] for s in res["trace"]}


# --- checklist: one item per finding of the same review ---------------------------------------

def test_checklist_items_are_the_reviews_findings_with_the_simulators_verdict():
    rep = review_json("--bundled", "cow-missing-init")
    r = reviewbot("checklist", "--bundled", "cow-missing-init")
    assert r.returncode in (0, 1) and r.stdout.startswith("# Review checklist"), r.stderr
    sections = {s.split("\n", 1)[0]: s for s in r.stdout.split("\n## ")[1:]}
    subject = {p["msgid"]: p["subject"] for p in rep["series"]["patches"]}
    for f in rep["findings"]:
        [sec] = [s for title, s in sections.items() if title == subject[f["patch"]]]
        where = f"{f['file']}:{f['line']}" + (f" in {f['function']}()" if f["function"] else "")
        head = (f"- [ ] **{f['rule']}** ({f['severity']}, introduced by this patch, {where}): ")
        assert head in sec, head
        item = sec.split(head, 1)[1].split("\n- [ ] ", 1)[0]
        sim = f.get("simulation") or {}
        if sim.get("verdict") in ("violated", "holds"):
            assert f"verdict: {sim['verdict']}" in item, item
    assert "verdict: violation" not in r.stdout


# --- a report read back from its JSON ----------------------------------------------------------

@pytest.mark.parametrize("args", [["--bundled", "cow-missing-init", "--no-simulate"],
                                  ["--bundled", "cow", "--no-tree"],
                                  # outside any checkout: applied to no tree, exit 3
                                  ["--mbox", str(corpus.thread_path("cow")), "--no-simulate"]])
def test_a_report_read_back_from_its_json_says_the_same(args):
    from reviewbot.findings import Report
    from reviewbot.render.text import render_text
    r = reviewbot("review", "--format", "json", *args)
    text = reviewbot("review", *args)
    back = Report.from_dict(json.loads(r.stdout))
    assert back.to_json() == r.stdout
    assert back.exit_status() == r.returncode == text.returncode
    assert render_text(back) == text.stdout


@pytest.fixture(scope="module")
def cow_tree(tmp_path_factory):
    return apply_thread(tmp_path_factory.mktemp("cow") / "tree", "cow")


@pytest.mark.parametrize("old, new, message", [
    # the COW page's memcg charge is never committed once it is mapped
    ("\tdo_set_pte(vma, address, new_page, pte, true, true);\n"
     "\tmem_cgroup_commit_charge(new_page, memcg, false);\n",
     "\tdo_set_pte(vma, address, new_page, pte, true, true);\n",
     "memcg charge of page#1 neither committed nor cancelled"),
    # the failure path drops the charge but not the page
    ("uncharge_out:\n\tmem_cgroup_cancel_charge(new_page, memcg);\n"
     "\tpage_cache_release(new_page);\n",
     "uncharge_out:\n\tmem_cgroup_cancel_charge(new_page, memcg);\n",
     "anonymous page#1 is neither mapped nor freed (ref 1)"),
])
def test_a_leaked_cow_page_or_charge_is_i6(tmp_path, cow_tree, old, new, message):
    root = tmp_path / "tree"
    shutil.copytree(cow_tree, root, ignore=shutil.ignore_patterns(".git"))
    path = root / "mm/memory.c"
    path.write_text(replace_once(path.read_text(), old, new))
    rc, res = simulate_json(root, "--scenario", "cow-truncate")
    assert rc == 1 and res["invariant"].split()[0] == "I6"
    assert res["message"] == message
    assert simulate_json(cow_tree, "--scenario", "cow-truncate")[1]["verdict"] == "holds"
