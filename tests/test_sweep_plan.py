"""Pure sweep core: config, collection, planning (tables of inputs and exact outputs)."""

from __future__ import annotations

import pytest

from catalog_ops.core.versions import UpdateType, parse_version
from catalog_ops.errors import ConfigError
from catalog_ops.sweep import run as sweep


def avail(*versions: str) -> sweep.Available:
    parsed = [parse_version(v) for v in versions]
    return sweep.Available(versions=tuple(v for v in parsed if v is not None))


def plan_files(
    files: dict[str, str],
    available: dict[str, sweep.Available | str],
    config: sweep.SweepConfig | None = None,
) -> tuple[dict[str, sweep.DependencyResult], dict[str, bytes]]:
    raw = {k: v.encode() for k, v in files.items()}
    cfg = config or sweep.SweepConfig()
    deps, errors = sweep.collect(raw, cfg)
    assert errors == []
    results = sweep.plan(deps, available, raw, cfg)
    changed: dict[str, bytes] = {}
    for pr in sweep.group(results, sweep.SweepConfig(grouping="single")):
        changed.update(pr.changes(raw))
    return {r.dependency.id: r for r in results}, changed


# ------------------------------------------------------------------ config


def test_config_defaults_and_full_schema() -> None:
    assert sweep.parse_sweep_config("checks: {}\n") == sweep.SweepConfig(source=".catalog-ops.yml")
    cfg = sweep.parse_sweep_config(
        "sweep:\n"
        "  cli: opentofu\n"
        "  upstreams: {opentofu: mirror/tofu}\n"
        "  default_registry: registry.opentofu.org\n"
        "  registries: {registry.example.com: 'https://mirror.example.com/r/'}\n"
        "  grouping: per-dependency\n"
        "  branch_prefix: deps/sweep\n"
        "  labels: [deps]\n"
        "  workflows: false\n"
        "  ignore:\n"
        "    - terraform\n"
        "    - {dependency: 'registry.opentofu.org/hashicorp/*', versions: '>= 6.0', update_types: [major]}\n"
    )
    assert cfg.cli == "opentofu"
    assert cfg.upstreams == {"terraform": "hashicorp/terraform", "opentofu": "mirror/tofu"}
    assert cfg.registries == {"registry.example.com": "https://mirror.example.com/r/"}
    assert (cfg.grouping, cfg.branch_prefix, cfg.labels, cfg.workflows) == (
        "per-dependency",
        "deps/sweep",
        ("deps",),
        False,
    )
    assert cfg.ignore == (
        sweep.IgnoreRule(dependency="terraform"),
        sweep.IgnoreRule(
            dependency="registry.opentofu.org/hashicorp/*", versions=">= 6.0", update_types=("major",)
        ),
    )


def test_config_errors_name_file_line_col() -> None:
    text = "sweep:\n  grouping: lots\n  labels: nope\n  colour: red\n  ignore:\n    - {dependency: x, versions: 'abc'}\n"
    with pytest.raises(ConfigError) as exc:
        sweep.parse_sweep_config(text, "cat/.catalog-ops.yml")
    assert str(exc.value).splitlines() == [
        "cat/.catalog-ops.yml:2:13: sweep.grouping: must be one of majors-separate, single, per-dependency",
        "cat/.catalog-ops.yml:3:11: sweep.labels: must be a list of strings",
        "cat/.catalog-ops.yml:4:3: sweep.colour: unknown key (known: branch_prefix, cli, default_registry, grouping, "
        "ignore, labels, registries, upstreams, workflows)",
        "cat/.catalog-ops.yml:6:7: sweep.ignore.versions: invalid version constraint part 'abc' in 'abc'",
    ]
    with pytest.raises(ConfigError, match=r"^x\.yml:2:1: invalid YAML"):
        sweep.parse_sweep_config("sweep: [\n", "x.yml")


