"""Level 2: Numba ``njit``, its divergence catalogue, guards and disk cache."""
