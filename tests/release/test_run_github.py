"""Releases through GitHubForge on the GitHub emulator: real git history pushed to the emulator's
repositories, PRs merged through the REST API, tags/releases created through the API."""

from __future__ import annotations

import json
from typing import Any

import pytest

from catalog_ops import cli
from catalog_ops.core.metadata import parse_release_metadata
from catalog_ops.errors import ReleaseError
from catalog_ops.release.model import ReleaseOptions
from catalog_ops.release.run import run_release
from fixtures.release import Catalog

HTML = "https://github.example/acme/catalog"


def _release(cat: Catalog, **kw: Any) -> Any:
    kw.setdefault("checks_gate", False)
    [plan] = run_release(cat.forge, cat.repo, ReleaseOptions(**kw))
    return plan


def _c(sha: str) -> str:
    return f"[`{sha[:7]}`]({HTML}/commit/{sha})"


def test_release_on_github(github_release_catalog: Catalog, github_emulator: Any) -> None:
    cat = github_release_catalog
    cat.tag("v1.2.0")
    fix = cat.commit("fix(s3): encrypt bucket", {"modules/s3/x.tf": "#\n"})
    pr1, squash = cat.pull_request(
        "rename",
        [("wip", {"modules/vpc/o.tf": "#\n"}), ("wip 2", {"modules/vpc/p.tf": "#\n"})],
        title="Rename VPC outputs",
        body="Why.\r\n\r\n## Migration\r\n\r\nUse `vpc_id`.\r\n",
        labels=["semver:major"],
    )
    pr2, merge = cat.pull_request(
        "sec",
        [("fix: pin", {"modules/eks/versions.tf": "#\n"})],
        title="fix(eks): pin provider",
        labels=["security"],
        method="merge",
    )
    head = cat.sync()
    assert head == merge
    before = dict(cat.forge.request_counts())
    plan = _release(cat)
    after = cat.forge.request_counts()
    assert (plan.status, plan.tag, plan.previous, plan.target) == ("released", "v2.0.0", "v1.2.0", head)
    tags = {t.name: t for t in cat.forge.list_tags(cat.repo)}
    assert tags["v2.0.0"].sha == head
    assert tags["v2.0.0"].message == "Release v2.0.0\n\nCreated-by: catalog-ops"
    rel = cat.forge.get_release(cat.repo, "v2.0.0")
    assert rel is not None and rel.url == f"{HTML}/releases/tag/v2.0.0"
    expected = f"""> [!IMPORTANT]
> Security release: upgrade promptly.

Changes since [`v1.2.0`]({HTML}/compare/v1.2.0...v2.0.0).

## Breaking changes

### `modules/vpc`

- Rename VPC outputs ([#{pr1.number}]({HTML}/pull/{pr1.number}), {_c(squash)})

## Security

### `modules/eks`

- **eks:** pin provider ([#{pr2.number}]({HTML}/pull/{pr2.number}), {_c(merge)})

## Fixes

### `modules/s3`

- **s3:** encrypt bucket ({_c(fix)})

## Migration

### Rename VPC outputs ([#{pr1.number}]({HTML}/pull/{pr1.number}), {_c(squash)})

Use `vpc_id`.

## Modules

| Module | Change |
|---|---|
| `modules/eks` | changed |
| `modules/s3` | changed |
| `modules/vpc` | changed |
| `modules/vpc-peering` | uses a changed module (`modules/vpc`) |
"""
    assert rel.body.startswith(expected + "\n<!-- catalog-ops:release-metadata ")
    meta = parse_release_metadata(rel.body)
    assert meta is not None
    assert (meta.version, meta.tag, meta.previous, meta.urgency, meta.breaking, meta.commit) == (
        "2.0.0",
        "v2.0.0",
        "v1.2.0",
        "security",
        True,
        head,
    )
    assert sorted(meta.modules) == ["modules/eks", "modules/s3", "modules/vpc", "modules/vpc-peering"]
    assert meta.modules["modules/vpc"].migration == ("Use `vpc_id`.",)
    assert meta.modules["modules/vpc-peering"].via == ("modules/vpc",)
    # writes: tag object, tag ref, release
    assert after["content_creating"] - before.get("content_creating", 0) == 3

    # re-run: nothing created, no content-creating request
    before = dict(cat.forge.request_counts())
    again = _release(cat)
    assert again.status == "exists" and again.release_url == rel.url
    assert cat.forge.request_counts().get("content_creating", 0) == before.get("content_creating", 0)
    assert len(cat.forge.list_releases(cat.repo)) == 1


