"""catalog_ops.catalog.layout: module discovery, local-path graph, change classification."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog_ops.catalog.layout import (
    ChangeSet,
    classify_changes,
    discover_modules,
    glob_match,
    local_module_graph,
    local_module_sources,
    module_for_path,
)
from catalog_ops.errors import SourceParseError


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


CATALOG = {
    "modules/vpc/main.tf": 'resource "null_resource" "x" {}\n',
    "modules/vpc/examples/basic/main.tf": 'module "vpc" {\n  source = "../../"\n}\n',
    "modules/vpc-peering/main.tf": (
        '# module "old" { source = "../legacy" }\n'
        'module "vpc" {\n'
        '  source = "../vpc"\n'
        '  tags   = { "a" = "}" }\n'
        "}\n"
    ),
    "modules/eks/main.tf": (
        'module "net" {\n'
        '  source  = "../vpc-peering" // local\n'
        "}\n"
        'module "reg" {\n'
        '  source  = "terraform-aws-modules/iam/aws"\n'
        '  version = "5.0.0"\n'
        "}\n"
        '/* module "c" { source = "../commented" } */\n'
    ),
    "modules/app/main.tf.json": '{"module": {"eks": {"source": "../eks"}, "s3": {"source": "git::https://x/y.git"}}}',
    "modules/s3/variables.tf": 'variable "name" {}\n',
    "modules/s3/modules/policy/main.tf": "",
    "modules/iam/main.tf": 'module "pol" {\n  source = "../s3/modules/policy"\n}\nmodule "own" {\n  source = "./modules/x"\n}\n',
    "modules/iam/modules/x/main.tf": "",
    "modules/README.md": "not a module\n",
    "modules/empty/README.md": "no tf files\n",
    "modules/.terraform/main.tf": "",
    "examples/vpc-complete/main.tf": 'module "x" {\n  source = "../../modules/vpc"\n}\n',
    "examples/multi/main.tf": 'module "a" {\n  source = "../../modules/s3"\n}\n',
    "test/go.mod": "module test\n",
}


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    _write(tmp_path, CATALOG)
    return tmp_path


def test_discover_modules(catalog: Path) -> None:
    assert discover_modules(catalog) == [
        "modules/app",
        "modules/eks",
        "modules/iam",
        "modules/s3",
        "modules/vpc",
        "modules/vpc-peering",
    ]
    assert discover_modules(catalog, ("modules/*", "modules/*/modules/*")) == [
        "modules/app",
        "modules/eks",
        "modules/iam",
        "modules/iam/modules/x",
        "modules/s3",
        "modules/s3/modules/policy",
        "modules/vpc",
        "modules/vpc-peering",
    ]
    assert discover_modules(catalog, (".",)) == []
    (catalog / "main.tf").write_text("")
    assert discover_modules(catalog, (".", "modules/vpc")) == [".", "modules/vpc"]


def test_module_for_path_never_mixes_prefixes() -> None:
    mods = ["modules/vpc", "modules/vpc-peering"]
    assert module_for_path("modules/vpc-peering/main.tf", mods) == "modules/vpc-peering"
    assert module_for_path("modules/vpc/main.tf", mods) == "modules/vpc"
    assert module_for_path("modules/vpcx", mods) is None
    assert module_for_path("README.md", [*mods, "."]) == "."


def test_local_module_graph(catalog: Path) -> None:
    mods = discover_modules(catalog)
    assert local_module_graph(catalog, mods) == {
        "modules/app": {"modules/eks"},
        "modules/eks": {"modules/vpc-peering"},
        "modules/iam": {"modules/s3"},
        "modules/s3": set(),
        "modules/vpc": set(),
        "modules/vpc-peering": {"modules/vpc"},
    }


def test_local_module_sources_positions() -> None:
    text = 'module "a" {\n  count  = 1\n  source = "../b"\n}\n'
    assert local_module_sources("x.tf", text) == [("a", "../b", 3, 13)]


def test_bad_json_reported_not_raised(catalog: Path) -> None:
    (catalog / "modules/s3/bad.tf.json").write_text("{\n  nope\n}")
    errors: list[SourceParseError] = []
    graph = local_module_graph(catalog, discover_modules(catalog), errors=errors)
    assert graph["modules/app"] == {"modules/eks"}
    assert [str(e) for e in errors] == [
        "modules/s3/bad.tf.json:2:3: invalid JSON: Expecting property name enclosed in double quotes"
    ]


def test_glob_match() -> None:
    assert glob_match("policies/**", "policies/a/b.rego")
    assert glob_match(".tflint.hcl", ".tflint.hcl")
    assert not glob_match(".tflint.hcl", "modules/vpc/.tflint.hcl")
    assert glob_match("**/*.md", "a/b/c.md")
    assert glob_match("**/*.md", "c.md")
    assert not glob_match("modules/*", "modules/a/b")


def test_classify_own_change_and_dependents(catalog: Path) -> None:
    cs = classify_changes(catalog, ["modules/vpc/main.tf"])
    assert cs == ChangeSet(
        changed=("modules/vpc",),
        via_dependency=("modules/app", "modules/eks", "modules/vpc-peering"),
        tests_only=(),
        all_affected=False,
        affected=("modules/app", "modules/eks", "modules/vpc", "modules/vpc-peering"),
    )


def test_classify_prefix_siblings_do_not_mix(catalog: Path) -> None:
    cs = classify_changes(catalog, ["modules/vpc-peering/outputs.tf"])
    assert cs.changed == ("modules/vpc-peering",)
    assert cs.via_dependency == ("modules/app", "modules/eks")
    assert "modules/vpc" not in cs.affected


def test_classify_nested_submodule_dependency(catalog: Path) -> None:
    cs = classify_changes(catalog, ["modules/s3/modules/policy/main.tf"])
    assert cs.changed == ("modules/s3",)
    assert cs.via_dependency == ("modules/iam",)


def test_classify_tests_only(catalog: Path) -> None:
    cs = classify_changes(
        catalog,
        [
            "modules/vpc/examples/basic/main.tf",  # module-local example
            "examples/vpc-complete/main.tf",  # name convention + local source
            "examples/multi/README.md",  # uses modules/s3 through a local path
            "test/vpc_peering_test.go",  # longest name wins: vpc-peering, not vpc
            "test/eks/fixture.tfvars",
        ],
    )
    assert cs.changed == ()
    assert cs.tests_only == ("modules/eks", "modules/s3", "modules/vpc", "modules/vpc-peering")
    assert cs.affected == cs.tests_only
    assert not cs.all_affected


def test_classify_tests_only_excludes_changed(catalog: Path) -> None:
    cs = classify_changes(catalog, ["modules/vpc/main.tf", "test/vpc_test.go", "test/iam_test.go"])
    assert cs.changed == ("modules/vpc",)
    assert cs.tests_only == ("modules/iam",)


def test_classify_shared_test_helper_touches_every_module(catalog: Path) -> None:
    cs = classify_changes(catalog, ["test/helpers.go"])
    assert cs.tests_only == tuple(discover_modules(catalog))
    assert not cs.all_affected


def test_classify_shared_config(catalog: Path) -> None:
    cs = classify_changes(catalog, ["policies/tags.rego", "README.md", "docs/x.md"])
    assert cs.all_affected
    assert cs.changed == ()
    assert cs.affected == tuple(discover_modules(catalog))
    assert cs.shared == ("policies/tags.rego",)
    assert cs.unowned == ("README.md", "docs/x.md")
    cs = classify_changes(catalog, ["go.sum"], shared_globs=())
    assert not cs.all_affected and cs.affected == ()


def test_classify_removed_module(catalog: Path) -> None:
    cs = classify_changes(catalog, ["modules/gone/main.tf", "modules/README.md"])
    assert cs.removed == ("modules/gone",)
    assert cs.changed == ()
    assert cs.unowned == ("modules/README.md",)
    assert cs.to_json()["removed"] == ["modules/gone"]


def test_classify_accepts_explicit_module_list(catalog: Path) -> None:
    cs = classify_changes(catalog, ["./modules/vpc/main.tf"], modules=["modules/vpc"])
    assert cs.changed == ("modules/vpc",)
    assert cs.via_dependency == ()


def test_local_module_sources_ignores_nested_and_string_braces() -> None:
    text = (
        'module "a" {\n'
        '  tags = { "k" = "}{" }\n'
        "  inner {\n"
        '    source = "../nested"\n'
        "  }\n"
        '  source = "../real"\n'
        "}\n"
    )
    assert local_module_sources("m.tf", text) == [("a", "../real", 6, 13)]
