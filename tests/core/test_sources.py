"""Table-driven tests of module source address parsing (Terraform / go-getter rules)."""

from __future__ import annotations

import pytest

from catalog_ops.core.sources import (
    RefKind,
    SourceKind,
    git_remote_url,
    normalize_identity,
    parse_provider_address,
    parse_source,
    source_matches,
)
from catalog_ops.errors import UsageError

GH = "github.com/acme/infrastructure-modules"

# raw, kind, identity, subdir, ref, ref_kind, updatable
CASES = [
    # generic git over https, with //subdir and ?ref=
    (
        f"git::https://{GH}.git//modules/eks-cluster?ref=v1.4.2",
        SourceKind.GIT,
        GH,
        "modules/eks-cluster",
        "v1.4.2",
        RefKind.SEMVER_TAG,
        True,
    ),
    (f"git::https://{GH}.git?ref=1.4.2", SourceKind.GIT, GH, None, "1.4.2", RefKind.SEMVER_TAG, True),
    (
        f"git::https://{GH}//modules/vpc?ref=v1.0.0",
        SourceKind.GIT,
        GH,
        "modules/vpc",
        "v1.0.0",
        RefKind.SEMVER_TAG,
        True,
    ),
    (
        f"git::http://{GH}.git//modules/vpc?ref=v1.0.0",
        SourceKind.GIT,
        GH,
        "modules/vpc",
        "v1.0.0",
        RefKind.SEMVER_TAG,
        True,
    ),
    # host case-insensitive, github path case-insensitive, user info dropped
    (
        "git::https://GitHub.COM/Acme/Infrastructure-Modules.git//modules/vpc?ref=v1.0.0",
        SourceKind.GIT,
        GH,
        "modules/vpc",
        "v1.0.0",
        RefKind.SEMVER_TAG,
        True,
    ),
    (
        f"git::https://oauth2:tok@{GH}.git?ref=v1.0.0",
        SourceKind.GIT,
        GH,
        None,
        "v1.0.0",
        RefKind.SEMVER_TAG,
        True,
    ),
    # ssh with and without port
    (
        f"git::ssh://git@{GH}.git//modules/vpc?ref=v1.0.0",
        SourceKind.GIT,
        GH,
        "modules/vpc",
        "v1.0.0",
        RefKind.SEMVER_TAG,
        True,
    ),
    (
        "git::ssh://git@github.com:22/acme/infrastructure-modules.git//modules/vpc?ref=v1.0.0",
        SourceKind.GIT,
        GH,
        "modules/vpc",
        "v1.0.0",
        RefKind.SEMVER_TAG,
        True,
    ),
    # scp-like with and without git::
    (
        "git@github.com:acme/infrastructure-modules.git//modules/vpc?ref=v1.0.0",
        SourceKind.GIT,
        GH,
        "modules/vpc",
        "v1.0.0",
        RefKind.SEMVER_TAG,
        True,
    ),
    (
        "git::git@github.com:acme/infrastructure-modules.git//modules/vpc?ref=v1.0.0",
        SourceKind.GIT,
        GH,
        "modules/vpc",
        "v1.0.0",
        RefKind.SEMVER_TAG,
        True,
    ),
    ("git@github.com:acme/infrastructure-modules.git", SourceKind.GIT, GH, None, None, RefKind.NONE, True),
    # query parameters in any order
    (
        "git::https://github.com/acme/infrastructure-modules.git//modules/vpc?depth=1&ref=v1.0.0",
        SourceKind.GIT,
        GH,
        "modules/vpc",
        "v1.0.0",
        RefKind.SEMVER_TAG,
        True,
    ),
    (
        "git::ssh://git@github.com/acme/infrastructure-modules.git?sshkey=abc&ref=v1.0.0&depth=1",
        SourceKind.GIT,
        GH,
        None,
        "v1.0.0",
        RefKind.SEMVER_TAG,
        True,
    ),
    # legacy order: ?ref= before //subdir
    (
        "git::https://github.com/acme/infrastructure-modules.git?ref=v1.0.0//modules/vpc",
        SourceKind.GIT,
        GH,
        "modules/vpc",
        "v1.0.0",
        RefKind.SEMVER_TAG,
        True,
    ),
    (
        "git@github.com:acme/infrastructure-modules.git?ref=v1.0.0//modules/vpc",
        SourceKind.GIT,
        GH,
        "modules/vpc",
        "v1.0.0",
        RefKind.SEMVER_TAG,
        True,
    ),
    (
        "git::ssh://git@github.com/acme/infrastructure-modules.git?sshkey=ab//cd&ref=v1.0.0",
        SourceKind.GIT,
        GH,
        None,
        "v1.0.0",
        RefKind.SEMVER_TAG,
        True,
    ),
    # GitHub / Bitbucket shorthands
    (
        f"{GH}//modules/vpc?ref=v1.0.0",
        SourceKind.GITHUB,
        GH,
        "modules/vpc",
        "v1.0.0",
        RefKind.SEMVER_TAG,
        True,
    ),
    (
        f"{GH}.git//modules/vpc?ref=v1.0.0",
        SourceKind.GITHUB,
        GH,
        "modules/vpc",
        "v1.0.0",
        RefKind.SEMVER_TAG,
        True,
    ),
    (
        f"{GH}/modules/vpc?ref=v1.0.0",
        SourceKind.GITHUB,
        GH,
        "modules/vpc",
        "v1.0.0",
        RefKind.SEMVER_TAG,
        True,
    ),
    (
        "bitbucket.org/acme/mods//x?ref=v2.0.0",
        SourceKind.BITBUCKET,
        "bitbucket.org/acme/mods",
        "x",
        "v2.0.0",
        RefKind.SEMVER_TAG,
        True,
    ),
    # other git hosts, ports dropped from the identity, path case kept
    (
        "git::https://git.corp.example:8443/Team/Repo.git?ref=v2.0.0",
        SourceKind.GIT,
        "git.corp.example/Team/Repo",
        None,
        "v2.0.0",
        RefKind.SEMVER_TAG,
        True,
    ),
    (
        "git::ssh://git@git.corp.example:7999/team/repo.git//m?ref=v2.0.0",
        SourceKind.GIT,
        "git.corp.example/team/repo",
        "m",
        "v2.0.0",
        RefKind.SEMVER_TAG,
        True,
    ),
    (
        "git::https://gitlab.com/group/sub/repo.git//m?ref=v1.0.0",
        SourceKind.GIT,
        "gitlab.com/group/sub/repo",
        "m",
        "v1.0.0",
        RefKind.SEMVER_TAG,
        True,
    ),
    # ref classification
    (
        f"{GH}//modules/vpc?ref=modules/vpc/v1.2.3",
        SourceKind.GITHUB,
        GH,
        "modules/vpc",
        "modules/vpc/v1.2.3",
        RefKind.SEMVER_TAG,
        True,
    ),
    (f"{GH}//modules/vpc?ref=main", SourceKind.GITHUB, GH, "modules/vpc", "main", RefKind.BRANCH, True),
    (
        f"{GH}//modules/vpc?ref=feature/new-thing",
        SourceKind.GITHUB,
        GH,
        "modules/vpc",
        "feature/new-thing",
        RefKind.BRANCH,
        True,
    ),
    (
        f"{GH}?ref=0123456789abcdef0123456789abcdef01234567",
        SourceKind.GITHUB,
        GH,
        None,
        "0123456789abcdef0123456789abcdef01234567",
        RefKind.SHA,
        True,
    ),
    (f"{GH}?ref=abc1234", SourceKind.GITHUB, GH, None, "abc1234", RefKind.SHA, True),
    (f"{GH}?ref=v1.3.0-rc.1", SourceKind.GITHUB, GH, None, "v1.3.0-rc.1", RefKind.SEMVER_TAG, True),
    (
        f"git::https://{GH}.git?ref=${{local.v}}",
        SourceKind.GIT,
        GH,
        None,
        "${local.v}",
        RefKind.DYNAMIC,
        False,
    ),
    # registry
    (
        "acme/eks/aws",
        SourceKind.REGISTRY,
        "registry.terraform.io/acme/eks/aws",
        None,
        None,
        RefKind.NONE,
        True,
    ),
    (
        "registry.terraform.io/Acme/EKS/aws",
        SourceKind.REGISTRY,
        "registry.terraform.io/acme/eks/aws",
        None,
        None,
        RefKind.NONE,
        True,
    ),
    (
        "app.terraform.io/acme/eks/aws//modules/node-group",
        SourceKind.REGISTRY,
        "app.terraform.io/acme/eks/aws",
        "modules/node-group",
        None,
        RefKind.NONE,
        True,
    ),
    (
        "registry.corp.example:8443/acme/eks/aws",
        SourceKind.REGISTRY,
        "registry.corp.example:8443/acme/eks/aws",
        None,
        None,
        RefKind.NONE,
        True,
    ),
    (
        "localhost:5000/acme/eks/aws",
        SourceKind.REGISTRY,
        "localhost:5000/acme/eks/aws",
        None,
        None,
        RefKind.NONE,
        True,
    ),
    # Terragrunt tfr://
    (
        "tfr:///terraform-aws-modules/vpc/aws?version=5.1.0",
        SourceKind.REGISTRY,
        "registry.terraform.io/terraform-aws-modules/vpc/aws",
        None,
        "5.1.0",
        RefKind.SEMVER_TAG,
        True,
    ),
    (
        "tfr://registry.terraform.io/terraform-aws-modules/vpc/aws?version=5.1.0",
        SourceKind.REGISTRY,
        "registry.terraform.io/terraform-aws-modules/vpc/aws",
        None,
        "5.1.0",
        RefKind.SEMVER_TAG,
        True,
    ),
    (
        "tfr://app.terraform.io/acme/eks/aws//modules/x?version=1.0.0",
        SourceKind.REGISTRY,
        "app.terraform.io/acme/eks/aws",
        "modules/x",
        "1.0.0",
        RefKind.SEMVER_TAG,
        True,
    ),
    # not updatable
    ("./modules/vpc", SourceKind.LOCAL, None, None, None, RefKind.NONE, False),
    ("../../modules/vpc", SourceKind.LOCAL, None, None, None, RefKind.NONE, False),
    (
        "hg::http://example.com/repo//m?ref=v1.0.0",
        SourceKind.HG,
        "example.com/repo",
        "m",
        "v1.0.0",
        RefKind.SEMVER_TAG,
        False,
    ),
    (
        "s3::https://s3-eu-west-1.amazonaws.com/bucket/vpc.zip",
        SourceKind.S3,
        None,
        None,
        None,
        RefKind.NONE,
        False,
    ),
    ("bucket.s3.amazonaws.com/vpc.zip", SourceKind.S3, None, None, None, RefKind.NONE, False),
    (
        "gcs::https://www.googleapis.com/storage/v1/bucket/vpc.zip",
        SourceKind.GCS,
        None,
        None,
        None,
        RefKind.NONE,
        False,
    ),
    ("www.googleapis.com/storage/v1/bucket/vpc", SourceKind.GCS, None, None, None, RefKind.NONE, False),
    ("https://example.com/vpc-module.zip", SourceKind.HTTP, None, None, None, RefKind.NONE, False),
    ("https://example.com/vpc-module?archive=zip", SourceKind.HTTP, None, None, None, RefKind.NONE, False),
    ("https://example.com/modules/vpc", SourceKind.HTTP, None, None, None, RefKind.NONE, False),
    ("${local.base}?ref=v1.0.0", SourceKind.DYNAMIC, None, None, None, RefKind.NONE, False),
]


