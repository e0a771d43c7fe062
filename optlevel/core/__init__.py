"""The generic core: dispatch, plans, the planner, trials, verification, the machine
profile, the backend registry and the owner of runtime state. It imports no level:
backends reach it through :mod:`optlevel.core.registry`, by name."""
