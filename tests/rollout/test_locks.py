"""Provider lock files kept in step by the rollout (issue 17, ``rollout.locks``).

Table cases on fakes (a package source serving generated packages, a catalog answering
requirements), then the real thing: ``terraform-provider-time`` built from the Go module proxy,
served from a provider network mirror on 127.0.0.1, a rollout through the local forge, and the
written lock file compared with what ``terraform providers lock`` writes for the same
configuration.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog_ops.catalog.config import DependentConfig
from catalog_ops.core.sources import ProviderAddress
from catalog_ops.forge.base import FileChange
from catalog_ops.lockfile import LOCK_HEADER, LockError, hash_h1, read_lock, render_entry
from catalog_ops.rollout.locks import (
    NO_MIRROR,
    LockSource,
    Requirements,
    apply_locks,
    module_requirements,
    plan_locks,
)
from catalog_ops.rollout.model import Action, LockUpdate, Plan
from catalog_ops.rollout.planner import PlanOptions, plan_dependent
from fixtures.provider_mirror import PROVIDER, Mirror, package, serve, terraform_lock
from fixtures.rollout import ADDRESS, CATALOG, GIT, RolloutWorld, catalog_release, dependent_of, tf_module

TIME = PROVIDER
CLOCK = "registry.terraform.io/hashicorp/clock"
RANDOM = "registry.terraform.io/hashicorp/random"
TOFU_TIME = "registry.opentofu.org/hashicorp/time"
PLATFORMS = ("darwin_arm64", "linux_amd64")


class FakeSource:
    """A package source serving generated packages of ``types`` x ``versions`` x platforms."""

    def __init__(self, versions: Sequence[str], types: Sequence[str] = ("time", "clock")) -> None:
        self.served = {
            f"{t}/{v}/{p}": package(f"bin-{t}".encode(), v, p, t)
            for t in types
            for v in versions
            for p in (*PLATFORMS, "windows_amd64")
        }
        self.types = types
        self.version_list = list(versions)

    def versions(self, provider: ProviderAddress) -> list[str]:
        if provider.type not in self.types:
            raise LockError(f"{provider}: 404")
        return self.version_list

    def archives(self, provider: ProviderAddress, version: str) -> Mapping[str, str]:
        if provider.type not in self.types:
            raise LockError(f"{provider}: 404")
        return {p: f"{provider.type}/{version}/{p}" for p in (*PLATFORMS, "windows_amd64")}

    def fetch(self, url: str) -> bytes:
        return self.served[url]

    def signed_hashes(self, provider: ProviderAddress, version: str) -> tuple[str, ...]:
        return ()

    def h1(self, type_: str, version: str, platforms: Sequence[str] = PLATFORMS) -> list[str]:
        return [hash_h1(self.served[f"{type_}/{version}/{p}"]) for p in platforms]


class FakeCatalog:
    """Requirements per (module, tag) and a package source (None: no mirror configured)."""

    def __init__(self, reqs: Mapping[tuple[str, str], Requirements], source: LockSource | None) -> None:
        self.reqs, self._source = reqs, source

    def requirements(self, module: str, tag: str) -> Requirements:
        if (module, tag) not in self.reqs:
            raise LockError(f"{module} at {tag}: not in the catalog")
        return self.reqs[(module, tag)]

    def source(self) -> LockSource | None:
        return self._source


SOURCE = FakeSource(["0.14.1", "0.14.2", "0.15.0-rc.1"])


def lock_file(*blocks: str) -> str:
    return LOCK_HEADER + "\n" + "\n\n".join(blocks) + "\n"


def time_entry(version: str, constraints: str | None, platforms: Sequence[str] = PLATFORMS) -> str:
    return render_entry(TIME, version, constraints, SOURCE.h1("time", version, platforms))


RANDOM_ENTRY = render_entry(RANDOM, "3.6.0", None, ["h1:abc="])
RELEASES = (
    catalog_release("v1.0.0", modules=["modules/network"]),
    catalog_release("v1.1.0", modules=["modules/network"]),
)
NEW_REQS: dict[tuple[str, str], Requirements] = {
    ("modules/network", "v1.0.0"): {TIME: ("0.14.1",)},
    ("modules/network", "v1.1.0"): {TIME: (">= 0.14.2",)},
}


def net(ref: str = "v1.0.0") -> str:
    return tf_module("net", f"{GIT}//modules/network?ref={ref}")


def plan_with(files: Mapping[str, str], catalog: FakeCatalog) -> tuple[dict[str, bytes], object]:
    data = {p: c.encode() for p, c in files.items()}
    opts = PlanOptions(
        catalog=CATALOG,
        catalog_address=ADDRESS,
        release=RELEASES[-1],
        releases=RELEASES,
        locks=lambda f, refs, bumps: plan_locks(f, refs, bumps, catalog),
    )
    dep = plan_dependent("acme/app", data, opts, default_branch="main", config=DependentConfig())
    return data, dep


@pytest.mark.parametrize(
    ("case", "files", "reqs", "source", "want"),
    [
        (
            "locked version outside the new constraint: moved to the newest admitted",
            {
                "main.tf": net(),
                ".terraform.lock.hcl": lock_file(RANDOM_ENTRY, time_entry("0.14.1", "0.14.1")),
            },
            NEW_REQS,
            SOURCE,
            {TIME: ("0.14.1", "0.14.2", time_entry("0.14.2", ">= 0.14.2"))},
        ),
        (
            "the dependent's own constraint joins the combined constraints (canonical order)",
            {
                "main.tf": net(),
                "versions.tf": 'terraform {\n  required_providers {\n    time = { source = "hashicorp/time", version = "~> 0.14" }\n  }\n}\n',
                ".terraform.lock.hcl": lock_file(time_entry("0.14.1", "0.14.1")),
            },
            NEW_REQS,
            SOURCE,
            {TIME: ("0.14.1", "0.14.2", time_entry("0.14.2", "~> 0.14, >= 0.14.2"))},
        ),
        (
            "locked version already admitted: lock file untouched",
            {"main.tf": net(), ".terraform.lock.hcl": lock_file(time_entry("0.14.2", "0.14.2"))},
            NEW_REQS,
            SOURCE,
            {},
        ),
        (
            "a provider new to the lock file: added for the platforms the file lists",
            {
                "main.tf": net(),
                ".terraform.lock.hcl": lock_file(RANDOM_ENTRY, time_entry("0.14.2", "0.14.2")),
            },
            {**NEW_REQS, ("modules/network", "v1.1.0"): {TIME: (">= 0.14.2",), CLOCK: ("~> 0.14.0",)}},
            SOURCE,
            {
                CLOCK: (
                    None,
                    "0.14.2",
                    render_entry(CLOCK, "0.14.2", "~> 0.14.0", SOURCE.h1("clock", "0.14.2")),
                )
            },
        ),
        (
            "a lock file OpenTofu wrote: providers without a host are registry.opentofu.org's",
            {
                "main.tf": net(),
                ".terraform.lock.hcl": lock_file(
                    render_entry(TOFU_TIME, "0.14.1", "0.14.1", SOURCE.h1("time", "0.14.1"))
                ),
            },
            NEW_REQS,
            SOURCE,
            {
                TOFU_TIME: (
                    "0.14.1",
                    "0.14.2",
                    render_entry(TOFU_TIME, "0.14.2", ">= 0.14.2", SOURCE.h1("time", "0.14.2")),
                )
            },
        ),
        (
            "only one platform listed: only its hash",
            {
                "main.tf": net(),
                ".terraform.lock.hcl": lock_file(time_entry("0.14.1", "0.14.1", ["linux_amd64"])),
            },
            NEW_REQS,
            SOURCE,
            {TIME: ("0.14.1", "0.14.2", time_entry("0.14.2", ">= 0.14.2", ["linux_amd64"]))},
        ),
        (
            "no mirror configured: the PR says which lock file needs terraform providers lock",
            {"main.tf": net(), ".terraform.lock.hcl": lock_file(time_entry("0.14.1", "0.14.1"))},
            NEW_REQS,
            None,
            {TIME: ("0.14.1", None, NO_MIRROR)},
        ),
        (
            "no version admits every constraint (pre-releases never chosen)",
            {"main.tf": net(), ".terraform.lock.hcl": lock_file(time_entry("0.14.1", "0.14.1"))},
            {**NEW_REQS, ("modules/network", "v1.1.0"): {TIME: (">= 0.15.0",)}},
            SOURCE,
            {TIME: ("0.14.1", None, "offers no version")},
        ),
        (
            "the mirror does not have the provider",
            {"main.tf": net(), ".terraform.lock.hcl": lock_file(time_entry("0.14.2", "0.14.2"))},
            {**NEW_REQS, ("modules/network", "v1.1.0"): {"registry.terraform.io/acme/thing": ("1.0.0",)}},
            SOURCE,
            {"registry.terraform.io/acme/thing": (None, None, "404")},
        ),
        (
            "the lock file's platforms cannot be told: reported, not guessed",
            {"main.tf": net(), ".terraform.lock.hcl": lock_file(RANDOM_ENTRY)},
            NEW_REQS,
            SOURCE,
            {TIME: (None, None, "platforms the lock file lists could not be told")},
        ),
        (
            "no lock file in the directory: nothing to do",
            {"main.tf": net(), "other/.terraform.lock.hcl": lock_file(time_entry("0.14.1", "0.14.1"))},
            NEW_REQS,
            SOURCE,
            {},
        ),
    ],
)
def test_plan_locks(
    case: str,
    files: Mapping[str, str],
    reqs: Mapping[tuple[str, str], Requirements],
    source: LockSource | None,
    want: Mapping[str, tuple[str | None, str | None, str]],
) -> None:
    data, dep = plan_with(files, FakeCatalog(reqs, source))
    assert dep.action is Action.OPEN, case  # type: ignore[attr-defined]
    locks = {lk.provider: lk for lk in dep.locks}  # type: ignore[attr-defined]
    assert set(locks) == set(want), case
    for provider, (current, version, detail) in want.items():
        lk = locks[provider]
        assert (lk.current, lk.version) == (current, version), case
        if version is not None:
            assert lk.entry == detail and lk.reason is None, case
            assert lk.path in dep.files and lk.path in dep.inputs  # type: ignore[attr-defined]
        else:
            assert lk.entry is None and detail in (lk.reason or ""), (case, lk.reason)
    changed = apply_locks(data, dep.locks)  # type: ignore[attr-defined]
    for provider, (_, version, detail) in want.items():
        if version is not None:
            text = changed[locks[provider].path].decode()
            (entry,) = [e for e in read_lock(text) if e.address == provider]
            assert text[entry.span[0] : entry.span[1]] == detail
            # every other block byte-identical, the file ends as Terraform ends it
            others = [e for e in read_lock(data[locks[provider].path].decode()) if e.address != provider]
            for e in others:
                assert data[locks[provider].path].decode()[e.span[0] : e.span[1]] in text
            assert text.startswith(LOCK_HEADER) and text.endswith("}\n")
    if not any(v for _, v, _ in want.values()):
        assert changed == {}
    # Twice is once: applying the plan to its own result changes nothing.
    assert apply_locks({**data, **changed}, dep.locks) == {}  # type: ignore[attr-defined]


def test_a_terragrunt_unit_keeps_its_lock_file_in_the_unit_dir() -> None:
    unit = f'terraform {{\n  source = "{GIT}//modules/network?ref=v1.0.0"\n}}\n'
    files = {
        "live/prod/net/terragrunt.hcl": unit,
        "live/prod/net/.terraform.lock.hcl": lock_file(time_entry("0.14.1", "0.14.1")),
    }
    _, dep = plan_with(files, FakeCatalog(NEW_REQS, SOURCE))
    (lk,) = dep.locks  # type: ignore[attr-defined]
    assert (lk.path, lk.version) == ("live/prod/net/.terraform.lock.hcl", "0.14.2")
    assert set(dep.files) == {"live/prod/net/terragrunt.hcl", "live/prod/net/.terraform.lock.hcl"}  # type: ignore[attr-defined]


def test_a_catalog_that_cannot_be_read_is_reported_for_the_lock_file() -> None:
    files = {"main.tf": net(), ".terraform.lock.hcl": lock_file(time_entry("0.14.1", "0.14.1"))}
    _, dep = plan_with(files, FakeCatalog({}, SOURCE))
    (lk,) = dep.locks  # type: ignore[attr-defined]
    assert lk.entry is None and "modules/network at v1.1.0" in (lk.reason or "")


@pytest.mark.parametrize(
    ("case", "tree", "want"),
    [
        (
            "required_providers of the module and of a local module it calls",
            {
                "modules/net/main.tf": 'module "sub" {\n  source = "./sub"\n}\n'
                'terraform {\n  required_providers {\n    time = { source = "hashicorp/time", version = ">= 0.14.2" }\n  }\n}\n',
                "modules/net/sub/versions.tf": 'terraform {\n  required_providers {\n    clock = { source = "hashicorp/clock", version = "~> 0.14.0" }\n    time = { source = "hashicorp/time", version = "< 1.0.0" }\n  }\n}\n',
            },
            {CLOCK: ("~> 0.14.0",), TIME: (">= 0.14.2", "< 1.0.0")},
        ),
        (
            "an override file's version wins (Terraform override files)",
            {
                "modules/net/versions.tf": 'terraform {\n  required_providers {\n    time = { source = "hashicorp/time", version = "0.14.1" }\n  }\n}\n',
                "modules/net/override.tf": 'terraform {\n  required_providers {\n    time = { source = "hashicorp/time", version = "0.14.2" }\n  }\n}\n',
            },
            {TIME: ("0.14.2",)},
        ),
        (
            "a provider without a version constraint is still required; a sibling module is not read",
            {
                "modules/net/versions.tf": 'terraform {\n  required_providers {\n    time = { source = "hashicorp/time" }\n  }\n}\n',
                "modules/other/versions.tf": 'terraform {\n  required_providers {\n    clock = { source = "hashicorp/clock", version = "1.0.0" }\n  }\n}\n',
            },
            {TIME: ()},
        ),
        (
            "a local path leaving the catalog is not followed; cycles end",
            {
                "modules/net/main.tf": 'module "up" {\n  source = "../../../elsewhere"\n}\nmodule "me" {\n  source = "./"\n}\n'
                'terraform {\n  required_providers {\n    time = { source = "hashicorp/time", version = "0.14.2" }\n  }\n}\n',
            },
            {TIME: ("0.14.2",)},
        ),
    ],
)
def test_module_requirements(case: str, tree: Mapping[str, str], want: Requirements) -> None:
    def read(d: str) -> dict[str, bytes]:
        return {p: c.encode() for p, c in tree.items() if p.rsplit("/", 1)[0] == d}

    assert dict(module_requirements(read, "modules/net")) == dict(want), case


# --------------------------------------------------------------------------- the real thing
TF_PLATFORMS = ["darwin_arm64", "linux_amd64"]


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mirror]:
    gen = serve(
        tmp_path_factory.mktemp("mirror"),
        ["0.14.1", "0.14.2"],
        [*TF_PLATFORMS, "windows_amd64"],
        ("time", "clock"),
        ("registry.terraform.io", "registry.opentofu.org"),
    )
    yield next(gen)
    gen.close()


def required(**providers: str) -> str:
    lines = "".join(
        f'    {n} = {{ source = "hashicorp/{n}", version = "{v}" }}\n' for n, v in providers.items()
    )
    return "terraform {\n  required_providers {\n" + lines + "  }\n}\n"


V100 = required(time="0.14.1")
V110 = required(time=">= 0.14.2, < 1", clock="~> 0.14")  # not canonical: terraform normalises


def release_with(w: RolloutWorld, tag: str, versions_tf: str) -> None:
    parent = w.forge.branch_sha(CATALOG, "main") or ""
    sha = w.forge.commit_files(
        CATALOG,
        "main",
        parent_sha=parent,
        message=f"feat(network): providers for {tag}",
        changes=[FileChange("modules/network/versions.tf", versions_tf.encode())],
    )
    w.forge.create_tag(CATALOG, name=tag, sha=sha, message=tag)
    w.forge.create_release(CATALOG, tag=tag, name=tag, body=f"Release {tag}\n")


def terraform_lock_for(
    tmp: Path, versions_tf: str, lock: str, mirror: Mirror, name: str, binary: str = "terraform"
) -> str:
    """What terraform (or tofu) writes: the dependent's configuration with the module as a local copy."""
    work, home = tmp / name, tmp / f"{name}-home"
    (work / "net").mkdir(parents=True)
    home.mkdir()
    (work / "main.tf").write_text('module "net" {\n  source = "./net"\n}\n')
    (work / "net" / "versions.tf").write_text(versions_tf)
    (work / ".terraform.lock.hcl").write_text(lock)
    return terraform_lock(work, mirror, TF_PLATFORMS, home, modules=True, binary=binary)


