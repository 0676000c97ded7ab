"""Tests for helms_jax.data: format, writer, reader, window sampler, label-grouped sampler, HDF5
import."""

import json
import os
import shutil

import h5py
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helms_jax import data as D
from helms_jax.data import grouped


# ----------------------------------------------------------------------------------------------
# Helpers.


def _schema(image=True):
  return D.Schema.create(
      (3,), (2,), image_shape=(2, 2, 1) if image else None,
      info={"x": ((), np.int32), "v": ((2,), np.float32)},
      episode={"task": ((), "str"), "success": ((), bool), "goal": ((3,), np.float32)})


def _random_episode(rng, length, i, image=True):
  done = np.zeros(length, bool)
  done[-1] = True
  discount = np.ones(length, np.float32)
  if i % 2:
    discount[-1] = 0.0
  ep = {
      "observation": rng.normal(size=(length + 1, 3)).astype(np.float32),
      "action": rng.normal(size=(length, 2)).astype(np.float32),
      "reward": rng.normal(size=length).astype(np.float32),
      "discount": discount,
      "done": done,
      "info/x": rng.integers(-100, 100, size=length).astype(np.int32),
      "info/v": rng.normal(size=(length, 2)).astype(np.float32),
      "episode/task": np.str_(f"task{i % 3}" * (1 + i % 2)),
      "episode/success": np.bool_(i % 2),
      "episode/goal": rng.normal(size=3).astype(np.float32),
  }
  if image:
    ep["image"] = rng.integers(0, 256, size=(length + 1, 2, 2, 1), dtype=np.uint8)
  return ep


def _assert_episode_equal(got, want, where=""):
  assert set(got) == set(want), where
  for k in want:
    g, w = np.asarray(got[k]), np.asarray(want[k])
    assert g.shape == w.shape, (where, k, g.shape, w.shape)
    if w.dtype.kind != "U":
      assert g.dtype == w.dtype, (where, k, g.dtype, w.dtype)
    np.testing.assert_array_equal(g, w, err_msg=f"{where} {k}")


def _write(path, episodes, schema=None, per_shard=3, **kw):
  with D.DatasetWriter(path, schema or _schema(), "test-env", "unit test", per_shard, **kw) as w:
    for ep in episodes:
      w.add_episode(**ep)
  return w


# ----------------------------------------------------------------------------------------------
# Writer / reader round trip.


def test_round_trip_mixed_add_paths(tmp_path):
  rng = np.random.default_rng(0)
  lengths = [1, 5, 2, 9, 3, 3, 7, 1, 4, 6, 2]
  episodes = [_random_episode(rng, n, i) for i, n in enumerate(lengths)]
  schema = _schema()
  path = str(tmp_path / "ds")
  with D.DatasetWriter(path, schema, "test-env", "unit test", 4, env_kwargs={"a": (1, 2)}) as w:
    for ep in episodes[:3]:
      w.add_episode(**ep)
    # The rest as one padded batch (padding filled with garbage that must be ignored).
    rest = episodes[3:]
    t = max(len(ep["action"]) for ep in rest)
    batch = {}
    for name, spec in schema.fields.items():
      rows = [ep[name] for ep in rest]
      if spec.kind == D.EPISODE:
        batch[name] = np.stack(rows)
        continue
      pad_t = t + (spec.kind == D.OBS)
      out = np.full((len(rest), pad_t) + spec.shape, 7, dtype=spec.numpy_dtype())
      for j, r in enumerate(rows):
        out[j, :len(r)] = r
      batch[name] = out
    batch["done"][:, -1] = True  # garbage done in padding must not matter
    w.add_episodes(batch, [len(ep["action"]) for ep in rest])
    assert w.num_episodes == len(lengths)
  ds = D.load_dataset(path)
  assert ds.num_episodes == len(lengths) and ds.num_steps == sum(lengths)
  assert ds.manifest.num_episodes == len(lengths) and ds.manifest.num_steps == sum(lengths)
  assert [s.num_episodes for s in ds.manifest.shards] == [4, 4, 3]
  assert ds.manifest.env_kwargs == {"a": [1, 2]} and ds.manifest.env_name == "test-env"
  np.testing.assert_array_equal(ds.episode_length, lengths)
  # Offsets computed independently with a Python loop.
  so, oo, s, o = [], [], 0, 0
  for n in lengths:
    so.append(s), oo.append(o)
    s, o = s + n, o + n + 1
  np.testing.assert_array_equal(ds.step_offsets, so)
  np.testing.assert_array_equal(ds.obs_offsets, oo)
  assert ds["observation"].shape == (sum(lengths) + len(lengths), 3)
  for i, ep in enumerate(episodes):
    _assert_episode_equal(ds.episode(i), ep, f"episode {i}")
  with open(os.path.join(path, D.MANIFEST_NAME)) as f:
    m = json.load(f)
  assert m["format_version"] == D.FORMAT_VERSION and len(m["shards"]) == 3
  assert all(len(s["sha256"]) == 64 and s["num_bytes"] > 0 for s in m["shards"])


