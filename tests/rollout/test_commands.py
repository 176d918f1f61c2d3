"""rollout/commands.py: strict parsing, decisions, the product's state block (pure tables)."""

from __future__ import annotations

import pytest

from catalog_ops.core.versions import parse_version
from catalog_ops.forge.base import Comment
from catalog_ops.rollout import commands
from catalog_ops.rollout.commands import (
    STATE,
    Ignore,
    IgnoreKind,
    PullCommands,
    State,
    Verdict,
    decide,
    parse_commands,
    pending,
    read_state,
    record,
    release_skipped,
)

CATALOG = "acme/infrastructure-modules"


def v(text: str) -> object:
    version = parse_version(text)
    assert version is not None
    return version


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/catalog-ops rebase", ["rebase"]),
        ("/catalog-ops rebase  \r\n", ["rebase"]),
        ("please\n/catalog-ops ignore this major\nthanks", ["ignore this major"]),
        ("/catalog-ops retry\n/catalog-ops skip this release", ["retry", "skip this release"]),
        (" /catalog-ops rebase", []),  # not at the start of the line
        ("> /catalog-ops rebase", []),  # a quote of someone else's command
        ("do /catalog-ops rebase now", []),
        ("/catalog-opsrebase", []),
        ("/catalog-ops", [""]),  # no command: answered with the list of commands
        ("/CATALOG-OPS REBASE", ["rebase"]),  # the command word in any case
        ("/Catalog-Ops Ignore  This\tMajor ", ["ignore this major"]),
        ("/catalog-ops\tretry", ["retry"]),
        ("/CATALOG-OPS Please Merge", ["Please Merge"]),  # unknown: as written, for the reply
        ("```\n/catalog-ops rebase\n```", []),  # inside a fenced code block
        ("~~~\n/catalog-ops rebase\n~~~\n/catalog-ops retry", ["retry"]),
        ("/catalog-ops please merge", ["please merge"]),  # unknown: kept, so the reply can say so
        ("/catalog-ops retry\n" * 9, ["retry"] * commands.MAX_COMMANDS),
        ("/catalog-ops rebase\n" + "x" * commands.MAX_BODY_CHARS, []),  # too long: not read
    ],
)
def test_parse_commands_is_strict_and_bounded(body: str, expected: list[str]) -> None:
    assert parse_commands(body) == expected


def comment(cid: int, body: str, author: str | None) -> Comment:
    return Comment(
        id=cid, body=body, url=f"https://github.example/acme/app/pull/1#issuecomment-{cid}", author=author
    )


def test_is_product_on_both_forges() -> None:
    assert commands.is_product("catalog-ops[bot]", "catalog-ops[bot]")
    assert commands.is_product("Catalog-Ops[bot]", "catalog-ops[bot]")
    assert not commands.is_product("alice", "catalog-ops[bot]")
    assert not commands.is_product(None, "catalog-ops[bot]")
    # the local forge: the product's comments carry no author, people's do
    assert commands.is_product(None, None)
    assert not commands.is_product("alice", None)


def _decide(body: str, author: str | None, permission: str, *, open_pr: bool = True) -> commands.Decision:
    pull = PullCommands(number=7, open=open_pr, comments=(comment(11, body, author),))
    found = pending(pull, state=State(), identity="catalog-ops[bot]")
    (decision,) = decide(
        pull,
        found,
        repo="acme/app",
        permissions={author: permission} if author else {},
        targets={"modules/network": v("v2.1.0"), "modules/naming": v("v2.0.0")},  # type: ignore[dict-item]
        release="v2.1.0",
    )
    return decision


def test_capitals_are_honoured_and_a_missing_or_unknown_command_gets_the_list() -> None:
    known = "rebase, retry, ignore this major, ignore this module, skip this release"
    d = _decide("/CATALOG-OPS Ignore This Major", "alice", "write")
    assert (d.verdict, d.command) == (Verdict.HONOURED, "ignore this major")
    assert len(d.ignores) == 2
    bare = _decide("/catalog-ops", "alice", "write")
    assert (bare.verdict, bare.reason) == (Verdict.REFUSED, f"no command given; known: {known}")
    unknown = _decide("/CATALOG-OPS frobnicate", "alice", "write")
    assert (unknown.verdict, unknown.reason) == (Verdict.REFUSED, f"unknown command; known: {known}")


@pytest.mark.parametrize("permission", ["write", "admin"])
def test_a_writer_is_honoured(permission: str) -> None:
    d = _decide("/catalog-ops ignore this major", "alice", permission)
    assert d.verdict is Verdict.HONOURED
    assert [(i.kind, i.module, i.major) for i in d.ignores] == [
        (IgnoreKind.MAJOR, "modules/naming", 2),
        (IgnoreKind.MAJOR, "modules/network", 2),
    ]
    assert all(i.by == "alice" and i.pr == 7 and i.comment == 11 for i in d.ignores)


