"""Learned policies: stable-baselines3 training, its wrappers, and the `model:PATH` policy.

The only room that imports torch."""
