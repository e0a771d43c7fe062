"""A third-party optlevel backend, for the tests: it lives outside the package and
reaches optlevel only through the ``optlevel.backends`` entry point."""
