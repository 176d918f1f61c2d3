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
        ("version: 2\n", "f.yml: key 'version': unsupported schema version 2"),
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
        "f.yml:1:1: unknown key 'typo' (known keys: automerge, automerge_majors, automerge_without_checks, base, ignore, labels, "
        "majors, max_open_prs, min_release_age, paths, raise_floor, reviewers, strategy, version, windows)",
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