def test_writer_casts_same_kind_and_rejects_bad_input(tmp_path):
  rng = np.random.default_rng(1)
  w = D.DatasetWriter(str(tmp_path / "ds"), _schema(), "e", "g", 10)
  good = _random_episode(rng, 4, 0)
  w.add_episode(**{**good, "observation": good["observation"].astype(np.float64)})  # cast ok

  def bad(match, **changes):
    ep = {**good, **changes}
    ep = {k: v for k, v in ep.items() if v is not None}
    with pytest.raises(D.EpisodeValidationError, match=match):
      w.add_episode(**ep)

  bad("'reward'", reward=np.zeros(5, np.float32))  # L inconsistent
  bad("'observation'", observation=np.zeros((4, 3), np.float32))  # needs L+1
  bad("'action'", action=np.zeros((4, 3), np.float32))  # wrong action dim
  bad("'done'", done=np.zeros(4, np.float32))  # float -> bool not allowed
  bad("'info/x'", **{"info/x": np.zeros(4, np.float32)})  # float -> int not allowed
  bad("'episode/goal'", **{"episode/goal": np.zeros(2, np.float32)})
  bad("missing \\['image'\\]", image=None)
  bad("unknown \\['extra'\\]", extra=np.zeros(4))
  bad("done", done=np.array([False, True, False, True]))
  assert w.num_episodes == 1
  with pytest.raises(D.EpisodeValidationError, match="lengths"):
    w.add_episodes({k: np.asarray(v)[None] for k, v in good.items()}, [5])
  w.close()
  assert D.load_dataset(str(tmp_path / "ds")).num_episodes == 1


def test_resume_after_crash(tmp_path):
  rng = np.random.default_rng(2)
  episodes = [_random_episode(rng, int(n), i) for i, n in enumerate(rng.integers(1, 8, 11))]
  path = str(tmp_path / "ds")
  w = D.DatasetWriter(path, _schema(), "test-env", "unit test", 2)
  for ep in episodes[:5]:
    w.add_episode(**ep)
  assert w.num_committed_episodes == 4 and w.num_episodes == 5
  # "Crash": the writer is never closed (episode 4 is lost). Also leave the debris of a crash
  # inside a shard write (temp file) and between a shard's rename and the manifest update
  # (a shard file the manifest does not list).
  del w
  with open(os.path.join(path, ".tmp-abc123"), "wb") as f:
    f.write(b"partial")
  shutil.copy(os.path.join(path, "shard_00000.npz"), os.path.join(path, "shard_00002.npz"))
  w = D.DatasetWriter(path, _schema(), "test-env", "unit test", 2)
  assert sorted(os.listdir(path)) == ["manifest.json", "shard_00000.npz", "shard_00001.npz"]
  assert w.num_episodes == 4
  for ep in episodes[w.num_episodes:]:
    w.add_episode(**ep)
  w.close()
  ds = D.load_dataset(path)
  assert ds.num_episodes == len(episodes)
  for i, ep in enumerate(episodes):
    _assert_episode_equal(ds.episode(i), ep, f"episode {i}")
  # Closing again is a no-op; adding after close fails.
  w.close()
  with pytest.raises(D.DatasetError, match="closed"):
    w.add_episode(**episodes[0])


