"""Releases end to end on LocalForge: real git histories, tags, PRs (squash/merge), notes, metadata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from catalog_ops import cli
from catalog_ops.core.metadata import parse_release_metadata
from catalog_ops.errors import ReleaseError, UsageError
from catalog_ops.forge.base import ChecksState
from catalog_ops.release.model import ReleaseOptions
from catalog_ops.release.run import run_release
from catalog_ops.release.version import tag_message
from fixtures.release import Catalog, make_catalog

VPC_OUT = {"modules/vpc/outputs.tf": 'output "vpc_id" {\n  value = 1\n}\n'}


def _tags(cat: Catalog) -> dict[str, tuple[str, str | None]]:
    return {t.name: (t.sha, t.message) for t in cat.forge.list_tags(cat.repo)}


def _release(cat: Catalog, **kw: Any) -> Any:
    plans = run_release(cat.forge, cat.repo, ReleaseOptions(**kw))
    assert len(plans) == 1
    return plans[0]


def test_full_release_notes_and_metadata(release_catalog: Catalog) -> None:
    cat = release_catalog
    cat.tag("v1.2.0")
    fix = cat.commit(
        "fix(s3): encrypt bucket", {"modules/s3/main.tf": 'resource "null_resource" "s3" {}\n# enc\n'}
    )
    pr1, squash = cat.pull_request(
        "rename",
        [("feat: rename", VPC_OUT)],
        title="feat(vpc)!: rename outputs",
        body="Renames.\n\n## Migration\n\nUse `vpc_id` instead of `id`.\n\n## Testing\n\nplan\n",
    )
    pr2, merge = cat.pull_request(
        "eks-docs",
        [
            ("docs: example", {"modules/eks/examples/basic/main.tf": "# ex\n"}),
            ("docs: more", {"test/eks_test.go": "package test\n"}),
        ],
        title="docs: examples for eks",
        method="merge",
    )
    sec = cat.commit("fix(security): block public access", {"modules/s3/policy.tf": "# p\n"})
    head = cat.commit("chore: tidy", {"README.md": "# catalog!\n"})

    plan = _release(cat)

    assert (plan.status, plan.tag, plan.previous, plan.target) == ("released", "v2.0.0", "v1.2.0", head)
    assert _tags(cat)["v2.0.0"] == (head, "Release v2.0.0\n\nCreated-by: catalog-ops")
    release = cat.forge.get_release(cat.repo, "v2.0.0")
    assert release is not None and not release.prerelease and release.name == "v2.0.0"
    html = cat.forge.get_repo(cat.repo).html_url

    def c(sha: str) -> str:
        return f"[`{sha[:7]}`]({html}/commit/{sha})"

    expected = f"""> [!IMPORTANT]
> Security release: upgrade promptly.

Changes since [`v1.2.0`]({html}/compare/v1.2.0...v2.0.0).

## Breaking changes

### `modules/vpc`

