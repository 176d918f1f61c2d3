"""Cross-check the lexer-based scanner against python-hcl2 on literal module sources."""

from __future__ import annotations

import hcl2
import pytest

from catalog_ops.refs import RefKindOfEntry, scan_files
from fixtures.refs import SAMPLE_TREE
from test_bump import REG_BEFORE, TF_BEFORE

FILES = {
    **{k: v for k, v in SAMPLE_TREE.items() if k.endswith((".tf", ".hcl")) and "/.terraform/" not in k},
    "bump/main.tf": TF_BEFORE.encode(),
    "bump/crlf.tf": TF_BEFORE.replace("\n", "\r\n").encode(),
    "bump/reg.tf": REG_BEFORE.encode(),
}


def _unquote(value: str) -> str:
    return value[1:-1] if value.startswith('"') and value.endswith('"') else value


def _hcl2_sources(text: str) -> list[tuple[str, str | None, str | None, str]]:
    data = hcl2.loads(text)
    out = []
    for block in data.get("module", []):
        for label, body in block.items():
            version = body.get("version")
            out.append(
                ("module", _unquote(label), _unquote(version) if version else None, _unquote(body["source"]))
            )
    for kind in ("unit", "stack"):
        for block in data.get(kind, []):
            for label, body in block.items():
                out.append((kind, _unquote(label), None, _unquote(body["source"])))
    for block in data.get("terraform", []):
        if "source" in block:
            out.append(("terraform", None, None, _unquote(block["source"])))
    return sorted(out, key=str)


_ENTRY = {
    RefKindOfEntry.MODULE: "module",
    RefKindOfEntry.STACK_UNIT: "unit",
    RefKindOfEntry.STACK: "stack",
    RefKindOfEntry.TERRAGRUNT: "terraform",
}


@pytest.mark.parametrize("path", sorted(FILES))
def test_literal_sources_agree_with_python_hcl2(path):
    text = FILES[path].decode()
    expected = {(k, n): (v, src) for k, n, v, src in _hcl2_sources(text)}
    ours = {
        (_ENTRY[r.entry], r.name): r for r in scan_files({path: FILES[path]}).references if r.entry in _ENTRY
    }
    assert set(ours) == set(expected)
    for key, (version, src) in expected.items():
        assert ours[key].version == version
        if "${" not in src:  # python-hcl2 keeps interpolations unevaluated; we resolve them
            assert ours[key].source.raw == src
