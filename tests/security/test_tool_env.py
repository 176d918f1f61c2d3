"""Tool subprocesses never see the forge token or App credentials (issue 15, least privilege).

The attack: a pull request adds a Terratest test that reads ``GITHUB_TOKEN`` (or any variable
holding it) and sends it somewhere. ``catalog-ops check test`` runs that test for real with
``go test``; the test below writes every variable it can see to a file and fails when any value
carries the token, so both the run's outcome and the file are checked.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from catalog_ops import toolchain

TOKEN = "ghs_leakcanary0123456789abcdefABCDEF"


def _pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


PRIVATE_KEY = _pem()

#: Where a token or App credential can sit in a catalog-ops step's environment on a runner.
SECRET_ENV = {
    "GITHUB_TOKEN": TOKEN,
    "GH_TOKEN": TOKEN,
    "CATALOG_OPS_APP_ID": "12345",
    "CATALOG_OPS_APP_PRIVATE_KEY": PRIVATE_KEY,
    "CATALOG_OPS_APP_INSTALLATION_ID": "678",
    "ACTIONS_RUNTIME_TOKEN": TOKEN,
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": TOKEN,
    "ACTIONS_ID_TOKEN_REQUEST_URL": f"https://token.actions.example/?t={TOKEN}",
    "INPUT_GITHUB-TOKEN": TOKEN,
    "MY_DEPLOY_TOKEN": TOKEN,
    "GITHUB_APP_PRIVATE_KEY": PRIVATE_KEY,
}

LEAK_TEST = """package test

import (
\t"encoding/json"
\t"os"
\t"path/filepath"
\t"strings"
\t"testing"
)

// What a hostile PR would do: read the environment and look for credentials.
func TestLeak(t *testing.T) {
\tseen := map[string]string{}
\tfor _, kv := range os.Environ() {
\t\tk, v, _ := strings.Cut(kv, "=")
\t\tseen[k] = v
\t}
\tdata, _ := json.Marshal(seen)
\tif err := os.WriteFile(filepath.Join(os.TempDir(), "seen.json"), data, 0o600); err != nil {
\t\tt.Fatal(err)
\t}
\tfor k, v := range seen {
\t\tif strings.Contains(v, "leakcanary") || strings.Contains(v, "PRIVATE KEY") {
\t\t\tt.Fatalf("credential visible to the test in %s", k)
\t\t}
\t}
}
"""


@pytest.fixture
def leak_catalog(tmp_path: Path) -> Path:
    """A catalog in the sample's layout (modules/<m>, test/ Go module) whose one test is hostile."""
    root = tmp_path / "leak"
    (root / "modules" / "leak").mkdir(parents=True)
    (root / "modules" / "leak" / "main.tf").write_text('output "name" {\n  value = "leak"\n}\n')
    (root / "test").mkdir()
    (root / "test" / "go.mod").write_text("module example.com/leak\n\ngo 1.22\n")
    (root / "test" / "leak_test.go").write_text(LEAK_TEST)
    return root


def test_terratest_in_a_pr_cannot_read_the_token(leak_catalog: Path, run_check, check_tools, tmp_path: Path):
    scratch = tmp_path / "tmp"  # TMPDIR reaches the test; it writes what it saw there
    scratch.mkdir()
    dump = scratch / "seen.json"
    run = run_check(
        ["check", "test", "--root", str(leak_catalog), "--out-dir", str(tmp_path / "out"), "--json"],
        env={**SECRET_ENV, "TMPDIR": str(scratch), "TF_TOKEN_app_terraform_io": "registry-credential"},
    )
    assert run.code == 0, run.out + run.err
    doc = json.loads(run.out)
    assert doc["modules"]["modules/leak"]["tests"][0]["status"] == "passed"
    seen = json.loads(dump.read_text())  # the test really ran and saw this environment
    assert not [k for k, v in seen.items() if "leakcanary" in v or "PRIVATE KEY" in v]
    assert not set(SECRET_ENV) & set(seen)
    # what the test legitimately needs is still there
    assert seen["TF_TOKEN_app_terraform_io"] == "registry-credential"
    assert seen["TERRATEST_TERRAFORM_BINARY"] and "HOME" in seen and "PATH" in seen


def test_tool_env_is_an_allow_list(monkeypatch: pytest.MonkeyPatch):
    env = {
        **SECRET_ENV,
        "CATALOG_OPS_GITHUB_TOKEN": TOKEN,  # not a catalog-ops setting, but a name one might use
        "PATH": "/usr/bin",
        "HOME": "/home/runner",
        "GOPROXY": "https://proxy.golang.org",
        "TF_VAR_region": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "AKIA",
        "GITHUB_REPOSITORY": "acme/catalog",
        "RUNNER_TEMP": "/tmp/r",
        "SOMETHING_ELSE": "x",
    }
    out = toolchain.tool_env(env)
    assert set(out) - {"PATH", "GOTOOLCHAIN", "CHECKPOINT_DISABLE"} == {"HOME", "GOPROXY", "TF_VAR_region"}
    assert out["PATH"].endswith("/usr/bin")
    # a workflow that deploys in its tests opts cloud credentials in by name
    out = toolchain.tool_env({**env, "CATALOG_OPS_TOOL_ENV": "AWS_*, GITHUB_TOKEN"})
    assert out["AWS_ACCESS_KEY_ID"] == "AKIA" and "GITHUB_TOKEN" not in out
    assert "CATALOG_OPS_TOOL_ENV" not in out


def test_local_forge_checks_command_gets_no_credentials(git_repo, monkeypatch: pytest.MonkeyPatch):
    """The local forge's checks command stands in for a dependent's CI on the PR's code: it keeps
    its own variables but never the forge token or App credentials."""
    from catalog_ops.forge.base import PullRequest, PullState
    from catalog_ops.forge.local.checks import LocalChecks

    head = git_repo.commit("feat: x", {"main.tf": "\n"})
    for key, value in SECRET_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DEMO_DIR", "/somewhere")
    pr = PullRequest(
        repo="acme/app", number=1, title="t", body="", head="b", base="main", head_sha=head,
        state=PullState.OPEN, url="",
    )  # fmt: skip
    _state, code, out = LocalChecks("env").run(git_repo.path / ".git", "acme/app", pr, ["main.tf"])
    assert code == 0, out
    seen = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    assert seen["DEMO_DIR"] == "/somewhere" and seen["CATALOG_OPS_PR_NUMBER"] == "1"
    assert not set(SECRET_ENV) & set(seen)
    assert "leakcanary" not in out and "PRIVATE KEY" not in out
