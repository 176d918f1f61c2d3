"""Reference discovery over in-memory trees: HCL, JSON, version files, statuses, parse errors."""

from __future__ import annotations

import pytest

from catalog_ops.cli import main
from catalog_ops.core.sources import RefKind, SourceKind
from catalog_ops.hcl import lex
from catalog_ops.refs import RefKindOfEntry, is_candidate_path, scan_files
from fixtures.refs import GH, SAMPLE_TREE


def _by_path(result):
    out = {}
    for r in result.references:
        out.setdefault(r.path, []).append(r)
    return out


def test_candidate_paths():
    for p in [
        "a/main.tf",
        "x.tf.json",
        "terragrunt.hcl",
        "live/terragrunt.stack.hcl",
        "a/.terraform-version",
        ".tool-versions",
        "x.tofu",
    ]:
        assert is_candidate_path(p), p
    for p in ["README.md", "main.tf.bak", "x.json", "terraform-version"]:
        assert not is_candidate_path(p), p


def test_sample_tree_references():
    result = scan_files(SAMPLE_TREE)
    assert result.errors == []
    refs = _by_path(result)
    assert "stacks/.terraform/modules/eks/main.tf" not in refs  # .terraform/ is never read
    # Terragrunt child resolved through include.root.locals; the ref is written in the child.
    (vpc,) = refs["live/prod/vpc/terragrunt.hcl"]
    assert (vpc.entry, vpc.line, vpc.col, vpc.status) == (RefKindOfEntry.TERRAGRUNT, 7, 12, "ok")
    assert (vpc.source.identity, vpc.source.subdir, vpc.source.ref) == (GH, "modules/vpc", "v1.2.0")
    assert vpc.written_in == "live/prod/vpc/terragrunt.hcl"
    text = SAMPLE_TREE[vpc.written_in].decode()
    assert text[vpc.ref_span[0] : vpc.ref_span[1]] == "v1.2.0"
    # Whole source in the included file's locals: the ref bytes live in root.hcl.
    for child in ("live/prod/dns/terragrunt.hcl", "live/stage/dns/terragrunt.hcl"):
        (dns,) = refs[child]
        assert dns.written_in == "live/root.hcl"
        assert dns.source.subdir == "modules/dns"
        assert SAMPLE_TREE["live/root.hcl"].decode()[dns.ref_span[0] : dns.ref_span[1]] == "v1.2.0"
    # dirname(find_in_parent_folders()) template path to an _envcommon file.
    (eks,) = refs["live/prod/eks/terragrunt.hcl"]
    assert (eks.source.subdir, eks.source.ref, eks.status) == ("modules/eks-cluster", "v1.2.0", "ok")
    (app,) = refs["live/prod/app/terragrunt.hcl"]
    assert app.status == "dynamic" and "local.unknown" in app.reason
    unit, stack = refs["live/terragrunt.stack.hcl"]
    assert (unit.entry, unit.name, unit.source.subdir) == (RefKindOfEntry.STACK_UNIT, "vpc", "units/vpc")
    assert (stack.entry, stack.name, stack.source.kind) == (
        RefKindOfEntry.STACK,
        "platform",
        SourceKind.GITHUB,
    )
    main = {(r.entry, r.name): r for r in refs["stacks/main.tf"]}
    assert main[(RefKindOfEntry.MODULE, "local")].status == "local"
    reg = main[(RefKindOfEntry.MODULE, "registry")]
    assert (reg.source.identity, reg.version, reg.line, reg.col) == (
        "registry.terraform.io/acme/eks/aws",
        "~> 1.1.0",
        8,
        13,
    )
    assert main[(RefKindOfEntry.REQUIRED_VERSION, None)].version == ">= 1.5.0"
    aws = main[(RefKindOfEntry.PROVIDER, "aws")]
    assert (aws.version, aws.provider_source, aws.line) == ("~> 5.0", "hashicorp/aws", 16)
    assert [(r.entry, r.name, r.version) for r in refs["stacks/.tool-versions"]] == [
        (RefKindOfEntry.TOOL_VERSIONS, "terraform", "1.9.5"),
        (RefKindOfEntry.TOOL_VERSIONS, "terragrunt", "0.66.0"),
    ]
    assert refs["stacks/.terraform-version"][0].version == "1.9.5"


