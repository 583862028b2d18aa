"""The routelab model: scenarios, the SimPy support model, decisions, metrics, the env.

The env is registered with Gymnasium once `sim` is imported, so both
`gymnasium.make(ENV_ID)` and `gymnasium.make("sim:" + ENV_ID)` work; but
importing `sim` does not import Gymnasium (the command line starts faster
without it): the registration runs when Gymnasium is, or already was, imported.
"""

import importlib.abc
import importlib.machinery
import sys

ENV_ID = "routelab/SupportQueue-v0"


def _register(gymnasium) -> None:
    if ENV_ID not in gymnasium.registry:
        gymnasium.register(id=ENV_ID, entry_point="sim.env:SupportQueueEnv")


class _RegisterOnImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps Gymnasium's loader so the env is registered after it runs."""

    def find_spec(self, name, path, target=None):
        if name != "gymnasium":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        load = spec.loader.exec_module

        def exec_module(module) -> None:
            load(module)
            _register(module)

        spec.loader.exec_module = exec_module
        return spec


if "gymnasium" in sys.modules:
    _register(sys.modules["gymnasium"])
else:
    sys.meta_path.insert(0, _RegisterOnImport())
