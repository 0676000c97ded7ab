"""Config utilities: loading experiment configs, validating overrides, (de)serialising.

Experiment configs are plain Python files in `experiments/` with a `get_config(variant)` function
returning a locked-ready `ml_collections.ConfigDict` (big_vision style). Launchers take
`--config=experiments/<name>.py:<variant>` and `--config.a.b=value` overrides through absl's
`config_flags`; `check_override_keys` runs before absl parses them so that a typo fails with a
message naming the key and the closest valid keys instead of a traceback.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import os
from typing import Any, Iterable, Sequence

import ml_collections


class ConfigError(ValueError):
  """A config key or value that does not fit the experiment's config."""


def flat_keys(config: ml_collections.ConfigDict, prefix: str = "") -> list[str]:
  """All leaf and sub-config paths of `config`, dotted (`train.learning_rate`)."""
  keys = []
  for name, value in config.items():
    path = f"{prefix}{name}"
    keys.append(path)
    if isinstance(value, ml_collections.ConfigDict):
      keys.extend(flat_keys(value, prefix=f"{path}."))
  return keys


def closest_keys(key: str, valid: Iterable[str], n: int = 3) -> list[str]:
  """Up to `n` valid keys closest to `key`: full dotted paths, then same-leaf-name matches."""
  valid = list(valid)
  close = difflib.get_close_matches(key, valid, n=n, cutoff=0.6)
  leaf = key.rsplit(".", 1)[-1]
  by_leaf = {v.rsplit(".", 1)[-1]: v for v in valid}
  for match in difflib.get_close_matches(leaf, list(by_leaf), n=n, cutoff=0.6):
    if by_leaf[match] not in close:
      close.append(by_leaf[match])
  return close[:n]


def check_override_keys(config: ml_collections.ConfigDict, keys: Sequence[str]) -> None:
  """Raises ConfigError naming each unknown key and its closest valid keys."""
  valid = flat_keys(config)
  valid_set = set(valid)
  problems = []
  for key in keys:
    if key not in valid_set:
      suggestions = closest_keys(key, valid)
      hint = (f"did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions
              else f"valid top-level keys: {', '.join(sorted(config.keys()))}")
      problems.append(f"unknown config key {key!r}: {hint}")
  if problems:
    raise ConfigError("; ".join(problems))


def override_keys_from_argv(argv: Sequence[str], flag_name: str = "config") -> list[str]:
  """The dotted keys of `--config.a.b=v` / `--config.a.b v` overrides in `argv`."""
  keys = []
  prefix = f"--{flag_name}."
  for arg in argv:
    if arg.startswith(prefix):
      keys.append(arg[len(prefix):].split("=", 1)[0])
  return keys


def config_path_from_argv(argv: Sequence[str], default: str | None,
                          flag_name: str = "config") -> str | None:
  """The `path[:variant]` given by `--config=...` / `--config ...` in argv, else `default`."""
  for i, arg in enumerate(argv):
    if arg.startswith(f"--{flag_name}="):
      return arg.split("=", 1)[1]
    if arg == f"--{flag_name}" and i + 1 < len(argv):
      return argv[i + 1]
  return default


def load_config(spec: str) -> ml_collections.ConfigDict:
  """Loads `path/to/config.py[:variant]` the way absl's `config_flags` does."""
  path, _, variant = spec.partition(":")
  if not os.path.exists(path):
    raise ConfigError(f"config file {path!r} does not exist")
  module_spec = importlib.util.spec_from_file_location("_helms_config", path)
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  if not hasattr(module, "get_config"):
    raise ConfigError(f"config file {path!r} has no get_config()")
  return module.get_config(variant) if variant else module.get_config()


def to_dict(config: ml_collections.ConfigDict) -> dict[str, Any]:
  return json.loads(config.to_json_best_effort(sort_keys=True))


def diff(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
  """Dotted keys whose values differ between two nested dicts (added/removed keys included)."""
  keys = []
  for name in sorted(set(old) | set(new)):
    path = f"{prefix}{name}"
    a, b = old.get(name, "<absent>"), new.get(name, "<absent>")
    if isinstance(a, dict) and isinstance(b, dict):
      keys.extend(diff(a, b, prefix=f"{path}."))
    elif a != b:
      keys.append(path)
  return keys
