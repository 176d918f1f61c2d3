"""A dependent's ``.terraform.lock.hcl`` (dependent teams write it) steers nothing but its own
lock update (issue 17, docs/security.md "Bounded work" and "Rendering untrusted text"):

- its ``h1:`` hashes only choose which of the mirror's packages of the locked version are
  hashed: at most one download per platform the mirror offers, however many hashes it lists;
- the entry written is computed from the mirror, never copied from the file;
- its text (a locked version with a mention or a comment delimiter) reaches the PR body only
  through the neutralising filters.
"""

from __future__ import annotations

from collections.abc import Mapping

from catalog_ops.catalog.config import DependentConfig
from catalog_ops.core.sources import ProviderAddress
from catalog_ops.lockfile import LOCK_HEADER, LockError, hash_h1
from catalog_ops.rollout.locks import Requirements, plan_locks
from catalog_ops.rollout.model import LockUpdate
from catalog_ops.rollout.planner import PlanOptions, plan_dependent
from catalog_ops.rollout.prtext import render_pr
from fixtures.provider_mirror import PROVIDER, package
from fixtures.rollout import ADDRESS, CATALOG, GIT, catalog_release, tf_module

PLATFORMS = ("darwin_arm64", "linux_amd64", "windows_amd64")
RELEASES = (
    catalog_release("v1.0.0", modules=["modules/network"]),
    catalog_release("v1.1.0", modules=["modules/network"]),
)


class CountingSource:
    """Serves generated packages of hashicorp/time and counts downloads."""

    def __init__(self) -> None:
        self.fetched: list[str] = []

    def versions(self, provider: ProviderAddress) -> list[str]:
        return ["0.14.1", "0.14.2"]

    def archives(self, provider: ProviderAddress, version: str) -> Mapping[str, str]:
        return {p: f"{version}/{p}" for p in PLATFORMS}

    def fetch(self, url: str) -> bytes:
        self.fetched.append(url)
        version, platform = url.split("/")
        return package(b"bin", version, platform)

    def signed_hashes(self, provider: ProviderAddress, version: str) -> tuple[str, ...]:
        return ()


class Catalog:
    def __init__(self, source: CountingSource) -> None:
        self._source = source

    def requirements(self, module: str, tag: str) -> Requirements:
        if tag != "v1.1.0":
            raise LockError("not needed")
        return {PROVIDER: (">= 0.14.2",)}

    def source(self) -> CountingSource:
        return self._source


def plan_for(lock: str, source: CountingSource) -> tuple[LockUpdate, ...]:
    files = {
        "main.tf": tf_module("net", f"{GIT}//modules/network?ref=v1.0.0").encode(),
        ".terraform.lock.hcl": lock.encode(),
    }
    opts = PlanOptions(
        catalog=CATALOG,
        catalog_address=ADDRESS,
        release=RELEASES[-1],
        releases=RELEASES,
        locks=lambda f, refs, bumps: plan_locks(f, refs, bumps, Catalog(source)),
    )
    return plan_dependent("acme/app", files, opts, default_branch="main", config=DependentConfig()).locks


def test_many_bogus_hashes_cost_one_download_per_platform() -> None:
    bogus = "".join(f'    "h1:{i:040d}=",\n' for i in range(5000))
    lock = LOCK_HEADER + f'\nprovider "{PROVIDER}" {{\n  version = "0.14.1"\n  hashes = [\n{bogus}  ]\n}}\n'
    source = CountingSource()
    (lk,) = plan_for(lock, source)
    assert lk.entry is None and "match no package" in (lk.reason or "")
    assert len(source.fetched) <= len(PLATFORMS)


def test_the_entry_is_computed_not_copied() -> None:
    real = hash_h1(package(b"bin", "0.14.1", "linux_amd64"))
    lock = LOCK_HEADER + (
        f'\nprovider "{PROVIDER}" {{\n  version = "0.14.1"\n  hashes = [\n    "{real}",\n'
        '    "zh:attacker-chosen",\n  ]\n}\n'
    )
    (lk,) = plan_for(lock, CountingSource())
    assert lk.entry is not None and "attacker-chosen" not in lk.entry
    assert hash_h1(package(b"bin", "0.14.2", "linux_amd64")) in lk.entry


def test_lock_text_is_neutralised_in_the_pr_body_and_never_a_url() -> None:
    from catalog_ops.rollout.model import Plan

    evil = "0.14.1 @acme/everyone <!-- x --> `y"
    lock = (
        LOCK_HEADER
        + f'\nprovider "{PROVIDER}" {{\n  version = "{evil}"\n  hashes = [\n    "h1:a=",\n  ]\n}}\n'
    )
    files = {
        "main.tf": tf_module("net", f"{GIT}//modules/network?ref=v1.0.0").encode(),
        ".terraform.lock.hcl": lock.encode(),
    }
    opts = PlanOptions(
        catalog=CATALOG,
        catalog_address=ADDRESS,
        release=RELEASES[-1],
        releases=RELEASES,
        locks=lambda f, refs, bumps: plan_locks(f, refs, bumps, Catalog(CountingSource())),
    )
    dep = plan_dependent("acme/app", files, opts, default_branch="main", config=DependentConfig())
    assert dep.locks and dep.locks[0].current == evil
    plan = Plan(
        catalog=CATALOG, catalog_address=ADDRESS, release=RELEASES[-1], releases=RELEASES, dependents=(dep,)
    )
    _, body = render_pr(plan, dep)
    assert "@acme/everyone" not in body and "<!-- x" not in body
    assert "is not a version" in (dep.locks[0].reason or "")  # and it never reached a mirror URL
