"""Registry protocol client against a real local HTTP server, and git tag listing."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog_ops.sweep.registry import (
    RegistryClient,
    RegistryError,
    git_remote_tags,
    normalize_host,
    token_env_name,
    tokens_from_env,
)
from fixtures.gitrepo import GitRepo
from fixtures.sweep import TOKEN, RegistryServer


def client(server: RegistryServer, env: dict[str, str] | None = None, **kw: object) -> RegistryClient:
    return RegistryClient(env=env or {}, base_urls=server.base_urls, retries=1, backoff=0, **kw)  # type: ignore[arg-type]


def test_token_env_name_encoding() -> None:
    assert token_env_name("app.terraform.io") == "TF_TOKEN_app_terraform_io"
    assert token_env_name("my-registry.Example.com") == "TF_TOKEN_my__registry_example_com"
    assert token_env_name("café.fr") == "TF_TOKEN_xn____caf__dma_fr"
    assert normalize_host("Café.FR") == "xn--caf-dma.fr"


def test_tokens_from_env_decodes_like_terraform() -> None:
    env = {
        "TF_TOKEN_app_terraform_io": "a",
        "TF_TOKEN_my__registry_example_com": "b",
        "TF_TOKEN_xn--caf-dma_fr": "c",
        "TF_TOKEN_": "ignored",
        "OTHER": "x",
    }
    assert tokens_from_env(env) == {
        "app.terraform.io": "a",
        "my-registry.example.com": "b",
        "xn--caf-dma.fr": "c",
    }


def test_discovery_relative_and_absolute_service_urls(registry_server: RegistryServer) -> None:
    c = client(registry_server, {"TF_TOKEN_private_example_com": TOKEN})
    base = registry_server.base_url("registry.terraform.io")
    assert c.service_url("registry.terraform.io", "providers.v1") == base + "v1/providers/"
    assert c.service_url("registry.terraform.io", "modules.v1") == base + "v1/modules/"
    pbase = registry_server.base_url("private.example.com")
    assert c.service_url("private.example.com", "modules.v1") == pbase + "v1/modules/"
    # discovery is cached: one request per host
    assert registry_server.count("registry.terraform.io", "/.well-known/terraform.json") == 1


def test_provider_and_module_versions(registry_server: RegistryServer) -> None:
    c = client(registry_server)
    assert c.provider_versions("registry.terraform.io", "hashicorp", "null") == ["3.1.0", "3.2.0", "3.2.2"]
    assert c.module_versions("registry.terraform.io", "terraform-aws-modules", "vpc", "aws") == [
        "5.0.0",
        "5.1.2",
        "5.5.0",
        "6.0.0-rc1",
    ]


def test_token_sent_only_to_its_host(registry_server: RegistryServer) -> None:
    c = client(registry_server, {"TF_TOKEN_private_example_com": TOKEN})
    assert c.module_versions("private.example.com", "acme", "network", "aws") == ["2.0.0", "2.3.1", "3.0.0"]
    c.provider_versions("registry.terraform.io", "hashicorp", "null")
    auths = {(h, a) for h, _, a in registry_server.requests}
    assert ("private.example.com", f"Bearer {TOKEN}") in auths
    assert all(a is None for h, a in auths if h == "registry.terraform.io")


def test_missing_token_is_401_with_hint(registry_server: RegistryServer) -> None:
    c = client(registry_server)
    with pytest.raises(RegistryError) as exc:
        c.provider_versions("private.example.com", "acme", "internal")
    assert exc.value.status == 401
    assert "TF_TOKEN_private_example_com" in str(exc.value)
    assert TOKEN not in str(exc.value)


@pytest.mark.parametrize(
    ("name", "status", "text"),
    [("fivehundred", 503, "HTTP 503"), ("badjson", 200, "not valid JSON"), ("missing", 404, "HTTP 404")],
)
def test_errors_raise_registry_error(
    registry_server: RegistryServer, name: str, status: int, text: str
) -> None:
    c = client(registry_server)
    with pytest.raises(RegistryError) as exc:
        c.provider_versions("broken.example.com", "acme", name)
    assert exc.value.status == status
    assert text in str(exc.value)


def test_retries_are_bounded(registry_server: RegistryServer) -> None:
    c = RegistryClient(env={}, base_urls=registry_server.base_urls, retries=2, backoff=0)
    with pytest.raises(RegistryError):
        c.provider_versions("broken.example.com", "acme", "fivehundred")
    assert registry_server.count("broken.example.com", "/fivehundred/versions") == 3
    with pytest.raises(RegistryError):
        c.discover("down.example.com")
    assert registry_server.count("down.example.com", "/.well-known/terraform.json") == 3


def test_timeout_is_an_error(registry_server: RegistryServer) -> None:
    c = RegistryClient(env={}, base_urls=registry_server.base_urls, retries=0, backoff=0)
    c.discover("broken.example.com")  # cached; only the reply the server holds 2 s gets 0.3 s
    c.timeout = 0.3
    with pytest.raises(RegistryError, match="timed out"):
        c.provider_versions("broken.example.com", "acme", "slow")


def test_unknown_service(registry_server: RegistryServer) -> None:
    registry_server.data["nomod.example.com"] = {"discovery": "providers-only"}
    c = client(registry_server)
    with pytest.raises(RegistryError, match=r"does not offer modules\.v1"):
        c.module_versions("nomod.example.com", "a", "b", "c")


def test_git_remote_tags(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "mod")
    repo.commit("init", {"main.tf": ""})
    repo.tag("v1.0.0")
    repo.commit("two", {"main.tf": "# 2\n"})
    repo.tag("v1.1.0", "annotated")
    repo.tag("not-a-version")
    assert sorted(git_remote_tags(repo.url())) == ["not-a-version", "v1.0.0", "v1.1.0"]
    with pytest.raises(RegistryError, match="git ls-remote"):
        git_remote_tags((tmp_path / "nope").as_uri())
