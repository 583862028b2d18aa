"""Where a `routelab` command spends its CPU time, from a sampling profile of its own process.

    python -m benchmarks.where OUT.json -- simulate SCENARIO --policy fifo --out DIR

A CPU-time timer (SIGPROF) interrupts the process about every millisecond; each
sample charges the CPU time since the previous one to what the main thread was
doing then: importing, setting the model up, arrivals, decisions, starts,
finishes, other events (abandonments, shift changes, the horizon), the event
calendar itself, building the tables, writing the files, or anything else.
Inside the model's inlined loop the part is read from the line being run: the
loop's parts are marked `# [part name]` in sim/model.py. A C call (numpy, Parquet)
is charged, when it returns, to the Python code that made it.
"""

from __future__ import annotations

import inspect
import json
import re
import signal
import sys
import time
from collections import defaultdict
from pathlib import Path
from types import FrameType

PARTS = ("imports", "model set-up", "arrivals", "decisions", "starts", "finishes",
         "other events", "event calendar", "building the tables", "writing the files", "other")
INTERVAL_SECONDS = 0.001
_MARK = re.compile(r"#\s*\[(?P<part>[a-z ]+)\]")
# Methods of the model (and what they call) by the part they belong to.
_METHODS = {
    "refill": "arrivals", "_fill": "arrivals", "_event_times": "arrivals",
    "_start": "starts", "apply": "starts",
    "_feasible_pairs": "decisions", "decide": "decisions",
    "_maybe_transfer": "finishes", "_enqueue": "arrivals", "_agent_idles": "finishes",
    "_abandon": "other events", "_schedule_patience": "other events", "_staff": "other events",
    "_at_horizon": "other events", "_strand_unanswerable": "other events",
    "_close": "other events",
}
_TABLES = {"ticket_table", "summary_rows", "agent_table", "arrays"}
_MODEL, _STATE, _WRITER = "sim/model.py", "sim/state.py", "experiments/io.py"
_TABLE_FILES = ("sim/metrics.py", "sim/tickets.py")


def loop_parts() -> dict[int, str]:
    """Line number -> part, for the lines of SupportModel._advance (from its `# [part]` marks)."""
    from sim.model import SupportModel

    lines, first = inspect.getsourcelines(SupportModel._advance)
    parts, part = {}, "event calendar"
    for number, line in enumerate(lines, start=first):
        mark = _MARK.search(line)
        if mark:
            part = mark["part"]
        parts[number] = part
    unknown = set(parts.values()) - set(PARTS)
    if unknown:
        raise ValueError(f"sim/model.py: unknown part marks {sorted(unknown)}")
    return parts


class Sampler:
    """CPU seconds per part, from SIGPROF samples of the main thread."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.samples = 0
        self._loop: dict[int, str] | None = None
        self._loop_code = None
        self._last = 0.0

    def start(self) -> None:
        self._last = time.process_time()
        signal.signal(signal.SIGPROF, self._sample)
        signal.setitimer(signal.ITIMER_PROF, INTERVAL_SECONDS, INTERVAL_SECONDS)

    def stop(self, frame: FrameType | None = None) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        signal.signal(signal.SIGPROF, signal.SIG_DFL)
        self._charge(frame or sys._getframe(1))

    def _sample(self, _signum: int, frame: FrameType | None) -> None:
        self.samples += 1
        self._charge(frame)

    def _charge(self, frame: FrameType | None) -> None:
        now = time.process_time()
        self.seconds[self.part(frame)] += now - self._last
        self._last = now

    def part(self, frame: FrameType | None) -> str:
        callee: str | None = None  # the part of the model's method nearest the loop
        while frame is not None:
            code = frame.f_code
            if code.co_filename.startswith("<frozen importlib"):
                return "imports"
            name, path = code.co_name, code.co_filename
            if name in ("_advance", "run") and path.endswith(_MODEL):
                if callee is not None:
                    return callee
                if name == "run":  # a decision with a choice: returned to the policy
                    return "decisions"
                if self._loop is None or self._loop_code is not code:
                    self._loop, self._loop_code = loop_parts(), code
                return self._loop.get(frame.f_lineno, "event calendar")
            if name in _METHODS:
                callee = _METHODS[name]
            if name == "__init__" and path.endswith(_STATE):
                return "model set-up"
            if name in _TABLES and path.endswith(_TABLE_FILES):
                return "building the tables"
            if path.endswith(_WRITER):
                return "writing the files"
            frame = frame.f_back
        return "other"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2 or argv[1] != "--":
        sys.stderr.write("usage: python -m benchmarks.where OUT.json -- ROUTELAB-ARGS...\n")
        return 2
    out, routelab_args = Path(argv[0]), argv[2:]
    sampler = Sampler()
    started = time.process_time()
    sampler.start()
    try:
        from experiments.cli import main as routelab

        status = routelab(routelab_args)
    finally:
        sampler.stop()
    total = time.process_time() - started
    out.write_text(json.dumps({
        "command": ["routelab", *routelab_args], "exit_status": status,
        "cpu_seconds": round(total, 4), "samples": sampler.samples,
        "seconds": {part: round(sampler.seconds.get(part, 0.0), 4) for part in PARTS},
    }, indent=2) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