def test_same_file_locals_and_statuses():
    # unit/stack blocks count only in terragrunt.stack.hcl (issue 17: what Terragrunt reads)
    files = {
        "main.hcl": b"""locals {
  base_url = "git::https://github.com/acme/mods.git//vpc"
  ver      = "v1.0.0"
}
terraform {
  source = "${local.base_url}?ref=${local.ver}"
}
""",
        "terragrunt.stack.hcl": b"""locals {
  base_url = "git::https://github.com/acme/mods.git//vpc"
}
unit "a" {
  source = "${local.base_url}?ref=main"
}
unit "b" {
  source = format("%s?ref=%s", local.base_url, "v1")
}
unit "c" {
  source = "git::https://github.com/acme/mods.git?ref=${get_env("V")}"
}
unit "d" {
  source = "github.com/acme/mods"
}
unit "e" {
  source = "s3::https://s3.amazonaws.com/b/vpc.zip"
}
""",
    }
    refs = scan_files(files).references
    assert [(r.name, r.status) for r in refs] == [
        (None, "ok"),
        ("a", "branch"),
        ("b", "dynamic"),
        ("c", "dynamic"),
        ("d", "unpinned"),
        ("e", "unsupported"),
    ]
    assert refs[0].source.ref == "v1.0.0" and refs[0].ref_span is not None
    assert refs[0].written_in == "main.hcl"
    assert "format" in refs[2].reason
    assert refs[3].source.identity == "github.com/acme/mods" and refs[3].source.ref_kind is RefKind.DYNAMIC


def test_tf_json():
    text = (
        '{\n  "module": {\n    "vpc": {\n      "source": "git::https://github.com/acme/mods.git//vpc?ref=v1.0.0"\n    },\n'
        '    "reg": [{"source": "acme/eks/aws", "version": "~> 1.0"}]\n  },\n'
        '  "terraform": [{"required_version": ">= 1.5", "required_providers": {"aws": {"source": "hashicorp/aws", "version": "~> 5.0"}}}]\n}\n'
    )
    result = scan_files({"main.tf.json": text.encode()})
    assert result.errors == []
    vpc, reg, rv, aws = result.references
    assert (vpc.name, vpc.line, vpc.col, vpc.source.ref) == ("vpc", 4, 17, "v1.0.0")
    assert text[vpc.ref_span[0] : vpc.ref_span[1]] == "v1.0.0"
    assert (reg.name, reg.version) == ("reg", "~> 1.0")
    assert text[reg.version_span[0] : reg.version_span[1]] == "~> 1.0"
    assert (rv.entry, rv.version) == (RefKindOfEntry.REQUIRED_VERSION, ">= 1.5")
    assert (aws.entry, aws.name, aws.version, aws.provider_source) == (
        RefKindOfEntry.PROVIDER,
        "aws",
        "~> 5.0",
        "hashicorp/aws",
    )


def test_lexer_handles_comments_heredocs_and_templates():
    text = (
        '/* module "x" { source = "nope" } */\n'
        'locals {\n  doc = <<-EOT\n    module "y" { source = "nope" }\n  EOT\n}\n'
        '# module "z" { source = "nope" }\n'
        'module "real" { // trailing\n  source = "github.com/acme/mods?ref=v1.0.0" # c\n'
        '  tags = { a = "${upper("}")}", b = [1, 2] }\n}\n'
    )
    refs = scan_files({"m.tf": text.encode()}).references
    assert [(r.name, r.source.ref) for r in refs] == [("real", "v1.0.0")]
    kinds = [t.kind for t in lex('a = "x${b}y"\n')]
    assert kinds == ["ident", "punct", "string", "nl", "eof"]


