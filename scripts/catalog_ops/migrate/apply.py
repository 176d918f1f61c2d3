"""Applying migration patches to a consumer's files, byte-exactly.

``apply_migrations(files, migrations, is_target=...)`` finds the consumer's uses of the module
(``refs.scan_files``: ``module`` blocks in ``.tf`` and ``.tf.json``, Terragrunt units'
``terraform { source }``, stack ``unit``/``stack`` blocks), then runs each patch's steps in
order. Every step computes ``core.edits.Edit`` spans over the current text with the one HCL
reader (``hcl.parse``/``hcl.lex``, ``hcl.parse_json``) and applies them with
``core.edits.apply_edits``: comments, formatting and unrelated bytes stay as written.

Each step ends in one ``StepOutcome`` per use: ``applied``, ``unchanged`` (already done, or
nothing to do there: applying twice changes nothing) or ``skipped`` with the reason and
``path:line`` (a place the step cannot edit safely: an input set through a dynamic
expression, a name that already exists, a source composed elsewhere). Any ``skipped`` makes
``MigrationResult.needs_hands`` true: the rollout then labels the PR instead of pretending
the migration is complete. Rules per file form: docs/migrations.md.
"""

from __future__ import annotations

import functools
import json
import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from catalog_ops.core.edits import Edit, apply_edits, line_col
from catalog_ops.errors import EditConflict, SourceParseError
from catalog_ops.hcl import Block, HclSyntaxError, JNode, JsonSyntaxError, Tok, lex, parse, parse_json
from catalog_ops.hcl.text import decode
from catalog_ops.migrate.model import MAX_TARGETS, Migration, Step, StepKind
from catalog_ops.refs import Reference, RefKindOfEntry, scan_files
from catalog_ops.refs.terragrunt import Evaluator, Loader

APPLIED = "applied"
UNCHANGED = "unchanged"
SKIPPED = "skipped"

_JSON_SUFFIXES = (".tf.json", ".tofu.json")
_TF_SUFFIXES = (".tf", ".tofu")
_JSTR = re.compile(r'"(?:[^"\\\x00-\x1f]|\\.)*"', re.S)


@dataclass(frozen=True)
class StepOutcome:
    """What one step did at one use of the module.

    Attributes:
        patch: the patch file (catalog path). step: 1-based index of the step in it.
        description: ``Step.describe()``. path/line: where (file of the dependent, 1-based line).
        status: ``applied`` | ``unchanged`` | ``skipped``. reason: why, for the last two.
    """

    patch: str
    step: int
    description: str
    path: str
    line: int
    status: str
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "patch": self.patch,
            "step": self.step,
            "description": self.description,
            "path": self.path,
            "line": self.line,
            "status": self.status,
            "reason": self.reason,
        }