def test_resume_schema_or_env_mismatch_raises(tmp_path):
  rng = np.random.default_rng(3)
  path = str(tmp_path / "ds")
  _write(path, [_random_episode(rng, 3, 0)])
  with pytest.raises(D.SchemaMismatchError, match="manifest.json.*image"):
    D.DatasetWriter(path, _schema(image=False), "test-env", "unit test", 3)
  with pytest.raises(D.DatasetError, match="other-env"):
    D.DatasetWriter(path, _schema(), "other-env", "unit test", 3)
  w = D.DatasetWriter(path, _schema(image=False), "test-env", "g", 3, overwrite=True)
  assert w.num_episodes == 0
  w.close()
  (tmp_path / "other").mkdir()
  (tmp_path / "other" / "notes.txt").write_text("hi")
  with pytest.raises(D.DatasetError, match="notes.txt"):
    D.DatasetWriter(str(tmp_path / "other"), _schema(), "e", "g", 3)


# ----------------------------------------------------------------------------------------------
# Corruption detection.


@pytest.fixture
def small_dataset(tmp_path):
  rng = np.random.default_rng(4)
  path = str(tmp_path / "ds")
  _write(path, [_random_episode(rng, n, i) for i, n in enumerate([3, 4, 2, 5, 1])], per_shard=2)
  return path


def test_truncated_shard(small_dataset):
  p = os.path.join(small_dataset, "shard_00001.npz")
  with open(p, "r+b") as f:
    f.truncate(os.path.getsize(p) - 10)
  with pytest.raises(D.ShardCorruptError, match="shard_00001.npz.*bytes"):
    D.load_dataset(small_dataset)


def test_flipped_byte_checksum(small_dataset):
  p = os.path.join(small_dataset, "shard_00002.npz")
  with open(p, "r+b") as f:
    f.seek(os.path.getsize(p) // 2)
    b = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([b[0] ^ 0xFF]))
  with pytest.raises(D.ChecksumError, match="shard_00002.npz.*sha256"):
    D.load_dataset(small_dataset)
  # Without the checksum, the zip CRC of the member still catches it, as a ShardCorruptError.
  with pytest.raises(D.ShardCorruptError, match="shard_00002.npz"):
    D.load_dataset(small_dataset, verify=False)


def test_missing_shard_manifest_and_dir(small_dataset, tmp_path):
  os.remove(os.path.join(small_dataset, "shard_00000.npz"))
  with pytest.raises(D.ShardMissingError, match="shard_00000.npz"):
    D.load_dataset(small_dataset)
  os.remove(os.path.join(small_dataset, "manifest.json"))
  with pytest.raises(D.DatasetNotFoundError, match="manifest.json.*helms-data"):
    D.load_dataset(small_dataset)
  with pytest.raises(FileNotFoundError, match="nope.*helms-data"):
    D.load_dataset(str(tmp_path / "nope"))


def test_shard_schema_mismatch_and_version(small_dataset):
  # Rewrite a shard with a wrong dtype, and fix size + checksum so only the schema check fires.
  p = os.path.join(small_dataset, "shard_00001.npz")
  with np.load(p) as z:
    arrays = {k: z[k] for k in z.files}
  arrays["reward"] = arrays["reward"].astype(np.float64)
  np.savez(p, **arrays)
  mpath = os.path.join(small_dataset, "manifest.json")
  with open(mpath) as f:
    m = json.load(f)
  m["shards"][1]["num_bytes"] = os.path.getsize(p)
  m["shards"][1]["sha256"] = D.format.sha256_file(p)
  with open(mpath, "w") as f:
    json.dump(m, f)
  with pytest.raises(D.SchemaMismatchError, match="shard_00001.npz.*'reward'.*float64"):
    D.load_dataset(small_dataset)
  m["format_version"] = 99
  with open(mpath, "w") as f:
    json.dump(m, f)
  with pytest.raises(D.FormatVersionError, match="manifest.json.*99"):
    D.load_dataset(small_dataset)


