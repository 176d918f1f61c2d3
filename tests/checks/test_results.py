"""The catalog's own ``.catalog-ops.yml`` (``checks:``): errors name the file, line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog_ops.checks.results import load_config
from catalog_ops.errors import ConfigError


def test_non_utf8_catalog_config_is_a_config_error_at_the_bad_byte(tmp_path: Path) -> None:
    (tmp_path / ".catalog-ops.yml").write_bytes(b"checks:\n  shared: [caf\xe9]\n")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / '.catalog-ops.yml'}:2:15: not UTF-8")
    assert caught.value.exit_code == 2


def test_config_errors_use_the_given_name_not_the_clone_path(tmp_path: Path) -> None:
    (tmp_path / ".catalog-ops.yml").write_text("checks:\n  a: 1\n b: [\n")
    with pytest.raises(ConfigError, match=r"^acme/modules:\.catalog-ops\.yml:3:\d+: invalid YAML"):
        load_config(tmp_path, name="acme/modules:.catalog-ops.yml")
    (tmp_path / ".catalog-ops.yml").write_bytes(b"\xff")
    with pytest.raises(ConfigError, match=r"^acme/modules:\.catalog-ops\.yml:1:1: not UTF-8"):
        load_config(tmp_path, name="acme/modules:.catalog-ops.yml")
