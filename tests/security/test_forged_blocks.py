"""Attacks through machine-readable blocks (issue 15): a catalog contributor's commit subject
carrying a forged release-metadata block or a forged rollout marker, a stranger's release.

Each test drives the product end to end on the GitHub emulator (releases, plans, PRs through the
REST/GraphQL API) and asserts on what lands: release metadata, PR labels, auto-merge, branch bytes.
"""

from __future__ import annotations

import json
from typing import Any

from catalog_ops.core.metadata import (
    ModuleChange,
    ReleaseMetadata,
    parse_release_metadata,
    render_release_metadata,
)
from catalog_ops.core.versions import Urgency
from catalog_ops.fanout.dependents import DependentSelection
from catalog_ops.release.model import ReleaseOptions
from catalog_ops.release.run import run_release
from catalog_ops.render.report import OutcomeKind
from catalog_ops.rollout.apply import ApplyOptions, apply_plan
from catalog_ops.rollout.gather import build_plan
from fixtures.release import Catalog

BRANCH = "catalog-ops/acme-catalog"
S3 = 'module "s3" {{\n  source = "git::https://github.com/acme/catalog.git//modules/s3?ref={ref}"\n}}\n'


def _forged_metadata(tag: str, previous: str) -> str:
    payload = {
        "schema": 1,
        "version": tag[1:],
        "tag": tag,
        "previous": previous,
        "urgency": "security",
        "breaking": False,
        "modules": {"modules/s3": {"changed": True, "notes": ["forged"]}},
    }
    return f"<!-- catalog-ops:release-metadata {json.dumps(payload, separators=(',', ':'))} -->"


def _forged_marker(catalog: str) -> str:
    payload = {"catalog": catalog, "release": "v99.0.0", "digest": "forged"}
    return f"<!-- catalog-ops:rollout {json.dumps(payload)} -->"


def _release(cat: Catalog) -> Any:
    [plan] = run_release(cat.forge, cat.repo, ReleaseOptions(checks_gate=False))
    return plan


def _plan(forge: Any) -> Any:
    return build_plan(forge, catalog="acme/catalog", selection=DependentSelection(dependents=("acme/app",)))


def test_forged_metadata_in_a_commit_subject_leaves_a_normal_release_normal(
    github_release_catalog: Catalog, github_emulator: Any
) -> None:
    cat, emu = github_release_catalog, github_emulator
    cat.tag("v1.0.0")
    emu.create_repo("acme/app", files={"main.tf": S3.format(ref="v1.0.0")})
    # A contributor's fix whose subject carries a metadata block claiming a security release.
    cat.commit(f"fix(s3): tidy {_forged_metadata('v1.0.1', 'v1.0.0')}", {"modules/s3/x.tf": "#\n"})
    released = _release(cat)
    assert (released.tag, released.urgency) == ("v1.0.1", "normal")

    plan = _plan(cat.forge)
    assert plan.release.tag == "v1.0.1" and plan.release.urgency == "normal"
    [dep] = [d for d in plan.dependents if d.repo == "acme/app"]
    assert dep.urgency == "normal" and not dep.automerge
    report = apply_plan(cat.forge, plan, options=ApplyOptions(concurrency=1))
    assert [o.kind for o in report.outcomes if o.subject == "acme/app"] == [OutcomeKind.OPENED]
    [pr] = emu.pulls("acme/app")
    assert pr["auto_merge"] is None and not pr["merged"]
    assert "security" not in {label["name"] for label in pr["labels"]}
    assert not pr["title"].startswith("[security]")
    body = cat.forge.get_release(cat.repo, "v1.0.1").body
    assert body.count("<!--") == 1  # only the product's own block; the subject is neutralised
    meta = parse_release_metadata(body)
    assert meta is not None and meta.urgency == "normal" and meta.commit == released.target


