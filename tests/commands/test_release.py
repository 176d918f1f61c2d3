"""`catalog-ops release` as a new user meets it: messages, bad --ref, output into `| head`."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from catalog_ops import cli
from fixtures.release import Catalog


def _release(cat: Catalog, *args: str) -> int:
    return cli.main(
        ["--forge", "local", "--local-root", str(cat.forge.root), "release", "--repo", cat.repo, *args]
    )


def test_unknown_ref_is_a_usage_error_naming_ref_and_repo(
    release_catalog: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    release_catalog.commit("fix(s3): x", {"modules/s3/x.tf": "#\n"})
    assert _release(release_catalog, "--ref", "nosuch", "--dry-run") == 2
    err = capsys.readouterr().err
    assert "--ref 'nosuch': no such commit, tag or branch in acme/catalog" in err


def test_first_release_message_says_why(release_catalog: Catalog, capsys: pytest.CaptureFixture[str]) -> None:
    release_catalog.commit("fix(s3): x", {"modules/s3/x.tf": "#\n"})
    assert _release(release_catalog, "--dry-run") == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == "acme/catalog: first release: v0.0.1 (patch: 1 fix)"


def test_release_message_counts_the_changes(
    release_catalog: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    cat = release_catalog
    cat.tag("v1.2.0")
    cat.commit("feat(s3): a", {"modules/s3/a.tf": "#\n"})
    cat.commit("fix(vpc): b", {"modules/vpc/b.tf": "#\n"})
    cat.commit("feat(vpc): c", {"modules/vpc/c.tf": "#\n"})
    cat.commit("chore: d", {"README.md": "# d\n"})
    assert _release(cat, "--dry-run") == 0
    assert capsys.readouterr().out.splitlines()[0] == "acme/catalog: v1.2.0 -> v1.3.0 (minor: 2 feat, 1 fix)"
    assert _release(cat, "--dry-run", "--bump", "major") == 0
    assert (
        capsys.readouterr().out.splitlines()[0]
        == "acme/catalog: v1.2.0 -> v2.0.0 (major, forced by --bump major)"
    )


def _run_into_closed_pipe(argv: list[str]) -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m catalog_ops ARGV`` with stdout a pipe whose reader is already gone."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "catalog_ops", *argv],
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)


def test_release_into_closed_pipe_exits_quietly(release_catalog: Catalog) -> None:
    release_catalog.commit("feat(vpc): x", {"modules/vpc/x.tf": "#\n"})
    argv = ["--forge", "local", "--local-root", str(release_catalog.forge.root)]
    proc = _run_into_closed_pipe([*argv, "release", "--repo", "acme/catalog", "--dry-run"])
    assert proc.stderr == b""
    assert proc.returncode == cli.EXIT_BROKEN_PIPE == 141
    assert "v0.1.0" not in {t.name for t in release_catalog.forge.list_tags(release_catalog.repo)}


@pytest.mark.parametrize("argv", [["check", "--help"], ["tools", "list"]])
def test_any_command_into_closed_pipe_exits_quietly(argv: list[str]) -> None:
    proc = _run_into_closed_pipe(argv)
    assert proc.stderr == b""
    assert proc.returncode in (0, 141)  # argparse swallows its own write errors (then exits 0)
