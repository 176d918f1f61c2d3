"""Terragrunt resolution: includes, ``find_in_parent_folders``, ``read_terragrunt_config``, cycles."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog_ops.refs import extract as extract_pkg
from catalog_ops.refs import scan, scan_files, scan_tree, terragrunt
from catalog_ops.refs.extract import BLOCK_TYPES, EXTRACTORS
from catalog_ops.refs.terragrunt import Dynamic, Evaluator, StrValue
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


# Fast paths of the evaluator and the extractor table, each checked against the general path.

_PARENT = b'locals {\n  base = "github.com/acme/mods//x"\n  alias = local.base\n}\n'


def _local(expr: str):
    """``(loader, parsed file, the attribute s = expr)`` of a Terragrunt config with an include and locals."""
    text = (
        'include "root" {\n  path = find_in_parent_folders("root.hcl")\n}\n'
        f'locals {{\n  v = "v1"\n  w = "${{local.v}}"\n  s = {expr}\n}}\n'
    )
    files = {"live/app/terragrunt.hcl": text.encode(), "live/root.hcl": _PARENT}
    loader = scan.loader(files.get, files.__contains__)
    f = loader.get("live/app/terragrunt.hcl")
    assert f is not None
    return loader, f, (f.locals.get("s") if f.root is not None else None)


def _general_eval(loader, f, expr):
    """``Evaluator.eval`` without its fast paths: ``_eval`` at depth 1, traversals lexed."""
    ev = Evaluator(loader, f.path)
    ev.depth = 1
    with mock.patch.object(terragrunt, "_TRAVERSAL_RE", re.compile(r"(?!)")):
        return ev._eval(f, expr)


_EXPR_PIECES = [
    '"',
    "a",
    "v1",
    "é",
    "-",
    "_",
    "0",
    ".",
    " ",
    "\t",
    "~",
    "${",
    "}",
    "$${",
    "%{",
    "\\\\",
    '\\"',
    "local",
    "local.v",
    "local.w",
    "include",
    "include.root.locals.base",
    "include.root.locals.alias",
    "include.locals.base",
    "(",
    ")",
    "dirname(",
    "?ref=",
    "//",
]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(_EXPR_PIECES), max_size=12).map("".join))
def test_eval_fast_paths_give_the_general_value(inner):
    """A literal string (``eval``'s shortcut) and ``${a.b.c}`` traversals (``_TRAVERSAL_RE``)
    evaluate to what ``_eval`` and the lexer give for the same expression."""
    for expr in (f'"{inner}"', f'"x${{{inner}}}y"', inner):
        loader, f, attr = _local(expr)
        if attr is None:
            continue  # not a valid expression: the file does not parse either way
        assert Evaluator(loader, f.path).eval(f, attr.expr) == _general_eval(loader, f, attr.expr), expr


@pytest.mark.parametrize(
    ("expr", "value"),
    [
        ('"git::x?ref=v1"', "git::x?ref=v1"),
        ('""', ""),
        ('"${local.v}"', "v1"),
        ('"${ local.w }/${include.root.locals.alias}"', "v1/github.com/acme/mods//x"),
        ('"${~local.v~}"', "v1"),
    ],
)
def test_eval_fast_paths_on_common_sources(expr, value):
    loader, f, attr = _local(expr)
    got = Evaluator(loader, f.path).eval(f, attr.expr)
    assert got == _general_eval(loader, f, attr.expr)
    assert isinstance(got, StrValue) and got.value == value and got.dynamic_reason is None


def test_eval_fast_path_keeps_the_nesting_limit():
    loader, f, attr = _local('"v1"')
    ev = Evaluator(loader, f.path)
    ev.depth = 40
    assert isinstance(ev.eval(f, attr.expr), Dynamic)
    ev.depth = 39
    assert isinstance(ev.eval(f, attr.expr), StrValue)


def test_extractor_table_asks_what_the_extractors_name():
    """``hcl_references``' table (block type -> extractors, per dialect) is the filter over
    ``EXTRACTORS`` it replaces: type named in ``blocks``, dialect in ``dialects``, table order."""
    for dialect in ("terraform", "terragrunt", "stack"):
        for btype in (*BLOCK_TYPES, "resource", "locals"):
            want = tuple(e.hcl for e in EXTRACTORS if e.hcl and btype in e.blocks and dialect in e.dialects)
            assert extract_pkg._HCL_EXTRACTS[dialect].get(btype, ()) == want


def test_parent_folders_are_asked_once_per_path():
    """Sibling configs search the same parent folders: each path is asked once per loader."""
    files = {
        "live/root.hcl": _PARENT,
        **{
            f"live/env/{app}/terragrunt.hcl": (
                b'include "root" {\n  path = find_in_parent_folders("root.hcl")\n}\n'
                b'terraform {\n  source = "${include.root.locals.base}?ref=v1.0.0"\n}\n'
            )
            for app in ("a", "b", "c")
        },
    }
    asked: list[str] = []

    def exists(path: str) -> bool:
        asked.append(path)
        return path in files

    loader = scan.loader(files.get, exists)
    refs = [
        r
        for p in sorted(files)
        if p.endswith("terragrunt.hcl")
        for r in scan.parse_one(loader, p, files[p])[0]
    ]
    assert [(r.status, r.source.ref) for r in refs] == [("ok", "v1.0.0")] * 3
    assert sorted(asked) == ["live/env/root.hcl", "live/root.hcl"]


def test_terraform_source_after_an_inputs_object():
    """A Terragrunt config whose ``inputs = {...}`` comes before ``terraform {}`` (regression:
    the source was read as part of the inputs' value and missed)."""
    text = b'inputs = {\n  a = 1\n}\nterraform {\n  source = "git::https://h/acme/m.git?ref=v1.0.0"\n}\n'
    (ref,) = scan_files({"live/app/terragrunt.hcl": text}).references
    assert (ref.status, ref.source.ref, ref.line) == ("ok", "v1.0.0", 5)


def test_loader_keeps_terragrunt_files_only():
    """Parsed ``*.hcl`` files stay in the loader (includes read them again); a ``*.tf`` file is
    not kept, and reading it again parses it again to the same result."""
    files = {
        "a/main.tf": b'module "m" {\n  source = "github.com/acme/m?ref=v1.0.0"\n}\n',
        "a/root.hcl": _PARENT,
    }
    reads: list[str] = []

    def read(path: str) -> bytes | None:
        reads.append(path)
        return files.get(path)

    loader = scan.loader(read, files.__contains__)
    assert loader.get("a/main.tf") == loader.get("a/main.tf")
    assert loader.get("a/root.hcl") is loader.get("a/root.hcl")
    assert reads == ["a/main.tf", "a/main.tf", "a/root.hcl"]
    assert list(loader.cache) == ["a/root.hcl"]


_SEARCH_DIRS = ["", "a/", "a/b/", "a/b/c/", "a/d/", "e/"]


@settings(max_examples=300, deadline=None)
@given(
    st.sets(st.sampled_from([d + n for d in _SEARCH_DIRS for n in ("root.hcl", "x.hcl")])),
    st.lists(
        st.tuples(st.sampled_from(_SEARCH_DIRS[1:]), st.sampled_from(["root.hcl", "x.hcl", "y.hcl"])),
        min_size=1,
        max_size=12,
    ),
)
def test_find_in_parent_folders_shared_steps_give_the_fresh_answer(present, searches):
    """Searches through one loader (steps kept in ``loader.searches``) find what each search
    finds with a loader of its own, in any order, for configs at any depth."""
    shared = scan.loader(lambda p: None, present.__contains__)
    for config_dir, name in searches:
        config = f"{config_dir}terragrunt.hcl"
        fresh = scan.loader(lambda p: None, present.__contains__)
        want = Evaluator(fresh, config).find_in_parent_folders(name)
        assert Evaluator(shared, config).find_in_parent_folders(name) == want


def test_find_in_parent_folders_keeps_the_level_limit():
    """Terragrunt stops after 100 levels: a file 101 levels up is not found, even when a search
    from a deeper start already walked past it (the levels left are part of each step's key)."""
    deep = "/".join(f"d{i}" for i in range(120))
    files = {"root.hcl"}
    loader = scan.loader(lambda p: None, files.__contains__)
    near = "/".join(deep.split("/")[:99]) + "/terragrunt.hcl"  # 99 levels below the root
    far = "/".join(deep.split("/")[:101]) + "/terragrunt.hcl"
    assert Evaluator(loader, far).find_in_parent_folders("root.hcl") is None
    assert Evaluator(loader, near).find_in_parent_folders("root.hcl") == "/root.hcl"
    assert Evaluator(loader, far).find_in_parent_folders("root.hcl") is None
