"""Reading migration patches: one YAML file (``parse_migration``), a catalog tree on disk
(``load_tree``) or a catalog's git history at a tag (``load_at``).

Every error names ``path:line:col`` (``core.yamlnodes``); a bad file never stops the others
(``load_*`` return the errors beside the patches). The schema and its limits:
docs/migrations.md; the limits are ``migrate.model``'s ``MAX_*``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from catalog_ops.core.versions import parse_constraint, parse_version
from catalog_ops.core.yamlnodes import compose_document, where
from catalog_ops.errors import ConfigError, UsageError
from catalog_ops.hcl import HclSyntaxError, grammar, parse
from catalog_ops.migrate.model import (
    ADDRESS,
    IDENT,
    MAX_FILE_BYTES,
    MAX_FILES,
    MAX_FILES_PER_MODULE,
    MAX_STEPS,
    MAX_TEXT,
    META_ARGUMENTS,
    MIGRATIONS_DIR,
    SCHEMA,
    SUBDIR,
    Migration,
    Step,
    StepKind,
)

_TOP_KEYS = ("schema", "release", "applies_to", "description", "steps")
# Keys of each step kind: required, optional.
_STEP_KEYS: dict[StepKind, tuple[tuple[str, ...], tuple[str, ...]]] = {
    StepKind.RENAME_INPUT: (("from", "to"), ()),
    StepKind.REMOVE_INPUT: (("name",), ()),
    StepKind.ADD_INPUT: (("name",), ("value", "expression")),
    StepKind.CHANGE_SOURCE_SUBDIR: (("from", "to"), ()),
    StepKind.RENAME_OUTPUT: (("from", "to"), ()),
    StepKind.ADD_MOVED: (("from", "to"), ()),
}


def migration_path_module(path: str) -> str | None:
    """The catalog module a patch file belongs to: ``modules/vpc/migrations/x.yml`` ->
    ``modules/vpc`` (``migrations/x.yml`` -> ``.``, the root module); None for other paths."""
    parts = path.split("/")
    if len(parts) < 2 or parts[-2] != MIGRATIONS_DIR or not parts[-1].endswith((".yml", ".yaml")):
        return None
    return "/".join(parts[:-2]) or "."


def _scalar(node: yaml.Node, path: str, key: str) -> str:
    if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
        raise ConfigError(f"{where(path, node)}: key {key!r}: must be a string")
    return str(node.value)


def _constructed(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def _check_ident(value: str, node: yaml.Node, path: str, key: str, *, input_name: bool = False) -> str:
    if not IDENT.fullmatch(value):
        raise ConfigError(f"{where(path, node)}: key {key!r}: {value!r} is not a Terraform identifier")
    if input_name and value in META_ARGUMENTS:
        raise ConfigError(
            f"{where(path, node)}: key {key!r}: {value!r} is a module meta-argument, not an input"
        )
    return value


def _literal_ok(value: Any, depth: int = 0) -> bool:
    if depth > 8:
        return False
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list):
        return all(_literal_ok(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _literal_ok(v, depth + 1) for k, v in value.items())
    return False


def check_expression(text: str) -> str | None:
    """Why ``text`` is not one single-line HCL expression (None when it is)."""
    if "\n" in text or "\r" in text:
        return "must be one line"
    try:
        body = parse(f"x = {text}\n")
    except HclSyntaxError as exc:
        return f"not an HCL expression ({exc.message})"
    if list(body.attrs) != ["x"] or body.blocks:
        return "not one HCL expression"
    why = grammar.one_expression_problem(text)
    if why:
        return why
    depth = 0
    for t in body.attrs["x"].expr:
        if t.kind == "punct" and t.text in "{[(":
            depth += 1
        elif t.kind == "punct" and t.text in "}])":
            depth -= 1
        elif depth == 0 and t.kind == "punct" and t.text == "=":
            return "not one HCL expression (an '=' outside brackets)"
    return None


def _attempt(errors: list[str], check: Any, *args: Any, **kwargs: Any) -> Any:
    """``check(*args, **kwargs)``, or None with its ``ConfigError`` appended to ``errors``."""
    try:
        return check(*args, **kwargs)
    except ConfigError as exc:
        errors.append(str(exc))
        return None


def _step(node: yaml.Node, path: str, errors: list[str]) -> Step | None:
    """One step; each problem is appended to ``errors`` (``path:line:col: problem``); None when
    it has any."""
    if not isinstance(node, yaml.MappingNode):
        errors.append(f"{where(path, node)}: a step must be a mapping with 'kind'")
        return None
    before = len(errors)
    fields: dict[str, yaml.Node] = {}
    for k, v in node.value:
        name = _attempt(errors, _scalar, k, path, "step")
        if name is None:
            continue
        if name in fields:
            errors.append(f"{where(path, k)}: duplicate key {name!r}")
            continue
        fields[name] = v
    if "kind" not in fields:
        errors.append(f"{where(path, node)}: step: missing key 'kind'")
        return None
    kind_text = _attempt(errors, _scalar, fields["kind"], path, "kind")
    if kind_text is None:
        return None
    try:
        kind = StepKind(kind_text)
    except ValueError:
        kinds = ", ".join(k.value for k in StepKind)
        errors.append(
            f"{where(path, fields['kind'])}: key 'kind': must be one of {kinds} (got {kind_text!r})"
        )
        return None
    required, optional = _STEP_KEYS[kind]
    for name, v in fields.items():
        if name != "kind" and name not in required and name not in optional:
            errors.append(f"{where(path, v)}: {kind}: unknown key {name!r}")
    missing = [name for name in required if name not in fields]
    for name in missing:
        errors.append(f"{where(path, node)}: {kind}: missing key {name!r}")
    if missing:
        return None
    line = node.start_mark.line + 1
    if kind is StepKind.ADD_INPUT:
        name = _attempt(errors, _scalar, fields["name"], path, "name")
        if name is not None:
            _attempt(errors, _check_ident, name, fields["name"], path, "name", input_name=True)
        if ("value" in fields) == ("expression" in fields):
            errors.append(f"{where(path, node)}: add_input: give exactly one of 'value' or 'expression'")
            return None
        if "expression" in fields:
            text = _attempt(errors, _scalar, fields["expression"], path, "expression")
            expr = text.strip() if text is not None else ""
            why = check_expression(expr) if len(expr) <= MAX_TEXT else f"longer than {MAX_TEXT} characters"
            if text is not None and why:
                errors.append(f"{where(path, fields['expression'])}: key 'expression': {why}")
            if len(errors) > before:
                return None
            return Step(kind=kind, new=name, expression=expr, line=line)
        value = _constructed(fields["value"])
        if not _literal_ok(value) or value is None or len(repr(value)) > MAX_TEXT:
            errors.append(
                f"{where(path, fields['value'])}: key 'value': must be a string, number, bool, list or map "
                f"(at most {MAX_TEXT} characters)"
            )
        if len(errors) > before:
            return None
        return Step(kind=kind, new=name, value=value, line=line)
    if kind is StepKind.REMOVE_INPUT:
        name = _attempt(errors, _scalar, fields["name"], path, "name")
        if name is not None:
            _attempt(errors, _check_ident, name, fields["name"], path, "name", input_name=True)
        if len(errors) > before:
            return None
        return Step(kind=kind, old=name, line=line)
    old = _attempt(errors, _scalar, fields["from"], path, "from")
    new = _attempt(errors, _scalar, fields["to"], path, "to")
    for key, value in (("from", old), ("to", new)):
        if value is None:
            continue
        at = where(path, fields[key])
        if kind is StepKind.CHANGE_SOURCE_SUBDIR:
            if not SUBDIR.fullmatch(value) or ".." in value.split("/") or len(value) > MAX_TEXT:
                errors.append(f"{at}: key {key!r}: {value!r} is not a module subdirectory")
        elif kind is StepKind.ADD_MOVED:
            if not ADDRESS.fullmatch(value) or len(value) > MAX_TEXT:
                errors.append(f"{at}: key {key!r}: {value!r} is not a resource address (aws_vpc.this)")
        else:
            is_input = kind is StepKind.RENAME_INPUT
            _attempt(errors, _check_ident, value, fields[key], path, key, input_name=is_input)
    if len(errors) > before:
        return None
    if old == new:
        errors.append(f"{where(path, node)}: {kind}: 'from' and 'to' are the same")
        return None
    return Step(kind=kind, old=old, new=new, line=line)


def parse_migration(data: bytes | str, path: str, *, module: str | None = None) -> Migration:
    """Parse one patch file.

    Args:
        data: the file's contents (at most ``MAX_FILE_BYTES``).
        path: its path in the catalog (``modules/vpc/migrations/rename-cidr.yml``); names the
            module unless ``module`` is given.

    Raises:
        ConfigError: ``path:line:col: problem`` for anything outside the schema (docs/migrations.md):
            every problem of the file (top-level keys and each step), one per line of the
            message, in file order; a file too large, not YAML, not a mapping or of another
            ``schema`` stops at that one error.
    """
    size = len(data.encode() if isinstance(data, str) else data)
    if size > MAX_FILE_BYTES:
        raise ConfigError(f"{path}:1:1: patch file is larger than {MAX_FILE_BYTES} bytes")
    owner = module or migration_path_module(path)
    if owner is None:
        raise ConfigError(f"{path}:1:1: not a patch file (expected <module>/{MIGRATIONS_DIR}/<name>.yml)")
    root = compose_document(data, path)
    if not isinstance(root, yaml.MappingNode):
        at = where(path, root) if root is not None else f"{path}:1:1"
        raise ConfigError(f"{at}: a patch file must be a mapping with 'schema' and 'steps'")
    errors: list[str] = []
    fields: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for k, v in root.value:
        name = _attempt(errors, _scalar, k, path, "key")
        if name is None:
            continue
        if name not in _TOP_KEYS:
            errors.append(f"{where(path, k)}: unknown key {name!r} (known: {', '.join(_TOP_KEYS)})")
        elif name in fields:
            errors.append(f"{where(path, k)}: duplicate key {name!r}")
        else:
            fields[name] = (k, v)
    if "schema" not in fields:
        errors.append(f"{path}:1:1: missing key 'schema' (this version reads schema {SCHEMA})")
    else:
        schema_node = fields["schema"][1]
        if _attempt(errors, _scalar, schema_node, path, "schema") not in (str(SCHEMA), None):
            # Another schema's keys cannot be judged by this one: that is the only error.
            raise ConfigError(
                f"{where(path, schema_node)}: key 'schema': this version of catalog-ops reads schema {SCHEMA} "
                f"(got {schema_node.value!r})"
            )
    release = None
    applies_to = None
    if ("release" in fields) == ("applies_to" in fields):
        errors.append(f"{path}:1:1: give exactly one of 'release' or 'applies_to'")
    elif "release" in fields:
        node = fields["release"][1]
        text = _attempt(errors, _scalar, node, path, "release")
        if text is not None:
            release = parse_version(text)
            if release is None or release.prefix not in ("", "v"):
                errors.append(f"{where(path, node)}: key 'release': not a semantic version like 3.0.0")
    else:
        node = fields["applies_to"][1]
        applies_to = _attempt(errors, _scalar, node, path, "applies_to")
        if applies_to is not None:
            try:
                parse_constraint(applies_to)
            except UsageError as exc:
                errors.append(f"{where(path, node)}: key 'applies_to': {exc}")
    description = ""
    if "description" in fields:
        node = fields["description"][1]
        text = _attempt(errors, _scalar, node, path, "description")
        description = " ".join((text or "").split())
        if len(description) > MAX_TEXT:
            errors.append(f"{where(path, node)}: key 'description': longer than {MAX_TEXT} characters")
    steps: list[Step] = []
    if "steps" not in fields:
        errors.append(f"{path}:1:1: missing key 'steps'")
    else:
        steps_node = fields["steps"][1]
        if not isinstance(steps_node, yaml.SequenceNode) or not steps_node.value:
            errors.append(f"{where(path, steps_node)}: key 'steps': must be a non-empty list")
        elif len(steps_node.value) > MAX_STEPS:
            errors.append(f"{where(path, steps_node)}: key 'steps': more than {MAX_STEPS} steps")
        else:
            for s in steps_node.value:
                step = _step(s, path, errors)
                if step is not None:
                    steps.append(step)
    if errors:
        raise ConfigError("\n".join(sorted(errors, key=_position)))
    base = posixpath.basename(path)
    name = base.rsplit(".", 1)[0]
    return Migration(
        module=owner,
        name=name,
        path=path,
        release=release,
        applies_to=applies_to,
        description=description,
        steps=tuple(steps),
    )


def _position(error: str) -> tuple[int, int]:
    """``(line, col)`` of a ``path:line:col: problem`` line, for file order."""
    parts = error.split(":", 3)
    try:
        return (int(parts[1]), int(parts[2]))
    except (IndexError, ValueError):
        return (0, 0)


def load_files(files: Mapping[str, bytes]) -> tuple[list[Migration], list[str]]:
    """Parse every patch file among ``files`` (catalog path -> bytes; other paths ignored).

    Returns:
        ``(migrations, errors)``: patches sorted by module then name; one ``path:line:col:
        problem`` line per problem, every problem of each bad file (the others are still read). More than ``MAX_FILES`` patch
        files, or ``MAX_FILES_PER_MODULE`` for one module, is an error and the rest are not read.
    """
    paths = sorted(p for p in files if migration_path_module(p) is not None)
    errors: list[str] = []
    if len(paths) > MAX_FILES:
        errors.append(
            f"{paths[MAX_FILES]}:1:1: more than {MAX_FILES} patch files in the catalog; the rest are not read"
        )
        paths = paths[:MAX_FILES]
    per_module: dict[str, int] = {}
    out: list[Migration] = []
    for p in paths:
        module = migration_path_module(p)
        assert module is not None
        per_module[module] = per_module.get(module, 0) + 1
        if per_module[module] > MAX_FILES_PER_MODULE:
            errors.append(f"{p}:1:1: more than {MAX_FILES_PER_MODULE} patch files for {module}; not read")
            continue
        try:
            out.append(parse_migration(files[p], p))
        except ConfigError as exc:
            errors.extend(str(exc).splitlines())
    return sorted(out, key=lambda m: (m.module, m.name)), errors


def patch_paths(paths: Iterable[str]) -> list[str]:
    """The patch files among catalog paths (``<module>/migrations/*.yml``)."""
    return sorted(p for p in paths if migration_path_module(p) is not None)


def load_tree(root: Path) -> tuple[list[Migration], list[str]]:
    """``load_files`` over the patch files under ``root`` (a catalog checkout; hidden dirs skipped).

    A file larger than ``MAX_FILE_BYTES`` is reported without being read whole.
    """
    files: dict[str, bytes] = {}
    for p in sorted(root.rglob(f"{MIGRATIONS_DIR}/*")):
        rel = p.relative_to(root).as_posix()
        if any(part.startswith(".") for part in rel.split("/")) or not p.is_file():
            continue
        if migration_path_module(rel) is None:
            continue
        with p.open("rb") as fh:
            files[rel] = fh.read(MAX_FILE_BYTES + 1)
    return load_files(files)


def load_at(git_dir: Path, rev: str) -> tuple[list[Migration], list[str]]:
    """``load_files`` over the patch files of a catalog clone at ``rev`` (a tag): the patches as
    released (history is git). Raises ``gitutil.GitError`` when git fails."""
    from catalog_ops import gitutil

    files: dict[str, bytes] = {}
    for p in patch_paths(gitutil.list_tree(git_dir, rev))[: MAX_FILES + 1]:
        data = gitutil.read_blob(git_dir, rev, p)
        if data is not None:
            files[p] = data
    return load_files(files)
