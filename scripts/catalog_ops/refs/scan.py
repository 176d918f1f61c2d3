"""Discovery of module references (and version pins) in files and trees.

Reads ``*.tf``/``*.tofu`` ``module`` and ``terraform`` blocks, ``*.tf.json`` objects, Terragrunt
``*.hcl`` files (``terraform { source }``, ``terragrunt.stack.hcl`` ``unit``/``stack`` blocks,
``locals``, ``include``), ``.terraform-version`` and ``.tool-versions``.

Files are tokenised by a small HCL-aware lexer (strings with ``${}``/``%{}`` templates, heredocs,
``#``/``//``/``/* */`` comments, blocks) that keeps character offsets, so every reference knows the
exact span of its ref/version token and ``bump`` can rewrite only those characters. Sources built
by interpolation are resolved through same-file ``locals``, ``include`` blocks (paths given by
``find_in_parent_folders``, ``dirname``, ``get_terragrunt_dir``, ``get_parent_terragrunt_dir`` and
string templates over them) and ``read_terragrunt_config``; the part that carries the ref keeps its
origin file and offset (``Reference.written_in`` / ``ref_span``).

Offsets and columns count characters of the UTF-8-decoded text.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import re
import stat
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from catalog_ops.core.edits import line_col
from catalog_ops.core.sources import ModuleSource, RefKind, SourceKind, parse_source
from catalog_ops.errors import SourceParseError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy treats it the same)
if TYPE_CHECKING:  # annotations only; concurrent.futures is imported where the pool is used
    from pathlib import Path

MAX_FILE_BYTES = 4 * 1024 * 1024
SKIP_DIRS = frozenset({".terraform", ".terragrunt-cache", ".git", ".terragrunt-stack"})
_SUFFIXES = (".tf", ".tf.json", ".tofu", ".tofu.json", ".hcl")
_NAMES = (".terraform-version", ".tool-versions")
# Cheap substring pre-test before _KEYWORD_RE (a legacy ``aws = "~> 5.0"`` provider entry has neither
# ``source`` nor ``version``, hence ``required_providers``).
_KEYWORDS = (b"source", b"version", b"required_providers")
# Raw-text test: can a file hold a reference at all? (attribute or JSON key, or required_providers)
_KEYWORD_RE = re.compile(
    rb'\b(?:source|version|required_version)\s*=(?!=)|"(?:source|version|required_version)"\s*:|required_providers'
)


class RefKindOfEntry(StrEnum):
    """Where a reference was found."""

    MODULE = "module"
    TERRAGRUNT = "terragrunt"
    STACK_UNIT = "stack_unit"
    STACK = "stack"
    REQUIRED_VERSION = "required_version"
    PROVIDER = "provider"
    TERRAFORM_VERSION_FILE = "terraform_version_file"
    TOOL_VERSIONS = "tool_versions"


MODULE_ENTRIES = frozenset(
    {RefKindOfEntry.MODULE, RefKindOfEntry.TERRAGRUNT, RefKindOfEntry.STACK_UNIT, RefKindOfEntry.STACK}
)


@dataclass(frozen=True)
class Reference:
    """One reference found in a file.

    Attributes:
        path: file the reference was found in; ``line``/``col`` (1-based) locate its source/version
            expression there.
        entry: what kind of entry it is.
        name: module/unit/stack block label, provider local name, or tool name.
        source: parsed module source (module-like entries), resolved through locals/includes.
        version: registry/provider version constraint, or CLI version for version files.
        status: ``ok``, ``dynamic``, ``local``, ``unsupported``, ``branch``, ``sha``, ``unpinned``.
        reason: human explanation for any status other than ``ok``.
        written_in: file holding the ref bytes (differs from ``path`` for refs resolved via includes).
        ref_span: ``[start, end)`` of the ref (git ``ref``/tfr ``version``) in ``written_in``'s text.
        version_span: ``[start, end)`` of the ``version`` constraint's contents in ``path``'s text.
        provider_source: ``required_providers`` source address (providers only); when the entry
            has none (including the legacy ``aws = "~> 5.0"`` form) the implied
            ``hashicorp/NAME`` (Terraform "Provider Requirements").
        values_span: ``[start, end)`` in ``path``'s text of the contents of a Terragrunt stack
            ``unit``/``stack`` block's ``values = { version = "..." }`` literal when it equals the
            block's ref (Gruntwork's pattern; ``bump`` moves it with the ref), else ``None``.
    """

    path: str
    line: int
    col: int
    entry: RefKindOfEntry
    name: str | None
    source: ModuleSource | None
    version: str | None
    status: str
    reason: str | None
    written_in: str
    ref_span: tuple[int, int] | None = None
    version_span: tuple[int, int] | None = None
    provider_source: str | None = None
    values_span: tuple[int, int] | None = None

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (stable keys; see docs/references.md)."""
        src = self.source
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "entry": str(self.entry),
            "name": self.name,
            "source": src.raw if src else None,
            "kind": str(src.kind) if src else None,
            "identity": src.identity if src else None,
            "subdir": src.subdir if src else None,
            "ref": src.ref if src else None,
            "ref_kind": str(src.ref_kind) if src else None,
            "version": self.version,
            "provider_source": self.provider_source,
            "status": self.status,
            "reason": self.reason,
            "written_in": self.written_in,
            "values_version": src.ref if (src and self.values_span) else None,
        }


@dataclass
class ScanResult:
    """References and per-file errors of a scan; ``files_scanned`` counts candidate files read."""

    references: list[Reference] = field(default_factory=list)
    errors: list[SourceParseError] = field(default_factory=list)
    files_scanned: int = 0


def is_candidate_path(path: str) -> bool:
    """True for files that may hold references: ``*.tf``, ``*.tf.json``, ``*.tofu``, ``*.hcl``,
    ``.terraform-version`` and ``.tool-versions`` (by base name)."""
    base = posixpath.basename(path.replace("\\", "/"))
    return base.endswith(_SUFFIXES) or base in _NAMES


# =========================================================================== lexer


class _LexError(Exception):
    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message


@dataclass(slots=True)
class Tok:
    """A token: ``kind`` in ident/string/heredoc/number/punct/nl/eof; ``[start, end)`` offsets.

    For strings, ``parts`` lists ``("lit"|"interp"|"directive", start, end)`` spans of the
    contents (interp/directive spans are the expression inside ``${ }``/``%{ }``).
    """

    kind: str
    start: int
    end: int
    text: str
    parts: list[tuple[str, int, int]] | None = None


_TOKEN_RE = re.compile(
    r"""
     (?P<ws>[ \t\r\f\ufeff]+)
    |(?P<nl>\n)
    |(?P<comment>\#[^\n]*|//[^\n]*)
    |(?P<bcomment>/\*)
    |(?P<heredoc><<-?(?P<marker>[A-Za-z_][A-Za-z0-9_-]*)[ \t]*\r?\n)
    |(?P<ident>(?:[^\W\d]|_)[\w-]*)
    |(?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    |(?P<quote>")
    |(?P<punct>==|!=|<=|>=|=>|&&|\|\||\.\.\.|[{}\[\]()=,.:?!<>+\-*/%~])
    """,
    re.X,
)
_STRING_SPECIAL = re.compile(r'["\\\n$%]')


