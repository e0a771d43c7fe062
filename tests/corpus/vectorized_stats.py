"""Statistics written with whole-array NumPy operations."""

import numpy as np


def zscore(x):
    return (x - x.mean()) / x.std()


def weighted_mean(x, w):
    return np.sum(x * w) / np.sum(w)


def running_mean(x, window):
    kernel = np.ones(window) / window
    return np.convolve(x, kernel, mode="valid")


def histogram_counts(x, bins):
    counts, edges = np.histogram(x, bins=bins)
    return counts, edges


def covariance(a, b):
    am = a - a.mean(axis=0)
    bm = b - b.mean(axis=0)
    return am.T @ bm / (a.shape[0] - 1)


def robust_scale(x):
    median = np.median(x, axis=0)
    q75, q25 = np.percentile(x, [75, 25], axis=0)
    return (x - median) / (q75 - q25)


def conditional_accumulate(x, t):
    above = x > t
    return np.sum(x[above] ** 2) - np.sum(x[~above])


def moving_max(x, window):
    view = np.lib.stride_tricks.sliding_window_view(x, window)
    return view.max(axis=-1)


def bootstrap_means(x, draws, seed=0):
    rng = np.random.default_rng(seed)
    samples = rng.choice(x, size=(draws, x.size), replace=True)
    return samples.mean(axis=1)


def softmax(z):
    shifted = z - z.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)
