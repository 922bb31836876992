"""SPIN cross-check: the Promela export of the seed scenario agrees with our verdict."""
from __future__ import annotations

import os
import shutil

import pytest

from reviewbot.sim import promela, simulate
from reviewbot.sim.run import prepare
from sim_fixtures import apply_thread, reader

import sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))


@pytest.mark.parametrize("thread", ["cow", "cow-missing-unlock"])
def test_spin_agrees_with_simulator(thread, tmp_path):
    if not shutil.which("spin") or not shutil.which("cc"):
        if os.environ.get("REVIEWBOT_REQUIRE_COMPONENTS") == "1":
            pytest.fail("spin/cc missing")
        pytest.skip("spin/cc missing (apt-get install spin)")
    import sim_spin
    tree = apply_thread(tmp_path / "tree", thread)
    ours = simulate(reader(tree), "cow-read-truncate")
    prog, _, _ = prepare(reader(tree), "cow-read-truncate")
    model = promela.export(prog)
    assert "UNLOCK_NOT_SAME %d" % (1 if thread == "cow" else 0) in model
    work = tmp_path / "spin"
    work.mkdir()
    verdict, states, why, _ = sim_spin.spin(model, work)
    assert verdict == ours.verdict
    assert states > 0