@pytest.mark.parametrize(
    ("binary", "host"), [("terraform", "registry.terraform.io"), ("tofu", "registry.opentofu.org")]
)
def test_rollout_writes_the_lock_file_terraform_writes(
    rollout_world: RolloutWorld,
    mirror: Mirror,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    binary: str,
    host: str,
) -> None:
    w = rollout_world
    time_, clock, random_ = (f"{host}/hashicorp/{t}" for t in ("time", "clock", "random"))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(mirror.ca))
    w.push(CATALOG, {".catalog-ops.yml": f"sweep:\n  provider_mirror: {mirror.url}\n"})
    release_with(w, "v1.0.0", V100)
    # The dependent as terraform / tofu left it on v1.0.0: time 0.14.1 locked for two platforms,
    # plus an entry of a provider the rollout does not touch.
    random = render_entry(random_, "3.6.0", None, ["h1:abc="])
    old_lock = terraform_lock_for(tmp_path, V100, lock_file(random), mirror, "old", binary)
    assert 'version     = "0.14.1"' in old_lock and f'provider "{time_}"' in old_lock
    w.dependent("app", {"main.tf": net(), ".terraform.lock.hcl": old_lock})
    w.dependent(
        "units",
        {
            "live/net/terragrunt.hcl": f'terraform {{\n  source = "{GIT}//modules/network?ref=v1.0.0"\n}}\n',
            "live/net/.terraform.lock.hcl": old_lock,
        },
    )
    release_with(w, "v1.1.0", V110)

    plan = Plan.from_json(w.plan().to_json())  # through the plan document, as apply reads it
    for repo, lock_path in (
        ("acme/app", ".terraform.lock.hcl"),
        ("acme/units", "live/net/.terraform.lock.hcl"),
    ):
        dep = dependent_of(plan, repo)
        assert dep.action is Action.OPEN and lock_path in dep.files, (repo, dep.reason, dep.locks)
    report = w.apply(plan)
    assert {o.kind.value for o in report.outcomes if o.subject.startswith("acme/")} == {"opened"}

    # terraform, on the new configuration, from the old lock file without the time entry (it
    # refuses a locked version outside the constraints; `init -upgrade` drops it first)
    entry = next(e for e in read_lock(old_lock) if e.address == time_)
    expected = terraform_lock_for(
        tmp_path, V110, old_lock[: entry.span[0]].rstrip("\n") + "\n", mirror, "new", binary
    )
    assert f'provider "{clock}"' in expected
    branch = plan.branch
    assert w.read("acme/app", ".terraform.lock.hcl", branch) == expected
    assert w.read("acme/units", "live/net/.terraform.lock.hcl", branch) == expected
    # unchanged entries byte-identical; one commit holds the ref and the lock file
    written = w.read("acme/app", ".terraform.lock.hcl", branch)
    assert random in written and written.index(clock) < written.index(random) < written.index(f'"{time_}"')
    assert "?ref=v1.1.0" in w.read("acme/app", "main.tf", branch)
    pr = w.forge.find_open_pull("acme/app", branch)
    assert pr is not None and "provider lock entries" in (pr.body or "")
    assert f"`{clock}`" in (pr.body or "")

    # A rerun converges: nothing new to write.
    again = w.apply(Plan.from_json(w.plan().to_json()))
    assert {o.kind.value for o in again.outcomes if o.subject.startswith("acme/")} == {"up_to_date"}


