"""Level 4: NumPy code on a CUDA GPU through CuPy or Torch.

The two backends (:mod:`.backend_cupy`, :mod:`.backend_torch`) are thin and use
these modules:

- :mod:`.probe`: is a GPU usable through CuPy or Torch, and why not; measuring
  transfer rates and launch latency into the machine profile;
- :mod:`.libs`: one adapter per array library (CuPy, Torch, and NumPy standing in
  for a device in tests): moving arrays, fusing, freeing memory;
- :mod:`.namespace` and :mod:`.torch_ns`: running a function with its NumPy names
  bound to the GPU library, helpers included;
- :mod:`.checks`: what the AST says about running on a GPU (element loops, random
  numbers, purely elementwise bodies that fuse into one kernel); :mod:`.risks`: the
  integer powers and array indexes where CuPy gives a value and NumPy raises;
- :mod:`.transfer`, :mod:`.memory`, :mod:`.cost`: pinned and streamed transfers,
  fitting in device memory, and the cost model;
- :mod:`.call`: the callable a level-4 plan runs; :mod:`.backend`: what both
  backends share.

Which kind an array is (NumPy, CuPy, Torch) and its host copy are
:mod:`optlevel.arrays`' to tell. Process-wide state (the adapters, with their
device memory, pinned buffers and copy threads, and the findings per function)
lives in :data:`optlevel.core.runtime.RUNTIME`. Nothing here imports CuPy or Torch
at import time.
"""
