"""The learners' table from `routelab train` folders (experiments/learning_table.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from experiments.learning_table import main, run_rows


def _run(folder: Path, costs: dict[str, list[float]], *, warm: bool = True) -> Path:
    folder.mkdir(parents=True)
    config = {"scenario": "n_model", "warm_start": {"enabled": warm},
              "improve": {"enabled": True}, "result": {"wall_seconds": 90.0}}
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    rows = [{"scenario": "n_model", "policy": policy, "seed": seed, "ticket_type": "ALL",
             "cost_per_hour": value}
            for policy, values in costs.items() for seed, value in enumerate(values)]
    pd.DataFrame(rows).to_csv(folder / "evaluation.csv", index=False)
    return folder


def test_rows_pair_each_policy_with_the_optimum_the_teacher_and_the_best_heuristic(
        tmp_path: Path) -> None:
    costs = {"model": [100.0, 110.0, 104.0], "tuned_index": [101.0, 112.0, 105.0],
             "cmu": [104.0, 115.0, 107.0], "fifo": [130.0, 140.0, 150.0],
             "optimal": [99.0, 111.0, 103.0]}
    rows = {row["policy"]: row for row in run_rows(_run(tmp_path / "a", costs))}
    learner = rows["default learner"]
    assert learner["vs_tuned"] == pytest.approx(np.mean([-1.0, -2.0, -1.0]))
    assert learner["vs_optimum"] == pytest.approx(np.mean([1.0, -1.0, 1.0]))
    assert learner["vs_optimum_pct"] == pytest.approx(100 * (1 / 3) / np.mean(costs["optimal"]))
    assert learner["vs_best"] == pytest.approx(-4.0)  # cmu is the best heuristic, not fifo
    assert learner["vs_tuned_low"] < learner["vs_tuned"] < learner["vs_tuned_high"]
    assert "best heuristic (cmu)" in rows
    assert learner["command"] == "routelab train n_model"


def test_the_command_writes_csv_and_markdown_and_names_ppo_from_scratch(tmp_path: Path) -> None:
    costs = {"model": [100.0, 110.0], "cmu": [104.0, 115.0], "optimal": [99.0, 109.0]}
    run = _run(tmp_path / "s", costs, warm=False)
    main([str(run), "--out", str(tmp_path / "out")])
    table = pd.read_csv(tmp_path / "out" / "learning.csv")
    assert list(table["policy"]) == ["PPO from scratch", "best heuristic (cmu)", "exact optimum"]
    text = (tmp_path / "out" / "learning.md").read_text()
    assert "`routelab train n_model --warm-start none`" in text
