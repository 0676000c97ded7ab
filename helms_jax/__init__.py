"""helms_jax: reusable motor skills learned offline, transferred with RL and planning.

    policy_fn, params = helms_jax.load_policy("runs/tiny")  # a trained run's policy (runs.py)
"""

__version__ = "0.1.0"

__all__ = ["load_policy"]


def __getattr__(name: str):
  # Imported on first use: `import helms_jax` stays free of jax, so an entry point can still
  # set up devices and XLA flags before anything initialises a backend.
  if name == "load_policy":
    from helms_jax.runs import load_policy  # pylint: disable=import-outside-toplevel
    return load_policy
  raise AttributeError(f"module 'helms_jax' has no attribute {name!r}")


def __dir__():
  return sorted(list(globals()) + __all__)
