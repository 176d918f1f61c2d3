"""Forge roles, the forge-kind registry and merge-commit subjects (``catalog_ops.forge``)."""

from __future__ import annotations

import pytest

from catalog_ops.errors import UsageError
from catalog_ops.forge import FORGE_KINDS, GITHUB_MERGE_SUBJECTS, forge_kind


def test_pr_numbers() -> None:
    assert GITHUB_MERGE_SUBJECTS.pull_number("feat: x (#12)") == 12
    assert GITHUB_MERGE_SUBJECTS.pull_number("Merge pull request #7 from acme/feature") == 7
    assert GITHUB_MERGE_SUBJECTS.pull_number("feat: see #12 for details") is None
    assert GITHUB_MERGE_SUBJECTS.strip_suffix("feat: x (#12)") == "feat: x"


def test_merge_subjects_round_trip() -> None:
    subject = GITHUB_MERGE_SUBJECTS.merge_subject(7, "acme", "feature")
    assert subject == "Merge pull request #7 from acme/feature"
    assert GITHUB_MERGE_SUBJECTS.is_merge(subject) and GITHUB_MERGE_SUBJECTS.pull_number(subject) == 7
    squash = GITHUB_MERGE_SUBJECTS.squash_subject("feat: x", 12)
    assert squash == "feat: x (#12)" and not GITHUB_MERGE_SUBJECTS.is_merge(squash)


def test_forge_kinds() -> None:
    assert list(FORGE_KINDS) == ["local", "github"]
    assert forge_kind("github").release_checks_gate and not forge_kind("local").release_checks_gate
    with pytest.raises(UsageError, match=r"forge must be 'local' or 'github', not 'gitlab'"):
        forge_kind("gitlab")
