"""`catalog-ops check policy` and the bundled Rego pack, with real terraform and opa."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from catalog_ops.checks.policy import bundled_policy_dir, evaluate_plan, policy_data
from catalog_ops.errors import CatalogOpsError


def test_bundled_pack_rego_unit_tests_pass(check_tools):
    strict = subprocess.run(
        [str(check_tools.opa), "check", "--strict", str(bundled_policy_dir())],
        capture_output=True,
        text=True,
        check=False,
    )
    assert strict.returncode == 0, strict.stdout + strict.stderr
    proc = subprocess.run(
        [str(check_tools.opa), "test", "--format=json", str(bundled_policy_dir())],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads(proc.stdout)
    names = {r["name"] for r in results}
    assert len(results) >= 30 and all(r.get("fail") is not True for r in results)
    assert {
        "test_exception_without_reason_is_a_violation",
        "test_ssh_from_bastion_reference_allowed",
        "test_s3_bucket_needs_sse_resource",
    } <= names


def _rc(
    address: str, type_: str, after: dict, unknown: dict | None = None, module: str | None = None
) -> dict:
    rc = {
        "address": address,
        "mode": "managed",
        "type": type_,
        "name": address.rsplit(".", 1)[-1],
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "change": {"actions": ["create"], "before": None, "after": after, "after_unknown": unknown or {}},
    }
    if module:
        rc["module_address"] = module
    return rc


AWS_PLAN = {
    "format_version": "1.2",
    "terraform_version": "1.11.4",
    "resource_changes": [
        _rc(
            "module.web.aws_security_group.alb",
            "aws_security_group",
            {
                "name": "alb",
                "ingress": [
                    {
                        "cidr_blocks": ["0.0.0.0/0"],
                        "ipv6_cidr_blocks": ["::/0"],
                        "from_port": 443,
                        "to_port": 443,
                        "protocol": "tcp",
                        "prefix_list_ids": [],
                        "security_groups": [],
                        "self": False,
                        "description": "",
                    },
                    {
                        "cidr_blocks": ["0.0.0.0/0"],
                        "ipv6_cidr_blocks": [],
                        "from_port": 8080,
                        "to_port": 8080,
                        "protocol": "tcp",
                        "prefix_list_ids": [],
                        "security_groups": [],
                        "self": False,
                        "description": "",
                    },
                ],
            },
            {"id": True},
            module="module.web",
        ),
        _rc(
            "module.web.aws_vpc_security_group_ingress_rule.ssh",
            "aws_vpc_security_group_ingress_rule",
            {
                "cidr_ipv4": "10.0.0.0/8",
                "cidr_ipv6": None,
                "ip_protocol": "tcp",
                "from_port": 22,
                "to_port": 22,
                "prefix_list_id": None,
                "referenced_security_group_id": None,
            },
            {"security_group_id": True},
            module="module.web",
        ),
        _rc(
            "module.web.aws_ebs_volume.data",
            "aws_ebs_volume",
            {"encrypted": False, "size": 10},
            module="module.web",
        ),
        _rc(
            "module.web.aws_s3_bucket.logs",
            "aws_s3_bucket",
            {"bucket": "acme-logs"},
            {"id": True},
            module="module.web",
        ),
        _rc(
            "module.web.aws_s3_bucket_server_side_encryption_configuration.logs",
            "aws_s3_bucket_server_side_encryption_configuration",
            {
                "bucket": "acme-logs",
                "rule": [
                    {
                        "apply_server_side_encryption_by_default": [
                            {"sse_algorithm": "aws:kms", "kms_master_key_id": None}
                        ]
                    }
                ],
            },
            module="module.web",
        ),
    ],
    "configuration": {
        "root_module": {"module_calls": {"web": {"source": "../../modules/web", "module": {"resources": []}}}}
    },
}


def test_evaluate_hand_built_aws_plan_with_exception(tmp_path: Path, check_tools):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(AWS_PLAN))
    config = {
        "policy": {
            "exceptions": [
                {
                    "rule": "aws.encryption.ebs",
                    "address": "aws_ebs_volume.data",
                    "reason": "scratch volume, SEC-7",
                },
            ]
        }
    }
    violations, excepted = evaluate_plan(
        plan,
        opa=check_tools.opa,
        env=check_tools.env,
        policy_dirs=[bundled_policy_dir()],
        settings=policy_data(config),
        scratch=tmp_path,
    )
    got = sorted((v["rule"], v["address"]) for v in violations)
    assert got == [
        ("aws.sg.public_ingress", "module.web.aws_security_group.alb"),
        ("aws.sg.ssh_bastion", "module.web.aws_vpc_security_group_ingress_rule.ssh"),
    ]
    assert [(e["violation"]["rule"], e["reason"]) for e in excepted] == [
        ("aws.encryption.ebs", "scratch volume, SEC-7")
    ]
    # allowed ports from the CLI/config
    violations, _ = evaluate_plan(
        plan,
        opa=check_tools.opa,
        env=check_tools.env,
        policy_dirs=[bundled_policy_dir()],
        settings=policy_data(config, allowed_ports=[443, 8080]),
        scratch=tmp_path,
    )
    assert "aws.sg.public_ingress" not in {v["rule"] for v in violations}


def test_broken_repo_policy_is_reported_at_rego_line(tmp_path: Path, check_tools):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(AWS_PLAN))
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "bad.rego").write_text("package bad\n\ndeny contains msg if {\n  msg := \n}\n")
    with pytest.raises(CatalogOpsError, match=r"bad\.rego:\d+"):
        evaluate_plan(
            plan,
            opa=check_tools.opa,
            env=check_tools.env,
            policy_dirs=[bad],
            settings=policy_data({}),
            scratch=tmp_path,
        )


def test_sample_catalog_is_compliant(sample_catalog: Path, run_check, check_tools, tmp_path: Path):
    results = tmp_path / "policy.json"
    run = run_check(
        [
            "check",
            "policy",
            "--root",
            str(sample_catalog),
            "--results",
            str(results),
            "--out-dir",
            str(tmp_path / "p"),
        ]
    )
    assert run.code == 0, run.out + run.err
    doc = json.loads(results.read_text())
    assert {m: e["status"] for m, e in doc["modules"].items()} == {
        "modules/naming": "passed",
        "modules/network": "passed",
        "modules/service": "passed",
    }
    plan = json.loads((tmp_path / "p" / "plans" / "examples__service.json").read_text())
    assert {rc["address"] for rc in plan["resource_changes"]} == {
        "module.service.terraform_data.service",
        "module.service.module.label.terraform_data.label",
    }
    assert str(sample_catalog / "policies") in doc["policy_dirs"]


def test_violation_annotated_at_resource_and_bad_module_does_not_stop_others(
    sample_catalog: Path, run_check, check_tools, tmp_path: Path
):
    main = sample_catalog / "modules/naming/main.tf"
    main.write_text(main.read_text().replace('      ManagedBy   = "terraform"\n', ""))
    (sample_catalog / "modules/network/broken.tf").write_text("locals {\n  x = \n}\n")
    sarif = tmp_path / "policy.sarif"
    run = run_check(["check", "policy", "--root", str(sample_catalog), "--sarif", str(sarif), "--json"])
    assert run.code == 1
    doc = json.loads(run.out)
    mods = doc["modules"]
    # the catalog's own policy (policies/tags.rego) fires for naming and, through it, service
    line = next(
        i
        for i, text in enumerate(main.read_text().splitlines(), 1)
        if 'resource "terraform_data" "label"' in text
    )
    for module, address in (
        ("modules/naming", "module.naming.terraform_data.label"),
        ("modules/service", "module.service.module.label.terraform_data.label"),
    ):
        assert mods[module]["status"] == "failed"
        [f] = mods[module]["findings"]
        assert (f["path"], f["line"], f["rule"]) == ("modules/naming/main.tf", line, "catalog.tags.deny")
        assert f["message"].startswith(f"{address}: tags must include ManagedBy")
    assert (
        f"::error file=modules/naming/main.tf,line={line},col=1,title=opa%3A catalog.tags.deny::" in run.err
    )
    # syntax error: annotated at file:line, the other modules were still planned
    [err] = mods["modules/network"]["findings"]
    assert (err["path"], err["line"], err["tool"]) == ("modules/network/broken.tf", 2, "terraform-plan")
    sarif_doc = json.loads(sarif.read_text())
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for run_ in sarif_doc["runs"]
        for r in run_["results"]
    }
    assert uris == {"modules/naming/main.tf", "modules/network/broken.tf"}


def test_no_bundled_and_extra_policy_dir(sample_catalog: Path, run_check, check_tools, tmp_path: Path):
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "subnets.rego").write_text(
        "package extra.subnets\n\nwarn contains msg if {\n  some rc in input.resource_changes\n"
        '  rc.type == "terraform_data"\n  rc.name == "subnet"\n'
        '  msg := sprintf("%s: subnet seen", [rc.address])\n}\n'
    )
    run = run_check(
        [
            "check",
            "policy",
            "--root",
            str(sample_catalog),
            "network",
            "--no-bundled",
            "--policy",
            str(extra),
            "--json",
        ]
    )
    doc = json.loads(run.out)
    findings = doc["modules"]["modules/network"]["findings"]
    assert sorted(f["message"].split(" (")[0] for f in findings) == [
        "module.network.terraform_data.subnet[0]: subnet seen",
        "module.network.terraform_data.subnet[1]: subnet seen",
    ]
    assert {f["level"] for f in findings} == {"warning"} and findings[0]["path"] == "modules/network/main.tf"
    assert doc["modules"]["modules/network"]["status"] == "passed"  # warnings do not fail
    assert run.code == 0
    assert not any(str(bundled_policy_dir()) == d for d in doc["policy_dirs"])


def _needs_a_variable(root: Path) -> None:
    """A catalog made here: modules/a needs ``name``; its example passes it through."""
    (root / "modules/a").mkdir(parents=True)
    (root / "modules/a/main.tf").write_text(
        'variable "name" {\n  type = string\n}\n\nresource "terraform_data" "x" {\n  input = var.name\n}\n'
    )
    (root / "examples/a").mkdir(parents=True)
    (root / "examples/a/main.tf").write_text(
        'variable "name" {\n  type = string\n}\n\nmodule "a" {\n  source = "../../modules/a"\n  name   = var.name\n}\n'
    )


def test_policy_says_which_variable_is_missing_and_takes_it_from_config(
    tmp_path: Path, run_check, check_tools
) -> None:
    root = tmp_path / "cat"
    _needs_a_variable(root)
    run = run_check(["check", "policy", "--root", str(root), "--no-bundled", "--json"])
    assert run.code == 1
    finding = json.loads(run.out)["modules"]["modules/a"]["findings"][0]
    assert finding["rule"] == "missing-variable"
    assert finding["message"].startswith(
        'variable "name" has no value for planning examples/a: give it in .catalog-ops.yml'
    )
    # a value from .catalog-ops.yml (checks.policy.variables, per example or module)
    (root / ".catalog-ops.yml").write_text(
        "checks:\n  policy:\n    variables:\n      modules/a:\n        name: demo\n"
    )
    run = run_check(["check", "policy", "--root", str(root), "--no-bundled", "--json"])
    assert run.code == 0, run.out + run.err
    assert json.loads(run.out)["modules"]["modules/a"]["status"] == "passed"


def test_policy_variables_from_fixtures_and_tfvars(tmp_path: Path) -> None:
    from catalog_ops.checks.policy import policy_var_files

    root = tmp_path / "cat"
    _needs_a_variable(root)
    (root / "modules/a/tests").mkdir()
    (root / "modules/a/tests/basic.tftest.hcl").write_text(
        'variables {\n  name = "from-test"\n  other = run.setup.id\n}\n\nrun "plan" {\n  command = plan\n}\n'
    )
    (root / "modules/a/catalog-ops.tfvars").write_text('name = "per-module"\n')
    work = tmp_path / "work"
    work.mkdir()
    files = policy_var_files(root, "examples/a", ["modules/a"], {}, work)
    assert [f.name for f in files] == ["fixtures.tfvars", "catalog-ops.tfvars"]
    # the tftest variables block, minus what only exists during a test run
    assert files[0].read_text() == 'name = "from-test"\n'
