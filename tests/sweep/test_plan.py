"""Pure sweep core: collection, planning, grouping (tables of inputs and exact outputs)."""

from __future__ import annotations

from catalog_ops.core.versions import Level, parse_version
from catalog_ops.sweep.collect import collect
from catalog_ops.sweep.config import SweepConfig
from catalog_ops.sweep.model import Available, DependencyResult, Status
from catalog_ops.sweep.plan import group, plan, slug


def avail(*versions: str) -> Available:
    parsed = [parse_version(v) for v in versions]
    return Available(versions=tuple(v for v in parsed if v is not None))


def plan_files(
    files: dict[str, str],
    available: dict[str, Available | str],
    config: SweepConfig | None = None,
) -> tuple[dict[str, DependencyResult], dict[str, bytes]]:
    raw = {k: v.encode() for k, v in files.items()}
    cfg = config or SweepConfig()
    deps, errors = collect(raw, cfg)
    assert errors == []
    results = plan(deps, available, raw, cfg)
    changed: dict[str, bytes] = {}
    for pr in group(results, SweepConfig(grouping="single")):
        changed.update(pr.changes(raw))
    return {r.dependency.id: r for r in results}, changed


def test_slug() -> None:
    assert slug("registry.terraform.io/hashicorp/aws") == "hashicorp-aws"
    assert slug("github.com/Acme/My_Mod") == "github.com-acme-my-mod"


# ------------------------------------------------------------------ planning


def test_prerelease_pins_may_move_to_prereleases_stable_pins_never() -> None:
    files = {
        "a/versions.tf": 'terraform {\n  required_providers {\n    x = { source = "acme/x", version = "2.0.0-beta1" }\n'
        '    y = { source = "acme/y", version = "1.0.0" }\n  }\n}\n'
    }
    results, changed = plan_files(
        files,
        {
            "registry.terraform.io/acme/x": avail("1.0.0", "2.0.0-beta1", "2.0.0-beta2"),
            "registry.terraform.io/acme/y": avail("1.0.0", "1.1.0-rc1"),
        },
    )
    assert results["registry.terraform.io/acme/x"].new == ["2.0.0-beta2"]
    assert results["registry.terraform.io/acme/y"].status is Status.CURRENT
    assert changed == {"a/versions.tf": files["a/versions.tf"].replace("2.0.0-beta1", "2.0.0-beta2").encode()}


def test_unknown_upstream_and_constraint_that_admits_latest() -> None:
    files = {
        "main.tf": 'terraform {\n  required_version = "~> 1.9"\n  required_providers {\n'
        '    p = { source = "acme/p", version = "~> 1.0" }\n  }\n}\n',
        ".terraform-version": "v1.9.0\n",
    }
    results, changed = plan_files(
        files,
        {"terraform": avail("1.9.0", "1.10.1"), "registry.terraform.io/acme/p": "GET https://x: timed out"},
    )
    assert results["registry.terraform.io/acme/p"].status is Status.UNKNOWN
    assert results["registry.terraform.io/acme/p"].reason == "GET https://x: timed out"
    tf = results["terraform"]
    assert (tf.status, tf.update, tf.files) == (Status.UPDATE, Level.MINOR, [".terraform-version"])
    # "~> 1.9" already admits 1.10.1: untouched; the v prefix of the version file is kept
    assert changed == {".terraform-version": b"v1.10.1\n"}


def test_workflow_inputs_quotes_and_comments() -> None:
    wf = (
        "jobs:\n  a:\n    steps:\n      - uses: hashicorp/setup-terraform@v3\n        with:\n"
        "          terraform_version: 1.9.5\n"
        "      - with: {x: 1}\n"
        "      - uses: opentofu/setup-opentofu@v1\n        with:\n          tofu_version: '1.8.0' # pinned\n"
        "          other_version: 1.0.0\n"
    )
    results, changed = plan_files(
        {".github/workflows/t.yaml": wf},
        {"terraform": avail("1.9.5", "1.10.0"), "opentofu": avail("1.8.0", "1.8.3", "1.9.0-rc1")},
    )
    assert changed == {
        ".github/workflows/t.yaml": wf.replace("terraform_version: 1.9.5", "terraform_version: 1.10.0")
        .replace("'1.8.0'", "'1.8.3'")
        .encode()
    }
    assert results["opentofu"].update is Level.PATCH


def test_major_and_minor_go_to_separate_prs() -> None:
    files = {
        "v.tf": 'terraform {\n  required_providers {\n    a = { source = "acme/a", version = "1.0.0" }\n'
        '    b = { source = "acme/b", version = "1.0.0" }\n    c = { source = "acme/c", version = "1.0.0" }\n  }\n}\n'
    }
    raw = {k: v.encode() for k, v in files.items()}
    cfg = SweepConfig()
    deps, _ = collect(raw, cfg)
    results = plan(
        deps,
        {
            "registry.terraform.io/acme/a": avail("1.0.0", "2.0.0"),
            "registry.terraform.io/acme/b": avail("1.0.0", "1.0.1"),
            "registry.terraform.io/acme/c": avail("1.0.0", "1.2.0"),
        },
        raw,
        cfg,
    )
    plans = group(results, cfg)
    assert [(p.branch, p.title, p.major) for p in plans] == [
        ("catalog-ops/sweep", "chore(deps): update 2 dependencies", False),
        ("catalog-ops/sweep-major-acme-a", "chore(deps): update acme/a to v2 (major)", True),
    ]
    assert plans[0].changes(raw) == {
        "v.tf": files["v.tf"]
        .replace('b", version = "1.0.0"', 'b", version = "1.0.1"')
        .replace('c", version = "1.0.0"', 'c", version = "1.2.0"')
        .encode()
    }
    per_dep = group(results, SweepConfig(grouping="per-dependency"))
    assert [p.branch for p in per_dep] == [
        "catalog-ops/sweep-major-acme-a",
        "catalog-ops/sweep-acme-b",
        "catalog-ops/sweep-acme-c",
    ]