@pytest.mark.parametrize("permission", ["read", "none", "triage", ""])
def test_a_non_writer_is_refused_with_the_reason(permission: str) -> None:
    d = _decide("/catalog-ops ignore this module", "bob", permission)
    assert d.verdict is Verdict.REFUSED
    assert d.ignores == ()
    assert "bob does not have write access to acme/app" in d.reason


def test_refusals_for_unknown_commands_missing_authors_and_closed_prs() -> None:
    assert "unknown command" in _decide("/catalog-ops merge now", "alice", "write").reason
    assert _decide("/catalog-ops rebase", None, "write").reason == "the comment has no author"
    closed = _decide("/catalog-ops rebase", "alice", "write", open_pr=False)
    assert closed.verdict is Verdict.REFUSED and "closed" in closed.reason
    retry = _decide("/catalog-ops retry", "alice", "write", open_pr=False)
    assert retry.verdict is Verdict.HONOURED and "proposed again" in retry.reason


def test_skip_this_release_and_ignore_this_module() -> None:
    skip = _decide("/catalog-ops skip this release", "alice", "write")
    assert [(i.kind, i.release) for i in skip.ignores] == [(IgnoreKind.RELEASE, "v2.1.0")]
    module = _decide("/catalog-ops ignore this module", "alice", "write")
    assert sorted(i.module or "" for i in module.ignores) == ["modules/naming", "modules/network"]


def test_release_skipped_covers_that_release_and_older_only() -> None:
    skip = Ignore(kind=IgnoreKind.RELEASE, release="v1.1.0", pr=1, comment=2, by="alice")
    assert release_skipped([skip], [v("v1.1.0")]) is skip  # type: ignore[list-item]
    assert release_skipped([skip], [v("v1.0.1"), v("v1.1.0")]) is skip  # type: ignore[list-item]
    assert release_skipped([skip], [v("v1.2.0")]) is None  # type: ignore[list-item]
    assert release_skipped([skip], []) is None


def test_ignore_covers_module_and_major() -> None:
    major = Ignore(kind=IgnoreKind.MAJOR, module="modules/network", major=2)
    assert major.covers_module("modules/network", 2)
    assert not major.covers_module("modules/network", 3)
    assert not major.covers_module("modules/naming", 2)
    module = Ignore(kind=IgnoreKind.MODULE, module="modules/network")
    assert module.covers_module("modules/network", 9)


def test_state_round_trip_and_only_the_products_block_counts() -> None:
    ig = Ignore(kind=IgnoreKind.MODULE, module="modules/network", pr=7, comment=11, by="alice")
    d = _decide("/catalog-ops ignore this module", "alice", "write")
    state = record(State(), [d], [ig], failed=False)
    body = "text\n\n" + STATE.render(state.to_json(CATALOG)) + "\n"
    ours = comment(20, body, "catalog-ops[bot]")
    theirs = comment(21, body, "mallory")  # a person copying the block
    back = read_state([ours], catalog=CATALOG, identity="catalog-ops[bot]")
    assert back.handled == {11: "honoured"}
    assert [i.module for i in back.ignores] == ["modules/network"]
    assert read_state([theirs], catalog=CATALOG, identity="catalog-ops[bot]") == State()
    assert read_state([ours], catalog="acme/other", identity="catalog-ops[bot]") == State()


def test_handled_commands_are_not_pending_and_failed_actions_stay_pending() -> None:
    d = _decide("/catalog-ops rebase", "alice", "write")
    failed = record(State(), [d], [], failed=True)
    assert failed.handled == {}
    done = record(State(), [d], [], failed=False)
    pull = PullCommands(number=7, open=True, comments=(comment(11, "/catalog-ops rebase", "alice"),))
    assert pending(pull, state=done, identity="catalog-ops[bot]") == []
    assert len(pending(pull, state=failed, identity="catalog-ops[bot]")) == 1


def test_the_products_own_comments_are_never_commands() -> None:
    pull = PullCommands(
        number=7,
        open=True,
        comments=(
            comment(11, "/catalog-ops rebase", "catalog-ops[bot]"),
            comment(12, "/catalog-ops rebase", None),
        ),
    )
    # on GitHub an author-less comment (a deleted account) is read, then refused ("no author")
    assert [c.id for c, _ in pending(pull, state=State(), identity="catalog-ops[bot]")] == [12]
    # on the local forge (no identity) the product's comments have no author
    assert [c.id for c, _ in pending(pull, state=State(), identity=None)] == [11]


def test_comments_read_per_pr_are_bounded() -> None:
    many = tuple(comment(i, "/catalog-ops retry", "alice") for i in range(2 * commands.MAX_COMMENTS + 20))
    pull = PullCommands(number=7, open=True, comments=many)
    assert len(pending(pull, state=State(), identity="catalog-ops[bot]")) == 2 * commands.MAX_COMMENTS
