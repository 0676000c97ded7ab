"""Baseline learners (BC now; MPO, SAC, NPMP, hierarchical BC, Dreamer join with their issues)."""