def _lex_string(text: str, i: int, end: int) -> tuple[int, list[tuple[str, int, int]]]:
    """Lex a quoted template starting at ``text[i] == '"'``; return (index after closing quote, parts)."""
    j = i + 1
    lit = j
    parts: list[tuple[str, int, int]] = []
    while True:
        m = _STRING_SPECIAL.search(text, j, end)
        if m is None:
            raise _LexError(i, "unterminated string")
        j = m.start()
        c = text[j]
        if c == '"':
            if j > lit:
                parts.append(("lit", lit, j))
            return j + 1, parts
        if c == "\n":
            raise _LexError(i, "unterminated string (newline in quoted string)")
        if c == "\\":
            j += 2
            continue
        # '$' or '%'
        if text.startswith(c * 2 + "{", j):  # escaped $${ / %%{
            j += 3
            continue
        if text.startswith("{", j + 1):
            if j > lit:
                parts.append(("lit", lit, j))
            try:
                close = _skip_expr(text, j + 2, end)
            except _LexError:
                raise _LexError(j, f"unterminated template {c}{{...}}") from None
            parts.append(("interp" if c == "$" else "directive", j + 2, close))
            j = close + 1
            lit = j
            continue
        j += 1


def _skip_expr(text: str, i: int, end: int) -> int:
    """Return the index of the ``}`` closing a template interpolation whose expression starts at ``i``."""
    depth = 0
    j = i
    while j < end:
        c = text[j]
        if c == '"':
            j, _ = _lex_string(text, j, end)
            continue
        if c in "{[(":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "}":
            if depth == 0:
                return j
            depth -= 1
        j += 1
    raise _LexError(i - 2, "unterminated template interpolation")


_SKIP_RE = re.compile(
    r"""
     (?P<plain>[^{}"\#/<]+|/(?![/*])|<(?!<))
    |(?P<open>\{)
    |(?P<close>\})
    |(?P<str>"(?:[^"\\\n$%]|\\.|\$\$\{|%%\{|\$(?!\{)|%(?!\{))*")
    |(?P<quote>")
    |(?P<comment>\#[^\n]*|//[^\n]*)
    |(?P<bcomment>/\*)
    |(?P<heredoc><<-?(?P<marker>[A-Za-z_][A-Za-z0-9_-]*)[ \t]*\r?\n)
    |(?P<lt><<)
    """,
    re.X,
)

# Top-level blocks whose contents matter; bodies of all other blocks are skipped quickly.
INTERESTING_BLOCKS = frozenset({"module", "terraform", "unit", "stack", "locals", "include"})


def _heredoc_end(text: str, i: int, body_start: int, marker: str, end: int) -> int:
    term = re.compile(rf"^[ \t]*{re.escape(marker)}[ \t]*\r?$", re.M)
    t = term.search(text, body_start, end)
    if t is None:
        raise _LexError(i, f"unterminated heredoc (missing {marker})")
    return t.end()


def _skip_block(text: str, i: int, end: int) -> int:
    """Given ``text[i] == '{'``, return the index of its matching ``}`` (strings/comments aware)."""
    depth = 0
    j = i
    match = _SKIP_RE.match
    while j < end:
        m = match(text, j, end)
        assert m is not None  # every character is matched by some alternative
        kind = m.lastgroup
        if kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
            if depth == 0:
                return j
        elif kind == "quote":
            j, _ = _lex_string(text, j, end)
            continue
        elif kind == "bcomment":
            close = text.find("*/", j + 2, end)
            if close < 0:
                raise _LexError(j, "unterminated /* comment")
            j = close + 2
            continue
        elif kind == "heredoc":
            j = _heredoc_end(text, j, m.end(), m["marker"], end)
            continue
        j = m.end()
    raise _LexError(i, "block is not closed")


def lex(text: str, start: int = 0, end: int | None = None, *, skim: bool = False) -> list[Tok]:
    """Tokenise HCL native syntax ``text[start:end]`` (comments and blanks dropped, newlines kept).

    With ``skim``, the bodies of top-level blocks whose type is not in ``INTERESTING_BLOCKS``
    are skipped (their ``{`` and ``}`` tokens are kept) — much faster on resource-heavy files.

    Raises:
        _LexError: unterminated string/heredoc/comment or an unexpected character (with offset).
    """
    if end is None:
        end = len(text)
    toks: list[Tok] = []
    append = toks.append
    i = start
    match = _TOKEN_RE.match
    depth = 0
    stmt = 0  # index in toks of the current top-level statement's first token
    while i < end:
        m = match(text, i, end)
        if m is None:
            raise _LexError(i, f"unexpected character {text[i]!r}")
        kind = m.lastgroup
        if kind == "ws" or kind == "comment":
            i = m.end()
        elif kind == "nl":
            append(Tok("nl", i, i + 1, "\n"))
            if depth == 0:
                stmt = len(toks)
            i += 1
        elif kind == "quote":
            j, parts = _lex_string(text, i, end)
            append(Tok("string", i, j, text[i:j], parts))
            i = j
        elif kind == "punct":
            t = m.group()
            if t == "{":
                if (
                    skim
                    and depth == 0
                    and stmt < len(toks)
                    and toks[stmt].kind == "ident"
                    and toks[stmt].text not in INTERESTING_BLOCKS
                    and all(x.kind in ("ident", "string") for x in toks[stmt + 1 :])
                ):
                    close = _skip_block(text, i, end)
                    append(Tok("punct", i, i + 1, "{"))
                    append(Tok("punct", close, close + 1, "}"))
                    i = close + 1
                    continue
                depth += 1
            elif t == "}":
                depth -= 1
                if depth == 0:
                    stmt = len(toks) + 1
            append(Tok("punct", i, m.end(), t))
            i = m.end()
        elif kind == "bcomment":
            close = text.find("*/", i + 2, end)
            if close < 0:
                raise _LexError(i, "unterminated /* comment")
            i = close + 2
        elif kind == "heredoc":
            j = _heredoc_end(text, i, m.end(), m["marker"], end)
            append(Tok("heredoc", i, j, text[i:j]))
            i = j
        else:
            assert kind is not None
            append(Tok(kind, i, m.end(), m.group()))
            i = m.end()
    append(Tok("eof", end, end, ""))
    return toks


# =========================================================================== structure


@dataclass
class Attr:
    """``name = expr``; ``expr`` are the expression's tokens (no trailing newline)."""

    name: str
    tok: Tok
    expr: list[Tok]


@dataclass
class Block:
    """``type "label"... { body }`` with attributes (first definition wins) and nested blocks."""

    type: str
    labels: list[str]
    tok: Tok
    attrs: dict[str, Attr] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)


_OPEN = {"{": "}", "[": "]", "(": ")"}
_CLOSE = {"}", "]", ")"}


def _expr_end(toks: list[Tok], i: int) -> int:
    """Index one past the last token of the expression starting at ``i`` (stops at newline/``}``)."""
    depth = 0
    while True:
        t = toks[i]
        if t.kind == "eof":
            if depth:
                raise _LexError(t.start, "unexpected end of file in expression")
            return i
        if t.kind == "punct":
            if t.text in _OPEN:
                depth += 1
            elif t.text in _CLOSE:
                if depth == 0:
                    return i
                depth -= 1
        elif t.kind == "nl" and depth == 0:
            return i
        i += 1


