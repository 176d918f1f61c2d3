"""Byte-exact bumps: whole expected files, includes, constraints, dry runs, pre-releases."""

from __future__ import annotations

import os

import pytest

from catalog_ops.bump import bump_files, bump_tree
from catalog_ops.core.sources import RefKind
from catalog_ops.errors import UsageError
from catalog_ops.refs import scan_files
from fixtures.refs import GH, SAMPLE_TREE, STACK, read_tree

TF_BEFORE = """\
# Modules from the catalog
module "eks" {
  source = "git::https://github.com/acme/infrastructure-modules.git//modules/eks-cluster?ref=v1.4.2" # pinned
}

module "eks_again" {
  source  =   "git@github.com:Acme/infrastructure-modules.git//modules/eks-cluster?depth=1&ref=1.4.2"
}

module "eks_legacy" {
  source = "git::ssh://git@github.com:22/acme/infrastructure-modules.git?ref=v1.0.0//modules/eks-cluster"
}

module "eks_monorepo_tag" {
  source = "github.com/acme/infrastructure-modules//modules/eks-cluster?ref=modules/eks-cluster/v1.4.2"
}

module "vpc" {
  source = "github.com/acme/infrastructure-modules//modules/vpc?ref=v1.4.2"
}

module "eks_branch" {
  source = "github.com/acme/infrastructure-modules//modules/eks-cluster?ref=main"
}

module "eks_sha" {
  source = "github.com/acme/infrastructure-modules//modules/eks-cluster?ref=0123abcd"
}

module "eks_done" {
  source = "github.com/acme/infrastructure-modules//modules/eks-cluster?ref=v1.5.0"
}

module "other" {
  source = "github.com/acme/other-modules//modules/eks-cluster?ref=v1.4.2"
}
"""

TF_AFTER = """\
# Modules from the catalog
module "eks" {
  source = "git::https://github.com/acme/infrastructure-modules.git//modules/eks-cluster?ref=v1.5.0" # pinned
}

module "eks_again" {
  source  =   "git@github.com:Acme/infrastructure-modules.git//modules/eks-cluster?depth=1&ref=1.5.0"
}

module "eks_legacy" {
  source = "git::ssh://git@github.com:22/acme/infrastructure-modules.git?ref=v1.5.0//modules/eks-cluster"
}

module "eks_monorepo_tag" {
  source = "github.com/acme/infrastructure-modules//modules/eks-cluster?ref=modules/eks-cluster/v1.5.0"
}

module "vpc" {
  source = "github.com/acme/infrastructure-modules//modules/vpc?ref=v1.4.2"
}

module "eks_branch" {
  source = "github.com/acme/infrastructure-modules//modules/eks-cluster?ref=main"
}

module "eks_sha" {
  source = "github.com/acme/infrastructure-modules//modules/eks-cluster?ref=0123abcd"
}

module "eks_done" {
  source = "github.com/acme/infrastructure-modules//modules/eks-cluster?ref=v1.5.0"
}

module "other" {
  source = "github.com/acme/other-modules//modules/eks-cluster?ref=v1.4.2"
}
"""


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("to", ["1.5.0", "v1.5.0"])
def test_bump_subdir_whole_file(newline, to):
    before = TF_BEFORE.replace("\n", newline).encode()
    result = bump_files({"main.tf": before}, address=f"{GH}//modules/eks-cluster", to=to)
    assert result.errors == []
    assert result.changed == {"main.tf": TF_AFTER.replace("\n", newline).encode()}
    statuses = [(o.line, o.status, o.old, o.new) for o in result.outcomes]
    assert statuses == [
        (3, "bumped", "v1.4.2", "v1.5.0"),
        (7, "bumped", "1.4.2", "1.5.0"),
        (11, "bumped", "v1.0.0", "v1.5.0"),
        (15, "bumped", "modules/eks-cluster/v1.4.2", "modules/eks-cluster/v1.5.0"),
        (23, "skipped", "main", None),
        (27, "skipped", "0123abcd", None),
        (31, "already", "v1.5.0", None),
    ]


