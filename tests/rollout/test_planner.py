"""Pure planning: target choice, spans, urgency, classification, per-dependent plans."""

from __future__ import annotations

import json

import pytest
import semver

from catalog_ops.catalog.config import DependentConfig
from catalog_ops.core.versions import parse_version
from catalog_ops.errors import ReleaseError, UsageError
from catalog_ops.rollout.model import Action, DependentPlan, Plan
from catalog_ops.rollout.planner import (
    PlanOptions,
    choose_target,
    plan_dependent,
    select_release,
    spanned_releases,
)
from fixtures.rollout import ADDRESS, CATALOG, catalog_release, tf_module

V = parse_version

RELEASES = (
    catalog_release("v1.0.0", modules=["modules/naming", "modules/network", "modules/service"]),
    catalog_release("v1.1.0", urgency="security", modules=["modules/network"]),
    catalog_release("v1.2.0", modules=["modules/naming", "modules/service"]),
    catalog_release("v1.2.1-rc.1", prerelease=True, modules=["modules/network"]),
    catalog_release(
        "v2.0.0",
        modules=["modules/network"],
        breaking=True,
        migration={"modules/network": "Rename `cidr` to `cidr_block`."},
    ),
    catalog_release("v2.1.0-beta.1", prerelease=True, modules=["modules/naming"]),
    catalog_release("v2.1.0-beta.2", prerelease=True, modules=["modules/naming"]),
)


def _rel(tag: str):
    return next(r for r in RELEASES if r.tag == tag)


@pytest.mark.parametrize(
    ("current", "ceiling", "allow_major", "want"),
    [
        ("v1.0.0", "v2.0.0", True, "v2.0.0"),  # newest stable; pre-releases ignored
        ("v1.0.0", "v1.2.0", True, "v1.2.0"),  # the ceiling (release rolled out) bounds it
        ("v1.0.0", "v2.0.0", False, "v1.2.0"),  # majors opted out: newest of the same major
        ("v2.0.0", "v2.1.0-beta.2", True, None),  # stable ref never moves to a pre-release
        ("v2.1.0-beta.1", "v2.1.0-beta.2", True, "v2.1.0-beta.2"),  # same pre-release line
        ("v1.2.1-rc.1", "v2.0.0", True, "v2.0.0"),  # pre-release ref moves on to newer stable
        ("v1.2.1-rc.1", "v1.2.1-rc.1", True, None),
        ("v2.0.0", "v2.0.0", True, None),  # already there
        ("1.0.0", "v1.1.0", True, "v1.1.0"),  # prefix style of the ref does not matter
        ("v3.0.0", "v2.0.0", True, None),  # newer than every release
    ],
)
def test_choose_target(current: str, ceiling: str, allow_major: bool, want: str | None) -> None:
    got = choose_target(V(current), RELEASES, ceiling=V(ceiling), allow_major=allow_major)
    assert (got.tag if got else None) == want


def test_spanned_releases_excludes_prereleases_of_other_lines() -> None:
    got = [r.tag for r in spanned_releases(V("v1.0.0"), V("v2.0.0"), RELEASES)]
    assert got == ["v1.1.0", "v1.2.0", "v2.0.0"]


def test_select_release_latest_is_newest_stable() -> None:
    assert select_release(RELEASES, None).tag == "v2.0.0"
    assert select_release(RELEASES, "v1.1.0").tag == "v1.1.0"
    with pytest.raises(ReleaseError):
        select_release(RELEASES, "v9.9.9")


def _opts(release: str = "v1.2.0", **kw) -> PlanOptions:
    return PlanOptions(
        catalog=CATALOG, catalog_address=ADDRESS, release=_rel(release), releases=RELEASES, **kw
    )


def _refs_by_line(d: DependentPlan) -> dict[int, object]:
    return {r.line: r for r in d.refs}


GIT = "git::https://github.com/acme/infrastructure-modules.git"


def test_only_changed_modules_are_bumped_and_urgency_is_highest_spanned() -> None:
    files = {
        "main.tf": (
            tf_module("net", f"{GIT}//modules/network?ref=v1.0.0")
            + tf_module("svc", f"{GIT}//modules/service?ref=v1.2.0")
            + tf_module("lbl", "git@github.com:acme/infrastructure-modules.git//modules/naming?ref=v1.1.0")
        ).encode()
    }
    d = plan_dependent("acme/app", files, _opts(), default_branch="main", config=DependentConfig())
    assert d.action is Action.OPEN
    refs = {r.module: r for r in d.refs}
    net = refs["modules/network"]
    assert (net.action, net.current, net.target, net.update, net.urgency) == (
        "bump",
        "v1.0.0",
        "v1.2.0",
        "minor",
        "security",
    )
    assert refs["modules/service"].action == "current"  # already at v1.2.0
    lbl = refs["modules/naming"]
    assert (lbl.action, lbl.target, lbl.urgency) == ("bump", "v1.2.0", "normal")  # naming changed in v1.2.0
    assert d.urgency == "security" and d.update == "minor" and not d.breaking
    assert d.automerge  # security + default policy
    assert d.files == ("main.tf",)


