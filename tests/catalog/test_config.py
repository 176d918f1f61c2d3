"""The dependent's `.catalog-ops.yml`: schema, errors with file:line:col and key, policies."""

from __future__ import annotations

import pytest

from catalog_ops.catalog.config import DependentConfig, load_config, parse_config, path_matches
from catalog_ops.errors import ConfigError


def test_full_config() -> None:
    cfg = parse_config(
        "version: 1\n"
        "ignore: [modules/legacy-*]\n"
        "paths:\n  - live/**\n"
        "majors: false\n"
        "automerge: minor\n"
        "automerge_majors: true\n"
        "reviewers: [alice, acme/platform]\n"
        "labels: [deps]\n"
        "base: develop\n"
        "checks: {test_dir: test}\n",  # another command's section: not ours to validate
        "acme/app:.catalog-ops.yml",
    )
    assert cfg == DependentConfig(
        ignore=("modules/legacy-*",),
        paths=("live/**",),
        majors=False,
        automerge="minor",
        automerge_majors=True,
        reviewers=("alice", "acme/platform"),
        labels=("deps",),
        base="develop",
        source="acme/app:.catalog-ops.yml",
    )
    assert cfg.ignores_module("modules/legacy-vpc") and not cfg.ignores_module("modules/vpc")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "automerge: sometimes\n",
            "f.yml:1:12: key 'automerge': must be one of never, security, patch, minor",
        ),
        ("labelz: [a]\n", "f.yml:1:1: unknown key 'labelz'"),
        ("labels: [a]\nmajors: 3\n", "f.yml:2:9: key 'majors': must be true or false"),
        ("reviewers: alice\n", "f.yml:1:12: key 'reviewers': must be a list of strings"),
        ("labels:\n  - ok\n  - [x]\n", "f.yml:2:3: key 'labels': item at line 3 must be a non-empty string"),
        ("base: 3\n", "f.yml:1:7: key 'base': must be a non-empty string"),
        ("version: 2\n", "f.yml:1:10: key 'version': unsupported schema version 2"),
        ("- a\n", "f.yml:1:1: the document must be a mapping"),
        ("a: [\n", "f.yml:2:1: invalid YAML"),
        ("base: a\nbase: b\n", "f.yml:2:1: key 'base': duplicate key"),
    ],
)
def test_errors_name_file_line_and_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "f.yml")
    assert message in str(info.value)


def test_all_errors_reported_together() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("typo: 1\nmajors: maybe\n", "f.yml")
    assert str(info.value).splitlines() == [
        "f.yml:1:1: unknown key 'typo' (known keys: automerge, automerge_majors, automerge_patched_majors, automerge_without_checks, base, "
        "environments, ignore, labels, majors, max_open_prs, min_release_age, paths, post_merge_checks, raise_floor, reviewers, "
        "security_skip_soak, soak, strategy, version, windows)",
        "f.yml:2:9: key 'majors': must be true or false",
    ]


def test_empty_and_absent() -> None:
    assert parse_config("", "f") == DependentConfig(source="f")
    assert load_config({}) == DependentConfig()
    assert load_config({".catalog-ops.yml": b"labels: [a]\n"}, label="acme/x").labels == ("a",)


@pytest.mark.parametrize(
    ("policy", "urgency", "update", "major_ok", "want"),
    [
        ("security", "security", "patch", False, True),
        ("security", "normal", "patch", False, False),
        ("never", "security", "patch", False, False),
        ("patch", "normal", "patch", False, True),
        ("patch", "normal", "minor", False, False),
        ("minor", "normal", "minor", False, True),
        ("security", "security", "major", False, False),
        ("security", "security", "major", True, True),
    ],
)
def test_automerge_policy(policy: str, urgency: str, update: str, major_ok: bool, want: bool) -> None:
    cfg = DependentConfig(automerge=policy, automerge_majors=major_ok)
    assert cfg.allows_automerge(urgency=urgency, update_type=update) is want