def test_bump_whole_repo_includes_every_subdir():
    result = bump_files(
        {"main.tf": TF_BEFORE.encode()}, address="git@github.com:acme/infrastructure-modules.git", to="1.5.0"
    )
    expected = TF_AFTER.replace('modules/vpc?ref=v1.4.2"', 'modules/vpc?ref=v1.5.0"')
    assert result.changed["main.tf"].decode() == expected


REG_BEFORE = """\
module "pin" {
  source  = "acme/eks/aws"
  version = "1.1.0"
}
module "pessimistic_patch" {
  source  = "registry.terraform.io/acme/eks/aws"
  version = "~> 1.1.0"
}
module "pessimistic_minor" {
  source  = "acme/eks/aws"
  version = "~>1.1"
}
module "range" {
  source  = "acme/eks/aws//modules/node-group"
  version = ">= 1.0.0, < 1.2.0"
}
module "admits" {
  source  = "acme/eks/aws"
  version = ">= 1.0"
}
module "no_version" {
  source  = "acme/eks/aws"
}
module "other" {
  source  = "acme/eks/google"
  version = "1.1.0"
}
"""

REG_AFTER = """\
module "pin" {
  source  = "acme/eks/aws"
  version = "2.3.0"
}
module "pessimistic_patch" {
  source  = "registry.terraform.io/acme/eks/aws"
  version = "~> 2.3.0"
}
module "pessimistic_minor" {
  source  = "acme/eks/aws"
  version = "~>2.3"
}
module "range" {
  source  = "acme/eks/aws//modules/node-group"
  version = ">= 1.0.0, < 2.4.0"
}
module "admits" {
  source  = "acme/eks/aws"
  version = ">= 1.0"
}
module "no_version" {
  source  = "acme/eks/aws"
}
module "other" {
  source  = "acme/eks/google"
  version = "1.1.0"
}
"""


def test_bump_registry_constraints_whole_file():
    tg = b'terraform {\n  source = "tfr:///acme/eks/aws?version=1.1.0"\n}\n'
    result = bump_files(
        {"main.tf": REG_BEFORE.encode(), "tg/terragrunt.hcl": tg}, address="acme/eks/aws", to="v2.3.0"
    )
    assert result.changed["main.tf"].decode() == REG_AFTER
    assert (
        result.changed["tg/terragrunt.hcl"]
        == b'terraform {\n  source = "tfr:///acme/eks/aws?version=2.3.0"\n}\n'
    )
    by_line = {(o.path, o.line): (o.status, o.old, o.new) for o in result.outcomes}
    assert by_line[("main.tf", 19)] == ("already", ">= 1.0", None)
    assert by_line[("main.tf", 22)] == ("skipped", "", None)


def test_bump_terragrunt_includes_edit_where_written():
    result = bump_files(SAMPLE_TREE, address=GH, to="v1.3.0")
    assert result.errors == []
    assert sorted(result.changed) == [
        "live/_envcommon/eks.hcl",
        "live/prod/eks/terragrunt.hcl",
        "live/prod/vpc/terragrunt.hcl",
        "live/root.hcl",
        "live/terragrunt.stack.hcl",
        "stacks/main.tf",
    ]
    assert result.changed["live/root.hcl"] == SAMPLE_TREE["live/root.hcl"].replace(
        b"dns?ref=v1.2.0", b"dns?ref=v1.3.0"
    )
    assert result.changed["live/prod/vpc/terragrunt.hcl"] == SAMPLE_TREE[
        "live/prod/vpc/terragrunt.hcl"
    ].replace(b"?ref=v1.2.0", b"?ref=v1.3.0")
    # Two children share the literal in root.hcl: one edit, one outcome.
    root_outcomes = [o for o in result.outcomes if o.path == "live/root.hcl"]
    assert len(root_outcomes) == 1 and root_outcomes[0].referenced_from == "live/prod/dns/terragrunt.hcl"
    dyn = [o for o in result.outcomes if o.referenced_from == "live/prod/app/terragrunt.hcl"]
    assert dyn == []  # identity unknown: cannot match the address (reported by `refs`)


