"""The algorithms: each family is a package (`helms`, `spirl`, `lsp`, `concurrent`, `baselines`)
of model / offline / downstream modules plus its records (`records.py`), over the shared online
learners (`mpo`, `sac`) and action spaces (`spaces`). `helms_jax.methods` collects the records.
"""