def test_prereleases_and_no_v_on_github(github_release_catalog: Catalog) -> None:
    cat = github_release_catalog
    cat.tag("0.9.0")
    cat.commit("feat(s3): replication", {"modules/s3/r.tf": "#\n"})
    rc0 = _release(cat, prerelease="rc")
    assert (rc0.tag, rc0.previous) == ("0.10.0-rc.0", "0.9.0")
    rel = cat.forge.get_release(cat.repo, "0.10.0-rc.0")
    assert rel is not None and rel.prerelease
    head = cat.commit("feat(s3)!: drop v1 API", {"modules/s3/r.tf": "# 2\n"})
    rc1 = _release(cat, prerelease="rc")  # breaking before 1.0 stays in the minor series
    assert (rc1.tag, rc1.previous) == ("0.10.0-rc.1", "0.10.0-rc.0")
    final = _release(cat)
    assert (final.tag, final.previous, final.target) == ("0.10.0", "0.9.0", head)
    assert final.breaking
    rel = cat.forge.get_release(cat.repo, "0.10.0")
    assert rel is not None and not rel.prerelease
    assert "drop v1 API" in rel.body and "replication" in rel.body


def test_module_tags_on_github(github_release_catalog: Catalog) -> None:
    cat = github_release_catalog
    cat.tag("modules/vpc/v1.0.0")
    cat.tag("modules/vpc-peering/v1.0.0")
    head = cat.commit("fix(vpc): mtu", {"modules/vpc/m.tf": "#\n"})
    plan = _release(cat, tag_scheme="module", module="modules/vpc-peering")
    assert (plan.tag, plan.previous, plan.target) == (
        "modules/vpc-peering/v1.0.1",
        "modules/vpc-peering/v1.0.0",
        head,
    )
    assert plan.metadata is not None
    assert plan.metadata.modules["modules/vpc-peering"].via == ("modules/vpc",)
    assert "Uses `modules/vpc`, which changed:" in plan.metadata.modules["modules/vpc-peering"].notes
    names = {t.name for t in cat.forge.list_tags(cat.repo)}
    assert "modules/vpc-peering/v1.0.1" in names and "modules/vpc/v1.0.1" not in names


def test_not_on_default_branch_on_github(github_release_catalog: Catalog) -> None:
    cat = github_release_catalog
    cat.tag("v1.0.0")
    base = cat.commit("fix: a", {"modules/s3/a.tf": "#\n"})
    side = cat.forge.commit_files(cat.repo, "side", parent_sha=base, message="fix: side", changes=[])
    with pytest.raises(ReleaseError, match="not on the default branch 'main'"):
        _release(cat, ref=side)
    assert [t.name for t in cat.forge.list_tags(cat.repo)] == ["v1.0.0"]


def test_checks_gate_uses_commit_statuses(github_release_catalog: Catalog, github_emulator: Any) -> None:
    cat = github_release_catalog
    cat.tag("v1.0.0")
    head = cat.commit("fix(s3): a", {"modules/s3/a.tf": "#\n"})
    github_emulator.set_status(cat.repo, head, "failure")
    with pytest.raises(ReleaseError, match="are failure"):
        run_release(cat.forge, cat.repo, ReleaseOptions())
    github_emulator.set_status(cat.repo, head, "success")
    [plan] = run_release(cat.forge, cat.repo, ReleaseOptions())
    assert (plan.tag, plan.checks) == ("v1.0.1", "success")


def test_cli_on_github(
    github_release_catalog: Catalog,
    github_emulator: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cat = github_release_catalog
    cat.tag("v3.1.0")
    head = cat.commit("feat(eks): node pools", {"modules/eks/np.tf": "#\n"})
    monkeypatch.setenv("GITHUB_TOKEN", github_emulator.token)
    monkeypatch.setenv("CATALOG_OPS_WRITE_INTERVAL", "0.001")
    argv = ["--forge", "github", "--github-api-url", github_emulator.api_url, "release", "--repo", cat.repo]
    assert cli.main([*argv, "--no-checks-gate", "--json"]) == 0
    out = capsys.readouterr()
    assert github_emulator.token not in out.out + out.err
    [rel] = json.loads(out.out)["releases"]
    assert (rel["status"], rel["tag"], rel["commit"], rel["release_url"]) == (
        "released",
        "v3.2.0",
        head,
        f"{HTML}/releases/tag/v3.2.0",
    )
    assert rel["created"] == ["tag", "release"]
    assert cli.main([*argv, "--no-checks-gate"]) == 0
    assert "already released as v3.2.0" in capsys.readouterr().out
