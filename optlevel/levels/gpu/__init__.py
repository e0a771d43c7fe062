"""Level 4's shared machinery: the CuPy and Torch backends
(:mod:`optlevel.levels.gpu.backend_cupy`, :mod:`optlevel.levels.gpu.backend_torch`) are thin
and use these modules:

- :mod:`.probe`: is a GPU usable through CuPy or Torch, and why not; measuring
  transfer rates and launch latency into the machine profile;
- :mod:`.libs`: one adapter per array library (CuPy, Torch, and NumPy standing in
  for a device in tests): moving arrays, fusing, freeing memory;
- :mod:`.namespace`: running a function with its NumPy names bound to the GPU
  library, helpers included;
- :mod:`.checks`: what the AST says about running on a GPU (element loops, random
  numbers, purely elementwise bodies);
- :mod:`.fusion`, :mod:`.transfer`, :mod:`.memory`, :mod:`.cost`: one fused kernel,
  pinned and streamed transfers, fitting in device memory, and the cost model;
- :mod:`.call`: the callable a level-4 plan runs; :mod:`.backend`: what both
  backends share.

Nothing here imports CuPy or Torch at import time.
"""
