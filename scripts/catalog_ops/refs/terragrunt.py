"""Terragrunt (and same-file ``locals``) evaluation of the expressions that build source addresses.

Sources built by interpolation are resolved through same-file ``locals``, ``include`` blocks (paths
given by ``find_in_parent_folders``, ``dirname``, ``get_terragrunt_dir``,
``get_parent_terragrunt_dir`` and string templates over them) and ``read_terragrunt_config``
(Terragrunt docs, "Built-in functions" and "include"). A value keeps, for every piece of its
text, the file and offset it was written at, so the part that carries a ref can be edited where
it is written (``Reference.written_in`` / ``ref_span``). Anything else is ``Dynamic`` with a reason.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable, Collection

from catalog_ops.core.edits import line_col
from catalog_ops.errors import SourceParseError
from catalog_ops.hcl.body import Attr, Block, parse, split_args
from catalog_ops.hcl.lexer import HclSyntaxError, Tok, lex
from catalog_ops.hcl.text import decode

# Blocks the evaluator reads in every Terragrunt/Terraform file.
EVALUATED_BLOCKS = frozenset({"locals", "include"})
# An interpolation that is only a traversal ``a.b.c`` (blanks around it): the lexer's identifiers
# (``hcl.lexer._IDENT``) joined by ``.`` without blanks, as ``_eval`` reads them.
_TRAVERSAL_PATTERN = (
    r"[ \t\r\f\ufeff]*+(?P<names>(?:[^\W\d]|_)[\w-]*+(?:\.(?:[^\W\d]|_)[\w-]*+)*+)[ \t\r\f\ufeff]*+"
)
_TRAVERSAL_RE: re.Pattern[str] | None = None  # compiled on first use (see ``_traversal_re``)


def _traversal_re() -> re.Pattern[str]:
    """``_TRAVERSAL_RE``, compiled once, when a template is first evaluated (not at import)."""
    global _TRAVERSAL_RE
    if _TRAVERSAL_RE is None:
        _TRAVERSAL_RE = re.compile(_TRAVERSAL_PATTERN)
    return _TRAVERSAL_RE


class StrValue:
    """A string value as pieces ``(text, origin_file | None, origin_offset)``.

    Compared (``==``) field by field. Not a dataclass: ``dataclasses`` is not imported on the
    ``refs`` path (start-up cost; tests/commands/test_startup.py guards it).
    """

    def __init__(self, pieces: list[tuple[str, str | None, int]], dynamic_reason: str | None = None) -> None:
        self.pieces = pieces
        self.dynamic_reason = dynamic_reason

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StrValue):
            return NotImplemented
        return (self.pieces, self.dynamic_reason) == (other.pieces, other.dynamic_reason)

    @property
    def value(self) -> str:
        """The whole string."""
        pieces = self.pieces
        return pieces[0][0] if len(pieces) == 1 else "".join([p[0] for p in pieces])


class Dynamic:
    """A value that is not resolved statically, and why.

    Compared (``==``) by ``reason``. Not a dataclass: ``dataclasses`` is not imported on the
    ``refs`` path (start-up cost; tests/commands/test_startup.py guards it).
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __eq__(self, other: object) -> bool:
        return self.reason == other.reason if isinstance(other, Dynamic) else NotImplemented


class ConfigRef:
    """A Terragrunt config object (an include or ``read_terragrunt_config``), by tree path.

    Compared (``==``) by ``path``. Not a dataclass: ``dataclasses`` is not imported on the
    ``refs`` path (start-up cost; tests/commands/test_startup.py guards it).
    """

    def __init__(self, path: str) -> None:
        self.path = path

    def __eq__(self, other: object) -> bool:
        return self.path == other.path if isinstance(other, ConfigRef) else NotImplemented


Value = StrValue | Dynamic | ConfigRef


class ParsedFile:
    """A parsed HCL file: its text, root body (``None`` on error), ``locals`` and ``include`` paths.

    ``locals``/``includes`` default to new empty ones. Compared (``==``) field by field.
    Not a dataclass: ``dataclasses`` is not imported on the ``refs`` path (start-up cost;
    tests/commands/test_startup.py guards it).
    """

    def __init__(
        self,
        path: str,
        text: str,
        root: Block | None,
        error: SourceParseError | None,
        locals: dict[str, Attr] | None = None,
        includes: dict[str, Attr] | None = None,
    ) -> None:
        self.path = path
        self.text = text
        self.root = root
        self.error = error
        self.locals: dict[str, Attr] = {} if locals is None else locals
        self.includes: dict[str, Attr] = {} if includes is None else includes

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ParsedFile):
            return NotImplemented
        return (self.path, self.text, self.root, self.error, self.locals, self.includes) == (
            other.path,
            other.text,
            other.root,
            other.error,
            other.locals,
            other.includes,
        )