def test_unchanged_module_is_not_bumped_unless_bump_all() -> None:
    files = {"main.tf": tf_module("net", f"{GIT}//modules/network?ref=v1.1.0").encode()}
    d = plan_dependent("acme/app", files, _opts(), default_branch="main", config=DependentConfig())
    assert d.action is Action.NOTHING
    assert d.refs[0].action == "current"
    assert "did not change between v1.1.0 and v1.2.0" in (d.refs[0].reason or "")
    d2 = plan_dependent(
        "acme/app", files, _opts(bump_all=True), default_branch="main", config=DependentConfig()
    )
    assert d2.action is Action.OPEN and d2.refs[0].target == "v1.2.0" and d2.refs[0].update == "minor"


def test_release_without_metadata_counts_as_changing_everything() -> None:
    releases = (
        catalog_release("v1.0.0"),
        catalog_release("v1.0.1", with_metadata=False),
    )
    opts = PlanOptions(catalog=CATALOG, catalog_address=ADDRESS, release=releases[1], releases=releases)
    files = {"main.tf": tf_module("x", f"{GIT}//modules/naming?ref=1.0.0").encode()}
    d = plan_dependent("acme/app", files, opts, default_branch="main", config=DependentConfig())
    assert d.action is Action.OPEN
    assert d.refs[0].target == "1.0.1" and d.refs[0].update == "patch"


def test_major_is_breaking_not_automerged_and_can_be_opted_out() -> None:
    files = {
        "main.tf": tf_module(
            "net", "github.com/acme/infrastructure-modules//modules/network?ref=v1.2.0"
        ).encode()
    }
    d = plan_dependent("acme/app", files, _opts("v2.0.0"), default_branch="main", config=DependentConfig())
    r = d.refs[0]
    assert (r.action, r.target, r.update, r.breaking) == ("bump", "v2.0.0", "major", True)
    assert d.breaking and not d.automerge
    # automerge_majors lifts the major ban, but a normal release still needs a policy covering majors
    allow = DependentConfig(automerge="minor", automerge_majors=True)
    assert not plan_dependent(
        "acme/app", files, _opts("v2.0.0"), default_branch="main", config=allow
    ).automerge
    assert allow.allows_automerge(urgency="security", update_type="major")
    assert not DependentConfig().allows_automerge(urgency="security", update_type="major")
    out = plan_dependent(
        "acme/app",
        files,
        _opts("v2.0.0"),
        default_branch="main",
        config=DependentConfig(majors=False, source="cfg"),
    )
    assert out.action is Action.NOTHING
    assert "major update to v2.0.0 not proposed" in (out.refs[0].reason or "")


def test_skips_branch_sha_unpinned_dynamic_and_ignored() -> None:
    files = {
        "main.tf": (
            tf_module("a", f"{GIT}//modules/network?ref=main")
            + tf_module("b", f"{GIT}//modules/network?ref=0123456789abcdef0123456789abcdef01234567")
            + tf_module("c", f"{GIT}//modules/network")
            + 'module "d" {\n  source = "${var.base}//modules/network?ref=v1.0.0"\n}\n'
            + tf_module("e", f"{GIT}//modules/naming?ref=v1.0.0")
            + tf_module("f", "./local")
            + tf_module("g", "git::https://github.com/other/repo.git//x?ref=v1.0.0")
        ).encode()
    }
    cfg = DependentConfig(ignore=("modules/nam*",), source="acme/app:.catalog-ops.yml")
    d = plan_dependent("acme/app", files, _opts(), default_branch="main", config=cfg)
    assert d.action is Action.NOTHING
    reasons = {r.line: (r.action, r.reason) for r in d.refs}
    assert reasons[2][0] == "skip" and "branch" in reasons[2][1]
    assert reasons[5][0] == "skip" and "SHA" in reasons[5][1]
    assert reasons[8][0] == "skip" and "no ref" in reasons[8][1]
    assert reasons[14][0] == "skip" and "ignored by acme/app:.catalog-ops.yml" in reasons[14][1]
    # the interpolated source cannot be tied to the catalog at all, the local one and other repos are not ours
    assert len(d.refs) == 4


