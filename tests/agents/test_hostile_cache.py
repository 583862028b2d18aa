"""The solver's disk cache for `--policy optimal`: checked on read, recomputed when damaged,
and written under --out (or where ROUTELAB_CACHE_DIR says), never under the working folder
of a command given --out."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

import agents.exact.policy as optimal
from agents.exact.policy import solution_for
from experiments.cli import main
from sim.scenario import parse_scenario

TINY = {
    "name": "tiny", "horizon_hours": 4,
    "ticket_types": {
        "a": {"arrivals_per_hour": 30, "handle_minutes": {"dist": "exponential", "mean": 3},
              "wait_cost_per_minute": 2,
              "patience_minutes": {"dist": "exponential", "mean": 10}},
        "b": {"arrivals_per_hour": 20, "handle_minutes": {"dist": "exponential", "mean": 4}}},
    "agent_groups": {"g1": {"agents": 2, "skills": {"a": 1.0, "b": 1.0}},
                     "g2": {"agents": 1, "skills": {"b": 1.0}}},
}


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(json.dumps(TINY))  # JSON is YAML
    return path


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """No solution remembered in this process: every lookup goes to the disk."""
    monkeypatch.setattr(optimal, "_SOLVED", {})


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh: None) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("ROUTELAB_CACHE_DIR", str(folder))
    return folder


def scenario():
    return parse_scenario(TINY, "<test>")


def cached_file(folder: Path) -> Path:
    files = list(folder.glob("*.npz"))
    assert len(files) == 1
    return files[0]


def rewrite(path: Path, action: np.ndarray) -> None:
    with np.load(path) as stored:
        summary = stored["summary"]
    with path.open("wb") as handle:
        np.savez_compressed(handle, action=action, summary=summary)


def test_a_cached_solution_is_read_back_whole(cache: Path) -> None:
    solved = solution_for(scenario())
    optimal._SOLVED.clear()
    again = solution_for(scenario())
    assert again is not solved and np.array_equal(again.action, solved.action)


@pytest.mark.parametrize("damage", ["truncated", "empty", "not a zip"])
def test_a_damaged_cache_file_is_solved_again_and_replaced(cache, damage) -> None:
    solved = solution_for(scenario())
    path = cached_file(cache)
    data = path.read_bytes()
    path.write_bytes({"truncated": data[: len(data) // 2], "empty": b"",
                      "not a zip": b"PK\x03\x04 garbage"}[damage])
    optimal._SOLVED.clear()
    again = solution_for(scenario())
    assert np.array_equal(again.action, solved.action)
    replaced = optimal._read_cache(scenario())  # the file holds the solution again
    assert replaced is not None and np.array_equal(replaced.action, solved.action)


def test_a_tampered_action_is_caught_and_the_cache_replaced(cache) -> None:
    solved = solution_for(scenario())
    path = cached_file(cache)
    action = solved.action.copy()
    action[action == action.max()] = 999  # every `hold` now names no pair at all
    rewrite(path, action)
    optimal._SOLVED.clear()
    assert optimal._read_cache(scenario()) is None
    again = solution_for(scenario())
    assert np.array_equal(again.action, solved.action)
    with np.load(path) as stored:
        assert np.array_equal(stored["action"], solved.action)


def test_an_infeasible_decision_in_the_cache_is_caught(cache) -> None:
    solved = solution_for(scenario())
    path = cached_file(cache)
    action = solved.action.copy()
    action[0] = 0  # state 0 has empty queues: no pair can start there
    rewrite(path, action)
    assert optimal._read_cache(scenario()) is None
    rewrite(path, solved.action[:-1])  # one state short
    assert optimal._read_cache(scenario()) is None


def test_simulate_optimal_runs_on_a_truncated_cache(cache, tiny, tmp_path, capsys) -> None:
    assert main(["solve", str(tiny), "--json", "--no-heuristics"]) == 0
    path = cached_file(cache)
    path.write_bytes(path.read_bytes()[:100])
    optimal._SOLVED.clear()
    assert main(["simulate", str(tiny), "--policy", "optimal", "--out", str(tmp_path / "o"),
                 "--quiet"]) == 0
    assert optimal._read_cache(scenario()) is not None


def test_with_out_the_cache_goes_under_out_not_the_working_folder(
        tmp_path, tiny, monkeypatch, fresh) -> None:
    monkeypatch.delenv("ROUTELAB_CACHE_DIR", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    out = tmp_path / "sim"
    assert main(["simulate", str(tiny), "--policy", "optimal", "--out", str(out), "--quiet"]) == 0
    assert cached_file(out / "cache" / "optimal")
    assert list(work.iterdir()) == []
    assert "ROUTELAB_CACHE_DIR" not in os.environ  # the command's choice ends with it

    optimal._SOLVED.clear()
    bench = tmp_path / "bench"
    assert main(["benchmark", str(tiny), "--policies", "fifo,optimal", "--seeds", "1",
                 "--workers", "1", "--out", str(bench), "--quiet"]) == 0
    assert cached_file(bench / "cache" / "optimal")
    assert list(work.iterdir()) == []


def test_a_command_with_out_still_reads_the_default_cache(tmp_path, tiny, monkeypatch,
                                                          fresh) -> None:
    monkeypatch.delenv("ROUTELAB_CACHE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["solve", str(tiny), "--json", "--no-heuristics"]) == 0  # the default folder
    assert cached_file(tmp_path / "results" / "runs" / "cache" / "optimal")
    optimal._SOLVED.clear()

    def no_solving(*args, **kwargs):
        raise AssertionError("solved again instead of reading the cache")

    monkeypatch.setattr(optimal, "solve", no_solving)
    out = tmp_path / "sim"
    assert main(["simulate", str(tiny), "--policy", "optimal", "--out", str(out), "--quiet"]) == 0
    assert not (out / "cache").exists()


def test_export_writes_no_cache(tmp_path, tiny, monkeypatch, fresh) -> None:
    monkeypatch.delenv("ROUTELAB_CACHE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "t" / "table.json"
    assert main(["export", "optimal", "--scenario", str(tiny), "--out", str(out), "--days", "1",
                 "--seeds-eval", "1", "--quiet"]) == 0
    assert sorted(p.name for p in out.parent.iterdir()) == ["table.csv", "table.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t", "tiny.yaml"]
