"""Conventional Commits parsing and bump levels (catalog_ops.core.commits)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog_ops.core.commits import (
    ConventionalCommit,
    NotParsable,
    commit_level,
    labels_level,
    parse_commit_message,
)
from catalog_ops.core.versions import Level


def test_header_parts() -> None:
    c = parse_commit_message("feat(vpc)!: drop the legacy subnets\n\nBody text.\n")
    assert isinstance(c, ConventionalCommit)
    assert (c.type, c.scope, c.description, c.body, c.bang) == (
        "feat",
        "vpc",
        "drop the legacy subnets",
        "Body text.",
        True,
    )
    assert c.breaking
    assert commit_level(c) == Level.MAJOR
    assert commit_level(c, breaking_level=Level.MINOR) == Level.MINOR


@pytest.mark.parametrize(
    ("message", "level"),
    [
        ("fix: x", Level.PATCH),
        ("feat: x", Level.MINOR),
        ("FEAT: upper-case type", Level.MINOR),
        ("perf(eks): faster", Level.PATCH),
        ("docs: readme", Level.NONE),
        ("chore!: drop support", Level.MAJOR),
        ("Update README", Level.NONE),
        ("feat:no space", Level.NONE),
        ("feat(): empty scope", Level.NONE),
        ("", Level.NONE),
    ],
)
def test_levels(message: str, level: Level) -> None:
    assert commit_level(parse_commit_message(message)) == level


def test_breaking_footer_and_synonym() -> None:
    for token in ("BREAKING CHANGE", "BREAKING-CHANGE"):
        c = parse_commit_message(
            f"fix: rename output\n\nSome body.\n\n{token}: `id` is now `vpc_id`.\nRefs: #12\n"
        )
        assert isinstance(c, ConventionalCommit)
        assert c.breaking
        assert c.breaking_notes == ("`id` is now `vpc_id`.",)
        assert c.footers == (("BREAKING CHANGE", "`id` is now `vpc_id`."), ("Refs", "#12"))
        assert c.body == "Some body."


def test_footer_right_after_header_and_multiline_value() -> None:
    c = parse_commit_message("feat: x\n\nBREAKING CHANGE: first line\ncontinued here\nReviewed-by: Z\n")
    assert isinstance(c, ConventionalCommit)
    assert c.footers == (("BREAKING CHANGE", "first line\ncontinued here"), ("Reviewed-by", "Z"))
    assert c.body == ""


@pytest.mark.parametrize(
    "message",
    [
        "fix: x\n\nThis is not a BREAKING CHANGE: callers are unaffected.\n",
        "fix: x\n\nWe considered a breaking change: none was needed.\n",
        "fix: x\n\nPreviously this caused a\nBREAKING CHANGE: in some setups, now fixed.\n",
        "fix: x\n\nbreaking change: lower case is not the token\n",
        "fix: x\n\nBREAKING CHANGES: plural is not the token\n",
        "fix: mention BREAKING CHANGE: in the header",
    ],
)
def test_mentions_are_not_footers(message: str) -> None:
    c = parse_commit_message(message)
    assert isinstance(c, ConventionalCommit)
    assert not c.breaking
    assert commit_level(c) == Level.PATCH


def test_not_parsable_never_raises() -> None:
    c = parse_commit_message("Merge branch 'x' into main")
    assert isinstance(c, NotParsable)
    assert c.subject == "Merge branch 'x' into main"
    assert not c.parsed and not c.breaking
    assert isinstance(parse_commit_message(None), NotParsable)  # type: ignore[arg-type]


@given(st.text())
def test_parse_total(text: str) -> None:
    result = parse_commit_message(text)
    assert isinstance(result, ConventionalCommit | NotParsable)
    assert commit_level(result) in Level


def test_crlf_and_leading_blank_lines() -> None:
    c = parse_commit_message("\r\n\r\nfeat(s3): a\r\n\r\nbody\r\n\r\nBREAKING-CHANGE: b\r\n")
    assert isinstance(c, ConventionalCommit)
    assert c.scope == "s3" and c.breaking and c.body == "body"


def test_labels() -> None:
    assert labels_level(["bug", "semver:minor"]) == Level.MINOR
    assert labels_level(["SEMVER:MAJOR ", "semver:patch"]) == Level.MAJOR
    assert labels_level([]) == Level.NONE
    assert max(Level.PATCH, Level.MINOR) is Level.MINOR
