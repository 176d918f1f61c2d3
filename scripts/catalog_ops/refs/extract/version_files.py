"""CLI version files: ``.terraform-version`` (tfenv/tofuenv: the first non-comment line) and
``.tool-versions`` (asdf/mise: ``tool version...`` per line)."""

from __future__ import annotations

import posixpath

from catalog_ops.refs.extract.base import Extractor
from catalog_ops.refs.model import Reference, RefKindOfEntry, RefStatus


def _file(path: str, text: str) -> list[Reference]:
    base = posixpath.basename(path)
    refs: list[Reference] = []
    offset = 0
    for i, line in enumerate(text.splitlines(keepends=True), 1):
        start = offset
        offset += len(line)
        content = line.split("#", 1)[0].rstrip("\r\n")
        fields = content.split()
        if base == ".terraform-version":
            if not fields:
                continue
            col = content.find(fields[0]) + 1
            value = content.strip()
            span = (start + col - 1, start + col - 1 + len(value))
            refs.append(
                Reference(path, i, col, RefKindOfEntry.TERRAFORM_VERSION_FILE, "terraform", None, value,
                          RefStatus.OK, None, path, None, span)
            )  # fmt: skip
            break
        if len(fields) >= 2:
            col = content.find(fields[1], content.find(fields[0]) + len(fields[0])) + 1
            span = (start + col - 1, start + col - 1 + len(fields[1]))
            refs.append(
                Reference(path, i, col, RefKindOfEntry.TOOL_VERSIONS, fields[0], None, fields[1],
                          RefStatus.OK, None, path, None, span)
            )  # fmt: skip
    return refs


VERSION_FILES = Extractor("version_files", files=(".terraform-version", ".tool-versions"), file=_file)
