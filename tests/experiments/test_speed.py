"""`routelab speed --quick`: a functional test of the benchmark (no timing thresholds)."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys

import pytest

from agents.heuristics import Fifo
from benchmarks.baselines import Queue, Replay, mmc_inputs, simpy_callbacks, simpy_processes
from benchmarks.scaling import mmc_scenario
from benchmarks.theory import batch_means, erlang_c_mean_wait
from benchmarks.where import PARTS, loop_parts
from experiments.cli import main
from sim.model import SupportModel

MODELS = ["routelab", "SimPy callbacks only", "SimPy processes + Resource", "Ciw"]


def test_quick_run_says_what_it_measured_and_checks_every_ticket(tmp_path, capsys):
    pytest.importorskip("ciw")
    path = tmp_path / "speed.json"
    assert main(["speed", "--quick", "--json", str(path)]) == 0
    printed = capsys.readouterr().out
    for text in [*MODELS, "whole process", "in process", "Where routelab's time goes",
                 "every one of its", "Erlang C", "peak memory"]:
        assert text in printed, text
    assert "target" not in printed.lower()
    figures = json.loads(path.read_text())
    race = figures["race"]
    models = {m["model"]: m for m in race["models"]}
    assert list(models) == MODELS
    for m in models.values():
        # Poisson arrivals over a horizon sized for 20,000: +-1,000 is 7 sd.
        assert 19_000 < m["tickets"] < 21_000
        assert m["whole_process"]["best_cpu_seconds"] > m["in_process"]["best_cpu_seconds"] > 0
    # Two events a ticket (arrival, finish) in routelab and in the callback model.
    assert models["routelab"]["events"] == pytest.approx(2 * models["routelab"]["tickets"], abs=3)
    assert models["SimPy callbacks only"]["tickets"] == models["routelab"]["tickets"]
    ratio = race["ratios"]["Ciw"]
    assert ratio["whole_process"] == pytest.approx(
        models["routelab"]["whole_process"]["tickets_per_cpu_second"]
        / models["Ciw"]["whole_process"]["tickets_per_cpu_second"], rel=1e-2)

    # The SimPy models and Ciw fed the same inputs got routelab's waits, every ticket.
    checks = race["checks"]
    assert checks["agree"] is True
    for name in ("SimPy callbacks only", "SimPy processes + Resource", "Ciw fed routelab's inputs"):
        assert checks[name]["tickets"] == models["routelab"]["tickets"]
        assert checks[name]["max_wait_difference_min"] <= 1e-6
    # Ciw draws its own numbers. Over 30 seeds at this size (20,000 tickets) its
    # mean wait was 0.97 x Erlang C (0.669 min) with sd 0.20 and range 0.63-1.37:
    # load 0.9 makes waits noisy. 0.4-1.6 is 3 sd; a wrong arrival rate or server
    # count at load 0.9 moves the mean wait by a factor of several.
    erlang = race["erlang_c"]
    assert erlang["erlang_c_mean_wait_min"] == pytest.approx(0.6687, abs=1e-4)
    assert 0.4 < erlang["Ciw"]["mean_wait_min"] / erlang["erlang_c_mean_wait_min"] < 1.6
    assert erlang["routelab"]["summary_agrees"] is True

    where = figures["where"]
    assert set(where["seconds"]) == set(PARTS)
    # The samples charge all the CPU time between them: the parts add up to the total.
    assert sum(where["seconds"].values()) == pytest.approx(where["cpu_seconds"], rel=0.05)
    assert where["seconds"]["imports"] > 0 and where["seconds"]["writing the files"] > 0

    assert [r["agents"] for r in figures["scaling_agents"]] == [10, 100]
    rows = {(r["types"], r["layout"]): r for r in figures["scaling_types"]}
    assert set(rows) == {(n, layout) for n in (1, 5) for layout in ("dedicated", "generalist")}
    # A team per type never faces a choice; one generalist group over 5 busy queues does.
    assert all(rows[n, "dedicated"]["share_with_a_choice"] == 0 for n in (1, 5))
    assert rows[5, "generalist"]["share_with_a_choice"] > 0
    assert rows[5, "generalist"]["pairs_per_choice"] >= 2
    memory = figures["memory"]
    assert 4_500 < memory["tickets"] < 5_600  # 5,000 arrivals plus about 1% transfers
    assert memory["peak_rss_mb"] >= memory["rss_after_imports_mb"] > 0


def test_without_ciw_it_names_the_extra_in_one_line(monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "ciw" else real(name, *a))
    assert main(["speed", "--quick"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == ("routelab: error: routelab speed needs the bench extra: "
                           "pip install 'routelab[bench]'")


def test_bad_ticket_count_is_one_line_and_exit_2(capsys):
    assert main(["speed", "--tickets", "10"]) == 2
    assert "--tickets" in capsys.readouterr().err


def test_baseline_inputs_are_routelabs_own():
    queue = Queue(10, 5_000)
    replay = mmc_inputs(queue, 3)
    model = SupportModel(mmc_scenario(10, 5_000), 3)
    tickets = model.run(Fifo()).tickets
    assert [k.arrival for k in tickets] == replay.arrivals  # exactly, not approximately
    assert [k.work for k in tickets] == replay.work


def test_a_baseline_runs_as_its_own_process(tmp_path):
    out = tmp_path / "waits.npy"
    done = subprocess.run([sys.executable, "-m", "benchmarks.baselines", "callbacks",
                           "--tickets", "3000", "--seed", "2", "--waits", str(out)],
                          capture_output=True, text=True, check=True)
    figures = json.loads(done.stdout)
    assert figures["tickets"] == len(mmc_inputs(Queue(10, 3000), 2).arrivals)
    assert figures["events"] == 2 * figures["tickets"]  # one arrival and one finish each


def test_erlang_c_matches_the_published_example():
    # 100 calls per 30 minutes, 3-minute handle time, 14 agents: mean wait 7.84 s.
    assert 60 * erlang_c_mean_wait(14, 100 / 30, 3.0) == pytest.approx(7.84, abs=0.01)
    assert erlang_c_mean_wait(10, 10.0, 1.0) == math.inf


@pytest.mark.parametrize("agents, expected", [(1, [0.0, 1.5, 3.0]), (2, [0.0, 0.0, 1.0])])
def test_baselines_replay_a_hand_trace(agents, expected):
    # Arrivals 0.5, 1.0, 1.5 with 2 minutes of work each. One agent: starts at
    # 0.5, 2.5, 4.5. Two agents: starts at 0.5, 1.0, then 2.5 when the first frees.
    replay = Replay([0.5, 1.0, 1.5], [2.0, 2.0, 2.0], agents)
    models = [simpy_processes, simpy_callbacks]
    if importlib.util.find_spec("ciw"):
        from benchmarks.baselines import ciw_replay

        models.append(ciw_replay)
    for model in models:
        assert model(replay) == pytest.approx(expected, abs=1e-12), model.__name__


def test_batch_means_half_width():
    values = [float(b) for b in range(20) for _ in range(5)]  # batch means 0..19
    mean, half = batch_means(values, batches=20)
    assert mean == pytest.approx(9.5)
    assert half == pytest.approx(2.093024 * (35 ** 0.5) / (20 ** 0.5), rel=1e-5)


def test_every_line_of_the_model_loop_belongs_to_a_part():
    parts = loop_parts()
    assert {"arrivals", "decisions", "starts", "finishes", "event calendar",
            "other events"} <= set(parts.values()) <= set(PARTS)
