"""GitHub Actions runner I/O: annotations, step outputs, step summary.

Rules from GitHub's "Workflow commands for GitHub Actions" docs:
- annotations are ``::error file=F,line=L,col=C,title=T::message`` with ``%``, ``\\r``, ``\\n``
  escaped in the message and additionally ``:`` and ``,`` in properties;
- multiline ``$GITHUB_OUTPUT`` values use ``name<<DELIM`` ... ``DELIM`` with a random delimiter
  that cannot occur in the value.

Outside Actions (no ``GITHUB_OUTPUT``/``GITHUB_STEP_SUMMARY`` in the env) writes are no-ops, and
annotations are still printed (harmless on a terminal) only when ``GITHUB_ACTIONS=true``.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Mapping
from typing import TextIO


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_annotation(
    level: str,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    col: int | None = None,
    end_line: int | None = None,
    title: str | None = None,
) -> str:
    """One workflow-command line. ``level``: ``error`` | ``warning`` | ``notice``.

    Raises ValueError for an unknown level.
    """
    if level not in ("error", "warning", "notice"):
        raise ValueError(f"unknown annotation level {level!r}")
    props = []
    for key, value in (("file", file), ("line", line), ("endLine", end_line), ("col", col), ("title", title)):
        if value is not None and value != "":
            props.append(f"{key}={_escape_property(str(value))}")
    head = f"::{level} {','.join(props)}" if props else f"::{level}"
    return f"{head}::{_escape_data(message)}"


def annotate(
    level: str,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    col: int | None = None,
    title: str | None = None,
    env: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
) -> None:
    """Print an annotation when running in GitHub Actions (``GITHUB_ACTIONS=true``)."""
    env = os.environ if env is None else env
    if env.get("GITHUB_ACTIONS") != "true":
        return
    print(
        format_annotation(level, message, file=file, line=line, col=col, title=title),
        file=stream or sys.stdout,
    )


def set_outputs(values: Mapping[str, str], env: Mapping[str, str] | None = None) -> None:
    """Append step outputs to ``$GITHUB_OUTPUT`` (multiline-safe, random heredoc delimiter)."""
    env = os.environ if env is None else env
    path = env.get("GITHUB_OUTPUT")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        for name, value in values.items():
            delim = f"ghadelim_{secrets.token_hex(16)}"
            while delim in value:
                delim = f"ghadelim_{secrets.token_hex(16)}"
            fh.write(f"{name}<<{delim}\n{value}\n{delim}\n")


def write_summary(markdown: str, env: Mapping[str, str] | None = None) -> bool:
    """Append Markdown to ``$GITHUB_STEP_SUMMARY``; returns False when not in Actions."""
    env = os.environ if env is None else env
    path = env.get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(markdown.rstrip("\n") + "\n")
    return True
