"""Shared flags and start-up for the absl entry points (helms-data/-train/-eval/-report/-pipeline).

Each entry point is thin: parse flags → call one stage function of `helms_jax.pipeline` with
`(config, workdir)`. Override keys are checked before absl parses them, so
`--config.train.learnin_rate=1` fails with "unknown config key ... did you mean ..." rather than a
traceback. Expected failures (`helms_jax.errors.HelmsError`: a bad config value, a damaged
dataset or checkpoint, a locked workdir, a diverged run) print `error: <one line>` and exit
with status 1; `--traceback` shows the traceback too. Known-harmless upstream log noise is
filtered (`launch/quiet.py`).
"""

from __future__ import annotations

import os
import sys
from typing import Callable

from absl import app, flags, logging
from ml_collections import config_flags

import experiments
from helms_jax import configs
from helms_jax.errors import HelmsError
from helms_jax.training import distributed
from launch import quiet

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
_TRACEBACK = flags.DEFINE_bool(
    "traceback", False, "Show the traceback of expected errors (bad config values, damaged "
    "checkpoints, a locked workdir, a diverged run), not only their one-line message.")
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


def start_process() -> None:
  """What every entry point's main does first: filter known log noise."""
  quiet.filter_native_stderr()
  logging.get_absl_handler().addFilter(quiet.PythonLogFilter())


def report_expected_errors(fn: Callable[..., object], *args) -> object:
  """Calls `fn(*args)`; an expected error (HelmsError) prints one line and exits with 1."""
  try:
    return fn(*args)
  except HelmsError as error:
    if _TRACEBACK.value:
      raise
    sys.stderr.flush()
    print(f"error: {error}", file=sys.stderr, flush=True)
    sys.exit(1)


def run_stage(stage: Callable[[object, str], object]) -> None:
  """Runs `stage(config, workdir)` as an absl program."""
  check_argv(sys.argv[1:])

  def main(argv):
    start_process()
    if len(argv) > 1:
      raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    if not _WORKDIR.value:
      raise app.UsageError("--workdir is required")
    try:
      distributed.initialize(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value,
                             mode=_DISTRIBUTED.value)
    except distributed.DistributedError as error:
      raise app.UsageError(str(error)) from error
    report_expected_errors(stage, _CONFIG.value, _WORKDIR.value)
    distributed.shutdown()  # final barrier: no process exits while others still save

  app.run(main)
