"""The published reusable workflows call this project's actions by an immutable ref (issue 15).

``scripts/pin_release_refs.py`` cuts a release of catalog-ops: on a copy of this repository's
workflows and actions in a real git repository it pins every ``uses: acme/catalog-ops/...@v1``
to the released commit's SHA, commits and tags; only those bytes change, and zizmor (no config,
auditor persona) finds the result pinned without any ignore comment.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("pin_release_refs", ROOT / "scripts" / "pin_release_refs.py")
assert _spec and _spec.loader
pin = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pin)

OWN = "acme/catalog-ops/"


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def _release_repo(tmp_path: Path) -> tuple[Path, str]:
    repo = tmp_path / "catalog-ops"
    shutil.copytree(ROOT / ".github" / "workflows", repo / ".github" / "workflows")
    shutil.copytree(ROOT / "actions", repo / "actions")
    shutil.copy(ROOT / "action.yml", repo / "action.yml")
    _git(tmp_path, "init", "-q", "-b", "main", str(repo))
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "feat: everything")
    return repo, _git(repo, "rev-parse", "HEAD")


def test_release_pins_own_refs_to_the_released_commit(tmp_path: Path, monkeypatch) -> None:
    repo, released = _release_repo(tmp_path)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "rel")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "rel@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "rel")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "rel@example.com")
    assert pin.main(["--check", "--root", str(repo)]) == 1  # the development tree uses @v1
    assert pin.main(["--tag", "v1.4.0", "--root", str(repo), "--commit"]) == 0
    head = _git(repo, "rev-parse", "HEAD")
    assert _git(repo, "rev-parse", "HEAD^") == released
    assert _git(repo, "rev-parse", "v1.4.0^{commit}") == head
    # only workflow files changed, the actions the pinned refs name are the tag's own bytes
    assert set(_git(repo, "diff", "--name-only", released, head).splitlines()) == {
        f".github/workflows/{name}"
        for name in ("dependency-sweep.yml", "module-ci.yml", "release.yml", "rollout.yml")
    }
    assert _git(repo, "diff", released, head, "--", "actions", "action.yml") == ""
    pinned = 0
    for path in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        before = path.read_text().splitlines()
        after = (repo / ".github" / "workflows" / path.name).read_text().splitlines()
        assert len(before) == len(after)
        for old, new in zip(before, after, strict=True):
            if f"uses: {OWN}" not in old:
                assert old == new
                continue
            pinned += 1
            prefix = old.split("@", 1)[0]
            assert new == f"{prefix}@{released} # v1.4.0"
    assert pinned >= 20
    assert pin.main(["--check", "--root", str(repo)]) == 0
    proc = subprocess.run(
        [
            str(Path(sys.executable).with_name("zizmor")),
            "--persona",
            "auditor",
            "--no-config",
            "--offline",
            "--no-progress",
            "--format",
            "plain",
            str(repo / ".github" / "workflows"),
        ],
        capture_output=True,
        text=True,
    )
    assert "unpinned-uses" not in proc.stdout + proc.stderr, proc.stdout
    assert "No findings to report" in proc.stdout + proc.stderr


def test_pin_text_keeps_other_bytes_and_crlf() -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    text = (
        "jobs:\r\n  a:\r\n    steps:\r\n"
        "      - uses: acme/catalog-ops/actions/setup@v1 # zizmor: ignore[unpinned-uses] why\r\n"
        "      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1\r\n"
        "      - uses: acme/catalog-ops/actions/lint@v1\r\n"
        "  b:\r\n    uses: acme/catalog-ops/.github/workflows/module-ci.yml@main\r\n"
        "      - uses: other/catalog-ops/actions/setup@v1\r\n"
    )
    out, count = pin.pin_text(text, repo="acme/catalog-ops", sha=sha, tag="v2.0.0")
    assert count == 3
    assert out == (
        "jobs:\r\n  a:\r\n    steps:\r\n"
        f"      - uses: acme/catalog-ops/actions/setup@{sha} # v2.0.0\r\n"
        "      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1\r\n"
        f"      - uses: acme/catalog-ops/actions/lint@{sha} # v2.0.0\r\n"
        f"  b:\r\n    uses: acme/catalog-ops/.github/workflows/module-ci.yml@{sha} # v2.0.0\r\n"
        "      - uses: other/catalog-ops/actions/setup@v1\r\n"
    )
    assert pin.unpinned(out, repo="acme/catalog-ops") == []
    assert pin.unpinned(text, repo="acme/catalog-ops") == [
        "4: - uses: acme/catalog-ops/actions/setup@v1 # zizmor: ignore[unpinned-uses] why",
        "6: - uses: acme/catalog-ops/actions/lint@v1",
        "8: uses: acme/catalog-ops/.github/workflows/module-ci.yml@main",
    ]


def test_usage_errors(tmp_path: Path) -> None:
    repo, _ = _release_repo(tmp_path)
    assert pin.main(["--tag", "1.4", "--root", str(repo)]) == 2
    (repo / "dirty").write_text("x")
    assert pin.main(["--tag", "v1.4.0", "--root", str(repo), "--commit"]) == 2
    assert pin.main(["--tag", "v1.4.0", "--root", str(repo), "--sha", "abc"]) == 2
