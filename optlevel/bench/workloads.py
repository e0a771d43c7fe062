"""The workloads of WORKLOADS.md, written the way optlevel's users write them.

Each :class:`Workload` pairs a plain, undecorated function with a builder that
makes its inputs for a size from a fixed seed, so every run of ``optlevel demo``
or ``optlevel bench`` times the same data. The functions live at module level in
this file on purpose: optlevel reads their source, and Numba's disk cache needs
a real file.

``process_images``, ``fft``, ``sort``, ``dot`` and ``montecarlo_pi`` came with level 4;
their demo sizes are smaller than the figures' (benchmarks/gpu_figures.py runs those).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["Workload", "WORKLOADS", "get", "parse_size", "count_label", "SEED"]

#: Every builder draws from ``default_rng(SEED)``: the same inputs in every run.
SEED = 0


# --- the plain functions -------------------------------------------------------------

def conditional_accumulate(x, t):
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] > t:
            s += x[i] ** 2
        else:
            s -= x[i]
    return s


def normalize_loop(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = (x[i] - x.mean()) / x.std()
    return out


def elementwise(x):
    return np.sin(x) + np.cos(x) + np.sqrt(np.abs(x))


def matmul(a, b):
    return a @ b


def reduction(x):
    return np.sum(x)


def threshold_activation(x, t, scale):
    y = np.empty_like(x)
    for i in range(x.shape[0]):
        if x[i] > t:
            y[i] = scale * np.log(x[i])
        else:
            y[i] = x[i]
    return y


def small_loop(y, steps):
    # WORKLOADS.md multiplies by 2.5, which overflows to inf after ~800 steps (and
    # warns); 0.25 costs the same per step and keeps a result worth comparing.
    for _ in range(steps):
        y = y * 0.25 + 1.0
    return y


def process_images(images):
    mean = images.mean(axis=(1, 2), keepdims=True)
    std = images.std(axis=(1, 2), keepdims=True)
    z = (images - mean) / std
    return np.sin(z) * 0.5 + 0.5


def fft(x):
    return np.fft.fft(x)


def sort(x):
    return np.sort(x)


def dot(x, y):
    return np.dot(x, y)


def montecarlo_pi(n, seed):
    # Seeded, so every run of the plain function draws the same numbers; on the GPU
    # (only with gpu_random=True) the stream differs, and so does the estimate.
    np.random.seed(seed)
    x = np.random.random(n)
    y = np.random.random(n)
    return 4.0 * np.mean(x * x + y * y <= 1.0)


def independent_ops(x, y):
    a = np.sqrt(np.abs(x)) * 2.0
    b = np.exp(-y * y)
    c = np.log1p(np.abs(x - y))
    return a + b + c


def rowwise_python_matmul(a, b):
    n, m = a.shape
    p = b.shape[1]
    c = np.zeros((n, p))
    for i in range(n):
        for j in range(p):
            s = 0.0
            for k in range(m):
                s += a[i, k] * b[k, j]
            c[i, j] = s
    return c


# --- sizes ------------------------------------------------------------------------------

_SUFFIXES = {"": 1, "k": 1_000, "m": 1_000_000, "g": 1_000_000_000}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?)\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``"10M"`` → 10 000 000, ``"2K"`` → 2000, ``"2048"`` → 2048.

    Raises
    ------
    ValueError
        When ``text`` is not a positive whole number with an optional K, M or G suffix.
    """
    match = _SIZE_RE.match(text)
    if match is None:
        raise ValueError(f"bad size {text!r}: expected a number with an optional "
                         "K, M or G suffix, e.g. 2048, 10K, 1M")
    value = float(match.group(1)) * _SUFFIXES[match.group(2).lower()]
    if value < 1 or value != int(value):
        raise ValueError(f"bad size {text!r}: expected a positive whole number")
    return int(value)