def test_bump_only_one_subdir_through_include():
    result = bump_files(SAMPLE_TREE, address=f"{GH}//modules/dns", to="1.3.0")
    assert sorted(result.changed) == ["live/root.hcl"]


def test_prerelease_targets_need_permission():
    files = {"m.tf": b'module "a" {\n  source = "github.com/acme/m?ref=v1.0.0"\n}\n'}
    with pytest.raises(UsageError, match="pre-release"):
        bump_files(files, address="github.com/acme/m", to="1.1.0-rc.1")
    result = bump_files(files, address="github.com/acme/m", to="1.1.0-rc.1", allow_prerelease=True)
    assert result.changed["m.tf"] == b'module "a" {\n  source = "github.com/acme/m?ref=v1.1.0-rc.1"\n}\n'
    with pytest.raises(UsageError):
        bump_files(files, address="github.com/acme/m", to="latest")
    with pytest.raises(UsageError):
        bump_files(files, address="./local", to="1.0.0")


def test_bump_tree_writes_only_changed_files_and_dry_run(tree_on_disk):
    root = tree_on_disk(SAMPLE_TREE)
    before = read_tree(root)
    dry = bump_tree([root], address=GH, to="1.3.0", dry_run=True)
    assert read_tree(root) == before
    assert len(dry.changed) == 6
    mtimes = {p: (root / p).stat().st_mtime_ns for p in before}
    real = bump_tree([root], address=GH, to="1.3.0")
    in_memory = bump_files(SAMPLE_TREE, address=GH, to="1.3.0").changed
    changed_rel = {os.path.relpath(p, root) for p in real.changed}
    assert changed_rel == set(in_memory)
    assert read_tree(root) == {**before, **in_memory}
    for p in before:
        if p not in changed_rel:
            assert (root / p).stat().st_mtime_ns == mtimes[p], p
    again = bump_tree([root], address=GH, to="1.3.0")
    assert again.changed == {}
    assert {o.status for o in again.outcomes} == {"already"}


def test_shared_ref_literal_is_not_moved():
    text = b"""locals {
  ver = "v1.0.0"
}
unit "a" {
  source = "git::https://github.com/acme/a.git?ref=${local.ver}"
}
unit "b" {
  source = "git::https://github.com/acme/b.git?ref=${local.ver}"
}
"""
    result = bump_files({"terragrunt.stack.hcl": text}, address="github.com/acme/a", to="1.1.0")
    assert result.changed == {}
    (outcome,) = result.outcomes
    assert (outcome.status, outcome.line, outcome.old) == ("skipped", 2, "v1.0.0")
    assert "shared" in outcome.reason
    only_a = text.replace(b"b.git?ref=${local.ver}", b"b.git?ref=v1.0.0")
    result = bump_files({"terragrunt.stack.hcl": only_a}, address="github.com/acme/a", to="1.1.0")
    assert result.changed == {"terragrunt.stack.hcl": only_a.replace(b'ver = "v1.0.0"', b'ver = "v1.1.0"')}


JSON_BEFORE = """{
  "module": {
    "vpc": {
      "source": "git::https://github.com/acme/infrastructure-modules.git//modules/vpc?ref=v1.0.0"
    },
    "eks": [
      {"source": "acme/eks/aws", "version": "~> 1.0.0"},
      {"source": "github.com/acme/infrastructure-modules//modules/eks-cluster?ref=1.0.0"}
    ]
  }
}
"""

JSON_AFTER = """{
  "module": {
    "vpc": {
      "source": "git::https://github.com/acme/infrastructure-modules.git//modules/vpc?ref=v2.0.0"
    },
    "eks": [
      {"source": "acme/eks/aws", "version": "~> 1.0.0"},
      {"source": "github.com/acme/infrastructure-modules//modules/eks-cluster?ref=2.0.0"}
    ]
  }
}
"""


