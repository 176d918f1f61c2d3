"""Terragrunt resolution: includes, ``find_in_parent_folders``, ``read_terragrunt_config``, cycles."""

from __future__ import annotations

from catalog_ops.refs import scan_files, scan_tree
from fixtures.refs import SAMPLE_TREE


def test_read_terragrunt_config_and_get_terragrunt_dir():
    files = {
        "live/common.hcl": b'locals {\n  src = "git::https://github.com/acme/mods.git//vpc?ref=v2.0.0"\n}\n',
        "live/env/app/terragrunt.hcl": (
            b'locals {\n  common = read_terragrunt_config("${get_terragrunt_dir()}/../../common.hcl")\n}\n'
            b"terraform {\n  source = local.common.locals.src\n}\n"
        ),
        "live/env/x/terragrunt.hcl": (
            b"include {\n  path = find_in_parent_folders()\n}\n"
            b'terraform {\n  source = "${include.locals.base}?ref=v3.0.0"\n}\n'
        ),
        "live/terragrunt.hcl": b'locals {\n  base = "github.com/acme/mods//x"\n}\n',
    }
    refs = {r.path: r for r in scan_files(files).references}
    app = refs["live/env/app/terragrunt.hcl"]
    assert (app.status, app.written_in, app.source.ref) == ("ok", "live/common.hcl", "v2.0.0")
    x = refs["live/env/x/terragrunt.hcl"]
    assert (x.status, x.source.identity, x.source.subdir) == ("ok", "github.com/acme/mods", "x")


def test_relative_include_paths_resolve_from_the_including_file():
    files = {
        "live/common.hcl": b'locals {\n  src = "github.com/acme/mods//vpc"\n}\n',
        "live/app/terragrunt.hcl": (
            b'include "c" {\n  path = "../common.hcl"\n}\n'
            b'terraform {\n  source = "${include.c.locals.src}?ref=v1.0.0"\n}\n'
        ),
    }
    (ref,) = scan_files(files).references
    assert (ref.status, ref.source.subdir) == ("ok", "vpc")


def test_include_cycle_is_dynamic_not_a_crash():
    files = {
        "a/terragrunt.hcl": b'include "p" {\n  path = "../b/terragrunt.hcl"\n}\nlocals {\n  x = include.p.locals.y\n}\nterraform {\n  source = "${local.x}?ref=v1.0.0"\n}\n',
        "b/terragrunt.hcl": b'include "p" {\n  path = "../a/terragrunt.hcl"\n}\nlocals {\n  y = include.p.locals.x\n}\n',
    }
    (ref,) = scan_files(files).references
    assert ref.status == "dynamic" and "cycle" in ref.reason


def test_find_in_parent_folders_with_relative_paths(tree_on_disk, monkeypatch):
    root = tree_on_disk(SAMPLE_TREE)
    monkeypatch.chdir(root / "stacks")
    result = scan_tree(["../live"])
    refs = {r.path: r for r in result.references}
    dns = refs["../live/prod/dns/terragrunt.hcl"]
    assert (dns.status, dns.written_in) == ("ok", "../live/root.hcl")
    assert refs["../live/prod/eks/terragrunt.hcl"].status == "ok"