def _string_value(text: str, tok: Tok) -> str:
    return text[tok.start + 1 : tok.end - 1]


def parse_body(text: str, toks: list[Tok]) -> Block:
    """Parse tokens into a root ``Block`` (type ``""``) of attributes and nested blocks.

    Raises:
        _LexError: structural syntax error (with offset).
    """
    root = Block("", [], toks[0])
    stack: list[Block] = [root]
    i = 0
    n = len(toks)
    while i < n:
        t = toks[i]
        k = t.kind
        if k == "nl":
            i += 1
            continue
        if k == "eof":
            if len(stack) > 1:
                raise _LexError(stack[-1].tok.start, f"block {stack[-1].type!r} is not closed")
            return root
        if k == "punct" and t.text == "}":
            if len(stack) == 1:
                raise _LexError(t.start, "unexpected '}'")
            stack.pop()
            i += 1
            continue
        if k != "ident":
            raise _LexError(t.start, f"expected an attribute or block, found {t.text or t.kind!r}")
        nxt = toks[i + 1]
        if nxt.kind == "punct" and nxt.text == "=":
            j = _expr_end(toks, i + 2)
            if j == i + 2:
                raise _LexError(nxt.end, f"missing value for attribute {t.text!r}")
            stack[-1].attrs.setdefault(t.text, Attr(t.text, t, toks[i + 2 : j]))
            i = j
            continue
        labels: list[str] = []
        j = i + 1
        while toks[j].kind in ("string", "ident"):
            lt = toks[j]
            labels.append(_string_value(text, lt) if lt.kind == "string" else lt.text)
            j += 1
        if not (toks[j].kind == "punct" and toks[j].text == "{"):
            bad = toks[j]
            raise _LexError(
                bad.start, f"expected '=' or '{{' after {t.text!r}, found {bad.text or bad.kind!r}"
            )
        block = Block(t.text, labels, t)
        stack[-1].blocks.append(block)
        stack.append(block)
        i = j + 1
    return root  # pragma: no cover


# =========================================================================== evaluation


@dataclass
class _Str:
    """A string value as pieces ``(text, origin_file | None, origin_offset)``."""

    pieces: list[tuple[str, str | None, int]]
    dynamic_reason: str | None = None

    @property
    def value(self) -> str:
        return "".join(p[0] for p in self.pieces)


@dataclass
class _Dyn:
    reason: str


@dataclass
class _Cfg:
    path: str


_Val = _Str | _Dyn | _Cfg


@dataclass
class _Parsed:
    path: str
    text: str
    root: Block | None
    error: SourceParseError | None
    locals: dict[str, Attr] = field(default_factory=dict)
    includes: dict[str, Attr] = field(default_factory=dict)


class _Loader:
    """Reads and parses files on demand (cached); ``read(path)`` returns bytes or ``None``."""

    def __init__(
        self, read: Callable[[str], bytes | None], exists: Callable[[str], bool], *, on_disk: bool = False
    ) -> None:
        self.on_disk = on_disk
        self._read = read
        self.exists = exists
        self.cache: dict[str, _Parsed | None] = {}
        self.pending: dict[str, bytes] = {}

    def read(self, path: str) -> bytes | None:
        data = self.pending.pop(path, None)
        return data if data is not None else self._read(path)

    def get(self, path: str) -> _Parsed | None:
        if path in self.cache:
            return self.cache[path]
        self.cache[path] = None  # cycle guard
        data = self.read(path)
        parsed = None if data is None else parse_hcl_file(path, data)
        self.cache[path] = parsed
        return parsed


def decode(path: str, data: bytes) -> str:
    """Decode file bytes as UTF-8.

    Raises:
        SourceParseError: binary (NUL bytes), too large, or not UTF-8 (``path:line:col`` of the bad byte).
    """
    if len(data) > MAX_FILE_BYTES:
        raise SourceParseError(path, 1, 1, f"file is larger than {MAX_FILE_BYTES} bytes; skipped")
    if b"\x00" in data:
        raise SourceParseError(path, 1, 1, "binary file (NUL bytes); skipped")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        good = data[: exc.start].decode("utf-8")
        line, col = line_col(good, len(good))
        raise SourceParseError(path, line, col, "not valid UTF-8; skipped") from None


def parse_hcl_file(path: str, data: bytes) -> _Parsed:
    """Decode and parse an HCL file; errors are kept in ``_Parsed.error`` (never raised)."""
    try:
        text = decode(path, data)
    except SourceParseError as exc:
        return _Parsed(path, "", None, exc)
    try:
        root = parse_body(text, lex(text, skim=True))
    except _LexError as exc:
        line, col = line_col(text, exc.offset)
        return _Parsed(path, text, None, SourceParseError(path, line, col, exc.message))
    except RecursionError:
        return _Parsed(path, text, None, SourceParseError(path, 1, 1, "templates nest too deeply"))
    parsed = _Parsed(path, text, root, None)
    for b in root.blocks:
        if b.type == "locals":
            for name, attr in b.attrs.items():
                parsed.locals.setdefault(name, attr)
        elif b.type == "include" and "path" in b.attrs:
            parsed.includes.setdefault(b.labels[0] if b.labels else "", b.attrs["path"])
    return parsed


def _dirname(path: str) -> str:
    return posixpath.dirname(path) or "."


def _norm(path: str) -> str:
    return posixpath.normpath(path)


