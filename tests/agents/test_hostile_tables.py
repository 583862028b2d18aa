"""Hostile lookup-table files: deep nesting and huge numbers are one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.errors import PolicyError
from agents.tables.read import parse_table, read_table
from experiments.cli import main


def table(**changes: object) -> dict:
    document = {"format": "routelab-lookup-table", "version": 1, "scenario": "mmc",
                "scenario_sha256": "0" * 64, "source_policy": "fifo",
                "features": [{"name": "queue_len.general", "edges": [0, 1, 3]}],
                "actions": ["general->agents", "hold"], "default": "fifo",
                "rows": [{"key": [1], "action": 0}]}
    document.update(changes)
    return document


def test_the_reference_table_reads(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps(table()))
    assert read_table(path).rows == {(1,): 0}


HOSTILE = {
    "nested 200,000 deep": ("[" * 200_000 + "]" * 200_000, "nested too deep"),
    "objects nested 100,000 deep": ('{"a":' * 100_000 + "1" + "}" * 100_000, "nested too deep"),
    "an action of 5,000 digits": (
        json.dumps(table()).replace('"action": 0', '"action": ' + "7" * 5000), "digits"),
    "a bin of 5,000 digits": (
        json.dumps(table()).replace('"key": [1]', '"key": [' + "1" * 5000 + "]"), "digits"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_table_file_is_one_line_naming_the_file(tmp_path, capsys, case) -> None:
    text, words = HOSTILE[case]
    path = tmp_path / "hostile.json"
    path.write_text(text)
    with pytest.raises(PolicyError, match=words) as raised:
        read_table(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: ") and "\n" not in message and len(message) < 300
    assert main(["simulate", "mmc", "--policy", f"table:{path}", "--quiet",
                 "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err


@pytest.mark.parametrize("changes, field", [
    ({"rows": [{"key": [1], "action": 10**4000}]}, "rows[0].action"),
    ({"rows": [{"key": [-(10**300)], "action": 0}]}, "rows[0].key[0]"),
    ({"features": [{"name": "queue_len.general", "edges": [0, 10**400]}]}, "features[0].edges"),
    ({"default": "x" * 100_000}, "default"),
    ({"actions": ["a->b" * 50_000, "hold"]}, "actions"),
])
def test_huge_values_in_a_parsed_table_give_a_short_line(changes, field) -> None:
    with pytest.raises(PolicyError) as raised:
        parse_table(table(**changes), "t.json")
    message = str(raised.value)
    assert message.startswith(f"t.json: {field}") and len(message) < 300, message[:400]
