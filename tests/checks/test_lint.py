"""`catalog-ops check lint` against real terraform and tflint."""

from __future__ import annotations

import json
from pathlib import Path

from catalog_ops.checks.lint import parse_fmt_diff, strip_plugins
from catalog_ops.checks.results import Finding
from catalog_ops.checks.sarif import build_sarif

BROKEN = 'resource "terraform_data" "broken" {\n  input = {\n}\n'
UNFORMATTED = 'variable "Bad_Name" {\n type=string\n  default = "x"\n}\n'


def test_clean_catalog_passes_and_writes_empty_sarif(
    sample_catalog: Path, run_check, check_tools, tmp_path: Path
):
    sarif = tmp_path / "lint.sarif"
    results = tmp_path / "lint.json"
    run = run_check(
        ["check", "lint", "--root", str(sample_catalog), "--sarif", str(sarif), "--results", str(results)]
    )
    assert run.code == 0, run.out + run.err
    doc = json.loads(results.read_text())
    assert doc["check"] == "lint" and doc["status"] == "passed"
    assert sorted(doc["modules"]) == ["modules/naming", "modules/network", "modules/service"]
    assert doc["modules"]["modules/service"]["examples"] == ["examples/service"]
    log = json.loads(sarif.read_text())
    assert log["version"] == "2.1.0" and all(r["results"] == [] for r in log["runs"])
    assert "::error" not in run.err
    assert not list(sample_catalog.rglob(".terraform")), "lint must not write .terraform into the checkout"


def test_syntax_error_is_annotated_and_other_modules_still_checked(
    sample_catalog: Path, run_check, check_tools, tmp_path: Path
):
    (sample_catalog / "modules/network/broken.tf").write_text(BROKEN)
    (sample_catalog / "modules/naming/lint.tf").write_text(UNFORMATTED)
    sarif = tmp_path / "lint.sarif"
    run = run_check(["check", "lint", "--root", str(sample_catalog), "--sarif", str(sarif), "--json"])
    assert run.code == 1
    doc = json.loads(run.out)
    mods = doc["modules"]
    assert mods["modules/network"]["status"] == "failed"
    assert mods["modules/naming"]["status"] == "failed"
    assert mods["modules/service"]["status"] == "passed"

    network = mods["modules/network"]["findings"]
    syntax = [
        f for f in network if f["path"] == "modules/network/broken.tf" and f["tool"] == "terraform-validate"
    ]
    assert syntax and syntax[0]["line"] == 1 and syntax[0]["col"] == 36
    assert "Unclosed configuration block" in syntax[0]["message"]
    assert (
        "::error file=modules/network/broken.tf,line=1,col=36,title=terraform-validate%3A validate::Unclosed configuration block"
        in run.err
    )

    naming = {(f["tool"], f["rule"], f["path"], f["line"]) for f in mods["modules/naming"]["findings"]}
    assert ("terraform-fmt", "fmt", "modules/naming/lint.tf", 2) in naming
    assert ("tflint", "terraform_unused_declarations", "modules/naming/lint.tf", 1) in naming
    assert ("tflint", "terraform_naming_convention", "modules/naming/lint.tf", 1) in naming
    assert "::error file=modules/naming/lint.tf,line=2,col=1,title=terraform-fmt%3A fmt::" in run.err
    assert (
        "::warning file=modules/naming/lint.tf,line=1,col=1,title=tflint%3A terraform_unused_declarations::"
        in run.err
    )
    assert "::notice file=modules/naming/lint.tf" in run.err  # naming convention is tflint "info"

    # step summary: one row per finding
    assert "| `modules/network/broken.tf:1:36` | error | terraform-validate | validate |" in run.summary
    assert "| `modules/naming/lint.tf:2:1` | error | terraform-fmt | fmt |" in run.summary

    log = json.loads(sarif.read_text())
    results = [
        (
            r["ruleId"],
            loc["physicalLocation"]["artifactLocation"]["uri"],
            loc["physicalLocation"]["region"]["startLine"],
        )
        for run_ in log["runs"]
        for r in run_["results"]
        for loc in r["locations"]
    ]
    assert ("validate", "modules/network/broken.tf", 1) in results
    assert ("terraform_unused_declarations", "modules/naming/lint.tf", 1) in results
    tflint_run = next(r for r in log["runs"] if r["tool"]["driver"]["name"] == "tflint")
    rule = next(
        r for r in tflint_run["tool"]["driver"]["rules"] if r["id"] == "terraform_unused_declarations"
    )
    assert rule["helpUri"].startswith("https://github.com/terraform-linters/tflint-ruleset-terraform/")


