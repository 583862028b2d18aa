"""Where the exact solver keeps its solutions on disk: the folder and how a command moves it.

Light on purpose (no numpy): the command line sets the folder before any solve.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CACHE_ENV = "ROUTELAB_CACHE_DIR"
ALSO_READ_ENV = "ROUTELAB_CACHE_ALSO_READ"
DEFAULT_CACHE = Path("results/runs/cache/optimal")


def cache_dir() -> Path | None:
    """results/runs/cache/optimal under the working directory; ROUTELAB_CACHE_DIR
    overrides it and `off` (or empty) turns the disk cache off. A command given
    `--out` moves it into its output folder (`cache_folder`)."""
    value = os.environ.get(CACHE_ENV)
    if value is None:
        return DEFAULT_CACHE
    return None if value in ("", "off") else Path(value)


@contextmanager
def cache_folder(folder: Path | str | None) -> Iterator[None]:
    """Write the disk cache into `folder` (`off`: write none; None: the default folder)
    while the block runs, still reading what the default folder holds; unless
    ROUTELAB_CACHE_DIR is set: the user's choice wins. Worker pools started inside
    the block inherit the choice (agents/parallel.py passes ROUTELAB_* on)."""
    if folder is None or CACHE_ENV in os.environ:
        yield
        return
    os.environ[CACHE_ENV] = str(folder)
    os.environ[ALSO_READ_ENV] = str(DEFAULT_CACHE.resolve())
    try:
        yield
    finally:
        os.environ.pop(CACHE_ENV, None)
        os.environ.pop(ALSO_READ_ENV, None)