@pytest.mark.parametrize(
    ("raw", "kind", "identity", "subdir", "ref", "ref_kind", "updatable"), CASES, ids=[c[0] for c in CASES]
)
def test_parse_source_table(raw, kind, identity, subdir, ref, ref_kind, updatable):
    src = parse_source(raw)
    assert src.raw == raw
    assert (src.kind, src.identity, src.subdir, src.ref, src.ref_kind, src.updatable) == (
        kind,
        identity,
        subdir,
        ref,
        ref_kind,
        updatable,
    )
    if ref is not None:
        assert src.ref_span is not None
        assert raw[src.ref_span[0] : src.ref_span[1]] == ref
    if not updatable:
        assert src.reason


def test_all_git_forms_share_identity():
    forms = [c[0] for c in CASES if c[2] == GH]
    assert len(forms) > 15
    assert {parse_source(f).identity for f in forms} == {GH}


@pytest.mark.parametrize(
    ("address", "identity", "subdir"),
    [
        (f"{GH}//modules/eks-cluster", GH, "modules/eks-cluster"),
        (f"git::https://{GH}.git//modules/eks-cluster/", GH, "modules/eks-cluster"),
        ("git@github.com:acme/infrastructure-modules.git", GH, None),
        (f"git::https://{GH}", GH, None),
        ("acme/eks/aws", "registry.terraform.io/acme/eks/aws", None),
        ("tfr:///acme/eks/aws", "registry.terraform.io/acme/eks/aws", None),
    ],
)
def test_normalize_identity(address, identity, subdir):
    assert normalize_identity(address) == (identity, subdir)


