"""The sweep: section of .catalog-ops.yml: schema, errors with positions, ignore rules."""

from __future__ import annotations

import pytest

from catalog_ops.core.versions import Level, parse_version
from catalog_ops.errors import ConfigError
from catalog_ops.sweep.config import IgnoreRule, SweepConfig, parse_sweep_config


def test_config_defaults_and_full_schema() -> None:
    assert parse_sweep_config("checks: {}\n") == SweepConfig(source=".catalog-ops.yml")
    cfg = parse_sweep_config(
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
        IgnoreRule(dependency="terraform"),
        IgnoreRule(
            dependency="registry.opentofu.org/hashicorp/*", versions=">= 6.0", update_types=("major",)
        ),
    )


def test_config_errors_name_file_line_col() -> None:
    text = "sweep:\n  grouping: lots\n  labels: nope\n  colour: red\n  ignore:\n    - {dependency: x, versions: 'abc'}\n"
    with pytest.raises(ConfigError) as exc:
        parse_sweep_config(text, "cat/.catalog-ops.yml")
    assert str(exc.value).splitlines() == [
        "cat/.catalog-ops.yml:2:13: sweep.grouping: must be one of majors-separate, single, per-dependency",
        "cat/.catalog-ops.yml:3:11: sweep.labels: must be a list of strings",
        "cat/.catalog-ops.yml:4:3: sweep.colour: unknown key (known: branch_prefix, cli, default_registry, grouping, "
        "ignore, labels, provider_mirror, registries, upstreams, workflows)",
        "cat/.catalog-ops.yml:6:7: sweep.ignore.versions: invalid version constraint part 'abc' in 'abc'",
    ]
    with pytest.raises(ConfigError, match=r"^x\.yml:2:1: invalid YAML"):
        parse_sweep_config("sweep: [\n", "x.yml")


@pytest.mark.parametrize(
    ("rule", "version", "kind", "ignored"),
    [
        (IgnoreRule(dependency="registry.terraform.io/hashicorp/*"), "6.0.0", Level.MAJOR, True),
        (IgnoreRule(dependency="registry.terraform.io/acme/*"), "6.0.0", Level.MAJOR, False),
        (IgnoreRule(dependency="*aws", versions=">= 6.0"), "6.1.0", Level.MAJOR, True),
        (IgnoreRule(dependency="*aws", versions=">= 6.0"), "5.9.0", Level.MINOR, False),
        (IgnoreRule(dependency="*aws", update_types=("major",)), "5.9.0", Level.MINOR, False),
        (IgnoreRule(dependency="*aws", update_types=("major",)), "6.0.0", Level.MAJOR, True),
    ],
)
def test_ignore_rules(rule: IgnoreRule, version: str, kind: Level, ignored: bool) -> None:
    v = parse_version(version)
    assert v is not None
    assert rule.ignores("registry.terraform.io/hashicorp/aws", v, kind) is ignored
