"""Level 3 on NumPy code: a batch of images normalized on every core.

    PYTHONPATH=. python3 examples/parallel_images.py

``process_images`` normalizes each image by its own mean and standard deviation
(reductions over axes 1 and 2 only), so the analysis proves that image ``k`` of
the result depends only on image ``k`` of the input: level 3 cuts the batch into
blocks of images and runs them on a thread pool (NumPy releases the GIL). Then
``f.map`` runs many such calls, results in order.
"""

import time

import numpy as np

import optlevel
from optlevel import optimize


@optimize(level=3)
def process_images(images):
    mean = images.mean(axis=(1, 2), keepdims=True)
    std = images.std(axis=(1, 2), keepdims=True)
    z = (images - mean) / std
    return np.sin(z) * 0.5 + 0.5


def timed(f, *args):
    start = time.perf_counter()
    result = f(*args)
    return result, time.perf_counter() - start


def main():
    rng = np.random.default_rng(0)
    images = rng.random((200, 256, 256), dtype=np.float32)

    report = optlevel.explain(process_images, images)
    print(report)
    process_images(images)  # plans, measures the pool once
    fast, t_fast = timed(process_images, images)
    plain, t_plain = timed(process_images.py_func, images)
    print(f"\nplain NumPy: {t_plain * 1e3:7.1f} ms   level 3: {t_fast * 1e3:7.1f} ms "
          f"on {optlevel.settings().workers or 'all'} workers")
    np.testing.assert_allclose(fast, plain, rtol=1e-6)
    assert fast.dtype == np.float32 and fast.shape == plain.shape
    assert "split: images axis 0" in str(report)

    batches = [rng.random((4, 64, 64), dtype=np.float32) for _ in range(12)]
    results = process_images.map(batches)  # one call per batch, in parallel, in order
    for batch, result in zip(batches, results):
        np.testing.assert_allclose(result, process_images.py_func(batch), rtol=1e-6)
    print(f"map: {len(results)} batches, results in order")


if __name__ == "__main__":
    main()