def test_registry_alias_and_constraints() -> None:
    files = {
        "a.tf": tf_module("n", "app.terraform.io/acme/naming/generic", "1.0.0").encode(),
        "b.tf": tf_module("m", "app.terraform.io/acme/naming/generic", ">= 1.0, < 2.0").encode(),
        "c.tf": tf_module("p", "app.terraform.io/acme/naming/generic", "~> 1.0").encode(),
    }
    opts = _opts(registry_modules={"app.terraform.io/acme/naming/generic": "modules/naming"})
    d = plan_dependent("acme/app", files, opts, default_branch="main", config=DependentConfig())
    by_path = {r.path: r for r in d.refs}
    assert (by_path["a.tf"].action, by_path["a.tf"].target) == ("bump", "1.2.0")
    assert by_path["b.tf"].action == "current"  # the range admits 1.2.0: left as written
    # `~> 1.0` admits 1.2.0 too: no PR that only raises the floor (core.drift), by default
    assert (by_path["c.tf"].action, by_path["c.tf"].current) == ("current", "~> 1.0")
    assert "already admits 1.2.0" in (by_path["c.tf"].reason or "")
    assert d.files == ("a.tf",)
    # raising the floor is an opt-in of the dependent; the plan shows what the file gets
    raised = plan_dependent(
        "acme/app", files, opts, default_branch="main", config=DependentConfig(raise_floor=True)
    )
    by_path = {r.path: r for r in raised.refs}
    assert (by_path["c.tf"].action, by_path["c.tf"].current, by_path["c.tf"].proposed) == (
        "bump",
        "~> 1.0",
        "~> 1.2",
    )
    assert raised.files == ("a.tf", "b.tf", "c.tf") or raised.files == ("a.tf", "c.tf")


def test_terragrunt_include_composed_source_is_bumped_where_written() -> None:
    files = {
        "root.hcl": b'locals {\n  base_source_url = "git::git@github.com:acme/infrastructure-modules.git"\n}\n',
        "live/dev/network/terragrunt.hcl": (
            b'include "root" {\n  path   = find_in_parent_folders("root.hcl")\n  expose = true\n}\n\n'
            b'terraform {\n  source = "${include.root.locals.base_source_url}//modules/network?ref=v1.0.0"\n}\n'
        ),
    }
    d = plan_dependent("acme/live", files, _opts(), default_branch="main", config=DependentConfig())
    assert d.action is Action.OPEN
    (r,) = d.refs
    assert (r.written_in, r.ref_line, r.target) == ("live/dev/network/terragrunt.hcl", 7, "v1.2.0")
    assert d.files == ("live/dev/network/terragrunt.hcl",)


def test_same_module_at_two_versions_moves_together() -> None:
    files = {
        "a.tf": tf_module("x", f"{GIT}//modules/naming?ref=v1.0.0").encode(),
        "b.tf": tf_module("y", f"{GIT}//modules/naming?ref=v1.2.0").encode(),
    }
    d = plan_dependent("acme/app", files, _opts("v1.2.0"), default_branch="main", config=DependentConfig())
    assert d.files == ("a.tf",)
    assert [r.action for r in d.refs] == ["bump", "current"]


def test_plan_json_round_trip_and_schema_check() -> None:
    files = {"main.tf": tf_module("net", f"{GIT}//modules/network?ref=v1.0.0").encode()}
    d = plan_dependent(
        "acme/app", files, _opts(), default_branch="main", config=DependentConfig(labels=("x",))
    )
    plan = Plan(
        catalog=CATALOG,
        catalog_address=ADDRESS,
        release=_rel("v1.2.0"),
        releases=RELEASES,
        dependents=(d,),
        branch="b",
    )
    doc = json.loads(json.dumps(plan.to_json()))
    assert doc["schema"] == 1 and doc["counts"] == {"open": 1}
    again = Plan.from_json(doc)
    assert again.to_json() == plan.to_json()
    assert again.dependents[0].digest() == d.digest()
    with pytest.raises(UsageError, match="unsupported plan schema 99"):
        Plan.from_json({**doc, "schema": 99})


