"""Walking a dataset: every element at every depth, with where it lies.

:func:`walk` yields ``(path, element)`` for each element of a dataset and of
every sequence item below it, in the order ``dcmdump`` prints them (depth
first: a sequence element, then its items' elements, then the next element).
A :data:`Path` is the chain of :class:`Step` s (sequence tag, 0-based item
index) from the top dataset to the dataset holding the element; ``()`` for a
top-level element. Paths are tuples, so they compare, hash and sort as values.

The walk keeps its own stack instead of recursing, so no nesting depth can
exhaust Python's stack; it still refuses to go deeper than ``Limits.max_depth``
(the limit the reader and writer keep), which also stops a dataset that holds
itself in one of its items from being walked forever.

Changing a dataset while walking it follows three rules:

1. Each dataset's elements are listed when the walk enters it, so deleting or
   replacing the element just yielded (or any other) is safe; elements added
   to a dataset already entered are not visited.
2. A sequence's items are looked at only after its element was yielded: if
   the consumer removed the element from its dataset, its items are skipped
   (so removing a sequence removes it whole); if it assigned a new value, the
   new items are walked.
3. Each item's elements are listed when the walk reaches that item, not before.

Sequences read lazily are parsed as the walk reaches them: a walk reads
everything.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple, Protocol

from dicomframe.core.limits import default_limits
from dicomframe.core.tag import Tag
from dicomframe.core.vr import VR
from dicomframe.errors import LimitError

if TYPE_CHECKING:
    from dicomframe.core.element import DataElement
    from dicomframe.core.limits import Limits

__all__ = ["Path", "Step", "Walkable", "Walked", "format_path", "resolve", "walk", "walk_datasets"]


class Step(NamedTuple):
    """One step down: item number ``item`` (0-based) of the sequence ``tag``."""

    tag: Tag
    item: int


Path = tuple[Step, ...]
"""Steps from the top dataset to a nested one; ``()`` is the top dataset itself."""


class Walkable(Protocol):
    """What the walk needs of a dataset (a :class:`~dicomframe.Dataset` is one).

    ``__delitem__`` is for the walk's users, which delete what they find.
    """

    limits: Limits | None

    def elements(self) -> list[DataElement]:
        """The elements, in tag order."""
        ...

    def __getitem__(self, key: int) -> DataElement: ...

    def __contains__(self, key: object) -> bool: ...

    def __delitem__(self, key: int) -> None: ...


class Walked(NamedTuple):
    """An element found by :func:`walk_datasets`, with the dataset that holds it."""

    path: Path
    dataset: Walkable
    element: DataElement


# A dataset on the walk's stack, with its elements once it has been entered.
_Frame = tuple[Path, Walkable, Iterator["DataElement"] | None]


def walk_datasets(ds: Walkable, *, max_depth: int = 0) -> Iterator[Walked]:
    """Yield every element at any depth with its path and the dataset that holds it.

    The walk behind :meth:`Dataset.walk`; the holding dataset is what an
    editor needs to delete or replace the element (see the module docstring
    for what changes are safe).

    Parameters
    ----------
    ds
        The top dataset.
    max_depth
        The deepest nesting walked; 0: ``ds.limits`` or the default limits'
        ``max_depth``.

    Raises
    ------
    LimitError
        A sequence nested deeper than ``max_depth``.
    TypeError
        A sequence item that is not a dataset.
    """
    limit = max_depth or (ds.limits or default_limits()).max_depth
    stack: list[_Frame] = [((), ds, None)]
    while stack:
        path, dataset, pending = stack[-1]
        if pending is None:
            pending = iter(dataset.elements())
            stack[-1] = (path, dataset, pending)
        element = next(pending, None)
        if element is None:
            stack.pop()
            continue
        yield Walked(path, dataset, element)
        if element.vr is VR.SQ and element.tag in dataset and dataset[element.tag] is element:
            stack.extend(reversed(_items(path, element, limit)))


def _items(path: Path, element: DataElement, limit: int) -> list[_Frame]:
    """The items of a sequence element as stack frames, first item first."""
    items = list(element.sequence)
    if items and len(path) >= limit:
        raise LimitError(
            "max_depth", len(path) + 1, limit, what="sequence nesting", tag=element.tag
        )
    frames: list[_Frame] = []
    for index, item in enumerate(items):
        if not callable(getattr(item, "elements", None)):
            where = format_path((*path, Step(element.tag, index)))
            raise TypeError(f"{where}: a sequence item must be a Dataset, not {type(item)}")
        frames.append(((*path, Step(element.tag, index)), item, None))
    return frames


def walk(ds: Walkable, *, max_depth: int = 0) -> Iterator[tuple[Path, DataElement]]:
    """Yield ``(path, element)`` for every element at any depth, depth first.

    See the module docstring for the order, the path and what may change
    while walking; :func:`walk_datasets` also gives the holding dataset.
    """
    for path, _, element in walk_datasets(ds, max_depth=max_depth):
        yield path, element


def resolve(ds: Walkable, path: Path) -> Walkable:
    """The dataset a path leads to from ``ds``.

    Raises
    ------
    KeyError
        A step names a sequence the dataset does not have.
    IndexError
        A step's item index is past the sequence's end.
    """
    for step in path:
        ds = ds[step.tag].sequence[step.item]
    return ds


def format_path(path: Path, tag: int | None = None) -> str:
    """Text for a path (and optionally the element at its end).

    ``(0008,1115)[0]/(0008,1140)[1]/(0008,1155)``: item indexes are 0-based.
    """
    parts = [f"{Tag(step.tag)}[{step.item}]" for step in path]
    if tag is not None:
        parts.append(str(Tag(tag)))
    return "/".join(parts)
