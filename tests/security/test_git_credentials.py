"""The forge token reaches git through the environment only (issue 15, least privilege).

Before: ``GitHubForge.clone_url`` returned ``https://x-access-token:TOKEN@host/...``, so the token
sat in the argv of ``git clone`` and of its remote helper (readable in ``ps`` by every process of
the runner, Terratest included) and in the clone's ``.git/config`` (left on disk when a run is
killed). Now ``git_auth_env`` hands git an ``http.<url>.extraHeader`` through
``GIT_CONFIG_COUNT``/``KEY_n``/``VALUE_n``. The emulator serves git over smart HTTP and demands
the token (401 without it), so the release below proves the clone authenticated.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from catalog_ops import cli, gitutil
from catalog_ops.forge.github import GitHubForge
from fixtures.release import Catalog


def _record_git(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Wrap gitutil's one subprocess runner: record every git argv and, after each clone, every
    byte the clone left on disk."""
    calls: list[dict[str, Any]] = []
    real = subprocess.run

    def run(cmd: Any, *args: Any, **kwargs: Any) -> Any:
        proc = real(cmd, *args, **kwargs)
        entry: dict[str, Any] = {"argv": [str(c) for c in cmd], "files": b""}
        if "clone" in entry["argv"]:
            dest = Path(entry["argv"][-1])
            entry["files"] = b"".join(p.read_bytes() for p in sorted(dest.rglob("*")) if p.is_file())
            entry["config"] = (dest / ".git" / "config").read_text()
        calls.append(entry)
        return proc

    monkeypatch.setattr(gitutil.subprocess, "run", run)
    return calls


def test_release_clone_keeps_the_token_out_of_argv_and_git_config(
    github_release_catalog: Catalog,
    github_emulator: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    github_emulator.serve_git_http()
    cat = github_release_catalog
    cat.tag("v3.1.0")
    head = cat.commit("feat(eks): node pools", {"modules/eks/np.tf": "#\n"})
    calls = _record_git(monkeypatch)
    token = github_emulator.token
    monkeypatch.setenv("GITHUB_TOKEN", token)
    monkeypatch.setenv("CATALOG_OPS_WRITE_INTERVAL", "0.001")
    # a user's own git settings in the environment survive next to ours
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "core.quotePath")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "false")
    argv = ["--forge", "github", "--github-api-url", github_emulator.api_url, "release", "--repo", cat.repo]
    assert cli.main([*argv, "--no-checks-gate", "--json"]) == 0
    out = capsys.readouterr()
    [rel] = json.loads(out.out)["releases"]
    assert (rel["status"], rel["tag"], rel["commit"]) == ("released", "v3.2.0", head)
    # the history came over HTTP, authenticated as GitHub documents it, never anonymously
    assert github_emulator.git_log, "the release did not clone over HTTP"
    assert {(user, ok) for _path, user, ok in github_emulator.git_log} <= {
        ("x-access-token", True),
        ("", False),  # git's first, anonymous probe is answered 401 only if it sends no header
    }
    assert any(ok for *_rest, ok in github_emulator.git_log)
    clones = [c for c in calls if "clone" in c["argv"]]
    assert clones, "no git clone ran"
    for call in calls:
        assert not any(token in a for a in call["argv"]), call["argv"]
        assert token.encode() not in call["files"]
    for clone in clones:
        assert f"{github_emulator.base_url}/{cat.repo}.git" in clone["config"]  # origin: no credential


def test_auth_env_is_scoped_to_the_forge_host(github_emulator: Any) -> None:
    forge = GitHubForge(api_url=github_emulator.api_url, token=github_emulator.token)
    own = f"{github_emulator.base_url}/acme/catalog.git"
    env = forge.git_auth_env(own)
    assert env["GIT_CONFIG_COUNT"] == "3"
    assert env["GIT_CONFIG_VALUE_2"] == "false"  # followRedirects: a redirect never carries the token
    assert env["GIT_CONFIG_KEY_1"] == f"{github_emulator.base_url}/.extraHeader".join(["http.", ""])
    assert env["GIT_CONFIG_VALUE_0"] == ""  # resets a header actions/checkout may have persisted
    assert env["GIT_CONFIG_VALUE_1"].startswith("Authorization: Basic ")
    assert forge.git_auth_env("https://evil.example/acme/catalog.git") == {}
    assert forge.git_auth_env(f"http://127.0.0.1:{github_emulator.port + 1}/acme/catalog.git") == {}
    github = GitHubForge(api_url="https://api.github.com", token="t0ken")
    assert github.git_auth_env("https://github.com/acme/catalog.git")["GIT_CONFIG_KEY_0"] == (
        "http.https://github.com/.extraHeader"
    )
    assert github.git_auth_env("http://github.com/acme/catalog.git") == {}  # never in clear text
    assert github.clone_url.__doc__ and "no credentials" in github.clone_url.__doc__
