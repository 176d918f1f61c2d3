"""Byte-exact text edits: ``Edit(start, end, old, new)`` spans against an original text.

Every change catalog-ops makes to a file is a list of edits computed against the text as read;
``apply_edits`` checks each edit's ``old`` against the original slice and that no two edits
overlap, then splices the replacements in. Nothing outside the spans changes, so quotes,
comments, whitespace and line endings are preserved by construction.
"""

from __future__ import annotations

from collections.abc import Iterable

from catalog_ops.core.values import Immutable, Record
from catalog_ops.errors import EditConflict


class Edit(Record, Immutable):
    """Replace ``text[start:end]`` (which must equal ``old``) by ``new``.

    A value, compared, hashed (``apply_edits`` drops duplicates through a set) and ordered
    (``sorted``) as the tuple ``(start, end, old, new)``; it cannot be changed once made.
    Not a dataclass: ``dataclasses`` is not imported on the ``refs`` path (start-up cost;
    tests/commands/test_startup.py guards it).

    Attributes:
        start: offset of the first replaced character (``str`` index, 0-based).
        end: offset one past the last replaced character (``start <= end``).
        old: the text expected at ``[start, end)``; checked by ``apply_edits``.
        new: the replacement text.
    """

    __slots__ = ("end", "new", "old", "start")
    FIELDS = ("start", "end", "old", "new")
    start: int
    end: int
    old: str
    new: str

    def __init__(self, start: int, end: int, old: str, new: str) -> None:
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "old", old)
        object.__setattr__(self, "new", new)

    def __hash__(self) -> int:
        return hash(self._key())

    # All four orderings, as the ``order=True`` dataclass this was had (``<=`` and ``>=`` have no
    # reflection through ``__lt__``).
    def __lt__(self, other: Edit) -> bool:
        return self._key() < other._key() if isinstance(other, Edit) else NotImplemented

    def __le__(self, other: Edit) -> bool:
        return self._key() <= other._key() if isinstance(other, Edit) else NotImplemented

    def __gt__(self, other: Edit) -> bool:
        return self._key() > other._key() if isinstance(other, Edit) else NotImplemented

    def __ge__(self, other: Edit) -> bool:
        return self._key() >= other._key() if isinstance(other, Edit) else NotImplemented

    def __reduce__(self) -> tuple[type[Edit], tuple[int, int, str, str]]:
        """Pickled (and ``copy``'d) as its arguments: the default reduction restores slots by
        ``setattr``, which an immutable ``Edit`` refuses (the dataclass pickled and copied)."""
        return (Edit, (self.start, self.end, self.old, self.new))


def line_col(text: str, offset: int) -> tuple[int, int]:
    """Return the 1-based ``(line, column)`` of ``offset`` in ``text`` (columns count characters)."""
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def utf8_error_position(data: bytes, exc: UnicodeDecodeError) -> tuple[int, int]:
    """The 1-based ``(line, column)`` of the first byte of ``data`` that ``exc`` (raised by
    ``data.decode("utf-8")``) rejects; columns count the characters decoded before it."""
    good = data[: exc.start].decode("utf-8")
    return line_col(good, len(good))


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """Apply non-overlapping ``edits`` to ``text`` and return the new text.

    Identical duplicate edits (same span, old and new) are applied once.

    Raises:
        EditConflict: an edit's span is out of range, its ``old`` differs from the original slice,
            or two different edits overlap.
    """
    ordered = sorted(set(edits))
    out: list[str] = []
    pos = 0
    for edit in ordered:
        if edit.start < 0 or edit.end < edit.start or edit.end > len(text):
            raise EditConflict(f"edit [{edit.start}, {edit.end}) is outside the text (length {len(text)})")
        if text[edit.start : edit.end] != edit.old:
            line, col = line_col(text, edit.start)
            raise EditConflict(
                f"{line}:{col}: expected {edit.old!r} but the text holds {text[edit.start : edit.end]!r}"
            )
        if edit.start < pos:
            line, col = line_col(text, edit.start)
            raise EditConflict(f"{line}:{col}: edit overlaps a previous edit")
        out.append(text[pos : edit.start])
        out.append(edit.new)
        pos = edit.end
    out.append(text[pos:])
    return "".join(out)
