"""migrate.apply: every step kind on every file form, byte-exact, idempotent, skips reported."""

from __future__ import annotations

import pytest

from catalog_ops.core.sources import source_matches
from catalog_ops.migrate import apply_migrations, parse_migration

ADDRESS = "github.com/acme/cat//modules/net"
SRC = "git::https://github.com/acme/cat.git//modules/net?ref=v2.0.0"


def target(ref):  # the references the patch is for
    return ref.source is not None and source_matches(ref.source, ADDRESS)


def patch(steps: str):
    return parse_migration("schema: 1\nrelease: 2.0.0\nsteps:\n" + steps, "modules/net/migrations/p.yml")


def run(files: dict[str, bytes], steps: str):
    return apply_migrations(files, [patch(steps)], is_target=lambda _m, ref: target(ref))


TF = f'''module "net" {{
  source = "{SRC}"
  cidr   = "10.0.0.0/16" # the range
  legacy = true
}}

output "id" {{
  value = "id-${{module.net.vpc_id}}"
}}
'''

TF_JSON = f'''{{
  "module": {{
    "net": {{
      "source": "{SRC}",
      "cidr": "10.0.0.0/16",
      "legacy": true
    }}
  }},
  "output": {{"id": {{"value": "${{module.net.vpc_id}}"}}}}
}}
'''

TG = f'''terraform {{
  source = "{SRC}"
}}

inputs = {{
  cidr   = "10.0.0.0/16" // the range
  legacy = true
}}
'''

TG_READER = """dependency "net" {
  config_path = "../net"
}

inputs = {
  vpc = dependency.net.outputs.vpc_id
}
"""

RENAME = "  - kind: rename_input\n    from: cidr\n    to: cidr_block\n"
REMOVE = "  - kind: remove_input\n    name: legacy\n"
ADD_LIT = "  - kind: add_input\n    name: tags\n    value: {team: net}\n"
ADD_EXPR = "  - kind: add_input\n    name: region\n    expression: var.region\n"
SUBDIR = "  - kind: change_source_subdir\n    from: modules/net\n    to: modules/network/vpc\n"
OUTPUT = "  - kind: rename_output\n    from: vpc_id\n    to: id\n"
MOVED = "  - kind: add_moved\n    from: aws_vpc.this\n    to: aws_vpc.main\n"

NEW_SRC = SRC.replace("//modules/net?", "//modules/network/vpc?")

CASES = {
    # (form, step): (files, {path: expected bytes})
    ("tf", "rename_input"): (
        {"main.tf": TF},
        {
            "main.tf": TF.replace('  cidr   = "10', '  cidr_block = "10')
            .replace("  source = ", "  source     = ")
            .replace("  legacy = ", "  legacy     = ")
        },
    ),
    ("tf", "remove_input"): ({"main.tf": TF}, {"main.tf": TF.replace("  legacy = true\n", "")}),
    ("tf", "add_input literal"): (
        {"main.tf": TF},
        {"main.tf": TF.replace("  legacy = true\n", '  legacy = true\n  tags   = { "team" = "net" }\n')},
    ),
    ("tf", "add_input expression"): (
        {"main.tf": TF},
        {"main.tf": TF.replace("  legacy = true\n", "  legacy = true\n  region = var.region\n")},
    ),
    ("tf", "change_source_subdir"): ({"main.tf": TF}, {"main.tf": TF.replace(SRC, NEW_SRC)}),
    ("tf", "rename_output"): ({"main.tf": TF}, {"main.tf": TF.replace("module.net.vpc_id", "module.net.id")}),
    ("tf", "add_moved"): (
        {"main.tf": TF},
        {
            "main.tf": TF.replace(
                "  legacy = true\n}\n",
                "  legacy = true\n}\n\nmoved {\n  from = module.net.aws_vpc.this\n  to   = module.net.aws_vpc.main\n}\n",
            )
        },
    ),
    ("tf.json", "rename_input"): (
        {"main.tf.json": TF_JSON},
        {"main.tf.json": TF_JSON.replace('"cidr":', '"cidr_block":')},
    ),
    ("tf.json", "remove_input"): (
        {"main.tf.json": TF_JSON},
        {"main.tf.json": TF_JSON.replace(',\n      "legacy": true', "")},
    ),
    ("tf.json", "add_input literal"): (
        {"main.tf.json": TF_JSON},
        {"main.tf.json": TF_JSON.replace('"legacy": true', '"legacy": true,\n      "tags": {"team": "net"}')},
    ),
    ("tf.json", "add_input expression"): (
        {"main.tf.json": TF_JSON},
        {
            "main.tf.json": TF_JSON.replace(
                '"legacy": true', '"legacy": true,\n      "region": "${var.region}"'
            )
        },
    ),
    ("tf.json", "change_source_subdir"): (
        {"main.tf.json": TF_JSON},
        {"main.tf.json": TF_JSON.replace(SRC, NEW_SRC)},
    ),
    ("tf.json", "rename_output"): (
        {"main.tf.json": TF_JSON},
        {"main.tf.json": TF_JSON.replace("module.net.vpc_id", "module.net.id")},
    ),
    ("tf.json", "add_moved"): (
        {"main.tf.json": TF_JSON},
        {
            "main.tf.json": TF_JSON.replace(
                "}}\n}",
                '}},\n  "moved": [{"from": "module.net.aws_vpc.this", "to": "module.net.aws_vpc.main"}]\n}',
            )
        },
    ),
    ("terragrunt", "rename_input"): (
        {"live/net/terragrunt.hcl": TG},
        {
            "live/net/terragrunt.hcl": TG.replace("  cidr   = ", "  cidr_block = ").replace(
                "  legacy = ", "  legacy     = "
            )
        },
    ),
    ("terragrunt", "remove_input"): (
        {"live/net/terragrunt.hcl": TG},
        {"live/net/terragrunt.hcl": TG.replace("  legacy = true\n", "").replace("  cidr   = ", "  cidr = ")},
    ),
    ("terragrunt", "add_input literal"): (
        {"live/net/terragrunt.hcl": TG},
        {
            "live/net/terragrunt.hcl": TG.replace(
                "  legacy = true\n", '  legacy = true\n  tags   = { "team" = "net" }\n'
            )
        },
    ),
    ("terragrunt", "add_input expression"): (
        {"live/net/terragrunt.hcl": TG},
        {
            "live/net/terragrunt.hcl": TG.replace(
                "  legacy = true\n", "  legacy = true\n  region = var.region\n"
            )
        },
    ),
    ("terragrunt", "change_source_subdir"): (
        {"live/net/terragrunt.hcl": TG},
        {"live/net/terragrunt.hcl": TG.replace(SRC, NEW_SRC)},
    ),
    ("terragrunt", "rename_output"): (
        {"live/net/terragrunt.hcl": TG, "live/app/terragrunt.hcl": TG_READER},
        {"live/app/terragrunt.hcl": TG_READER.replace("outputs.vpc_id", "outputs.id")},
    ),
}
STEPS = {
    "rename_input": RENAME,
    "remove_input": REMOVE,
    "add_input literal": ADD_LIT,
    "add_input expression": ADD_EXPR,
    "change_source_subdir": SUBDIR,
    "rename_output": OUTPUT,
    "add_moved": MOVED,
}


