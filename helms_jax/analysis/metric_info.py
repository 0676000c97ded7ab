"""What a metric's name tells a report: which way is better, its bounds, unit and group.

The reports use this to order training curves (the learning signal first, diagnostics folded
away, throughput on a line of its own), to note "higher is better" / "lower is better", to keep
the std band of a bounded metric inside its bounds and to label axes. The rules read the name's
words (split at "_"; "/" separates a prefix):

  direction  higher: return, reward, success, accuracy, purity, elbo, log_prob, log_likelihood;
             lower: loss (a word of the name), mse, nll, error. A name with a "/" prefix
             takes its direction from the prefix's words alone ("mse/forward+turn": a family
             of MSEs, lower); "learner/..." metrics are an online learner's internals (a dual's
             loss going down is not the run getting better), so they get none.
  bounds     [0, 1]: success, accuracy, purity, fraction, a probability ("prob", "probability",
             without "log") and a probability mass ("..._mass").
  group      "throughput": rates (`..._per_sec`, sps, fps); "learning": a known direction, or
             reconstruction; "diagnostic": everything else (KL terms, gradient norms, entropies).
  unit       steps_per_sec is the offline loop's updates/s; env_steps_per_sec env steps/s; a name
             ending in _m is in metres.
"""

from __future__ import annotations

LEARNING, DIAGNOSTIC, THROUGHPUT = "learning", "diagnostic", "throughput"
GROUPS = (LEARNING, DIAGNOSTIC, THROUGHPUT)

_HIGHER = ("return", "reward", "success", "accuracy", "purity", "elbo")
_HIGHER_PHRASES = ("log_prob", "log_likelihood")
_LOWER = ("loss", "mse", "nll", "error")
_BOUNDED = ("success", "accuracy", "purity", "fraction", "prob", "probability")
_THROUGHPUT = ("sps", "fps")
_UNITS = {"steps_per_sec": "updates/s", "env_steps_per_sec": "env steps/s",
          "updates_per_sec": "updates/s"}


def _base(name: str) -> str:
  return name.rsplit("/", 1)[-1].lower()


def _words(name: str) -> list[str]:
  return _base(name).split("_")


def direction(name: str) -> str | None:
  """"higher" or "lower" (which way is better), or None when the name does not say. A
  namespaced name says it through its first part ("mse/forward+turn": lower); other namespaced
  names (a learner's internals, "learner/loss") are not ranked."""
  if "/" in name:
    head = name.split("/", 1)[0].lower().split("_")
    if any(w in _LOWER for w in head):
      return "lower"
    if any(w in _HIGHER for w in head):
      return "higher"
    return None
  base, words = _base(name), _words(name)
  if any(w in _HIGHER for w in words) or any(p in base for p in _HIGHER_PHRASES):
    return "higher"
  if any(w in _LOWER for w in words):
    return "lower"
  return None


def direction_note(name: str) -> str:
  """"higher is better", "lower is better" or ""."""
  way = direction(name)
  return f"{way} is better" if way else ""


def bounds(name: str) -> tuple[float, float] | None:
  """(0.0, 1.0) for a metric bounded in [0, 1] (success, probabilities, ...), else None."""
  words = _words(name)
  if "log" in words:
    return None
  if any(w in _BOUNDED for w in words) or _base(name).endswith("_mass"):
    return (0.0, 1.0)
  return None


def group(name: str) -> str:
  """One of GROUPS: "throughput", "learning" or "diagnostic"."""
  base = _base(name)
  if base.endswith("per_sec") or base.endswith("per_second") or base in _THROUGHPUT:
    return THROUGHPUT
  if direction(name) is not None or "reconstruction" in _words(name):
    return LEARNING
  return DIAGNOSTIC


def unit(name: str) -> str:
  """The metric's unit ("updates/s", "m", ...), or "" when none is known."""
  base = _base(name)
  if base in _UNITS:
    return _UNITS[base]
  if base.endswith("per_sec"):
    return base[:-len("_per_sec")].replace("_", " ") + "/s"
  if base.endswith("_m"):
    return "m"
  return ""


def axis_label(name: str) -> str:
  """The y-axis label: the name with its unit, e.g. "steps_per_sec (updates/s)"."""
  u = unit(name)
  return f"{name} ({u})" if u else name


def order(names) -> list[str]:
  """`names` sorted for display: the learning signal first (returns and success, then the
  total loss, then other metrics that say which way is better), then diagnostics, then
  throughput; alphabetical within each."""
  def key(name):
    words = _words(name)
    if any(w in ("return", "reward", "success") for w in words):
      rank = 0
    elif _base(name) == "loss":
      rank = 1
    else:
      rank = {"higher": 2, "lower": 3}.get(direction(name), 4)
    return GROUPS.index(group(name)), rank, name
  return sorted(names, key=key)
