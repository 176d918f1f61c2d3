"""Settings.from_env and the CLI reject bad GitHub settings up front (exit 2, no traceback)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from catalog_ops import cli
from catalog_ops.errors import UsageError
from catalog_ops.settings import Settings


def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


SECRET_KEY = "not a key but s3cr3t"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {
                "CATALOG_OPS_APP_ID": "123",
                "CATALOG_OPS_APP_INSTALLATION_ID": "42",
                "CATALOG_OPS_APP_PRIVATE_KEY": SECRET_KEY,
            },
            "CATALOG_OPS_APP_PRIVATE_KEY is not a PEM private key",
        ),
        (
            {"CATALOG_OPS_APP_INSTALLATION_ID": "x"},
            "CATALOG_OPS_APP_INSTALLATION_ID must be a positive integer",
        ),
        ({"CATALOG_OPS_APP_ID": "abc"}, "CATALOG_OPS_APP_ID must be the GitHub App's numeric ID"),
        ({"CATALOG_OPS_WRITE_INTERVAL": "-5"}, "CATALOG_OPS_WRITE_INTERVAL must be a finite number"),
        ({"CATALOG_OPS_WRITE_INTERVAL": "nan"}, "CATALOG_OPS_WRITE_INTERVAL must be a finite number"),
        ({"CATALOG_OPS_WRITE_INTERVAL": "inf"}, "CATALOG_OPS_WRITE_INTERVAL must be a finite number"),
        ({"CATALOG_OPS_WRITE_INTERVAL": "soon"}, "CATALOG_OPS_WRITE_INTERVAL must be a number"),
        ({"GITHUB_API_URL": "ftp://x"}, "GITHUB_API_URL 'ftp://x' must start with http:// or https://"),
    ],
)
def test_bad_settings_are_usage_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as info:
        Settings.from_env(env, forge="github")
    assert message in str(info.value)
    assert "s3cr3t" not in str(info.value)


def test_valid_app_credentials_are_accepted() -> None:
    pem = _pem()
    env = {
        "CATALOG_OPS_APP_ID": "123",
        "CATALOG_OPS_APP_INSTALLATION_ID": "42",
        "CATALOG_OPS_APP_PRIVATE_KEY": pem,
    }
    settings = Settings.from_env(env, forge="github")
    assert (settings.app_id, settings.app_installation_id) == ("123", "42")
    assert Settings.from_env({"CATALOG_OPS_WRITE_INTERVAL": "0"}).write_interval == 0.0


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("127.0.0.1:1", "must start with http:// or https://"),
        ("", "is empty"),
        ("http://", "has no host"),
        ("ftp://x", "must start with http:// or https://"),
        ("https://api.github.com:99999", "invalid port"),
        ("https://user:tok3n@h:0", "has port 0"),
    ],
)
def test_bad_api_url_flag_exits_2_naming_the_flag(
    url: str, problem: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "tok3n")
    assert cli.main(["--forge", "github", "--github-api-url", url, "forge", "list", "acme"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("catalog-ops: error: --github-api-url ") and problem in err
    assert "Traceback" not in err and "tok3n" not in err


def test_bad_app_key_via_cli_exits_2_without_printing_the_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    monkeypatch.setenv("CATALOG_OPS_APP_ID", "123")
    monkeypatch.setenv("CATALOG_OPS_APP_INSTALLATION_ID", "42")
    monkeypatch.setenv("CATALOG_OPS_APP_PRIVATE_KEY", SECRET_KEY)
    argv = ["--forge", "github", "--github-api-url", "http://127.0.0.1:1", "forge", "list", "acme"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("catalog-ops: error: CATALOG_OPS_APP_PRIVATE_KEY is not a PEM private key")
    assert "s3cr3t" not in err
