"""sweep.collect reads the catalog exactly as ``refs`` does: one corpus fed to both (issue 17)."""

from __future__ import annotations

from catalog_ops.refs import RefKindOfEntry, scan_files
from catalog_ops.sweep.collect import collect
from catalog_ops.sweep.config import SweepConfig
from fixtures.refs import SAMPLE_TREE

# Every form issue 17 is about, beside the general sample tree.
CORPUS: dict[str, bytes] = {
    **SAMPLE_TREE,
    "bad-port/main.tf": b'module "m" {\n  source = "git::ssh://git@git.example.com:modules/foo-module.git//bar?ref=v1.0.0"\n}\n',
    "override/main.tf": b'module "aws" {\n  source  = "babbel/cloudfront-bucket/aws"\n  version = "2.0.0"\n}\n',
    "override/override.tf": b'module "aws" {\n  version = "2.2.0"\n}\n',
    "providers/versions.tf": (
        b'terraform {\n  required_providers {\n    invalid = { source = "//hashicorp/helm", version = "1.2.4" }\n'
        b'    helm = { source = "hashicorp/helm", version = "~> 2.1.0" }\n    dyn = { source = var.x, version = "1" }\n'
        b'    legacy = "~> 1.0"\n  }\n}\n'
    ),
    "providers/legacy.tf": b'provider "aws" {\n  version = "~> 2.0"\n}\n',
    "providers/legacy.tf.json": b'{"provider": {"google": {"version": "~> 3.0"}}}',
    "families/main.tf": (
        b'module "q" {\n  source = "git::https://github.com/acme/mods.git//queue?ref=v1.0.0-queue"\n}\n'
        b'module "t" {\n  source = "git::https://github.com/acme/mods.git//topic?ref=v1.0.0-topic"\n}\n'
    ),
    "hcl/terraform.hcl": b'terraform {\n  required_version = ">= 1.0"\n}\nmodule "x" {\n  source = "acme/x/aws"\n  version = "1.0.0"\n}\n',
    "hcl/.terraform.lock.hcl": b'provider "registry.terraform.io/hashicorp/aws" {\n  version = "5.0.0"\n}\n',
    "tofu/main.tf": b'terraform {\n  required_version = ">= 1.5"\n}\n',
    "tofu/main.tofu": b'terraform {\n  required_version = ">= 1.6"\n}\n',
    "tofu/extra.tofu.json": b'{"terraform": {"required_version": ">= 1.7"}}',
}
# Entries the sweep reads (every kind ``refs`` reports).
UPDATABLE = set(RefKindOfEntry)
# ``.tool-versions`` lines of other tools (terragrunt, ...) are reported by refs, and not
# dependencies the sweep follows (it follows the Terraform / OpenTofu CLIs).
CLI_TOOLS = {"terraform", "opentofu", "tofu"}


def test_refs_and_sweep_agree_on_every_reference():
    scan = scan_files(CORPUS)
    deps, errors = collect(CORPUS, SweepConfig())
    places = {(o.path, o.line, o.col): d.id for d in deps for o in d.occurrences}
    skipped = "\n".join(s for d in deps for s in d.skipped) + "\n".join(errors)
    for ref in scan.references:
        at = (ref.written_in or ref.path, ref.line, ref.col)
        versioned = ref.version is not None or (ref.source is not None and ref.source.ref is not None)
        other_tool = ref.entry == RefKindOfEntry.TOOL_VERSIONS and ref.name not in CLI_TOOLS
        if ref.status == "ok" and versioned and ref.entry in UPDATABLE and not other_tool:
            assert at in places, f"refs reports {at} ok, the sweep does not update it"
        elif ref.status != "ok":
            assert at not in places, f"refs reports {at} {ref.status}, the sweep updates it"
            assert f"{ref.path}:{ref.line}:{ref.col}" in skipped or ref.source is not None, ref
    # ... and the sweep reads nothing refs does not report.
    reported = {(r.written_in or r.path, r.line, r.col) for r in scan.references}
    workflow = {p for p in places if p[0].startswith(".github/")}
    assert set(places) - workflow <= reported
    # The forms, spelled out.
    assert not any(
        p[0] in ("bad-port/main.tf", "hcl/terraform.hcl", "hcl/.terraform.lock.hcl", "tofu/main.tf")
        for p in places
    )
    assert places[("override/main.tf", 2, 13)] == "registry.terraform.io/babbel/cloudfront-bucket/aws"
    assert {d.id for d in deps if d.id.startswith("github.com/acme/mods")} == {
        "github.com/acme/mods#v*-queue",
        "github.com/acme/mods#v*-topic",
    }
    assert any("//hashicorp/helm" in e for e in errors)
    tofu_dir = [
        o.current for d in deps if d.id == "terraform" for o in d.occurrences if o.path.startswith("tofu/")
    ]
    assert tofu_dir == [">= 1.7", ">= 1.6"]
