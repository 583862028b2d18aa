"""`routelab scenarios`, and shipped scenarios found by name from anywhere."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from experiments.cli import main
from sim.scenario import SCENARIO_DIR, list_scenarios, load_scenario
from sim.scenario_files import scenario_dir

ROOT = Path(__file__).resolve().parents[2]


def test_lists_every_shipped_scenario_on_one_line(capsys):
    assert main(["scenarios"]) == 0
    lines = capsys.readouterr().out.splitlines()
    shipped = list_scenarios()
    assert [line.split()[0] for line in lines] == [p.stem for p in shipped]
    for line, path in zip(lines, shipped, strict=True):
        scenario = load_scenario(path)
        name, types, _, groups, _, hours, _ = line.split(maxsplit=6)
        assert (name, int(types), int(groups), float(hours)) == (
            scenario.name, len(scenario.ticket_types), len(scenario.agent_groups), scenario.horizon_hours)
        assert line.endswith(scenario.description)


def test_fintech_day_line(capsys):
    assert main(["scenarios", "fintech_day"]) == 0
    assert capsys.readouterr().out.split()[:7] == ["fintech_day", "6", "types", "5", "groups", "24", "h"]


def test_a_bad_file_is_one_line_and_exit_2(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text((SCENARIO_DIR / "mmc.yaml").read_text().replace("agents: 12", "agents: true"))
    assert main(["scenarios", "mmc", str(path)]) == 2
    captured = capsys.readouterr()
    field = "agent_groups.agents.agents"
    assert captured.err == f"routelab: error: {path}: {field}: expected a number, got true\n"


def test_scenarios_are_found_by_name_from_any_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert load_scenario("fintech_day") == load_scenario(SCENARIO_DIR / "fintech_day.yaml")
    assert main(["scenarios", "keep_free"]) == 0
    assert capsys.readouterr().out.startswith("keep_free ")


def test_an_installed_copy_comes_before_the_checkout(tmp_path):
    packaged, checkout = tmp_path / "site" / "sim" / "scenarios", tmp_path / "repo" / "scenarios"
    checkout.mkdir(parents=True)
    assert scenario_dir([packaged, checkout]) == checkout  # no sim/scenarios (a link not made)
    packaged.mkdir(parents=True)
    assert scenario_dir([packaged, checkout]) == packaged  # a wheel's real folder
    packaged.rmdir()
    packaged.symlink_to(checkout)
    assert scenario_dir([packaged, checkout]) == checkout  # a checkout's link, resolved


def test_the_wheel_carries_the_scenarios_folder():
    # Building a wheel is too slow for the suite; this checks what the wheel relies on:
    # sim/scenarios is the folder scenarios/, its YAML files are package data of sim,
    # and the folder holds nothing else (docs/DESIGN.md: one YAML file per scenario).
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "scenarios/*.yaml" in config["package-data"]["sim"]
    assert (ROOT / "sim" / "scenarios").resolve() == (ROOT / "scenarios").resolve()
    assert SCENARIO_DIR == (ROOT / "scenarios").resolve()
    assert sorted(p.name for p in (ROOT / "scenarios").iterdir()) == [p.name for p in list_scenarios()]


@pytest.mark.parametrize("name", ["mmc", "mmc.yaml"])
def test_names_with_or_without_extension(name):
    assert load_scenario(name).name == "mmc"
