"""The report: a recommendation per scenario by the stated rule, identical policies shown once,
misses marked, figures that exist, a page Chromium renders."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from experiments.cli import main
from experiments.plots import _shading_legend

POLICIES = ("fifo", "cmu", "lqf", "priority")
SCENARIO = """\
name: two_queues
horizon_hours: 5
ticket_types:
  fraud: {channel: phone, arrivals_per_hour: 10, handle_minutes: {dist: exponential, mean: 6},
          patience_minutes: {dist: exponential, mean: 4}, sla_minutes: 1, sla_target: 0.9,
          wait_cost_per_minute: 4, abandon_cost: 20}
  disputes: {channel: email, arrivals_per_hour: 20, handle_minutes: {dist: exponential, mean: 5},
             sla_minutes: 30, sla_target: 0.5}
agent_groups:
  desk: {agents: 3, skills: {fraud: 1.0, disputes: 1.0}}
events:
  - {kind: surge, ticket_types: [disputes], start_hour: 1, end_hour: 2, factor: 2.0}
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    scenario = folder / "two_queues.yaml"
    scenario.write_text(SCENARIO)
    out = folder / "bench"
    assert main(["benchmark", str(scenario), "--policies", ",".join(POLICIES), "--seeds", "3",
                 "--workers", "2", "--out", str(out), "--quiet"]) == 0
    return out


class _Page(HTMLParser):
    """Images, links, and the text inside the element of each id."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []
        self.text_of: dict[str, str] = {}
        self._open: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img":
            self.images.append(values.get("src") or "")
        elif tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")
        if tag not in ("img", "br", "meta"):
            self._open.append((tag, values.get("id")))
            if values.get("id"):
                self.text_of[values["id"]] = ""

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, ident in self._open:
            if ident:
                self.text_of[ident] += data


def _page(path: Path) -> _Page:
    parser = _Page()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _expected_recommendation(results: Path) -> str:
    """The rule, computed here from the tables without the report's code."""
    comparison = pd.read_csv(results / "comparison.csv").set_index("policy")
    by_type = pd.read_csv(results / "by_type.csv")
    levels = by_type.groupby(["policy", "ticket_type"])["service_level"].mean().unstack()
    targets = {"fraud": 0.9, "disputes": 0.5}
    shortfall = sum((targets[t] - levels[t]).clip(lower=0) for t in targets)
    meeting = shortfall[shortfall == 0].index
    if len(meeting):
        return str(comparison.loc[meeting, "cost_per_hour"].idxmin())
    least = shortfall[shortfall == shortfall.min()].index
    return str(comparison.loc[least, "cost_per_hour"].idxmin())


def test_the_recommendation_names_the_policy_the_rule_picks_first(results: Path) -> None:
    html_text = (results / "report.html").read_text(encoding="utf-8")
    assert 'id="recommendation-two_queues"' in html_text  # the contract's spelling, to the quote
    page = _page(results / "report.html")
    text = page.text_of["recommendation-two_queues"]
    named = [(m.start(), p) for p in POLICIES for m in re.finditer(rf"\b{p}\b", text)]
    first = min(named)[1]
    assert first == _expected_recommendation(results)
    assert "per hour" in text
    assert re.search(r"\d+\.\d% ?\u2717", text) or "every service-level target" in text


def test_every_image_in_the_report_exists_beside_it(results: Path) -> None:
    page = _page(results / "report.html")
    assert len(page.images) == 2  # cost, and service by hour (the scenario has a surge)
    for source in page.images:
        assert not re.match(r"^[a-z]+://|^/", source), f"{source} is not a relative link"
        assert (results / source).is_file(), f"{source} is missing"
        assert (results / source).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_misses_are_marked_cell_by_cell(results: Path) -> None:
    by_type = pd.read_csv(results / "by_type.csv")
    levels = by_type.groupby(["policy", "ticket_type"])["service_level"].mean()
    targets = {"fraud": 0.9, "disputes": 0.5}
    runs = pd.read_csv(results / "runs.csv").sort_values("seed")
    alike = runs.groupby("policy")["cost_per_hour"].apply(tuple)  # identical days: one row
    shown = [p for p in POLICIES if list(alike).index(alike[p]) == list(alike.index).index(p)]
    misses = sum(levels[(p, t)] < g for p in shown for t, g in targets.items())
    recommended = _expected_recommendation(results)
    misses += sum(levels[(recommended, t)] < g for t, g in targets.items())  # its own box
    html = (results / "report.html").read_text()
    assert html.count("class='miss'") == misses > 0


