"""YAML read as a node tree, so every configuration error can name its file, line and column.

Used by the ``.catalog-ops.yml`` readers (dependent config, sweep config). PyYAML's
``yaml.compose`` keeps each node's start mark (0-based line and column), which we report 1-based.
"""

from __future__ import annotations

import yaml

from catalog_ops.core.edits import utf8_error_position
from catalog_ops.errors import ConfigError


def where(path: str, node: yaml.Node) -> str:
    """``path:line:col`` (1-based) of a YAML node's start."""
    mark = node.start_mark
    return f"{path}:{mark.line + 1}:{mark.column + 1}"


def compose_document(text: str | bytes, path: str) -> yaml.Node | None:
    """Parse one YAML document into its node tree; None for an empty document.

    Args:
        text: document contents; bytes are decoded as UTF-8.
        path: file name used in error messages.

    Raises:
        ConfigError: ``path:line:col: invalid YAML: problem`` (or ``not UTF-8``, at the first
            bad byte).
    """
    if isinstance(text, bytes):
        data = text
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line, col = utf8_error_position(data, exc)
            raise ConfigError(f"{path}:{line}:{col}: not UTF-8 ({exc.reason})") from None
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        at = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else f"{path}:1:1"
        raise ConfigError(f"{at}: invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}:1:1: invalid YAML: {exc}") from None
