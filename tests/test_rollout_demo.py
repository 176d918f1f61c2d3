"""`make demo` end to end (real git, real terraform checks, the CLI in subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CATALOG_OPS_", "GITHUB_"))}
    env["DEMO_DIR"] = str(tmp_path / "demo")
    proc = subprocess.run(
        [sys.executable, str(REPO / "examples" / "demo.py")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    out = proc.stdout
    assert "demo finished" in out
    forge = tmp_path / "demo" / "forge"
    # the security PRs merged: every dependent's default branch carries the security release
    web = subprocess.run(
        ["git", "-C", str(forge / "acme" / "web-app"), "show", "main:main.tf"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    history = subprocess.run(
        ["git", "-C", str(forge / "acme" / "web-app"), "log", "-p", "main", "--", "main.tf"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert (
        '+  source = "git::https://github.com/acme/infrastructure-modules.git//modules/network?ref=v1.0.1"'
        in history
    )
    # web-app is the canary of step 10: its PR for v2.1.0 merged before the next wave opened
    assert "modules/network?ref=v2.1.0" in web
    live = subprocess.run(
        ["git", "-C", str(forge / "acme" / "platform-live"), "show", "main:live/prod/network/terragrunt.hcl"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert '"${include.root.locals.base_source_url}//modules/network?ref=v1.0.1"' in live
    # the normal release left PRs open for review, with CODEOWNERS reviewers in payments; carol
    # approved and merged it by hand (step 7)
    record = json.loads((forge / "acme" / "payments.forge.json").read_text())
    rollout = [p for p in record["pulls"] if p["head"].startswith("catalog-ops/")]
    # payments' rollout PRs: security (merged by the gate), normal (step 7), breaking (step 8, open)
    assert len(rollout) == 3 and rollout[2]["state"] == "open"
    normal = rollout[1]
    assert "carol" in normal["reviewers"] and normal["approvals"] == ["carol"]
    assert normal["state"] == "merged"
    assert "approved by carol and merged" in out
    # step 10: a canary wave held the next normal release until acme/web-app's PR merged
    assert "canary acme/web-app: its PR is up for review; waiting for it: acme/" in out
    assert "canary passed its checks and merged; next wave: acme/" in out
    # the canary's PR (moved on to v2.1.0) merged only after its checks ran on that exact head and
    # passed: terraform validate of the v2.1.0 module (its new output uses ipv4_cidr_block)
    web_record = json.loads((forge / "acme" / "web-app.forge.json").read_text())
    canary = next(p for p in web_record["pulls"] if "v2.1.0" in p["title"])
    checks = canary["checks"]
    assert canary["state"] == "merged"
    assert checks["sha"] == canary["head_sha"] and checks["state"] == "success"
    assert checks["ran_at"] <= canary["merged_at"]
    assert "checks passed" in checks["output"]
    catalog_tag = subprocess.run(
        [
            "git",
            "-C",
            str(forge / "acme" / "infrastructure-modules"),
            "grep",
            "-n",
            "cidr_block",
            "v2.1.0",
            "--",
            "modules/network",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "var.cidr_block" not in catalog_tag and 'variable "cidr_block"' not in catalog_tag
    assert "value = var.ipv4_cidr_block" in catalog_tag
    wave_plan = json.loads((tmp_path / "demo" / "plan-canary.json").read_text())
    held = [d for d in wave_plan["dependents"] if d["action"] == "hold"]
    assert held and all(d["reason"] == "waits for wave 'canary': 0 of 1 merged" for d in held)
    assert "fmt only: app.terraform.io/acme/naming/generic is a registry address" in out
    # the rerun changed nothing (printed as the report's JSON, labelled, not as a Python dict)
    assert 'outcomes ("counts" of that --json report): {"up_to_date": 5, "skipped": 1}' in out
    # step 8: the breaking release's migration patch applied in the PR, terraform validate passed
    assert "passes terraform validate on the migrated code" in out
    # (step 10's canary wave then moved web-app's PR on to v2.1.0 and merged it: the migration
    # patch of v2.0.0 is applied on its default branch)
    assert 'ipv4_cidr_block = "10.10.0.0/16"' in web and "modules/network?ref=v2.1.0" in web
    # step 9: the security release went through acme/team-live's chain, one environment per run
    team = forge / "acme" / "team-live"
    for env in ("dev", "stage", "prod"):
        main_tf = subprocess.run(
            ["git", "-C", str(team), "show", f"main:envs/{env}/main.tf"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "modules/network?ref=v1.0.1" in main_tf
    chain_prs = json.loads((forge / "acme" / "team-live.forge.json").read_text())["pulls"]
    # (step 10's canary wave then opens the next chain PR for its release: not part of step 9)
    assert [(p["head"].rsplit("--", 1)[1], p["state"]) for p in chain_prs[:3]] == [
        ("dev", "merged"),
        ("stage", "merged"),
        ("prod", "merged"),
    ]
    assert "plan 4: nothing — chain complete: dev, stage, prod run the versions they should" in out
    # "Where everything is" names the chain's and the canary's plans, and each file is there
    where = out[out.index("Where everything is") :]
    listed = {
        line.split(":", 1)[0]: [p.strip() for p in line.split(":", 1)[1].split(",")]
        for line in where.splitlines()
        if line.startswith(("chain plans:", "canary plans:"))
    }
    assert [Path(p).name for p in listed["chain plans"]] == [f"plan-chain-{n}.json" for n in (1, 2, 3, 4)]
    assert [Path(p).name for p in listed["canary plans"]] == ["plan-canary.json", "plan-next-wave.json"]
    assert all((REPO / p).is_file() for ps in listed.values() for p in ps)
    # demo.py's own reads of the forge are not echoed as commands whose output is never shown
    assert not [ln for ln in out.splitlines() if "catalog-ops forge show" in ln and "--json" in ln]


def test_demo_checks_read_a_changed_tf_json_file_that_terraform_fmt_skips(tmp_path: Path) -> None:
    """The demo dependents' checks (``demo.py --check``) in a directory whose module uses a
    registry address run only ``terraform fmt``, which reads no ``.tf.json`` file: a changed
    ``.tf.json`` is then read here (JSON syntax, module references), so a PR changing only such
    a file is never passed unchecked."""
    src = "app.terraform.io/acme/naming/generic"
    good = {"module": {"naming": {"source": src, "version": "2.1.0"}}}
    (tmp_path / "network.tf.json").write_text(json.dumps(good))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CATALOG_OPS_", "GITHUB_"))}
    env.update(
        CATALOG_OPS_CHANGED_FILES="network.tf.json", CATALOG_OPS_REPO="acme/x", CATALOG_OPS_PR_NUMBER="1"
    )

    def check() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(REPO / "examples" / "demo.py"), "--check"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    passed = check()
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "network.tf.json: JSON syntax and module references read" in passed.stdout
    (tmp_path / "network.tf.json").write_text('{"module": {"naming": {"source": "' + src + '",}}}')
    failed = check()
    assert failed.returncode == 1
    assert "network.tf.json: not valid JSON" in failed.stdout and "checks FAILED" in failed.stdout