def test_terragrunt_tfr_source_and_registry_constraint() -> None:
    hcl = 'terraform {\n  source = "tfr:///terraform-aws-modules/vpc/aws?version=5.1.2"\n}\n'
    tf = 'module "m" {\n  source  = "terraform-aws-modules/vpc/aws"\n  version = "~> 5.1.0" # keep\n}\n'
    results, changed = plan_files(
        {"live/terragrunt.hcl": hcl, "mod/main.tf": tf},
        {"registry.terraform.io/terraform-aws-modules/vpc/aws": avail("5.1.2", "5.5.0", "6.0.0-rc1")},
    )
    vpc = results["registry.terraform.io/terraform-aws-modules/vpc/aws"]
    assert (vpc.status, vpc.update, vpc.current) == (
        Status.UPDATE,
        Level.MINOR,
        ["5.1.2", "~> 5.1.0"],
    )
    assert changed == {
        "live/terragrunt.hcl": hcl.replace("version=5.1.2", "version=5.5.0").encode(),
        "mod/main.tf": tf.replace("~> 5.1.0", "~> 5.5.0").encode(),
    }


# Issue 17: each bug a table case (sweep side).
FAMILY_TF = (
    'module "queue" {\n  source = "git::https://github.com/acme/mods.git//queue?ref=v1.0.0-queue"\n}\n'
    'module "topic" {\n  source = "git::https://github.com/acme/mods.git//topic?ref=v1.0.0-topic"\n}\n'
)
MODS_TAGS = avail("v1.0.0-queue", "v1.0.0-topic", "v1.1.0-topic", "v1.2.0-rc.1-x")


def test_suffix_families_are_separate_series() -> None:
    results, changed = plan_files(
        {"main.tf": FAMILY_TF},
        {"github.com/acme/mods#v*-queue": MODS_TAGS, "github.com/acme/mods#v*-topic": MODS_TAGS},
    )
    assert results["github.com/acme/mods#v*-queue"].status is Status.CURRENT
    topic = results["github.com/acme/mods#v*-topic"]
    assert (topic.status, topic.new, str(topic.target)) == (Status.UPDATE, ["v1.1.0-topic"], "v1.1.0-topic")
    assert changed == {"main.tf": FAMILY_TF.replace("v1.0.0-topic", "v1.1.0-topic").encode()}


def test_pessimistic_floor_survives_the_sweep() -> None:
    files = {
        "v.tf": 'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws", version = "~> 1.2.0" }\n  }\n}\n'
    }
    results, changed = plan_files(files, {"registry.terraform.io/hashicorp/aws": avail("1.2.0", "1.3.7")})
    assert results["registry.terraform.io/hashicorp/aws"].new == ["~> 1.3.0"]
    assert changed == {"v.tf": files["v.tf"].replace("~> 1.2.0", "~> 1.3.0").encode()}


def test_legacy_provider_block_updated_with_a_hint() -> None:
    files = {"p.tf": 'provider "aws" {\n  region  = "eu-west-1"\n  version = "~> 2.0"\n}\n'}
    results, changed = plan_files(files, {"registry.terraform.io/hashicorp/aws": avail("2.0.0", "3.1.0")})
    aws = results["registry.terraform.io/hashicorp/aws"]
    assert aws.new == ["~> 3.1"]
    assert changed == {"p.tf": files["p.tf"].replace("~> 2.0", "~> 3.1").encode()}
    assert aws.dependency.hints and "required_providers" in aws.dependency.hints[0]
    assert aws.dependency.hints[0].startswith("p.tf:3:13: ")
    assert aws.to_json()["hints"] == aws.dependency.hints


def test_arbitrary_hcl_required_version_is_not_rewritten() -> None:
    files = {
        "terraform.hcl": 'terraform {\n  required_version = ">= 1.0, < 1.5"\n}\n',
        "versions.tf": 'terraform {\n  required_version = ">= 1.0, < 1.5"\n}\n',
    }
    results, changed = plan_files(files, {"terraform": avail("1.5.0", "1.9.0")})
    assert [o.path for o in results["terraform"].dependency.occurrences] == ["versions.tf"]
    assert set(changed) == {"versions.tf"}


def test_override_version_is_the_one_updated() -> None:
    files = {
        "main.tf": 'module "aws" {\n  source  = "babbel/cloudfront-bucket/aws"\n  version = "2.0.0"\n}\n',
        "override.tf": 'module "aws" {\n  version = "2.2.0"\n}\n',
    }
    results, changed = plan_files(
        files, {"registry.terraform.io/babbel/cloudfront-bucket/aws": avail("2.0.0", "2.2.0", "2.3.0")}
    )
    dep = results["registry.terraform.io/babbel/cloudfront-bucket/aws"]
    assert dep.current == ["2.2.0"] and dep.new == ["2.3.0"]
    assert changed == {"override.tf": b'module "aws" {\n  version = "2.3.0"\n}\n'}
