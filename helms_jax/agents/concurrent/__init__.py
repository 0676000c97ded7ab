"""Concurrent-skill imitation (Pasula, 2020): a trajectory CVAE whose embedding of a composite
behaviour is tied to the sum of its concurrent subskills' embeddings.

model.py    BiLSTM + attention encoder, WaveNet state decoder, MLP action decoder, generation
offline.py  the learner (objectives original / variational / non_variational), held-out
            metrics (Figure 3's MSE, embedding-sum gaps), make_sampler (the label-grouped
            sampler of `data/grouped.py` with the learner's behaviours and split)
"""

from helms_jax.agents.concurrent import model, offline
from helms_jax.agents.concurrent.offline import (OBJECTIVES, make_learner, make_sampler,
                                                 parse_behaviours)

__all__ = ["model", "offline", "OBJECTIVES", "make_learner", "make_sampler", "parse_behaviours"]
