"""Level 4: NumPy code on the GPU, and a pipeline that moves its data once.

    PYTHONPATH=. python3 examples/gpu_pipeline.py

With CuPy (or a CUDA build of Torch) and a GPU, ``normalize`` and ``energy`` run
on the GPU unchanged: their ``np.`` names resolve to CuPy while they run, and
``normalize`` (purely elementwise) becomes one fused kernel. ``to_device`` copies
the data in once, ``on_device()`` keeps every result there, and ``to_host``
copies the answer out once. Without a GPU the same script runs on the CPU, and
``explain`` says why (CuPy absent, no CUDA driver, or a CPU-only Torch).
"""

import warnings

import numpy as np

import optlevel
from optlevel import optimize


@optimize(level=4)
def normalize(x, mean, scale):
    return np.tanh((x - mean) / scale) * 0.5 + 0.5


@optimize(level=4)
def energy(x):
    return np.sum(x * x)


def main() -> None:
    x = np.random.default_rng(0).standard_normal(2_000_000)
    expected = energy.py_func(normalize.py_func(x, 0.1, 2.0))
    report = optlevel.explain(normalize, x, 0.1, 2.0)
    print(report)

    try:
        x_gpu = optlevel.to_device(x)  # one copy in
    except optlevel.OptlevelError as exc:
        print(f"\nno GPU here, so everything runs on the CPU: {exc}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optlevel.FallbackWarning)
            total = energy(normalize(x, 0.1, 2.0))
        assert np.isclose(total, expected)
        return

    with optlevel.on_device():  # results stay on the GPU between the two calls
        y = normalize(x_gpu, 0.1, 2.0)
        total_gpu = energy(y)
    total = optlevel.to_host(total_gpu)  # one copy out
    print(f"\nenergy: {float(total):.6f} (plain NumPy: {expected:.6f}); "
          f"normalize ran at levels {normalize.stats().levels}")
    assert np.isclose(float(total), expected)
    # NumPy in, NumPy out: the same call without to_device returns host arrays
    assert isinstance(normalize(x, 0.1, 2.0), np.ndarray)


if __name__ == "__main__":
    main()
