"""CODEOWNERS parsing and owner resolution, following GitHub's documented rules.

Source: GitHub docs, "About code owners" (CODEOWNERS syntax):

* one rule per line: a gitignore-style pattern followed by owners (``@user``, ``@org/team``,
  or an e-mail address); ``#`` starts a comment; a rule with no owners clears ownership;
* the *last* matching rule wins;
* ``/x`` is anchored at the repository root, a pattern with a ``/`` in the middle is anchored,
  a pattern without a ``/`` matches at any depth; ``dir/`` matches everything beneath any
  ``dir``; ``docs/*`` matches files directly in ``docs`` but not nested ones; ``**`` spans
  directories; ``!`` negation and ``[ ]`` ranges are not supported (such lines are ignored);
* GitHub looks for the file in ``.github/``, then the root, then ``docs/``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

#: Where GitHub looks for CODEOWNERS, in order.
CODEOWNERS_PATHS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")


@dataclasses.dataclass(frozen=True)
class Rule:
    """One CODEOWNERS rule: ``pattern`` at ``line`` (1-based) owned by ``owners`` (maybe empty)."""

    pattern: str
    owners: tuple[str, ...]
    line: int
    regex: re.Pattern[str]


def _translate(pattern: str) -> re.Pattern[str] | None:
    if pattern.startswith("!") or "[" in pattern:
        return None
    dir_only = pattern.endswith("/")
    body = pattern.rstrip("/") if dir_only else pattern
    anchored = body.startswith("/") or "/" in body.lstrip("/")
    body = body.lstrip("/")
    if not body:
        return None
    out: list[str] = []
    i = 0
    while i < len(body):
        if body.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif body.startswith("**", i):
            out.append(".*")
            i += 2
        elif body[i] == "*":
            out.append("[^/]*")
            i += 1
        elif body[i] == "?":
            out.append("[^/]")
            i += 1
        elif body[i] == "\\" and i + 1 < len(body):
            out.append(re.escape(body[i + 1]))
            i += 2
        else:
            out.append(re.escape(body[i]))
            i += 1
    prefix = "^" if anchored else "^(?:.*/)?"
    if dir_only:
        suffix = "/.*$"
    elif body.endswith("/*"):
        suffix = "$"  # GitHub: "docs/*" does not match nested files
    else:
        suffix = "(?:/.*)?$"
    return re.compile(prefix + "".join(out) + suffix)


def parse_codeowners(text: str | None) -> list[Rule]:
    """Rules of a CODEOWNERS file in file order. Unsupported patterns are skipped."""
    rules: list[Rule] = []
    for lineno, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        # Split on unescaped whitespace; an unescaped "#" starts a trailing comment.
        tokens: list[str] = []
        cur = ""
        i = 0
        while i < len(line):
            ch = line[i]
            if ch == "\\" and i + 1 < len(line):
                cur += line[i : i + 2]
                i += 2
                continue
            if ch == "#":
                break
            if ch.isspace():
                if cur:
                    tokens.append(cur)
                    cur = ""
            else:
                cur += ch
            i += 1
        if cur:
            tokens.append(cur)
        if not tokens:
            continue
        regex = _translate(tokens[0])
        if regex is None:
            continue
        owners = tuple(t for t in tokens[1:] if t.startswith("@") or "@" in t)
        rules.append(Rule(pattern=tokens[0], owners=owners, line=lineno, regex=regex))
    return rules


def owners_of(rules: list[Rule], path: str) -> tuple[str, ...]:
    """Owners of one path: the owners of the last matching rule (empty if none matches)."""
    path = path.strip("/")
    for rule in reversed(rules):
        if rule.regex.match(path):
            return rule.owners
    return ()


def owners_for(codeowners_text: str | None, paths: Iterable[str]) -> tuple[str, ...]:
    """Union of the owners of ``paths`` (each path: last matching rule wins), first-seen order.

    Args:
        codeowners_text: CODEOWNERS file contents, or None (no owners).
        paths: repository-relative file paths (``modules/vpc/main.tf``).
    """
    rules = parse_codeowners(codeowners_text)
    seen: dict[str, None] = {}
    for path in paths:
        for owner in owners_of(rules, path):
            seen.setdefault(owner, None)
    return tuple(seen)


def split_owners(owners: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Split owners into (users, teams) for review requests: ``@org/team`` → team ``org/team``,
    ``@user`` → ``user``; e-mail owners are dropped (GitHub cannot request reviews by e-mail)."""
    users: list[str] = []
    teams: list[str] = []
    for owner in owners:
        if not owner.startswith("@"):
            continue
        name = owner[1:]
        (teams if "/" in name else users).append(name)
    return tuple(users), tuple(teams)
