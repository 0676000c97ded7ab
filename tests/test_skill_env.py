"""SkillEnv: H decoder steps per env step, against a brute-force Python loop."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from brax.envs.base import Env, State

from helms_jax.agents.spirl.offline import SkillDecoder
from helms_jax.envs import EpisodeWrapper
from helms_jax.envs.skill_env import SkillEnv
from helms_jax.training.online_loop import low_level_steps_per_step


class Counter(Env):
  """obs = [t, x]; x += a[0]; reward = a[0] * (t + 1); success only on the step reaching t = 3."""
  transition_info_keys = ("success",)

  @property
  def observation_size(self):
    return 2

  @property
  def action_size(self):
    return 1

  @property
  def backend(self):
    return "none"

  def reset(self, rng):
    del rng
    zero = jnp.zeros(())
    return State(pipeline_state=None, obs=jnp.zeros(2), reward=zero, done=zero,
                 metrics={"success": zero}, info={"success": zero})

  def step(self, state, action):
    t, x = state.obs[0], state.obs[1]
    success = (t + 1 == 3).astype(jnp.float32)
    return state.replace(obs=jnp.stack([t + 1, x + action[0]]), reward=action[0] * (t + 1),
                         metrics={"success": success}, info={"success": success})


def _decoder():
  """action_k = scale * z[0] * (k + 1) for the k-th step of a skill."""
  def init(params, z, obs):
    del params, obs
    return {"z": z, "step": jnp.zeros((), jnp.int32)}

  def step(params, dstate, obs):
    del obs
    action = params["scale"] * dstate["z"][:1] * (dstate["step"] + 1)
    return action, {"z": dstate["z"], "step": dstate["step"] + 1}

  return SkillDecoder(init=init, step=step)


def _brute_force(env, decoder, params, state, z, horizon):
  total, dstate, success = 0.0, decoder.init(params, z, state.obs), 0.0
  for _ in range(horizon):
    if state.done > 0:
      break
    action, dstate = decoder.step(params, dstate, state.obs)
    state = env.step(state, action)
    total += float(state.reward)
    success = max(success, float(state.info["success"]))
  return state, total, success


@pytest.mark.parametrize("horizon", [1, 4])
def test_matches_brute_force_and_freezes_after_episode_end(horizon):
  low = EpisodeWrapper(Counter(), episode_length=6)
  params = {"scale": jnp.float32(0.5)}
  env = SkillEnv(low, _decoder(), params, horizon=horizon, z_dim=2)
  assert env.action_size == 2 and low_level_steps_per_step(env) == horizon
  step = jax.jit(env.step)
  state = ref = env.reset(jax.random.PRNGKey(0))
  zs = [jnp.array([1.0, 0.0]), jnp.array([-2.0, 3.0]), jnp.array([0.5, 0.0])]
  for z in zs * 3:
    if float(ref.done) > 0:
      break
    ref, total, success = _brute_force(low, env.decoder, params, ref, z, horizon)
    state = step(state, z)
    np.testing.assert_allclose(state.obs, ref.obs, rtol=1e-6)
    np.testing.assert_allclose(state.reward, total, rtol=1e-6)
    assert float(state.done) == float(ref.done)
    assert float(state.info["success"]) == success == float(state.metrics["success"])
  assert float(state.done) == 1.0 and int(state.info["steps"]) == 6  # the 6-step limit held


def test_success_mid_skill_is_kept():
  """The success of step 3 survives to the end of a 4-step skill (max over the skill)."""
  low = EpisodeWrapper(Counter(), episode_length=100)
  env = SkillEnv(low, _decoder(), {"scale": jnp.float32(1.0)}, horizon=4, z_dim=1)
  state = env.step(env.reset(jax.random.PRNGKey(0)), jnp.ones(1))
  assert float(state.info["success"]) == 1.0 and float(state.obs[0]) == 4.0
  np.testing.assert_allclose(state.reward, sum((k + 1) * (k + 1) for k in range(4)))


def test_bad_skill_shape_is_refused():
  env = SkillEnv(EpisodeWrapper(Counter(), 10), _decoder(), {"scale": 1.0}, horizon=2, z_dim=3)
  with pytest.raises(ValueError, match="skill z"):
    env.step(env.reset(jax.random.PRNGKey(0)), jnp.ones(2))
