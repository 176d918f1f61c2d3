"""File bytes to text: the one decoding rule for every Terraform/Terragrunt file read.

Offsets and columns everywhere in ``hcl``, ``refs`` and ``bump`` count characters of the text
returned here (UTF-8 decoded, nothing normalised: CRLF and a BOM stay as written).
"""

from __future__ import annotations

from catalog_ops.core.edits import line_col
from catalog_ops.errors import SourceParseError

# Files larger than this are reported, not parsed (generated files; a 4 MiB .tf is not hand-written).
MAX_FILE_BYTES = 4 * 1024 * 1024


def decode(path: str, data: bytes) -> str:
    """Decode file bytes as UTF-8 (Terraform reads configuration files as UTF-8).

    Args:
        path: the file's path, only used in the error.
        data: its bytes (at most ``MAX_FILE_BYTES`` are accepted).

    Raises:
        SourceParseError: binary (NUL bytes), larger than ``MAX_FILE_BYTES``, or not UTF-8
            (``path:line:col`` of the bad byte).
    """
    if len(data) > MAX_FILE_BYTES:
        raise SourceParseError(path, 1, 1, f"file is larger than {MAX_FILE_BYTES} bytes; skipped")
    if b"\x00" in data:
        raise SourceParseError(path, 1, 1, "binary file (NUL bytes); skipped")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        good = data[: exc.start].decode("utf-8")
        line, col = line_col(good, len(good))
        raise SourceParseError(path, line, col, "not valid UTF-8; skipped") from None
