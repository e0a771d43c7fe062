"""A real module whose attributes the frozen-value cases read and change."""

import numpy as np

SCALE = 2.0
W = np.array([1.0, 2.0, 3.0])
