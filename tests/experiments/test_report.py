"""The report: figures that exist, headlines naming every policy, a page Chromium renders."""

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
from experiments.report import headlines, read_tables

POLICIES = ("fifo", "cmu", "lqf")
SCENARIO = """\
name: two_queues
horizon_hours: 5
ticket_types:
  fraud: {channel: phone, arrivals_per_hour: 10, handle_minutes: {dist: exponential, mean: 6},
          patience_minutes: {dist: exponential, mean: 4}, sla_minutes: 1, sla_target: 0.9,
          wait_cost_per_minute: 4, abandon_cost: 20}
  disputes: {channel: email, arrivals_per_hour: 20, handle_minutes: {dist: exponential, mean: 5}}
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


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img":
            self.images.append(values.get("src") or "")
        elif tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")


def _links(page: Path) -> _Links:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def test_every_image_in_the_report_exists_beside_it(results: Path) -> None:
    parser = _links(results / "report.html")
    assert len(parser.images) == 4  # cost, waits, by type, hourly
    for source in parser.images + parser.links:
        assert not re.match(r"^[a-z]+://|^/", source), f"{source} is not a relative link"
        assert (results / source).is_file(), f"{source} is missing"
        assert (results / source).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_headlines_are_plain_sentences_naming_every_policy(results: Path) -> None:
    lines = headlines(read_tables(results))
    sentences = [text for _, text in lines]
    # cost, one per ticket type, abandonment
    assert len(sentences) == 4
    for sentence in sentences:
        for policy in POLICIES:
            assert re.search(rf"\b{policy}\b", sentence), f"{policy} missing from: {sentence}"
    by_type = pd.read_csv(results / "by_type.csv")
    fraud = by_type[by_type["ticket_type"] == "fraud"].groupby("policy")["service_level"].mean()
    best = fraud.idxmax()
    fraud_line = next(s for s in sentences if "fraud calls" in s)
    leaders, share = re.match(r"^(.+?) answers? (\d+)% of fraud calls within 1 minute",
                              fraud_line).groups()
    assert best in leaders and int(share) == round(100 * fraud[best])
    assert "target 90%" in fraud_line
    assert any(s.startswith("Average wait for disputes emails") for s in sentences)
    page = (results / "report.html").read_text()
    for sentence in sentences:
        assert sentence.replace("'", "&#x27;") in page


def test_report_rebuilds_the_plots_and_page_from_the_tables(results: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(results, copy, ignore=shutil.ignore_patterns("jobs", "plots", "report.html"))
    assert main(["report", str(copy)]) == 0
    assert sorted(p.name for p in (copy / "plots").glob("*.png")) == sorted(
        p.name for p in (results / "plots").glob("*.png"))
    assert _links(copy / "report.html").images == _links(results / "report.html").images


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
    # Text: dark pixels near the top (headlines). Figures: the bars of the cost
    # plot in the first policies' colours, which only a loaded image can show
    # (the page itself has no saturated colour).
    assert (rgb[:400].mean(axis=2) < 0.3).mean() > 0.002
    for colour in ((0.12, 0.47, 0.71), (1.0, 0.5, 0.05)):  # tab10 blue (fifo), orange (cmu)
        near = (abs(rgb - colour) < 0.08).all(axis=2)
        assert near.sum() > 500, f"no {colour} pixels: the figures did not load"
