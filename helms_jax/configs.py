"""Config utilities: loading experiment configs, validating overrides, (de)serialising.

Experiment configs are plain Python files in `experiments/` with a `get_config(variant)` function
returning a locked-ready `ml_collections.ConfigDict` (big_vision style). Launchers take
`--config=experiments/<name>.py:<variant>` and `--config.a.b=value` overrides through absl's
`config_flags`; `check_override_keys` runs before absl parses them so that a typo fails with a
message naming the key and the closest valid keys instead of a traceback.
"""

from __future__ import annotations

import contextlib
import difflib
import fnmatch
import importlib.util
import json
import math
import os
from typing import Any, Iterable, Sequence

import ml_collections

from helms_jax.errors import HelmsError


class ConfigError(HelmsError, ValueError):
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


# Keys added to the configs after runs were recorded, with the value that reproduces the behaviour
# those runs had without them: a recorded config that lacks such a key agrees with a new config
# holding exactly this value (any other value is a change).
ADDED_KEYS = {"data.expert_noise_max": 0.0, "data.expert_excursion_max": 0.0,
              "learner.prior_image_planes": 1,
              "transfer.uint8_views": False, "transfer.cache_prior": False,
              "transfer.loop.bootstrap_time_limits": True}


def lookup(tree: dict[str, Any], key: str) -> Any:
  """The value at dotted `key` in a nested dict, "<absent>" when it is not there."""
  for part in key.split("."):
    if not isinstance(tree, dict) or part not in tree:
      return "<absent>"
    tree = tree[part]
  return tree


def unrecorded_default(key: str, old: dict[str, Any], new: dict[str, Any]) -> bool:
  """Whether `key` differs only because `old` was recorded before the key existed and `new`
  holds the value that reproduces the old behaviour (ADDED_KEYS)."""
  return (key in ADDED_KEYS and lookup(old, key) == "<absent>"
          and lookup(new, key) == ADDED_KEYS[key])


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


# ------------------------------------------------------------------------------------------------
# Value checks, run by every stage before it writes anything.

def _is_int(v) -> bool:
  return isinstance(v, (int,)) and not isinstance(v, bool)


def _is_real(v) -> bool:
  return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _positive_int(v) -> bool:
  return _is_int(v) and v > 0


def _non_negative_int(v) -> bool:
  return _is_int(v) and v >= 0


def _positive(v) -> bool:
  return _is_real(v) and v > 0


def _non_negative(v) -> bool:
  return _is_real(v) and v >= 0


def _probability(v) -> bool:
  return _is_real(v) and 0 <= v <= 1


def _layer_sizes(v) -> bool:
  """One positive int, or a sequence of them (hidden layers, dilations)."""
  if _positive_int(v):
    return True
  return isinstance(v, (list, tuple)) and all(_positive_int(x) for x in v)


def _seeds(v) -> bool:
  return (isinstance(v, (list, tuple)) and len(v) > 0 and all(_is_int(x) for x in v)
          and len(set(v)) == len(v))


# (leaf-name patterns (fnmatch), check, what it must be). A leaf is checked by the first rule
# whose pattern matches its dotted path or its last component; None values are not checked
# (they mean "the default"). The names are those of experiments/ and the agents' default
# configs; a key no rule names is left to the code that reads it.
VALUE_RULES = (
    (("transfer.episode_length", "*skill_size", "*lookahead", "*updates_per_iteration",
      "*min_replay_steps", "*image_frames", "*prior_sampling_decay_updates",
      "*imagination_starts"),
     _non_negative_int, "an integer >= 0"),
    (("*batch_size", "*num_episodes", "*num_envs", "*episodes_per_shard", "*num_steps",
      "*updates_per_call", "*log_every", "*checkpoint_every", "*max_to_keep", "*_every_calls",
      "*iterations_per_call", "*unroll_length", "*sequence_length", "*replay_capacity",
      "*env_steps", "*num_skills", "*latent_size", "*z_dim", "*horizon", "*window",
      "*num_samples", "*num_seeds", "*num_components", "*lstm_size", "*wavenet_channels",
      "*kernel_size", "*plan_samples", "*plan_elites", "*plan_iters", "*skill_period",
      "*num_critics", "*deter_size", "*stoch_size", "*embed_size", "*attention_size",
      "*target_update_period", "*image_size", "*num_windows", "*num_rollouts",
      "*eval_episodes", "*composite_batch", "*composite_train_episodes",
      "*episodes_per_skill", "*episodes_per_behaviour", "*posterior_window", "*episode_length",
      "*prior_samples", "*kl_samples", "*num_blocks", "*observed_blocks"),
     _positive_int, "a positive integer"),
    (("*_hidden", "*hidden_sizes", "*dilations"), _layer_sizes,
     "a positive integer or a list of them"),
    (("*discount", "*lambda_", "*tau", "*_fraction", "*prior_sampling_start"), _probability,
     "a number in [0, 1]"),
    (("*learning_rate", "*epsilon", "*epsilon_*", "*min_scale", "*min_std", "*min_obs_std",
      "*min_observation_std", "*min_latent_std", "*mppi_temperature", "*init_alpha",
      "*target_divergence", "*action_bound"), _positive, "a number > 0"),
    (("*beta", "*beta_*", "*eta_*", "*_noise", "*max_grad_norm", "*free_nats", "*weight",
      "*kl_scale", "*plan_min_std"), _non_negative, "a number >= 0"),
    (("*.seeds",), _seeds, "a non-empty list of distinct integers"),
)


def _rule_for(path: str):
  leaf = path.rsplit(".", 1)[-1]
  for patterns, check, text in VALUE_RULES:
    if any(fnmatch.fnmatchcase(path, p) or fnmatch.fnmatchcase(leaf, p) for p in patterns):
      return check, text
  return None


def value_problems(config: ml_collections.ConfigDict | dict, prefix: str = "") -> list[str]:
  """`key=value must be ...` for each value of `config` that breaks its rule (VALUE_RULES)."""
  items = config.items() if isinstance(config, (dict, ml_collections.ConfigDict)) else ()
  problems = []
  for name, value in items:
    path = f"{prefix}{name}"
    if isinstance(value, (dict, ml_collections.ConfigDict)):
      problems.extend(value_problems(value, prefix=f"{path}."))
      continue
    rule = _rule_for(path)
    if value is None or rule is None:
      continue
    check, text = rule
    if not check(value):
      problems.append(f"{path}={value!r} must be {text}")
  return problems


def check_values(config: ml_collections.ConfigDict) -> None:
  """Raises ConfigError naming every value of `config` that breaks VALUE_RULES (sizes > 0,
  learning rates > 0, probabilities in [0, 1], ...), before a stage writes anything."""
  problems = value_problems(config)
  if problems:
    raise ConfigError("invalid config value" + ("s" if len(problems) > 1 else "") + ": " +
                      "; ".join(problems))


@contextlib.contextmanager
def values_checked_by_builders():
  """Turns the ValueError / TypeError a builder raises on a config value (a learner's or a
  loop's own checks, an unknown method name) into ConfigError, so the entry points report it
  in one line. Wrap only code that builds objects from the config, before anything runs."""
  try:
    yield
  except HelmsError:
    raise
  except (ValueError, TypeError) as error:
    raise ConfigError(str(error)) from error
