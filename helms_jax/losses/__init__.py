"""Pure loss kernels (no state, shapes in docstrings); batch them with `jax.vmap`."""

from helms_jax.losses.mixture_elbo import (FILTER_METHODS, ElboTerms, forward_filter,
                                           mixture_elbo, mixture_elbo_terms)

__all__ = ["FILTER_METHODS", "ElboTerms", "forward_filter", "mixture_elbo", "mixture_elbo_terms"]
