"""Adopting an existing catalog as it is (issue 16): tags without releases, plain release bodies,
root-module catalogs with registry consumers, CHANGELOG.md and commit notes, compare links.

Every catalog here is made in the test (a ``GitRepo`` imported into a ``LocalForge``)."""

from __future__ import annotations

from pathlib import Path

from catalog_ops.catalog.config import parse_config
from catalog_ops.fanout.dependents import DependentSelection, registry_address_for
from catalog_ops.forge.local import LocalForge
from catalog_ops.rollout import dashboard
from catalog_ops.rollout.gather import build_plan
from catalog_ops.rollout.model import Action, RefAction
from catalog_ops.rollout.prtext import render_pr
from fixtures.gitrepo import GitRepo

MODULES = "acme/infra-modules"
GIT = "git::https://github.com/acme/infra-modules.git"


def _tf(name: str, source: str, version: str | None = None) -> str:
    extra = f'  version = "{version}"\n' if version else ""
    return f'module "{name}" {{\n  source = "{source}"\n{extra}}}\n'


def _gruntwork(forge: LocalForge, tmp: Path) -> None:
    """``modules/*`` catalog: v0.8.0 and v0.8.1 are bare tags (no forge release); v0.9.0 has a
    plain release body (no catalog-ops metadata). ecs uses vpc through a local path."""
    repo = GitRepo(tmp / "modules-src")
    repo.commit(
        "initial",
        {
            "modules/vpc/main.tf": "# vpc\n",
            "modules/ecs/main.tf": _tf("vpc", "../vpc"),
            "modules/alb/main.tf": "# alb\n",
            "test/go.mod": "module t\n",
        },
    )
    repo.tag("v0.8.0")
    repo.commit(
        "Fix the ECS health check grace period", {"modules/ecs/main.tf": _tf("vpc", "../vpc") + "# grace\n"}
    )
    repo.tag("v0.8.1")
    repo.commit("Bump golang.org/x/net in /test", {"test/go.mod": "module t // 2\n"})
    repo.commit("Add IPv6 to the VPC", {"modules/vpc/main.tf": "# vpc ipv6\n"})
    repo.tag("v0.9.0", message="v0.9.0")
    forge.create_repo(MODULES, source_dir=repo.path)
    forge.create_release(
        MODULES, tag="v0.9.0", name="v0.9.0", body="## What's new\n\n* IPv6 for the VPC @octocat\n"
    )
    forge.create_repo("acme/live-ecs", files={"ecs.tf": _tf("ecs", f"{GIT}//modules/ecs?ref=v0.8.0")})
    forge.create_repo("acme/live-alb", files={"alb.tf": _tf("alb", f"{GIT}//modules/alb?ref=v0.8.1")})


def test_tags_without_releases_and_plain_release_bodies(local_forge: LocalForge, tmp_path: Path) -> None:
    _gruntwork(local_forge, tmp_path)
    selection = DependentSelection(dependents=("acme/live-ecs", "acme/live-alb"))
    plan = build_plan(local_forge, catalog=MODULES, selection=selection)
    assert [r.tag for r in plan.releases] == ["v0.9.0", "v0.8.1", "v0.8.0"]
    assert plan.release.tag == "v0.9.0"
    deps = {d.repo: d for d in plan.dependents}
    # ecs changed in v0.8.1 (a tag with no release) and through vpc in v0.9.0
    ecs = deps["acme/live-ecs"]
    assert ecs.action is Action.OPEN
    assert [(r.module, r.current, r.target) for r in ecs.refs] == [("modules/ecs", "v0.8.0", "v0.9.0")]
    # alb never changed after v0.8.1: a release without metadata no longer changes everything
    alb = deps["acme/live-alb"]
    assert alb.action is Action.NOTHING
    assert alb.refs[0].action is RefAction.CURRENT
    assert "modules/alb did not change between v0.8.1 and v0.9.0" in (alb.refs[0].reason or "")

    _title, body = render_pr(plan, ecs)
    # every version that changed the module, from the best source there is
    assert "### [v0.8.1]" in body and "### [v0.9.0]" in body
    assert "- **`modules/ecs`** (commits)\n  - Fix the ECS health check grace period" in body
    # changed through a dependency: the dependency's notes (here its forge release body, quoted
    # and defused: no @mention pings)
    assert "  - changed through `modules/vpc` (release notes):" in body
    assert "    > * IPv6 for the VPC @\u2060octocat" in body
    # test-only commits are not module changes
    assert "golang.org" not in body
    assert "carries no catalog-ops metadata" not in body
    # the compare view (the local forge has none: a git command)
    assert "`ecs` v0.8.0 → v0.9.0: `git --git-dir " in body and " diff v0.8.0 v0.9.0`" in body

    board = dashboard.from_plan(plan, {})
    usages = {(m.module, u.repo): u for m in board.modules for u in m.usages}
    assert (
        usages["modules/ecs", "acme/live-ecs"].behind,
        usages["modules/ecs", "acme/live-ecs"].releases_behind,
    ) == (
        "minor",
        2,
    )
    assert usages["modules/alb", "acme/live-alb"].behind == "up to date"