class Loader:
    """Reads and parses files on demand (cached); ``read(path)`` returns bytes or ``None``.

    Args:
        read: ``path -> bytes | None`` (a tree's ``dict.get``, or the bounded disk reader).
        exists: ``path -> bool`` for ``find_in_parent_folders``.
        on_disk: paths are real file system paths (else posix paths of an in-memory tree).
        skim: block types whose bodies matter (see ``parse_hcl_file``); ``None`` reads all.
    """

    def __init__(
        self,
        read: Callable[[str], bytes | None],
        exists: Callable[[str], bool],
        *,
        on_disk: bool = False,
        skim: Collection[str] | None = None,
    ) -> None:
        self.on_disk = on_disk
        self.skim = skim
        self._read = read
        self.exists = exists
        self.cache: dict[str, ParsedFile | None] = {}
        self.pending: dict[str, bytes] = {}
        self._found: dict[str, bool] = {}
        # ``Evaluator.find_in_parent_folders`` steps: (directory, name, absolute-paths style,
        # levels left) -> what the search from that directory up finds (an absolute path or None).
        self.searches: dict[tuple[str, str, bool, int], str | None] = {}

    def file_exists(self, path: str) -> bool:
        """``exists(path)``, asked once per path (sibling configs search the same parent folders)."""
        found = self._found.get(path)
        if found is None:
            found = self._found[path] = self.exists(path)
        return found

    def read(self, path: str) -> bytes | None:
        """Bytes of ``path`` (those handed over in ``pending`` first), or ``None``."""
        data = self.pending.pop(path, None)
        return data if data is not None else self._read(path)

    def get(self, path: str) -> ParsedFile | None:
        """``path`` parsed (``None`` when unreadable or while it is being parsed: cycles).

        Terragrunt files (``*.hcl``) are kept: includes and ``read_terragrunt_config`` read
        them again and again. Other files (``*.tf``, ``*.tofu``) are read by their own scan only,
        so they are not kept (a scan would hold every parsed file); should an include name one,
        it is parsed again, to the same result.
        """
        if path in self.cache:
            return self.cache[path]
        self.cache[path] = None  # cycle guard
        data = self.read(path)
        parsed = None if data is None else parse_hcl_file(path, data, self.skim)
        if path.endswith(".hcl"):
            self.cache[path] = parsed
        else:
            del self.cache[path]
        return parsed


_READ_TYPES: dict[object, frozenset[str]] = {}


def _read_types(skim: Collection[str]) -> frozenset[str]:
    """``EVALUATED_BLOCKS | skim``, computed once per (hashable) ``skim``."""
    try:
        return _READ_TYPES[skim]
    except KeyError:
        types = _READ_TYPES[skim] = EVALUATED_BLOCKS.union(skim)
        return types
    except TypeError:  # a set: not hashable
        return EVALUATED_BLOCKS.union(skim)


def parse_hcl_file(path: str, data: bytes, skim: Collection[str] | None = None) -> ParsedFile:
    """Decode and parse an HCL file; errors are kept in ``ParsedFile.error`` (never raised).

    ``skim``: block types whose bodies are read (see ``hcl.lex``); ``locals`` and ``include``
    are always read (the evaluator needs them). The other top-level blocks are then left out of
    ``root.blocks`` altogether (``hcl.parse(drop=True)``): nothing here reads them.
    """
    try:
        text = decode(path, data)
    except SourceParseError as exc:
        return ParsedFile(path, "", None, exc)
    try:
        root = parse(text, skim=None if skim is None else _read_types(skim), drop=True)
    except HclSyntaxError as exc:
        line, col = line_col(text, exc.offset)
        return ParsedFile(path, text, None, SourceParseError(path, line, col, exc.message))
    except RecursionError:
        return ParsedFile(path, text, None, SourceParseError(path, 1, 1, "templates nest too deeply"))
    parsed = ParsedFile(path, text, root, None)
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


