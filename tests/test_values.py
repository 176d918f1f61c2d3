"""The classes on the ``refs`` path are plain classes, not dataclasses (start-up cost, see
tests/commands/test_startup.py). Each is checked here against a dataclass twin declared as it
was: the same ``__init__`` parameters (names, kinds, defaults), ``==``, ``hash`` and order where
the class keeps them, ``replace`` as ``dataclasses.replace``, immutability where it was frozen,
and a pickle round trip for what ``refs.disk``'s forked workers send back."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog_ops.core.edits import Edit
from catalog_ops.core.sources import ModuleSource, RefKind, SourceKind, parse_source
from catalog_ops.forge import ForgeKind
from catalog_ops.hcl.body import Attr, Block
from catalog_ops.hcl.json import JNode
from catalog_ops.hcl.lexer import Tok
from catalog_ops.refs.extract.base import Extractor
from catalog_ops.refs.model import Reference, RefKindOfEntry, RefStatus, ScanResult
from catalog_ops.refs.terragrunt import ConfigRef, Dynamic, ParsedFile, StrValue
from catalog_ops.settings import Settings


# The twins: each class as the dataclass it was (fields, defaults, options).
@dataclasses.dataclass(frozen=True, order=True)
class _Edit:
    start: int
    end: int
    old: str
    new: str


@dataclasses.dataclass(frozen=True)
class _ModuleSource:
    raw: str
    kind: SourceKind
    identity: str | None = None
    subdir: str | None = None
    ref: str | None = None
    ref_kind: RefKind = RefKind.NONE
    ref_span: tuple[int, int] | None = None
    updatable: bool = True
    reason: str | None = None
    query: tuple[tuple[str, str], ...] = ()


@dataclasses.dataclass
class _Reference:
    path: str
    line: int
    col: int
    entry: RefKindOfEntry
    name: str | None
    source: ModuleSource | None
    version: str | None
    status: RefStatus
    reason: str | None
    written_in: str
    ref_span: tuple[int, int] | None = None
    version_span: tuple[int, int] | None = None
    provider_source: str | None = None
    values_span: tuple[int, int] | None = None
    version_in: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Settings:
    forge: str = "local"
    local_root: Path | None = None  # was DEFAULT_LOCAL_ROOT: now default_local_root(), when read
    github_api_url: str = "https://api.github.com"
    github_token: str | None = None
    app_id: str | None = None
    app_private_key: str | None = None
    app_installation_id: str | None = None
    tf_binary: str = "terraform"
    write_interval: float = 1.0
    local_checks: str = ""


@dataclasses.dataclass(slots=True)
class _Tok:
    kind: str
    start: int
    end: int
    text: str
    parts: list[tuple[str, int, int]] | None = None


@dataclasses.dataclass
class _Attr:
    name: str
    tok: Tok
    expr: list[Tok]


@dataclasses.dataclass
class _Block:
    type: str
    labels: list[str]
    tok: Tok
    attrs: dict[str, Attr] = dataclasses.field(default_factory=dict)
    blocks: list[Block] = dataclasses.field(default_factory=list)
    open: int = -1
    close: int = -1


@dataclasses.dataclass
class _JNode:
    kind: str
    start: int
    end: int
    items: list[tuple[str, int, JNode]] | None = None
    elems: list[JNode] | None = None


@dataclasses.dataclass
class _ScanResult:
    references: list[Reference] = dataclasses.field(default_factory=list)
    errors: list[object] = dataclasses.field(default_factory=list)
    files_scanned: int = 0
    rendered: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class _StrValue:
    pieces: list[tuple[str, str | None, int]]
    dynamic_reason: str | None = None


@dataclasses.dataclass
class _Dynamic:
    reason: str


@dataclasses.dataclass
class _ConfigRef:
    path: str


@dataclasses.dataclass
class _ParsedFile:
    path: str
    text: str
    root: Block | None
    error: object
    locals: dict[str, Attr] = dataclasses.field(default_factory=dict)
    includes: dict[str, Attr] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class _Extractor:
    name: str
    blocks: tuple[str, ...] = ()
    hcl: Callable[..., object] | None = None
    json: Callable[..., object] | None = None
    files: tuple[str, ...] = ()
    file: Callable[..., object] | None = None
    dialects: tuple[str, ...] = ("terraform",)


@dataclasses.dataclass(frozen=True, kw_only=True)
class _ForgeKind:
    name: str
    summary: str
    build: Callable[..., object]
    release_checks_gate: bool = False


TWINS = [
    (Edit, _Edit),
    (ModuleSource, _ModuleSource),
    (Reference, _Reference),
    (Settings, _Settings),
    (Tok, _Tok),
    (Attr, _Attr),
    (Block, _Block),
    (JNode, _JNode),
    (ScanResult, _ScanResult),
    (StrValue, _StrValue),
    (Dynamic, _Dynamic),
    (ConfigRef, _ConfigRef),
    (ParsedFile, _ParsedFile),
    (Extractor, _Extractor),
    (ForgeKind, _ForgeKind),
]
# Compared with == as the dataclass was (code and tests compare these); the others by identity.
COMPARED = (Edit, ModuleSource, Reference, Tok, Attr, Block, StrValue, Dynamic, ConfigRef, ParsedFile)
FROZEN = (Edit, ModuleSource, Settings)  # immutable (hashed, or shared: parse_source's cache)


def _parameters(cls: type) -> list[tuple[str, object, object]]:
    """``(name, kind, default)`` of ``cls()``'s parameters; a default factory shows as None."""
    out = []
    for p in inspect.signature(cls).parameters.values():
        default = None if repr(p.default) == "<factory>" else p.default
        out.append((p.name, p.kind, default))
    return out


