"""Image batches processed with broadcasting and axis reductions."""

import numpy as np


def process_images(batch):
    mean = batch.mean(axis=(1, 2), keepdims=True)
    std = batch.std(axis=(1, 2), keepdims=True)
    z = (batch - mean) / std
    return np.sin(z) * 0.5 + 0.5


def to_gray(rgb):
    weights = np.array([0.299, 0.587, 0.114], dtype=rgb.dtype)
    return rgb @ weights


def box_blur(image):
    padded = np.pad(image, 1, mode="edge")
    total = sum(padded[dy:dy + image.shape[0], dx:dx + image.shape[1]]
                for dy in range(3) for dx in range(3))
    return total / 9.0


def gamma(image, g):
    return np.power(np.clip(image, 0.0, 1.0), g)


def threshold_mask(image, level):
    return (image > level).astype(np.uint8) * 255


def crop_center(image, size):
    top = (image.shape[0] - size) // 2
    left = (image.shape[1] - size) // 2
    return image[top:top + size, left:left + size]


def channel_stats(batch):
    return {name: batch[..., k].mean() for k, name in enumerate(("r", "g", "b"))}


def tile_means(image, tile):
    h, w = image.shape[0] // tile, image.shape[1] // tile
    blocks = image[:h * tile, :w * tile].reshape(h, tile, w, tile)
    return blocks.mean(axis=(1, 3))


def augment(batch, flips):
    out = []
    for image, flip in zip(batch, flips):
        out.append(image[:, ::-1] if flip else image)
    return np.stack(out)


def small_loop(y, steps):
    for _ in range(steps):
        y = y * 0.25 + 1.0
    return y