class _Evaluator:
    """Evaluates the small subset of HCL/Terragrunt expressions that build source addresses."""

    def __init__(self, loader: _Loader, config_path: str) -> None:
        self.loader = loader
        self.config_path = config_path  # the Terragrunt config being evaluated (the child)
        self.depth = 0
        self.memo: dict[tuple[str, int], _Val | None] = {}  # None: being evaluated (cycle guard)

    def attr_value(self, f: _Parsed, attr: Attr) -> _Val:
        """Evaluate a local's expression once per evaluator (memoised; cycles become dynamic)."""
        key = (f.path, attr.tok.start)
        if key in self.memo:
            return self.memo[key] or _Dyn(f"local {attr.name!r} in {f.path} refers to itself (cycle)")
        self.memo[key] = None
        val = self.eval(f, attr.expr)
        self.memo[key] = val
        return val

    # -- paths: functions return "absolute" paths (in-memory trees use a virtual root "/").
    def absolute(self, path: str) -> str:
        """A tree path (as keyed/walked) as an absolute path."""
        if self.loader.on_disk:
            return os.path.abspath(path)
        return "/" + _norm(path).lstrip("/") if _norm(path) != "." else "/"

    def tree_path(self, path: str) -> str:
        """An absolute path back in the tree's style (relative when the config path is relative)."""
        if self.loader.on_disk:
            return path if os.path.isabs(self.config_path) else os.path.relpath(path)
        return _norm(path.lstrip("/")) if path.strip("/") else "."

    def resolve_file(self, f: _Parsed, value: str) -> str:
        """A path value from ``f`` (absolute, or relative to ``f``'s directory) in tree style."""
        if value.startswith("/"):
            return self.tree_path(_norm(value))
        return _norm(posixpath.join(_dirname(f.path), value))

    def find_in_parent_folders(self, name: str) -> str | None:
        """Terragrunt's search: from the config's parent directory upwards (at most 100 levels)."""
        cur = posixpath.dirname(self.absolute(self.config_path))
        for _ in range(100):
            parent = posixpath.dirname(cur)
            if parent == cur:
                return None
            cand = _norm(posixpath.join(parent, name))
            if self.loader.exists(self.tree_path(cand)):
                return cand
            cur = parent
        return None

    def include_path(self, f: _Parsed, label: str) -> str | _Dyn:
        attr = f.includes.get(label)
        if attr is None:
            return _Dyn(f"no include {label!r} in {f.path}")
        val = self.eval(f, attr.expr)
        if isinstance(val, _Str) and val.dynamic_reason is None:
            return self.resolve_file(f, val.value)
        if isinstance(val, _Dyn):
            return _Dyn(f"cannot resolve the path of include {label!r}: {val.reason}")
        return _Dyn(f"cannot resolve the path of include {label!r}")

    # -- evaluation
    def eval(self, f: _Parsed, toks: list[Tok]) -> _Val:
        self.depth += 1
        try:
            if self.depth > 40:
                return _Dyn("references nest too deeply (an include or local cycle?)")
            return self._eval(f, toks)
        finally:
            self.depth -= 1

    def _eval(self, f: _Parsed, toks: list[Tok]) -> _Val:
        toks = [t for t in toks if t.kind != "nl"]
        if not toks:
            return _Dyn("empty expression")
        first = toks[0]
        if len(toks) == 1 and first.kind == "string":
            return self._template(f, first)
        if len(toks) >= 3 and first.kind == "punct" and first.text == "(" and toks[-1].text == ")":
            return self._eval(f, toks[1:-1])
        if first.kind == "ident" and len(toks) >= 3 and toks[1].text == "(" and toks[-1].text == ")":
            return self._call(f, first.text, toks[2:-1])
        if first.kind == "ident":
            names: list[str] = [first.text]
            i = 1
            while i + 1 < len(toks) and toks[i].text == "." and toks[i + 1].kind == "ident":
                names.append(toks[i + 1].text)
                i += 2
            if i == len(toks):
                return self._traverse(f, names)
        return _Dyn(f"expression {_snippet(f.text, toks)!r} is not a literal")

    def _template(self, f: _Parsed, tok: Tok) -> _Val:
        pieces: list[tuple[str, str | None, int]] = []
        reason: str | None = None
        for kind, s, e in tok.parts or []:
            if kind == "lit":
                pieces.append((f.text[s:e], f.path, s))
                continue
            inner_s, inner_e = s, e
            while inner_s < inner_e and f.text[inner_s] == "~":
                inner_s += 1
            while inner_e > inner_s and f.text[inner_e - 1] == "~":
                inner_e -= 1
            val: _Val
            if kind == "directive":
                val = _Dyn("template directive %{...}")
            else:
                try:
                    inner = lex(f.text, inner_s, inner_e)
                except _LexError as exc:
                    val = _Dyn(exc.message)
                else:
                    val = self.eval(f, inner[:-1])
            if isinstance(val, _Str):
                pieces.extend(val.pieces)
                reason = reason or val.dynamic_reason
                if len(pieces) > 4096 or sum(len(p[0]) for p in pieces) > 65536:
                    return _Dyn("interpolated value is too long")
            else:
                pieces.append((f.text[s - 2 : e + 1], None, s - 2))
                reason = reason or (val.reason if isinstance(val, _Dyn) else "config object in template")
        return _Str(pieces, reason)

    def _traverse(self, f: _Parsed, names: list[str]) -> _Val:
        if names[0] == "local" and len(names) >= 2:
            attr = f.locals.get(names[1])
            if attr is None:
                return _Dyn(f"local.{names[1]} is not defined in {f.path}")
            val = self.attr_value(f, attr)
            return self._rest(val, names[2:], ".".join(names))
        if names[0] == "include" and len(names) >= 3:
            if names[1] == "locals" and "" in f.includes:
                label, rest = "", names[1:]
            else:
                label, rest = names[1], names[2:]
            path = self.include_path(f, label)
            if isinstance(path, _Dyn):
                return path
            return self._rest(_Cfg(path), rest, ".".join(names))
        return _Dyn(f"{'.'.join(names)} cannot be resolved statically")

    def _rest(self, val: _Val, rest: list[str], what: str) -> _Val:
        if not rest:
            return val
        if isinstance(val, _Cfg) and len(rest) >= 2 and rest[0] == "locals":
            target = self.loader.get(val.path)
            if target is None or target.root is None:
                return _Dyn(f"{what}: cannot read {val.path}")
            attr = target.locals.get(rest[1])
            if attr is None:
                return _Dyn(f"{what}: local {rest[1]!r} is not defined in {val.path}")
            return self._rest(self.attr_value(target, attr), rest[2:], what)
        return _Dyn(f"{what} cannot be resolved statically")

    def _call(self, f: _Parsed, name: str, arg_toks: list[Tok]) -> _Val:
        args: list[list[Tok]] = []
        cur: list[Tok] = []
        depth = 0
        for t in arg_toks:
            if t.kind == "punct" and t.text in _OPEN:
                depth += 1
            elif t.kind == "punct" and t.text in _CLOSE:
                depth -= 1
            if depth == 0 and t.kind == "punct" and t.text == ",":
                args.append(cur)
                cur = []
            elif t.kind != "nl":
                cur.append(t)
        if cur:
            args.append(cur)
        vals = [self.eval(f, a) for a in args]
        strs = [v.value if isinstance(v, _Str) and v.dynamic_reason is None else None for v in vals]
        if name == "get_terragrunt_dir" and not args:
            return _Str([(posixpath.dirname(self.absolute(self.config_path)), None, 0)])
        if name == "get_parent_terragrunt_dir" and not args:
            return _Str([(posixpath.dirname(self.absolute(f.path)), None, 0)])
        if name == "find_in_parent_folders" and len(args) <= 2:
            target = strs[0] if args else "terragrunt.hcl"
            if target is None:
                return _Dyn("find_in_parent_folders argument is not a literal")
            found = self.find_in_parent_folders(target)
            if found is None and not args:
                found = self.find_in_parent_folders("root.hcl")
            if found is None:
                return _Dyn(f"find_in_parent_folders({target!r}) found nothing")
            return _Str([(found, None, 0)])
        if name in ("dirname", "basename") and len(args) == 1 and strs[0] is not None:
            fn = _dirname if name == "dirname" else posixpath.basename
            return _Str([(fn(strs[0]), None, 0)])
        if name == "read_terragrunt_config" and args and strs[0] is not None:
            return _Cfg(self.resolve_file(f, strs[0]))
        return _Dyn(f"function {name}() is not resolved statically")


def _snippet(text: str, toks: list[Tok]) -> str:
    s = text[toks[0].start : toks[-1].end]
    return s if len(s) <= 60 else s[:57] + "..."


# =========================================================================== references


