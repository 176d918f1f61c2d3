"""The one Jinja2 environment and the one override mechanism for every bundled template.

Every Markdown/text artifact catalog-ops writes from a template (rollout PR title, body and
superseded comment, sweep PR body, dashboard issue, release notes, check report) is rendered by
``environment()``. Its rules are the same for every template:

- Markdown, not HTML: no autoescape (it would print ``&#34;`` for every quote); every untrusted
  string (anything the product did not write: commit subjects, PR titles, file/module names,
  dependents' config, tool messages, copied release notes) goes through one of the neutralising
  filters of ``render.markdown`` instead: ``untrusted`` (multi-line), ``md`` (one line of prose),
  ``md_cell`` (table cell), ``md_plain`` (inside a template's code span in a cell), ``code`` /
  ``code_cell`` (a whole code span). Each breaks HTML comment delimiters, catalog-ops markers
  and @-mentions (docs/security.md).
- ``StrictUndefined``: an undefined variable is an error, never an empty string.
- ``trim_blocks`` and ``lstrip_blocks`` (a block tag on its own line leaves no blank line and no
  indentation); ``keep_trailing_newline``. Write ``{%+ ... +%}`` to keep the whitespace around
  one tag (Jinja2 docs, "Whitespace Control").

Overrides: a template is looked up, by its bundled name (``pr_body.md.j2``, ...), first in
``Overrides.files`` (one file for one template: ``release --template FILE``,
``check report --template FILE``), then in ``Overrides.directory`` (``rollout apply
--template-dir DIR``: any bundled name found there wins), then in the bundled
``catalog_ops/templates``. Every CLI override flag builds an ``Overrides`` and nothing else.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jinja2

from catalog_ops.core.edits import utf8_error_position
from catalog_ops.errors import UsageError
from catalog_ops.render.markdown import code, code_cell, md_cell, md_plain, md_quote, md_text, untrusted

BUNDLED_DIR = Path(__file__).resolve().parents[1] / "templates"
"""Where the bundled templates live (installed as package data)."""

# Bundled template names (the override key of each).
PR_TITLE = "pr_title.j2"
PR_BODY = "pr_body.md.j2"
SUPERSEDED_COMMENT = "superseded_comment.md.j2"
COMMANDS_COMMENT = "commands_comment.md.j2"
SWEEP_PR = "sweep_pr.md.j2"
DASHBOARD = "dashboard.md.j2"
RELEASE_NOTES = "release_notes.md.j2"
CHECK_REPORT = "check_report.md.j2"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Overrides:
    """User templates that replace bundled ones.

    Attributes:
        files: bundled template name -> the user's file rendered instead (a file that cannot be
            read raises ``OSError`` from ``environment().get_template(name)``).
        directory: a directory whose files replace the bundled templates of the same name;
            bundled names not found there fall back to the bundled templates.
        directory_flag: the CLI flag that named ``directory`` (used in the error message).
    """

    files: Mapping[str, Path] = dataclasses.field(default_factory=dict)
    directory: Path | None = None
    directory_flag: str = "--template-dir"

    @classmethod
    def file(cls, name: str, path: Path | str | None) -> Overrides:
        """Override one bundled template ``name`` with ``path`` (no override when None)."""
        return cls(files={name: Path(path)}) if path is not None else cls()

    @classmethod
    def dir(cls, path: Path | str | None, *, flag: str = "--template-dir") -> Overrides:
        """Override bundled templates by name from directory ``path`` (no override when None)."""
        return cls(directory=Path(path), directory_flag=flag) if path is not None else cls()


class _FileLoader(jinja2.BaseLoader):
    """One user file per template name; ``filename`` is the user's path (named in errors)."""

    def __init__(self, files: Mapping[str, Path]) -> None:
        self.files = dict(files)

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        path = self.files.get(template)
        if path is None:
            raise jinja2.TemplateNotFound(template)
        data = path.read_bytes()  # OSError: the caller reports the unreadable file
        return _decode(path, template, data), str(path), lambda: False


class _DirLoader(jinja2.FileSystemLoader):
    """``FileSystemLoader`` whose non-UTF-8 file is a ``TemplateSyntaxError`` at the bad byte's
    line (so it is reported ``file:line:`` like any syntax error), not a ``UnicodeDecodeError``."""

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        try:
            return super().get_source(environment, template)
        except UnicodeDecodeError:
            pieces = jinja2.loaders.split_template_path(template)
            for root in self.searchpath:
                path = Path(root, *pieces)
                if path.is_file():
                    _decode(path, template, path.read_bytes())
            raise


def _decode(path: Path, template: str, data: bytes) -> str:
    """``data`` decoded as UTF-8. Raises ``jinja2.TemplateSyntaxError`` (``not UTF-8``) at the
    line of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = utf8_error_position(data, exc)
        raise jinja2.TemplateSyntaxError(
            f"not UTF-8 at column {col} ({exc.reason})", line, template, str(path)
        ) from None


FILTERS: Mapping[str, Callable[[Any], str]] = {  # see catalog_ops.render.markdown
    "md": md_text,
    "md_cell": md_cell,
    "md_plain": md_plain,
    "md_quote": md_quote,
    "code": code,
    "code_cell": code_cell,
    "untrusted": untrusted,
}


def _make(loader: jinja2.BaseLoader) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=loader,
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env


@functools.cache
def _bundled() -> jinja2.Environment:
    return _make(_DirLoader(str(BUNDLED_DIR)))


def environment(overrides: Overrides | None = None) -> jinja2.Environment:
    """The Jinja2 environment, with ``overrides`` searched before the bundled templates.

    Raises:
        UsageError: ``overrides.directory`` is not an existing directory
            (``--template-dir DIR: no such directory``; a typo must not silently fall back to
            the bundled templates).
    """
    if overrides is None or (not overrides.files and overrides.directory is None):
        return _bundled()
    loaders: list[jinja2.BaseLoader] = []
    if overrides.files:
        loaders.append(_FileLoader(overrides.files))
    if overrides.directory is not None:
        if not overrides.directory.is_dir():
            raise UsageError(f"{overrides.directory_flag} {overrides.directory}: no such directory")
        loaders.append(_DirLoader(str(overrides.directory)))
    loaders.append(_DirLoader(str(BUNDLED_DIR)))
    return _make(jinja2.ChoiceLoader(loaders))


def render(name: str, context: Mapping[str, Any], overrides: Overrides | None = None) -> str:
    """Render template ``name`` (a bundled name) with ``context``.

    Raises:
        jinja2.TemplateError: syntax error, undefined variable (see ``error_location``).
        OSError: an override file cannot be read.
        UsageError: see ``environment``.
    """
    return environment(overrides).get_template(name).render(context)


def error_location(exc: BaseException, template: jinja2.Template | None = None) -> tuple[str, int | None]:
    """``(file, line)`` of the template line that raised ``exc``.

    For a ``TemplateSyntaxError`` its own file and line; otherwise the innermost template frame
    of the traceback (Jinja2 rewrites tracebacks so template frames carry the template's file
    name and line; an included template may be the culprit). ``file`` falls back to the
    template's filename or name; ``line`` is None when no template frame is found.
    """
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return exc.filename or exc.name or "<template>", exc.lineno
    filename = (template.filename or template.name or "<template>") if template is not None else "<template>"
    line = None
    tb = exc.__traceback__
    while tb is not None:
        code_file = tb.tb_frame.f_code.co_filename
        if code_file == filename or code_file.endswith(".j2"):
            filename, line = code_file, tb.tb_lineno
        tb = tb.tb_next
    return filename, line
