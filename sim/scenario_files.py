"""Where scenario files are and how they are read.

The shipped scenarios live in scenarios/ at the top of the repository;
sim/scenarios is a symbolic link to it, so a wheel carries them as package
data of `sim` (pyproject.toml) and they are found by name from any
directory, from a checkout or an installed package alike. Where the link is
missing (a checkout without symbolic links), the checkout's folder is used.

YAML is read strictly: a key given twice in one mapping is an error (plain
YAML keeps the last one without a word), and so is a file too big or too
deeply nested to be a scenario.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

from sim import limits
from sim.scenario_rules import ScenarioError

MERGE_TAG = "tag:yaml.org,2002:merge"


def scenario_dir(candidates: list[Path] | None = None) -> Path:
    """The folder of shipped scenarios: sim/scenarios (installed, or the link in a checkout),
    else the checkout's scenarios/; links resolved, so a checkout names scenarios/."""
    if candidates is None:
        packaged = resources.files("sim") / "scenarios"
        candidates = [Path(str(packaged)), Path(__file__).resolve().parent.parent / "scenarios"]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    return candidates[-1]


SCENARIO_DIR = scenario_dir()


def list_scenarios(folder: Path | None = None) -> list[Path]:
    """The shipped scenario files, by name."""
    return sorted((folder or SCENARIO_DIR).glob("*.yaml"))


def resolve_scenario_path(name_or_path: str | Path, folder: Path | None = None) -> Path:
    """A path as given, or the name of a shipped scenario (with or without .yaml)."""
    folder = folder or SCENARIO_DIR
    path = Path(name_or_path)
    if path.is_file():
        return path
    for candidate in (folder / f"{name_or_path}.yaml", folder / f"{name_or_path}.yml",
                      folder / str(name_or_path)):
        if candidate.is_file():
            return candidate
    known = ", ".join(p.stem for p in list_scenarios(folder))
    raise ScenarioError(str(name_or_path), "", f"no such file or scenario (known: {known})")


def read_document(path: Path) -> object:
    """The one YAML document in a file, with every mapping's keys unique."""
    source = str(path)
    try:
        size = path.stat().st_size
        if size > limits.MAX_FILE_BYTES:
            raise ScenarioError(source, "", f"{size:,} bytes, above the limit of "
                                f"{limits.MAX_FILE_BYTES:,} for a scenario file")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(source, "", f"cannot read: {error}") from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_unique_keys(node, source)
        return loader.construct_document(node)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "YAML"
        problem = getattr(error, "problem", None) or error
        raise ScenarioError(source, where, f"not valid YAML ({problem})") from None
    except RecursionError:
        raise ScenarioError(source, "", "nested too deeply to be a scenario") from None
    except ScenarioError:
        raise
    except (ValueError, OverflowError) as error:  # a scalar the constructor cannot make a value of
        raise ScenarioError(source, "YAML", f"a value cannot be read ({error})") from None
    finally:
        loader.dispose()


def _check_unique_keys(root: yaml.Node, source: str) -> None:
    """Walk the node tree (aliases once) and refuse a key repeated in one mapping."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, tuple[str, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            lines: dict[str, int] = {}
            for key, value in node.value:
                if key.tag == MERGE_TAG or not isinstance(key, yaml.ScalarNode):
                    stack.append((value, path))
                    continue
                line = key.start_mark.line + 1
                if key.value in lines:
                    raise ScenarioError(source, ".".join((*path, key.value)),
                                        f"given twice (lines {lines[key.value]} and {line}); "
                                        "YAML would silently keep the last")
                lines[key.value] = line
                stack.append((value, (*path, key.value)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*path, str(i))) for i, item in enumerate(node.value))