def _status_for(src: ModuleSource) -> tuple[str, str | None]:
    if src.kind is SourceKind.LOCAL:
        return "local", src.reason
    if src.kind is SourceKind.DYNAMIC:
        return "dynamic", src.reason
    if src.kind in (SourceKind.S3, SourceKind.GCS, SourceKind.HG, SourceKind.HTTP) or not src.updatable:
        if src.ref_kind is RefKind.DYNAMIC:
            return "dynamic", src.reason
        return "unsupported", src.reason
    if src.kind is SourceKind.REGISTRY and src.ref is None:
        return "ok", None
    if src.ref_kind is RefKind.BRANCH:
        return "branch", f"ref {src.ref!r} is a branch"
    if src.ref_kind is RefKind.SHA:
        return "sha", f"ref {src.ref!r} is a commit SHA"
    if src.ref_kind is RefKind.NONE:
        return "unpinned", "no ref: follows the default branch"
    return "ok", None


def _module_ref(
    ev: _Evaluator,
    f: _Parsed,
    entry: RefKindOfEntry,
    name: str | None,
    attr: Attr,
    version_attr: Attr | None,
) -> Reference:
    first = attr.expr[0]
    line, col = line_col(f.text, first.start)
    val = ev.eval(f, attr.expr)
    version = None
    version_span = None
    if version_attr is not None:
        vval = ev.eval(f, version_attr.expr)
        if isinstance(vval, _Str) and vval.dynamic_reason is None:
            version = vval.value
            origins = {p[1] for p in vval.pieces}
            if len(vval.pieces) == 1 and origins == {f.path}:
                version_span = (vval.pieces[0][2], vval.pieces[0][2] + len(version))
    if not isinstance(val, _Str):
        dyn_reason = val.reason if isinstance(val, _Dyn) else "source is a config object"
        dyn = ModuleSource(
            raw=_snippet(f.text, attr.expr),
            kind=SourceKind.DYNAMIC,
            identity=None,
            subdir=None,
            ref=None,
            ref_kind=RefKind.DYNAMIC,
            ref_span=None,
            updatable=False,
            reason=dyn_reason,
        )
        return Reference(
            f.path, line, col, entry, name, dyn, version, "dynamic", dyn_reason, f.path, None, version_span
        )
    raw = val.value
    src = parse_source(raw)
    status, reason = _status_for(src)
    if src.kind is SourceKind.DYNAMIC and val.dynamic_reason:
        reason = val.dynamic_reason
    written_in = f.path
    ref_span = None
    if src.ref_span is not None:
        a, b = src.ref_span
        pos = 0
        for text, origin, off in val.pieces:
            if pos <= a and b <= pos + len(text) and origin is not None:
                written_in = origin
                ref_span = (off + a - pos, off + b - pos)
                break
            pos += len(text)
        if ref_span is None and status == "ok":
            status, reason = "dynamic", val.dynamic_reason or "the ref is not written as a literal"
    elif src.ref_kind is RefKind.DYNAMIC:
        status, reason = "dynamic", val.dynamic_reason or src.reason
    return Reference(
        f.path, line, col, entry, name, src, version, status, reason, written_in, ref_span, version_span
    )


def _literal(ev: _Evaluator, f: _Parsed, attr: Attr) -> tuple[str | None, tuple[int, int] | None]:
    val = ev.eval(f, attr.expr)
    if isinstance(val, _Str) and val.dynamic_reason is None:
        if len(val.pieces) == 1 and val.pieces[0][1] == f.path:
            off = val.pieces[0][2]
            return val.value, (off, off + len(val.value))
        return val.value, None
    return None, None


def _object_items(text: str, toks: list[Tok]) -> dict[str, list[Tok]] | None:
    """Split an object constructor ``{ k = v, k2 = v2 }`` into key → value tokens."""
    toks = [t for t in toks if True]
    if not toks or toks[0].text != "{" or toks[-1].text != "}":
        return None
    out: dict[str, list[Tok]] = {}
    i = 1
    end = len(toks) - 1
    while i < end:
        t = toks[i]
        if t.kind == "nl" or t.text == ",":
            i += 1
            continue
        if t.kind not in ("ident", "string") or i + 1 >= end or toks[i + 1].text not in ("=", ":"):
            return out
        key = t.text if t.kind == "ident" else _string_value(text, t)
        j = i + 2
        depth = 0
        while j < end:
            u = toks[j]
            if u.kind == "punct" and u.text in _OPEN:
                depth += 1
            elif u.kind == "punct" and u.text in _CLOSE:
                depth -= 1
            elif depth == 0 and (u.kind == "nl" or u.text == ","):
                break
            j += 1
        out.setdefault(key, toks[i + 2 : j])
        i = j
    return out


def _hcl_references(loader: _Loader, f: _Parsed) -> list[Reference]:
    assert f.root is not None
    ev = _Evaluator(loader, f.path)
    refs: list[Reference] = []
    for b in f.root.blocks:
        if b.type == "module" and "source" in b.attrs:
            refs.append(
                _module_ref(
                    ev,
                    f,
                    RefKindOfEntry.MODULE,
                    b.labels[0] if b.labels else None,
                    b.attrs["source"],
                    b.attrs.get("version"),
                )
            )
        elif b.type in ("unit", "stack") and "source" in b.attrs:
            entry = RefKindOfEntry.STACK_UNIT if b.type == "unit" else RefKindOfEntry.STACK
            ref = _module_ref(ev, f, entry, b.labels[0] if b.labels else None, b.attrs["source"], None)
            if "values" in b.attrs and ref.ref_span is not None and ref.source and ref.source.ref:
                span = _values_version_span(f.text, b.attrs["values"])
                if span is not None and f.text[span[0] : span[1]] == ref.source.ref:
                    ref = dataclasses.replace(ref, values_span=span)
            refs.append(ref)
        elif b.type == "terraform":
            if "source" in b.attrs:
                refs.append(_module_ref(ev, f, RefKindOfEntry.TERRAGRUNT, None, b.attrs["source"], None))
            if "required_version" in b.attrs:
                attr = b.attrs["required_version"]
                value, span = _literal(ev, f, attr)
                line, col = line_col(f.text, attr.expr[0].start)
                refs.append(
                    Reference(
                        f.path, line, col, RefKindOfEntry.REQUIRED_VERSION, None, None, value,
                        "ok" if value is not None else "dynamic",
                        None if value is not None else "required_version is not a literal",
                        f.path, None, span,
                    )
                )  # fmt: skip
            for rp in b.blocks:
                if rp.type != "required_providers":
                    continue
                for pname, pattr in rp.attrs.items():
                    refs.append(_provider_ref(ev, f, pname, pattr))
    return refs


def _values_version_span(text: str, attr: Attr) -> tuple[int, int] | None:
    """Span of the contents of ``values = { version = "LITERAL" }`` (no escapes, no templates)."""
    items = _object_items(text, attr.expr)
    toks = [t for t in (items or {}).get("version", []) if t.kind != "nl"]
    if len(toks) != 1 or toks[0].kind != "string":
        return None
    parts = toks[0].parts or []
    if len(parts) != 1 or parts[0][0] != "lit" or "\\" in text[parts[0][1] : parts[0][2]]:
        return None
    return parts[0][1], parts[0][2]


