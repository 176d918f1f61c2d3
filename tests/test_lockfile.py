"""``.terraform.lock.hcl`` kept in step by the sweep, checked against Terraform itself (issue 17).

A real provider (``terraform-provider-time``, built from the Go module proxy into the tools cache)
is served from a provider network mirror on 127.0.0.1; ``terraform providers lock`` computes the
expected lock file from the same mirror.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from catalog_ops.core.sources import parse_provider_address
from catalog_ops.core.versions import parse_version
from catalog_ops.lockfile import (
    MirrorSource,
    hash_h1,
    hash_zh,
    lock_constraints,
    plan_lock,
    read_lock,
    render_entry,
)
from catalog_ops.sweep.collect import collect
from catalog_ops.sweep.config import SweepConfig
from catalog_ops.sweep.model import Available
from catalog_ops.sweep.plan import group, plan
from fixtures.provider_mirror import PROVIDER, Mirror, package, serve, terraform_lock


def avail(*versions: str) -> Available:
    return Available(versions=tuple(v for v in (parse_version(x) for x in versions) if v is not None))


PLATFORMS = ["darwin_arm64", "linux_amd64"]  # the lock file's platforms (windows is served, not listed)
RANDOM = (
    '# This file is maintained automatically by "terraform init".\n'
    "# Manual edits may be lost in future updates.\n\n"
    'provider "registry.terraform.io/hashicorp/random" {\n  version = "3.6.0"\n  hashes = [\n    "h1:abc=",\n  ]\n}\n'
)


def versions_tf(constraint: str) -> str:
    return (
        'terraform {\n  required_providers {\n    time = { source = "hashicorp/time", version = "'
        + constraint
        + '" }\n  }\n}\n'
    )


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mirror]:
    gen = serve(tmp_path_factory.mktemp("mirror"), ["0.14.1", "0.14.2"], [*PLATFORMS, "windows_amd64"])
    yield next(gen)
    gen.close()


def session_for(mirror: Mirror) -> requests.Session:
    s = requests.Session()
    s.verify = str(mirror.ca)
    return s


def test_hashes_match_terraform_for_a_real_provider(mirror: Mirror, tmp_path: Path) -> None:
    work, home = tmp_path / "w", tmp_path / "home"
    work.mkdir(), home.mkdir()
    (work / "versions.tf").write_text(versions_tf("0.14.2"))
    (work / ".terraform.lock.hcl").write_text(RANDOM)
    written = terraform_lock(work, mirror, PLATFORMS, home)
    (entry,) = [e for e in read_lock(written) if e.address == PROVIDER]
    ours = {hash_h1(mirror.served[f"/{PROVIDER}/terraform-provider-time_0.14.2_{p}.zip"]) for p in PLATFORMS}
    assert set(entry.hashes) == ours and len(ours) == 2
    assert written[entry.span[0] : entry.span[1]] == render_entry(PROVIDER, "0.14.2", "0.14.2", ours)


def test_sweep_moves_the_lock_file_as_terraform_would(mirror: Mirror, tmp_path: Path) -> None:
    # The dependent's state: a pin at 0.14.1 locked by terraform for two platforms.
    work, home = tmp_path / "w", tmp_path / "home"
    work.mkdir(), home.mkdir()
    (work / "versions.tf").write_text(versions_tf("0.14.1"))
    (work / ".terraform.lock.hcl").write_text(RANDOM)
    old_lock = terraform_lock(work, mirror, PLATFORMS, home)
    files = {
        "stack/versions.tf": versions_tf("0.14.1").encode(),
        "stack/.terraform.lock.hcl": old_lock.encode(),
        "nolock/versions.tf": versions_tf("0.14.1").encode(),
    }
    cfg = SweepConfig()
    deps, errors = collect(files, cfg)
    assert errors == []
    source = MirrorSource(mirror.url, session=session_for(mirror))
    results = plan(deps, {f"{PROVIDER}": avail("0.14.1", "0.14.2")}, files, cfg, source)
    (pr,) = group(results, SweepConfig(grouping="single"))
    changed = pr.changes(files)
    assert set(changed) == {"stack/versions.tf", "stack/.terraform.lock.hcl", "nolock/versions.tf"}
    # What terraform writes for the new constraint, the same platforms (the old entry dropped, as
    # `terraform init -upgrade` would before `providers lock`; terraform refuses a locked version
    # outside the constraint).
    (work / "versions.tf").write_text(changed["stack/versions.tf"].decode())
    entry = next(e for e in read_lock(old_lock) if e.address == PROVIDER)
    (work / ".terraform.lock.hcl").write_text(old_lock[: entry.span[0]].rstrip("\n") + "\n")
    expected = terraform_lock(work, mirror, PLATFORMS, home)
    assert changed["stack/.terraform.lock.hcl"].decode() == expected
    # Unchanged entries byte-identical; only the time entry moved.
    assert changed["stack/.terraform.lock.hcl"].decode().startswith(RANDOM)
    # Twice is once: the new state plans no lock change.
    again = {**files, **changed}
    deps2, _ = collect(again, cfg)
    results2 = plan(deps2, {f"{PROVIDER}": avail("0.14.1", "0.14.2")}, again, cfg, source)
    assert all(not r.edits for r in results2)


def test_without_a_mirror_the_lock_file_is_reported_not_guessed() -> None:
    files = {
        "versions.tf": versions_tf("0.14.1").encode(),
        ".terraform.lock.hcl": (
            RANDOM + '\nprovider "registry.terraform.io/hashicorp/time" {\n  version = "0.14.1"\n}\n'
        ).encode(),
    }
    deps, _ = collect(files, SweepConfig())
    (result,) = plan(deps, {PROVIDER: avail("0.14.1", "0.14.2")}, files, SweepConfig())
    assert set(result.edits) == {"versions.tf"}
    assert any("sweep.provider_mirror" in s for s in result.dependency.skipped)


@pytest.mark.parametrize(
    ("case", "lock", "note"),
    [
        (
            "unknown hash",
            'provider "{p}" {{\n  version = "0.14.1"\n  hashes = [\n    "h1:nope=",\n  ]\n}}\n',
            "match no package",
        ),
        (
            "no h1 hashes",
            'provider "{p}" {{\n  version = "0.14.1"\n  hashes = [\n    "zh:00",\n  ]\n}}\n',
            "no h1",
        ),
        ("not a lock file", 'provider "{p}" {{\n', "not a valid lock file"),
    ],
)
def test_lock_entries_that_cannot_be_recomputed_stay(mirror: Mirror, case: str, lock: str, note: str) -> None:
    text = lock.format(p=PROVIDER)
    provider = parse_provider_address("hashicorp/time")
    assert provider is not None
    source = MirrorSource(mirror.url, session=session_for(mirror))
    decided = plan_lock(".terraform.lock.hcl", text, provider, "0.14.2", "0.14.2", source)
    assert decided.edit is None, case
    assert any(note in n for n in decided.notes), (case, decided.notes)


def test_hash_schemes() -> None:
    pkg = package(b"binary", "1.0.0", "linux_amd64")
    assert re.fullmatch(r"h1:[A-Za-z0-9+/]{43}=", hash_h1(pkg))
    assert re.fullmatch(r"zh:[0-9a-f]{64}", hash_zh(pkg))
    assert hash_h1(pkg) != hash_h1(package(b"binary", "1.0.0", "darwin_arm64"))


# The `constraints` value of a lock entry is Terraform's canonical form
# (getproviders.VersionConstraintsString; the cases of its own table test). Before, the sweep
# wrote the constraint as written (`>= 3`, where terraform writes `>= 3.0.0`).
@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("1.2.3", "1.2.3"),
        ("1.2.3-beta", "1.2.3-beta"),
        (">= 3", ">= 3.0.0"),
        ("~> 3", "~> 3.0"),
        ("~> 3.0", "~> 3.0"),
        ("~> 3.0.0", "~> 3.0.0"),
        ("> 1.0.0, < 1.0.0, >= 1.0.0, <= 1.0.0, != 1.0.0", "> 1.0.0, >= 1.0.0, <= 1.0.0, < 1.0.0, != 1.0.0"),
        (">= 3.0, < 4.0", ">= 3.0.0, < 4.0.0"),
        (">= 1.2.3, 1.2.3, ~> 1.2, 1.2.3", "~> 1.2, >= 1.2.3, 1.2.3"),
        (">= 2.68, >= 2.68.0", ">= 2.68.0"),
        ("~> 1.2, >= 1.2, 1.2.4", ">= 1.2.0, ~> 1.2, 1.2.4"),
        (">= 2, >= 1.2, < 1.3", ">= 1.2.0, < 1.3.0, >= 2.0.0"),
        (
            "< 1.2.3, <= 1.2.3, != 1.2.3, = 1.2.4, = 1.2.3, > 2, > 1.2.3, >= 1.2.3, ~> 1.2.3, ~> 1.2",
            "~> 1.2, > 1.2.3, >= 1.2.3, 1.2.3, ~> 1.2.3, <= 1.2.3, < 1.2.3, != 1.2.3, 1.2.4, > 2.0.0",
        ),
    ],
)
def test_lock_constraints_canonical_form(written: str, canonical: str) -> None:
    assert lock_constraints([written]) == canonical
    assert lock_constraints(written.split(",")) == canonical  # one declaration or several


def test_sweep_writes_canonical_lock_constraints() -> None:
    packages = {(v, p): package(b"bin", v, p) for v in ("0.14.1", "0.15.0") for p in PLATFORMS}

    class Source:
        def archives(self, provider: object, version: str) -> dict[str, str]:
            return {p: f"{version}/{p}" for p in PLATFORMS}

        def fetch(self, url: str) -> bytes:
            version, platform = url.split("/")
            return packages[(version, platform)]

        def signed_hashes(self, provider: object, version: str) -> tuple[str, ...]:
            return ()

    old = [hash_h1(packages[("0.14.1", p)]) for p in PLATFORMS]
    lock = RANDOM + "\n" + render_entry(PROVIDER, "0.14.1", ">= 0.14.0, < 0.15.0", old) + "\n"
    files = {"versions.tf": versions_tf(">= 0.14, < 0.15").encode(), ".terraform.lock.hcl": lock.encode()}
    deps, _ = collect(files, SweepConfig())
    (result,) = plan(deps, {PROVIDER: avail("0.14.1", "0.15.0")}, files, SweepConfig(), Source())  # type: ignore[arg-type]
    (pr,) = group([result], SweepConfig(grouping="single"))
    text = pr.changes(files)[".terraform.lock.hcl"].decode()
    new = [hash_h1(packages[("0.15.0", p)]) for p in PLATFORMS]
    assert text == RANDOM + "\n" + render_entry(PROVIDER, "0.15.0", ">= 0.14.0, < 0.16.0", new) + "\n"