@pytest.mark.parametrize(("cls", "twin"), TWINS, ids=[c.__name__ for c, _ in TWINS])
def test_init_takes_the_dataclass_arguments(cls: type, twin: type) -> None:
    assert _parameters(cls) == _parameters(twin)
    assert not dataclasses.is_dataclass(cls)
    assert (cls in COMPARED) == (cls.__eq__ is not object.__eq__)
    assert (cls.__hash__ is not None and cls.__hash__ is not object.__hash__) == (cls in (Edit, ModuleSource))


_texts = st.text(alphabet="ab/.v1", max_size=3)
_edits = st.tuples(st.integers(0, 3), st.integers(0, 3), _texts, _texts)


@settings(max_examples=300, deadline=None)
@given(st.lists(_edits, max_size=8))
def test_edits_compare_hash_and_sort_as_the_dataclass(fields: list[tuple[int, int, str, str]]) -> None:
    """``apply_edits`` relies on ``sorted(set(edits))``: the same edits, in the same order."""
    mine, twins = [Edit(*f) for f in fields], [_Edit(*f) for f in fields]
    assert [dataclasses.astuple(t) for t in sorted(set(twins))] == [
        (e.start, e.end, e.old, e.new) for e in sorted(set(mine))
    ]
    for a, b, ta, tb in zip(mine, mine[1:], twins, twins[1:], strict=False):
        assert (a == b, a < b, hash(a) == hash(b)) == (ta == tb, ta < tb, hash(ta) == hash(tb))


@settings(max_examples=200, deadline=None)
@given(_edits, _edits)
def test_edits_order_all_four_ways_and_show_as_the_dataclass(
    a: tuple[int, int, str, str], b: tuple[int, int, str, str]
) -> None:
    """Round-6 attack review: the ``order=True`` dataclass had ``<=``, ``>`` and ``>=`` too
    (``<=``/``>=`` raised TypeError on lead6) and a field-by-field ``repr``."""
    x, y, tx, ty = Edit(*a), Edit(*b), _Edit(*a), _Edit(*b)
    assert (x < y, x <= y, x > y, x >= y) == (tx < ty, tx <= ty, tx > ty, tx >= ty)
    assert "_" + repr(x) == repr(tx)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_edits_pickle_and_copy_as_the_dataclass(protocol: int) -> None:
    """Round-6 attack review: on lead6 an ``Edit`` (slots, immutable) could be neither pickled
    nor copied (AttributeError / TypeError); the dataclass could."""
    edit = Edit(3, 5, "v1", "v2")
    for again in (pickle.loads(pickle.dumps(edit, protocol)), copy.copy(edit), copy.deepcopy(edit)):
        assert type(again) is Edit
        assert again == edit
        assert (again.start, again.end, again.old, again.new) == (3, 5, "v1", "v2")


_raws = st.sampled_from(
    [
        "git::https://example.com/acme/m.git//vpc?ref=v1.2.3",
        "hg::https://example.com/acme/m?ref=default",
        "acme/eks/aws",
        "./local",
        "github.com/acme/m?ref=main&depth=1",
        "s3::https://s3.amazonaws.com/b/m.zip",
    ]
)