def implied_provider_source(name: str) -> str:
    """The source Terraform implies for a ``required_providers`` entry without one:
    ``hashicorp/NAME`` (Terraform docs, "Provider Requirements")."""
    return f"hashicorp/{name}"


def _provider_ref(ev: _Evaluator, f: _Parsed, pname: str, pattr: Attr) -> Reference:
    line, col = line_col(f.text, pattr.expr[0].start)
    items = _object_items(f.text, pattr.expr)
    psource = None
    version = None
    span = None
    if items is None:
        version, span = _literal(ev, f, pattr)  # legacy: aws = "~> 5.0"
    else:
        if items.get("source"):
            psource, _ = _literal(ev, f, Attr("source", items["source"][0], items["source"]))
        if items.get("version"):
            vt = items["version"]
            version, span = _literal(ev, f, Attr("version", vt[0], vt))
            line, col = line_col(f.text, vt[0].start)
    if items is None or "source" not in items:
        psource = implied_provider_source(pname)
    return Reference(
        f.path,
        line,
        col,
        RefKindOfEntry.PROVIDER,
        pname,
        None,
        version,
        "ok",
        None,
        f.path,
        None,
        span,
        psource,
    )


# --------------------------------------------------------------------------- JSON


class _JsonError(Exception):
    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message


_JSTR = re.compile(r'"(?:[^"\\\x00-\x1f]|\\.)*"', re.S)
_JWS = re.compile(r"[ \t\r\n\ufeff]*")
_JLIT = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null")


@dataclass
class _JNode:
    kind: str  # obj/arr/str/lit
    start: int
    end: int
    items: list[tuple[str, int, _JNode]] | None = None  # obj: (key, key_offset, value)
    elems: list[_JNode] | None = None


_JSON_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")


def json_unescape(text: str, start: int, end: int) -> tuple[str, list[int] | None]:
    """Decode the JSON string contents ``text[start:end]`` (RFC 8259 section 7 escapes).

    Returns ``(value, offsets)``: ``offsets[i]`` is the offset in ``text`` where decoded
    character ``i`` is written and ``offsets[len(value)] == end``, so a span of the value maps
    back to the raw bytes (``None`` when there is no escape: offsets are then ``start + i``).
    A surrogate pair ``\\uD83D\\uDE00`` decodes to one character.

    Raises:
        _JsonError: an invalid escape (with its offset).
    """
    if "\\" not in text[start:end]:
        return text[start:end], None
    out: list[str] = []
    offsets: list[int] = []
    i = start
    while i < end:
        c = text[i]
        if c != "\\":
            out.append(c)
            offsets.append(i)
            i += 1
            continue
        e = text[i + 1] if i + 1 < end else ""
        if e == "u" and _HEX4.fullmatch(text, i + 2, i + 6) and i + 6 <= end:
            cp = int(text[i + 2 : i + 6], 16)
            j = i + 6
            if 0xD800 <= cp < 0xDC00 and text.startswith("\\u", j) and _HEX4.fullmatch(text, j + 2, j + 6):
                low = int(text[j + 2 : j + 6], 16)
                if 0xDC00 <= low < 0xE000 and j + 6 <= end:
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00)
                    j += 6
            out.append(chr(cp))
        elif e in _JSON_SIMPLE_ESCAPES:
            out.append(_JSON_SIMPLE_ESCAPES[e])
            j = i + 2
        else:
            raise _JsonError(i, f"invalid JSON escape {text[i : i + 2]!r}")
        offsets.append(i)
        i = j
    offsets.append(end)
    return "".join(out), offsets


def _raw_span(start: int, offsets: list[int] | None, a: int, b: int) -> tuple[int, int]:
    """Map ``[a, b)`` of a decoded JSON string back to offsets in the text (see ``json_unescape``)."""
    if offsets is None:
        return start + a, start + b
    return offsets[a], offsets[b]


def _json_parse(text: str) -> _JNode:
    def ws(i: int) -> int:
        m = _JWS.match(text, i)
        return m.end() if m else i

    def value(i: int, depth: int) -> tuple[_JNode, int]:
        if depth > 200:
            raise _JsonError(i, "JSON nests too deeply")
        i = ws(i)
        if i >= len(text):
            raise _JsonError(i, "unexpected end of JSON")
        c = text[i]
        if c == "{":
            items: list[tuple[str, int, _JNode]] = []
            j = ws(i + 1)
            if text.startswith("}", j):
                return _JNode("obj", i, j + 1, items=items), j + 1
            while True:
                j = ws(j)
                m = _JSTR.match(text, j)
                if not m:
                    raise _JsonError(j, "expected a JSON object key")
                key, _ = json_unescape(text, j + 1, m.end() - 1)
                j = ws(m.end())
                if not text.startswith(":", j):
                    raise _JsonError(j, "expected ':'")
                node, j = value(j + 1, depth + 1)
                items.append((key, m.start(), node))
                j = ws(j)
                if text.startswith(",", j):
                    j += 1
                    continue
                if text.startswith("}", j):
                    return _JNode("obj", i, j + 1, items=items), j + 1
                raise _JsonError(j, "expected ',' or '}'")
        if c == "[":
            elems: list[_JNode] = []
            j = ws(i + 1)
            if text.startswith("]", j):
                return _JNode("arr", i, j + 1, elems=elems), j + 1
            while True:
                node, j = value(j, depth + 1)
                elems.append(node)
                j = ws(j)
                if text.startswith(",", j):
                    j += 1
                    continue
                if text.startswith("]", j):
                    return _JNode("arr", i, j + 1, elems=elems), j + 1
                raise _JsonError(j, "expected ',' or ']'")
        if c == '"':
            m = _JSTR.match(text, i)
            if not m:
                raise _JsonError(i, "unterminated JSON string")
            return _JNode("str", i + 1, m.end() - 1), m.end()
        m = _JLIT.match(text, i)
        if not m:
            raise _JsonError(i, f"unexpected character {c!r} in JSON")
        return _JNode("lit", i, m.end()), m.end()

    node, end = value(0, 0)
    end = ws(end)
    if end != len(text):
        raise _JsonError(end, "extra data after the JSON value")
    return node


def _jobjects(node: _JNode | None) -> Iterator[_JNode]:
    """An object, or each object of an array of objects (Terraform JSON allows both)."""
    if node is None:
        return
    if node.kind == "obj":
        yield node
    elif node.kind == "arr":
        for e in node.elems or []:
            if e.kind == "obj":
                yield e


def _jget(node: _JNode, key: str) -> _JNode | None:
    for k, _, v in node.items or []:
        if k == key:
            return v
    return None


