"""Shared flags and start-up for the absl entry points (helms-data/-train/-eval/-report/-pipeline).

Each entry point is thin: parse flags → call one stage function of `helms_jax.runner` with
`(config, workdir)`. Override keys are checked before absl parses them, so
`--config.train.learnin_rate=1` fails with "unknown config key ... did you mean ..." rather than a
traceback.
"""

from __future__ import annotations

import os
import sys
from typing import Callable

from absl import app, flags, logging
from ml_collections import config_flags

import experiments
from helms_jax import configs
from helms_jax.training import distributed

DEFAULT_CONFIG = os.path.join(os.path.dirname(experiments.__file__), "helms_stacking.py")

_CONFIG = config_flags.DEFINE_config_file(
    "config", default=DEFAULT_CONFIG, help_string="Experiment config: path/to/config.py[:variant]",
    lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory (created if missing).")
# Multi-process runs (see helms_jax/training/distributed.py): explicit flags, else the
# JAX_COORDINATOR_ADDRESS / JAX_NUM_PROCESSES / JAX_PROCESS_ID variables, else SLURM / Open MPI /
# TPU-pod variables; with none of them the run is single-process.
_COORDINATOR = flags.DEFINE_string(
    "coordinator_address", None, "host:port of process 0's coordinator (multi-process runs).")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Number of processes in the run.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "This process's index, 0..N-1.")
_DISTRIBUTED = flags.DEFINE_enum(
    "distributed", "auto", list(distributed.MODES),
    "auto: connect when a coordinator or a multi-process scheduler is found; on: require it; "
    "off: always single-process.")


def check_argv(argv: list[str]) -> None:
  """Exits with a readable message if an override key is not in the chosen config."""
  keys = configs.override_keys_from_argv(argv)
  spec = configs.config_path_from_argv(argv, DEFAULT_CONFIG)
  try:
    config = configs.load_config(spec)
    configs.check_override_keys(config, keys)
  except (configs.ConfigError, ValueError) as error:
    sys.exit(f"error: {error}")


class _QuietLibraries(logging.logging.Filter):
  """Drops INFO records from orbax (dozens of lines per checkpoint); warnings still pass."""

  def filter(self, record):
    return record.levelno >= logging.logging.WARNING or "/orbax/" not in record.pathname


def run_stage(stage: Callable[[object, str], object]) -> None:
  """Runs `stage(config, workdir)` as an absl program."""
  check_argv(sys.argv[1:])

  def main(argv):
    logging.get_absl_handler().addFilter(_QuietLibraries())
    if len(argv) > 1:
      raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if not _WORKDIR.value:
      raise app.UsageError("--workdir is required")
    try:
      distributed.initialize(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value,
                             mode=_DISTRIBUTED.value)
    except distributed.DistributedError as error:
      raise app.UsageError(str(error)) from error
    stage(_CONFIG.value, _WORKDIR.value)
    distributed.shutdown()  # final barrier: no process exits while others still save

  app.run(main)