def _root_catalog(forge: LocalForge, tmp: Path) -> None:
    """terraform-aws-modules layout: root module + modules/endpoints + examples/ + wrappers/ +
    test/, released only as tags plus a CHANGELOG.md; consumers use the registry address."""
    repo = GitRepo(tmp / "net-src")
    base = {
        "main.tf": "# root\n",
        "variables.tf": 'variable "name" {}\n',
        "modules/endpoints/main.tf": "# endpoints\n",
        "examples/complete/main.tf": _tf("net", "../../"),
        "wrappers/main.tf": _tf("wrapper", "../"),
        "test/go.mod": "module t\n",
    }
    repo.commit("feat: initial", base)
    repo.tag("v1.0.0")
    repo.commit("fix: root route tables", {"main.tf": "# root fixed\n"})
    repo.tag("v1.1.0")
    repo.commit(
        "chore(deps): bump test deps", {"test/go.mod": "module t // 2\n", "examples/complete/x.tf": "#\n"}
    )
    repo.tag("v1.1.1")
    repo.commit(
        "feat!: endpoints policy",
        {
            "modules/endpoints/main.tf": "# endpoints 2\n",
            "CHANGELOG.md": "# Changelog\n\n## [2.0.0](https://example.invalid/compare/v1.1.1...v2.0.0) (2025-01-01)\n\n"
            "### ⚠ BREAKING CHANGES\n\n* endpoints take a policy\n\n## [1.1.0] - 2024-12-01\n\n- root route tables\n",
        },
    )
    repo.tag("v2.0.0")
    forge.create_repo("acme/terraform-aws-net", source_dir=repo.path)
    reg = "acme/net/aws"
    forge.create_repo("acme/pin", files={"main.tf": _tf("net", reg, "1.0.0")})
    forge.create_repo("acme/range", files={"main.tf": _tf("net", reg, "~> 1.0")})
    forge.create_repo("acme/admits", files={"main.tf": _tf("net", reg, ">= 1.0")})
    forge.create_repo("acme/sub", files={"main.tf": _tf("ep", f"{reg}//modules/endpoints", "1.1.0")})
    forge.create_repo(
        "acme/raise",
        files={
            "main.tf": _tf("ep", f"{reg}//modules/endpoints", "~> 2.0"),
            ".catalog-ops.yml": "raise_floor: true\n",
        },
    )