def _json_references(path: str, text: str) -> list[Reference]:
    root = _json_parse(text)
    refs: list[Reference] = []

    def jstr(node: _JNode | None) -> tuple[str | None, tuple[int, int] | None]:
        """Decoded string value and the span of its raw contents."""
        if node is None or node.kind != "str":
            return None, None
        return json_unescape(text, node.start, node.end)[0], (node.start, node.end)

    for top in _jobjects(root):
        for mod_group in _jobjects(_jget(top, "module")):
            for name, _, body_node in mod_group.items or []:
                for body in _jobjects(body_node):
                    snode = _jget(body, "source")
                    if snode is None or snode.kind != "str":
                        continue
                    raw, offsets = json_unescape(text, snode.start, snode.end)
                    version, vspan = jstr(_jget(body, "version"))
                    src = parse_source(raw)
                    status, reason = _status_for(src)
                    line, col = line_col(text, snode.start - 1)
                    ref_span = None
                    if src.ref_span:
                        ref_span = _raw_span(snode.start, offsets, *src.ref_span)
                    refs.append(
                        Reference(
                            path, line, col, RefKindOfEntry.MODULE, name, src, version, status, reason, path,
                            ref_span, vspan,
                        )
                    )  # fmt: skip
        for tf in _jobjects(_jget(top, "terraform")):
            rv = _jget(tf, "required_version")
            value, vspan = jstr(rv)
            if rv is not None:
                line, col = line_col(text, rv.start - (1 if rv.kind == "str" else 0))
                refs.append(
                    Reference(
                        path, line, col, RefKindOfEntry.REQUIRED_VERSION, None, None, value,
                        "ok" if value is not None else "dynamic", None, path, None, vspan,
                    )
                )  # fmt: skip
            for rp in _jobjects(_jget(tf, "required_providers")):
                for pname, koff, pnode in rp.items or []:
                    psource = None
                    if pnode.kind == "str":
                        version, vspan = jstr(pnode)
                        pos = pnode.start - 1
                    else:
                        version, vspan = jstr(_jget(pnode, "version"))
                        snode = _jget(pnode, "source")
                        psource, _ = jstr(snode)
                        pos = vspan[0] - 1 if vspan else koff
                    if pnode.kind == "str" or snode is None:
                        psource = implied_provider_source(pname)
                    line, col = line_col(text, pos)
                    refs.append(
                        Reference(
                            path, line, col, RefKindOfEntry.PROVIDER, pname, None, version, "ok", None, path,
                            None, vspan, psource,
                        )
                    )  # fmt: skip
    return refs


# --------------------------------------------------------------------------- version files


def _version_file_refs(path: str, text: str) -> list[Reference]:
    """``.terraform-version`` (first non-comment line) and ``.tool-versions`` (``tool version...``)."""
    base = posixpath.basename(path)
    refs: list[Reference] = []
    offset = 0
    for i, line in enumerate(text.splitlines(keepends=True), 1):
        start = offset
        offset += len(line)
        content = line.split("#", 1)[0].rstrip("\r\n")
        fields = content.split()
        if base == ".terraform-version":
            if not fields:
                continue
            col = content.find(fields[0]) + 1
            value = content.strip()
            span = (start + col - 1, start + col - 1 + len(value))
            refs.append(
                Reference(path, i, col, RefKindOfEntry.TERRAFORM_VERSION_FILE, "terraform", None, value,
                          "ok", None, path, None, span)
            )  # fmt: skip
            break
        if len(fields) >= 2:
            col = content.find(fields[1], content.find(fields[0]) + len(fields[0])) + 1
            span = (start + col - 1, start + col - 1 + len(fields[1]))
            refs.append(
                Reference(path, i, col, RefKindOfEntry.TOOL_VERSIONS, fields[0], None, fields[1], "ok", None,
                          path, None, span)
            )  # fmt: skip
    return refs


# =========================================================================== scanning


def _scan_one(loader: _Loader, path: str) -> tuple[list[Reference], SourceParseError | None]:
    base = posixpath.basename(path)
    if base in _NAMES:
        data = loader.read(path)
        if data is None:
            return [], None
        try:
            return _version_file_refs(path, decode(path, data)), None
        except SourceParseError as exc:
            return [], exc
    if base.endswith((".tf.json", ".tofu.json")):
        data = loader.read(path)
        if data is None:
            return [], None
        try:
            text = decode(path, data)
            return _json_references(path, text), None
        except SourceParseError as exc:
            return [], exc
        except _JsonError as exc:
            line, col = line_col(text, exc.offset)
            return [], SourceParseError(path, line, col, exc.message)
    parsed = loader.get(path)
    if parsed is None:
        return [], None
    if parsed.error is not None:
        return [], parsed.error
    return _hcl_references(loader, parsed), None


Needle = bytes | tuple[bytes, ...] | None


def _wanted(data: bytes, path: str, needle: Needle) -> bool:
    """Raw-text filter: can this file hold a reference (to ``needle``, when given)?

    ``needle`` is lower-case bytes (or a tuple of them, all required) that every file writing a
    matching reference contains literally — unless the source is built by interpolation, so
    files with ``${``, ``local.`` or ``include.`` are kept too.
    """
    if posixpath.basename(path) in _NAMES:
        return needle is None
    if needle is None:
        return any(k in data for k in _KEYWORDS) and _KEYWORD_RE.search(data) is not None
    if b"source" not in data:
        return False
    if b"${" in data or b"local." in data or b"include." in data:
        return _KEYWORD_RE.search(data) is not None
    lower = data.lower()
    needles = (needle,) if isinstance(needle, bytes) else needle
    return all(n in lower for n in needles) and _KEYWORD_RE.search(data) is not None