@pytest.mark.parametrize(("form", "kind"), sorted(CASES))
def test_step_on_form_is_byte_exact_and_idempotent(form: str, kind: str) -> None:
    texts, want = CASES[(form, kind)]
    files = {p: t.encode() for p, t in texts.items()}
    res = run(files, STEPS[kind])
    assert {p: b.decode() for p, b in res.changed.items()} == want
    assert [o.status for o in res.outcomes if o.status != "unchanged"] == ["applied"]
    assert not res.needs_hands
    again = run({**files, **res.changed}, STEPS[kind])
    assert again.changed == {}
    assert not again.needs_hands
    assert all(o.status == "unchanged" for o in again.outcomes)


def test_crlf_and_comments_survive() -> None:
    text = TF.replace("\n", "\r\n")
    res = run({"main.tf": text.encode()}, RENAME + REMOVE + ADD_EXPR)
    assert res.changed["main.tf"].decode() == text.replace('  cidr   = "10', '  cidr_block = "10').replace(
        "  legacy = true\r\n", "  region     = var.region\r\n"
    ).replace("  source = ", "  source     = ")


def test_steps_apply_in_order() -> None:
    steps = RENAME + "  - kind: rename_input\n    from: cidr_block\n    to: ipv4_cidr\n"
    res = run({"main.tf": TF.encode()}, steps)
    assert '  ipv4_cidr = "10.0.0.0/16" # the range\n' in res.changed["main.tf"].decode()


def skip_of(res):
    return [(o.path, o.line, o.reason) for o in res.outcomes if o.status == "skipped"]


def test_conflicting_new_name_is_a_skip_with_line() -> None:
    text = TF.replace("  legacy = true\n", '  legacy = true\n  cidr_block = "x"\n')
    res = run({"main.tf": text.encode()}, RENAME)
    assert res.changed == {}
    assert res.needs_hands
    assert skip_of(res) == [
        ("main.tf", 5, "'cidr_block' is already set here (and 'cidr' too): merge them by hand")
    ]


def test_terragrunt_dynamic_inputs_is_a_skip() -> None:
    text = TG.replace("inputs = {", "inputs = merge(local.common, {").replace(
        "legacy = true\n}", "legacy = true\n})"
    )
    res = run({"live/net/terragrunt.hcl": text.encode()}, RENAME)
    assert res.changed == {}
    assert skip_of(res) == [
        ("live/net/terragrunt.hcl", 5, "inputs is not an object literal (set through an expression)")
    ]


