"""Datasets: data elements ordered by tag, with keyword access.

``ds.PatientName`` reads and writes a value by its PS3.6 keyword;
``ds[tag]`` (an int, a :class:`Tag`, ``"(0010,0010)"`` or a keyword) gives
the :class:`DataElement` itself, as in pydicom. Iterating a dataset yields its
elements in tag order, which is the order the writer needs (PS3.5 7.1).
A dataset read from a file also carries its file meta information, transfer
syntax and source; ``close()`` releases the source.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from dicomframe.core.element import DataElement, Sequence
from dicomframe.core.tag import Tag
from dicomframe.core.vr import VR

if TYPE_CHECKING:
    from types import TracebackType

    from dicomframe.core.codecs import FrameCodecs
    from dicomframe.core.limits import Limits
    from dicomframe.core.pixel_data import PixelData
    from dicomframe.core.private import PrivateBlock
    from dicomframe.core.source import Source
    from dicomframe.core.transfer_syntax import TransferSyntax
    from dicomframe.core.walk import Path
    from dicomframe.errors import RepairWarning

__all__ = ["Dataset", "Sequence", "to_tag"]

# Attributes of Dataset itself; every other public name is a DICOM keyword.
_OWN = frozenset(
    {
        "meta",
        "preamble",
        "transfer_syntax",
        "source",
        "undefined_length",
        "_elements",
        "_order",
        "_pixels",
    }
)


def _coerce(value: Any, vr: VR) -> Any:
    """Give text the type a value read from a file would have (PN -> PersonName, IS -> IS, ...)."""
    from dicomframe.core.valuerep import DA, DS, DT, IS, TM, PersonName

    kind = {VR.PN: PersonName, VR.DA: DA, VR.TM: TM, VR.DT: DT, VR.IS: IS, VR.DS: DS}.get(vr)
    if kind is None:
        return value

    def one(item: Any) -> Any:
        if not isinstance(item, str) or isinstance(item, kind) or not item:
            return item
        try:
            return kind(item)
        except ValueError:
            return item  # text that is not a number stays text, as when read from a file

    if isinstance(value, list):
        return [one(v) for v in value]
    return one(value)


@functools.cache
def _keyword_index() -> Callable[[str], int | None]:
    """``dictionary.tag_for_keyword``, imported on first use (the dictionary loads in ms).

    Cached rather than imported in ``__getattr__``: an import statement costs
    more than the lookup once the module is loaded.
    """
    from dicomframe.core.dictionary import tag_for_keyword

    return tag_for_keyword


def to_tag(key: int | str) -> Tag:
    """Turn an int, a ``"(gggg,eeee)"`` text or a keyword into a :class:`Tag`."""
    if isinstance(key, int):
        return Tag(key)
    number = _keyword_index()(key)
    if number is not None:
        return Tag(number)
    try:
        return Tag(key)
    except ValueError:
        raise KeyError(f"{key!r} is neither a tag nor a DICOM keyword") from None


class _Keyword:
    """A DICOM keyword read as an attribute of every dataset: ``ds.PatientID``.

    ``Dataset.__getattr__`` puts one on the class the first time a keyword is
    read, so later reads find it as any attribute is found, without the
    failed lookup, the exception and the keyword search that reach
    ``__getattr__`` (a header scan reads the same few keywords of every
    file). Only reading goes through it: ``Dataset.__setattr__`` still takes
    every assignment. A keyword the dataset lacks raises AttributeError here,
    and ``__getattr__`` then gives the full message.
    """

    __slots__ = ("name", "number")

    def __init__(self, name: str, number: int) -> None:
        self.name = name
        self.number = number

    def __get__(self, ds: Dataset | None, owner: type | None = None) -> Any:
        if ds is None:
            return self
        element = ds._elements.get(self.number)  # type: ignore[call-overload] # int == Tag
        if element is None:
            raise AttributeError(self.name)
        return element.value


class Dataset:
    """An ordered collection of data elements.

    Attributes
    ----------
    meta
        The file meta information (group 0002) of a dataset read from or
        written to a file, else None.
    preamble
        The 128-byte preamble of a Part 10 file, or None.
    transfer_syntax
        The syntax the dataset was read in, else None.
    undefined_length
        For sequence items: the item was read with undefined length.
    limits
        The :class:`~dicomframe.Limits` the dataset was read with; decoding
        its pixel data keeps to them. None: the default limits.
    codecs
        The codec registry given to ``dcf.read(..., codecs=...)``: its frames
        decode and encode with it. None: the default one.
    repairs
        What a lenient read (``dcf.read(..., lenient=True)``) repaired, one
        :class:`~dicomframe.RepairWarning` each; empty otherwise.
    """

    # Class defaults, so the parser's many item datasets carry none of their own
    # (a deferred item holds only its loader until it is parsed).
    repairs: tuple[RepairWarning, ...] = ()
    codecs: FrameCodecs | None = None
    meta: Dataset | None = None
    preamble: bytes | None = None
    transfer_syntax: TransferSyntax | None = None
    source: Source | None = None
    undefined_length: bool = False
    limits: Limits | None = None

    def __init__(self, elements: Iterable[DataElement] = ()) -> None:
        # Straight into __dict__, past __setattr__: the parser makes one dataset per item.
        vars(self).update(
            _elements={},
            _order=True,
            meta=None,
            preamble=None,
            transfer_syntax=None,
            source=None,
            undefined_length=False,
            limits=None,
        )
        self._elements: dict[Tag, DataElement]
        self._order: bool
        for element in elements:
            self.add(element)

    @classmethod
    def _deferred(
        cls, load: Callable[[], tuple[dict[Tag, DataElement], bool]], undefined_length: bool
    ) -> Dataset:
        """An item dataset whose elements ``load`` parses on first use.

        A lazy read makes one per item of a sequence it is asked for: a
        sequence of 50,000 per-frame functional groups costs 50,000 small
        objects, and only the items used are parsed. ``_elements`` and
        ``_order`` are missing from the instance until then, so the first
        access to them (every method goes through ``_elements``) lands in
        :meth:`__getattr__`, which parses; a loaded dataset pays nothing.
        """
        item = cls.__new__(cls)
        fields = vars(item)
        fields["_load"] = load
        if undefined_length:
            fields["undefined_length"] = True
        return item

    def _parse_deferred(self, name: str) -> Any:
        load = vars(self).get("_load")
        if load is None:
            raise AttributeError(name)
        elements, order = load()  # damage raises here, and again on every later use
        vars(self).update(_elements=elements, _order=order)
        del vars(self)["_load"]
        return vars(self)[name]

    # -- mapping by tag ---------------------------------------------------
    def add(self, element: DataElement) -> None:
        """Insert or replace an element."""
        elements = self._elements
        if self._order and elements and element.tag < next(reversed(elements)):
            object.__setattr__(self, "_order", False)
        elements[element.tag] = element

    def _sorted(self) -> dict[Tag, DataElement]:
        if not self._order:
            object.__setattr__(self, "_elements", dict(sorted(self._elements.items())))
            object.__setattr__(self, "_order", True)
        return self._elements

    def __getitem__(self, key: int | str) -> DataElement:
        return self._elements[to_tag(key)]

    def __setitem__(self, key: int | str, element: DataElement) -> None:
        tag = to_tag(key)
        if element.tag != tag:
            raise ValueError(f"element {element.tag} stored under {tag}")
        self.add(element)

    def __delitem__(self, key: int | str) -> None:
        del self._elements[to_tag(key)]

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, int | str):
            return False
        try:
            return to_tag(key) in self._elements
        except (KeyError, ValueError):
            return False

    def __iter__(self) -> Iterator[DataElement]:
        return iter(list(self._sorted().values()))

    def __len__(self) -> int:
        return len(self._elements)

    def __bool__(self) -> bool:
        return True

    def get(self, key: int | str, default: Any = None) -> Any:
        """Return the *value* of an element, or ``default`` when absent."""
        try:
            return self[key].value
        except KeyError:
            return default

    def tags(self) -> list[Tag]:
        """The tags present, in order."""
        return list(self._sorted())

    def elements(self) -> list[DataElement]:
        """The elements, in tag order."""
        return list(self._sorted().values())

    def pop(self, key: int | str, *default: Any) -> Any:
        """Remove an element and return it (or ``default`` when given)."""
        return self._elements.pop(to_tag(key), *default)

    def group(self, group: int) -> list[DataElement]:
        """The elements of one group, in order."""
        return [e for t, e in self._sorted().items() if t.group == group]

    # -- keyword attributes ---------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name in ("_elements", "_order"):  # a deferred item, parsed now
            return self._parse_deferred(name)
        if name.startswith("_") or not name[:1].isupper():
            raise AttributeError(name)
        number = _keyword_index()(name)
        if number is None:
            raise AttributeError(f"{name!r} is not a DICOM keyword")
        if name not in vars(Dataset):
            setattr(Dataset, name, _Keyword(name, number))  # the next read goes straight there
        element = self._elements.get(number)  # type: ignore[call-overload] # int == Tag
        if element is None:
            raise AttributeError(f"dataset has no {name} {Tag(number)}")
        return element.value

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _OWN or not name[:1].isupper():
            object.__setattr__(self, name, value)
            return
        number = _keyword_index()(name)
        if number is None:
            raise AttributeError(f"{name!r} is not a DICOM keyword")
        self.set(number, value)

    def __delattr__(self, name: str) -> None:
        if name in _OWN or not name[:1].isupper():
            object.__delattr__(self, name)
            return
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def set(self, key: int | str, value: Any, vr: VR | str | None = None) -> DataElement:
        """Set a value, creating the element with its dictionary VR if needed."""
        tag = to_tag(key)
        element = self._elements.get(tag)
        if element is not None and (vr is None or VR(vr) is element.vr):
            element.value = _coerce(value, element.vr)
            return element
        vr = self._vr_for_new(tag) if vr is None else VR(vr)
        element = DataElement(tag, vr, _coerce(value, vr))
        self.add(element)
        return element

    def _vr_for_new(self, tag: Tag) -> VR:
        from dicomframe.core.dictionary import lookup

        entry = lookup(tag)
        if entry is None:
            return VR.UN
        choices = entry.vrs
        if "SS" in choices and self.get(0x00280103) == 1:
            return VR.SS
        if "OW" in choices and tag == 0x7FE00010 and (self.get(0x00280100) or 0) > 8:
            return VR.OW
        return VR(choices[0]) if choices[0] != "NONE" else VR.UN

    def __dir__(self) -> list[str]:
        keywords = [e.keyword for e in self._elements.values() if e.keyword]
        own = (n for n in super().__dir__() if not isinstance(vars(Dataset).get(n), _Keyword))
        return sorted(set(own) | set(keywords))

    def __deepcopy__(self, memo: dict[int, Any]) -> Dataset:
        """A copy that owns all its values (located ones are read), with no open source."""
        import copy

        clone = Dataset(copy.deepcopy(e, memo) for e in self._elements.values())
        clone.meta = copy.deepcopy(self.meta, memo)
        clone.preamble = self.preamble
        clone.transfer_syntax = self.transfer_syntax
        clone.undefined_length = self.undefined_length
        return clone

    # -- comparison and display -------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Dataset):
            return NotImplemented
        return self._elements.keys() == other._elements.keys() and all(
            e == other._elements[t] for t, e in self._elements.items()
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        from dicomframe.core.dump import dump_lines

        return "\n".join(dump_lines(self))

    def frame_functional_groups(self, index: int) -> Dataset:
        """The shared and per-frame functional groups of frame ``index`` (0-based), merged.

        See :func:`dicomframe.core.functional_groups.frame_functional_groups`:
        only the items asked for are parsed, so this costs the same for the
        first frame of a 50,000-frame slide as for a 10-frame CT.
        """
        from dicomframe.core.functional_groups import frame_functional_groups

        return frame_functional_groups(self, index)

    # -- walking and private data ------------------------------------------
    def walk(self) -> Iterator[tuple[Path, DataElement]]:
        """Yield ``(path, element)`` for every element at any depth, depth first.

        ``path`` is a tuple of :class:`~dicomframe.core.walk.Step` (sequence
        tag, 0-based item index) leading to the element's dataset; ``()`` at
        the top. Deleting the element just yielded is safe, and deleting a
        sequence skips its items: see :mod:`dicomframe.core.walk`.
        """
        from dicomframe.core.walk import walk

        return walk(self)

    def remove_private(self) -> list[tuple[Path, DataElement]]:
        """Remove every element of an odd group at every depth; return them with their paths.

        A private sequence goes whole and is listed once; ``len()`` of the
        result is how many elements were removed. See
        :func:`dicomframe.core.private.remove_private`.
        """
        from dicomframe.core.private import remove_private

        return remove_private(self)

    def private_block(self, group: int, creator: str, create: bool = False) -> PrivateBlock:
        """The elements ``creator`` holds in the odd ``group``, addressed by offset 0x00-0xFF.

        With ``create``, a missing creator gets the first free
        ``(group,0010-00FF)``. Raises KeyError for a missing creator and
        ValueError for a group that is not private: see
        :func:`dicomframe.core.private.private_block`.
        """
        from dicomframe.core.private import private_block

        return private_block(self, group, creator, create=create)

    # -- interchange ------------------------------------------------------
    def to_json_dict(
        self,
        *,
        bulk_data_threshold: int = 1024,
        bulk_data_element_handler: Callable[[DataElement], str] | None = None,
    ) -> dict[str, Any]:
        """The dataset in the DICOM JSON model (PS3.18 Annex F), as a dict.

        A binary value longer than ``bulk_data_threshold`` bytes goes to
        ``bulk_data_element_handler``, which returns its BulkDataURI; without a
        handler it is written inline (base64) up to 64 MiB
        (``json_model.MAX_INLINE_BYTES``); a larger one raises EncodingError
        naming the tag. See :mod:`dicomframe.core.json_model`.
        """
        from dicomframe.core.json_model import to_json_dict

        return to_json_dict(
            self,
            bulk_data_threshold=bulk_data_threshold,
            bulk_data_element_handler=bulk_data_element_handler,
        )

    def to_json(
        self,
        *,
        bulk_data_threshold: int = 1024,
        bulk_data_element_handler: Callable[[DataElement], str] | None = None,
    ) -> str:
        """The dataset in the DICOM JSON model (PS3.18 Annex F), as a string.

        See :meth:`to_json_dict` for the bulk data rules.
        """
        from dicomframe.core.json_model import to_json

        return to_json(
            self,
            bulk_data_threshold=bulk_data_threshold,
            bulk_data_element_handler=bulk_data_element_handler,
        )

    @classmethod
    def from_json(
        cls,
        data: str | bytes | dict[str, Any],
        *,
        bulk_data_uri_handler: Callable[..., Any] | None = None,
    ) -> Dataset:
        """A dataset from the DICOM JSON model (a string or the parsed dict).

        ``bulk_data_uri_handler`` fetches a BulkDataURI's bytes; see
        :func:`dicomframe.core.json_model.from_json`.
        """
        from dicomframe.core.json_model import from_json

        result: Dataset = from_json(data, bulk_data_uri_handler=bulk_data_uri_handler)
        return result

    def overlay_array(self, group: int = 0x6000) -> Any:
        """The overlay plane of repeating group ``group`` (0x6000-0x601E) as a uint8 array of 0/1.

        Shape (rows, columns), or (frames, rows, columns) for a multi-frame
        overlay. See :func:`dicomframe.core.overlays.overlay_array`.
        """
        from dicomframe.core.overlays import overlay_array

        return overlay_array(self, group)

    # -- pixel data ------------------------------------------------------
    @property
    def pixel_data(self) -> PixelData:
        """The pixel data as frames (see :class:`~dicomframe.core.pixel_data.PixelData`).

        The same object is returned while the pixel element and the Image
        Pixel attributes stay the same, so frames edited through it are kept.
        """
        from dicomframe.core.frame_info import PIXEL_KEYWORDS, FrameInfo
        from dicomframe.core.pixel_data import PixelData

        cached: PixelData | None = self.__dict__.get("_pixels")
        elements: dict[int, DataElement] = self._elements  # type: ignore[assignment]
        element = next((elements[t] for t in PIXEL_KEYWORDS if t in elements), None)
        if (
            cached is not None
            and cached.element is element
            and cached.info == FrameInfo.from_dataset(self)
        ):
            return cached
        pixels = PixelData(self)
        object.__setattr__(self, "_pixels", pixels)
        return pixels

    def set_pixel_data(
        self, frames_or_array: Any, transfer_syntax: Any = None, **info: Any
    ) -> None:
        """Replace Pixel Data and every attribute that describes it.

        See :func:`dicomframe.core.set_pixels.set_pixel_data`: frames
        (native or encapsulated) or an array; native frames are encoded when
        ``transfer_syntax`` is compressed; Rows ... Planar Configuration,
        Number of Frames, the VR and the transfer syntax follow, and offset
        tables and other attributes that no longer hold are removed.
        """
        from dicomframe.core.set_pixels import set_pixel_data

        set_pixel_data(self, frames_or_array, transfer_syntax, **info)

    @property
    def pixel_array(self) -> Any:
        """Every frame as one numpy array ``(frames, rows, columns[, samples])``."""
        return self.pixel_data.pixel_array()

    # -- file lifetime ---------------------------------------------------
    def close(self) -> None:
        """Release the file this dataset was read from, if any."""
        if self.source is not None:
            self.source.close()

    def load(self) -> None:
        """Copy every located value into memory; the source can then be closed."""
        for element in self._elements.values():
            if element.vr is VR.SQ:
                for item in element.sequence:
                    item.load()
            else:
                element.load()

    def __enter__(self) -> Dataset:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