# ----------------------------------------------------------------------------------------------
# Window sampler.

_LENGTHS = [1, 2, 3, 5, 7, 4, 9, 3, 12, 6]
_W, _LA = 3, 2


def _content_dataset(path, lengths=_LENGTHS):
  """Episodes whose data encode (episode id, index): obs [e, k] for k = 0..L, action [e, t]."""
  schema = D.Schema.create((2,), (2,), episode={"id": ((), np.int32)})
  with D.DatasetWriter(path, schema, "e", "g", 4) as w:
    for e, n in enumerate(lengths):
      done = np.zeros(n, bool)
      done[-1] = True
      w.add_episode(
          observation=np.stack([np.full(n + 1, e), np.arange(n + 1)], -1).astype(np.float32),
          action=np.stack([np.full(n, e), np.arange(n)], -1).astype(np.float32),
          reward=(1000 * e + np.arange(n)).astype(np.float32), discount=np.ones(n, np.float32),
          done=done, episode={"id": np.int32(e)})
  return D.load_dataset(path)


def _brute_force_windows(lengths, w):
  return {(e, t) for e, n in enumerate(lengths) for t in range(n) if t + w <= n}


def test_valid_window_starts_matches_brute_force():
  for w in (1, 3, 6):
    ep, st = D.valid_window_starts(np.array(_LENGTHS), w)
    got = list(zip(ep.tolist(), st.tolist()))
    assert len(got) == len(set(got))
    assert set(got) == _brute_force_windows(_LENGTHS, w)


def test_sampler_statistics_and_content(tmp_path):
  ds = _content_dataset(str(tmp_path / "ds"))
  sampler = D.WindowSampler(ds, _W, lookahead=_LA)
  valid = _brute_force_windows(_LENGTHS, _W)
  assert sampler.num_windows == len(valid)
  n = 40000
  b = sampler.sample(jax.random.key(0), n)
  ep, st = b["episode_index"], b["window_start"]
  # (a) every sampled window is valid, (b) every valid window is reached.
  pairs = list(zip(ep.tolist(), st.tolist()))
  assert set(pairs) <= valid
  assert set(pairs) == valid
  # (c) roughly uniform: chi-square with df = M - 1 well below mean + 6 std (= df + 6 sqrt(2 df)).
  keys = ep * 100 + st
  _, counts = np.unique(keys, return_counts=True)
  expected = n / len(valid)
  chi2 = ((counts - expected) ** 2 / expected).sum()
  df = len(valid) - 1
  assert chi2 < df + 6 * np.sqrt(2 * df), chi2
  # (d) content: actions/rewards of a window all come from one episode, consecutive steps.
  ar = np.arange(_W)
  np.testing.assert_array_equal(b["action"][:, :, 0], np.repeat(ep[:, None], _W, 1))
  np.testing.assert_array_equal(b["action"][:, :, 1], st[:, None] + ar)
  np.testing.assert_array_equal(b["reward"], 1000 * ep[:, None] + st[:, None] + ar)
  np.testing.assert_array_equal(b["episode/id"], ep)
  assert b["done"].sum() == (st + _W == np.array(_LENGTHS)[ep]).sum()
  # (e) observations: t..t+W-1+LA clamped to L, mask 1 iff not clamped.
  length = np.array(_LENGTHS)[ep][:, None]
  k = st[:, None] + np.arange(_W + _LA)
  np.testing.assert_array_equal(b["observation"][:, :, 0], np.repeat(ep[:, None], _W + _LA, 1))
  np.testing.assert_array_equal(b["observation"][:, :, 1], np.minimum(k, length))
  np.testing.assert_array_equal(b["obs_mask"], (k <= length).astype(np.float32))
  assert (b["obs_mask"] == 0).any() and (b["obs_mask"] == 1).all(axis=1).any()


def test_window_too_long(tmp_path):
  ds = _content_dataset(str(tmp_path / "ds"), lengths=[2, 4, 3])
  with pytest.raises(D.WindowError, match="window length 5 .*longest has 4"):
    D.WindowSampler(ds, 5)
  assert D.WindowSampler(ds, 4).num_windows == 1