def test_forged_trailing_metadata_is_cross_checked_against_the_release(
    github_emulator: Any, github_forge: Any
) -> None:
    """A release body ending in a block written for another release (copied, or typed by hand
    into the release page) is not this release's metadata: the plan treats it as having none
    and says so."""
    emu, forge = github_emulator, github_forge
    emu.create_repo("acme/catalog", files={"modules/s3/main.tf": "#\n"})
    emu.create_repo("acme/app", files={"main.tf": S3.format(ref="v1.0.0")})
    sha = forge.branch_sha("acme/catalog", "main")
    forge.create_tag("acme/catalog", name="v1.0.0", sha=sha, message="v1.0.0")
    forge.create_tag("acme/catalog", name="v1.0.1", sha=sha, message="v1.0.1")
    claim = ReleaseMetadata(
        version="1.0.2",  # not this release's version
        tag="v1.0.2",
        previous="v1.0.1",
        urgency=Urgency.SECURITY,
        modules={"modules/s3": ModuleChange(path="modules/s3")},
    )
    forge.create_release(
        "acme/catalog", tag="v1.0.1", name="v1.0.1", body="Notes\n\n" + render_release_metadata(claim)
    )
    plan = _plan(forge)
    assert plan.release.tag == "v1.0.1" and plan.release.metadata is None
    assert plan.release.urgency == "normal"
    assert plan.warnings == ("release v1.0.1: metadata ignored: its metadata names tag 'v1.0.2'",)
    assert plan.to_json()["warnings"] == list(plan.warnings)


def test_metadata_of_a_release_published_by_someone_else_is_not_read(
    github_emulator: Any, github_forge: Any, github_forge_factory: Any
) -> None:
    emu, forge = github_emulator, github_forge
    emu.create_repo("acme/catalog", files={"modules/s3/main.tf": "#\n"})
    emu.create_repo("acme/app", files={"main.tf": S3.format(ref="v1.0.0")})
    emu.add_token("ghp_mallory000000000000000000000000000000", login="mallory")
    mallory = github_forge_factory(token="ghp_mallory000000000000000000000000000000")
    sha = forge.branch_sha("acme/catalog", "main")
    forge.create_tag("acme/catalog", name="v1.0.0", sha=sha, message="v1.0.0")
    forge.create_tag("acme/catalog", name="v1.0.1", sha=sha, message="v1.0.1")
    meta = ReleaseMetadata(
        version="1.0.1", tag="v1.0.1", previous="v1.0.0", urgency=Urgency.SECURITY, commit=sha
    )
    mallory.create_release("acme/catalog", tag="v1.0.1", name="v1.0.1", body=render_release_metadata(meta))
    plan = _plan(forge)
    assert plan.release.metadata is None and plan.release.urgency == "normal"
    assert plan.warnings == (
        "release v1.0.1: metadata ignored: it was published by mallory, not by catalog-bot",
    )


def test_forged_marker_in_a_commit_subject_does_not_block_later_rollouts(
    github_release_catalog: Catalog, github_emulator: Any
) -> None:
    cat, emu = github_release_catalog, github_emulator
    cat.tag("v1.0.0")
    emu.create_repo("acme/app", files={"main.tf": S3.format(ref="v1.0.0")})
    # The subject claims the PR already rolls out v99.0.0; release notes carry it into the PR body.
    cat.commit(f"fix(s3): tidy {_forged_marker(cat.repo)}", {"modules/s3/x.tf": "#\n"})
    assert _release(cat).tag == "v1.0.1"
    first = apply_plan(cat.forge, _plan(cat.forge), options=ApplyOptions(concurrency=1))
    assert [o.kind for o in first.outcomes if o.subject == "acme/app"] == [OutcomeKind.OPENED]

    cat.commit("fix(s3): encrypt", {"modules/s3/y.tf": "#\n"})
    assert _release(cat).tag == "v1.0.2"
    second = apply_plan(cat.forge, _plan(cat.forge), options=ApplyOptions(concurrency=1))
    [outcome] = [o for o in second.outcomes if o.subject == "acme/app"]
    assert outcome.kind is OutcomeKind.UPDATED, outcome
    [pr] = emu.pulls("acme/app")
    assert pr["title"].endswith("v1.0.2")
    assert cat.forge.read_file("acme/app", "main.tf", BRANCH) == S3.format(ref="v1.0.2").encode()
