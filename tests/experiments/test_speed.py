"""`routelab speed --quick`: a functional smoke test of the benchmark (no timing thresholds)."""

from __future__ import annotations

import json

import pytest

from experiments.cli import main
from experiments.speed_baselines import (
    Replay,
    batch_means,
    ciw_replay,
    erlang_c_mean_wait,
    simpy_callbacks,
    simpy_processes,
)

MODELS = ["routelab", "routelab (simulate only)", "Ciw", "SimPy processes + Resource",
          "SimPy callbacks (ceiling)"]


def test_quick_run_prints_the_models_and_writes_sane_figures(tmp_path, capsys):
    path = tmp_path / "speed.json"
    assert main(["speed", "--quick", "--json", str(path)]) == 0
    printed = capsys.readouterr().out
    for name in [*MODELS, "routelab/ciw", "routelab/simpy-process", "Erlang C", "peak memory"]:
        assert name in printed
    figures = json.loads(path.read_text())
    race = figures["race"]
    models = {m["model"]: m for m in race["models"]}
    assert list(models) == MODELS
    for m in models.values():
        assert m["tickets_per_second"] > 0
        # Poisson arrivals over a horizon sized for 20,000: +-1,000 is 7 sd.
        assert 19_000 < m["tickets"] < 21_000

    # The SimPy models replay routelab's arrivals and work under FIFO, so their
    # waits are routelab's up to float rounding; so are Ciw's on the same inputs.
    assert race["checks"]["replays_agree"] is True
    wait = models["routelab"]["mean_wait_min"]
    assert wait > 0
    for name in ("SimPy processes + Resource", "SimPy callbacks (ceiling)"):
        assert models[name]["mean_wait_min"] == pytest.approx(wait, rel=1e-9)
    # Ciw draws its own numbers. Over 30 seeds at this size (20,000 tickets) its
    # mean wait was 0.97 x Erlang C (0.669 min) with sd 0.20 and range 0.63-1.37:
    # load 0.9 makes waits noisy. 0.4-1.6 is 3 sd; a wrong arrival rate or server
    # count at load 0.9 moves the mean wait by a factor of several.
    erlang_c = erlang_c_mean_wait(10, 9.0, 1.0)
    assert race["queue"]["erlang_c_mean_wait_min"] == pytest.approx(erlang_c, rel=1e-6)
    assert erlang_c == pytest.approx(0.6687, abs=1e-4)
    assert 0.4 * erlang_c < models["Ciw"]["mean_wait_min"] < 1.6 * erlang_c
    assert race["ratios"]["routelab/ciw"] == pytest.approx(
        models["routelab"]["tickets_per_second"] / models["Ciw"]["tickets_per_second"], rel=1e-2)

    assert [r["agents"] for r in figures["scaling_agents"]] == [10, 100]
    assert all(r["us_per_ticket"] > 0 for r in figures["scaling_agents"])
    rows = {(r["types"], r["layout"]): r for r in figures["scaling_types"]}
    assert set(rows) == {(n, layout) for n in (1, 5) for layout in ("dedicated", "generalist")}
    # A team per type never faces a choice; one generalist group over 5 busy queues does.
    assert all(rows[n, "dedicated"]["share_with_a_choice"] == 0 for n in (1, 5))
    assert rows[5, "generalist"]["share_with_a_choice"] > 0
    assert rows[5, "generalist"]["pairs_per_choice"] >= 2

    memory = figures["memory"]
    assert 4_500 < memory["tickets"] < 5_600  # 5,000 arrivals plus about 1% transfers
    assert memory["peak_rss_mb"] >= memory["rss_after_imports_mb"] > 0
    assert memory["tracemalloc_peak_mb"] > 0


def test_bad_ticket_count_is_one_line_and_exit_2(capsys):
    assert main(["speed", "--tickets", "10"]) == 2
    assert "--tickets" in capsys.readouterr().err


def test_erlang_c_matches_the_published_example():
    # 100 calls per 30 minutes, 3-minute handle time, 14 agents: mean wait 7.84 s.
    assert 60 * erlang_c_mean_wait(14, 100 / 30, 3.0) == pytest.approx(7.84, abs=0.01)
    assert erlang_c_mean_wait(10, 10.0, 1.0) == float("inf")


@pytest.mark.parametrize("agents, expected", [(1, [0.0, 1.5, 3.0]), (2, [0.0, 0.0, 1.0])])
def test_baselines_replay_a_hand_trace(agents, expected):
    # Arrivals 0.5, 1.0, 1.5 with 2 minutes of work each. One agent: starts at
    # 0.5, 2.5, 4.5. Two agents: starts at 0.5, 1.0, then 2.5 when the first frees.
    replay = Replay([0.5, 1.0, 1.5], [2.0, 2.0, 2.0], agents)
    for model in (simpy_processes, simpy_callbacks, ciw_replay):
        assert model(replay) == pytest.approx(expected, abs=1e-12), model.__name__


def test_batch_means_half_width():
    values = [float(b) for b in range(20) for _ in range(5)]  # batch means 0..19
    mean, half = batch_means(values, batches=20)
    assert mean == pytest.approx(9.5)
    assert half == pytest.approx(2.093024 * (35 ** 0.5) / (20 ** 0.5), rel=1e-5)