def test_selected_module_only(sample_catalog: Path, run_check, check_tools):
    (sample_catalog / "modules/network/broken.tf").write_text(BROKEN)
    run = run_check(["check", "lint", "--root", str(sample_catalog), "naming", "--json"])
    assert run.code == 0, run.out
    assert list(json.loads(run.out)["modules"]) == ["modules/naming"]


def test_unknown_module_is_usage_error(sample_catalog: Path, run_check):
    run = run_check(["check", "lint", "--root", str(sample_catalog), "modules/nope"])
    assert run.code == 2
    assert "modules/nope: not a module" in run.err


def test_uninstalled_plugin_is_dropped_with_a_note(sample_catalog: Path, run_check, check_tools):
    cfg = sample_catalog / ".tflint.hcl"
    cfg.write_text(
        cfg.read_text()
        + '\nplugin "aws" {\n  enabled = true\n  version = "0.40.0"\n  source  = "github.com/terraform-linters/tflint-ruleset-aws"\n}\n'
    )
    run = run_check(
        ["check", "lint", "--root", str(sample_catalog), "--json"],
        env={"TFLINT_PLUGIN_DIR": str(sample_catalog / "no-plugins")},
    )
    assert run.code == 0, run.out
    doc = json.loads(run.out)
    assert [(f["rule"], f["path"]) for f in doc["findings"]] == [("plugin-not-installed", ".tflint.hcl")]


def test_parse_fmt_diff_first_changed_line():
    out = (
        "modules/a/main.tf\n--- old/modules/a/main.tf\n+++ new/modules/a/main.tf\n"
        "@@ -26,5 +26,5 @@\n   }\n }\n locals {\n-  a=1\n+  a = 1\n }\n"
        "modules/a/b.tf\n--- old/modules/a/b.tf\n+++ new/modules/a/b.tf\n@@ -1,3 +1,3 @@\n-x=1\n+x = 1\n"
    )
    assert parse_fmt_diff(out) == [("modules/a/main.tf", 29), ("modules/a/b.tf", 1)]


def test_strip_plugins_keeps_terraform():
    text = 'plugin "terraform" {\n  enabled = true\n}\nplugin "aws" {\n  source = "x/{y}"\n  nested { a = 1 }\n}\nconfig {}\n'
    new, removed = strip_plugins(text)
    assert removed == ["aws"]
    assert new == 'plugin "terraform" {\n  enabled = true\n}\n\nconfig {}\n'


def test_sarif_locations_and_prefix():
    log = build_sarif(
        [
            Finding(
                tool="opa", rule="r1", level="note", message="m", path="modules/a/main.tf", line=3, col=2
            ),
            Finding(tool="opa", rule="r2", level="error", message="no file", module="modules/b"),
        ],
        uri_prefix="catalog",
    )
    [run] = log["runs"]
    locs = [r["locations"][0]["physicalLocation"] for r in run["results"]]
    assert locs[0] == {
        "artifactLocation": {"uri": "catalog/modules/a/main.tf", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 3, "startColumn": 2},
    }
    assert locs[1]["artifactLocation"]["uri"] == "catalog/modules/b"
    assert [r["level"] for r in run["results"]] == ["note", "error"]


def test_paths_are_repository_relative_when_catalog_is_a_subdirectory(
    sample_catalog: Path, run_check, check_tools, tmp_path: Path
):
    from fixtures.gitrepo import GitRepo

    GitRepo(tmp_path)  # tmp_path is the repository, the catalog lives in catalog/
    (sample_catalog / "modules/network/broken.tf").write_text(BROKEN)
    sarif = tmp_path / "lint.sarif"
    run = run_check(["check", "lint", "--root", str(sample_catalog), "network", "--sarif", str(sarif)])
    assert run.code == 1
    assert "::error file=catalog/modules/network/broken.tf,line=1,col=36," in run.out
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in json.loads(sarif.read_text())["runs"][0]["results"]
    }
    assert uris == {"catalog/modules/network/broken.tf"}
    # the results document stays catalog-relative (the report adds --path-prefix to links)
    run = run_check(
        ["check", "lint", "--root", str(sample_catalog), "network", "--json", "--path-prefix", ""]
    )
    assert "::error file=modules/network/broken.tf," in run.err