@pytest.mark.parametrize(
    ("data", "line", "col", "message"),
    [
        (b'module "x" {\n  source = "abc\n}\n', 2, 12, "unterminated string"),
        (b'module "x" {\n  source = "abc"\n', 1, 1, "not closed"),
        (b"# source = x\n}\n", 2, 1, "unexpected '}'"),
        (b'module "x" {\n  source "abc"\n  version = "1"\n}\n', 2, 15, "expected '=' or '{'"),
        (b"locals {\n  source = <<EOT\nabc\n}\n", 2, 12, "unterminated heredoc"),
        (b'/* source = "x"', 1, 1, "unterminated /* comment"),
        (b'locals {\n  source = "\xff"\n}\n', 2, 13, "not valid UTF-8"),
        (b'source = "x"\x00\x00', 1, 1, "binary file"),
    ],
)
def test_parse_errors_have_positions(data, line, col, message):
    result = scan_files({"bad.tf": data, "good.tf": b'module "g" {\n  source = "acme/g/aws"\n}\n'})
    (err,) = result.errors
    assert (err.path, err.line, err.col) == ("bad.tf", line, col)
    assert message in err.message
    assert str(err).startswith(f"bad.tf:{line}:{col}: ")
    assert [r.name for r in result.references] == ["g"]  # the rest is still processed


def test_json_parse_error_position():
    result = scan_files({"x.tf.json": b'{\n  "module": {\n    "a": {"source": "x",}\n  }\n}\n'})
    (err,) = result.errors
    assert (err.line, err.col, err.message) == (3, 25, "expected a JSON object key")


def test_version_files_spans():
    files = {
        "a/.terraform-version": b"# pinned\n  1.9.5  \n",
        "a/.tool-versions": b"terraform 1.9.5 1.8.0\r\nterragrunt   0.66.0 # ok\n# nodejs 20\nnodejs\n",
    }
    refs = scan_files(files).references
    got = [(r.path, r.line, r.col, r.name, r.version) for r in refs]
    assert got == [
        ("a/.terraform-version", 2, 3, "terraform", "1.9.5"),
        ("a/.tool-versions", 1, 11, "terraform", "1.9.5"),
        ("a/.tool-versions", 2, 14, "terragrunt", "0.66.0"),
    ]
    for r in refs:
        assert files[r.path].decode()[r.version_span[0] : r.version_span[1]] == r.version


def test_legacy_provider_entry_without_source_or_version_keywords(tree_on_disk, capsys):
    tf = b'terraform {\n  required_providers {\n    aws = "~> 5.0"\n  }\n}\n'
    tf_json = b'{"terraform": {"required_providers": {"google": "~> 6.1"}}}\n'
    result = scan_files({"versions.tf": tf, "versions.tf.json": tf_json})
    assert result.errors == []
    assert [
        (r.path, r.line, r.col, r.entry, r.name, r.version, r.provider_source) for r in result.references
    ] == [
        ("versions.tf", 3, 11, RefKindOfEntry.PROVIDER, "aws", "~> 5.0", "hashicorp/aws"),
        ("versions.tf.json", 1, 49, RefKindOfEntry.PROVIDER, "google", "~> 6.1", "hashicorp/google"),
    ]
    root = tree_on_disk({"versions.tf": tf})
    assert main(["refs", str(root)]) == 0
    assert capsys.readouterr().out == f"{root}/versions.tf:3:11  provider  hashicorp/aws  ~> 5.0  ok\n"


LOCK = b"""provider "registry.terraform.io/hashicorp/aws" {
  version     = "5.0.0"
  constraints = "~> 5.0"
  hashes = [
    "h1:abc=",
  ]
}
"""
TF_BLOCKS = b"""terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.0" }
  }
}
module "m" {
  source = "git::https://github.com/acme/mods.git//vpc?ref=v1.0.0"
}
"""


