"""The sweep's ``git ls-remote`` of git module repositories gets the forge's token for the forge's
own host only (brief: private module repos on the same GitHub / GHES host failed).

The emulator serves its repositories over git's smart HTTP and answers 401 without a token
(``serve_git_http``), so a listed private repository proves git authenticated. A second emulator
on another port is "another host": it would accept the same token, so its ``git_log`` shows
whether the token was sent there.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from catalog_ops import cli, gitutil
from catalog_ops.forge.github import GitHubForge
from catalog_ops.sweep.registry import RegistryError, git_remote_tags
from emulator import GitHubEmulator


def _tagged_private_repo(emu: GitHubEmulator, full_name: str) -> None:
    """A private repository with tags v1.0.0 and v1.1.0 (on two commits of ``main``)."""
    repo = emu.create_repo(full_name, files={"main.tf": "# 1\n"}, private=True)
    first = emu.state.branch_sha(repo, "main")
    assert first is not None
    gitutil.update_ref(repo.path, "refs/tags/v1.0.0", first)
    second = emu.push(full_name, "main", {"main.tf": "# 2\n"})
    gitutil.update_ref(repo.path, "refs/tags/v1.1.0", second)


@pytest.fixture
def other_host(tmp_path: Path) -> Iterator[GitHubEmulator]:
    """Another git host (a second emulator on its own port) that accepts the same token."""
    other = GitHubEmulator(tmp_path / "other-host").start()
    other.serve_git_http()
    try:
        yield other
    finally:
        other.stop()


def _record_git(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every git subprocess gitutil starts: its argv and environment."""
    calls: list[dict[str, Any]] = []
    real = subprocess.run

    def run(cmd: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append({"argv": [str(c) for c in cmd], "env": dict(kwargs.get("env") or {})})
        return real(cmd, *args, **kwargs)

    monkeypatch.setattr(gitutil.subprocess, "run", run)
    return calls


def test_sweep_lists_private_module_tags_on_the_forge_host_and_sends_no_token_elsewhere(
    github_emulator: GitHubEmulator,
    other_host: GitHubEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emu = github_emulator
    emu.serve_git_http()
    _tagged_private_repo(emu, "acme/labels")
    _tagged_private_repo(other_host, "other/labels")
    own = f"{emu.base_url}/acme/labels.git"
    foreign = f"{other_host.base_url}/other/labels.git"
    main_tf = (
        f'module "labels" {{\n  source = "git::{own}?ref=v1.0.0"\n}}\n\n'
        f'module "foreign" {{\n  source = "git::{foreign}?ref=v1.0.0"\n}}\n'
    )
    emu.create_repo("acme/catalog", files={"main.tf": main_tf})
    token = emu.token
    for name in ("GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "GIT_CONFIG_COUNT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_TOKEN", token)
    monkeypatch.setenv("CATALOG_OPS_WRITE_INTERVAL", "0.001")
    calls = _record_git(monkeypatch)
    argv = ["--forge", "github", "--github-api-url", emu.api_url, "sweep", "--repo", "acme/catalog"]

    assert cli.main([*argv, "--dry-run", "--json"]) == 1  # the foreign repository stays unknown
    out = capsys.readouterr()
    deps = {d["id"]: d for d in json.loads(out.out)["dependencies"]}
    mine = deps["127.0.0.1/acme/labels"]  # module identities carry no port
    assert (mine["status"], mine["latest"], mine["new"]) == ("update", "1.1.0", ["v1.1.0"]), mine
    theirs = deps["127.0.0.1/other/labels"]
    assert theirs["status"] == "unknown"
    assert theirs["reason"].startswith(f"git ls-remote {foreign}: ")

    # the forge's host got the token as GitHub documents it; the other host never saw it
    assert ("/acme/labels.git/info/refs", "x-access-token", True) in emu.git_log
    assert other_host.git_log, "the foreign repository was not asked"
    assert {(user, ok) for _path, user, ok in other_host.git_log} == {("", False)}
    # never in argv, in a message or in the report; in the environment only as the header
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    ls_remotes = [c for c in calls if "ls-remote" in c["argv"]]
    assert len(ls_remotes) == 2
    for call in calls:
        assert not any(token in a or basic in a for a in call["argv"]), call["argv"]
    [to_own] = [c for c in ls_remotes if own in c["argv"]]
    [to_foreign] = [c for c in ls_remotes if foreign in c["argv"]]
    header = {k: v for k, v in to_own["env"].items() if v == f"Authorization: Basic {basic}"}
    assert len(header) == 1
    index = next(iter(header)).removeprefix("GIT_CONFIG_VALUE_")
    assert to_own["env"][f"GIT_CONFIG_KEY_{index}"] == f"http.{emu.base_url}/.extraHeader"
    assert not any(basic in v or token in v for v in to_foreign["env"].values() if v != token)
    assert token not in out.out + out.err and basic not in out.out + out.err


def test_forge_credentials_are_numbered_after_the_callers_git_config(
    github_emulator: GitHubEmulator,
) -> None:
    """A caller's own ``GIT_CONFIG_*`` entries (here a ``url.<base>.insteadOf`` rewrite, as the
    sweep tests and users' runners use) and the forge's header both reach git: the repository
    exists only under the rewritten path, and it is private."""
    emu = github_emulator
    emu.serve_git_http()
    _tagged_private_repo(emu, "acme/labels")
    forge = GitHubForge(api_url=emu.api_url, token=emu.token)
    env = {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"url.{emu.base_url}/acme/.insteadOf",
        "GIT_CONFIG_VALUE_0": f"{emu.base_url}/alias/",
    }
    alias = f"{emu.base_url}/alias/labels.git"  # exists only through the rewrite
    assert sorted(git_remote_tags(alias, env=env, auth=forge.git_auth_env)) == ["v1.0.0", "v1.1.0"]
    assert emu.git_log and all(path.startswith("/acme/labels.git/") for path, *_ in emu.git_log)
    # without the forge's credentials the private repository is refused (the bug)
    with pytest.raises(RegistryError, match=r"git ls-remote http://127\.0\.0\.1:\d+/alias/labels\.git: "):
        git_remote_tags(alias, env=env)


def test_ls_remote_failure_message_never_carries_the_token(github_emulator: GitHubEmulator) -> None:
    """Even when git itself prints the header (``GIT_CURL_VERBOSE`` with redaction off, as someone
    debugging would set it), the one-line error has the token scrubbed."""
    emu = github_emulator
    emu.serve_git_http()
    forge = GitHubForge(api_url=emu.api_url, token=emu.token)
    basic = base64.b64encode(f"x-access-token:{emu.token}".encode()).decode()
    env = {"GIT_CURL_VERBOSE": "1", "GIT_TRACE_REDACT": "0"}
    url = f"{emu.base_url}/acme/missing.git"
    with pytest.raises(RegistryError) as caught:
        git_remote_tags(url, env=env, auth=forge.git_auth_env)
    message = str(caught.value)
    assert emu.token not in message and basic not in message
    # git's verdict, not the trace before it
    assert (
        message == f"git ls-remote {url}: remote: Repository not found. fatal: repository '{url}/' not found"
    )


def test_ls_remote_failure_message_scrubs_the_header_git_printed(
    github_emulator: GitHubEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever git writes to stderr (here its curl trace of the request headers, as
    ``GIT_TRACE_CURL`` with ``GIT_TRACE_REDACT=0`` shows them) reaches the message scrubbed."""
    forge = GitHubForge(api_url=github_emulator.api_url, token=github_emulator.token)
    url = f"{github_emulator.base_url}/acme/labels.git"
    seen: dict[str, str] = {}

    def failing(url: str, *, env: dict[str, str], timeout: float) -> list[str]:
        seen.update(env)
        [header] = [v for k, v in env.items() if k.startswith("GIT_CONFIG_VALUE_") and v.startswith("Auth")]
        raise gitutil.GitError(
            ["ls-remote", url], 128, f"fatal: unable to access '{url}/': sent {header!r}, got 502\n"
        )

    monkeypatch.setattr("catalog_ops.sweep.registry.ls_remote_tags", failing)
    with pytest.raises(RegistryError) as caught:
        git_remote_tags(url, auth=forge.git_auth_env)
    basic = base64.b64encode(f"x-access-token:{github_emulator.token}".encode()).decode()
    assert f"Authorization: Basic {basic}" in seen.values()
    assert str(caught.value) == (
        f"git ls-remote {url}: fatal: unable to access '{url}/': sent 'Authorization: Basic ***', got 502"
    )


def test_append_git_config_renumbers_after_the_base() -> None:
    extra = gitutil.http_auth_env("https://ghe.example.com/acme/x.git", "x-access-token", "s3cr3t", base={})
    assert gitutil.append_git_config({}, {}) == {}
    assert gitutil.append_git_config({}, extra) == extra
    base = {"GIT_CONFIG_COUNT": "2", "GIT_CONFIG_KEY_0": "a.b", "GIT_CONFIG_KEY_1": "c.d"}
    merged = gitutil.append_git_config(base, {**extra, "GIT_TERMINAL_PROMPT": "0"})
    assert merged == {
        "GIT_CONFIG_COUNT": "5",
        "GIT_CONFIG_KEY_2": "http.https://ghe.example.com/.extraHeader",
        "GIT_CONFIG_VALUE_2": "",
        "GIT_CONFIG_KEY_3": "http.https://ghe.example.com/.extraHeader",
        "GIT_CONFIG_VALUE_3": extra["GIT_CONFIG_VALUE_1"],
        "GIT_CONFIG_KEY_4": "http.https://ghe.example.com/.followRedirects",
        "GIT_CONFIG_VALUE_4": "false",
        "GIT_TERMINAL_PROMPT": "0",
    }
    with pytest.raises(ValueError, match="GIT_CONFIG_COUNT"):
        gitutil.append_git_config({"GIT_CONFIG_COUNT": "x"}, extra)
    secrets = gitutil.header_secrets(extra)
    assert "s3cr3t" in secrets and "x-access-token:s3cr3t" in secrets
    basic = extra["GIT_CONFIG_VALUE_1"].split()[-1]
    assert gitutil.scrub(f"fatal: header {basic} for s3cr3t at https://u:p@h/x", secrets) == (
        "fatal: header *** for *** at https://***@h/x"
    )
