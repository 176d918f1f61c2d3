"""The sample catalog's breaking release with a migration patch, rolled out to the sample
``web-app`` dependent (``.tf``) and a ``.tf.json`` variant: real ``terraform init`` +
``validate`` pass on the migrated PR branch, and fail on the same bump without the patch."""

from __future__ import annotations

import subprocess
from pathlib import Path

from catalog_ops.fanout.dependents import DependentSelection
from catalog_ops.forge.base import FileChange
from catalog_ops.forge.local import LocalForge
from catalog_ops.rollout.apply import ApplyOptions, apply_plan
from catalog_ops.rollout.gather import build_plan
from catalog_ops.toolchain import tool_env, which

REPO = Path(__file__).resolve().parents[2]
CATALOG = "acme/infrastructure-modules"
BRANCH = "catalog-ops/acme-infrastructure-modules"
URL = "https://github.com/acme/infrastructure-modules.git"
PATCH = """schema: 1
release: 2.0.0
description: modules/network input cidr_block is now ipv4_cidr_block
steps:
  - kind: rename_input
    from: cidr_block
    to: ipv4_cidr_block
"""
JSON_DEP = f"""{{
  "module": {{
    "lake": {{
      "source": "git::{URL}//modules/network?ref=v1.0.0",
      "name": "lake",
      "cidr_block": "10.40.0.0/16"
    }}
  }},
  "output": {{"subnets": {{"value": "${{module.lake.subnet_cidrs}}"}}}}
}}
"""


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def breaking_v2(files: dict[str, bytes]) -> list[FileChange]:
    """modules/network's input cidr_block renamed to ipv4_cidr_block, with the patch."""

    def sub(path: str, *pairs: tuple[str, str]) -> FileChange:
        text = files[path].decode()
        for old, new in pairs:
            assert old in text, (path, old)
            text = text.replace(old, new)
        return FileChange(path, text.encode())

    return [
        sub(
            "modules/network/variables.tf",
            ('variable "cidr_block"', 'variable "ipv4_cidr_block"'),
            ("var.cidr_block", "var.ipv4_cidr_block"),
        ),
        sub("modules/network/main.tf", ("var.cidr_block", "var.ipv4_cidr_block")),
        sub(
            "examples/network/main.tf",
            ("  name         = ", "  name            = "),
            ("  cidr_block   = var.cidr_block", "  ipv4_cidr_block = var.cidr_block"),
            ("  subnet_count = ", "  subnet_count    = "),
        ),
        FileChange("modules/network/migrations/v2-ipv4-cidr-block.yml", PATCH.encode()),
    ]


def validate(forge: LocalForge, repo: str, ref: str, work: Path) -> subprocess.CompletedProcess[str]:
    """``terraform init -backend=false`` + ``validate`` of ``repo`` at ``ref``; git fetches the
    catalog's github.com URL from the local bare repository (git::file://, via insteadOf)."""
    work.mkdir(parents=True)
    for path in ("main.tf", "versions.tf", "network.tf.json"):
        data = forge.read_file(repo, path, ref)
        if data is not None:
            (work / path).write_bytes(data)
    gitconfig = work.parent / f"{work.name}.gitconfig"
    gitconfig.write_text(
        f'[url "{forge.repo_path(CATALOG).as_uri()}"]\n\tinsteadOf = {URL}\n[protocol "file"]\n\tallow = always\n'
    )
    env = tool_env()
    env.update(GIT_CONFIG_GLOBAL=str(gitconfig), TF_DATA_DIR=str(work / ".terraform"), TF_IN_AUTOMATION="1")
    terraform = str(which("terraform"))
    init = subprocess.run(
        [terraform, "init", "-backend=false", "-input=false", "-no-color"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert init.returncode == 0, init.stdout + init.stderr
    return subprocess.run(
        [terraform, "validate", "-no-color"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_patched_rollout_passes_terraform_validate(tmp_path: Path) -> None:
    forge = LocalForge(tmp_path / "forge", checks_command="true")
    catalog_files = tree(REPO / "examples" / "catalog")
    forge.create_repo(CATALOG, files=catalog_files)
    sha = forge.branch_sha(CATALOG, "main") or ""
    forge.create_tag(CATALOG, name="v1.0.0", sha=sha, message="v1.0.0")
    web = tree(REPO / "examples" / "dependents" / "web-app")
    forge.create_repo("acme/web-app", files=web)
    forge.create_repo("acme/lake", files={"network.tf.json": JSON_DEP.encode()})
    sha = forge.commit_files(
        CATALOG,
        "main",
        parent_sha=sha,
        message="feat(network)!: rename cidr_block",
        changes=breaking_v2(catalog_files),
    )
    forge.create_tag(CATALOG, name="v2.0.0", sha=sha, message="v2.0.0")

    plan = build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme", concurrency=1))
    deps = {d.repo: d for d in plan.dependents}
    assert deps["acme/web-app"].patched and deps["acme/lake"].patched
    report = apply_plan(forge, plan, options=ApplyOptions(concurrency=1))
    assert {o.subject: o.kind.value for o in report.outcomes}["acme/web-app"] == "opened"

    main = forge.read_file("acme/web-app", "main.tf", BRANCH)
    assert main is not None
    assert b'  name            = "web"\n  ipv4_cidr_block = "10.10.0.0/16"\n' in main
    ok = validate(forge, "acme/web-app", BRANCH, tmp_path / "web")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    ok = validate(forge, "acme/lake", BRANCH, tmp_path / "lake")
    assert ok.returncode == 0, ok.stdout + ok.stderr

    # the same bump without the patch does not validate: the patch is what makes the PR work
    bumped = web["main.tf"].replace(b"modules/network?ref=v1.0.0", b"modules/network?ref=v2.0.0")
    parent = forge.branch_sha("acme/web-app", "main") or ""
    forge.commit_files(
        "acme/web-app",
        "bare-bump",
        parent_sha=parent,
        message="bump",
        changes=[FileChange("main.tf", bumped)],
    )
    bad = validate(forge, "acme/web-app", "bare-bump", tmp_path / "bare")
    assert (
        bad.returncode != 0
        and 'An argument named "cidr_block" is not expected here' in bad.stdout + bad.stderr
    )
