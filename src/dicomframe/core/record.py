"""Small immutable records, made in a tenth of the time a frozen dataclass takes.

``@dataclass(frozen=True, slots=True)`` writes and compiles six methods for
every class it makes, and makes the class twice (for the slots): about 1 ms
a class, every time a process starts. The internal records that a command
creates on its way to the first frame (a codec's attempt, a converted frame,
a batch's result...) cost 20 ms of start-up that way, more than some whole
jobs take. :func:`record` makes the same kind of class with one compiled
``__init__``: the other methods come from :class:`Record`, and read
``__fields__``.

What a frozen, slotted dataclass gives, these give: keyword or positional
construction with defaults (mypy checks the calls, through
``dataclass_transform``), equality and hashing by value, a repr, no
assignment after construction, pickling. :func:`replace` is
``dataclasses.replace`` for them. Classes other code may handle as
dataclasses (:class:`~dicomframe.plugins.Codec`, ``FrameInfo``...) stay
dataclasses.
"""

from __future__ import annotations

import inspect
from typing import Any, TypeVar, cast, dataclass_transform

__all__ = ["Record", "record", "replace"]

_R = TypeVar("_R", bound="Record")
_C = TypeVar("_C", bound=type)


class Record:
    """The methods every record shares; its fields are named in ``__fields__``."""

    __slots__ = ()
    __fields__: tuple[str, ...] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__fields__)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__fields__)
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined,unused-ignore]

    def __hash__(self) -> int:
        return hash(self._values())

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r} of a {type(self).__name__}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r} of a {type(self).__name__}")

    def __getstate__(self) -> tuple[Any, ...]:
        return self._values()

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(self.__fields__, state, strict=True):
            object.__setattr__(self, name, value)


@dataclass_transform(frozen_default=True)
def record(cls: _C) -> _C:
    """The class ``cls`` as a record: its annotated names are its fields, in order.

    A field's class attribute, when there is one, is its default. The class
    is made again, with ``__slots__`` and :class:`Record` as its base.
    """
    names = tuple(inspect.get_annotations(cls))  # its own, in order (strings: not evaluated)
    defaults = {name: cls.__dict__[name] for name in names if name in cls.__dict__}
    body = {
        key: value
        for key, value in cls.__dict__.items()
        if key not in defaults and key not in ("__dict__", "__weakref__")
    }
    body["__slots__"] = names
    body["__fields__"] = names
    body["__init__"] = _init(cls.__qualname__, names, defaults)
    body["__init__"].__qualname__ = f"{cls.__qualname__}.__init__"
    bases = tuple(base for base in cls.__bases__ if base is not object)
    made = type(cls.__name__, (*bases, Record) if Record not in bases else bases, body)
    made.__qualname__ = cls.__qualname__
    return cast("_C", made)


def _init(owner: str, names: tuple[str, ...], defaults: dict[str, Any]) -> Any:
    """``__init__(self, <names, with their defaults>)``, compiled once for the class."""
    params = ", ".join(f"{name}=_d_{name}" if name in defaults else name for name in names)
    lines = "".join(f"    _set(self, {name!r}, {name})\n" for name in names) or "    pass\n"
    source = f"def __init__(self, {params}):\n{lines}" if names else f"def __init__(self):\n{lines}"
    scope: dict[str, Any] = {f"_d_{name}": value for name, value in defaults.items()}
    scope["_set"] = object.__setattr__
    exec(compile(source, f"<record {owner}>", "exec"), scope)  # our own source, from names
    return scope["__init__"]


def replace(item: _R, /, **changes: Any) -> _R:
    """A copy of the record ``item`` with some fields changed (``dataclasses.replace``)."""
    unknown = set(changes) - set(item.__fields__)
    if unknown:
        raise TypeError(f"{type(item).__name__} has no field {sorted(unknown)[0]!r}")
    values = {name: getattr(item, name) for name in item.__fields__}
    return type(item)(**{**values, **changes})
