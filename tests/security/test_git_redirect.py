"""A redirect never carries the forge token to another host (attack4).

git's ``http.followRedirects`` default (``initial``) follows a redirect of the first smart-HTTP
request and then sends every later request of the process (protocol v2's ``POST
git-upload-pack``) to the redirect's target as the new base URL, with the ``http.extraHeader``
entries of the *original* URL's config. curl strips ``Authorization`` only on the redirect it
follows itself, so before the fix the ``ls-refs`` POST to the other host carried the token.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from catalog_ops import gitutil
from catalog_ops.forge.github import GitHubForge
from catalog_ops.sweep.registry import RegistryError, git_remote_tags


def _pkt(data: bytes) -> bytes:
    return b"%04x" % (len(data) + 4) + data


class _Servers:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str | None]] = []
        seen = self.seen

        class Other(http.server.BaseHTTPRequestHandler):
            """Another host that speaks protocol v2 and lists one tag."""

            def _serve(self) -> None:
                seen.append(("other", self.path, self.headers.get("Authorization")))
                if int(self.headers.get("Content-Length") or 0):
                    self.rfile.read(int(self.headers["Content-Length"]))
                if self.command == "GET":
                    body = _pkt(b"# service=git-upload-pack\n") + b"0000"
                    body += _pkt(b"version 2\n") + _pkt(b"ls-refs\n") + b"0000"
                    kind = "advertisement"
                else:
                    body = _pkt(b"1" * 40 + b" refs/tags/v9.9.9\n") + b"0000"
                    kind = "result"
                self.send_response(200)
                self.send_header("Content-Type", f"application/x-git-upload-pack-{kind}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _serve

            def log_message(self, *args: object) -> None:
                pass

        self.other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Other)
        target = f"http://localhost:{self.other.server_address[1]}/evil/repo.git"

        class Forge(http.server.BaseHTTPRequestHandler):
            """The forge's host, redirecting the repository elsewhere."""

            def _serve(self) -> None:
                seen.append(("forge", self.path, self.headers.get("Authorization")))
                self.send_response(302)
                self.send_header("Location", target + self.path[len("/acme/repo.git") :])
                self.end_headers()

            do_GET = do_POST = _serve

            def log_message(self, *args: object) -> None:
                pass

        self.forge = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Forge)
        for server in (self.other, self.forge):
            threading.Thread(target=server.serve_forever, daemon=True).start()

    def close(self) -> None:
        for server in (self.other, self.forge):
            server.shutdown()
            server.server_close()


@pytest.fixture
def servers() -> Iterator[_Servers]:
    s = _Servers()
    try:
        yield s
    finally:
        s.close()


def test_a_redirect_to_another_host_gets_no_token(servers: _Servers, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GIT_CONFIG_COUNT", raising=False)
    port = servers.forge.server_address[1]
    forge = GitHubForge(api_url=f"http://127.0.0.1:{port}/api/v3", token="s3cr3t-t0ken")
    url = f"http://127.0.0.1:{port}/acme/repo.git"
    assert forge.git_auth_env(url), "the forge's own host gets the token"
    with pytest.raises(RegistryError) as err:
        git_remote_tags(url, auth=forge.git_auth_env, timeout=30)
    assert "s3cr3t" not in str(err.value)
    secrets = gitutil.header_secrets(forge.git_auth_env(url))
    others = [auth for who, _path, auth in servers.seen if who == "other"]
    assert not any(auth and any(s in auth for s in secrets) for auth in others), servers.seen
    assert [who for who, _p, _a in servers.seen] == ["forge"]  # the redirect is not followed
