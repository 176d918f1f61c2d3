"""The benchmark module stays importable, and its corpus generator gives what the figures assume."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from catalog_ops.bump import bump_tree
from catalog_ops.refs import scan_tree

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "refs.py"


def _load():
    spec = importlib.util.spec_from_file_location("bench_refs", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_corpus_bumps_every_vpc_reference(tmp_path):
    bench = _load()
    stats, unsupported = bench.generate_corpus(tmp_path, 400, 8, 3)
    assert stats["files"] == 400
    scan = scan_tree([tmp_path])
    assert scan.errors == []
    vpc = [r for r in scan.references if r.source and r.source.subdir == "modules/vpc"]
    assert len(vpc) == stats["supported"] + stats["ours_only"] + stats["terragrunt"] - 2  # 2 root.hcl files
    assert all(r.status == "ok" for r in vpc)
    result = bump_tree([tmp_path], address=bench.OUR_ADDRESS, to="1.3.0")
    assert {o.status for o in result.outcomes} <= {"bumped", "already"}
    assert len(result.outcomes) == len(vpc)
    after = [r for r in scan_tree([tmp_path]).references if r.source and r.source.subdir == "modules/vpc"]
    assert {r.source.ref.lstrip("v") for r in after} == {"1.3.0"}
    assert unsupported
