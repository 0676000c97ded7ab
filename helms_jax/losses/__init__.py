"""Pure loss kernels (no state, shapes in docstrings); batch them with `jax.vmap`."""

from helms_jax.losses import kl, mpo, sac
from helms_jax.losses.kl import (categorical_kl, diag_gaussian_log_prob, gaussian_kl,
                                 mixture_kl_to_prior, mixture_log_prob)
from helms_jax.losses.mixture_elbo import (FILTER_METHODS, ElboTerms, forward_filter,
                                           mixture_elbo, mixture_elbo_terms)
from helms_jax.losses.mpo import (MPOConfig, MPODuals, categorical_estep, categorical_mstep,
                                  gaussian_mstep, init_duals, mixture_mstep,
                                  temperature_loss_and_weights)

__all__ = ["FILTER_METHODS", "ElboTerms", "forward_filter", "mixture_elbo", "mixture_elbo_terms",
           "kl", "mpo", "sac", "categorical_kl", "diag_gaussian_log_prob", "gaussian_kl",
           "mixture_kl_to_prior", "mixture_log_prob", "MPOConfig", "MPODuals",
           "categorical_estep", "categorical_mstep", "gaussian_mstep", "init_duals",
           "mixture_mstep", "temperature_loss_and_weights"]