@pytest.mark.parametrize("address", ["./modules/vpc", "s3::https://s3.amazonaws.com/b/x.zip", "nonsense"])
def test_normalize_identity_rejects_non_repositories(address):
    with pytest.raises(UsageError):
        normalize_identity(address)


def test_source_matches_subdir_rules():
    src = parse_source(
        "git::ssh://git@github.com:22/acme/infrastructure-modules.git//modules/eks-cluster?ref=v1"
    )
    assert source_matches(src, GH)
    assert source_matches(src, f"{GH}//modules/eks-cluster")
    assert source_matches(src, "git@github.com:Acme/infrastructure-modules.git//modules/eks-cluster")
    assert not source_matches(src, f"{GH}//modules/vpc")
    assert not source_matches(src, "github.com/acme/other")
    reg = parse_source("acme/eks/aws")
    assert source_matches(reg, "registry.terraform.io/acme/eks/aws")
    assert not source_matches(reg, "acme/eks/google")


# ------------------------------------------------------------------ other address forms


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        ("git::https://example.com/a/b.git//sub?ref=v1.0.0", "https://example.com/a/b.git"),
        ("git::ssh://git@example.com/a/b.git?ref=v1.0.0&depth=1", "ssh://git@example.com/a/b.git"),
        ("github.com/acme/mod//x?ref=v1.2.0", "https://github.com/acme/mod.git"),
        ("git@github.com:acme/mod.git?ref=v1", "git@github.com:acme/mod.git"),
    ],
)
def test_git_remote_url(raw: str, url: str) -> None:
    assert git_remote_url(raw) == url


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
def test_parse_provider_address(address: str, want: tuple[str, str, str] | None) -> None:
    assert parse_provider_address(address) == want


