"""The one build step pyproject.toml cannot say: the optional compiled extensions (the
call fast path, and level 3's look through what a worker's piece stores).

``optional=True``: where no C compiler is found the build goes on without it, and
``optlevel/_fastpath.py`` falls back to the pure-Python path, which means the same.
"""

from setuptools import Extension, setup

setup(ext_modules=[
    Extension("optlevel._fastcall", ["optlevel/_fastcall.c"], optional=True),
    # level 3's look through what a worker's piece stores (iterworker.stores_given)
    Extension("optlevel._atoms", ["optlevel/_atoms.c"], optional=True),
])
