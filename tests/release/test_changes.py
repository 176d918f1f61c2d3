"""release.changes: versions are tags; what changed is the git diff between them (synthetic catalogs)."""

from __future__ import annotations

from pathlib import Path

from catalog_ops.release.changes import changelog_sections, repo_tags, version_changes
from catalog_ops.release.history import GitHistory
from fixtures.gitrepo import GitRepo

ROOT_TF = 'variable "name" {\n  type = string\n}\n'
SG_TF = 'module "vpc" {\n  source = "../vpc"\n}\n'
EXAMPLE_TF = 'module "root" {\n  source = "../../"\n}\n'


def _catalog(repo: GitRepo) -> None:
    """Root module + modules/{vpc,sg} (sg uses vpc) + examples/ + wrappers/ + test/ (the
    terraform-aws-modules layout), tagged in every scheme and style."""
    repo.commit(
        "initial",
        {
            "main.tf": "# root\n",
            "variables.tf": ROOT_TF,
            "modules/vpc/main.tf": "# vpc\n",
            "modules/sg/main.tf": SG_TF,
            "examples/complete/main.tf": EXAMPLE_TF,
            "wrappers/main.tf": EXAMPLE_TF,
            "test/go.mod": "module t\n",
            "README.md": "catalog\n",
        },
    )
    repo.tag("v1.0.0")  # lightweight, no release anywhere
    repo.tag("modules/vpc/v0.1.0")
    repo.commit("fix(vpc): cidr", {"modules/vpc/main.tf": "# vpc 2\n"})
    repo.tag("v1.0.1", message="annotated")
    repo.tag("modules/vpc/v0.2.0", message="per-module")
    repo.commit(
        "chore(deps): bump test deps",
        {
            "test/go.mod": "module t // 2\n",
            "modules/vpc/examples/x/main.tf": "# ex\n",
            "examples/complete/x.tf": "#\n",
        },
    )
    repo.commit("docs", {"README.md": "docs\n", ".github/workflows/ci.yml": "on: push\n"})
    repo.commit("chore: wrappers", {"wrappers/main.tf": EXAMPLE_TF + "# w\n"})
    repo.tag("1.0.2")  # no v: the same repository-wide scheme
    repo.commit("fix: root variable", {"variables.tf": ROOT_TF + "# fixed\n"})
    repo.tag("v1.1.0")


def test_versions_are_tags_and_changes_come_from_git(git_repo: GitRepo, tmp_path: Path) -> None:
    _catalog(git_repo)
    history = GitHistory.clone(git_repo.url(), tmp_path / "clone")
    assert [t.name for t in repo_tags(history)] == [
        "modules/vpc/v0.1.0",
        "modules/vpc/v0.2.0",
        "v1.0.0",
        "v1.0.1",
        "1.0.2",
        "v1.1.0",
    ] or sorted(t.name for t in repo_tags(history)) == sorted(
        ["modules/vpc/v0.1.0", "modules/vpc/v0.2.0", "v1.0.0", "v1.0.1", "1.0.2", "v1.1.0"]
    )
    changes = {c.tag: c for c in version_changes(history)}
    first = changes["v1.0.0"]
    assert first.previous is None
    assert first.changed == (".", "modules/sg", "modules/vpc")
    # a module changed through its local-path dependency
    fix = changes["v1.0.1"]
    assert (fix.previous, fix.changed, dict(fix.via)) == (
        "v1.0.0",
        ("modules/vpc",),
        {"modules/sg": ("modules/vpc",)},
    )
    assert fix.subjects == {"modules/vpc": ("fix(vpc): cidr",)}
    assert fix.changes("modules/sg") and not fix.changes(".")
    # tests, examples, wrappers, docs and CI are not module changes
    quiet = changes["1.0.2"]
    assert (quiet.previous, quiet.changed, dict(quiet.via)) == ("v1.0.1", (), {})
    # a change to the root module's files is a change of the root module "."
    root = changes["v1.1.0"]
    assert (root.previous, root.changed) == ("1.0.2", (".",))
    assert root.subjects == {".": ("fix: root variable",)}
    # per-module tag prefixes form their own series
    per_module = changes["modules/vpc/v0.2.0"]
    assert per_module.previous == "modules/vpc/v0.1.0" and "modules/vpc" in per_module.changed


KEEP_A_CHANGELOG = """# Changelog

## [Unreleased]

## [1.2.0] - 2024-01-02
### Added
- `enable_flow_log` input.

## [1.1.0] - 2023-12-01
### Fixed
- NAT gateway count.
"""

CONVENTIONAL = """# Changelog

All notable changes to this project will be documented in this file.

## [6.6.1](https://github.com/acme/terraform-aws-vpc/compare/v6.6.0...v6.6.1) (2025-01-05)


### Bug Fixes

* Correct the route table tags ([#1](https://github.com/acme/terraform-aws-vpc/issues/1))

# [6.0.0](https://github.com/acme/terraform-aws-vpc/compare/v5.21.0...v6.0.0) (2025-01-01)


### ⚠ BREAKING CHANGES

* AWS provider v6
### [5.21.1](https://github.com/acme/terraform-aws-vpc/compare/v5.21.0...v5.21.1) (2024-12-01)

* patch
"""


def test_changelog_sections_in_both_formats() -> None:
    kac = changelog_sections(KEEP_A_CHANGELOG)
    assert kac == {
        "1.2.0": "### Added\n- `enable_flow_log` input.",
        "1.1.0": "### Fixed\n- NAT gateway count.",
    }
    cc = changelog_sections(CONVENTIONAL)
    assert cc["6.6.1"] == (
        "### Bug Fixes\n\n* Correct the route table tags ([#1](https://github.com/acme/terraform-aws-vpc/issues/1))"
    )
    assert cc["6.0.0"] == "### ⚠ BREAKING CHANGES\n\n* AWS provider v6"
    assert cc["5.21.1"] == "* patch"