def count_label(n: int) -> str:
    """``10_000_000`` → ``"10M"``, ``2000`` → ``"2K"``, ``1500`` → ``"1500"``."""
    for suffix, factor in (("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= factor and n % factor == 0:
            return f"{n // factor}{suffix}"
    return str(n)


def _square_label(n: int) -> str:
    return f"{n}x{n}"


def _steps_label(n: int) -> str:
    return f"{count_label(n)} steps"


# --- builders: size → arguments, from the fixed seed ------------------------------------

def _rng() -> np.random.Generator:
    return np.random.default_rng(SEED)


def _vector(n: int) -> tuple[Any, ...]:
    return (_rng().random(n),)


def _vector_threshold(n: int) -> tuple[Any, ...]:
    return (_rng().random(n), 0.5)


def _normal_vector(n: int) -> tuple[Any, ...]:
    return (_rng().standard_normal(n),)


def _activation_inputs(n: int) -> tuple[Any, ...]:
    return (_rng().standard_normal(n), 0.5, 2.0)


def _two_squares(n: int) -> tuple[Any, ...]:
    rng = _rng()
    return (rng.random((n, n)), rng.random((n, n)))


def _images(n: int) -> tuple[Any, ...]:
    return (_rng().random((n, 256, 256), dtype=np.float32),)


def _float32_vector(n: int) -> tuple[Any, ...]:
    return (_rng().random(n, dtype=np.float32),)


def _complex_vector(n: int) -> tuple[Any, ...]:
    rng = _rng()
    return (rng.random(n) + 1j * rng.random(n),)


def _two_vectors(n: int) -> tuple[Any, ...]:
    rng = _rng()
    return (rng.random(n), rng.random(n))


def _draws(n: int) -> tuple[Any, ...]:
    return (n, SEED)


def _images_label(n: int) -> str:
    return f"{n}x256x256"


def _small_array(steps: int) -> tuple[Any, ...]:
    return (_rng().random((100, 100)), steps)


# --- the registry -----------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Workload:
    """One workload of WORKLOADS.md.

    Attributes
    ----------
    name : str
        The id used in WORKLOADS.md and on the command line.
    func : callable
        The plain function, undecorated.
    build : callable
        ``build(size) -> args``: fresh inputs from the fixed seed.
    sizes : tuple of int
        The sizes ``optlevel demo`` runs.
    quick_sizes : tuple of int
        Small sizes for ``--quick`` (tests, smoke runs).
    what : str
        One line saying what it computes.
    label : callable
        ``label(size) -> str`` for tables.
    """

    name: str
    func: Callable[..., Any]
    build: Callable[[int], tuple[Any, ...]]
    sizes: tuple[int, ...]
    quick_sizes: tuple[int, ...]
    what: str
    label: Callable[[int], str] = count_label


WORKLOADS: dict[str, Workload] = {w.name: w for w in (
    Workload("conditional_accumulate", conditional_accumulate, _vector_threshold,
             (10_000_000,), (20_000,),
             "Python loop: add x[i]**2 where x[i] > t, else subtract x[i]"),
    Workload("normalize_loop", normalize_loop, _normal_vector, (2_000, 10_000), (300,),
             "Python loop writing (x[i] - x.mean()) / x.std(), both recomputed each time"),
    Workload("elementwise", elementwise, _vector, (1_000_000, 10_000_000), (20_000,),
             "sin(x) + cos(x) + sqrt(abs(x)), vectorized NumPy"),
    Workload("matmul", matmul, _two_squares, (2048,), (64,),
             "a @ b on square float64 matrices (one BLAS call)", _square_label),
    Workload("reduction", reduction, _vector, (10_000_000,), (20_000,), "np.sum(x)"),
    Workload("threshold_activation", threshold_activation, _activation_inputs,
             (1_000_000,), (20_000,),
             "Python loop: y[i] = scale * log(x[i]) if x[i] > t else x[i]"),
    Workload("small_loop", small_loop, _small_array, (10_000,), (200,),
             "y = y * 0.25 + 1.0, many times on a 100x100 array", _steps_label),
    Workload("process_images", process_images, _images, (100,), (2,),
             "float32 images: normalize each by its mean/std, then sin(z) * 0.5 + 0.5",
             _images_label),
    Workload("fft", fft, _complex_vector, (1_000_000,), (4096,), "np.fft.fft(x), complex"),
    Workload("sort", sort, _float32_vector, (1_000_000,), (20_000,), "np.sort(x), float32"),
    Workload("dot", dot, _two_vectors, (1_000_000,), (20_000,), "np.dot(x, y), vectors"),
    Workload("montecarlo_pi", montecarlo_pi, _draws, (1_000_000,), (20_000,),
             "4 * mean(x² + y² <= 1) over uniform draws (seeded)"),
    Workload("independent_ops", independent_ops, _two_vectors, (10_000_000,), (20_000,),
             "several independent NumPy calls on two large vectors, summed"),
    Workload("rowwise_python_matmul", rowwise_python_matmul, _two_squares, (128,), (16,),
             "pure-Python triple loop computing a @ b on arrays", _square_label),
)}


def get(name: str) -> Workload:
    """The workload called ``name``.

    Raises
    ------
    KeyError
        With the valid names, when there is no such workload.
    """
    try:
        return WORKLOADS[name]
    except KeyError:
        raise KeyError(f"unknown workload {name!r}: valid names are "
                       f"{', '.join(WORKLOADS)}") from None
