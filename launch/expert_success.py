"""Success rates of the scripted stacking expert per object set (64 episodes each, noise 0.2).

  python launch/expert_success.py docs/results/stacking_expert/success_rates.json

`success_any`: the goal configuration held at some step (what datasets record as
`episode/success`); `success_end`: it still holds at the episode's last step.
"""
import sys, time
import jax, numpy as np
from helms_jax import envs, io
from helms_jax.envs import experts
results = {}
for task, sets, steps in [("red_on_blue", (1, 2, 3, 4, 5), 200), ("pyramid", (4,), 300)]:
  for s in sets:
    env = envs.EpisodeWrapper(envs.make("stacking", task=task, object_set=s, reward="sparse"), episode_length=steps)
    ex = experts.expert_for("stacking", env, noise_scale=0.2)
    t = time.time()
    traj = jax.device_get(envs.rollout(env, ex.policy, jax.random.PRNGKey(s), 64, steps, policy_init=ex.init))
    valid = np.asarray(traj.valid); succ = np.asarray(traj.info["success"]) * valid
    lengths = valid.sum(1).astype(int)
    end = succ[np.arange(64), lengths - 1]
    results[f"{task}/set{s}"] = {"success_any": float((succ.max(1) > 0).mean()), "success_end": float(end.mean()),
                                 "episodes": 64, "steps": steps, "seconds_incl_compile": round(time.time() - t, 1)}
    print(task, s, results[f"{task}/set{s}"], flush=True)
io.atomic_write_json(sys.argv[1], results)
