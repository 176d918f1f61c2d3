"""Failures that used to end in a Python traceback (issue 15) are one line naming the cause, with
the documented exit code: a TLS error or an HTML answer from a wrong API URL (3), an invalid
token on ``check report`` (3, not a warning with exit 0), a non-UTF-8 plan file (2)."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from catalog_ops.forge.base import FileChange

EXE = str(Path(sys.executable).with_name("catalog-ops"))


def cli(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run([EXE, *args], env={**base, **env}, capture_output=True, text=True, timeout=120)


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("catalog-ops: error: "), proc.stderr
    return lines[0]


@pytest.fixture
def html_server() -> Iterator[str]:
    """A web server answering every request with an HTML page (a sign-in page, a web UI)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            page = b"<!DOCTYPE html><html><body>Sign in to GitHub</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_html_answer_from_a_wrong_api_url_is_one_line_exit_3(html_server: str) -> None:
    proc = cli(
        ["--forge", "github", "--github-api-url", html_server, "forge", "list", "acme"], GITHUB_TOKEN="ghp_x"
    )
    assert proc.returncode == 3
    line = one_line_error(proc)
    assert "text/html, not JSON" in line and "GITHUB_API_URL" in line
    assert "ghp_x" not in proc.stderr + proc.stdout


def test_tls_error_is_one_line_exit_3(github_emulator: Any) -> None:
    url = f"https://127.0.0.1:{github_emulator.port}"  # TLS to a plain-HTTP port
    proc = cli(["--forge", "github", "--github-api-url", url, "forge", "list", "acme"], GITHUB_TOKEN="ghp_x")
    assert proc.returncode == 3
    line = one_line_error(proc)
    assert "TLS error" in line and url in line


def test_non_utf8_plan_is_one_line_exit_2(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_bytes(b'\xff\xfe{"x": 1}')
    proc = cli(["--local-root", str(tmp_path / "forge"), "rollout", "apply", "--plan", str(plan)])
    assert proc.returncode == 2
    line = one_line_error(proc)
    assert f"{plan}: not UTF-8" in line


def test_invalid_token_on_check_report_is_an_error(
    tmp_path: Path, github_emulator: Any, github_forge: Any
) -> None:
    repo = "acme/infrastructure-modules"
    github_emulator.create_repo(repo, files={"README.md": "x\n"})
    base = github_forge.branch_sha(repo, "main")
    github_forge.commit_files(
        repo, "feature", parent_sha=base, message="feat: x", changes=[FileChange("a", b"a")]
    )
    pr = github_forge.open_pull(repo, head="feature", base="main", title="feat: x", body="")
    results = tmp_path / "results"
    results.mkdir()
    args = ["--forge", "github", "--github-api-url", github_emulator.api_url, "check", "report", str(results)]
    args += ["--allow-empty", "--pr", str(pr.number), "--repo", repo]
    proc = cli(args, GITHUB_TOKEN="ghp_revoked0000000000000000000000000000", CATALOG_OPS_WRITE_INTERVAL="0")
    assert proc.returncode == 3, proc.stderr
    assert "GitHub rejected the credentials" in proc.stderr and "warning" not in proc.stderr.lower()
    assert "Traceback" not in proc.stderr
    assert github_emulator.comments(repo, pr.number) == []
