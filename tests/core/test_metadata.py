"""core.metadata: only the trailing block is read, and it is cross-checked against its release."""

from __future__ import annotations

import pytest

from catalog_ops.core.metadata import (
    ReleaseMetadata,
    check_release_metadata,
    parse_release_metadata,
    render_release_metadata,
)

SHA = "a" * 40
OTHER = "b" * 40


def _meta(**kw: object) -> ReleaseMetadata:
    values: dict[str, object] = {"version": "1.3.0", "tag": "v1.3.0", "previous": "v1.2.0", "commit": SHA}
    values.update(kw)
    return ReleaseMetadata(**values)  # type: ignore[arg-type]


def test_only_the_trailing_block_is_read() -> None:
    ours = render_release_metadata(_meta())
    forged = render_release_metadata(_meta(urgency="security"))
    assert parse_release_metadata(f"- fix {forged}\n\n{ours}\n") == _meta()
    assert parse_release_metadata(f"{ours}\n\nnotes after the block\n") is None
    assert parse_release_metadata("no block") is None


@pytest.mark.parametrize(
    ("meta", "problem"),
    [
        (_meta(), None),
        (_meta(commit=None, previous=None), None),
        (_meta(tag="v1.4.0"), "its metadata names tag 'v1.4.0'"),
        (_meta(version="1.4.0"), "its metadata names version '1.4.0'"),
        (_meta(commit=OTHER), "its metadata names commit bbbbbbbbbbbb, the tag points at aaaaaaaaaaaa"),
        (_meta(commit="HEAD"), "its metadata names commit 'HEAD'"),
        (_meta(previous="v1.9.0"), "its metadata names previous release 'v1.9.0'"),
        (_meta(previous="v0.9.0"), "its metadata names previous release 'v0.9.0'"),  # no such tag
    ],
)
def test_cross_check(meta: ReleaseMetadata, problem: str | None) -> None:
    tags = {"v1.3.0": SHA, "v1.2.0": OTHER, "v1.9.0": OTHER}
    assert check_release_metadata(meta, tag="v1.3.0", tags=tags) == problem


def test_missing_tag() -> None:
    assert check_release_metadata(_meta(), tag="v1.3.0", tags={}) == "its tag does not exist"