def test_host_and_device_samplers_identical(tmp_path):
  rng = np.random.default_rng(5)
  path = str(tmp_path / "ds")
  _write(path, [_random_episode(rng, n, i) for i, n in enumerate([3, 8, 5, 2, 9, 4])])
  ds = D.load_dataset(path)
  sampler = D.WindowSampler(ds, 3, lookahead=1)
  sample = sampler.device_sample_fn(16)

  @jax.jit
  def learner_step(key):  # the sampler used inside another jitted function
    batch = sample(key)
    return batch, jnp.sum(batch["reward"])

  for seed in range(3):
    key = jax.random.key(seed)
    host = sampler.sample(key, 16)
    dev = sample(key)
    inner, _ = learner_step(key)
    assert set(dev) == set(host) - {"episode/task"}  # strings stay on host
    for name in dev:
      np.testing.assert_array_equal(np.asarray(dev[name]), host[name], err_msg=name)
      np.testing.assert_array_equal(np.asarray(inner[name]), host[name], err_msg=name)
      assert np.asarray(dev[name]).dtype == host[name].dtype, name
    again = sampler.sample(key, 16)  # same key -> same batch
    for name in host:
      np.testing.assert_array_equal(again[name], host[name])
  other = sampler.sample(jax.random.key(99), 16)
  assert not np.array_equal(other["observation"], host["observation"])
  # Explicit-argument variant.
  arrays, table = sampler.device_arrays()
  kinds = {n: s.kind for n, s in ds.schema.fields.items()}
  b = D.gather_window_batch(arrays, table, jax.random.key(2), 16, 3, 1, kinds)
  np.testing.assert_array_equal(np.asarray(b["action"]), host["action"])


# ----------------------------------------------------------------------------------------------
# Label-grouped sampler (data/grouped.py).

_BEHAVIOURS = grouped.Behaviours(("a", "b", "a+b"), subskills=(0, 1), composites=(2,),
                                 members=np.ones((1, 2), np.float32))


def _labelled_dataset(path, lengths, labels):
  """Episodes whose observations are [episode, t] and actions [episode, t + 0.5]."""
  schema = D.Schema.create((2,), (2,), episode={"task_id": ((), np.int32)})
  episodes = []
  for e, (n, label) in enumerate(zip(lengths, labels)):
    t = np.arange(n + 1, dtype=np.float32)
    episodes.append({
        "observation": np.stack([np.full_like(t, e), t], -1),
        "action": np.stack([np.full(n, e, np.float32), t[:-1] + 0.5], -1),
        "reward": np.zeros(n, np.float32), "discount": np.ones(n, np.float32),
        "done": np.arange(n) == n - 1, "episode/task_id": np.int32(label)})
  _write(path, episodes, schema=schema, per_shard=7)
  return D.load_dataset(path)