def _parse_one(loader: _Loader, path: str, data: bytes) -> tuple[list[Reference], SourceParseError | None]:
    loader.pending[path] = data
    try:
        return _scan_one(loader, path)
    except (RecursionError, ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        # One unexpected input must never abort the rest of the tree.
        return [], SourceParseError(path, 1, 1, f"cannot analyse this file: {exc!r}")


def _scan_with(
    loader: _Loader, paths: Sequence[str], needle: Needle
) -> tuple[list[Reference], list[SourceParseError], int]:
    refs: list[Reference] = []
    errors: list[SourceParseError] = []
    scanned = 0
    for path in paths:
        data = loader.read(path)
        if data is None:
            continue
        scanned += 1
        if not _wanted(data, path, needle):
            continue
        found, err = _parse_one(loader, path, data)
        refs.extend(found)
        if err is not None:
            errors.append(err)
    return refs, errors, scanned


def scan_files(files: Mapping[str, bytes], *, needle: Needle = None) -> ScanResult:
    """Scan an in-memory tree ``{posix path: bytes}`` (e.g. a remote repo's files).

    Includes and ``read_terragrunt_config`` are resolved within ``files``. Non-candidate paths are
    ignored; a file that fails to parse yields one ``SourceParseError`` and the rest go on.
    ``needle`` (lower-case bytes, or a tuple of them all required; see ``_wanted``) restricts
    parsing to files that may reference it (used by bump and rollout planning).
    """
    loader = _Loader(files.get, files.__contains__)
    paths = sorted(p for p in files if is_candidate_path(p) and not _skipped(p))
    refs, errors, scanned = _scan_with(loader, paths, needle)
    return ScanResult(refs, errors, scanned)


def _skipped(path: str) -> bool:
    return any(part in SKIP_DIRS for part in path.split("/")[:-1])


# --------------------------------------------------------------------------- disk trees


def _read_disk(path: str) -> bytes | None:
    """File bytes (at most ``MAX_FILE_BYTES + 1``, so ``decode`` can flag huge files) or ``None``."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        want = min(st.st_size, MAX_FILE_BYTES) + 1
        data = os.read(fd, want)
        while len(data) < want:  # short read, or the file grew
            more = os.read(fd, want - len(data))
            if not more:
                break
            data += more
        return data
    except OSError:
        return None
    finally:
        os.close(fd)


def walk(paths: Sequence[Path | str], errors: list[SourceParseError] | None = None) -> list[str]:
    """Candidate files under ``paths`` (files or directories), sorted, as path strings.

    Skips ``.terraform/``, ``.terragrunt-cache/``, ``.git/`` (and ``.terragrunt-stack/``).
    Directory symlinks are followed once, after the real directories (loops are cut by
    device/inode), and a file reached by several paths of which one goes through a symlink is
    listed once, preferably by its path without symlinks — so it is scanned and bumped once.
    Missing paths are reported in ``errors`` as ``path:1:1`` errors.
    """
    out: list[str] = []
    via_link: set[str] = set()  # files whose path goes through a symlink
    seen: set[tuple[int, int]] = set()
    deferred: list[str] = []  # symlinked directories: walked after every real one

    def visit(top: str, linked: bool) -> None:
        stack = [top]
        while stack:
            d = stack.pop()
            try:
                st = os.stat(d)
            except OSError:
                continue
            key = (st.st_dev, st.st_ino)
            if key in seen:
                continue
            seen.add(key)
            try:
                entries = list(os.scandir(d))
            except OSError as exc:
                if errors is not None:
                    errors.append(SourceParseError(d, 1, 1, f"cannot read directory: {exc.strerror}"))
                continue
            subdirs = []
            for e in entries:
                try:
                    if e.is_dir():
                        if e.name in SKIP_DIRS:
                            continue
                        if e.is_symlink() and not linked:
                            deferred.append(e.path)
                        else:
                            subdirs.append(e.path)
                    elif is_candidate_path(e.name) and e.is_file():
                        path = os.path.normpath(e.path)
                        out.append(path)
                        if linked or e.is_symlink():
                            via_link.add(path)
                except OSError:
                    continue
            stack.extend(sorted(subdirs, reverse=True))

    for root in paths:
        root_s = os.fspath(root)
        if os.path.isfile(root_s):
            out.append(os.path.normpath(root_s))
            if os.path.islink(root_s):
                via_link.add(os.path.normpath(root_s))
            continue
        if not os.path.isdir(root_s):
            if errors is not None:
                errors.append(SourceParseError(root_s, 1, 1, "no such file or directory"))
            continue
        visit(root_s, False)
    deferred.sort()
    for d in deferred:
        visit(d, True)
    files = sorted(dict.fromkeys(out))
    return _dedupe_links(files, via_link) if via_link else files


def _dedupe_links(files: list[str], via_link: set[str]) -> list[str]:
    """Drop paths naming the same file (device/inode) as another when one of them goes through
    a symlink; keep the path without symlinks (or the first in sorted order)."""
    groups: dict[tuple[int, int], list[str]] = {}
    for path in files:
        try:
            st = os.stat(path)
        except OSError:
            continue
        groups.setdefault((st.st_dev, st.st_ino), []).append(path)
    drop: set[str] = set()
    for group in groups.values():
        if len(group) > 1 and any(p in via_link for p in group):
            keep = min(group, key=lambda p: (p in via_link, p))
            drop.update(p for p in group if p != keep)
    return [p for p in files if p not in drop]


def _disk_loader() -> _Loader:
    return _Loader(_read_disk, os.path.isfile, on_disk=True)


def _parse_chunk(items: list[tuple[str, bytes]]) -> tuple[list[Reference], list[tuple[str, int, int, str]]]:
    """Worker: parse pre-filtered ``(path, bytes)`` items (errors as tuples: they pickle)."""
    loader = _disk_loader()
    refs: list[Reference] = []
    errors: list[tuple[str, int, int, str]] = []
    for path, data in items:
        found, err = _parse_one(loader, path, data)
        refs.extend(found)
        if err is not None:
            errors.append((err.path, err.line, err.col, err.message))
    return refs, errors


# Parse in a process pool when at least this many files pass the raw-text filter.
PARALLEL_THRESHOLD = 300


def scan_paths(
    files: list[str],
    *,
    needle: Needle = None,
    progress: Callable[[int, int], None] | None = None,
) -> ScanResult:
    """Scan the given candidate files on disk.

    Every file is read and filtered by raw text here; the files that pass are parsed in this
    process, or in a process pool when there are at least ``PARALLEL_THRESHOLD`` of them.
    ``progress(done, total)`` is called as files are filtered and parsed (``total`` grows by
    the number of files to parse once filtering is done).
    """
    result = ScanResult()
    loader = _disk_loader()
    wanted: list[tuple[str, bytes]] = []
    total = len(files)
    for i, path in enumerate(files, 1):
        data = _read_disk(path)
        if data is not None:
            result.files_scanned += 1
            if _wanted(data, path, needle):
                wanted.append((path, data))
        if progress and (i % 500 == 0 or i == total):
            progress(i, total)
    total += len(wanted)
    done = len(files)
    nworkers = min(os.cpu_count() or 1, 8)
    if len(wanted) < PARALLEL_THRESHOLD or nworkers <= 1:
        for n, (path, data) in enumerate(wanted, 1):
            found, err = _parse_one(loader, path, data)
            result.references.extend(found)
            if err is not None:
                result.errors.append(err)
            if progress and (n % 200 == 0 or n == len(wanted)):
                progress(done + n, total)
        return result
    size = max(25, min(500, len(wanted) // (nworkers * 4) or 1))
    chunks = [wanted[i : i + size] for i in range(0, len(wanted), size)]
    import concurrent.futures  # only large trees need the pool (its import costs ~15 ms)

    parts: dict[int, tuple[list[Reference], list[tuple[str, int, int, str]]]] = {}
    with concurrent.futures.ProcessPoolExecutor(max_workers=nworkers) as pool:
        futs = {pool.submit(_parse_chunk, c): i for i, c in enumerate(chunks)}
        for fut in concurrent.futures.as_completed(futs):
            idx = futs[fut]
            parts[idx] = fut.result()
            done += len(chunks[idx])
            if progress:
                progress(done, total)
    for idx in range(len(chunks)):
        chunk_refs, chunk_errors = parts[idx]
        result.references.extend(chunk_refs)
        result.errors.extend(SourceParseError(*e) for e in chunk_errors)
    return result


def scan_tree(
    paths: Sequence[Path | str],
    *,
    progress: Callable[[int, int], None] | None = None,
    needle: Needle = None,
) -> ScanResult:
    """Walk ``paths`` and scan every candidate file (see ``walk`` and ``scan_paths``).

    Include paths are resolved on disk relative to each file. ``progress(done, total)``, when
    given, is called as chunks of files complete (the CLI shows a rich progress bar on a TTY).
    ``needle`` is as for ``scan_files``. Missing paths and unreadable directories come first in
    ``errors`` (see ``walk``).
    """
    walk_errors: list[SourceParseError] = []
    files = walk(paths, walk_errors)
    result = scan_paths(files, needle=needle, progress=progress)
    result.errors[:0] = walk_errors
    return result
