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

Dependents write these files, so patterns are matched in linear time (``core.glob``), each one
bounded (``core.glob.check_pattern``), and the file size is GitHub's (``MAX_BYTES``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from catalog_ops.core.glob import GlobError, Matcher, Token, check_pattern, compile_glob

#: Where GitHub looks for CODEOWNERS, in order.
CODEOWNERS_PATHS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")


MAX_BYTES = 3 * 1024 * 1024
"""GitHub: "CODEOWNERS files must be under 3 MB in size. A CODEOWNERS file over this limit will
not be loaded" (docs, "About code owners", CODEOWNERS file size): a larger file owns nothing here
either, so a dependent's file cannot make owner resolution unbounded."""


@dataclasses.dataclass(frozen=True)
class Rule:
    """One CODEOWNERS rule: ``pattern`` at ``line`` (1-based) owned by ``owners`` (maybe empty).

    ``tokens``/``below`` are the pattern compiled for ``core.glob`` (linear-time matching):
    ``below`` means the pattern also owns everything under a directory it matches."""

    pattern: str
    owners: tuple[str, ...]
    line: int
    tokens: tuple[Token, ...]
    below: bool

    def matches(self, path: str, matcher: Matcher | None = None) -> bool:
        """Whether this rule's pattern matches repository path ``path`` (no leading ``/``)."""
        return (matcher or Matcher()).match(self.tokens, path, below=self.below)


def _translate(pattern: str) -> tuple[tuple[Token, ...], bool] | None:
    """``(tokens, below)`` of a CODEOWNERS pattern, or None when unsupported (``!``, ``[ ]``)
    or beyond ``core.glob`` limits (such lines are skipped, like GitHub skips invalid lines)."""
    if pattern.startswith("!") or "[" in pattern:
        return None
    try:
        check_pattern(pattern)
    except GlobError:
        return None
    dir_only = pattern.endswith("/")
    body = pattern.rstrip("/") if dir_only else pattern
    anchored = body.startswith("/") or "/" in body.lstrip("/")
    body = body.lstrip("/")
    if not body:
        return None
    tokens = compile_glob(body, escapes=True)
    if not anchored:
        tokens = (Token("dirs"), *tokens)  # matches at any depth
    if dir_only:
        return (*tokens, Token("lit", char="/"), Token("any")), False
    if body.endswith("/*"):
        return tokens, False  # GitHub: "docs/*" does not match nested files
    return tokens, True


def parse_codeowners(text: str | None) -> list[Rule]:
    """Rules of a CODEOWNERS file in file order. Unsupported patterns are skipped; a file of
    ``MAX_BYTES`` or more has no rules (GitHub does not load it)."""
    rules: list[Rule] = []
    if text and len(text.encode("utf-8", errors="replace")) >= MAX_BYTES:
        return rules
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
        compiled = _translate(tokens[0])
        if compiled is None:
            continue
        owners = tuple(t for t in tokens[1:] if t.startswith("@") or "@" in t)
        rules.append(
            Rule(pattern=tokens[0], owners=owners, line=lineno, tokens=compiled[0], below=compiled[1])
        )
    return rules


def owners_of(rules: list[Rule], path: str) -> tuple[str, ...]:
    """Owners of one path: the owners of the last matching rule (empty if none matches)."""
    path = path.strip("/")
    matcher = Matcher()
    for rule in reversed(rules):
        if rule.matches(path, matcher):
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
