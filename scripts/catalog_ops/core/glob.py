"""Path globs matched in linear time, for patterns written by people the product does not trust.

Dependent teams write ``paths:`` globs (``.catalog-ops.yml``) and CODEOWNERS patterns; catalog
contributors write the catalog's module patterns. Translated to a backtracking regex, a pattern
like ``"**/a" * 12 + "**/b"`` against a 36-deep path ran for minutes holding the GIL (issue 15).
Here a pattern compiles to a list of ``Token`` s and is matched by simulating the automaton over
the path (Thompson's construction, as RE2 does): at most ``2 × (tokens + 1)`` states are alive
at each character, so one match costs O(len(pattern) × len(path)) steps whatever the input
(https://swtch.com/~rsc/regexp/regexp1.html). ``check_pattern`` bounds the pattern itself
(``MAX_PATTERN_CHARS``, ``MAX_DOUBLE_STARS``) so a config names its bad line instead of making
work.

Token kinds (what each glob dialect translates to):

- ``lit``: one character; ``one``: any one character but ``/`` (``?``); ``cls``: one character
  of a ``[...]`` class (``[!...]`` negated), never ``/``;
- ``star``: any run of characters but ``/`` (``*``); ``any``: any run of characters (``**``
  not followed by ``/``);
- ``dirs``: zero or more whole leading directories, each ending in ``/`` (``**/``), in two
  flavours: ``nonempty`` components only (``(?:[^/]+/)*``, the catalog layout's ``**/``) or any
  text ending in ``/`` (``(?:.*/)?``, ``paths:`` and CODEOWNERS).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

MAX_PATTERN_CHARS = 256
"""Longest glob accepted from untrusted input (characters)."""

MAX_DOUBLE_STARS = 8
"""Most ``**`` in one glob accepted from untrusted input (real patterns use one or two)."""


class GlobError(ValueError):
    """A glob exceeds ``MAX_PATTERN_CHARS`` or ``MAX_DOUBLE_STARS``; the message says which."""


@dataclasses.dataclass(frozen=True)
class Token:
    """One step of a compiled glob (see the module docstring for the kinds)."""

    kind: str  # "lit" | "one" | "cls" | "star" | "any" | "dirs"
    char: str = ""  # lit: the character
    chars: frozenset[str] = frozenset()  # cls: the class members
    negate: bool = False  # cls: [!...]
    nonempty: bool = False  # dirs: components must be non-empty ((?:[^/]+/)*)

    def accepts(self, c: str) -> bool:
        """Whether a one-character token consumes ``c``."""
        if self.kind == "lit":
            return c == self.char
        if self.kind == "one":
            return c != "/"
        if self.kind == "cls":
            return c != "/" and ((c in self.chars) != self.negate)
        return False


def check_pattern(pattern: str, *, what: str = "glob") -> None:
    """Raise ``GlobError`` when ``pattern`` is longer than ``MAX_PATTERN_CHARS`` characters or
    holds more than ``MAX_DOUBLE_STARS`` ``**``; ``what`` names it in the message."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise GlobError(f"{what} is {len(pattern)} characters long; at most {MAX_PATTERN_CHARS} are allowed")
    stars = pattern.count("**")
    if stars > MAX_DOUBLE_STARS:
        raise GlobError(f"{what} has {stars} '**'; at most {MAX_DOUBLE_STARS} are allowed")


@functools.lru_cache(maxsize=1024)
def compile_glob(
    pattern: str, *, classes: bool = False, escapes: bool = False, nonempty_dirs: bool = False
) -> tuple[Token, ...]:
    """Tokens of ``pattern``: ``**/`` -> ``dirs``, other ``**`` -> ``any``, ``*`` -> ``star``,
    ``?`` -> ``one``; ``[...]`` classes when ``classes`` (else ``[`` is literal, as is an unclosed
    one); ``\\x`` is a literal ``x`` when ``escapes``; ``nonempty_dirs`` picks the ``dirs``
    flavour. Never raises (``check_pattern`` is the caller's bound)."""
    out: list[Token] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append(Token("dirs", nonempty=nonempty_dirs))
            i += 3
        elif pattern.startswith("**", i):
            out.append(Token("any"))
            i += 2
        elif c == "*":
            out.append(Token("star"))
            i += 1
        elif c == "?":
            out.append(Token("one"))
            i += 1
        elif c == "\\" and escapes and i + 1 < len(pattern):
            out.append(Token("lit", char=pattern[i + 1]))
            i += 2
        elif c == "[" and classes and (end := pattern.find("]", i + 1)) != -1:
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            members: set[str] = set()
            j = 0
            while j < len(body):
                if j + 2 < len(body) and body[j + 1] == "-":
                    members.update(chr(x) for x in range(ord(body[j]), ord(body[j + 2]) + 1))
                    j += 3
                else:
                    members.add(body[j])
                    j += 1
            out.append(Token("cls", chars=frozenset(members), negate=negate))
            i = end + 1
        else:
            out.append(Token("lit", char=c))
            i += 1
    return tuple(out)


@dataclasses.dataclass
class Matcher:
    """Runs compiled globs; ``steps`` counts state transitions examined (the work done), so
    tests and benchmarks can assert the bound instead of timing it."""

    steps: int = 0

    def match(self, tokens: Sequence[Token], path: str, *, below: bool = False) -> bool:
        """Whether ``path`` matches ``tokens`` entirely, or (``below``) a prefix of it that ends
        just before a ``/`` does (the pattern names a directory, so everything under it matches).

        States are ``(i, inside)``: before token ``i``, or inside the repetition of token ``i``
        (``star``/``any`` need no inside state; ``dirs`` does: it may only be left at a ``/``).
        """
        n = len(tokens)

        def close(states: set[tuple[int, bool]]) -> set[tuple[int, bool]]:
            stack = list(states)
            while stack:
                i, inside = stack.pop()
                self.steps += 1
                if i < n and not inside and tokens[i].kind in ("star", "any", "dirs"):
                    nxt = (i + 1, False)  # zero repetitions
                    if nxt not in states:
                        states.add(nxt)
                        stack.append(nxt)
            return states

        current = close({(0, False)})
        for c in path:
            if below and c == "/" and (n, False) in current:
                return True
            following: set[tuple[int, bool]] = set()
            for i, inside in current:
                self.steps += 1
                if i >= n:
                    continue
                t = tokens[i]
                if t.kind in ("lit", "one", "cls"):
                    if t.accepts(c):
                        following.add((i + 1, False))
                elif t.kind == "star":
                    if c != "/":
                        following.add((i, False))
                elif t.kind == "any":
                    following.add((i, False))
                elif t.nonempty:  # dirs: (?:[^/]+/)*
                    if c != "/":
                        following.add((i, True))
                    elif inside:
                        following.add((i, False))
                else:  # dirs: (?:.*/)?
                    following.add((i, True))
                    if c == "/":
                        following.add((i + 1, False))
            if not following:
                return False
            current = close(following)
        return (n, False) in current


def glob_matches(pattern: str, path: str, *, below: bool = False, **flavour: bool) -> bool:
    """One-shot ``Matcher().match(compile_glob(pattern, **flavour), path, below=below)``."""
    return Matcher().match(compile_glob(pattern, **flavour), path, below=below)
