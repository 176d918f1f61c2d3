"""Conventional Commits parsing and the bump level each commit, PR title or label asks for (pure).

Sources of the rules:

* Conventional Commits 1.0.0 (https://www.conventionalcommits.org/en/v1.0.0/): header
  ``<type>[(<scope>)][!]: <description>``; optional body one blank line after the header;
  optional footers one blank line after the body, each ``<token>: <value>`` or
  ``<token> #<value>``, where a token uses ``-`` for whitespace except ``BREAKING CHANGE``;
  ``BREAKING-CHANGE`` is a synonym; ``BREAKING CHANGE`` MUST be upper case, everything else is
  case-insensitive. ``fix`` -> PATCH, ``feat`` -> MINOR, ``!`` or a breaking footer -> MAJOR.
* semver.org 2.0.0 for what PATCH/MINOR/MAJOR mean.
* PR labels ``semver:major|minor|patch`` (catalog-ops convention).

A footer is only a footer where the spec puts it: in the trailing block of paragraphs that starts
with a paragraph whose first line is ``token: value``. A sentence in the body that merely
mentions "BREAKING CHANGE:" (mid-line, or on a wrapped line of a prose paragraph) is not one.
Parsing never raises: input that is not a Conventional Commit comes back as ``NotParsable``.

Which PR a squash or merge commit came from is read from the subject the forge writes
(``forge.base.MergeSubjects``), not here: that format belongs to the forge.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping

from catalog_ops.core.versions import Level

__all__ = [
    "DEFAULT_LABEL_RULES",
    "DEFAULT_SECURITY_LABELS",
    "DEFAULT_SECURITY_TYPES",
    "DEFAULT_TYPE_RULES",
    "ConventionalCommit",
    "NotParsable",
    "commit_level",
    "labels_level",
    "parse_commit_message",
]


#: commit type -> level; types not listed (docs, chore, ci, test, refactor, style, build) are NONE.
DEFAULT_TYPE_RULES: Mapping[str, Level] = {
    "feat": Level.MINOR,
    "fix": Level.PATCH,
    "perf": Level.PATCH,
    "security": Level.PATCH,
    "sec": Level.PATCH,
    "revert": Level.PATCH,
}
#: PR label (case-insensitive) -> level.
DEFAULT_LABEL_RULES: Mapping[str, Level] = {
    "semver:major": Level.MAJOR,
    "semver:minor": Level.MINOR,
    "semver:patch": Level.PATCH,
}
#: commit types / scopes and PR labels that put a change in the "Security" section.
DEFAULT_SECURITY_TYPES: frozenset[str] = frozenset({"security", "sec"})
DEFAULT_SECURITY_LABELS: frozenset[str] = frozenset({"security", "type:security", "semver:security"})

BREAKING_TOKENS = ("BREAKING CHANGE", "BREAKING-CHANGE")

_HEADER_RE = re.compile(
    r"(?P<type>[A-Za-z][A-Za-z0-9_-]*)"
    r"(?:\((?P<scope>[^()\r\n]*)\))?"
    r"(?P<bang>!)?"
    r": (?P<description>\S.*)\Z"
)
# footer line: "Token: value" / "Token #value" (token: word chars and '-'), or a breaking token
_FOOTER_RE = re.compile(r"(?P<token>BREAKING CHANGE|[A-Za-z][A-Za-z0-9-]*)(?P<sep>: | #)(?P<value>.*)\Z")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConventionalCommit:
    """A message that follows Conventional Commits 1.0.0.

    Attributes:
        type: lower-cased type (``"feat"``).
        scope: scope as written, or None.
        description: header text after ``": "``.
        body: body text (may be empty), without footers.
        footers: ``(token, value)`` pairs in order; tokens as written (breaking tokens normalised
            to ``"BREAKING CHANGE"``); values may span lines.
        bang: ``!`` was written before the colon.
    """

    type: str
    scope: str | None
    description: str
    body: str = ""
    footers: tuple[tuple[str, str], ...] = ()
    bang: bool = False

    @property
    def breaking(self) -> bool:
        """``!`` in the header or a ``BREAKING CHANGE``/``BREAKING-CHANGE`` footer."""
        return self.bang or any(token == "BREAKING CHANGE" for token, _ in self.footers)

    @property
    def breaking_notes(self) -> tuple[str, ...]:
        """Values of the breaking-change footers (the migration hints commit authors give)."""
        return tuple(value for token, value in self.footers if token == "BREAKING CHANGE")

    @property
    def parsed(self) -> bool:
        """True: this is a ``ConventionalCommit``."""
        return True


@dataclasses.dataclass(frozen=True, kw_only=True)
class NotParsable:
    """A message that is not a Conventional Commit; ``subject`` is its first line."""

    subject: str
    reason: str
    breaking: bool = False
    breaking_notes: tuple[str, ...] = ()
    type: str | None = None
    scope: str | None = None

    @property
    def parsed(self) -> bool:
        """False: this is a ``NotParsable``."""
        return False


def _is_footer_line(line: str) -> re.Match[str] | None:
    match = _FOOTER_RE.match(line)
    if not match:
        return None
    token = match.group("token")
    if token == "BREAKING CHANGE" and match.group("sep") != ": ":
        return None
    return match


def _split_paragraphs(lines: list[str]) -> list[list[str]]:
    paragraphs: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if line.strip() == "":
            if current:
                paragraphs.append(current)
                current = []
        else:
            current.append(line)
    if current:
        paragraphs.append(current)
    return paragraphs


def _parse_footers(paragraphs: list[list[str]]) -> tuple[list[list[str]], list[tuple[str, str]]]:
    """Split paragraphs after the header into (body paragraphs, footers)."""
    start = next((i for i, p in enumerate(paragraphs) if _is_footer_line(p[0])), None)
    if start is None:
        return paragraphs, []
    footers: list[tuple[str, str]] = []
    for pi, paragraph in enumerate(paragraphs[start:]):
        for li, line in enumerate(paragraph):
            match = _is_footer_line(line)
            if match:
                token = match.group("token")
                if token in BREAKING_TOKENS:
                    token = "BREAKING CHANGE"
                value = match.group("value") if match.group("sep") == ": " else "#" + match.group("value")
                footers.append((token, value))
            elif footers:
                token, value = footers[-1]
                joiner = "\n\n" if li == 0 and pi > 0 else "\n"
                footers[-1] = (token, value + joiner + line)
    return paragraphs[:start], [(t, v.strip()) for t, v in footers]


def parse_commit_message(message: str) -> ConventionalCommit | NotParsable:
    """Parse a commit message (or a PR title, or a title plus a body) per Conventional Commits.

    Args:
        message: full message; ``\\r\\n`` line ends accepted; git comment lines are not stripped.

    Returns:
        ``ConventionalCommit`` or, never raising, ``NotParsable`` with the reason.
    """
    if not isinstance(message, str):
        return NotParsable(subject=repr(message), reason="not text")
    lines = message.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        return NotParsable(subject="", reason="empty message")
    header = lines[0].strip()
    match = _HEADER_RE.match(header)
    if not match:
        return NotParsable(subject=header, reason="header is not '<type>[(scope)][!]: <description>'")
    scope = match.group("scope")
    if scope is not None and not scope.strip():
        return NotParsable(subject=header, reason="empty scope")
    # the spec wants a blank line after the header; be lenient: without it the rest is body
    rest = lines[1:] if len(lines) > 1 and lines[1].strip() else lines[2:]
    body_paragraphs, footers = _parse_footers(_split_paragraphs(rest))
    return ConventionalCommit(
        type=match.group("type").lower(),
        scope=scope.strip() if scope else None,
        description=match.group("description").strip(),
        body="\n\n".join("\n".join(p) for p in body_paragraphs),
        footers=tuple(footers),
        bang=bool(match.group("bang")),
    )


def commit_level(
    commit: ConventionalCommit | NotParsable,
    *,
    rules: Mapping[str, Level] = DEFAULT_TYPE_RULES,
    breaking_level: Level = Level.MAJOR,
) -> Level:
    """The bump a parsed message asks for: ``breaking_level`` when breaking, else ``rules[type]``.

    ``breaking_level`` is MAJOR from 1.0.0 on and MINOR before (semver.org item 4: "anything
    MAY change at any time" in 0.y.z; catalog-ops bumps the minor).
    """
    if not commit.parsed:
        return Level.NONE
    if commit.breaking:
        return breaking_level
    return rules.get(commit.type or "", Level.NONE)


def labels_level(labels: Iterable[str], rules: Mapping[str, Level] = DEFAULT_LABEL_RULES) -> Level:
    """Largest level among PR labels (case-insensitive, surrounding spaces ignored)."""
    lowered = {k.lower(): v for k, v in rules.items()}
    return max((lowered.get(label.strip().lower(), Level.NONE) for label in labels), default=Level.NONE)