def test_lint_and_policy_run_with_opentofu(sample_catalog: Path, run_check, check_tools, tmp_path: Path):
    """The same checks pass with OpenTofu chosen by the --tf-binary setting."""
    results = tmp_path / "lint-tofu.json"
    run = run_check(
        ["--tf-binary", "tofu", "check", "lint", "--root", str(sample_catalog), "--results", str(results)]
    )
    assert run.code == 0, run.out + run.err
    doc = json.loads(results.read_text())
    assert doc["status"] == "passed"
    assert sorted(doc["modules"]) == ["modules/naming", "modules/network", "modules/service"]
    policy = run_check(["--tf-binary", "tofu", "check", "policy", "--root", str(sample_catalog), "--json"])
    assert policy.code == 0, policy.out + policy.err
    assert json.loads(policy.out)["status"] == "passed"


def test_module_using_a_broken_module_fails_by_dependency_like_policy(
    sample_catalog: Path, run_check, check_tools, tmp_path: Path
):
    (sample_catalog / "modules/naming/broken.tf").write_text(BROKEN)
    lint = run_check(["check", "lint", "--root", str(sample_catalog), "--json"])
    assert lint.code == 1
    mods = json.loads(lint.out)["modules"]
    assert mods["modules/naming"]["status"] == "failed"
    assert mods["modules/network"]["status"] == "passed"
    service = mods["modules/service"]
    assert service["status"] == "failed"
    assert service["failed_dependencies"] == ["modules/naming"]
    assert service["summary"] == "1 finding (uses failed modules/naming)"
    [dep] = service["findings"]
    assert (dep["tool"], dep["rule"], dep["level"], dep["path"], dep["line"]) == (
        "catalog-ops",
        "failed-dependency",
        "error",
        "modules/service/main.tf",
        2,
    )
    assert "uses modules/naming through the local path '../naming'" in dep["message"]
    assert "::error file=modules/service/main.tf,line=2," in lint.err

    policy = run_check(["check", "policy", "--root", str(sample_catalog), "--json", "service"])
    assert policy.code == 1
    assert json.loads(policy.out)["modules"]["modules/service"]["status"] == "failed"


def test_failed_init_reports_its_first_cause_with_the_address(tmp_path: Path, run_check, check_tools) -> None:
    root = tmp_path / "cat"
    (root / "modules/a").mkdir(parents=True)
    missing = (tmp_path / "nowhere" / "repo.git").as_uri()
    (root / "modules/a/main.tf").write_text(f'module "x" {{\n  source = "git::{missing}"\n}}\n')
    results = tmp_path / "lint.json"
    run = run_check(["check", "lint", "--root", str(root), "--results", str(results)])
    assert run.code == 1
    findings = json.loads(results.read_text())["modules"]["modules/a"]["findings"]
    messages = [f["message"] for f in findings if f["level"] == "error"]
    # the cause (the module source cannot be downloaded, with its address), not the follow-up
    # advice ("Module not installed ... run terraform init")
    assert messages[0].startswith("init failed in modules/a: Failed to download module")
    assert f"git::{missing}" in messages[0] or "modules/a" in messages[0]
    assert not any("terraform init" in m for m in messages)


def test_first_cause_of_init_output() -> None:
    from catalog_ops.checks.initcause import first_cause, is_follow_up

    text = (
        'Initializing provider plugins...\n- Finding hashicorp/aws versions matching ">= 5.0"...\n\n'
        "Error: Failed to query available provider packages\n\n"
        "Could not retrieve the list of available versions for provider hashicorp/aws: could not\n"
        "connect to registry.terraform.io: dial tcp: lookup registry.terraform.io: no such host\n\n"
        'Error: Inconsistent dependency lock file\n\nrun "terraform init"\n'
    )
    cause = first_cause(text)
    assert cause is not None
    assert (cause.summary, cause.address) == ("Failed to query available provider packages", "hashicorp/aws")
    assert "no such host" in cause.detail and "Inconsistent" not in cause.detail
    assert is_follow_up('Module not installed: run "terraform init"') and not is_follow_up(
        "Unsupported argument"
    )
