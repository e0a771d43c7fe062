"""One folder per level, each holding its backend(s), its analysis and its runtime:
``python`` (0), ``vectorize`` (1), ``numba`` (2), ``parallel`` (3), ``gpu`` (4).
A level imports the contract, the core and :mod:`optlevel.analysis`, and another
level only through that level's public names."""