def test_terragrunt_moved_is_a_skip_and_others_still_apply() -> None:
    res = run({"live/net/terragrunt.hcl": TG.encode()}, RENAME + MOVED)
    assert res.changed["live/net/terragrunt.hcl"].decode() == TG.replace(
        "  cidr   = ", "  cidr_block = "
    ).replace("  legacy = ", "  legacy     = ")
    assert skip_of(res) == [
        ("live/net/terragrunt.hcl", 1, "a Terragrunt unit holds no Terraform code to add a moved block to")
    ]
    assert res.needs_hands


def test_source_composed_elsewhere_is_a_skip() -> None:
    text = TF.replace(f'"{SRC}"', '"${local.base}//modules/net?ref=v2.0.0"').replace(
        "module", 'locals {\n  base = "git::https://github.com/acme/cat.git"\n}\n\nmodule', 1
    )
    res = run({"main.tf": text.encode()}, SUBDIR.replace("modules/net\n", "modules/other\n", 1))
    assert res.needs_hands
    assert skip_of(res)[0][0:2] == ("main.tf", 6)


def test_existing_moved_to_elsewhere_is_a_skip() -> None:
    text = TF + "\nmoved {\n  from = module.net.aws_vpc.this\n  to   = module.net.aws_vpc.other\n}\n"
    res = run({"main.tf": text.encode()}, MOVED)
    assert res.changed == {}
    assert skip_of(res) == [
        ("main.tf", 11, "main.tf already moves module.net.aws_vpc.this to module.net.aws_vpc.other")
    ]


def test_other_modules_and_files_untouched() -> None:
    other = (
        TF.replace('module "net"', 'module "other"')
        .replace("//modules/net?", "//modules/dns?")
        .replace("module.net.", "module.other.")
    )
    res = run({"main.tf": TF.encode(), "dns/main.tf": other.encode()}, RENAME + OUTPUT)
    assert set(res.changed) == {"main.tf"}


def test_unreadable_file_is_reported() -> None:
    res = run({"main.tf": TF.encode(), "bad.tf": b'module "x" {\n  source = "./x"\n'}, RENAME)
    assert res.errors and res.errors[0].startswith("bad.tf:1:1")
    assert res.changed["main.tf"]


@pytest.mark.parametrize("kind", sorted(STEPS))
def test_migrated_hcl_stays_terraform_fmt_clean(kind: str, tmp_path) -> None:
    """Inputs that `terraform fmt` accepts stay accepted (the `=` alignment of hclwrite)."""
    import subprocess

    from catalog_ops.toolchain import tool_env, which

    terraform = which("terraform")
    files = {"main.tf": TF.encode(), "live/net/terragrunt.hcl": TG.encode()}
    res = run(files, STEPS[kind] + (RENAME if kind != "rename_input" else REMOVE))
    assert res.changed
    for path, data in res.changed.items():
        out = tmp_path / path.replace("/", "_").replace("terragrunt.hcl", "terragrunt.tf")
        out.write_bytes(data)
        proc = subprocess.run(
            [str(terraform), "fmt", "-check", "-diff", str(out)],
            capture_output=True,
            text=True,
            env=tool_env(),
            check=False,
        )
        assert proc.returncode == 0, f"{path}:\n{proc.stdout}{proc.stderr}"


STACK = f'''unit "net" {{
  source = "{SRC}"
  path   = "net"
  values = {{
    version = "v2.0.0"
  }}
}}
'''


def test_stack_unit_source_moves_and_inputs_are_a_skip() -> None:
    files = {"live/terragrunt.stack.hcl": STACK.encode()}
    res = run(files, SUBDIR + RENAME)
    assert res.changed["live/terragrunt.stack.hcl"].decode() == STACK.replace(SRC, NEW_SRC)
    assert skip_of(res) == [
        (
            "live/terragrunt.stack.hcl",
            1,
            "a stack unit's inputs are set in the unit it deploys (values), not here",
        )
    ]


def test_terragrunt_unit_including_the_source() -> None:
    unit = 'include "root" {\n  path = find_in_parent_folders("root.hcl")\n}\n\ninputs = {\n  cidr = "x"\n}\n'
    root = f'terraform {{\n  source = "{SRC}"\n}}\n'
    files = {"live/net/terragrunt.hcl": unit.encode(), "live/root.hcl": root.encode()}
    # the included file holds the use (terraform { source }): the source moves there, once, and
    # the unit including it is a use too: its inputs are migrated
    res = run(files, SUBDIR + RENAME)
    assert res.changed == {
        "live/root.hcl": root.replace(SRC, NEW_SRC).encode(),
        "live/net/terragrunt.hcl": unit.replace("  cidr = ", "  cidr_block = ").encode(),
    }
    assert not res.needs_hands
    assert ("live/net/terragrunt.hcl", "unchanged", "the source is set in live/root.hcl (edited there)") in [
        (o.path, o.status, o.reason) for o in res.outcomes
    ]
