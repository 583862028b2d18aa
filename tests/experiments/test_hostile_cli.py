"""Hostile command lines: every usage mistake is one line naming the option, exit 2."""

from __future__ import annotations

import pytest

from experiments.cli import main
from experiments.commands import MAX_EVALUATION_SEEDS
from sim.seeds import MAX_EVALUATION_SEEDS as SEED_RULE


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("routelab: error: "), err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("argv, names", [
    (["simulate", "mmc", "--policy", "fifo", "--sedes", "3"], ["--sedes", "--seeds"]),
    (["simulate", "mmc"], ["--policy"]),
    (["simulate"], ["SCENARIO"]),
    (["simulat", "mmc"], ["simulat"]),
    (["benchmark", "mmc", "--backend", "slurm"], ["--backend", "slurm"]),
    (["export", "fifo", "--scenario", "mmc", "--out", "t.json", "--max-kb", "1"], ["--max-kb"]),
])
def test_a_usage_mistake_is_one_line_naming_the_option(capsys, argv, names) -> None:
    err = one_line_error(capsys, argv)
    for name in names:
        assert name in err
    assert "--help" in err  # where to look next


@pytest.mark.parametrize("argv", [
    ["simulate", "mmc", "--policy", "fifo", "--seeds", "99999999999999999999999"],
    ["simulate", "mmc", "--policy", "fifo", "--seeds", "0"],
    ["benchmark", "mmc", "--seeds", "100000000", "--quiet"],
    ["tune", "mmc", "--out", "rule.json", "--seeds", "1001"],
    ["export", "fifo", "--scenario", "mmc", "--out", "t.json", "--seeds-eval", "1001"],
    ["train", "mmc", "--eval-seeds", "1001"],
])
def test_seed_counts_beyond_the_evaluation_range_are_refused_up_front(capsys, argv,
                                                                      tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be written, but if it were: not in the repo
    option = next(a for a in argv if a.startswith("--seeds") or a == "--eval-seeds")
    err = one_line_error(capsys, argv)
    assert option in err and f"{MAX_EVALUATION_SEEDS}" in err
    assert list(tmp_path.iterdir()) == []


def test_the_commands_bound_is_the_seed_rule() -> None:
    # experiments/commands keeps its own copy (importing sim.seeds would load numpy).
    assert MAX_EVALUATION_SEEDS == SEED_RULE


def test_the_largest_seed_count_is_accepted_and_one_more_is_not() -> None:
    import click

    from experiments.commands.simulate import simulate

    option = next(p for p in simulate.params if p.name == "seeds")
    assert option.type.convert(str(MAX_EVALUATION_SEEDS), option, None) == MAX_EVALUATION_SEEDS
    with pytest.raises(click.BadParameter):
        option.type.convert(str(MAX_EVALUATION_SEEDS + 1), option, None)


def test_routelab_alone_shows_its_help(capsys) -> None:
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Usage: routelab") and "Commands:" in err and "simulate" in err