def test_bump_tf_json_whole_file():
    result = bump_files({"main.tf.json": JSON_BEFORE.encode()}, address=GH, to="2.0.0")
    assert result.changed == {"main.tf.json": JSON_AFTER.encode()}
    result = bump_files({"main.tf.json": JSON_BEFORE.encode()}, address="acme/eks/aws", to="2.0.0")
    assert result.changed == {"main.tf.json": JSON_BEFORE.replace("~> 1.0.0", "~> 2.0.0").encode()}


STACK_BEFORE = """\ufefflocals {
  catalog = "git::git@github.com:acme/infrastructure-modules.git"
}

unit "vpc" {
  source = "${local.catalog}//units/vpc?ref=v1.0.0"   # vpc
  path   = "vpc"
}

unit "eks" {
  source = "${local.catalog}//units/eks?ref=v1.0.0"
  path   = "eks"
  values = {
    version = "v1.0.0"
  }
}

stack "platform" {
  source = <<-EOT
    ${local.catalog}//stacks/platform?ref=v1.0.0
  EOT
  path = "platform"
}
"""


def test_bump_stack_whole_file_bom_templates_and_heredoc():
    result = bump_files(
        {"terragrunt.stack.hcl": STACK_BEFORE.encode()}, address=f"{GH}//units/vpc", to="1.1.0"
    )
    expected = STACK_BEFORE.replace('units/vpc?ref=v1.0.0"', 'units/vpc?ref=v1.1.0"')
    assert result.changed == {"terragrunt.stack.hcl": expected.encode()}
    result = bump_files({"terragrunt.stack.hcl": STACK_BEFORE.encode()}, address=GH, to="1.1.0")
    expected = expected.replace('units/eks?ref=v1.0.0"', 'units/eks?ref=v1.1.0"')
    # values.version equal to the unit's ref follows it (stack_values=True, the default)
    with_values = expected.replace('version = "v1.0.0"', 'version = "v1.1.0"')
    assert result.changed == {"terragrunt.stack.hcl": with_values.encode()}
    assert [o.status for o in result.outcomes] == ["bumped", "bumped", "bumped"]
    result = bump_files(
        {"terragrunt.stack.hcl": STACK_BEFORE.encode()}, address=GH, to="1.1.0", stack_values=False
    )
    assert result.changed == {"terragrunt.stack.hcl": expected.encode()}


def test_pessimistic_constraint_follows_the_target_like_the_issue_example():
    before = b'module "m" {\n  source  = "acme/eks/aws"\n  version = "~> 1.1"\n}\n'
    result = bump_files({"m.tf": before}, address="acme/eks/aws", to="1.3.0")
    assert result.changed == {"m.tf": before.replace(b"~> 1.1", b"~> 1.3")}
    again = bump_files(result.changed, address="acme/eks/aws", to="1.3.0")
    assert again.changed == {} and again.outcomes[0].status == "already"


def test_mixed_case_private_host_path():
    files = {
        "m.tf": b'module "a" {\n  source = "git::https://git.corp.example/Team/Repo.git//x?ref=v1.0.0"\n}\n'
    }
    result = bump_files(files, address="git::ssh://git@GIT.corp.example:7999/Team/Repo.git//x", to="1.1.0")
    assert result.changed == {"m.tf": files["m.tf"].replace(b"v1.0.0", b"v1.1.0")}
    assert bump_files(files, address="git::https://git.corp.example/team/repo.git", to="1.1.0").changed == {}


ESCAPED_JSON = (
    '{\n  "module": {\n    "vpc": {\n'
    '      "source": "git::https:\\/\\/github.com\\/acme\\/mods.git\\/\\/vpc?ref=v1.2.\\u0033"\n    },\n'
    '    "reg": {"source": "acme/eks/aws", "ver\\u0073ion": "\\u007e> 1.1.0"}\n  }\n}\n'
)


