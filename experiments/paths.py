"""Paths the tool writes: built from sanitised names and kept inside their output folder.

Names that come from files or options (scenario and policy names, sweep
hyperparameters, job keys) become one path component each through
`safe_name`; `inside` then checks that the joined path stays in its folder.
A name that is already safe is kept as it is, so the files of ordinary runs
keep their names.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from experiments.errors import UserError

_UNSAFE = re.compile(r"[^A-Za-z0-9_.+=-]+")
MAX_NAME = 100  # well under the 255 bytes file systems allow, with room for suffixes


def safe_name(text: object) -> str:
    """`text` as one file-name component: letters, digits and `_.+=-`, no leading dot.

    A name that had to change gets a short hash of the original, so two
    different names never land on the same file.
    """
    raw = str(text)
    name = _UNSAFE.sub("_", raw).lstrip(".-")[:MAX_NAME]
    if name == raw and name:
        return name
    digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{name}-{digest}" if name else digest


def inside(root: Path | str, path: Path | str, what: str = "--out") -> Path:
    """`path` if it stays within `root` (symbolic links resolved), else a UserError."""
    base = Path(root).resolve()
    target = Path(path).resolve()
    if target != base and base not in target.parents:
        raise UserError(f"{what}: {path} would be written outside {root}")
    return Path(path)


@contextmanager
def output_folder(out: Path | None, *, cache: bool = True) -> Iterator[None]:
    """Around a command that writes into the folder `out` (None: its default folder).

    Removes what a killed earlier run left half-written in the folder,
    and writes the solver's disk cache for `--policy optimal` into OUT/cache/optimal
    (`cache=False`: writes none), never under the working folder, unless
    ROUTELAB_CACHE_DIR says where it goes.
    """
    from agents.exact.cache import cache_folder
    from sim.atomic import remove_stale_temps

    if out is not None:
        # Only the folder itself: a user's --out may be a big tree. The runner cleans its
        # jobs folder, the report plots/, and every write its own target's leftovers.
        remove_stale_temps(out, recursive=False)
    if not cache:
        folder: Path | str | None = "off"
    else:
        folder = (Path(out) / "cache" / "optimal").resolve() if out is not None else None
    with cache_folder(folder):
        yield
