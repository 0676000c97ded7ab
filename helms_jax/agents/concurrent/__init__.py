"""Concurrent-skill imitation (Pasula, 2020): a trajectory CVAE whose embedding of a composite
behaviour is tied to the sum of its concurrent subskills' embeddings.

model.py    BiLSTM + attention encoder, WaveNet state decoder, MLP action decoder, generation
offline.py  the learner (objectives original / variational / non_variational), held-out
            metrics (Figure 3's MSE, embedding-sum gaps), make_sampler (the label-grouped
            sampler of `data/grouped.py` with the learner's behaviours and split)

LEARNERS holds the record the pipeline reads (`agents/records.py`).
"""

from helms_jax.agents.concurrent import model, offline
from helms_jax.agents.concurrent.offline import (OBJECTIVES, make_learner, make_sampler,
                                                 parse_behaviours)
from helms_jax.agents.records import OfflineLearner

LEARNERS = {
    "concurrent": OfflineLearner(
        name="concurrent", label="Concurrent-skill CVAE", make_learner=offline.make_learner,
        make_sampler=offline.make_run_sampler, shardable=False,
        analysis="helms_jax.analysis.concurrent:analyze_run",
        compare="helms_jax.analysis.concurrent:compare_objectives"),
}

__all__ = ["model", "offline", "OBJECTIVES", "LEARNERS", "make_learner", "make_sampler",
           "parse_behaviours"]