def test_tf_json_escapes_are_decoded_and_bumps_stay_byte_exact():
    (vpc, reg) = scan_files({"main.tf.json": ESCAPED_JSON.encode()}).references
    assert vpc.source is not None
    assert (vpc.source.identity, vpc.source.subdir, vpc.source.ref) == (
        "github.com/acme/mods",
        "vpc",
        "v1.2.3",
    )
    assert (vpc.source.ref_kind, vpc.status) == (RefKind.SEMVER_TAG, "ok")
    assert ESCAPED_JSON[vpc.ref_span[0] : vpc.ref_span[1]] == "v1.2.\\u0033"
    assert reg.version == "~> 1.1.0"
    res = bump_files({"main.tf.json": ESCAPED_JSON.encode()}, address="github.com/acme/mods", to="1.3.0")
    assert res.errors == []
    assert res.changed == {"main.tf.json": ESCAPED_JSON.replace("v1.2.\\u0033", "v1.3.0").encode()}
    assert [(o.old, o.new, o.status) for o in res.outcomes] == [("v1.2.3", "v1.3.0", "bumped")]
    res = bump_files({"main.tf.json": ESCAPED_JSON.encode()}, address="acme/eks/aws", to="1.3.0")
    assert res.changed == {"main.tf.json": ESCAPED_JSON.replace("\\u007e> 1.1.0", "~> 1.3.0").encode()}


def test_stack_values_version_follows_the_ref():
    files = {"live/terragrunt.stack.hcl": STACK.encode()}
    db, platform, cache = scan_files(files).references
    assert (db.to_json()["values_version"], platform.to_json()["values_version"]) == ("v1.0.0", "v1.0.0")
    assert cache.values_span is None and cache.to_json()["values_version"] is None
    assert STACK[db.values_span[0] : db.values_span[1]] == "v1.0.0"
    res = bump_files(files, address=GH, to="1.1.0")
    want = (
        STACK.replace("?ref=v1.0.0", "?ref=v1.1.0")
        .replace('version = "v1.0.0" #', 'version = "v1.1.0" #')
        .replace('{ version = "v1.0.0"', '{ version = "v1.1.0"')
    )
    assert res.changed == {"live/terragrunt.stack.hcl": want.encode()}
    assert [(o.line, o.status, o.reason) for o in res.outcomes if o.line in (5, 13)] == [
        (5, "bumped", "values.version follows the ref"),
        (13, "bumped", "values.version follows the ref"),
    ]
    only_refs = bump_files(files, address=GH, to="1.1.0", stack_values=False)
    assert only_refs.changed == {
        "live/terragrunt.stack.hcl": STACK.replace("?ref=v1.0.0", "?ref=v1.1.0").encode()
    }


SELECT_TREE = {
    "a.tf": f'module "old" {{\n  source = "{GH}//modules/vpc?ref=v1.2.0"\n}}\n'.encode(),
    "b.tf": f'module "new" {{\n  source = "{GH}//modules/vpc?ref=v2.0.0"\n}}\n'.encode(),
    "live/root.hcl": b'locals {\n  ref = "v1.2.0"\n}\n',
    "live/x/terragrunt.hcl": (
        b'include "root" {\n  path = find_in_parent_folders("root.hcl")\n}\n'
        + f'terraform {{\n  source = "{GH}//modules/vpc?ref=${{include.root.locals.ref}}"\n}}\n'.encode()
    ),
    "live/y/terragrunt.hcl": (
        b'include "root" {\n  path = find_in_parent_folders("root.hcl")\n}\n'
        + f'terraform {{\n  source = "{GH}//modules/dns?ref=${{include.root.locals.ref}}"\n}}\n'.encode()
    ),
}


def test_select_leaves_other_references_as_written_without_outcomes():
    res = bump_files(SELECT_TREE, address=GH, to="1.5.0", select=lambda ref: ref.path != "b.tf")
    assert res.changed == {"a.tf": SELECT_TREE["a.tf"].replace(b"v1.2.0", b"v1.5.0"), "live/root.hcl": (
        SELECT_TREE["live/root.hcl"].replace(b"v1.2.0", b"v1.5.0")
    )}  # fmt: skip
    assert sorted((o.path, o.old, o.status) for o in res.outcomes) == [
        ("a.tf", "v1.2.0", "bumped"),
        ("live/root.hcl", "v1.2.0", "bumped"),
    ]
    # A ref literal shared with a reference left out is not moved (and not reported).
    dns_out = bump_files(
        SELECT_TREE, address=GH, to="1.5.0", select=lambda ref: ref.path != "live/y/terragrunt.hcl"
    )
    assert "live/root.hcl" not in dns_out.changed
    assert [o.path for o in dns_out.outcomes] == ["a.tf", "b.tf"]
    assert bump_files(SELECT_TREE, address=GH, to="1.5.0", select=lambda ref: False).outcomes == []


