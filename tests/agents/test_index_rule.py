import json

import pytest

from agents.index.rule import IndexRule, load_index_rule, rule_document
from experiments.cli import main
from sim.scenario import load_scenario


def test_an_index_rule_file_round_trips_and_routes_as_the_rule(tmp_path):
    scenario = load_scenario("n_model")
    rule = IndexRule([2.0, 0.5], reserve=[0, 1, 0, 0], keep_free=[0, 0, 0, 1])
    path = tmp_path / "rule.json"
    path.write_text(json.dumps(rule_document(scenario, rule)))
    loaded = load_index_rule(path, scenario)
    assert (loaded.weights, loaded.reserve, loaded.keep_free) == (rule.weights, rule.reserve, rule.keep_free)
    assert not loaded.non_idling

@pytest.mark.parametrize("text, field", [
    ('{"format": "routelab-index-rule", "version": 1, "weights": {"billing": 1}}', "scenario_sha256"),
    ("[" * 100_000, "nested too deep"),
    ('{"x": ' + "9" * 5000 + "}", "too long"),
])
def test_a_broken_index_file_is_one_line(tmp_path, capsys, text, field):
    path = tmp_path / "rule.json"
    path.write_text(text)
    assert main(["simulate", "n_model", "--policy", f"index:{path}", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and field in err and str(path) in err


def test_tune_writes_a_rule_whose_evaluation_simulate_reproduces(tmp_path, capsys):
    out = tmp_path / "n_model-index.json"
    args = ["tune", "n_model", "--out", str(out), "--days", "1", "--seeds", "2",
            "--no-reservations", "--workers", "1", "--quiet"]
    assert main(args) == 0
    document = json.loads(out.read_text())
    assert document["format"] == "routelab-index-rule" and set(document["weights"]) == {"billing", "tech"}
    assert main(["simulate", "n_model", "--policy", f"index:{out}", "--seeds", "2",
                 "--out", str(tmp_path / "sim"), "--quiet"]) == 0
    import pandas as pd

    summary = pd.read_csv(tmp_path / "sim" / "summary.csv")
    simulated = summary.loc[summary["ticket_type"] == "ALL", "cost_per_hour"].mean()
    assert document["evaluation"]["cost_per_hour"] == pytest.approx(simulated, abs=1e-4)
    assert main(args) == 2  # an existing --out is replaced only with --force
    assert "--force" in capsys.readouterr().err
