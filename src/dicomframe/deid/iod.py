"""What an instance's IOD requires of an attribute, for the choices Table E.1-1 leaves to it.

``X/Z`` is X unless the attribute is Type 2 in the IOD, ``X/Z/D`` is D for
Type 1, Z for Type 2 and X otherwise (PS3.15 E.3.1). The engine asks this
module for the top-level attributes of an instance whose SOP Class it knows
(the generated :mod:`dicomframe.deid._iod_types`, from PS3.3). An unknown SOP
Class, and every attribute inside a sequence, get :attr:`Required.UNKNOWN`,
for which :func:`dicomframe.deid.actions.resolve` takes the choice that is
valid whatever the type: removing a Type 3 attribute rather than emptying it
matters, because validators (dciodvfy) count an empty Type 3 sequence as an
error.
"""

from __future__ import annotations

import enum
import functools

from dicomframe.deid import _iod_types

__all__ = ["Required", "requirements_of"]


class Required(enum.Enum):
    """An attribute's type in the instance's IOD, as far as de-identification needs it."""

    TYPE1 = "1"  # 1 or 1C: a value must stay (a dummy)
    TYPE2 = "2"  # 2 or 2C: the element must stay, possibly empty
    OPTIONAL = "3"  # Type 3, or not part of the IOD: it may go
    UNKNOWN = "?"  # the IOD is not known here: choose what is valid for any type


class Requirements:
    """The types of one IOD's top-level attributes with a choice in the table."""

    def __init__(self, iod: str) -> None:
        ones, twos = _iod_types.IODS[iod]
        self.iod = iod
        self._type = {int(t, 16): Required.TYPE1 for t in ones.split()}
        self._type.update({int(t, 16): Required.TYPE2 for t in twos.split()})

    def __call__(self, tag: int) -> Required:
        return self._type.get(tag, Required.OPTIONAL)

    def __repr__(self) -> str:
        return f"Requirements({self.iod!r})"


def requirements_of(sop_class_uid: str | None) -> Requirements | None:
    """The requirements of the IOD of ``sop_class_uid``; None for a SOP Class not in the table."""
    iod = _iod_types.SOP_CLASS_IOD.get(str(sop_class_uid or "").strip("\0 "))
    return None if iod is None else _requirements(iod)


@functools.cache
def _requirements(iod: str) -> Requirements:
    return Requirements(iod)
