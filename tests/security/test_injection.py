"""Mentions and Markdown from strangers (issue 15): a dependent's file name and a catalog commit
subject rendered into the rollout PR body and the dashboard neither @-mention anyone nor break out
of their code spans. The rendered Markdown is parsed with markdown-it-py (CommonMark + GFM
tables) and checked node by node."""

from __future__ import annotations

from typing import Any

from markdown_it import MarkdownIt

from catalog_ops.core.metadata import ModuleChange, ReleaseMetadata, render_release_metadata
from catalog_ops.fanout.dependents import DependentSelection
from catalog_ops.forge.base import FileChange
from catalog_ops.rollout.dashboard import build_dashboard
from fixtures.rollout import BRANCH, CATALOG, RolloutWorld, network_module

ZWSP = "\u200b"  # catalog_ops.render.markdown.ZWSP, the character that breaks a mention
# A dependent's file whose name closes the code span, mentions a team, and reopens it.
EVIL_FILE = "live/a` @acme/everyone `b.tf"
# A catalog commit subject (copied into release notes, then into every PR body).
EVIL_NOTE = "network: fix for @acme/everyone ``` <!-- hidden --> `x"


def _inline(markdown: str) -> tuple[list[str], list[str]]:
    """``(code spans, text nodes)`` of ``markdown``."""
    md = MarkdownIt("commonmark").enable("table")
    codes: list[str] = []
    texts: list[str] = []
    for block in md.parse(markdown):
        for child in block.children or ():
            (codes if child.type == "code_inline" else texts).append(child.content)
    return codes, texts


def _no_mention(markdown: str) -> None:
    assert "@acme/everyone" not in markdown
    assert f"@{ZWSP}acme/everyone" in markdown


def _world(w: RolloutWorld) -> str:
    w.release("v1.0.0", modules=["modules/network"])
    repo = w.dependent("app", {EVIL_FILE: network_module("v1.0.0")})
    forge = w.forge
    parent = forge.branch_sha(CATALOG, "main") or ""
    sha = forge.commit_files(
        CATALOG,
        "main",
        parent_sha=parent,
        message="x",
        changes=[FileChange("modules/network/main.tf", b"#2\n")],
    )
    forge.create_tag(CATALOG, name="v1.1.0", sha=sha, message="v1.1.0")
    meta = ReleaseMetadata(
        version="1.1.0",
        tag="v1.1.0",
        previous="v1.0.0",
        commit=sha,
        modules={"modules/network": ModuleChange(path="modules/network", notes=(EVIL_NOTE,))},
    )
    forge.create_release(
        CATALOG, tag="v1.1.0", name="v1.1.0", body=f"notes\n\n{render_release_metadata(meta)}\n"
    )
    return repo


def test_pr_body_neither_mentions_nor_breaks_out_of_code_spans(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    repo = _world(w)
    report = w.apply(w.plan())
    assert not report.failed, report.to_json()
    pr = w.forge.find_open_pull(repo, BRANCH)
    assert pr is not None
    body = pr.body
    _no_mention(body)
    assert "<!-- hidden" not in body and body.count("<!--") == 1  # the product's marker, last
    codes, texts = _inline(body)
    assert EVIL_FILE.replace("@", f"@{ZWSP}") in codes  # the whole file name is one code span
    assert not any("b.tf" in t for t in texts)  # no part of it outside a code span
    assert any(f"fix for @{ZWSP}acme/everyone" in t for t in texts)  # the note, read as prose


def test_dashboard_neither_mentions_nor_breaks_out_of_code_spans(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    _world(w)
    board = build_dashboard(w.forge, catalog=CATALOG, selection=DependentSelection(org="acme"))
    markdown = board.to_markdown()
    _no_mention(markdown)
    codes, texts = _inline(markdown)
    assert f"{EVIL_FILE.replace('@', f'@{ZWSP}')}:2" in codes  # the source line of the module block
    assert not any("b.tf" in t or "acme/everyone" in t for t in texts)


def test_neutralised_text_reads_the_same(rollout_world: Any) -> None:
    """The zero-width space is invisible: with it removed, the reader sees the original text."""
    from catalog_ops.render.markdown import code, md_text

    assert code(EVIL_FILE).replace(ZWSP, "") == f"``{EVIL_FILE}``"
    assert md_text(EVIL_NOTE).replace(ZWSP, "") == EVIL_NOTE
