"""ant_skills: observation layout, task ids, and that the CPG expert shows each behaviour.

One compiled rollout for the whole file: 96 episodes x 64 steps in which a third of them
(chosen per episode by `experts.with_random_episodes`) act uniformly at random. Every
behaviour check is asserted for the expert's episodes AND asserted to fail for the random
ones, so the thresholds can fail.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helms_jax import envs
from helms_jax.envs import acting, experts
from helms_jax.envs.locomotion import skills

N, T = 96, 64
RANDOM_FRACTION = 1 / 3  # ~13 expert and ~6 random episodes per behaviour


@pytest.fixture(scope="module")
def run():
  env = envs.make("ant_skills")
  expert = experts.with_random_episodes(experts.expert_for("ant_skills", env, noise_scale=0.1),
                                        RANDOM_FRACTION, env.action_size)
  key = jax.random.PRNGKey(0)
  traj = jax.device_get(envs.rollout(envs.EpisodeWrapper(env, episode_length=T), expert.policy,
                                     key, N, T, policy_init=expert.init))
  is_random = np.asarray(experts.random_episode_flags(expert, acting.policy_init_keys(key, N)))
  return env, traj, is_random


def test_layout_and_task_ids(run):
  env, traj, _ = run
  assert env.observation_size == 34 and traj.observation.shape == (N, T + 1, 34)
  assert dict(env.observation_groups) == {"root_xy": (0, 2), "proprio": (2, 29),
                                          "task": (29, 34)}
  assert skills.SUBSKILLS == (0, 1, 2) and skills.COMPOSITES == {3: (0, 1), 4: (0, 2)}
  one_hot = traj.observation[:, :, 29:]
  np.testing.assert_array_equal(one_hot.sum(-1), 1.0)
  task_id = traj.info["task_id"]
  assert task_id.dtype == np.int32
  np.testing.assert_array_equal(one_hot[:, 0].argmax(-1), task_id[:, 0])
  assert (task_id == task_id[:, :1]).all()  # fixed within an episode
  # rollouts keep only scalar info: check the state's entries by shape (tracing only)
  info = jax.eval_shape(env.reset, jax.random.PRNGKey(0)).info
  assert info["root_xy"].shape == (2,) and info["task_id"].shape == ()
  assert info["task_id"].dtype == jnp.int32 and info["success"].dtype == jnp.float32
  assert set(np.unique(traj.info["success"])) <= {0.0, 1.0}
  assert np.isfinite(traj.observation).all()


def _episode_stats(traj):
  """Per episode: progress along the body heading (m; the sum over steps of the root's
  displacement projected on that step's heading, so an arc counts its length), net
  displacement (m), yaw change (rad, unwrapped), mean front-left foot lift (m) after the
  settling steps."""
  obs = traj.observation
  w, x, y, z = np.moveaxis(obs[:, :, 3:7], -1, 0)
  yaw = np.unwrap(np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)), axis=1)
  step = np.diff(obs[:, :, :2], axis=1)
  progress = (step[..., 0] * np.cos(yaw[:, :-1]) + step[..., 1] * np.sin(yaw[:, :-1])).sum(1)
  net = np.linalg.norm(obs[:, -1, :2] - obs[:, 0, :2], axis=-1)
  lift = traj.info["foot_lift"][:, skills.SETTLE_STEPS:].mean(1)
  return progress, net, yaw[:, -1] - yaw[:, 0], lift


# Over the 3.2 s episode. The expert's medians over 512 episodes (skills.py docstring): forward
# 2.3 m of progress and |yaw change| < 1 rad in 90%, turn 2.2 rad with 0.4 m net
# displacement, raise_leg lift 0.32 m and 0.3 m net, forward+turn 1.7 m and 2.5 rad,
# forward+raise_leg 0.9 m and lift 0.18 m; 75-100% of its episodes pass these checks,
# 1-8% of uniformly random episodes do (random actions flip the ant in ~64% of episodes).
THRESH = {"fwd": 1.0, "straight": 1.0, "turn": 1.0, "still": 1.0, "lift": 0.15,
          "fwd_c": 0.8, "turn_c": 1.0, "fwd_c_leg": 0.3, "lift_c": 0.1}
CHECKS = {  # behaviour -> (progress, net, yaw change, lift) -> bool per episode
    0: lambda p, d, r, l: (p > THRESH["fwd"]) & (np.abs(r) < THRESH["straight"]),
    1: lambda p, d, r, l: (r > THRESH["turn"]) & (d < THRESH["still"]),
    2: lambda p, d, r, l: (l > THRESH["lift"]) & (d < THRESH["still"]),
    3: lambda p, d, r, l: (p > THRESH["fwd_c"]) & (r > THRESH["turn_c"]),
    4: lambda p, d, r, l: (p > THRESH["fwd_c_leg"]) & (l > THRESH["lift_c"]),
}


@pytest.mark.parametrize("behaviour", range(5), ids=skills.BEHAVIOURS)
def test_expert_shows_behaviour(run, behaviour):
  _, traj, is_random = run
  stats = _episode_stats(traj)
  task_id = traj.info["task_id"][:, 0]
  ok = CHECKS[behaviour](*stats)
  expert_eps = (task_id == behaviour) & ~is_random
  random_eps = (task_id == behaviour) & is_random
  assert expert_eps.sum() >= 3 and random_eps.sum() >= 3
  # most expert episodes show the behaviour, (almost) no random one does
  assert ok[expert_eps].mean() >= 0.7, (behaviour, [s[expert_eps] for s in stats])
  assert ok[random_eps].mean() <= 0.3, (behaviour, [s[random_eps] for s in stats])
