"""Override files and OpenTofu extension precedence (refs.overrides): references as Terraform
and OpenTofu load them (Terraform "Override Files", OpenTofu "Files and Directories")."""

from __future__ import annotations

import pytest

from catalog_ops.bump import bump_files
from catalog_ops.refs import scan_files
from catalog_ops.refs.overrides import is_override_file, shadowed

MAIN = 'module "aws" {\n  source  = "babbel/cloudfront-bucket/aws"\n  version = "2.0.0"\n}\n'


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("override.tf", True),
        ("a/override.tf.json", True),
        ("a/override.tofu", True),
        ("a/override.tofu.json", True),
        ("a/x_override.tf", True),
        ("a/x_override.tofu.json", True),
        ("a/xoverride.tf", False),
        ("a/override.hcl", False),
        ("a/main.tf", False),
    ],
)
def test_is_override_file(path, expected):
    assert is_override_file(path) is expected


def test_shadowed_by_tofu_files():
    paths = ["m/main.tf", "m/main.tofu", "m/vars.tf", "m/x.tf.json", "m/x.tofu.json", "n/main.tf", "m/y.tofu"]
    assert shadowed(paths) == {"m/main.tf", "m/x.tf.json"}


# (files, expected [(path, entry, name, version, version_path)]) — issue 17, bug 2 and friends.
CASES = {
    "module version in override.tf": (
        {"main.tf": MAIN, "override.tf": 'module "aws" {\n  version = "2.2.0"\n}\n'},
        [("main.tf", "module", "aws", "2.2.0", "override.tf")],
    ),
    "later override file wins (lexicographic order)": (
        {
            "main.tf": MAIN,
            "a_override.tf": 'module "aws" {\n  version = "2.1.0"\n}\n',
            "b_override.tf": 'module "aws" {\n  version = "2.2.0"\n}\n',
        },
        [("main.tf", "module", "aws", "2.2.0", "b_override.tf")],
    ),
    "override.tf.json sets the version": (
        {"main.tf": MAIN, "override.tf.json": '{"module": {"aws": {"version": "2.2.0"}}}'},
        [("main.tf", "module", "aws", "2.2.0", "override.tf.json")],
    ),
    "override replaces the source and keeps the version": (
        {"main.tf": MAIN, "x_override.tf": 'module "aws" {\n  source = "acme/bucket/aws"\n}\n'},
        [("x_override.tf", "module", "aws", "2.0.0", "main.tf")],
    ),
    "override in another directory does not apply": (
        {"main.tf": MAIN, "other/override.tf": 'module "aws" {\n  version = "2.2.0"\n}\n'},
        [("main.tf", "module", "aws", "2.0.0", "main.tf")],
    ),
    "required_providers merged element by element": (
        {
            "versions.tf": 'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws", version = "~> 4.0" }\n'
            '    null = { source = "hashicorp/null", version = "~> 3.0" }\n  }\n}\n',
            "override.tf": 'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws", version = "~> 5.0" }\n  }\n}\n',
        },
        [
            ("override.tf", "provider", "aws", "~> 5.0", "override.tf"),
            ("versions.tf", "provider", "null", "~> 3.0", "versions.tf"),
        ],
    ),
    "required_version replaced": (
        {
            "versions.tf": 'terraform {\n  required_version = ">= 1.0"\n}\n',
            "override.tofu": 'terraform {\n  required_version = ">= 1.6"\n}\n',
        },
        [("override.tofu", "required_version", None, ">= 1.6", "override.tofu")],
    ),
    ".tofu hides the .tf of the same name": (
        {"main.tf": MAIN, "main.tofu": MAIN.replace("2.0.0", "3.0.0")},
        [("main.tofu", "module", "aws", "3.0.0", "main.tofu")],
    ),
    ".tofu.json hides the .tf.json of the same name": (
        {
            "main.tf.json": '{"module": {"aws": {"source": "babbel/cloudfront-bucket/aws", "version": "2.0.0"}}}',
            "main.tofu.json": '{"module": {"aws": {"source": "babbel/cloudfront-bucket/aws", "version": "3.0.0"}}}',
        },
        [("main.tofu.json", "module", "aws", "3.0.0", "main.tofu.json")],
    ),
    "legacy provider block version overridden": (
        {
            "providers.tf": 'provider "aws" {\n  region  = "eu-west-1"\n  version = "~> 2.0"\n}\n',
            "override.tf": 'provider "aws" {\n  version = "~> 3.0"\n}\n',
        },
        [("override.tf", "provider_block", "aws", "~> 3.0", "override.tf")],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_references_as_terraform_merges_them(case):
    files, expected = CASES[case]
    refs = scan_files({p: t.encode() for p, t in files.items()}).references
    got = [(r.path, str(r.entry), r.name, r.version, r.version_path) for r in refs]
    assert sorted(got, key=str) == sorted(expected, key=str)


def test_bump_edits_the_override_terraform_uses():
    files = {"main.tf": MAIN.encode(), "override.tf": b'module "aws" {\n  version = "2.2.0"\n}\n'}
    result = bump_files(files, address="babbel/cloudfront-bucket/aws", to="2.3.0")
    assert result.changed == {"override.tf": b'module "aws" {\n  version = "2.3.0"\n}\n'}
    assert [(o.path, o.old, o.new, o.status) for o in result.outcomes] == [
        ("override.tf", "2.2.0", "2.3.0", "bumped")
    ]
    again = bump_files({**files, **result.changed}, address="babbel/cloudfront-bucket/aws", to="2.3.0")
    assert again.changed == {} and [o.status for o in again.outcomes] == ["already"]


def test_bump_of_tofu_module_leaves_the_shadowed_tf_alone():
    files = {"main.tf": MAIN.encode(), "main.tofu": MAIN.encode()}
    result = bump_files(files, address="babbel/cloudfront-bucket/aws", to="2.3.0")
    assert result.changed == {"main.tofu": MAIN.replace("2.0.0", "2.3.0").encode()}
