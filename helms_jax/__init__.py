"""helms_jax: reusable motor skills learned offline, transferred with RL and planning."""

__version__ = "0.1.0"
