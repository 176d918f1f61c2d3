"""release.changes: versions are tags; what changed is the git diff between them (synthetic catalogs)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from catalog_ops import gitutil
from catalog_ops.catalog.layout import (
    DEFAULT_PATTERNS,
    classify_changes,
    discover_modules,
    local_module_graph,
)
from catalog_ops.errors import SourceParseError
from catalog_ops.release.changes import changelog_sections, repo_tags, version_changes
from catalog_ops.release.history import GitHistory, tree_diff
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


# ----------------------------------------------------------------------------- cost and equivalence
def _changing_catalog(repo: GitRepo, n: int) -> None:
    """``n`` tags, each after a commit that changes ``modules/vpc`` (which ``modules/sg`` uses)."""
    repo.commit(
        "initial", {"modules/vpc/main.tf": "# vpc\n", "modules/sg/main.tf": SG_TF, "main.tf": "# root\n"}
    )
    repo.tag("v1.0.0")
    for i in range(1, n):
        repo.commit(f"fix(vpc): change {i}", {"modules/vpc/main.tf": f"# vpc {i}\n"})
        repo.tag(f"v1.0.{i}", message=f"v1.0.{i}" if i % 2 else None)


def test_the_git_work_does_not_grow_with_the_number_of_tags(
    git_repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _changing_catalog(git_repo, 40)
    history = GitHistory.clone(git_repo.url(), tmp_path / "clone")
    calls: list[str] = []
    real = gitutil.run_git

    def counting(args: Sequence[str], **kwargs: Any) -> Any:
        calls.append(" ".join(args[:3]))
        return real(args, **kwargs)

    monkeypatch.setattr(gitutil, "run_git", counting)
    changes = version_changes(history)
    assert len(changes) == 40
    last = changes[-1]
    assert (last.tag, last.previous, last.changed, dict(last.via)) == (
        "v1.0.39",
        "v1.0.38",
        ("modules/vpc",),
        {"modules/sg": ("modules/vpc",)},
    )
    assert last.subjects == {"modules/vpc": ("fix(vpc): change 39",)}
    # tags, two batches of trees (root, modules/, modules/*), one of blobs, the history twice:
    # not one diff, checkout or log per tag
    assert len(calls) <= 8, calls
    # and the clone's work tree was never checked out
    assert [p.name for p in history.path.iterdir()] == [".git"]


def _git_lines(repo: GitRepo, *args: str) -> list[str]:
    out = repo.git(*args)
    return out.split("\n") if out else []


def test_merged_branches_and_tags_off_the_line_keep_git_logs_commit_order(
    git_repo: GitRepo, tmp_path: Path
) -> None:
    repo = git_repo
    repo.commit(
        "feat: init",
        {"modules/a/main.tf": "# a\n", "modules/b/main.tf": 'module "a" {\n  source = "../a"\n}\n'},
    )
    repo.tag("v1.0.0")
    repo.git("checkout", "-q", "-b", "hotfix")
    repo.commit("fix(b): hotfix", {"modules/b/extra.tf": "# hot\n"})
    repo.tag("v1.0.1")  # not an ancestor of v1.1.0: the range needs git
    repo.git("checkout", "-q", "main")
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("fix(a): one", {"modules/a/one.tf": "# 1\n"})
    repo.commit("fix(b): two", {"modules/b/two.tf": "# 2\n"})
    repo.git("checkout", "-q", "main")
    repo.commit("fix(a): three", {"modules/a/three.tf": "# 3\n"})
    repo.git("merge", "-q", "--no-ff", "-m", "Merge branch 'feature'", "feature")
    repo.tag("v1.1.0")
    repo.commit("feat(b): four", {"modules/b/four.tf": "# 4\n"})
    repo.tag("v1.2.0")  # its previous tag is the merge: a plain first-parent walk
    history = GitHistory.clone(repo.url(), tmp_path / "clone")
    changes = {c.tag: c for c in version_changes(history)}

    def expected(rng: str) -> dict[str, tuple[str, ...]]:
        """Subjects per module as the old per-range ``git log --topo-order`` gave them."""
        found: dict[str, list[str]] = {}
        shas = _git_lines(repo, "rev-list", "--topo-order", "--no-merges", rng)
        for sha in shas:
            subject = repo.git("log", "-1", "--format=%s", sha)
            for path in _git_lines(repo, "diff-tree", "--root", "--no-commit-id", "--name-only", "-r", sha):
                module = "/".join(path.split("/")[:2])
                if subject not in found.setdefault(module, []):
                    found[module].append(subject)
        return {m: tuple(s) for m, s in sorted(found.items())}

    merged = changes["v1.1.0"]
    assert merged.previous == "v1.0.1"
    assert merged.subjects == expected("v1.0.1..v1.1.0")
    assert set(merged.subjects) == {"modules/a", "modules/b"} and len(merged.subjects["modules/a"]) == 2
    assert changes["v1.2.0"].subjects == {"modules/b": ("feat(b): four",)}
    assert changes["v1.0.1"].subjects == {"modules/b": ("fix(b): hotfix",)}
    assert changes["v1.0.0"].subjects == expected("v1.0.0")


def test_tree_snapshots_answer_what_a_checkout_answers(git_repo: GitRepo, tmp_path: Path) -> None:
    repo = git_repo
    repo.commit(
        "one",
        {
            "shared.tf": 'module "a" {\n  source = "./modules/a"\n}\n',
            "modules/a/main.tf": "# a\r\n",
            "modules/b/main.tf.json": '{"module": {"a": {"source": "../a"}}}',
            # a syntax error in a file with a local path: reported the same way, then skipped
            "modules/bad/main.tf": 'module "x" {\n  source = "../a"\n  count = \n',
            "modules/docs/README.md": "not a module\n",
            "examples/x/main.tf": 'module "b" {\n  source = "../../modules/b"\n}\n',
            "dir/file": "x\n",
        },
    )
    (repo.path / "modules/c").mkdir()
    (repo.path / "modules/c/linked.tf").symlink_to("../../shared.tf")  # a module through a symlink
    (repo.path / "modules/d").mkdir()
    (repo.path / "modules/d/dangling.tf").symlink_to("../nowhere.tf")  # not a file: not a module
    repo.commit("links")
    one = repo.head()
    (repo.path / "modules/a/main.tf").chmod(0o755)  # a mode change is a change
    repo.git("rm", "-q", "-r", "dir")
    repo.commit("two", {"dir": "now a file\n", "modules/b/main.tf.json": '{"module": []}'})
    two = repo.head()
    history = GitHistory.clone(repo.url(), tmp_path / "clone")
    snaps = history.snapshots([one, two])
    assert tree_diff(snaps[one], snaps[two]) == sorted(
        gitutil.changed_paths(history.git_dir, one, two, since_merge_base=False)
    )
    assert tree_diff(None, snaps[one]) == sorted(gitutil.list_tree(history.git_dir, one))
    for sha in (one, two):
        history.checkout(sha)
        for patterns in (DEFAULT_PATTERNS, ("modules/*", "examples/*"), ("modules/[ab]",)):
            mods = discover_modules(history.path, patterns)
            assert discover_modules(snaps[sha], patterns) == mods
            disk_errors: list[SourceParseError] = []
            snap_errors: list[SourceParseError] = []
            graph = local_module_graph(history.path, mods, errors=disk_errors)
            assert local_module_graph(snaps[sha], mods, errors=snap_errors) == graph
            assert [str(e) for e in snap_errors] == [str(e) for e in disk_errors]
        defaults = discover_modules(snaps[sha])
        assert "modules/c" in defaults and "modules/d" not in defaults
        assert classify_changes(snaps[sha], ["examples/x/main.tf"]) == classify_changes(
            history.path, ["examples/x/main.tf"]
        )
