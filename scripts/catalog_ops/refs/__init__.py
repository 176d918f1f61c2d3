"""References to modules and version pins in Terraform/Terragrunt trees.

``model`` (what is found), ``extract`` (one extractor per block kind), ``terragrunt`` (resolving
sources built from locals and includes), ``scan`` (in-memory trees), ``disk`` (directories).
Callers import the public API from here.
"""

from catalog_ops.refs.disk import read_file, scan_tree
from catalog_ops.refs.model import MODULE_ENTRIES, Reference, RefKindOfEntry, RefStatus, ScanResult
from catalog_ops.refs.scan import Needle, is_candidate_path, scan_files

__all__ = [
    "MODULE_ENTRIES",
    "Needle",
    "RefKindOfEntry",
    "RefStatus",
    "Reference",
    "ScanResult",
    "is_candidate_path",
    "read_file",
    "scan_files",
    "scan_tree",
]