@dataclass
class MigrationResult:
    """``changed``: new bytes of every file whose bytes changed; ``outcomes`` in application
    order; ``errors``: files that could not be read (``path:line:col: message``)."""

    changed: dict[str, bytes] = field(default_factory=dict)
    outcomes: list[StepOutcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def needs_hands(self) -> bool:
        """Some step could not be applied somewhere (or a file could not be read)."""
        return bool(self.errors) or any(o.status == SKIPPED for o in self.outcomes)


class _Skip(Exception):
    """A step cannot be applied at this place: ``offset`` (in the file's text) and the reason."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.offset = offset
        self.reason = reason


@dataclass(frozen=True)
class _Target:
    """One use of the module: ``form`` hcl | json | terragrunt | stack; ``name`` the block label;
    ``written_in`` the file holding its source (an included file for some Terragrunt units)."""

    form: str
    path: str
    name: str | None
    written_in: str = ""


# ---------------------------------------------------------------------------------------------
# text helpers


def _nl(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


def _line_end(text: str, offset: int) -> int:
    """Offset one past the newline ending the line of ``offset`` (or the end of the text)."""
    i = text.find("\n", offset)
    return len(text) if i < 0 else i + 1


def _indent(text: str, offset: int) -> str:
    start = _line_start(text, offset)
    return text[start:offset] if not text[start:offset].strip() else ""


def _rest_is_blank(text: str, offset: int) -> bool:
    """Only blanks or a line comment between ``offset`` and the end of its line."""
    rest = text[offset : _line_end(text, offset)].strip()
    return not rest or rest.startswith(("#", "//"))


_ASSIGN = re.compile(r'([ \t]*)([A-Za-z_][A-Za-z0-9_-]*|"[^"\n]*")([ \t]*)=(?![=>])')


def _line_at(text: str, start: int) -> tuple[int, int]:
    """``[start, end)`` of the line starting at ``start`` (without its newline)."""
    end = text.find("\n", start)
    return start, len(text) if end < 0 else end


def realign(text: str, offset: int) -> list[Edit]:
    """Edits that align the ``=`` of the run of attribute lines around ``offset`` the way
    ``terraform fmt`` does (hclwrite: consecutive lines assigning at the same indentation, one
    space after the longest name); a blank line, a comment line or any other line ends the run.
    Only the blanks between a name and its ``=`` change; nothing when already aligned."""
    first = _line_start(text, offset)
    m = _ASSIGN.match(text, first)
    if m is None:
        return []
    indent = m.group(1)
    lines: list[re.Match[str]] = [m]
    pos = first
    while pos > 0:  # upwards
        prev = _line_start(text, pos - 1)
        pm = _ASSIGN.match(text, prev)
        if pm is None or pm.group(1) != indent or pm.end() > _line_at(text, prev)[1]:
            break
        lines.insert(0, pm)
        pos = prev
    pos = _line_end(text, first)
    while pos < len(text):  # downwards
        nm = _ASSIGN.match(text, pos)
        if nm is None or nm.group(1) != indent or nm.end() > _line_at(text, pos)[1]:
            break
        lines.append(nm)
        pos = _line_end(text, pos)
    width = max(len(x.group(2)) for x in lines)
    edits = []
    for x in lines:
        pad = " " * (width - len(x.group(2)) + 1)
        if x.group(3) != pad:
            edits.append(Edit(x.start(3), x.end(3), x.group(3), pad))
    return edits


def hcl_literal(value: Any) -> str:
    """``value`` (a YAML literal) as an HCL literal expression: strings JSON-quoted with ``${``
    and ``%{`` escaped (HCL templates), lists ``[...]``, maps ``{ "k" = v }``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("${", "$${").replace("%{", "%%{")
    if isinstance(value, list):
        return "[" + ", ".join(hcl_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{json.dumps(k)} = {hcl_literal(v)}" for k, v in value.items()) + " }"
    return "null"


def json_literal(step: Step) -> str:
    """The added input's value as Terraform JSON: a literal as JSON, an expression as a
    ``"${...}"`` template string (Terraform "JSON Configuration Syntax", expression mapping)."""
    if step.expression is not None:
        return json.dumps("${" + step.expression + "}")
    return json.dumps(step.value, ensure_ascii=False)


# ---------------------------------------------------------------------------------------------
# HCL containers: a module block's attributes, a Terragrunt `inputs = { ... }` object


@dataclass
class _Item:
    key: str
    kstart: int  # the key token (with quotes when quoted)
    kend: int
    quoted: bool
    sep: int  # offset of '=' or ':'
    vend: int  # end of the value's last token


@dataclass
class _Container:
    items: list[_Item]
    open: int  # offset of '{'
    close: int  # offset of '}'


def _block_container(text: str, block: Block) -> _Container:
    items = []
    for attr in sorted(block.attrs.values(), key=lambda a: a.tok.start):
        eq = text.index("=", attr.tok.end)  # the '=' between the name and the expression
        items.append(_Item(attr.name, attr.tok.start, attr.tok.end, False, eq, attr.expr[-1].end))
    return _Container(items, block.open, block.close)


def _object_container(text: str, toks: list[Tok], where: int) -> _Container:
    """Items of an object constructor ``{ k = v ... }`` (raises _Skip when it is not one, or an
    item is not ``name = value``)."""
    if not toks or toks[0].text != "{" or toks[-1].text != "}":
        raise _Skip(where, "inputs is not an object literal (set through an expression)")
    items: list[_Item] = []
    i = 1
    end = len(toks) - 1
    while i < end:
        t = toks[i]
        if t.kind == "nl" or t.text == ",":
            i += 1
            continue
        if t.kind not in ("ident", "string") or i + 1 >= end or toks[i + 1].text not in ("=", ":"):
            raise _Skip(t.start, "inputs has an item that is not 'name = value' (set through an expression)")
        if t.kind == "string" and any(p[0] != "lit" for p in t.parts or []):
            raise _Skip(t.start, "inputs has a key built by a template")
        key = t.text if t.kind == "ident" else text[t.start + 1 : t.end - 1]
        j = i + 2
        depth = 0
        last = toks[i + 1]
        while j < end:
            u = toks[j]
            if u.kind == "punct" and u.text in "{[(":
                depth += 1
            elif u.kind == "punct" and u.text in "}])":
                depth -= 1
            elif depth == 0 and (u.kind == "nl" or u.text == ","):
                break
            if u.kind != "nl":
                last = u
            j += 1
        items.append(_Item(key, t.start, t.end, t.kind == "string", toks[i + 1].start, last.end))
        i = j
    return _Container(items, toks[0].start, toks[-1].start)


def _find(c: _Container, key: str) -> _Item | None:
    return next((it for it in c.items if it.key == key), None)


def _rename_item(text: str, c: _Container, old: str, new: str) -> list[Edit] | None:
    """Edits renaming ``old`` to ``new`` (keeping the ``=`` column when there is room);
    None when nothing is to do. Raises _Skip on a conflict."""
    it = _find(c, old)
    other = _find(c, new)
    if it is None:
        return None
    if other is not None:
        raise _Skip(other.kstart, f"{new!r} is already set here (and {old!r} too): merge them by hand")
    key = f'"{new}"' if it.quoted else new
    return [Edit(it.kstart, it.kend, text[it.kstart : it.kend], key)]


def _remove_item(text: str, c: _Container, name: str) -> list[Edit] | None:
    it = _find(c, name)
    if it is None:
        return None
    start = _line_start(text, it.kstart)
    if text[start : it.kstart].strip() or not _rest_is_blank(text, it.vend) or it.vend > c.close:
        raise _Skip(it.kstart, f"{name!r} shares its line with other code")
    end = _line_end(text, it.vend)
    if end > c.close:
        raise _Skip(it.kstart, f"{name!r} shares its line with the closing brace")
    return [Edit(start, end, text[start:end], "")]


def _add_item(text: str, c: _Container, name: str, value: str) -> list[Edit] | None:
    if _find(c, name) is not None:
        return None
    close_line = _line_start(text, c.close)
    if text[close_line : c.close].strip() or _line_start(text, c.open) == close_line:
        raise _Skip(c.close, "the block is written on one line")
    indent = _indent(text, c.items[0].kstart) if c.items else text[close_line : c.close] + "  "
    return [Edit(close_line, close_line, "", f"{indent}{name} = {value}{_nl(text)}")]


# ---------------------------------------------------------------------------------------------
# finding things


@functools.lru_cache(maxsize=32)
def _parsed(text: str, skim: tuple[str, ...] | None) -> Block:
    """``hcl.parse`` (reading only the bodies of the ``skim`` block types), memoised: every step
    at every use re-reads the file it edits, mostly unchanged."""
    return parse(text, skim=skim)


def _module_block(text: str, name: str | None) -> Block | None:
    root = _parsed(text, ("module",))
    return next((b for b in root.blocks if b.type == "module" and b.labels == [name]), None)


def _unit_block(text: str, name: str | None) -> Block | None:
    root = _parsed(text, ("unit", "stack"))
    return next((b for b in root.blocks if b.type in ("unit", "stack") and b.labels == [name]), None)


def _json_module(text: str, name: str | None) -> JNode | None:
    root = parse_json(text)
    for key, _, val in root.items or []:
        if key != "module":
            continue
        for obj in [val] if val.kind == "obj" else (val.elems or []):
            for k, _, v in obj.items or []:
                if k == name and v.kind == "obj":
                    return v
    return None


def _jend(node: JNode) -> int:
    """Offset one past a JSON value (``JNode`` spans of strings exclude the quotes)."""
    return node.end + 1 if node.kind == "str" else node.end


def _string_lit(text: str, tok: Tok) -> list[tuple[int, int]]:
    return [(a, b) for kind, a, b in (tok.parts or []) if kind == "lit"]


def _subdir_edit(
    text: str, spans: list[tuple[int, int]], old: str, new: str, where: int
) -> list[Edit] | None:
    """Edit ``//old`` (followed by ``?`` or the end of the literal) in the literal spans."""
    pat = re.compile("//" + re.escape(old) + r"(?=\?|$)")
    newpat = re.compile("//" + re.escape(new) + r"(?=\?|$)")
    for a, b in spans:
        seg = text[a:b]
        m = pat.search(seg)
        if m:
            return [Edit(a + m.start() + 2, a + m.end(), old, new)]
    for a, b in spans:
        if newpat.search(text[a:b]):
            return None
    raise _Skip(where, f"the source does not name //{old} literally here")


def _walk_tokens(text: str, toks: list[Tok]) -> list[Tok]:
    """Tokens of a file including those inside string template interpolations (not newlines)."""
    out: list[Tok] = []
    for t in toks:
        if t.kind == "string" and t.parts:
            for kind, a, b in t.parts:
                if kind in ("interp", "directive"):
                    out.extend(_walk_tokens(text, lex(text, a, b)))
        elif t.kind == "heredoc":
            for m in re.finditer(r"\$\{([^}]*)\}", text[t.start : t.end]):
                a = t.start + m.start(1)
                try:
                    out.extend(_walk_tokens(text, lex(text, a, a + len(m.group(1)))))
                except HclSyntaxError:
                    continue
        elif t.kind not in ("nl", "eof"):
            out.append(t)
    return out


def _traversals(text: str, head: Sequence[str], old: str) -> list[Tok]:
    """The ``old`` tokens of every traversal ``head[0].head[1]...[index].old`` in ``text``."""
    toks = _walk_tokens(text, lex(text))
    hits: list[Tok] = []
    n = len(toks)
    for i, t in enumerate(toks):
        if t.kind != "ident" or t.text != head[0] or (i > 0 and toks[i - 1].text == "."):
            continue
        j = i + 1
        ok = True
        for part in head[1:]:
            if j + 1 < n and toks[j].text == "." and toks[j + 1].kind == "ident" and toks[j + 1].text == part:
                j += 2
            else:
                ok = False
                break
        if not ok:
            continue
        if j < n and toks[j].text == "[":
            depth = 0
            while j < n:
                if toks[j].text == "[":
                    depth += 1
                elif toks[j].text == "]":
                    depth -= 1
                    if depth == 0:
                        j += 1
                        break
                j += 1
        if j + 1 < n and toks[j].text == "." and toks[j + 1].kind == "ident" and toks[j + 1].text == old:
            hits.append(toks[j + 1])
    return hits


def _json_strings(node: JNode) -> list[JNode]:
    out: list[JNode] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if n.kind == "str":
            out.append(n)
        for _, _, v in n.items or []:
            stack.append(v)
        stack.extend(n.elems or [])
    return out


# ---------------------------------------------------------------------------------------------
# the engine


class _Engine:
    def __init__(self, files: Mapping[str, bytes]) -> None:
        self.files = files
        self.texts: dict[str, str] = {}
        self.errors: list[str] = []
        self.target_paths: set[str] = set()  # files holding a use of the current migration's module

    def text(self, path: str) -> str | None:
        if path not in self.texts:
            data = self.files.get(path)
            if data is None:
                return None
            try:
                self.texts[path] = decode(path, data)
            except SourceParseError as exc:
                self.errors.append(str(exc))
                return None
        return self.texts[path]

    def edit(self, path: str, edits: list[Edit]) -> None:
        text = self.texts[path]
        self.texts[path] = apply_edits(text, edits)

    def dir_files(self, path: str, suffixes: tuple[str, ...]) -> list[str]:
        d = posixpath.dirname(path)
        return sorted(p for p in self.files if posixpath.dirname(p) == d and p.endswith(suffixes))

    # each returns (status, edits-applied-count) via outcomes; raise _Skip for a skip
    def step(self, step: Step, target: _Target) -> list[tuple[str, int, str, str | None]]:
        """Apply ``step`` at ``target``; returns ``(path, offset, status, reason)`` rows."""
        text = self.text(target.path)
        if text is None:
            return []
        kind = step.kind
        if kind in (StepKind.RENAME_INPUT, StepKind.REMOVE_INPUT, StepKind.ADD_INPUT):
            return [self.input_step(step, target, text)]
        if kind is StepKind.CHANGE_SOURCE_SUBDIR:
            return [self.source_step(step, target, text)]
        if kind is StepKind.RENAME_OUTPUT:
            return self.output_step(step, target)
        return [self.moved_step(step, target, text)]

    def input_step(self, step: Step, target: _Target, text: str) -> tuple[str, int, str, str | None]:
        path = target.path
        if target.form == "stack":
            raise _Skip(0, "a stack unit's inputs are set in the unit it deploys (values), not here")
        if target.form == "json":
            return self.json_input_step(step, target, text)
        if target.form == "hcl":
            block = _module_block(text, target.name)
            if block is None:
                raise _Skip(0, f"module {target.name!r} not found")
            where = block.tok.start
            container = _block_container(text, block)
        else:
            root = _parsed(text, None)
            attr = root.attrs.get("inputs")
            if attr is None:
                if step.kind is StepKind.ADD_INPUT:
                    raise _Skip(0, "the unit has no inputs = { ... } to add to")
                return (path, 0, UNCHANGED, "the unit sets no inputs")
            where = attr.tok.start
            container = _object_container(text, [t for t in attr.expr], attr.tok.start)
        if step.kind is StepKind.RENAME_INPUT:
            assert step.old and step.new
            edits = _rename_item(text, container, step.old, step.new)
            if edits is None:
                reason = (
                    f"already {step.new}" if _find(container, step.new) else f"input {step.old} is not set"
                )
                return (path, where, UNCHANGED, reason)
        elif step.kind is StepKind.REMOVE_INPUT:
            assert step.old
            edits = _remove_item(text, container, step.old)
            if edits is None:
                return (path, where, UNCHANGED, f"input {step.old} is not set")
        else:
            assert step.new
            value = step.expression if step.expression is not None else hcl_literal(step.value)
            edits = _add_item(text, container, step.new, value)
            if edits is None:
                return (path, where, UNCHANGED, f"input {step.new} is already set")
        at = edits[0].start
        self.edit(path, edits)
        line = line_col(self.texts[path], at)[0]
        self.align(path, at)
        # alignment moves offsets within lines, never lines: report the line's start
        new = self.texts[path]
        start = 0
        for _ in range(line - 1):
            start = new.index("\n", start) + 1
        return (path, start, APPLIED, None)

    def align(self, path: str, at: int) -> None:
        """``terraform fmt``'s ``=`` alignment for the attribute run at ``at`` (and, after a
        removal, the run just above it)."""
        text = self.texts[path]
        edits = set(realign(text, at))
        if at > 0:
            edits |= set(realign(text, _line_start(text, at - 1)))
        if edits:
            self.edit(path, list(edits))

    def json_input_step(self, step: Step, target: _Target, text: str) -> tuple[str, int, str, str | None]:
        path = target.path
        obj = _json_module(text, target.name)
        if obj is None:
            raise _Skip(0, f"module {target.name!r} not found")
        items = obj.items or []
        keys = {k: (off, v) for k, off, v in reversed(items)}
        where = obj.start
        if step.kind is StepKind.RENAME_INPUT:
            assert step.old and step.new
            if step.old not in keys:
                reason = f"already {step.new}" if step.new in keys else f"input {step.old} is not set"
                return (path, where, UNCHANGED, reason)
            if step.new in keys:
                raise _Skip(keys[step.new][0], f"{step.new!r} is already set here (and {step.old!r} too)")
            off = keys[step.old][0]
            m = _JSTR.match(text, off)
            assert m
            self.edit(path, [Edit(off + 1, m.end() - 1, text[off + 1 : m.end() - 1], step.new)])
            return (path, off, APPLIED, None)
        if step.kind is StepKind.REMOVE_INPUT:
            assert step.old
            if step.old not in keys:
                return (path, where, UNCHANGED, f"input {step.old} is not set")
            idx = next(i for i, (k, _, _) in enumerate(items) if k == step.old)
            off, val = items[idx][1], items[idx][2]
            if idx + 1 < len(items):
                start, end = off, items[idx + 1][1]
            elif idx > 0:
                start, end = _jend(items[idx - 1][2]), _jend(val)
            else:
                start, end = off, _jend(val)
            self.edit(path, [Edit(start, end, text[start:end], "")])
            return (path, off, APPLIED, None)
        assert step.new
        if step.new in keys:
            return (path, where, UNCHANGED, f"input {step.new} is already set")
        value = json_literal(step)
        if not items:
            raise _Skip(obj.start, "the module object is empty")
        last_off, last_val = items[-1][1], items[-1][2]
        prev_end = _jend(items[-2][2]) if len(items) > 1 else obj.start + 1
        gap = text[prev_end:last_off]
        ws = gap.lstrip(",")
        ws = ws if not ws.strip() else " "
        new = f",{ws}{json.dumps(step.new)}: {value}"
        at = _jend(last_val)
        self.edit(path, [Edit(at, at, "", new)])
        return (path, at, APPLIED, None)

    def source_step(self, step: Step, target: _Target, text: str) -> tuple[str, int, str, str | None]:
        assert step.old and step.new
        path = target.path
        if target.form == "json":
            obj = _json_module(text, target.name)
            src = next((v for k, _, v in (obj.items or []) if k == "source"), None) if obj else None
            if src is None or src.kind != "str":
                raise _Skip(obj.start if obj else 0, "the module's source is not a string")
            if "\\" in text[src.start : src.end]:
                raise _Skip(src.start, "the source is written with JSON escapes")
            edits = _subdir_edit(text, [(src.start, src.end)], step.old, step.new, src.start)
            where = src.start
        else:
            if target.form == "hcl":
                block = _module_block(text, target.name)
            elif target.form == "stack":
                block = _unit_block(text, target.name)
            else:
                block = next(
                    (
                        b
                        for b in _parsed(text, ("terraform",)).blocks
                        if b.type == "terraform" and "source" in b.attrs
                    ),
                    None,
                )
            if block is None or "source" not in block.attrs:
                if target.written_in in self.target_paths and target.written_in != path:
                    return (path, 0, UNCHANGED, f"the source is set in {target.written_in} (edited there)")
                raise _Skip(0, "the source is not set in this file (an included file sets it)")
            attr = block.attrs["source"]
            toks = [t for t in attr.expr if t.kind != "nl"]
            where = attr.tok.start
            if len(toks) != 1 or toks[0].kind != "string":
                raise _Skip(where, "the source is an expression, not one string")
            edits = _subdir_edit(text, _string_lit(text, toks[0]), step.old, step.new, where)
        if edits is None:
            return (path, where, UNCHANGED, f"source already names //{step.new}")
        self.edit(path, edits)
        return (path, edits[0].start, APPLIED, None)

    def output_step(self, step: Step, target: _Target) -> list[tuple[str, int, str, str | None]]:
        assert step.old and step.new
        rows: list[tuple[str, int, str, str | None]] = []
        if target.form == "stack":
            raise _Skip(0, "outputs of a stack unit are read by other units: rename them by hand")
        if target.form == "terragrunt":
            unit_dir = posixpath.dirname(target.path)
            for p in sorted(self.files):
                if posixpath.basename(p) != "terragrunt.hcl" or p == target.path:
                    continue
                text = self.text(p)
                if text is None or "dependency" not in text:
                    continue
                for b in _parsed(text, ("dependency",)).blocks:
                    if b.type != "dependency" or len(b.labels) != 1 or "config_path" not in b.attrs:
                        continue
                    toks = [t for t in b.attrs["config_path"].expr if t.kind != "nl"]
                    if (
                        len(toks) != 1
                        or toks[0].kind != "string"
                        or any(k != "lit" for k, _, _ in toks[0].parts or [])
                    ):
                        continue
                    rel = text[toks[0].start + 1 : toks[0].end - 1]
                    if posixpath.normpath(posixpath.join(posixpath.dirname(p), rel)) != unit_dir:
                        continue
                    rows.extend(self.rename_traversals(p, ["dependency", b.labels[0], "outputs"], step))
            return rows or [(target.path, 0, UNCHANGED, "no other unit reads its outputs")]
        name = target.name or ""
        for p in self.dir_files(target.path, _TF_SUFFIXES):
            rows.extend(self.rename_traversals(p, ["module", name], step))
        for p in self.dir_files(target.path, _JSON_SUFFIXES):
            text = self.text(p)
            if text is None:
                continue
            pat = re.compile(
                r"\bmodule\." + re.escape(name) + r"((?:\[[^\]]*\])?)\." + re.escape(step.old) + r"(?![\w-])"
            )
            edits = []
            for s in _json_strings(parse_json(text)):
                raw = text[s.start : s.end]
                if "${" not in raw:
                    continue
                for m in pat.finditer(raw):
                    a = s.start + m.end() - len(step.old)
                    edits.append(Edit(a, a + len(step.old), step.old, step.new))
            if edits:
                self.edit(p, edits)
                rows.append((p, edits[0].start, APPLIED, None))
        return rows or [(target.path, 0, UNCHANGED, f"module.{name}.{step.old} is not used")]

    def rename_traversals(
        self, path: str, head: list[str], step: Step
    ) -> list[tuple[str, int, str, str | None]]:
        assert step.old and step.new
        text = self.text(path)
        if text is None:
            return []
        hits = _traversals(text, head, step.old)
        if not hits:
            return []
        self.edit(path, [Edit(t.start, t.end, step.old, step.new) for t in hits])
        return [(path, hits[0].start, APPLIED, None)]

    def moved_step(self, step: Step, target: _Target, text: str) -> tuple[str, int, str, str | None]:
        assert step.old and step.new
        path = target.path
        if target.form in ("terragrunt", "stack"):
            raise _Skip(0, "a Terragrunt unit holds no Terraform code to add a moved block to")
        name = target.name or ""
        frm, to = f"module.{name}.{step.old}", f"module.{name}.{step.new}"
        norm = lambda s: "".join(s.split())  # noqa: E731
        for p in self.dir_files(path, _TF_SUFFIXES):
            other = self.text(p)
            if other is None or "moved" not in other:
                continue
            for b in _parsed(other, ("moved",)).blocks:
                if b.type != "moved" or "from" not in b.attrs or "to" not in b.attrs:
                    continue
                fa, ta = b.attrs["from"].expr, b.attrs["to"].expr
                f_text = norm(other[fa[0].start : fa[-1].end])
                t_text = norm(other[ta[0].start : ta[-1].end])
                if f_text == frm:
                    if t_text == to:
                        return (path, 0, UNCHANGED, f"moved {frm} -> {to} is already declared in {p}")
                    raise _Skip(b.tok.start if p == path else 0, f"{p} already moves {frm} to {t_text}")
        nl = _nl(text)
        if target.form == "json":
            root = parse_json(text)
            items = root.items or []
            moved = next((v for k, _, v in items if k == "moved"), None)
            entry = json.dumps({"from": frm, "to": to})
            if moved is not None:
                for obj in [moved] if moved.kind == "obj" else (moved.elems or []):
                    got = {k: text[v.start : v.end] for k, _, v in obj.items or [] if v.kind == "str"}
                    if got.get("from") == frm:
                        if got.get("to") == to:
                            return (path, obj.start, UNCHANGED, f"moved {frm} -> {to} is already declared")
                        raise _Skip(obj.start, f"{path} already moves {frm} elsewhere")
                if moved.kind != "arr" or not moved.elems:
                    raise _Skip(moved.start, "'moved' is not a list of objects")
                at = _jend(moved.elems[-1])
                self.edit(path, [Edit(at, at, "", f", {entry}")])
                return (path, at, APPLIED, None)
            if not items:
                raise _Skip(root.start, "the file's object is empty")
            last_off, last_val = items[-1][1], items[-1][2]
            prev_end = _jend(items[-2][2]) if len(items) > 1 else root.start + 1
            ws = text[prev_end:last_off].lstrip(",")
            ws = ws if not ws.strip() else " "
            at = _jend(last_val)
            self.edit(path, [Edit(at, at, "", f',{ws}"moved": [{entry}]')])
            return (path, at, APPLIED, None)
        block = _module_block(text, target.name)
        if block is None:
            raise _Skip(0, f"module {target.name!r} not found")
        at = _line_end(text, block.close)
        lead = "" if text[:at].endswith("\n") else nl
        new = f"{lead}{nl}moved {{{nl}  from = {frm}{nl}  to   = {to}{nl}}}{nl}"
        self.edit(path, [Edit(at, at, "", new)])
        return (path, at, APPLIED, None)


def _targets(
    references: Sequence[Reference], mig: Migration, is_target: Callable[[Migration, Reference], bool]
) -> list[_Target]:
    out: list[_Target] = []
    for ref in references:
        if ref.source is None or not is_target(mig, ref):
            continue
        if ref.entry is RefKindOfEntry.MODULE:
            form = "json" if ref.path.endswith(_JSON_SUFFIXES) else "hcl"
        elif ref.entry is RefKindOfEntry.TERRAGRUNT:
            form = "terragrunt"
        elif ref.entry in (RefKindOfEntry.STACK_UNIT, RefKindOfEntry.STACK):
            form = "stack"
        else:
            continue
        t = _Target(form, ref.path, ref.name, ref.written_in)
        if t not in out:
            out.append(t)
    return out


def _including_units(files: Mapping[str, bytes], targets: Sequence[_Target]) -> list[_Target]:
    """Terragrunt units (``terragrunt.hcl``) that ``include`` a configuration file holding a use
    of the module (the ``_envcommon`` pattern: the included file has ``terraform { source }``,
    the unit its ``inputs``): they are uses too, their source written in the included file."""
    shared = {
        t.path for t in targets if t.form == "terragrunt" and posixpath.basename(t.path) != "terragrunt.hcl"
    }
    if not shared:
        return []
    loader = Loader(files.get, lambda p: p in files)
    out: list[_Target] = []
    for unit in sorted(files):
        if posixpath.basename(unit) != "terragrunt.hcl" or any(t.path == unit for t in targets):
            continue
        parsed = loader.get(unit)
        if parsed is None or parsed.root is None:
            continue
        ev = Evaluator(loader, unit)
        for label in parsed.includes:
            inc = ev.include_path(parsed, label)
            if isinstance(inc, str) and inc in shared:
                out.append(_Target("terragrunt", unit, None, inc))
                break
    return out


def apply_migrations(
    files: Mapping[str, bytes],
    migrations: Sequence[Migration],
    *,
    is_target: Callable[[Migration, Reference], bool],
) -> MigrationResult:
    """Apply ``migrations`` (in the given order) to the consumer ``files`` (path -> bytes).

    Args:
        files: the dependent's candidate files (``.tf``, ``.tf.json``, ``terragrunt.hcl``, ...);
            edits never touch any other file.
        migrations: patches in application order (``migrate.model.for_update``).
        is_target: ``is_target(migration, reference)``: is this reference (found by one
            ``refs.scan_files`` of ``files`` before any step) a use of the module the migration
            applies to (e.g. the references an update moves across the patch's release)?

    Returns:
        ``MigrationResult``: only files whose bytes change are in ``changed``; a second call on
        ``changed`` applied over ``files`` changes nothing.
    """
    engine = _Engine(files)
    scan = scan_files(files)
    engine.errors.extend(str(e) for e in scan.errors)
    outcomes: list[StepOutcome] = []
    for mig in migrations:
        targets = _targets(scan.references, mig, is_target)
        targets += _including_units(files, targets)
        engine.target_paths = {t.path for t in targets}
        if len(targets) > MAX_TARGETS:
            for t in targets[MAX_TARGETS:]:
                outcomes.append(
                    StepOutcome(mig.path, 0, "migration", t.path, 1, SKIPPED, f"more than {MAX_TARGETS} uses")
                )
            targets = targets[:MAX_TARGETS]
        for index, step in enumerate(mig.steps, 1):
            for target in targets:
                try:
                    rows = engine.step(step, target)
                except _Skip as skip:
                    text = engine.texts.get(target.path, "")
                    line = line_col(text, skip.offset)[0] if text else 1
                    outcomes.append(
                        StepOutcome(mig.path, index, step.describe(), target.path, line, SKIPPED, skip.reason)
                    )
                    continue
                except (HclSyntaxError, JsonSyntaxError, EditConflict) as exc:
                    text = engine.texts.get(target.path, "")
                    off = getattr(exc, "offset", 0)
                    line = line_col(text, off)[0] if text else 1
                    outcomes.append(
                        StepOutcome(
                            mig.path,
                            index,
                            step.describe(),
                            target.path,
                            line,
                            SKIPPED,
                            f"cannot edit: {exc}",
                        )
                    )
                    continue
                for path, offset, status, reason in rows:
                    line = line_col(engine.texts.get(path, ""), offset)[0]
                    outcomes.append(StepOutcome(mig.path, index, step.describe(), path, line, status, reason))
    changed: dict[str, bytes] = {}
    for path, text in engine.texts.items():
        data = text.encode("utf-8")
        if data != files.get(path):
            changed[path] = data
    return MigrationResult(changed=changed, outcomes=outcomes, errors=engine.errors)
