"""The ``Level`` value type: validate a level once, name it everywhere."""

from __future__ import annotations

from typing import Union

from .errors import ConfigError

__all__ = ["Level", "LevelLike", "LEVEL_NAMES", "MAX_LEVEL"]

#: Level number → name, the ladder of DESIGN.md.
LEVEL_NAMES = {0: "python", 1: "vectorize", 2: "jit", 3: "parallel", 4: "gpu"}
MAX_LEVEL = max(LEVEL_NAMES)
_BY_NAME = {name: num for num, name in LEVEL_NAMES.items()}

LevelLike = Union[int, str, "Level", None]


class Level:
    """A validated optimisation level: 0–4, or ``"auto"``.

    ``Level.parse`` accepts an int ``0..4``, a digit string, a level name
    (``"python"``, ``"vectorize"``, ``"jit"``, ``"parallel"``, ``"gpu"``),
    ``"auto"`` or ``None`` (both mean: not set here, ask the next place in the
    precedence chain). Anything else raises :class:`ConfigError` listing the
    valid values.
    """

    __slots__ = ("value",)

    def __init__(self, value: int | None):
        self.value = value  # None means "auto"

    @classmethod
    def parse(cls, value: LevelLike, *, source: str = "level") -> Level:
        if isinstance(value, Level):
            return value
        if value is None:
            return AUTO
        if isinstance(value, bool):  # bool is an int; True is not a level
            raise ConfigError(_invalid(value, source))
        if isinstance(value, int):
            if value in LEVEL_NAMES:
                return _LEVELS[value]
            raise ConfigError(_invalid(value, source))
        if isinstance(value, str):
            text = value.strip().lower()
            if text == "auto" or text == "":
                return AUTO
            if text.isdigit() and int(text) in LEVEL_NAMES:
                return _LEVELS[int(text)]
            if text in _BY_NAME:
                return _LEVELS[_BY_NAME[text]]
        raise ConfigError(_invalid(value, source))

    @property
    def is_auto(self) -> bool:
        return self.value is None

    @property
    def name(self) -> str:
        return "auto" if self.value is None else LEVEL_NAMES[self.value]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Level):
            return self.value == other.value
        if isinstance(other, (int, str)) and not isinstance(other, bool):
            try:
                return self.value == Level.parse(other).value
            except ConfigError:
                return False
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.value)

    def __repr__(self) -> str:
        return f"Level({self.name!r})" if self.value is None else f"Level({self.value})"

    def __str__(self) -> str:
        return self.name if self.value is None else f"{self.value} ({self.name})"


def _invalid(value: object, source: str) -> str:
    choices = ", ".join(f"{n} ({name})" for n, name in LEVEL_NAMES.items())
    return (f"invalid {source} {value!r}: valid values are {choices}, "
            f"or 'auto' (the ceiling from configuration)")


AUTO = Level(None)
_LEVELS = {n: Level(n) for n in LEVEL_NAMES}
