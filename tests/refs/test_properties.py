"""Property tests (hypothesis): bumps touch only version tokens, are idempotent, and refs sees the target."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog_ops.bump import bump_files
from catalog_ops.refs import scan_files

REPO = "github.com/acme/infrastructure-modules"

versions = st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30)).map(
    lambda t: f"{t[0]}.{t[1]}.{t[2]}"
)
prefixes = st.sampled_from(["", "v"])
subdirs = st.sampled_from(["modules/vpc", "modules/eks-cluster", "x"])
forms = st.sampled_from(
    [
        "git::https://{repo}.git//{sub}?ref={ref}",
        "git::https://{repo}.git//{sub}?depth=1&ref={ref}",
        "git::https://{repo}.git?ref={ref}//{sub}",
        "git@github.com:acme/infrastructure-modules.git//{sub}?ref={ref}",
        "git::ssh://git@github.com:22/acme/infrastructure-modules.git//{sub}?ref={ref}&depth=1",
        "{repo}//{sub}?ref={ref}",
        "github.com/acme/other//{sub}?ref={ref}",
        "{repo}//{sub}?ref=main",
        # issue 17 bug 1: a non-numeric "port" is not this repository (never rewritten)
        "git::ssh://git@github.com:acme/infrastructure-modules.git//{sub}?ref={ref}",
    ]
)
comments = st.sampled_from(["", " # pinned", " // c", " /* ? ref=v9.9.9 */"])
blank = st.sampled_from(["", "\n", '# source = "{repo}?ref=v0.0.1"\n'])
newlines = st.sampled_from(["\n", "\r\n"])
spaces = st.sampled_from([" ", "  ", "\t"])


@st.composite
def tf_files(draw):
    nl = draw(newlines)
    n = draw(st.integers(1, 6))
    parts = []
    for i in range(n):
        ref = draw(prefixes) + draw(versions)
        src = draw(forms).format(repo=REPO, sub=draw(subdirs), ref=ref)
        sp = draw(spaces)
        parts.append(
            draw(blank).format(repo=REPO)
            + f'module "m{i}" {{{nl}{sp}source{sp}= "{src}"{draw(comments)}{nl}}}{nl}'.replace("\n", nl)
        )
    return "".join(parts).encode()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=tf_files(), target=versions, to_prefix=prefixes)
def test_bump_changes_only_version_tokens_and_is_idempotent(data, target, to_prefix):
    files = {"main.tf": data}
    once = bump_files(files, address=REPO, to=to_prefix + target)
    assert once.errors == []
    new = once.changed.get("main.tf", data)
    before_refs = [r for r in scan_files(files).references if r.source and r.source.identity == REPO]
    # Nothing outside the ref tokens changed: blank out ref spans and compare.
    old_text, new_text = data.decode(), new.decode()
    after_refs = [
        r for r in scan_files({"main.tf": new}).references if r.source and r.source.identity == REPO
    ]
    assert len(before_refs) == len(after_refs)

    def masked(text, refs):
        out, pos = [], 0
        for r in sorted(refs, key=lambda r: r.ref_span):
            out.append(text[pos : r.ref_span[0]])
            out.append("<REF>")
            pos = r.ref_span[1]
        out.append(text[pos:])
        return "".join(out)

    assert masked(old_text, before_refs) == masked(new_text, after_refs)
    # Twice == once.
    twice = bump_files({"main.tf": new}, address=REPO, to=to_prefix + target)
    assert twice.changed == {}
    # refs after the bump reports the target for every semver ref (branches untouched), prefix kept.
    for old, after in zip(before_refs, after_refs, strict=True):
        if old.source.ref == "main":
            assert after.source.ref == "main"
        else:
            expected = ("v" if old.source.ref.startswith("v") else "") + target
            assert after.source.ref == expected


@settings(max_examples=40, deadline=None)
@given(
    constraint=st.sampled_from(["1.1.0", "~> 1.1.0", "~> 1.1", ">= 1.0, < 1.2", ">= 0.9.0", "= 0.1.0"]),
    target=versions,
)
def test_registry_bump_admits_target(constraint, target):
    from catalog_ops.core.versions import constraint_admits, parse_version

    files = {"m.tf": f'module "a" {{\n  source  = "acme/eks/aws"\n  version = "{constraint}"\n}}\n'.encode()}
    result = bump_files(files, address="acme/eks/aws", to=target)
    text = result.changed.get("m.tf", files["m.tf"]).decode()
    (ref,) = scan_files({"m.tf": text.encode()}).references
    assert constraint_admits(ref.version, parse_version(target))
    assert text.replace(ref.version, "X") == files["m.tf"].decode().replace(constraint, "X")
    assert bump_files({"m.tf": text.encode()}, address="acme/eks/aws", to=target).changed == {}


hcl_alphabet = st.sampled_from(
    [*list('abcmodulesourceversion =\n"{}[]()$%#/*<-EOT\\.,:?~'), "${", "<<EOT\n", "\nEOT\n", "\r\n"]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(hcl_alphabet, max_size=80).map("".join), st.binary(max_size=40))
def test_scanner_never_crashes_on_garbage(text, blob):
    files = {
        "a.tf": ("source = 1\n" + text).encode(),
        "b.hcl": b"source = " + blob,
        "c.tf.json": text.encode(),
    }
    result = scan_files(files)
    for err in result.errors:
        assert err.path in files and err.line >= 1 and err.col >= 1
    bump_files(files, address=REPO, to="1.0.0")


# Issue 17 forms: override files, .tofu precedence, .tofu.json, legacy provider blocks beside the
# module, ~> X.Y.0 floors, suffix tag families. Bumps stay byte-exact and idempotent.
layouts = st.sampled_from(["main.tf", "main.tofu", "override.tf", "x_override.tofu", "override.tf.json"])
registry_constraints = st.sampled_from(["~> 1.2.0", "~> 1.2", "1.1.0", ">= 1.0, < 1.2", "~> v1.2.0"])


@settings(max_examples=60, deadline=None)
@given(constraint=registry_constraints, target=versions, layout=layouts, nl=newlines)
def test_issue17_registry_forms_byte_exact_and_idempotent(constraint, target, layout, nl):
    from catalog_ops.core.versions import constraint_admits, parse_version

    module = f'module "a" {{{nl}  source  = "acme/eks/aws"{nl}  version = "0.0.1"{nl}}}{nl}'
    legacy = f'provider "aws" {{{nl}  version = "~> 2.0"{nl}}}{nl}'
    files = {"main.tf": (module + legacy).encode()}
    if layout in ("main.tf", "main.tofu"):
        files[layout] = (module.replace('"0.0.1"', f'"{constraint}"') + legacy).encode()
    elif layout.endswith(".json"):
        files[layout] = f'{{"module": {{"a": {{"version": "{constraint}"}}}}}}'.encode()
    else:
        files[layout] = f'module "a" {{{nl}  version = "{constraint}"{nl}}}{nl}'.encode()
    once = bump_files(files, address="acme/eks/aws", to=target)
    assert once.errors == []
    assert set(once.changed) <= {layout}  # only the file Terraform / OpenTofu uses
    new = {**files, **once.changed}
    (ref,) = [r for r in scan_files(new).references if r.source is not None]
    assert ref.version_path == layout
    assert constraint_admits(ref.version, parse_version(target))
    before, after = files[layout].decode(), new[layout].decode()
    assert after.replace(ref.version, "X", 1) == before.replace(constraint, "X", 1)
    assert bump_files(new, address="acme/eks/aws", to=target).changed == {}


@settings(max_examples=40, deadline=None)
@given(
    data=st.lists(st.tuples(st.sampled_from(["queue", "topic", ""]), versions), min_size=1, max_size=5),
    family=st.sampled_from(["queue", "topic"]),
    target=versions,
)
def test_issue17_families_move_only_their_own_refs(data, family, target):
    text = "".join(
        f'module "m{i}" {{\n  source = "git::https://{REPO}.git//x?ref=v{v}{"-" + f if f else ""}"\n}}\n'
        for i, (f, v) in enumerate(data)
    )
    files = {"main.tf": text.encode()}
    once = bump_files(files, address=REPO, to=f"v{target}-{family}")
    new = once.changed.get("main.tf", files["main.tf"])
    refs_before = scan_files(files).references
    refs_after = scan_files({"main.tf": new}).references
    for old, after in zip(refs_before, refs_after, strict=True):
        moved = old.source.ref.endswith("-" + family)
        assert after.source.ref == (f"v{target}-{family}" if moved else old.source.ref)
    assert bump_files({"main.tf": new}, address=REPO, to=f"v{target}-{family}").changed == {}


keyword_pieces = st.sampled_from(
    [
        b"source",
        b"version",
        b"required_",
        b"required_version",
        b"required_providers",
        b"=",
        b"==",
        b'"',
        b":",
        b" ",
        b"\t",
        b"\n",
        b"\v",
        b"x",
        b"_",
        b"9",
        b"-",
        b"\xc3\xa9",
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(keyword_pieces, max_size=12).map(b"".join))
def test_keyword_prefilter_agrees_with_its_regex(data):
    """``has_keyword`` (the fast raw-text pre-filter) answers exactly what ``_KEYWORD_RE`` does."""
    from catalog_ops.refs import scan

    assert scan.has_keyword(data) == (scan._KEYWORD_RE.search(data) is not None)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.lists(keyword_pieces, max_size=8).map(b"".join), max_size=8))
def test_keyword_prefilter_over_many_texts_answers_for_each_text(datas):
    """``with_keyword`` (one pass over many texts joined with NUL) finds exactly the texts
    ``has_keyword`` finds, whatever sits at their edges (a keyword cut by the join, ``required_``
    at the end of one text and ``version =`` at the start of the next, an empty text)."""
    from catalog_ops.refs import scan

    assert scan.with_keyword(datas) == {i for i, d in enumerate(datas) if scan.has_keyword(d)}


def test_keyword_prefilter_over_many_texts_at_their_edges():
    from catalog_ops.refs import scan

    datas = [b"required_", b"version = 1", b"source", b" = x", b"", b'x"source":', b"a_source=1", b"source=="]
    assert scan.with_keyword(datas) == {1, 5}
    assert scan.with_keyword([b"required_providers", b"x"]) == {0}
    assert scan.with_keyword([]) == set()
