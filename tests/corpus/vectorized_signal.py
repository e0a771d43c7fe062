"""Signal processing with NumPy on whole arrays; the loops here walk lists of arrays
or iterate an algorithm, never the elements."""

import numpy as np


def normalize_loop(x):
    return (x - x.mean()) / x.std()


def threshold_activation(x, t, scale):
    safe = np.where(x > t, x, 1.0)
    return np.where(x > t, scale * np.log(safe), x)


def poly_map(x, a, b, c):
    return a * x ** 2 + b * x + c


def power_spectrum(x):
    spectrum = np.fft.rfft(x)
    return np.abs(spectrum) ** 2 / x.size


def lowpass(x, cutoff):
    spectrum = np.fft.rfft(x)
    spectrum[cutoff:] = 0
    return np.fft.irfft(spectrum, n=x.size)


def stack_energies(signals):
    energies = []
    for signal in signals:
        energies.append(np.sum(signal ** 2))
    return np.array(energies)


def jacobi(a, b, iterations):
    x = np.zeros_like(b)
    diag = np.diag(a)
    rest = a - np.diagflat(diag)
    for _ in range(iterations):
        x = (b - rest @ x) / diag
    return x


def newton_sqrt(values, steps=20):
    guess = np.maximum(values, 1.0)
    for _ in range(steps):
        guess = 0.5 * (guess + values / guess)
    return guess


def envelope(x):
    return np.maximum.accumulate(np.abs(x))


def zero_crossings(x):
    signs = np.signbit(x)
    return np.count_nonzero(signs[1:] != signs[:-1])


def clip_chain(x):
    return np.clip(x, -1, 1)
