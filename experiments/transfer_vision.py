"""State → vision transfer (HeLMS paper 4.4): the policy sees a 32 x 32 camera image (RGB +
depth, rendered inside JAX with mjx.ray) and proprioception; red-on-blue, set 4, staged reward.

  helms_mix       HeLMS-mix whose pixel policy pi(y|x_img), pi(z|y,x_img) is KL-regularised to
                  the state-based skills q(z|y,x_state) (eta_y, eta_z); actions through the frozen
                  low level. The critic sees the state.
  asymmetric_ac   the baseline: a Gaussian pixel + proprio policy on raw actions, state critic.
  mpo_pixels      MPO from pixels: the same policy, its critic on pixels + proprio too.

Variants: `helms_mix` (default), `asymmetric_ac` or `mpo_pixels`, optionally `,tiny`.
Rendering costs ~1 ms per image per env on this CPU, so the default budget is a third of the
state-based runs'.

Usage:
  helms-transfer --config=experiments/transfer_vision.py:helms_mix --workdir=runs/vision/mix \
      --config.transfer.skills_dir=runs/main
"""

from experiments._base import choose_one, variant_parts
from experiments._transfer import transfer_config

VISION_METHODS = ("helms_mix", "asymmetric_ac", "mpo_pixels")
LABELS = {"asymmetric_ac": "Asymmetric AC", "mpo_pixels": "MPO (pixels)"}


def get_config(variant: str = "helms_mix"):
  parts = variant_parts("transfer_vision", variant, VISION_METHODS)
  method = choose_one(variant, parts, VISION_METHODS, "helms_mix", "methods")
  tiny = "tiny" in parts
  base = "helms_mix" if method == "helms_mix" else "mpo"
  c, _ = transfer_config("transfer_vision", base + (",tiny" if tiny else ""))
  c.variant = variant
  t = c.transfer
  t.vision = True
  if method in LABELS:
    t.method, t.label = method, LABELS[method]
  else:
    t.label = "HeLMS-mix (vision)"
  t.env_kwargs = {"object_set": 4, "reward": "rgb_staged", "image": True,
                  "image_size": 8 if tiny else 32}
  if not tiny:
    t.loop.env_steps = 32_000
    t.loop.replay_capacity = 64_000  # images are 4 KiB each, two per transition
  return c