def test_module_moved_in_catalog_falls_back_or_is_skipped() -> None:
    # Real case (gruntwork-io/terragrunt-infrastructure-modules-example): v0.8.0 moved mysql/ to
    # modules/mysql; bumping "//mysql?ref=v0.7.0" to v0.8.x would break the source.
    releases = tuple(
        catalog_release(t, with_metadata=False) for t in ("v0.4.0", "v0.7.0", "v0.8.0", "v0.8.1")
    )
    exists = {
        "v0.4.0": {"mysql"},
        "v0.7.0": {"mysql"},
        "v0.8.0": {"modules/mysql"},
        "v0.8.1": {"modules/mysql"},
    }
    opts = PlanOptions(
        catalog=CATALOG,
        catalog_address=ADDRESS,
        release=releases[-1],
        releases=releases,
        module_exists=lambda tag, module: module in exists[tag],
    )
    src = "git::git@github.com:acme/infrastructure-modules.git//mysql"
    old = plan_dependent(
        "acme/a",
        {"a.hcl": f'terraform {{\n  source = "{src}?ref=v0.4.0"\n}}\n'.encode()},
        opts,
        default_branch="main",
        config=DependentConfig(),
    )
    assert (old.refs[0].action, old.refs[0].target) == ("bump", "v0.7.0")  # newest release that has it
    stuck = plan_dependent(
        "acme/a",
        {"a.hcl": f'terraform {{\n  source = "{src}?ref=v0.7.0"\n}}\n'.encode()},
        opts,
        default_branch="main",
        config=DependentConfig(),
    )
    assert stuck.action is Action.NOTHING
    assert "mysql does not exist in the catalog at v0.8.1 (moved or removed)" in (stuck.refs[0].reason or "")


STACK = """unit "db" {
  // pinned unit; the unit fetches its module with ?ref=${values.version}
  source = "github.com/acme/infrastructure-modules//units/db?ref=v1.0.0"
  path   = "db"

  values = {
    version = "v1.0.0"
    name    = "orders"
  }
}

unit "cache" {
  source = "github.com/acme/infrastructure-modules//units/cache?ref=v1.0.0"
  path   = "cache"
  values = {
    version = "main"
  }
}
"""


def test_stack_unit_values_version_follows_its_ref() -> None:
    # Gruntwork's terragrunt-infrastructure-live-stacks-example pattern (values.version).
    releases = tuple(catalog_release(t, with_metadata=False) for t in ("v1.0.0", "v1.1.0"))
    opts = PlanOptions(catalog=CATALOG, catalog_address=ADDRESS, release=releases[-1], releases=releases)
    files = {"live/terragrunt.stack.hcl": STACK.encode()}
    d = plan_dependent("acme/live", files, opts, default_branch="main", config=DependentConfig())
    assert d.files == ("live/terragrunt.stack.hcl",)
    from catalog_ops.bump import bump_files

    # bump_files moves values.version with the unit's ?ref (stack_values=True, the default);
    # the planner's own apply_stack_values pass was dead code and is gone.
    work = dict(files)
    for b in d.bumps:
        work.update(bump_files(work, address=b.address, to=b.to).changed)
    want = (
        STACK.replace("units/db?ref=v1.0.0", "units/db?ref=v1.1.0")
        .replace('version = "v1.0.0"', 'version = "v1.1.0"')
        .replace("units/cache?ref=v1.0.0", "units/cache?ref=v1.1.0")
    )
    assert work["live/terragrunt.stack.hcl"].decode() == want  # "main" is not the old version: left alone


def test_a_reference_behind_many_releases_costs_lookups_not_scans(monkeypatch: pytest.MonkeyPatch) -> None:
    """500 releases between a pin and the target: each is looked up by version (an index), not
    by scanning every release (500 x 500 comparisons of versions)."""
    many = tuple(
        catalog_release(f"v1.{i // 10}.{i % 10}", modules=["modules/network"] if i % 5 == 0 else [])
        for i in range(500)
    )
    opts = PlanOptions(catalog=CATALOG, catalog_address=ADDRESS, release=many[-1], releases=many)
    files = {"main.tf": tf_module("net", f"{GIT}//modules/network?ref=v1.0.0").encode()}
    compared = 0
    real = semver.Version.compare

    def counting(self: semver.Version, other: object) -> int:
        nonlocal compared
        compared += 1
        return real(self, other)  # type: ignore[arg-type]

    monkeypatch.setattr(semver.Version, "compare", counting)
    d = plan_dependent("acme/app", files, opts, default_branch="main", config=DependentConfig())
    (net,) = d.refs
    assert (net.action, net.current, net.target) == ("bump", "v1.0.0", "v1.49.9")
    assert [b.tag for b in d.bumps] == ["v1.49.9"]
    assert compared < 20 * len(many), compared