class Evaluator:
    """Evaluates the small subset of HCL/Terragrunt expressions that build source addresses.

    One evaluator per Terragrunt config (``config_path``, the child whose ``find_in_parent_folders``
    and ``get_terragrunt_dir`` are meant); other files are read through ``loader``. Evaluation never
    raises: what cannot be resolved is a ``Dynamic`` value with its reason.
    """

    def __init__(self, loader: Loader, config_path: str) -> None:
        self.loader = loader
        self.config_path = config_path  # the Terragrunt config being evaluated (the child)
        self.depth = 0
        self.memo: dict[tuple[str, int], Value | None] = {}  # None: being evaluated (cycle guard)

    def attr_value(self, f: ParsedFile, attr: Attr) -> Value:
        """Evaluate a local's expression once per evaluator (memoised; cycles become dynamic)."""
        key = (f.path, attr.tok.start)
        if key in self.memo:
            return self.memo[key] or Dynamic(f"local {attr.name!r} in {f.path} refers to itself (cycle)")
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

    def resolve_file(self, f: ParsedFile, value: str) -> str:
        """A path value from ``f`` (absolute, or relative to ``f``'s directory) in tree style."""
        if value.startswith("/"):
            return self.tree_path(_norm(value))
        return _norm(posixpath.join(_dirname(f.path), value))

    def find_in_parent_folders(self, name: str) -> str | None:
        """Terragrunt's search: from the config's parent directory upwards (at most 100 levels).

        Returns the absolute path of the first ``name`` found, or ``None``. Sibling configs walk
        the same directories: each step's outcome is kept in ``loader.searches`` (keyed by
        everything it depends on: the directory, ``name``, the levels left and whether paths are
        given to ``exists`` absolute), so a later search stops at the first step already taken.
        """
        searches = self.loader.searches
        absolute_style = os.path.isabs(self.config_path)
        cur = posixpath.dirname(self.absolute(self.config_path))
        taken: list[tuple[str, str, bool, int]] = []
        found: str | None = None
        for left in range(100, 0, -1):
            key = (cur, name, absolute_style, left)
            if key in searches:
                found = searches[key]
                break
            taken.append(key)
            parent = posixpath.dirname(cur)
            if parent == cur:
                break
            cand = _norm(posixpath.join(parent, name))
            if self.loader.file_exists(self.tree_path(cand)):
                found = cand
                break
            cur = parent
        for key in taken:
            searches[key] = found
        return found

    def include_path(self, f: ParsedFile, label: str) -> str | Dynamic:
        """Tree path of ``f``'s ``include "label"`` block's ``path`` (``""``: the unlabelled one)."""
        attr = f.includes.get(label)
        if attr is None:
            return Dynamic(f"no include {label!r} in {f.path}")
        val = self.eval(f, attr.expr)
        if isinstance(val, StrValue) and val.dynamic_reason is None:
            return self.resolve_file(f, val.value)
        if isinstance(val, Dynamic):
            return Dynamic(f"cannot resolve the path of include {label!r}: {val.reason}")
        return Dynamic(f"cannot resolve the path of include {label!r}")

    # -- evaluation
    def eval(self, f: ParsedFile, toks: list[Tok]) -> Value:
        """Value of the expression ``toks`` written in ``f`` (nesting limited to 40 levels)."""
        if len(toks) == 1 and self.depth < 40:
            # Fast path for the commonest source: one quoted string without templates (none or
            # one literal part) is what ``_eval`` -> ``_template`` returns for it, in one step.
            tok = toks[0]
            parts = tok.parts
            if tok.kind == "string" and parts is not None:
                if not parts:
                    return StrValue([])
                if len(parts) == 1:
                    kind, s, e = parts[0]
                    if kind == "lit":
                        return StrValue([(f.text[s:e], f.path, s)])
        self.depth += 1
        try:
            if self.depth > 40:
                return Dynamic("references nest too deeply (an include or local cycle?)")
            return self._eval(f, toks)
        finally:
            self.depth -= 1

    def _eval(self, f: ParsedFile, toks: list[Tok]) -> Value:
        toks = [t for t in toks if t.kind != "nl"]
        if not toks:
            return Dynamic("empty expression")
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
        return Dynamic(f"expression {snippet(f.text, toks)!r} is not a literal")

    def _template(self, f: ParsedFile, tok: Tok) -> Value:
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
            val: Value
            if kind == "directive":
                val = Dynamic("template directive %{...}")
            elif (
                self.depth < 40
                and (trav := (_TRAVERSAL_RE or _traversal_re()).fullmatch(f.text, inner_s, inner_e))
                is not None
            ):
                # ``${local.x}`` / ``${include.root.locals.x}``: the names ``lex`` + ``eval`` would
                # find (identifiers joined by ``.``), without lexing; ``eval``'s depth is kept.
                self.depth += 1
                try:
                    val = self._traverse(f, trav["names"].split("."))
                finally:
                    self.depth -= 1
            else:
                try:
                    inner = lex(f.text, inner_s, inner_e)
                except HclSyntaxError as exc:
                    val = Dynamic(exc.message)
                else:
                    val = self.eval(f, inner[:-1])
            if isinstance(val, StrValue):
                pieces.extend(val.pieces)
                reason = reason or val.dynamic_reason
                if len(pieces) > 4096 or sum(len(p[0]) for p in pieces) > 65536:
                    return Dynamic("interpolated value is too long")
            else:
                pieces.append((f.text[s - 2 : e + 1], None, s - 2))
                reason = reason or (val.reason if isinstance(val, Dynamic) else "config object in template")
        return StrValue(pieces, reason)

    def _traverse(self, f: ParsedFile, names: list[str]) -> Value:
        if names[0] == "local" and len(names) >= 2:
            attr = f.locals.get(names[1])
            if attr is None:
                return Dynamic(f"local.{names[1]} is not defined in {f.path}")
            val = self.attr_value(f, attr)
            return self._rest(val, names[2:], ".".join(names))
        if names[0] == "include" and len(names) >= 3:
            if names[1] == "locals" and "" in f.includes:
                label, rest = "", names[1:]
            else:
                label, rest = names[1], names[2:]
            path = self.include_path(f, label)
            if isinstance(path, Dynamic):
                return path
            return self._rest(ConfigRef(path), rest, ".".join(names))
        return Dynamic(f"{'.'.join(names)} cannot be resolved statically")

    def _rest(self, val: Value, rest: list[str], what: str) -> Value:
        if not rest:
            return val
        if isinstance(val, ConfigRef) and len(rest) >= 2 and rest[0] == "locals":
            target = self.loader.get(val.path)
            if target is None or target.root is None:
                return Dynamic(f"{what}: cannot read {val.path}")
            attr = target.locals.get(rest[1])
            if attr is None:
                return Dynamic(f"{what}: local {rest[1]!r} is not defined in {val.path}")
            return self._rest(self.attr_value(target, attr), rest[2:], what)
        return Dynamic(f"{what} cannot be resolved statically")

    def _call(self, f: ParsedFile, name: str, arg_toks: list[Tok]) -> Value:
        args = split_args(arg_toks)
        vals = [self.eval(f, a) for a in args]
        strs = [v.value if isinstance(v, StrValue) and v.dynamic_reason is None else None for v in vals]
        if name == "get_terragrunt_dir" and not args:
            return StrValue([(posixpath.dirname(self.absolute(self.config_path)), None, 0)])
        if name == "get_parent_terragrunt_dir" and not args:
            return StrValue([(posixpath.dirname(self.absolute(f.path)), None, 0)])
        if name == "find_in_parent_folders" and len(args) <= 2:
            target = strs[0] if args else "terragrunt.hcl"
            if target is None:
                return Dynamic("find_in_parent_folders argument is not a literal")
            found = self.find_in_parent_folders(target)
            if found is None and not args:
                found = self.find_in_parent_folders("root.hcl")
            if found is None:
                return Dynamic(f"find_in_parent_folders({target!r}) found nothing")
            return StrValue([(found, None, 0)])
        if name in ("dirname", "basename") and len(args) == 1 and strs[0] is not None:
            fn = _dirname if name == "dirname" else posixpath.basename
            return StrValue([(fn(strs[0]), None, 0)])
        if name == "read_terragrunt_config" and args and strs[0] is not None:
            return ConfigRef(self.resolve_file(f, strs[0]))
        return Dynamic(f"function {name}() is not resolved statically")


def snippet(text: str, toks: list[Tok]) -> str:
    """The source text of ``toks`` (at most 60 characters), for messages and dynamic sources."""
    s = text[toks[0].start : toks[-1].end]
    return s if len(s) <= 60 else s[:57] + "..."