def test_policies_that_route_alike_are_shown_once(tmp_path: Path, results: Path) -> None:
    """A copy of cmu under another name, identical on every seed, joins cmu's row."""
    copy = tmp_path / "copy"
    shutil.copytree(results, copy, ignore=shutil.ignore_patterns("jobs", "plots", "report.html"))
    for name in ("runs.csv", "by_type.csv", "comparison.csv"):
        table = pd.read_csv(copy / name)
        twin = table[table["policy"] == "cmu"].assign(policy="cmu_twin")
        pd.concat([table, twin], ignore_index=True).to_csv(copy / name, index=False)
    assert main(["report", str(copy)]) == 0
    html = (copy / "report.html").read_text()
    assert re.search(r"\bcmu( = \w+)* = cmu_twin\b", html)
    assert html.count(">cmu_twin<") == 1  # in the glossary only, never a row of its own


def test_report_rebuilds_the_plots_and_page_from_the_tables(results: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(results, copy, ignore=shutil.ignore_patterns("jobs", "plots", "report.html"))
    assert main(["report", str(copy)]) == 0
    assert sorted(p.name for p in (copy / "plots").glob("*.png")) == sorted(
        p.name for p in (results / "plots").glob("*.png"))
    assert _page(copy / "report.html").images == _page(results / "report.html").images


def test_the_audit_of_the_recommended_policy_is_linked(results: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(results, copy, ignore=shutil.ignore_patterns("jobs", "plots"))
    recommended = _expected_recommendation(results)
    audit = copy / "audits" / recommended
    audit.mkdir(parents=True)
    (audit / "audit.json").write_text(
        f'{{"scenario": "two_queues", "policy": "{recommended}"}}')
    (audit / "audit.html").write_text("<html></html>")
    assert main(["report", str(copy)]) == 0
    page = _page(copy / "report.html")
    assert f"audits/{recommended}/audit.html" in page.links


def test_the_legend_names_only_the_shading_a_scenario_has() -> None:
    labels = [p.get_label() for p in _shading_legend({"warmup_hours": 0, "events": []})]
    assert labels == []
    labels = [p.get_label() for p in _shading_legend({
        "warmup_hours": 2, "events": [{"kind": "absence", "group": "desk", "agents": 1,
                                       "start_hour": 1, "end_hour": 2}]})]
    assert labels == ["warm-up (not counted)", "absence: 1 desk"]


def test_report_of_a_folder_without_tables_is_exit_2(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path)]) == 2
    assert "runs.csv" in capsys.readouterr().err


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="chromium is not installed "
                    "(apt-get install chromium) - the page is not rendered")
def test_report_renders_in_headless_chromium(results: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                        f"--screenshot={shot}", "--window-size=1280,2400",
                        (results / "report.html").resolve().as_uri()],
                       capture_output=True, timeout=120, check=False)
    assert shot.is_file()
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[:2] == (2400, 1280)
    rgb = pixels[:, :, :3]
    # Text near the top; the pale red of a missed target (the page's own CSS); the
    # palette's blue, which only the loaded figure has.
    assert (rgb[:400].mean(axis=2) < 0.3).mean() > 0.002
    for colour, what in (((0.992, 0.878, 0.863), "a marked miss"),
                         ((0.0, 0.447, 0.698), "the figure's first line")):
        near = (abs(rgb - colour) < 0.04).all(axis=2)
        assert near.sum() > 200, f"no pixels of {what}"