# Issue 17, bug 1: go-getter parses URL forms with net/url, which accepts only digits as a port;
# `ssh://host:path` is not the scp-like form (hashicorp/go-getter pull 180).
@pytest.mark.parametrize(
    ("raw", "updatable", "identity", "reason_has"),
    [
        (
            "git::ssh://git@git.example.com:modules/foo-module.git//bar?ref=v1.0.0",
            False,
            None,
            "invalid port",
        ),
        ("ssh://git@git.example.com:modules/foo-module.git?ref=v1.0.0", False, None, "unrecognised"),
        ("git::https://git.example.com:x8443/foo.git?ref=v1.0.0", False, None, "invalid port"),
        (
            "git::ssh://git@git.example.com:2222/foo-module.git//bar?ref=v1.0.0",
            True,
            "git.example.com/foo-module",
            None,
        ),
        (
            "git::ssh://git@git.example.com:/foo-module.git?ref=v1.0.0",
            True,
            "git.example.com/foo-module",
            None,
        ),
        (
            "git@git.example.com:modules/foo-module.git//bar?ref=v1.0.0",
            True,
            "git.example.com/modules/foo-module",
            None,
        ),
    ],
)
def test_url_port_must_be_numeric(raw, updatable, identity, reason_has):
    src = parse_source(raw)
    assert src.updatable is updatable
    if identity is not None:
        assert src.identity == identity
    if reason_has:
        assert src.identity is None and reason_has in (src.reason or "")
        assert not source_matches(src, "git::ssh://git@git.example.com/foo-module.git")
        assert not source_matches(src, "git::https://git.example.com/foo-module.git")


# Issue 17, bug 3: one validation of provider source addresses for refs and the sweep
# (Terraform "Provider Requirements"; tfaddr.ParseProviderPart: letters, digits, inner dashes).
@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("//hashicorp/helm", None),
        ("/hashicorp/helm", None),
        ("hashicorp//helm", None),
        ("hashicorp/helm/", None),
        ("a/b/c/d", None),
        ("-acme/x", None),
        ("acme/x-", None),
        ("acme/x_y", None),
        ("exa mple.com/acme/x", None),
        ("example.com:8443/acme/x", "example.com:8443/acme/x"),
        ("HashiCorp/Helm", "registry.terraform.io/hashicorp/helm"),
        ("helm", "registry.terraform.io/hashicorp/helm"),
        ("registry.opentofu.org/opentofu/aws", "registry.opentofu.org/opentofu/aws"),
    ],
)
def test_provider_address_validation(address, expected):
    got = parse_provider_address(address)
    assert (str(got) if got else None) == expected