def test_root_module_catalog_with_registry_consumers(local_forge: LocalForge, tmp_path: Path) -> None:
    _root_catalog(local_forge, tmp_path)
    assert registry_address_for("acme/terraform-aws-net") == "acme/net/aws"
    names = ("acme/pin", "acme/range", "acme/admits", "acme/sub", "acme/raise")
    plan = build_plan(
        local_forge, catalog="acme/terraform-aws-net", selection=DependentSelection(dependents=names)
    )
    deps = {d.repo: d for d in plan.dependents}
    # the registry address was derived from the repository name; the root module is "."
    assert plan.registry_modules == {"acme/net/aws": "."}
    pin = deps["acme/pin"]
    assert pin.action is Action.OPEN
    (ref,) = pin.refs
    assert (ref.module, ref.current, ref.proposed, ref.address) == (".", "1.0.0", "2.0.0", "acme/net/aws")
    # `~> 1.0` resolves to 1.1.0 (which has the root fix); nothing changed the root after it
    rng = deps["acme/range"]
    assert rng.action is Action.NOTHING and rng.refs[0].action is RefAction.CURRENT
    # a constraint that admits the target is left alone
    admits = deps["acme/admits"]
    assert admits.action is Action.NOTHING
    assert "already admits 2.0.0" in (admits.refs[0].reason or "")
    # a registry submodule is that catalog module
    sub = deps["acme/sub"]
    assert sub.action is Action.OPEN
    assert (sub.refs[0].module, sub.refs[0].address) == (
        "modules/endpoints",
        "acme/net/aws//modules/endpoints",
    )
    # raising the floor is an opt-in (and `~> 2.0` already admits 2.0.0: no floor to raise)
    assert deps["acme/raise"].action is Action.NOTHING

    _title, body = render_pr(plan, pin)
    assert "| `(root)` | `1.0.0` | `2.0.0` |" in body
    # the root module has one name; v1.1.0's notes come from CHANGELOG.md (no forge release)
    assert "### [v1.1.0]" in body and "- **`(root)`** (CHANGELOG.md)\n\n  > - root route tables" in body
    assert (
        "- `(root)` v1.0.0 → v2.0.0: `git --git-dir " in body
        and " diff v1.0.0 v2.0.0`\n\n### [v1.1.0]" in body
    )
    # v1.1.1 only touched tests/examples; v2.0.0 only the submodule: neither is listed
    assert "v1.1.1" not in body and "### [v2.0.0]" not in body
    assert "No changes to modules" not in body

    _title, sub_body = render_pr(plan, sub)
    assert "- **`modules/endpoints`** (CHANGELOG.md)" in sub_body
    assert "  > * endpoints take a policy" in sub_body

    board = dashboard.from_plan(plan, {})
    assert [m.module for m in board.modules] == [".", "modules/endpoints"]  # one name for the root
    behind = {u.repo: (u.behind, u.written) for m in board.modules for u in m.usages}
    assert behind == {
        "acme/pin": ("major", "1.0.0"),
        "acme/range": ("up to date", "~> 1.0"),
        "acme/admits": ("up to date", ">= 1.0"),
        "acme/sub": ("major", "1.1.0"),
        "acme/raise": ("up to date", "~> 2.0"),
    }


def test_raise_floor_is_a_dependent_opt_in() -> None:
    assert parse_config("raise_floor: true\n").raise_floor is True
    assert parse_config("").raise_floor is False


def test_close_reason_claims_newest_only_when_a_reference_is_current() -> None:
    from catalog_ops.rollout.gather import close_reason
    from catalog_ops.rollout.model import DependentPlan, RefPlan

    def ref(action: RefAction) -> RefPlan:
        return RefPlan(
            path="main.tf",
            line=1,
            col=1,
            written_in="main.tf",
            module="modules/naming",
            source="app.terraform.io/acme/naming/generic",
            current="1.0.0",
            action=action,
        )

    skipped = DependentPlan(repo="acme/web", base="main", refs=(ref(RefAction.SKIP),))
    reason = close_reason(skipped)
    assert "newest" not in reason and "--registry-module" in reason
    current = DependentPlan(repo="acme/web", base="main", refs=(ref(RefAction.SKIP), ref(RefAction.CURRENT)))
    assert close_reason(current) == "main already uses the newest catalog versions it may use"
