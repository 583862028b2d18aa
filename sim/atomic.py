"""Atomic writes: a file is either complete or absent, never half-written.

The one writer every result, cache, model configuration and table goes
through (experiments/io.py adds the CSV and Parquet forms).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(target: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside `target`; it replaces `target` only on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(target.parent, f".{target.name}.")
    # The writer's pid is in the name, so a later run can tell a killed writer's leftover
    # (remove_stale_temps) from a file another live process is writing.
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp",
                               dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results are for sharing
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(target: Path | str, write: Callable[[Path], object]) -> Path:
    with atomic_path(target) as tmp:
        write(tmp)
    return Path(target)


def write_text(text: str, target: Path | str) -> Path:
    return write_atomic(target, lambda p: p.write_text(text, encoding="utf-8"))


def write_json(data: object, target: Path | str) -> Path:
    text = json.dumps(data, indent=2, sort_keys=False, default=str) + "\n"
    return write_text(text, target)


_TEMP = re.compile(r"^\..+\.(?P<pid>\d+)\.[A-Za-z0-9_]{8}\.tmp$")


def remove_stale_temps(folder: Path | str, recursive: bool = True) -> list[Path]:
    """Delete the temporary files `atomic_path` left in `folder` when its process was killed.

    Only files named as `atomic_path` names them and whose writer is no longer
    running are removed; anything else in the folder is left alone. (Each write
    also removes the leftovers of its own target first.)
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = _remove_stale(folder, ".")
    if recursive:
        for sub in folder.rglob("*"):
            if sub.is_dir() and not sub.is_symlink():
                removed += _remove_stale(sub, ".")
    return removed


def _remove_stale(folder: Path, prefix: str) -> list[Path]:
    """Remove the temporary files in `folder` (names starting with `prefix`) of ended writers."""
    removed = []
    try:
        entries = [e for e in os.scandir(folder) if e.name.startswith(prefix)]
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP.match(entry.name)
        if match is None or not entry.is_file(follow_symlinks=False):
            continue
        if _running(int(match["pid"])):
            continue
        try:
            os.unlink(entry.path)
        except OSError:
            continue  # another run cleaned it first, or the folder is read-only
        removed.append(Path(entry.path))
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process (or a name that only looks like ours)
    return True