def test_without_a_mirror_the_pr_names_the_lock_file(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    release_with(w, "v1.0.0", V100)
    lock = lock_file(time_entry("0.14.1", "0.14.1"))
    w.dependent("app", {"stack/main.tf": net(), "stack/.terraform.lock.hcl": lock})
    release_with(w, "v1.1.0", V110)
    plan = w.plan()
    dep = dependent_of(plan, "acme/app")
    assert dep.action is Action.OPEN and "stack/.terraform.lock.hcl" not in dep.files
    assert {lk.provider for lk in dep.locks} == {TIME, CLOCK} and all(
        lk.reason == NO_MIRROR for lk in dep.locks
    )
    w.apply(plan)
    pr = w.forge.find_open_pull("acme/app", plan.branch)
    assert pr is not None
    assert "**Lock files not updated.** Run `terraform providers lock`" in pr.body
    assert (
        "`stack` (`stack/.terraform.lock.hcl`, `registry.terraform.io/hashicorp/time`): no provider mirror"
        in pr.body
    )
    assert w.read("acme/app", "stack/.terraform.lock.hcl", plan.branch) == lock


# --------------------------------------------------------------------------- properties
POOL = [
    f"registry.terraform.io/{ns}/{t}" for ns in ("acme", "hashicorp") for t in ("aws", "clock", "time", "zz")
]
hash_lists = st.lists(st.sampled_from(["h1:a=", "h1:b=", "zh:00", "zh:ff"]), min_size=1, max_size=3)
versions_st = st.sampled_from(["0.1.0", "1.2.3", "2.0.0"])


@settings(max_examples=80, deadline=None)
@given(
    present=st.lists(st.sampled_from(POOL), unique=True, max_size=4),
    provider=st.sampled_from(POOL),
    version=versions_st,
    hashes=hash_lists,
    constraints=st.sampled_from([None, ">= 0.1.0", "~> 1.2"]),
    old_hashes=hash_lists,
)
def test_lock_edits_byte_exact_and_idempotent(
    present: list[str],
    provider: str,
    version: str,
    hashes: list[str],
    constraints: str | None,
    old_hashes: list[str],
) -> None:
    blocks = [render_entry(a, "0.0.1", None, old_hashes) for a in sorted(present)]
    text = lock_file(*blocks) if blocks else ""
    entry = render_entry(provider, version, constraints, hashes)
    lk = LockUpdate(path=".terraform.lock.hcl", provider=provider, version=version, entry=entry)
    files = {".terraform.lock.hcl": text.encode()}
    changed = apply_locks(files, [lk])
    new = changed.get(".terraform.lock.hcl", files[".terraform.lock.hcl"]).decode()
    entries = read_lock(new)
    assert [e.address for e in entries] == sorted({*present, provider})  # Terraform's order
    for e in entries:
        block = new[e.span[0] : e.span[1]]
        if e.address == provider:
            assert block == entry
        else:
            assert block in blocks  # every other block byte-identical
    assert new.startswith(LOCK_HEADER) and new.endswith("}\n") and "\n\n\n" not in new
    assert apply_locks({".terraform.lock.hcl": new.encode()}, [lk]) == {}  # twice is once


def test_a_bad_catalog_config_is_named_in_the_pr(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.push(CATALOG, {".catalog-ops.yml": "sweep:\n  provider_mirorr: https://x/\n"})
    release_with(w, "v1.0.0", V100)
    w.dependent("app", {"main.tf": net(), ".terraform.lock.hcl": lock_file(time_entry("0.14.1", "0.14.1"))})
    release_with(w, "v1.1.0", V110)
    dep = dependent_of(w.plan(), "acme/app")
    assert dep.action is Action.OPEN and dep.locks
    for lk in dep.locks:
        assert lk.entry is None and "acme/infrastructure-modules:.catalog-ops.yml:2:" in (lk.reason or ""), lk


def test_batched_plan_on_github_reads_lock_files(github_emulator: Any) -> None:
    # GitHub's batched reads (forge.github.batch) fetch lock files beside the candidate files;
    # the module's requirements come from a clone of the catalog over git (with the forge's auth).
    from catalog_ops.fanout.dependents import DependentSelection
    from catalog_ops.forge.github import GitHubForge
    from catalog_ops.rollout.gather import build_plan

    emu = github_emulator
    emu.create_repo(CATALOG, files={"modules/network/versions.tf": V100.encode()})
    forge = GitHubForge(api_url=emu.api_url, token=emu.token, write_interval=0.0)
    for tag in ("v1.0.0", "v1.1.0"):
        if tag == "v1.1.0":
            emu.push(CATALOG, "main", {"modules/network/versions.tf": V110}, message="feat: providers")
        sha = forge.branch_sha(CATALOG, "main")
        assert sha
        forge.create_tag(CATALOG, name=tag, sha=sha, message=tag)
        forge.create_release(CATALOG, tag=tag, name=tag, body=f"{tag}\n")
    lock = lock_file(time_entry("0.14.1", "0.14.1"))
    emu.create_repo(
        "acme/app", files={"live/main.tf": net().encode(), "live/.terraform.lock.hcl": lock.encode()}
    )
    plan = build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme"))
    dep = dependent_of(plan, "acme/app")
    assert dep.action is Action.OPEN
    assert {(lk.path, lk.provider, lk.current, lk.reason) for lk in dep.locks} == {
        ("live/.terraform.lock.hcl", TIME, "0.14.1", NO_MIRROR),
        ("live/.terraform.lock.hcl", CLOCK, None, NO_MIRROR),
    }