- **vpc:** rename outputs ([#{pr1.number}]({pr1.url}), {c(squash)})

## Security

### `modules/s3`

- **security:** block public access ({c(sec)})

## Fixes

### `modules/s3`

- **s3:** encrypt bucket ({c(fix)})

## Other

### Tests and examples

- examples for eks ([#{pr2.number}]({pr2.url}), {c(merge)})

### General

- tidy ({c(head)})

## Migration

### **vpc:** rename outputs ([#{pr1.number}]({pr1.url}), {c(squash)})

Use `vpc_id` instead of `id`.

## Modules

| Module | Change |
|---|---|
| `modules/s3` | changed |
| `modules/vpc` | changed |
| `modules/eks` | uses a changed module (`modules/vpc`) |
| `modules/vpc-peering` | uses a changed module (`modules/vpc`) |
"""
    assert release.body.startswith(expected + "\n<!-- catalog-ops:release-metadata {")
    assert release.body.endswith(" -->\n")
    meta = parse_release_metadata(release.body)
    assert meta is not None
    assert meta.to_json() == {
        "schema": 1,
        "version": "2.0.0",
        "tag": "v2.0.0",
        "previous": "v1.2.0",
        "urgency": "security",
        "breaking": True,
        "commit": head,
        "prerelease": False,
        "module": None,
        "modules": {
            "modules/eks": {
                "changed": True,
                "tests_only": False,
                "breaking": False,
                "notes": [
                    "Uses `modules/vpc`, which changed:",
                    f"`modules/vpc`: **vpc:** rename outputs ([#{pr1.number}]({pr1.url}), {c(squash)})",
                ],
                "migration": [],
                "via": ["modules/vpc"],
            },
            "modules/s3": {
                "changed": True,
                "tests_only": False,
                "breaking": False,
                "notes": [
                    f"**security:** block public access ({c(sec)})",
                    f"**s3:** encrypt bucket ({c(fix)})",
                ],
                "migration": [],
                "via": [],
            },
            "modules/vpc": {
                "changed": True,
                "tests_only": False,
                "breaking": True,
                "notes": [f"**vpc:** rename outputs ([#{pr1.number}]({pr1.url}), {c(squash)})"],
                "migration": ["Use `vpc_id` instead of `id`."],
                "via": [],
            },
            "modules/vpc-peering": {
                "changed": True,
                "tests_only": False,
                "breaking": False,
                "notes": [
                    "Uses `modules/vpc`, which changed:",
                    f"`modules/vpc`: **vpc:** rename outputs ([#{pr1.number}]({pr1.url}), {c(squash)})",
                ],
                "migration": [],
                "via": ["modules/vpc"],
            },
        },
    }


def test_rerun_creates_nothing(release_catalog: Catalog) -> None:
    cat = release_catalog
    cat.tag("v1.0.0")
    head = cat.commit("feat(s3): lifecycle rules", {"modules/s3/lc.tf": "# lc\n"})
    first = _release(cat)
    assert (first.status, first.tag) == ("released", "v1.1.0")
    assert first.created == ["tag", "release"]
    tags, releases = _tags(cat), cat.forge.list_releases(cat.repo)
    again = _release(cat)
    assert again.status == "exists"
    assert again.created == []
    assert "already released as v1.1.0" in again.message
    assert _tags(cat) == tags and cat.forge.list_releases(cat.repo) == releases
    assert _tags(cat)["v1.1.0"][0] == head


def test_no_releasable_commits(release_catalog: Catalog) -> None:
    cat = release_catalog
    cat.tag("v1.0.0")
    cat.commit("docs: readme", {"README.md": "more\n"})
    cat.commit("test(vpc): example", {"modules/vpc/examples/a/main.tf": "# a\n"})
    plan = _release(cat)
    assert plan.status == "nothing" and plan.tag is None
    assert "no releasable commits since v1.0.0 (2 commit(s)" in plan.message
    assert set(_tags(cat)) == {"v1.0.0"} and cat.forge.list_releases(cat.repo) == []
    # an explicit bump still releases
    forced = _release(cat, bump="patch")
    assert (forced.status, forced.tag) == ("released", "v1.0.1")
    assert forced.changes is not None and forced.changes.tests_only == ("modules/vpc",)
    assert forced.metadata is not None
    vpc = forced.metadata.modules["modules/vpc"]
    assert (vpc.changed, vpc.tests_only) == (False, True)


def test_nothing_since_the_last_tag(release_catalog: Catalog) -> None:
    cat = release_catalog
    cat.tag("v1.0.0")
    plan = _release(cat)
    assert plan.status == "exists"
    assert "already released as v1.0.0" in plan.message
    assert "not made by catalog-ops" in plan.message
    assert cat.forge.list_releases(cat.repo) == []


def test_no_v_style_is_kept_and_foreign_tags_ignored(release_catalog: Catalog) -> None:
    cat = release_catalog
    cat.tag("1.4.0")
    cat.tag("release-9", annotated=False)
    cat.tag("modules/vpc/v7.0.0")
    head = cat.commit("fix(vpc): typo", {"modules/vpc/main.tf": "# fixed\n"})
    plan = _release(cat)
    assert (plan.tag, plan.previous) == ("1.4.1", "1.4.0")
    assert _tags(cat)["1.4.1"][0] == head


def test_first_release_pre_one_zero_and_breaking(release_catalog: Catalog) -> None:
    cat = release_catalog
    cat.commit("feat(vpc): first", {"modules/vpc/a.tf": "# a\n"})
    plan = _release(cat)
    assert (plan.tag, plan.previous) == ("v0.1.0", None)
    assert "First release." in plan.notes
    assert plan.changes is not None and "modules/s3" in plan.changes.changed
    cat.commit("feat(vpc)!: breaking before 1.0", {"modules/vpc/a.tf": "# b\n"})
    assert _release(cat).tag == "v0.2.0"
    cat.commit("fix: x\n\nBREAKING-CHANGE: footer form", {"modules/vpc/a.tf": "# c\n"})
    assert _release(cat).tag == "v0.3.0"
    cat.commit("fix: y", {"modules/vpc/a.tf": "# d\n"})
    assert _release(cat, bump="major").tag == "v1.0.0"
    cat.commit("fix: z\n\nBREAKING CHANGE: now it is major", {"modules/vpc/a.tf": "# e\n"})
    assert _release(cat).tag == "v2.0.0"


def test_mentioning_breaking_change_is_a_patch(release_catalog: Catalog) -> None:
    cat = release_catalog
    cat.tag("v1.0.0")
    cat.commit("fix(s3): x\n\nThis is not a BREAKING CHANGE: nothing to do.", {"modules/s3/x.tf": "#\n"})
    plan = _release(cat)
    assert plan.tag == "v1.0.1" and not plan.breaking


def test_pr_labels_decide(release_catalog: Catalog) -> None:
    cat = release_catalog
    cat.tag("v1.0.0")
    cat.pull_request(
        "bump",
        [("update things", {"modules/s3/x.tf": "#\n"})],
        title="Update S3 defaults",
        labels=["semver:minor"],
    )
    plan = _release(cat)
    assert plan.tag == "v1.1.0"
    assert "## Features" in plan.notes and "- Update S3 defaults (" in plan.notes
    cat.pull_request("bump2", [("x", {"modules/s3/y.tf": "#\n"})], title="Rework", labels=["semver:major"])
    plan = _release(cat)
    assert plan.tag == "v2.0.0" and plan.breaking


def test_prereleases_then_final(release_catalog: Catalog) -> None:
    cat = release_catalog
    cat.tag("v1.2.0")
    cat.commit("feat(vpc): ipv6", {"modules/vpc/v6.tf": "#\n"})
    rc0 = _release(cat, prerelease="rc")
    assert (rc0.tag, rc0.previous, rc0.prerelease) == ("v1.3.0-rc.0", "v1.2.0", True)
    rel = cat.forge.get_release(cat.repo, "v1.3.0-rc.0")
    assert rel is not None and rel.prerelease
    assert _release(cat, prerelease="rc").status == "exists"
    head = cat.commit("fix(vpc): ipv6 route", {"modules/vpc/v6.tf": "# 2\n"})
    rc1 = _release(cat, prerelease="rc")
    assert (rc1.tag, rc1.previous) == ("v1.3.0-rc.1", "v1.3.0-rc.0")
    assert "ipv6 route" in rc1.notes and "**vpc:** ipv6 (" not in rc1.notes
    final = _release(cat)
    assert (final.tag, final.previous, final.target, final.prerelease) == ("v1.3.0", "v1.2.0", head, False)
    assert "**vpc:** ipv6 (" in final.notes and "ipv6 route" in final.notes
    assert _tags(cat)["v1.3.0"][0] == _tags(cat)["v1.3.0-rc.1"][0] == head
    assert _release(cat).status == "exists"


def test_ref_rules(release_catalog: Catalog) -> None:
    cat = release_catalog
    cat.tag("v1.0.0")
    old = cat.commit("fix: one", {"modules/s3/1.tf": "#\n"})
    cat.commit("fix: two", {"modules/s3/2.tf": "#\n"})
    side = cat.forge.commit_files(cat.repo, "feature", parent_sha=old, message="feat: side", changes=[])
    with pytest.raises(ReleaseError, match="not on the default branch"):
        _release(cat, ref=side)
    with pytest.raises(UsageError, match="no such commit, tag or branch in acme/catalog"):
        _release(cat, ref="f" * 40)
    plan = _release(cat, ref=old[:10])
    assert (plan.tag, plan.target) == ("v1.0.1", old)
    assert "two" not in plan.notes
    head_plan = _release(cat)
    assert head_plan.tag == "v1.0.2"
    with pytest.raises(ReleaseError, match=r"older than the latest release v1\.0\.2"):
        _release(cat, ref=cat.work.git("rev-parse", "HEAD~2"))


def test_plain_git_merges_and_github_merge_subjects(release_catalog: Catalog) -> None:
    cat = release_catalog
    cat.tag("v1.0.0")
    w = cat.work
    w.git("checkout", "-q", "-b", "topic")
    a = w.commit("feat(s3): a", {"modules/s3/a.tf": "#\n"})
    b = w.commit("fix(s3): b", {"modules/s3/b.tf": "#\n"})
    w.git("checkout", "-q", "main")
    w.commit("docs: main moved", {"README.md": "x\n"})
    w.git(
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge pull request #41 from acme/topic\n\nfeat(s3): topic work",
        "topic",
    )
    w.git("checkout", "-q", "-b", "plain", "HEAD~1")
    w.commit("fix(vpc): plain branch", {"modules/vpc/p.tf": "#\n"})
    w.git("checkout", "-q", "main")
    w.git("merge", "-q", "--no-ff", "-m", "Merge branch 'plain'", "plain")
    cat.push()
    plan = _release(cat)
    assert plan.tag == "v1.1.0"
    keys = [e.key for e in plan.entries]
    assert "pr:41" in keys and f"commit:{a}" not in keys and f"commit:{b}" not in keys
    topic = next(e for e in plan.entries if e.key == "pr:41")
    assert topic.title == "feat(s3): topic work" and {a, b} <= {c.sha for c in topic.commits}
    assert not any("Merge branch" in e.title for e in plan.entries)
    assert "- **vpc:** plain branch (" in plan.notes


def test_module_tag_scheme(release_catalog: Catalog) -> None:
    cat = release_catalog
    cat.tag("modules/vpc/v1.0.0")
    cat.tag("modules/vpc-peering/v2.0.0")
    cat.tag("v5.0.0")
    head = cat.commit("fix(vpc-peering): routes", {"modules/vpc-peering/r.tf": "#\n"})
    assert _release(cat, module="modules/vpc", tag_scheme="module").status == "nothing"
    plan = _release(cat, module="modules/vpc-peering", tag_scheme="module")
    assert (plan.tag, plan.previous, plan.target) == (
        "modules/vpc-peering/v2.0.1",
        "modules/vpc-peering/v2.0.0",
        head,
    )
    assert plan.metadata is not None and plan.metadata.module == "modules/vpc-peering"
    assert list(plan.metadata.modules) == ["modules/vpc-peering"]
    # all modules: eks has no tag yet and uses vpc-peering; s3 only has the initial chore
    cat.commit("fix(vpc): mtu", {"modules/vpc/m.tf": "#\n"})
    plans = run_release(cat.forge, cat.repo, ReleaseOptions(tag_scheme="module"))
    by_module = {p.scheme.module: (p.status, p.tag) for p in plans}
    assert by_module == {
        "modules/eks": ("released", "modules/eks/v0.0.1"),
        "modules/s3": ("nothing", None),
        "modules/vpc": ("released", "modules/vpc/v1.0.1"),
        "modules/vpc-peering": ("released", "modules/vpc-peering/v2.0.2"),
    }
    peering = next(p for p in plans if p.scheme.module == "modules/vpc-peering")
    assert peering.metadata is not None
    assert peering.metadata.modules["modules/vpc-peering"].via == ("modules/vpc",)
    assert "v5.0.0" in _tags(cat) and "v5.0.1" not in _tags(cat)


def test_tag_without_release_is_completed(release_catalog: Catalog) -> None:
    cat = release_catalog
    cat.tag("v1.0.0")
    head = cat.commit("fix(s3): x", {"modules/s3/x.tf": "#\n"})
    cat.tag("v1.0.1", message=tag_message("v1.0.1"))
    plan = _release(cat)
    assert plan.status == "completed" and plan.created == ["release"]
    rel = cat.forge.get_release(cat.repo, "v1.0.1")
    assert rel is not None
    meta = parse_release_metadata(rel.body)
    assert meta is not None and (meta.previous, meta.commit) == ("v1.0.0", head)


class _GatedForge:
    """A LocalForge that reports commit checks like GitHub (kind "github")."""

    kind = "github"

    def __init__(self, inner: Any, state: ChecksState) -> None:
        self._inner, self.state, self.asked = inner, state, []

    def commit_checks_state(self, repo: str, sha: str) -> ChecksState:
        self.asked.append(sha)
        return self.state

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_checks_gate(release_catalog: Catalog) -> None:
    cat = release_catalog
    cat.tag("v1.0.0")
    head = cat.commit("fix(s3): x", {"modules/s3/x.tf": "#\n"})
    gated = _GatedForge(cat.forge, ChecksState.FAILURE)
    with pytest.raises(ReleaseError, match=r"checks on .* are failure"):
        run_release(gated, cat.repo, ReleaseOptions())
    assert gated.asked == [head] and "v1.0.1" not in _tags(cat)
    gated.state = ChecksState.PENDING
    with pytest.raises(ReleaseError, match="pending"):
        run_release(gated, cat.repo, ReleaseOptions())
    [plan] = run_release(gated, cat.repo, ReleaseOptions(checks_gate=False))
    assert plan.tag == "v1.0.1"
    cat.commit("fix(s3): y", {"modules/s3/y.tf": "#\n"})
    gated.state = ChecksState.SUCCESS
    [plan] = run_release(gated, cat.repo, ReleaseOptions())
    assert (plan.tag, plan.checks) == ("v1.0.2", "success")
    # the local forge has no commit checks: the gate is off by default, and refuses when forced on
    cat.commit("fix(s3): z", {"modules/s3/z.tf": "#\n"})
    with pytest.raises(ReleaseError, match="cannot report the checks"):
        _release(cat, checks_gate=True)
    # a github-kind forge without the capability: the default gate warns instead of blocking
    [plan] = run_release(_KindOnly(cat.forge), cat.repo, ReleaseOptions())
    assert plan.tag == "v1.0.3" and plan.checks is None
    assert plan.warnings == [
        "checks gate skipped: the github forge cannot report commit checks (pass --checks-gate to require it)"
    ]


class _KindOnly:
    """A LocalForge posing as kind "github" without ``commit_checks_state``."""

    kind = "github"

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "commit_checks_state":
            raise AttributeError(name)
        return getattr(self._inner, name)


def test_template_override_and_errors(release_catalog: Catalog, tmp_path: Path) -> None:
    cat = release_catalog
    cat.tag("v1.0.0")
    cat.commit("feat(s3): x", {"modules/s3/x.tf": "#\n"})
    tpl = tmp_path / "notes.md.j2"
    tpl.write_text(
        "Release {{ release.tag }} ({{ release.bump }})\n{% for s in sections %}{% for g in s.groups %}"
        "{% for e in g.entries %}* [{{ s.title }}] {{ g.module }}: {{ e.text }}\n{% endfor %}{% endfor %}{% endfor %}"
    )
    plan = _release(cat, template=tpl, dry_run=True)
    assert plan.notes == "Release v1.1.0 (minor)\n* [Features] modules/s3: **s3:** x\n"
    assert plan.body.startswith(plan.notes + "\n<!-- catalog-ops:release-metadata ")
    assert plan.status == "release" and "v1.1.0" not in _tags(cat)
    tpl.write_text("line one\n{% for x in %}\n")
    with pytest.raises(UsageError, match=rf"{tpl}:2:1: template syntax error"):
        _release(cat, template=tpl, dry_run=True)


def _cli(forge_root: Path, *args: str) -> int:
    return cli.main(
        ["--forge", "local", "--local-root", str(forge_root), "release", "--repo", "acme/catalog", *args]
    )


def test_cli_dry_run_json_and_text(release_catalog: Catalog, capsys: pytest.CaptureFixture[str]) -> None:
    cat = release_catalog
    root = cat.forge.root
    cat.tag("v1.0.0")
    head = cat.commit("feat(vpc): x", {"modules/vpc/x.tf": "#\n"})
    assert _cli(root, "--dry-run", "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    [rel] = doc["releases"]
    assert doc["dry_run"] is True
    assert (rel["status"], rel["tag"], rel["version"], rel["previous"], rel["commit"]) == (
        "release",
        "v1.1.0",
        "1.1.0",
        "v1.0.0",
        head,
    )
    assert rel["modules"]["changed"] == ["modules/vpc"]
    assert rel["modules"]["via_dependency"] == ["modules/eks", "modules/vpc-peering"]
    assert rel["metadata"]["tag"] == "v1.1.0"
    assert "v1.1.0" not in _tags(cat)
    assert _cli(root, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "acme/catalog: v1.0.0 -> v1.1.0 (minor: 1 feat)" in out
    assert "changed modules: modules/vpc" in out and "## Features" in out
    assert _cli(root, "--urgency", "security") == 0
    capsys.readouterr()
    rel_obj = cat.forge.get_release(cat.repo, "v1.1.0")
    assert rel_obj is not None
    meta = parse_release_metadata(rel_obj.body)
    assert meta is not None and meta.urgency == "security"
    assert _cli(root) == 0
    assert "already released as v1.1.0" in capsys.readouterr().out
    assert _cli(root, "--module", "modules/vpc", "--tag-scheme", "repo") == 2
    assert _cli(root, "--prerelease", "1bad") == 2


def test_cli_writes_github_outputs(
    release_catalog: Catalog,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cat = release_catalog
    cat.tag("v1.0.0")
    cat.commit("fix(s3): x", {"modules/s3/x.tf": "#\n"})
    out, summary = tmp_path / "out", tmp_path / "summary"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert _cli(cat.forge.root) == 0
    text = out.read_text()
    assert "released<<" in text and "\ntrue\n" in text and "\nv1.0.1\n" in text
    assert "acme/catalog: released v1.0.1 (previous v1.0.0)" in summary.read_text()
    assert "## Fixes" in summary.read_text()


def test_make_catalog_on_other_repo_names(local_forge: Any, tmp_path: Path) -> None:
    cat = make_catalog(local_forge, tmp_path, {"main.tf": "# root module\n"}, repo="acme/single")
    cat.tag("v0.1.0")
    cat.commit("feat: root change", {"main.tf": "# changed\n"})
    plan = _release(cat)
    assert plan.tag == "v0.2.0"
    # a single-module repository: its root is the module "." (found without configuration)
    assert plan.changes is not None and plan.changes.changed == (".",) and plan.changes.unowned == ()
    assert plan.metadata is not None and list(plan.metadata.modules) == ["."]


def test_module_scheme_one_failure_does_not_stop_the_others(
    release_catalog: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    cat = release_catalog
    base = cat.work.head()
    for m in ("vpc", "vpc-peering", "eks", "s3"):
        cat.tag(f"modules/{m}/v1.0.0")
    cat.commit("fix(s3): a", {"modules/s3/a.tf": "#\n"})
    head = cat.commit("fix(vpc): b", {"modules/vpc/b.tf": "#\n"})
    # someone tagged modules/s3/v1.0.1 on a side branch: s3's next tag collides
    side = cat.forge.commit_files(cat.repo, "side", parent_sha=base, message="side", changes=[])
    cat.forge.create_tag(cat.repo, name="modules/s3/v1.0.1", sha=side, message="manual")
    code = _cli(cat.forge.root, "--tag-scheme", "module", "--json")
    assert code == 1
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    status = {r["module"]: (r["status"], r["tag"]) for r in doc["releases"]}
    assert status == {
        "modules/eks": ("released", "modules/eks/v1.0.1"),
        "modules/s3": ("failed", "modules/s3/v1.0.1"),
        "modules/vpc": ("released", "modules/vpc/v1.0.1"),
        "modules/vpc-peering": ("released", "modules/vpc-peering/v1.0.1"),
    }
    assert "1 of 4 release(s) failed" in captured.err
    assert "tag modules/s3/v1.0.1 already exists on" in captured.err
    assert _tags(cat)["modules/vpc/v1.0.1"][0] == head


def test_rebase_merged_pr_is_one_entry_with_its_labels_and_migration(release_catalog: Catalog) -> None:
    cat = release_catalog
    cat.tag("v1.0.0")
    pr, head = cat.pull_request(
        "multi",
        [("fix(s3): one", {"modules/s3/1.tf": "#\n"}), ("fix(vpc): two", {"modules/vpc/2.tf": "#\n"})],
        title="S3 and VPC fixes",
        body="## Migration\nNothing to do.\n",
        labels=["semver:minor"],
        method="rebase",
    )
    plan = _release(cat)
    assert plan.tag == "v1.1.0"
    [entry] = plan.entries
    assert (entry.key, entry.title, entry.labels, entry.migration) == (
        f"pr:{pr.number}",
        "S3 and VPC fixes",
        ("semver:minor",),
        ("Nothing to do.",),
    )
    assert entry.modules == ("modules/s3", "modules/vpc")
    assert len(entry.commits) == 2 and entry.commits[0].sha == head
    assert plan.notes.count("S3 and VPC fixes") == 3  # under both modules, and in Migration


def test_pr_lookups_only_for_first_parent_commits_and_capped(
    release_catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    import catalog_ops.release.run as release_mod

    cat = release_catalog
    cat.tag("v1.0.0")
    w = cat.work
    w.git("checkout", "-q", "-b", "topic")
    branch_commit = w.commit("fix(s3): on a branch", {"modules/s3/b.tf": "#\n"})
    w.git("checkout", "-q", "main")
    w.git("merge", "-q", "--no-ff", "-m", "Merge pull request #3 from acme/topic\n\nfix(s3): topic", "topic")
    for i in range(3):
        w.commit(f"fix(vpc): {i}", {f"modules/vpc/{i}.tf": "#\n"})
    cat.push()
    asked: list[str] = []
    real = cat.forge.pulls_for_commit

    def spy(repo: str, sha: str) -> Any:
        asked.append(sha)
        return real(repo, sha)

    monkeypatch.setattr(cat.forge, "pulls_for_commit", spy)
    monkeypatch.setattr(release_mod, "MAX_PR_LOOKUPS", 2)
    plan = _release(cat, dry_run=True)
    assert branch_commit not in asked
    assert len(asked) == 2
    assert plan.warnings and "more than 2 commits" in plan.warnings[0]
    assert plan.tag == "v1.0.1"


def test_catalog_config_module_patterns_and_shared(local_forge: Any, tmp_path: Path) -> None:
    files = {
        ".catalog-ops.yml": "checks:\n  module_patterns: ['modules/*', 'stacks/*']\n  shared: ['ci/**']\n",
        "modules/vpc/main.tf": "# vpc\n",
        "stacks/app/main.tf": 'module "vpc" {\n  source = "../../modules/vpc"\n}\n',
    }
    cat = make_catalog(local_forge, tmp_path, files)
    cat.tag("v1.0.0")
    cat.commit("fix(vpc): x", {"modules/vpc/main.tf": "# vpc 2\n", "ci/lint.sh": "true\n"})
    plan = _release(cat)
    assert plan.changes is not None
    assert (plan.changes.changed, plan.changes.via_dependency, plan.changes.shared) == (
        ("modules/vpc",),
        ("stacks/app",),
        ("ci/lint.sh",),
    )
    assert plan.changes.all_affected
    assert plan.metadata is not None and sorted(plan.metadata.modules) == ["modules/vpc", "stacks/app"]


def test_tag_families_release_separately(release_catalog: Catalog) -> None:
    # Issue 17, bug 4: v1.0.0-eks and v1.1.0-vpc are the eks and vpc modules' own series (a
    # family is one word of letters: v1.0.0-s3 would be a pre-release, versions.family_suffix).
    cat = release_catalog
    cat.tag("v1.0.0-eks")
    cat.tag("v1.1.0-vpc")
    cat.commit("fix(eks): node groups", {"modules/eks/e.tf": "#\n"})
    cat.commit("fix(s3): encrypt", {"modules/s3/e.tf": "#\n"})
    # The repository-wide series has no tag: the families are not its pre-releases.
    repo_wide = _release(cat, dry_run=True)
    assert (repo_wide.tag, repo_wide.previous, repo_wide.prerelease) == ("v0.0.1", None, False)
    plans = run_release(cat.forge, cat.repo, ReleaseOptions(tag_scheme="module"))
    by_module = {p.module: (p.status, p.tag, p.previous, p.prerelease) for p in plans}
    assert by_module["modules/eks"] == ("released", "v1.0.1-eks", "v1.0.0-eks", False)
    assert by_module["modules/vpc"][:2] == ("nothing", None)
    assert by_module["modules/s3"][:2] == ("released", "modules/s3/v0.0.1")  # no family: path tags
    eks = next(p for p in plans if p.module == "modules/eks")
    assert eks.metadata is not None and (eks.metadata.version, eks.metadata.module) == (
        "1.0.1-eks",
        "modules/eks",
    )
    assert "v1.0.1-eks" in _tags(cat)
    cat.sync()
    cat.commit("fix(eks): more", {"modules/eks/f.tf": "#\n"})
    with pytest.raises(UsageError, match="tag family"):
        _release(cat, tag_scheme="module", module="modules/eks", prerelease="rc", dry_run=True)
