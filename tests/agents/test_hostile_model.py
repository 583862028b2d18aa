"""A model's config.yaml: a bad one is one short line, and the model must match its scenario
(scenario_sha256, as tables do; --force to use it anyway)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agents.errors import PolicyError
from agents.rl.model_policy import load_model_policy
from experiments.cli import main
from sim.observation import ObservationBuilder
from sim.scenario import parse_scenario

SCENARIO = {
    "name": "pair", "horizon_hours": 2,
    "ticket_types": {"a": {"arrivals_per_hour": 20,
                           "handle_minutes": {"dist": "exponential", "mean": 4}}},
    "agent_groups": {"g": {"agents": 2, "skills": {"a": 1.0}}},
}


def write_scenario(folder: Path, **changes: object) -> Path:
    path = folder / "pair.yaml"
    path.write_text(yaml.safe_dump({**SCENARIO, **changes}))
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained MaskablePPO model of `pair` with the config.yaml training writes."""
    import gymnasium as gym
    from sb3_contrib import MaskablePPO

    import sim  # noqa: F401 - registers the env

    folder = tmp_path_factory.mktemp("model")
    scenario = parse_scenario(SCENARIO, "<test>")
    env = gym.make("routelab/SupportQueue-v0", scenario=scenario)
    MaskablePPO("MlpPolicy", env, n_steps=64, seed=0, device="cpu").save(folder / "model.zip")
    config = {"format": "routelab-train-config", "version": 1, "scenario": "pair",
              "scenario_sha256": scenario.sha256(), "algo": "maskable_ppo",
              "env": {"fallback": "fifo", "work_conserving": False,
                      "features": ObservationBuilder(scenario).names}}
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    return folder


def with_config(model: Path, tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "model.zip").write_bytes((model / "model.zip").read_bytes())
    (folder / "config.yaml").write_text(text)
    return folder / "model.zip"


def test_the_model_runs_on_its_own_scenario(model, tmp_path) -> None:
    scenario = write_scenario(tmp_path)
    assert main(["simulate", str(scenario), "--policy", f"model:{model}", "--quiet",
                 "--out", str(tmp_path / "o")]) == 0


def test_a_model_on_another_version_of_its_scenario_is_refused_unless_forced(
        model, tmp_path, capsys) -> None:
    # Same structure (same features), other rates: the model was not trained for it.
    other = write_scenario(tmp_path, horizon_hours=3)
    with pytest.raises(PolicyError, match="scenario_sha256: trained on scenario 'pair'"):
        load_model_policy(model, parse_scenario({**SCENARIO, "horizon_hours": 3}, "<test>"))
    assert main(["simulate", str(other), "--policy", f"model:{model}", "--quiet",
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--force" in err
    assert main(["simulate", str(other), "--policy", f"model:{model}", "--quiet", "--force",
                 "--out", str(tmp_path / "o")]) == 0


@pytest.mark.parametrize("text, words", [
    ("algo: maskable_ppo\nenv: {features: [a, b\nscenario: pair\n", "not valid YAML"),
    ("algo: [maskable_ppo\n", "not valid YAML"),
    ("- just\n- a list\n", "expected a mapping"),
    ("env: not a mapping\n", "env: expected dict"),
    ("env: {features: 3}\n", "env.features: expected list"),
    ("env: {features: [1, 2]}\n", "env.features"),
    ("env: {fallback: [fifo]}\n", "env.fallback: expected str"),
    ("scenario_sha256: 42\n", "scenario_sha256: expected str"),
    ("algo: 7\n", "algo: expected str"),
    ("a: " + "[" * 5000 + "]" * 5000 + "\n", "not valid YAML"),
])
def test_a_bad_config_beside_a_model_is_one_short_line(model, tmp_path, capsys, text,
                                                       words) -> None:
    path = with_config(model, tmp_path, text)
    scenario = write_scenario(tmp_path)
    with pytest.raises(PolicyError, match=words) as raised:
        load_model_policy(path, parse_scenario(SCENARIO, "<test>"))
    assert "config.yaml" in str(raised.value) and len(str(raised.value)) < 300
    assert main(["simulate", str(scenario), "--policy", f"model:{path}", "--quiet",
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "config.yaml" in err, err