@pytest.mark.parametrize(
    ("rule", "version", "kind", "ignored"),
    [
        (sweep.IgnoreRule(dependency="registry.terraform.io/hashicorp/*"), "6.0.0", UpdateType.MAJOR, True),
        (sweep.IgnoreRule(dependency="registry.terraform.io/acme/*"), "6.0.0", UpdateType.MAJOR, False),
        (sweep.IgnoreRule(dependency="*aws", versions=">= 6.0"), "6.1.0", UpdateType.MAJOR, True),
        (sweep.IgnoreRule(dependency="*aws", versions=">= 6.0"), "5.9.0", UpdateType.MINOR, False),
        (sweep.IgnoreRule(dependency="*aws", update_types=("major",)), "5.9.0", UpdateType.MINOR, False),
        (sweep.IgnoreRule(dependency="*aws", update_types=("major",)), "6.0.0", UpdateType.MAJOR, True),
    ],
)
def test_ignore_rules(rule: sweep.IgnoreRule, version: str, kind: UpdateType, ignored: bool) -> None:
    v = parse_version(version)
    assert v is not None
    assert rule.ignores("registry.terraform.io/hashicorp/aws", v, kind) is ignored


# ------------------------------------------------------------------ helpers


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        ("git::https://example.com/a/b.git//sub?ref=v1.0.0", "https://example.com/a/b.git"),
        ("git::ssh://git@example.com/a/b.git?ref=v1.0.0&depth=1", "ssh://git@example.com/a/b.git"),
        ("github.com/acme/mod//x?ref=v1.2.0", "https://github.com/acme/mod.git"),
        ("git@github.com:acme/mod.git?ref=v1", "git@github.com:acme/mod.git"),
    ],
)
def test_git_url_of(raw: str, url: str) -> None:
    assert sweep.git_url_of(raw) == url


@pytest.mark.parametrize(
    ("address", "want"),
    [
        ("hashicorp/aws", ("registry.terraform.io", "hashicorp", "aws")),
        ("aws", ("registry.terraform.io", "hashicorp", "aws")),
        ("Registry.Example.com/Acme/X", ("registry.example.com", "acme", "x")),
        ("a/b/c/d", None),
        ("a//b", None),
    ],
)
def test_normalize_provider(address: str, want: tuple[str, str, str] | None) -> None:
    assert sweep.normalize_provider(address) == want


def test_slug() -> None:
    assert sweep.slug("registry.terraform.io/hashicorp/aws") == "hashicorp-aws"
    assert sweep.slug("github.com/Acme/My_Mod") == "github.com-acme-my-mod"


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
    assert results["registry.terraform.io/acme/y"].status is sweep.Status.CURRENT
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
    assert results["registry.terraform.io/acme/p"].status is sweep.Status.UNKNOWN
    assert results["registry.terraform.io/acme/p"].reason == "GET https://x: timed out"
    tf = results["terraform"]
    assert (tf.status, tf.update, tf.files) == (sweep.Status.UPDATE, UpdateType.MINOR, [".terraform-version"])
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
    assert results["opentofu"].update is UpdateType.PATCH


def test_major_and_minor_go_to_separate_prs() -> None:
    files = {
        "v.tf": 'terraform {\n  required_providers {\n    a = { source = "acme/a", version = "1.0.0" }\n'
        '    b = { source = "acme/b", version = "1.0.0" }\n    c = { source = "acme/c", version = "1.0.0" }\n  }\n}\n'
    }
    raw = {k: v.encode() for k, v in files.items()}
    cfg = sweep.SweepConfig()
    deps, _ = sweep.collect(raw, cfg)
    results = sweep.plan(
        deps,
        {
            "registry.terraform.io/acme/a": avail("1.0.0", "2.0.0"),
            "registry.terraform.io/acme/b": avail("1.0.0", "1.0.1"),
            "registry.terraform.io/acme/c": avail("1.0.0", "1.2.0"),
        },
        raw,
        cfg,
    )
    plans = sweep.group(results, cfg)
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
    per_dep = sweep.group(results, sweep.SweepConfig(grouping="per-dependency"))
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
        sweep.Status.UPDATE,
        UpdateType.MINOR,
        ["5.1.2", "~> 5.1.0"],
    )
    assert changed == {
        "live/terragrunt.hcl": hcl.replace("version=5.1.2", "version=5.5.0").encode(),
        "mod/main.tf": tf.replace("~> 5.1.0", "~> 5.5.0").encode(),
    }
