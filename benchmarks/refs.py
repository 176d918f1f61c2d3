"""Benchmark: ``refs``/``bump`` throughput on a generated corpus, compared with tfupdate and ripgrep.

Usage::

    .venv/bin/python benchmarks/refs.py [--files 10000] [--repos 200] [--seed 1] [--keep DIR]
        [--repeat 5] [--no-tfupdate]

Generates a corpus of ``--files`` candidate files across ``--repos`` repositories (mixed source
forms; most files do not reference the module), then reports:

* ``refs`` beside ripgrep (``rg -l -F`` for the catalog's repository address: the floor for
  "which files mention it"), measured back to back — rg, ``scan_tree`` over every file,
  ``scan_tree`` with the rollout's address filter, the ``catalog-ops refs --json`` CLI and its
  start-up alone, in turn, ``--repeat`` rounds, best of each — with the ratios, the CPU time
  (user + system) of rg and of the CLI with its forked workers, and the load average (the
  machine may be shared: only ratios measured together compare). The CLI runs with
  bytecode caches (in the benchmark's directory: ``PYTHONPYCACHEPREFIX``), as an installed
  package has them, even when ``PYTHONDONTWRITEBYTECODE`` is set. ripgrep is the pinned
  ``ripgrep`` of ``toolchain.toml`` (a hash-checked PyPI wheel), installed into the tool cache
  when missing; the benchmark fails (exit 1) when it cannot be installed;
* files/s for ``scan_tree`` (refs) and ``bump_tree`` (bump), in-process and through the CLI;
* peak RSS of this process and of its worker processes;
* tfupdate (github.com/minamijoyo/tfupdate at the version toolchain.toml pins, ``[tfupdate]``,
  built from the Go module proxy into the tool cache when missing) running ``tfupdate module -r`` on a copy
  of the same corpus, its time, and whether both tools produce identical trees on the files whose
  forms both support (``.tf`` module blocks whose source is exactly ``NAME?ref=vX.Y.Z``).

Benchmarks print figures; they are not run by the test suite.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from catalog_ops.bump import bump_tree  # noqa: E402
from catalog_ops.refs import scan_tree  # noqa: E402

REPO = "github.com/acme/infrastructure-modules"
# tfupdate compares the whole source text before "?ref=v" with its MODULE_NAME argument.
TFUPDATE_NAME = f"git::https://{REPO}.git//modules/vpc"
OUR_ADDRESS = f"{REPO}//modules/vpc"
TARGET = "1.3.0"

RESOURCE = """\
resource "aws_security_group" "sg_{i}" {{
  name        = "sg-{i}"
  description = "Security group {i} (source: generated)"
  vpc_id      = var.vpc_id

  ingress {{
    from_port   = {port}
    to_port     = {port}
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }}

  tags = {{
    Name  = "sg-{i}"
    Owner = "team-{team}"
  }}
}}

"""
VARIABLES = """\
variable "vpc_id" {{
  type        = string
  description = "VPC id for stack {i}"
}}