@pytest.mark.parametrize(
    ("path", "pattern", "want"),
    [
        ("live/dev/main.tf", "live", True),
        ("live/dev/main.tf", "live/**/*.tf", True),
        ("live/main.tf", "live/**/*.tf", True),
        ("a/b.tf", "*.tf", False),
        ("b.tf", "**/*.tf", True),
        (".github/x.hcl", ".github", True),
        ("lively/x.tf", "live", False),
        ("x.tf", "./", True),
    ],
)
def test_path_globs(path: str, pattern: str, want: bool) -> None:
    assert path_matches(path, pattern) is want


def test_not_utf8_names_the_line_and_column_of_the_bad_byte() -> None:
    with pytest.raises(ConfigError, match=r"^acme/web:\.catalog-ops\.yml:2:12: not UTF-8"):
        parse_config(b"# owners\nautomerge: \xff\xfe\n", "acme/web:.catalog-ops.yml")


def test_environments_in_chain_order_with_soak_and_checks() -> None:
    cfg = parse_config(
        "environments:\n"
        "  dev: ['non-prod/*/dev/**']\n"
        "  stage: non-prod/*/stage/**\n"
        "  prod: [prod/**, global/prod.hcl]\n"
        "soak: 24h\n"
        "post_merge_checks: true\n"
        "security_skip_soak: true\n",
        "f.yml",
    )
    assert cfg.environments == (
        ("dev", ("non-prod/*/dev/**",)),
        ("stage", ("non-prod/*/stage/**",)),
        ("prod", ("prod/**", "global/prod.hcl")),
    )
    assert (cfg.soak_seconds, cfg.post_merge_checks, cfg.security_skip_soak) == (86400, True, True)
    assert cfg.env_names == ("dev", "stage", "prod")
    assert cfg.env_of("non-prod/us-east-1/dev/vpc/terragrunt.hcl") == "dev"
    assert cfg.env_of("global/prod.hcl") == "prod"
    assert cfg.env_of("_envcommon/vpc.hcl") is None
    assert DependentConfig.from_json(cfg.to_json()) == cfg
    assert "environments" not in DependentConfig().to_json()  # plans without chains are unchanged


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("45m", 2700), ("2d", 172800), ("1w", 604800), ("0", 0)],
)
def test_soak_durations(text: str, seconds: int) -> None:
    cfg = parse_config(f"environments: {{a: [x/**]}}\nsoak: {text}\n", "f.yml")
    assert cfg.soak_seconds == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "environments: [dev, prod]\n",
            "f.yml:1:15: key 'environments': must be a mapping of environment names",
        ),
        ("environments:\n  dev: []\n", "key 'environments': environment 'dev': needs at least one path glob"),
        ("environments:\n  'a b': [x]\n", "environment at line 2: name must be 1-40 letters"),
        ("environments:\n  ../x: [x]\n", "environment at line 2: name must be 1-40 letters"),
        ("environments:\n  a: [x]\n  a: [y]\n", "environment 'a' at line 3: duplicate name"),
        ("environments: {a: ['" + "**/" * 9 + "x']}\n", "environment 'a': item at line 1"),
        ("environments: {a: [x]}\nsoak: soon\n", "f.yml:2:7: key 'soak': must be a duration such as 24h"),
        ("environments: {a: [x]}\nsoak: 100d\n", "f.yml:2:7: key 'soak': is longer than 90 days"),
        ("soak: 1h\n", "f.yml:1:7: key 'soak': needs 'environments'"),
        ("post_merge_checks: true\n", "f.yml:1:20: key 'post_merge_checks': needs 'environments'"),
    ],
)
def test_environment_errors_name_file_line_and_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "f.yml")
    assert message in str(info.value)


def test_soak_post_merge_checks_and_automerge_errors_reported_together() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("version: 2\nsoak: 24h\npost_merge_checks: true\nautomerge: always\n", "f.yml")
    assert str(info.value).splitlines() == [
        "f.yml:4:12: key 'automerge': must be one of never, security, patch, minor (got 'always')",
        "f.yml:1:10: key 'version': unsupported schema version 2 (known: 1)",
        "f.yml:2:7: key 'soak': needs 'environments'",
        "f.yml:3:20: key 'post_merge_checks': needs 'environments'",
    ]


def test_at_most_ten_environments() -> None:
    text = "environments:\n" + "".join(f"  e{i}: [e{i}/**]\n" for i in range(11))
    with pytest.raises(ConfigError, match="has 11 environments; at most 10"):
        parse_config(text, "f.yml")
