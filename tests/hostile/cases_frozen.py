"""Values read from outside the arguments that change between calls."""

from __future__ import annotations

import types

import numpy as np

from . import hostile_cfg as mcfg
from .harness import Case

cfg = types.SimpleNamespace(SCALE=2.0, W=np.array([1.0, 2.0, 3.0]), N=3)
GLOBAL_W = np.array([1.0, 2.0, 3.0])
GLOBAL_K = 2.0
TABLE = {"k": 2.0}
LIST_W = [1.0, 2.0, 3.0]


def attr_scale(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * cfg.SCALE
    return s


def module_scale(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * mcfg.SCALE
    return s


def module_weights(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * mcfg.W[i % 3]
    return s


def attr_weights(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * cfg.W[i % 3]
    return s


def attr_count(x):
    s = 0.0
    for i in range(cfg.N):
        s += x[i]
    return s


def global_weights(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * GLOBAL_W[i % 3]
    return s


def global_scalar(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * GLOBAL_K
    return s


def global_list(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * LIST_W[i % 3]
    return s


def global_dict(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * TABLE["k"]
    return s


def np_vector_global(x):
    return x * GLOBAL_W[0] + GLOBAL_K


def make_closure_array():
    w = np.array([1.0, 2.0, 3.0])

    def closure_weights(x):
        s = 0.0
        for i in range(x.shape[0]):
            s += x[i] * w[i % 3]
        return s

    return closure_weights, w


def make_closure_cell():
    k = 2.0

    def closure_scalar(x):
        s = 0.0
        for i in range(x.shape[0]):
            s += x[i] * k
        return s

    def set_k(v):
        nonlocal k
        k = v

    return closure_scalar, set_k


def _reset_all():
    global GLOBAL_K
    cfg.SCALE, cfg.N = 2.0, 3
    cfg.W = np.array([1.0, 2.0, 3.0])
    mcfg.SCALE = 2.0
    mcfg.W = np.array([1.0, 2.0, 3.0])
    GLOBAL_W[:] = [1.0, 2.0, 3.0]
    GLOBAL_K = 2.0
    TABLE["k"] = 2.0
    LIST_W[:] = [1.0, 2.0, 3.0]


def _set_global_k(v):
    global GLOBAL_K
    GLOBAL_K = v


_CHANGES = {
    "attr_scalar": lambda: setattr(cfg, "SCALE", 5.0),
    "attr_array_inplace": lambda: cfg.W.__setitem__(0, 10.0),
    "attr_array_rebound": lambda: setattr(cfg, "W", np.array([7.0, 7.0, 7.0])),
    "attr_int": lambda: setattr(cfg, "N", 1),
    "global_array_inplace": lambda: GLOBAL_W.__setitem__(1, -4.0),
    "global_rebound": lambda: _set_global_k(-1.5),
    "list_inplace": lambda: LIST_W.__setitem__(2, 9.0),
    "dict_value": lambda: TABLE.__setitem__("k", 0.5),
    "module_scalar": lambda: setattr(mcfg, "SCALE", 5.0),
    "module_array_inplace": lambda: mcfg.W.__setitem__(0, 10.0),
    "module_array_rebound": lambda: setattr(mcfg, "W", np.array([7.0, 7.0, 7.0])),
}

_USES = {
    attr_scale: ["attr_scalar"],
    attr_weights: ["attr_array_inplace", "attr_array_rebound"],
    attr_count: ["attr_int"],
    global_weights: ["global_array_inplace"],
    global_scalar: ["global_rebound"],
    global_list: ["list_inplace"],
    global_dict: ["dict_value"],
    module_scale: ["module_scalar"],
    module_weights: ["module_array_inplace", "module_array_rebound"],
    np_vector_global: ["global_array_inplace", "global_rebound"],
}


def _changed_after_first(change):
    def before(k):
        if k == 1:
            change()
    return before


def _changed_every_call(change, undo):
    def before(k):
        (change if k % 2 else undo)()
    return before


def _make(size):
    return (np.arange(1.0, 8.0) if size == "small" else np.arange(1.0, 100_001.0),)


def _cases():
    out = []
    for func, changes in _USES.items():
        for ch in changes:
            out.append(Case(f"{func.__name__}:{ch}", func, _make, "frozen", calls=2,
                            before=_changed_after_first(_CHANGES[ch]), reset=_reset_all))
            out.append(Case(f"{func.__name__}:{ch}_flip", func, _make, "frozen", calls=3,
                            before=_changed_every_call(_CHANGES[ch], _reset_all),
                            reset=_reset_all))
    cw, w = make_closure_array()
    out.append(Case("closure_weights:inplace", cw, _make, "frozen", calls=2,
                    before=_changed_after_first(lambda: w.__setitem__(2, -1.0)),
                    reset=lambda: w.__setitem__(slice(None), [1.0, 2.0, 3.0])))
    cw2, w2 = make_closure_array()
    out.append(Case("closure_weights:inplace_large", cw2, _make, "frozen", calls=2,
                    sizes=("small", "large"),
                    before=_changed_after_first(lambda: w2.__setitem__(0, 3.0)),
                    reset=lambda: w2.__setitem__(slice(None), [1.0, 2.0, 3.0])))
    cs, set_k = make_closure_cell()
    out.append(Case("closure_scalar:cell_rebound", cs, _make, "frozen", calls=2,
                    before=_changed_after_first(lambda: set_k(4.0)),
                    reset=lambda: set_k(2.0)))
    out.append(Case("attr_scale:large", attr_scale, _make, "frozen", calls=2,
                    sizes=("large",), before=_changed_after_first(_CHANGES["attr_scalar"]),
                    reset=_reset_all))
    return out


CASES = _cases()
