"""helms_jax: learning reusable motor skills offline and transferring them with RL, in JAX."""

import setuptools

# Ranges tested together on CPU (Python 3.11), see WORKSPACE.md "Dependencies".
# jax is held below 0.10: brax 0.14's training (ppo/sac `train`) calls
# jax.device_put_replicated, which jax 0.10 removed (google/brax#671); 0.9.x keeps
# brax's own trainers working on our envs unchanged.
INSTALL_REQUIRES = [
    "jax>=0.9.0,<0.10",
    "jaxlib>=0.9.0,<0.10",
    "flax>=0.12.0,<0.12.7",  # 0.12.7+ requires jax>=0.10
    "optax>=0.2.4,<0.3",
    "distrax>=0.1.5,<0.2",
    "brax>=0.14.0,<0.15",
    "mujoco>=3.3.0,<5",
    "mujoco-mjx>=3.3.0,<4",
    "orbax-checkpoint>=0.11.0,<0.13",
    "chex>=0.1.89,<0.2",
    "ml_collections>=1.0.0,<2",
    "absl-py>=2.0,<3",
    "numpy>=1.26,<3",
    "tensorboardX>=2.6,<3",  # TensorBoard event files without TensorFlow
    "tqdm>=4.66,<5",  # progress bars on interactive terminals
    "h5py>=3.10,<4",  # importer for D4RL/Minari-style HDF5 datasets
    "matplotlib>=3.8,<4",  # report plots
    "flashbax>=0.1.3,<0.2",  # on-device replay buffers (jit/vmap-able pure functions)
]

setuptools.setup(
    name="helms_jax",
    version="0.1.0",
    description=__doc__,
    packages=setuptools.find_packages(include=["helms_jax", "helms_jax.*", "launch", "experiments"]),
    # The RGB-Stacking test-object meshes (Apache-2.0, see their NOTICE).
    package_data={"helms_jax.envs.manipulation": ["assets/rgb_test_triplets/*"]},
    python_requires=">=3.10",
    install_requires=INSTALL_REQUIRES,
    extras_require={"test": ["pytest>=8", "pytest-timeout>=2.3", "pytest-xdist>=3.5"]},
    entry_points={
        "console_scripts": [
            "helms-data=launch.data:run",
            "helms-train=launch.train:run",
            "helms-eval=launch.eval:run",
            "helms-analyze=launch.analyze:run",
            "helms-transfer=launch.transfer:run",
            "helms-explore=launch.explore:run",
            "helms-report=launch.report:run",
            "helms-pipeline=launch.pipeline:run",
            "helms-bench=launch.bench:run",
        ]
    },
)