def test_grouped_sampler_variable_length_episodes(tmp_path):
  """Every window lies inside one episode of the right behaviour and split, and the draws
  cover exactly the brute-force set of valid training windows."""
  rng = np.random.default_rng(3)
  lengths = rng.integers(2, 11, size=30)  # window 4: episodes of 2 or 3 steps take no part
  labels = np.arange(30) % 3
  ds = _labelled_dataset(str(tmp_path / "ds"), lengths, labels)
  w, held_n, composite_n = 4, 1, 2
  assert (lengths < w).any() and len(set(lengths.tolist())) > 5
  sample_fn, data = grouped.grouped_sample_fn(ds, _BEHAVIOURS, w, batch_size=8,
                                              composite_batch=4, eval_episodes=held_n,
                                              composite_train_episodes=composite_n)
  # Brute force: usable episodes per label in order, the first held out, composites keep 2.
  usable = [[e for e in range(30) if labels[e] == i and lengths[e] >= w] for i in range(3)]
  held = [u[:held_n] for u in usable]
  train = [usable[0][held_n:], usable[1][held_n:], usable[2][held_n:held_n + composite_n]]
  valid = [{(e, s) for e in t for s in range(lengths[e] - w + 1)} for t in train]

  def windows(obs, act=None):
    """[..., W+1, 2] observation windows -> (episode, start) pairs, checked to be contiguous
    steps of one episode (and the actions to be that window's)."""
    obs = np.asarray(obs).reshape(-1, w + 1, 2)
    e, s = obs[:, 0, 0].astype(int), obs[:, 0, 1].astype(int)
    np.testing.assert_array_equal(obs[..., 0], np.repeat(e[:, None], w + 1, 1))
    np.testing.assert_array_equal(obs[..., 1], s[:, None] + np.arange(w + 1))
    assert (s + w <= lengths[e]).all()  # never past the episode's final observation
    if act is not None:
      act = np.asarray(act).reshape(-1, w, 2)
      np.testing.assert_array_equal(act[..., 0], np.repeat(e[:, None], w, 1))
      np.testing.assert_array_equal(act[..., 1], obs[:, :-1, 1] + 0.5)
    return set(zip(e.tolist(), s.tolist()))

  keys = jax.random.split(jax.random.key(0), 1000)
  batch = jax.jit(jax.vmap(sample_fn, in_axes=(None, 0)))(jax.device_put(data), keys)
  assert windows(batch["states"], batch["actions"]) == set().union(*valid)
  composite = np.asarray(batch["composite"])
  assert composite.dtype == np.int32 and set(composite.ravel()) == {0}
  assert windows(batch["composite_states"]) == valid[2]
  for k in range(2):
    assert windows(batch["subskill_states"][:, :, k]) == valid[k]
  # Held-out windows: start 0 of the composite's held-out episode and of each subskill's.
  assert windows(batch["eval_states"][0]) == {(e, 0) for e in held[2]}
  for k in range(2):
    assert windows(batch["eval_subskill_states"][0][:, k]) == {(e, 0) for e in held[k]}
  np.testing.assert_array_equal(batch["eval_composite"][0], np.zeros(len(held[2])))

  # A pure function of (data, key): host numpy or device data, alone or vmapped, same batch.
  sample = jax.jit(sample_fn)
  host, device = sample(data, keys[5]), sample(jax.device_put(data), keys[5])
  for name in batch:
    assert np.asarray(host[name]).dtype == np.asarray(batch[name]).dtype, name
    np.testing.assert_array_equal(np.asarray(host[name]), np.asarray(batch[name][5]), name)
    np.testing.assert_array_equal(np.asarray(device[name]), np.asarray(batch[name][5]), name)
  assert not np.array_equal(np.asarray(batch["states"][4]), np.asarray(batch["states"][5]))

  # Too few episodes long enough for the window: named.
  with pytest.raises(D.WindowError,
                     match=r"episodes of behaviour '\w' \(task_id \d\) with a window"):
    grouped.grouped_sample_fn(ds, _BEHAVIOURS, 9, 8, 4, eval_episodes=held_n,
                              composite_train_episodes=composite_n)


# ----------------------------------------------------------------------------------------------
# HDF5 import.


def _d4rl_file(path, with_next=False):
  """Three episodes laid out D4RL-style; returns the raw per-episode pieces."""
  rng = np.random.default_rng(6)
  lens = [3, 4, 2]
  obs = [rng.normal(size=(n, 3)).astype(np.float32) for n in lens]
  nxt = [rng.normal(size=(n, 3)).astype(np.float32) for n in lens]
  act = [rng.normal(size=(n, 2)).astype(np.float32) for n in lens]
  rew = [rng.normal(size=n).astype(np.float32) for n in lens]
  term = [np.array([0, 0, 1]), np.array([0, 0, 0, 0]), np.array([0, 0])]
  tout = [np.array([0, 0, 0]), np.array([0, 0, 0, 1]), np.array([0, 0])]
  info = [rng.integers(0, 9, size=n).astype(np.int64) for n in lens]
  with h5py.File(path, "w") as f:
    f["observations"] = np.concatenate(obs)
    f["actions"] = np.concatenate(act)
    f["rewards"] = np.concatenate(rew)
    f["terminals"] = np.concatenate(term).astype(bool)
    f["timeouts"] = np.concatenate(tout).astype(bool)
    f["infos/qpos"] = np.concatenate(info)
    if with_next:
      f["next_observations"] = np.concatenate(nxt)
    f.attrs["env_name"] = "hopper-medium"
  return lens, obs, nxt, act, rew, term, info


