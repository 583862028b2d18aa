"""The routelab model: scenarios, the SimPy support model, decisions, metrics, the env."""

import gymnasium

# The env is registered on import of `sim`, so both `gymnasium.make(ENV_ID)` after
# `import sim` and `gymnasium.make("sim:" + ENV_ID)` work.
ENV_ID = "routelab/SupportQueue-v0"

if ENV_ID not in gymnasium.registry:
    gymnasium.register(id=ENV_ID, entry_point="sim.env:SupportQueueEnv")
