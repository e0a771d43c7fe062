"""Linear algebra and geometry on whole arrays."""

import numpy as np


def pairwise_distances(a, b):
    diff = a[:, None, :] - b[None, :, :]
    return np.sqrt(np.sum(diff ** 2, axis=-1))


def outer_sum(a, b):
    return a[:, None] + b[None, :]


def gram_schmidt(vectors):
    basis = []
    for v in vectors:
        w = v - sum(np.dot(v, b) * b for b in basis)
        if np.linalg.norm(w) > 1e-12:
            basis.append(w / np.linalg.norm(w))
    return np.array(basis)


def power_iteration(a, steps=50):
    v = np.ones(a.shape[0])
    for _ in range(steps):
        v = a @ v
        v = v / np.linalg.norm(v)
    return v @ a @ v, v


def rotate(points, angle):
    c, s = np.cos(angle), np.sin(angle)
    rotation = np.array([[c, -s], [s, c]])
    return points @ rotation.T


def batched_matmul(a, b):
    return np.einsum("bij,bjk->bik", a, b)


def row_norms(m):
    return np.linalg.norm(m, axis=1)


def solve_many(matrices, rhs):
    return np.linalg.solve(matrices, rhs[..., None])[..., 0]


def column_sums(x):
    return x.sum(axis=0)


def trace_of_products(mats):
    total = 0.0
    for m in mats:
        total += np.trace(m @ m.T)
    return total