FAMILIES = (
    'module "queue" {\n  source = "git::https://github.com/acme/mods.git//queue?ref=v1.0.0-queue"\n}\n'
    'module "topic" {\n  source = "git::https://github.com/acme/mods.git//topic?ref=v1.0.0-topic"\n}\n'
)


# Issue 17: each bug a table case (bump side).
@pytest.mark.parametrize(
    ("case", "files", "address", "to", "changed", "statuses"),
    [
        (
            "bug 1: a non-numeric port is another repository, never rewritten",
            {
                "m.tf": 'module "m" {\n  source = "git::ssh://git@git.example.com:modules/foo-module.git//bar?ref=v1.0.0"\n}\n'
            },
            "git::ssh://git@git.example.com/foo-module.git",
            "2.0.0",
            {},
            [],
        ),
        (
            "bug 4: a suffix family target is no pre-release; other families stay",
            {"m.tf": FAMILIES},
            "github.com/acme/mods",
            "v1.1.0-topic",
            {"m.tf": FAMILIES.replace("v1.0.0-topic", "v1.1.0-topic")},
            ["skipped", "bumped"],
        ),
        (
            "bug 4: a plain target does not move a family ref",
            {"m.tf": FAMILIES},
            "github.com/acme/mods//queue",
            "1.1.0",
            {},
            ["skipped"],
        ),
        (
            "bug 5: ~> 1.2.0 keeps its .0 floor",
            {"m.tf": 'module "a" {\n  source  = "acme/eks/aws"\n  version = "~> 1.2.0"\n}\n'},
            "acme/eks/aws",
            "1.3.7",
            {"m.tf": 'module "a" {\n  source  = "acme/eks/aws"\n  version = "~> 1.3.0"\n}\n'},
            ["bumped"],
        ),
    ],
)
def test_issue17_bump_cases(case, files, address, to, changed, statuses):
    result = bump_files({p: t.encode() for p, t in files.items()}, address=address, to=to)
    assert result.changed == {p: t.encode() for p, t in changed.items()}, case
    assert [o.status for o in result.outcomes] == statuses, case


def test_prerelease_target_still_needs_the_flag():
    with pytest.raises(UsageError, match="allow-prerelease"):
        bump_files({"m.tf": FAMILIES.encode()}, address="github.com/acme/mods", to="v1.1.0-rc.1")


def test_a_ref_too_long_for_semver_is_a_branch_and_skipped_not_a_crash():
    # Round-6 attack review: a ref semver refuses for its length (more than 255 characters) was
    # classified a version tag without semver, then bump's parse of it gave None
    # (AssertionError traceback, the whole run lost). As on main (ebdc10a): skipped as a branch.
    huge = "v1.0.0-" + "a" * 250
    files = {
        "a/main.tf": f'module "m" {{\n  source = "{GH}//modules/vpc?ref={huge}"\n}}\n'.encode(),
        "b/main.tf": f'module "m" {{\n  source = "{GH}//modules/vpc?ref=v1.2.0"\n}}\n'.encode(),
    }
    result = bump_files(files, address=f"{GH}//modules/vpc", to="1.3.0")
    assert result.errors == []
    assert [(o.path, o.status, o.old) for o in result.outcomes] == [
        ("a/main.tf", "skipped", huge),
        ("b/main.tf", "bumped", "v1.2.0"),
    ]
    assert result.changed == {"b/main.tf": files["b/main.tf"].replace(b"v1.2.0", b"v1.3.0")}