# Issue 17, bug 6: *.hcl files are read only for what Terragrunt reads (docs/references.md).
@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"terraform.hcl": TF_BLOCKS}, []),
        ({"live/.terraform.lock.hcl": LOCK}, []),
        ({"live/terragrunt.hcl": TF_BLOCKS}, []),
        ({"live/main.tf": TF_BLOCKS}, ["required_version", "provider", "module"]),
        ({"live/main.tofu": TF_BLOCKS}, ["required_version", "provider", "module"]),
        (
            {
                "live/terragrunt.hcl": b'terraform {\n  source = "git::https://github.com/acme/mods.git//vpc?ref=v1.0.0"\n}\n'
            },
            ["terragrunt"],
        ),
        (
            {
                "root.hcl": b'terraform {\n  source = "tfr:///acme/vpc/aws?version=1.0.0"\n  required_version = ">= 1"\n}\n'
            },
            ["terragrunt"],
        ),
        ({"live/other.hcl": b'unit "u" {\n  source = "github.com/acme/mods//vpc?ref=v1.0.0"\n}\n'}, []),
        (
            {
                "live/terragrunt.stack.hcl": b'unit "u" {\n  source = "github.com/acme/mods//vpc?ref=v1.0.0"\n}\n'
            },
            ["stack_unit"],
        ),
        ({"tests/x.tftest.hcl": b'run "r" {\n  module {\n    source = "./x"\n  }\n}\n'}, []),
    ],
)
def test_hcl_files_read_like_terragrunt(files, expected):
    refs = scan_files(files).references
    assert [str(r.entry) for r in refs] == expected


def test_lock_file_is_not_a_candidate():
    assert not is_candidate_path("a/.terraform.lock.hcl")
    assert is_candidate_path("a/terragrunt.hcl") and is_candidate_path("a/main.tofu.json")


# Issue 17: legacy provider "x" { version } constraints (pre-0.13), HCL and JSON.
@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        (
            "p.tf",
            'provider "aws" {\n  region  = "eu-west-1"\n  version = "~> 2.0"\n}\nprovider "null" {}\n',
            [("aws", "~> 2.0", "ok", "hashicorp/aws", (3, 13))],
        ),
        (
            "p.tf.json",
            '{"provider": {"aws": [{"version": "~> 2.0"}, {"alias": "b", "version": "~> 2.1"}]}}',
            [
                ("aws", "~> 2.0", "ok", "hashicorp/aws", (1, 35)),
                ("aws", "~> 2.1", "ok", "hashicorp/aws", (1, 72)),
            ],
        ),
        (
            "p.tf",
            'provider "aws" {\n  version = var.v\n}\n',
            [("aws", None, "dynamic", "hashicorp/aws", (2, 13))],
        ),
    ],
)
def test_legacy_provider_version(path, text, expected):
    refs = scan_files({path: text.encode()}).references
    got = [(r.name, r.version, str(r.status), r.provider_source, (r.line, r.col)) for r in refs]
    assert got == expected
    for r in refs:
        assert r.entry == RefKindOfEntry.PROVIDER_BLOCK
        if r.status == "ok":
            assert "required_providers" in r.reason
            assert text[r.version_span[0] : r.version_span[1]] == r.version


# Issue 17, bug 3: an invalid provider source is not ok (the sweep's validation: core.sources).
@pytest.mark.parametrize(
    ("entry", "status"),
    [
        ('invalid = { source = "//hashicorp/helm", version = "1.2.4" }', "unsupported"),
        ('helm = { source = "hashicorp/helm", version = "1.2.4" }', "ok"),
        ('helm = { source = "a/b/c/d", version = "1.2.4" }', "unsupported"),
        ('helm = { source = var.s, version = "1.2.4" }', "dynamic"),
        ('helm = "1.2.4"', "ok"),
    ],
)
def test_provider_source_validity(entry, status):
    text = f"terraform {{\n  required_providers {{\n    {entry}\n  }}\n}}\n"
    (ref,) = scan_files({"v.tf": text.encode()}).references
    assert str(ref.status) == status
    jtext = '{"terraform": {"required_providers": {"x": {"source": "//hashicorp/helm", "version": "1"}}}}'
    (jref,) = scan_files({"v.tf.json": jtext.encode()}).references
    assert jref.status == "unsupported"


# Issue 17, bug 1: a non-numeric port never makes an ok reference.
def test_non_numeric_port_is_unsupported():
    text = 'module "m" {\n  source = "git::ssh://git@git.example.com:modules/foo-module.git//bar?ref=v1.0.0"\n}\n'
    (ref,) = scan_files({"m.tf": text.encode()}).references
    assert ref.status == "unsupported" and "invalid port" in ref.reason and ref.source.identity is None
