"""Resolving available versions: each failing upstream marks only its own dependency unknown."""

from __future__ import annotations

from catalog_ops.sweep.collect import collect
from catalog_ops.sweep.config import SweepConfig
from catalog_ops.sweep.plan import plan
from catalog_ops.sweep.registry import RegistryClient
from catalog_ops.sweep.resolve import resolve
from fixtures.sweep import RegistryServer


def test_failing_upstreams_mark_only_their_dependency_unknown(registry_server: RegistryServer) -> None:
    providers = {
        "ok": "hashicorp/null",
        "a": "broken.example.com/acme/fivehundred",
        "b": "broken.example.com/acme/badjson",
        "c": "broken.example.com/acme/missing",
        "d": "broken.example.com/acme/slow",
        "e": "down.example.com/acme/x",
    }
    body = "".join(f'    {k} = {{ source = "{v}", version = "1.0.0" }}\n' for k, v in providers.items())
    files = {"versions.tf": ("terraform {\n  required_providers {\n" + body + "  }\n}\n").encode()}
    cfg = SweepConfig()
    deps, errors = collect(files, cfg)
    assert errors == []
    # Every request gets the client's default timeout except the one to the endpoint that never
    # answers in time (the server holds it 2 s): how loaded the machine is cannot turn a healthy
    # reply into a timeout, and the slow reply can only time out.
    normal = RegistryClient(env={}, base_urls=registry_server.base_urls, retries=0, backoff=0)
    short = RegistryClient(env={}, base_urls=registry_server.base_urls, retries=0, backoff=0)
    short.discover("broken.example.com")  # cached for the client's lifetime
    short.timeout = 0.5

    class Routed:
        def provider_versions(self, host: str, namespace: str, type_: str) -> list[str]:
            client = short if (host, type_) == ("broken.example.com", "slow") else normal
            return client.provider_versions(host, namespace, type_)

        def module_versions(self, host: str, namespace: str, name: str, system: str) -> list[str]:
            return normal.module_versions(host, namespace, name, system)

    available = resolve(deps, registry=Routed(), forge=None, git_tags=lambda url: [])
    results = {r.dependency.id: r for r in plan(deps, available, files, cfg)}
    assert results["registry.terraform.io/hashicorp/null"].new == ["3.2.2"]
    reasons = {
        k: (r.status.value, r.reason)
        for k, r in results.items()
        if k != "registry.terraform.io/hashicorp/null"
    }
    assert {k: v[0] for k, v in reasons.items()} == {
        "broken.example.com/acme/fivehundred": "unknown",
        "broken.example.com/acme/badjson": "unknown",
        "broken.example.com/acme/missing": "unknown",
        "broken.example.com/acme/slow": "unknown",
        "down.example.com/acme/x": "unknown",
    }
    assert "HTTP 404" in (reasons["broken.example.com/acme/missing"][1] or "")
    assert "timed out" in (reasons["broken.example.com/acme/slow"][1] or "")
    assert "not valid JSON" in (reasons["broken.example.com/acme/badjson"][1] or "")
    assert "HTTP 500" in (reasons["down.example.com/acme/x"][1] or "")