@settings(max_examples=200, deadline=None)
@given(_raws, _raws, st.sampled_from(ModuleSource.FIELDS[2:]), _texts)
def test_module_sources_are_values_as_the_dataclass(raw: str, other: str, name: str, value: str) -> None:
    a, b = parse_source(raw), parse_source(other)
    ta, tb = (_ModuleSource(*[getattr(s, n) for n in ModuleSource.FIELDS]) for s in (a, b))
    assert (a == b, hash(a) == hash(b)) == (ta == tb, hash(ta) == hash(tb))
    assert hash(a) == hash(ta)
    changed = a.replace(**{name: value})
    assert [getattr(changed, n) for n in ModuleSource.FIELDS] == list(
        dataclasses.astuple(dataclasses.replace(ta, **{name: value}))
    )
    assert pickle.loads(pickle.dumps(a, protocol=pickle.HIGHEST_PROTOCOL)) == a
    assert "_" + repr(a) == repr(ta)


def _reference(**changes: object) -> Reference:
    fields: dict[str, object] = {
        "path": "a/main.tf",
        "line": 3,
        "col": 12,
        "entry": RefKindOfEntry.MODULE,
        "name": "vpc",
        "source": parse_source("git::https://example.com/acme/m.git//vpc?ref=v1.2.3"),
        "version": None,
        "status": RefStatus.OK,
        "reason": None,
        "written_in": "a/main.tf",
        "ref_span": (40, 46),
    }
    return Reference(**{**fields, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"line": 4},
        {"values_span": (1, 2)},
        {"version_in": "a/override.tf", "version": "1.0"},
        {"source": None},
    ],
)
def test_references_compare_replace_and_pickle_as_the_dataclass(changes: dict[str, object]) -> None:
    ref, twin = _reference(), _Reference(*[getattr(_reference(), n) for n in Reference.FIELDS])
    changed = ref.replace(**changes)
    assert [getattr(changed, n) for n in Reference.FIELDS] == list(
        dataclasses.astuple(dataclasses.replace(twin, **changes))
    )
    assert (changed == ref) == (not changes) == (dataclasses.replace(twin, **changes) == twin)
    assert changed == _reference(**changes)
    assert pickle.loads(pickle.dumps(changed, protocol=pickle.HIGHEST_PROTOCOL)) == changed
    assert "_" + repr(changed) == repr(dataclasses.replace(twin, **changes))
    with pytest.raises(TypeError):
        ref.replace(nope=1)


def test_settings_replace_as_the_dataclass() -> None:
    s = Settings.from_env({}, forge="github", github_token="t")
    t = s.replace(write_interval=0.0)
    assert [getattr(t, n) for n in Settings.FIELDS] == [
        getattr(
            dataclasses.replace(_Settings(**{n: getattr(s, n) for n in Settings.FIELDS}), write_interval=0.0),
            n,
        )
        for n in Settings.FIELDS
    ]
    assert (s.write_interval, t.write_interval, t.github_token, t.forge) == (1.0, 0.0, "t", "github")
    assert s.local_root == t.local_root == Path("~/.local/share/catalog-ops/forge").expanduser()
    assert Settings(local_root=Path("/x")).replace(forge="github").local_root == Path("/x")
    with pytest.raises(TypeError):
        s.replace(token="x")
    with pytest.raises(TypeError):
        Settings("github")  # type: ignore[misc]  (keyword-only, as the dataclass)


@pytest.mark.parametrize(
    "value",
    [Edit(0, 1, "a", "b"), parse_source("acme/eks/aws"), Settings()],
    ids=lambda v: type(v).__name__,
)
def test_frozen_ones_cannot_change(value: object) -> None:
    name = next(iter(inspect.signature(type(value)).parameters))
    before = getattr(value, name)
    with pytest.raises(AttributeError):
        setattr(value, name, "x")
    with pytest.raises(AttributeError):
        delattr(value, name)
    assert getattr(value, name) == before


def test_block_and_parsed_file_defaults_are_new_each_time() -> None:
    tok = Tok("ident", 0, 1, "a")
    a, b = Block("a", [], tok), Block("a", [], tok)
    assert a == b and a.attrs is not b.attrs and a.blocks is not b.blocks
    f, g = ParsedFile("p", "", None, None), ParsedFile("p", "", None, None)
    assert f == g and f.locals is not g.locals and f.includes is not g.includes
    r, s = ScanResult(), ScanResult()
    assert r.references is not s.references and r.errors is not s.errors
