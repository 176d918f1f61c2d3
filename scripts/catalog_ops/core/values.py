"""What the plain value classes of the ``refs`` path share instead of being dataclasses.

``dataclasses`` is not imported on the ``refs`` path (it pulls in ``inspect``; with creating
the classes ≈ 20 ms of every start: tests/commands/test_startup.py guards it). These bases give
those classes what they used of a dataclass, from the attribute names they list in ``FIELDS``
(the order of their ``__init__`` parameters): ``replace`` (``Fields``); ``==`` field by field
and a ``repr`` showing every field (``Record``); refusing assignment (``Immutable``).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy treats it the same)
if TYPE_CHECKING:
    from typing import Self


class Fields:
    """A class whose ``__init__`` takes its attributes ``FIELDS`` (by name) and which can be
    copied with changes (``dataclasses.replace``'s rule)."""

    __slots__ = ()
    FIELDS: tuple[str, ...] = ()
    """The attributes, in the order of the ``__init__`` parameters."""

    def replace(self, **changes: object) -> Self:
        """A copy with ``changes`` (attribute name -> value) applied, made by ``__init__``.

        Raises:
            TypeError: a name that is not an ``__init__`` parameter (as ``dataclasses.replace``).
        """
        values = {name: getattr(self, name) for name in self.FIELDS}
        values.update(changes)
        return type(self)(**values)


class Record(Fields):
    """``Fields`` compared (``==``) as the tuple of their values, with a ``repr`` showing every
    field (``Name(a=1, b='x')``), as a dataclass compares and shows them. Not hashable unless the
    class says so (a dataclass with ``eq`` and without ``frozen`` is not either)."""

    __slots__ = ()

    def _key(self) -> tuple[object, ...]:
        return tuple([getattr(self, name) for name in self.FIELDS])

    def __eq__(self, other: object) -> bool:
        return self._key() == other._key() if isinstance(other, type(self)) else NotImplemented

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({', '.join(f'{name}={getattr(self, name)!r}' for name in self.FIELDS)})"
        )


class Immutable:
    """Refuses assigning or deleting an attribute after ``__init__`` (which sets them with
    ``object.__setattr__``), as a frozen dataclass does. Raises ``AttributeError``."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: a {type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: a {type(self).__name__} is immutable")