output "sg_ids_{i}" {{
  value = [for s in aws_security_group.sg_{i} : s.id]
}}
"""

# (template, tfupdate supports it) — {v} is the old version without prefix.
SUPPORTED_FORMS = [
    'module "vpc" {{\n  source = "git::https://{repo}.git//modules/vpc?ref=v{v}"\n\n  cidr = "10.0.0.0/16"\n}}\n',
]
OUR_ONLY_FORMS = [
    'module "vpc" {{\n  source = "git@github.com:acme/infrastructure-modules.git//modules/vpc?ref=v{v}"\n}}\n',
    'module "vpc" {{\n  source = "git::ssh://git@github.com:22/acme/infrastructure-modules.git//modules/vpc?depth=1&ref=v{v}"\n}}\n',
    'module "vpc" {{\n  source = "{repo}//modules/vpc?ref={v}"  # no v prefix\n}}\n',
    'module "vpc" {{\n  source = "git::https://{repo}.git?ref=v{v}//modules/vpc"\n}}\n',
]
UNRELATED_FORMS = [
    'module "eks" {{\n  source = "git::https://{repo}.git//modules/eks-cluster?ref=v{v}"\n}}\n',
    'module "label" {{\n  source  = "cloudposse/label/null"\n  version = "0.25.0"\n}}\n',
    'module "local" {{\n  source = "../modules/local"\n}}\n',
    'module "other" {{\n  source = "git::https://github.com/acme/other-modules.git//x?ref=v{v}"\n}}\n',
]
TERRAGRUNT_ROOT = 'locals {{\n  vpc_source = "git::https://{repo}.git//modules/vpc"\n}}\n'
TERRAGRUNT_CHILD = (
    'include "root" {{\n  path   = find_in_parent_folders("root.hcl")\n  expose = true\n}}\n\n'
    'terraform {{\n  source = "${{include.root.locals.vpc_source}}?ref=v{v}"\n}}\n\ninputs = {{\n  name = "{name}"\n}}\n'
)


def generate_corpus(root: Path, files: int, repos: int, seed: int) -> tuple[dict[str, int], set[str]]:
    """Write the corpus; return counts per category and the relative paths of files whose forms
    tfupdate does not support (other source spellings, Terragrunt)."""
    unsupported: set[str] = set()
    rng = random.Random(seed)
    stats = {"files": 0, "supported": 0, "ours_only": 0, "unrelated": 0, "plain": 0, "terragrunt": 0}
    per_repo = max(1, files // repos)
    n = 0
    for r in range(repos):
        repo = root / f"repo{r:04d}"
        count = per_repo if r < repos - 1 else files - n
        tg = r % 4 == 0
        if tg:
            (repo / "live").mkdir(parents=True, exist_ok=True)
            (repo / "live" / "root.hcl").write_text(TERRAGRUNT_ROOT.format(repo=REPO))
            n += 1
            stats["terragrunt"] += 1
            count -= 1
        for i in range(count):
            v = f"1.{rng.randint(0, 2)}.{rng.randint(0, 9)}"
            roll = rng.random()
            if tg and roll < 0.15:
                path = repo / "live" / f"env{i % 5}" / f"app{i}" / "terragrunt.hcl"
                text = TERRAGRUNT_CHILD.format(v=v, name=f"app{i}")
                stats["terragrunt"] += 1
                unsupported.add(path.relative_to(root).as_posix())
            else:
                path = repo / f"stack{i // 10}" / f"file{i}.tf"
                body = "".join(
                    RESOURCE.format(i=f"{i}_{k}", port=rng.randint(1, 65535), team=rng.randint(1, 9))
                    for k in range(rng.randint(1, 4))
                )
                if roll < 0.06:
                    text = SUPPORTED_FORMS[0].format(repo=REPO, v=v) + body
                    stats["supported"] += 1
                elif roll < 0.10:
                    text = rng.choice(OUR_ONLY_FORMS).format(repo=REPO, v=v) + body
                    stats["ours_only"] += 1
                    unsupported.add(path.relative_to(root).as_posix())
                elif roll < 0.20:
                    text = rng.choice(UNRELATED_FORMS).format(repo=REPO, v=v) + body
                    stats["unrelated"] += 1
                else:
                    text = body + VARIABLES.format(i=i)
                    stats["plain"] += 1
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            n += 1
    stats["files"] = n
    return stats, unsupported


def ensure_tfupdate() -> tuple[Path, str] | None:
    """The pinned tfupdate (toolchain.toml ``[tfupdate]``, benchmark only), built once into the
    tool cache when missing; ``None`` (after saying why on stderr) when it cannot be built."""
    from catalog_ops import toolchain
    from catalog_ops.errors import ToolInstallError, ToolMissing

    version = toolchain.load_specs()["tfupdate"].version
    try:
        return toolchain.which("tfupdate"), version
    except ToolMissing:
        pass
    try:
        toolchain.install(["tfupdate"])
        return toolchain.which("tfupdate"), version
    except (ToolInstallError, ToolMissing) as exc:
        print(f"tfupdate: cannot build the pinned tfupdate {version}: {exc}", file=sys.stderr)
        return None


def ensure_ripgrep() -> Path | None:
    """The pinned ``rg`` (toolchain.toml ``[ripgrep]``), installed into the tool cache when
    missing; ``None`` (after saying why on stderr) when it cannot be installed."""
    from catalog_ops import toolchain
    from catalog_ops.errors import ToolInstallError, ToolMissing

    try:
        return toolchain.which("ripgrep")
    except ToolMissing:
        pass
    try:
        toolchain.install(["ripgrep"])
        return toolchain.which("ripgrep")
    except (ToolInstallError, ToolMissing) as exc:
        print(f"ripgrep: cannot install the pinned ripgrep: {exc}", file=sys.stderr)
        return None


def compare_with_ripgrep(rg: Path, corpus: Path, base: Path, n: int, repeat: int) -> dict[str, float]:
    """Time rg and refs back to back (``repeat`` rounds, each tool once per round in turn; best
    of each), print the figures and ratios; returns ``{figure: seconds}``."""
    from catalog_ops.bump import needle_for

    address = OUR_ADDRESS.split("//")[0].removeprefix("git::https://")
    empty = base / "empty"
    empty.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPATH=str(ROOT / "scripts"), PYTHONPYCACHEPREFIX=str(base / "pycache"))
    cli = [sys.executable, "-m", "catalog_ops", "refs", "--json"]
    subprocess.run([*cli, str(empty)], env=env, check=True, capture_output=True)  # writes the caches
    rg_out = subprocess.run([str(rg), "-l", "-F", address, str(corpus)], capture_output=True, check=False)
    figures: dict[str, Callable[[], object]] = {
        "rg": lambda: subprocess.run([str(rg), "-l", "-F", address, str(corpus)], capture_output=True),
        "scan_tree": lambda: scan_tree([corpus]),
        "scan_tree_address": lambda: scan_tree([corpus], needle=needle_for(OUR_ADDRESS)),
        "cli": lambda: subprocess.run([*cli, str(corpus)], env=env, check=True, capture_output=True),
        "cli_startup": lambda: subprocess.run([*cli, str(empty)], env=env, check=True, capture_output=True),
    }
    best = dict.fromkeys(figures, float("inf"))
    cpu = dict.fromkeys(("rg", "cli", "cli_startup"), float("inf"))  # the subprocesses' CPU time
    for _ in range(repeat):
        for name, fn in figures.items():
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
            if name in cpu:  # user + system of the process and the workers it waited for
                r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                used = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
                cpu[name] = min(cpu[name], used)
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    t_rg = best["rg"]
    print(
        f"ripgrep comparison: best of {repeat} rounds, each tool in turn; load average {load} "
        f"on {os.cpu_count()} cores"
    )
    print(f"  rg -l -F {address}: {t_rg:.3f}s ({len(rg_out.stdout.splitlines())} files)")
    rows = (
        ("scan_tree", "refs in-process, every file (scan_tree)"),
        ("scan_tree_address", "refs in-process, address filter (rollout/bump)"),
        ("cli", "catalog-ops refs --json CORPUS (CLI, start-up included)"),
        ("cli_startup", "catalog-ops refs --json EMPTY-DIR (start-up alone)"),
    )
    for key, label in rows:
        print(f"  {label}: {best[key]:.3f}s = {best[key] / t_rg:.1f}x rg")
    print(
        f"  CPU time (user + system, best of {repeat}): rg {cpu['rg'] * 1000:.0f} ms, CLI "
        f"{cpu['cli'] * 1000:.0f} ms = {cpu['cli'] / cpu['rg']:.1f}x rg, start-up alone "
        f"{cpu['cli_startup'] * 1000:.0f} ms"
    )
    best.update({f"cpu_{k}": v for k, v in cpu.items()})
    return best


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _rss_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def _timed(fn, repeat: int = 3):  # type: ignore[no-untyped-def]
    best = float("inf")
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--repos", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", help="write the corpus here instead of a temp dir")
    ap.add_argument("--repeat", type=int, default=5, help="rounds of the ripgrep comparison (best of)")
    ap.add_argument("--no-tfupdate", action="store_true")
    args = ap.parse_args(argv)

    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="catalog-ops-bench-"))
    try:
        corpus = base / "corpus"
        if corpus.exists():
            shutil.rmtree(corpus)
        t0 = time.perf_counter()
        stats, unsupported = generate_corpus(corpus, args.files, args.repos, args.seed)
        print(
            f"corpus: {stats['files']} files in {args.repos} repos under {corpus} ({time.perf_counter() - t0:.1f}s)"
        )
        print(
            "  files referencing modules/vpc: {} tfupdate-supported form, {} other forms, {} terragrunt; "
            "{} other modules; {} plain".format(
                stats["supported"],
                stats["ours_only"],
                stats["terragrunt"],
                stats["unrelated"],
                stats["plain"],
            )
        )
        n = stats["files"]

        t_refs, scan = _timed(lambda: scan_tree([corpus]))
        print(
            f"refs (in-process):  {t_refs:.3f}s  {n / t_refs:,.0f} files/s  "
            f"{len(scan.references)} references, {len(scan.errors)} errors"
        )

        rg = ensure_ripgrep()
        if rg is None:
            return 1
        compare_with_ripgrep(rg, corpus, base, n, args.repeat)

        ours = base / "ours"
        if ours.exists():
            shutil.rmtree(ours)
        shutil.copytree(corpus, ours)

        def do_bump() -> object:
            return bump_tree([ours], address=OUR_ADDRESS, to=TARGET, dry_run=True)

        t_bump_dry, _ = _timed(do_bump)
        t0 = time.perf_counter()
        result = bump_tree([ours], address=OUR_ADDRESS, to=TARGET)
        t_bump = time.perf_counter() - t0
        print(
            f"bump (in-process):  {t_bump:.3f}s  {n / t_bump:,.0f} files/s  ({t_bump_dry:.3f}s dry-run best of 3); "
            f"{len(result.changed)} files changed, {sum(o.status == 'bumped' for o in result.outcomes)} refs bumped"
        )
        print(
            f"peak RSS: {_rss_mib(resource.RUSAGE_SELF):.0f} MiB (main), {_rss_mib(resource.RUSAGE_CHILDREN):.0f} MiB (largest worker)"
        )

        cli_tree = base / "cli"
        if cli_tree.exists():
            shutil.rmtree(cli_tree)
        shutil.copytree(corpus, cli_tree)
        env = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"))
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "catalog_ops", "refs", "--json", str(corpus)],
            env=env,
            check=True,
            capture_output=True,
        )
        t_refs_cli = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "catalog_ops",
                "bump",
                "--source",
                OUR_ADDRESS,
                "--to",
                TARGET,
                str(cli_tree),
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        t_bump_cli = time.perf_counter() - t0
        print(
            f"CLI incl. start-up: refs {t_refs_cli:.3f}s ({n / t_refs_cli:,.0f} files/s), bump {t_bump_cli:.3f}s ({n / t_bump_cli:,.0f} files/s)"
        )

        if args.no_tfupdate:
            return 0
        tool = ensure_tfupdate()
        if tool is None:
            print("tfupdate: unavailable (see messages above)")
            return 0
        binary, version = tool
        theirs = base / "tfupdate"
        if theirs.exists():
            shutil.rmtree(theirs)
        shutil.copytree(corpus, theirs)
        t0 = time.perf_counter()
        proc = subprocess.run(
            [str(binary), "module", "-v", TARGET, "-r", TFUPDATE_NAME, str(theirs)],
            capture_output=True,
            text=True,
            check=False,
        )
        t_tfu = time.perf_counter() - t0
        print(
            f"tfupdate {version} module -r: {t_tfu:.3f}s  {n / t_tfu:,.0f} files/s (exit {proc.returncode})"
        )
        print(f"speed-up (bump, in-process / CLI): {t_tfu / t_bump:.1f}x / {t_tfu / t_bump_cli:.1f}x")

        before = _tree(corpus)
        a, b = _tree(ours), _tree(theirs)
        both = identical = 0
        only_ours = only_theirs = 0
        diffs: list[str] = []
        for rel, orig in before.items():
            ours_changed = a[rel] != orig
            theirs_changed = b[rel] != orig
            # Files both tools support: .tf files whose vpc references (if any) use tfupdate's form.
            if rel.endswith(".tf") and rel not in unsupported:
                both += 1
                if a[rel] == b[rel]:
                    identical += 1
                elif len(diffs) < 3:
                    diffs.append(rel)
            only_ours += ours_changed and not theirs_changed
            only_theirs += theirs_changed and not ours_changed
        print(
            f"comparison: {identical}/{both} files both tools support are byte-identical after the bump; "
            f"{only_ours} files changed only by catalog-ops (forms tfupdate does not handle), "
            f"{only_theirs} only by tfupdate"
        )
        for rel in diffs:
            print(f"  differs: {rel}")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
