#!/usr/bin/env python3
"""Install or reuse catalog-ops's pinned external tools (``make tools``).

Standard library only, so it runs before the virtualenv exists. Versions: scripts/catalog_ops/toolchain.toml.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from catalog_ops.toolchain import main

raise SystemExit(main(sys.argv[1:]))