def test_import_d4rl(tmp_path):
  h5 = str(tmp_path / "d4rl.hdf5")
  lens, obs, nxt, act, rew, term, info = _d4rl_file(h5, with_next=True)
  for mode in ("next_row", "drop_last", "next_observations"):
    out = str(tmp_path / mode)
    m = D.import_hdf5(h5, out, episodes_per_shard=2, final_obs=mode)
    ds = D.load_dataset(out)
    assert m.env_name == "hopper-medium" and ds.manifest.metadata["source_layout"] == "d4rl"
    assert ds.num_episodes == 3
    for e in range(3):
      n = lens[e]
      if mode == "drop_last" or (mode == "next_row" and e == 2):
        n -= 1
        final = obs[e][n]
      elif mode == "next_row":
        final = obs[e + 1][0]  # next row = next episode's first observation
      else:
        final = nxt[e][-1]
      got = ds.episode(e)
      np.testing.assert_array_equal(got["observation"], np.concatenate([obs[e][:n], final[None]]))
      np.testing.assert_array_equal(got["action"], act[e][:n])
      np.testing.assert_array_equal(got["reward"], rew[e][:n])
      np.testing.assert_array_equal(got["discount"], 1.0 - term[e][:n])
      np.testing.assert_array_equal(got["done"], np.arange(n) == n - 1)
      np.testing.assert_array_equal(got["info/qpos"], info[e][:n])
  with pytest.raises(D.DatasetError, match="already holds"):
    D.import_hdf5(h5, str(tmp_path / "next_row"))


def test_import_minari(tmp_path):
  rng = np.random.default_rng(7)
  ids, lens = [0, 1, 10, 2], [3, 1, 4, 2]
  eps = {}
  h5 = str(tmp_path / "minari.hdf5")
  with h5py.File(h5, "w") as f:
    f.attrs["env_spec"] = json.dumps({"id": "PointMaze-v3"})
    for i, n in zip(ids, lens):
      g = f.create_group(f"episode_{i}")
      ep = dict(observations=rng.normal(size=(n + 1, 4)), actions=rng.normal(size=(n, 2)),
                rewards=rng.normal(size=n), terminations=np.arange(n) == n - 1 if i % 2 else
                np.zeros(n, bool), truncations=np.arange(n) == n - 1 if not i % 2 else
                np.zeros(n, bool), info_success=rng.integers(0, 2, n + 1).astype(bool))
      for k, v in ep.items():
        if k == "info_success":
          g["infos/success"] = v
        else:
          g[k] = v
      eps[i] = ep
  m = D.import_hdf5(h5, str(tmp_path / "out"), episodes_per_shard=3)
  ds = D.load_dataset(str(tmp_path / "out"))
  assert m.env_name == "PointMaze-v3" and ds.num_episodes == 4
  for e, i in enumerate(sorted(ids)):
    ep, got = eps[i], ds.episode(e)
    np.testing.assert_array_equal(got["observation"], ep["observations"])
    np.testing.assert_array_equal(got["action"], ep["actions"])
    np.testing.assert_array_equal(got["reward"], ep["rewards"].astype(np.float32))
    np.testing.assert_array_equal(got["discount"], 1.0 - ep["terminations"])
    np.testing.assert_array_equal(got["done"], np.arange(len(ep["actions"])) == len(ep["actions"]) - 1)
    np.testing.assert_array_equal(got["info/success"], ep["info_success"][1:])


def test_import_unrecognised_layout(tmp_path):
  h5 = str(tmp_path / "weird.hdf5")
  with h5py.File(h5, "w") as f:
    f["states"] = np.zeros((3, 2))
    f["acts"] = np.zeros((3, 1))
  with pytest.raises(D.LayoutError, match="weird.hdf5.*'acts', 'states'"):
    D.import_hdf5(h5, str(tmp_path / "out"))
  assert not os.path.exists(str(tmp_path / "out" / "manifest.json"))
