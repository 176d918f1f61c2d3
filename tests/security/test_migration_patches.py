"""Migration patches are written by catalog contributors and applied to every dependent
(docs/migrations.md, docs/security.md): their text cannot mention anyone or forge a marker in
the PR body, an expression cannot smuggle more than one expression into a consumer's file, and
the work a patch set can cause is bounded."""

from __future__ import annotations

import pytest

from catalog_ops.errors import ConfigError
from catalog_ops.forge.base import FileChange
from catalog_ops.migrate import load_files, parse_migration
from catalog_ops.migrate.model import MAX_FILES_PER_MODULE
from catalog_ops.rollout.prtext import parse_marker
from fixtures.rollout import BRANCH, CATALOG, GIT, RolloutWorld

ZWSP = "\u200b"
EVIL = 'rename @acme/everyone <!-- catalog-ops:rollout {"catalog": "x", "digest": "0"} --> `x'


def test_patch_text_is_neutralised_in_the_pr_body(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    repo = w.dependent(
        "app",
        {"main.tf": f'module "net" {{\n  source = "{GIT}//modules/network?ref=v1.0.0"\n  cidr = "x"\n}}\n'},
    )
    patch = f"schema: 1\nrelease: 2.0.0\ndescription: '{EVIL}'\nsteps:\n  - kind: rename_input\n    from: cidr\n    to: ipv4\n"
    parent = w.forge.branch_sha(CATALOG, "main") or ""
    w.forge.commit_files(
        CATALOG,
        "main",
        parent_sha=parent,
        message="patch",
        changes=[FileChange("modules/network/migrations/@acme-everyone.yml", patch.encode())],
    )
    w.release("v2.0.0", modules=["modules/network"])
    w.apply(w.plan())
    pr = w.forge.find_open_pull(repo, BRANCH)
    assert pr is not None and "## Migration applied" in pr.body
    assert "@acme/everyone" not in pr.body and f"@{ZWSP}acme/everyone" in pr.body
    assert pr.body.count("<!--") == 1  # only the product's own trailing marker
    marker = parse_marker(pr.body)
    assert marker is not None and marker["catalog"] == CATALOG


@pytest.mark.parametrize(
    "expression",
    [
        'var.x\\n}\\nresource \\"null_resource\\" \\"x\\" {',  # a second block after the module
        "var.x }",  # closes the module block
        "a = 1",  # an attribute, not an expression
    ],
)
def test_expression_must_be_one_expression(expression: str) -> None:
    text = f'schema: 1\nrelease: 2.0.0\nsteps:\n  - kind: add_input\n    name: a\n    expression: "{expression}"\n'
    with pytest.raises(ConfigError, match="key 'expression'"):
        parse_migration(text, "modules/a/migrations/x.yml")


def test_patch_files_per_module_are_bounded() -> None:
    good = b"schema: 1\nrelease: 2.0.0\nsteps:\n  - kind: remove_input\n    name: a\n"
    files = {f"modules/a/migrations/{i:03}.yml": good for i in range(MAX_FILES_PER_MODULE + 5)}
    migrations, errors = load_files(files)
    assert len(migrations) == MAX_FILES_PER_MODULE
    assert len(errors) == 5 and all("more than" in e for e in errors)
