#!/usr/bin/env python3
"""`make demo`: the main job end to end on the local forge, driven through the `catalog-ops` CLI.

Story (everything lives in ``.demo/`` in the repository, wiped at the start of each run):

1. publish ``examples/catalog`` as ``acme/infrastructure-modules`` and release ``v1.0.0``;
2. publish the dependents of ``examples/dependents/`` pinned to ``v1.0.0`` (plus an archived repo);
3. fix a security issue in ``modules/network`` and release it as a *security* release;
4. roll it out: plan, shard, dry run, apply (auto-merge; ``--wait-and-merge`` where the repo has
   auto-merge disabled); show each PR (diff, body, checks) — the checks run ``terraform init`` and
   ``validate`` offline: git is pointed at the local catalog with ``url.<bare>.insteadOf``;
5. add a feature to ``modules/naming`` (used by ``modules/service``), make a normal release, roll
   it out and show the PRs waiting for review; rerun to show that nothing changes;
8. a breaking release with a migration patch (``breaking_release_with_patch``): ``modules/network``
   renames its input ``cidr_block`` to ``ipv4_cidr_block`` and ships
   ``modules/network/migrations/v2-ipv4-cidr-block.yml``; the rollout applies it in the same PR
   (``.tf``, ``.tf.json`` and Terragrunt ``inputs``) and the dependents' checks (``terraform validate``)
   pass on the migrated code.
9. an environment chain (``chain_demo``): ``acme/team-live`` (``examples/dependents/team-live``)
   names dev → stage → prod in its ``.catalog-ops.yml``; the security release goes through it one
   environment per run, each PR merged by the merge gate before the next one opens.
10. a canary wave (``canary_wave``): a normal release (v2.1.0) opens acme/web-app's PR first and
   holds the others; its checks run on the PR head and it is merged (by hand, pinned to that head)
   only when they passed; the next run opens the next wave.

``demo.py --check`` is the checks command the local forge runs for a PR (see ``check()``).
Exit status is non-zero when any step fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEMO = Path(os.environ.get("DEMO_DIR") or REPO / ".demo").resolve()  # DEMO_DIR: used by the test
FORGE = DEMO / "forge"
CATALOG = "acme/infrastructure-modules"
BRANCH = "catalog-ops/acme-infrastructure-modules"
REGISTRY_MODULE = "app.terraform.io/acme/naming/generic=modules/naming"
CHAIN_DEPENDENT = "team-live"  # published by chain_demo() only, so steps 1-7 are as without it
BOLD, DIM, GREEN, RED, RESET = (
    ("\033[1m", "\033[2m", "\033[32m", "\033[31m", "\033[0m") if sys.stdout.isatty() else ("",) * 5
)


class StepFailed(Exception):
    pass


def rel(path: Path) -> str:
    """``path`` relative to the repository when inside it (shorter to read), else absolute."""
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def say(title: str) -> None:
    print(f"\n{BOLD}━━ {title}{RESET}", flush=True)


def catalog_ops_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "catalog-ops"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "catalog_ops"]


def env() -> dict[str, str]:
    e = dict(os.environ)
    for key in list(e):
        if key.startswith("CATALOG_OPS_") or key in (
            "GITHUB_STEP_SUMMARY",
            "GITHUB_OUTPUT",
            "GITHUB_ACTIONS",
        ):
            del e[key]
    e.update(
        CATALOG_OPS_LOCAL_ROOT=str(FORGE),
        CATALOG_OPS_LOCAL_CHECKS=f"'{sys.executable}' '{Path(__file__).resolve()}' --check",
        CATALOG_OPS_WRITE_INTERVAL="0.05",
        GIT_CONFIG_GLOBAL=str(DEMO / "gitconfig"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Demo Dev",
        GIT_AUTHOR_EMAIL="dev@acme.example",
        GIT_COMMITTER_NAME="Demo Dev",
        GIT_COMMITTER_EMAIL="dev@acme.example",
        TF_IN_AUTOMATION="1",
        TF_PLUGIN_CACHE_DIR=str(DEMO / "tf-plugin-cache"),
        NO_COLOR="1",
        COLUMNS="160",
    )
    return e


def run(
    args: list[str], *, check: bool = True, quiet: bool = False, echo: bool = True, cwd: Path | None = None
) -> str:
    """Run a command (``catalog-ops`` first word is expanded), echo it (unless ``echo`` is
    False: demo.py's own reads, whose output is not shown), return stdout."""
    shown = " ".join(args)
    if args[0] == "catalog-ops":
        args = catalog_ops_cmd() + args[1:]
    if echo:
        print(f"{DIM}$ {shown}{RESET}", flush=True)
    t0 = time.monotonic()
    proc = subprocess.run(args, cwd=cwd or REPO, env=env(), capture_output=True, text=True, check=False)
    if os.environ.get("DEMO_TIMING"):
        print(f"[{time.monotonic() - t0:.1f}s]", file=sys.stderr)
    if not quiet:
        if proc.stdout.strip():
            print(proc.stdout.rstrip())
        if proc.stderr.strip():
            print(proc.stderr.rstrip())
    if check and proc.returncode != 0:
        if quiet:
            print(proc.stdout.rstrip())
            print(proc.stderr.rstrip())
        raise StepFailed(f"{shown} exited with {proc.returncode}")
    return proc.stdout


def git(*args: str, cwd: Path | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, env=env(), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise StepFailed(f"git {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout


def setup() -> None:
    if DEMO.exists():
        shutil.rmtree(DEMO)
    (DEMO / "tf-plugin-cache").mkdir(parents=True)
    bare = FORGE / "acme" / "infrastructure-modules"
    url = bare.as_uri()
    # Terraform fetches git sources with the git CLI, so insteadOf rewrites github.com to the local
    # catalog: https, scp-like (git@github.com:...) and the ssh:// form go-getter turns it into.
    (DEMO / "gitconfig").write_text(
        f'[url "{url}"]\n'
        "\tinsteadOf = https://github.com/acme/infrastructure-modules.git\n"
        "\tinsteadOf = https://github.com/acme/infrastructure-modules\n"
        "\tinsteadOf = ssh://git@github.com/acme/infrastructure-modules.git\n"
        "\tinsteadOf = git@github.com:acme/infrastructure-modules.git\n"
        '[protocol "file"]\n\tallow = always\n'
        "[init]\n\tdefaultBranch = main\n"
        "[advice]\n\tdetachedHead = false\n",
        encoding="utf-8",
    )


def pulls(repo: str) -> list[dict]:
    """The PRs of ``repo`` from ``catalog-ops forge show REPO --json`` (demo.py's own read: not
    echoed, as its output is not shown; what it finds is printed where it matters)."""
    out = run(["catalog-ops", "forge", "show", repo, "--json"], quiet=True, echo=False)
    return json.loads(out).get("pulls", [])


def pr_repos(report: Path) -> dict[str, int]:
    """``{repo: PR number}`` of the PRs an apply report mentions (URLs end in ``#pull/N``)."""
    out = {}
    for o in json.loads(report.read_text(encoding="utf-8"))["outcomes"]:
        url = o.get("url") or ""
        if "#pull/" in url:
            out[o["subject"]] = int(url.rsplit("#pull/", 1)[1])
    return out


def show_prs(prs: dict[str, int], *, with_diff: bool) -> dict[str, dict]:
    """Print each PR (diff, body, checks) from ``catalog-ops forge show REPO --json``; returns them."""
    shown = {}
    for repo, number in sorted(prs.items()):
        pr = next(p for p in pulls(repo) if p["number"] == number)
        shown[repo] = pr
        print(f"\n{BOLD}{repo}#{pr['number']}{RESET} [{pr['state']}] {pr['title']}")
        print(
            f"{DIM}  (demo.py's summary of the PR's forge record, read with `forge show {repo} --json`){RESET}"
        )
        print(
            f"  inspect: CATALOG_OPS_LOCAL_ROOT={rel(FORGE)} .venv/bin/catalog-ops forge show {repo}"
            f"   (record {rel(FORGE)}/{repo}.forge.json)"
        )
        reviewers = ", ".join(pr.get("reviewers", []) + pr.get("team_reviewers", [])) or "-"
        if pr.get("state") == "merged":
            merge = f"merged as {str(pr.get('merged_sha') or '')[:12]}"
        else:
            merge = "auto-merge armed" if pr.get("auto_merge") else "auto-merge not armed"
        print(f"  labels: {', '.join(pr.get('labels', []))}   reviewers: {reviewers}   merge: {merge}")
        if with_diff:
            print(f"{DIM}$ git -C {rel(FORGE)}/{repo} show --format= {pr['head_sha'][:12]}{RESET}")
            print(git("-C", str(FORGE / repo), "show", "--format=", pr["head_sha"]).rstrip())
            print(f"{DIM}--- PR body ---{RESET}")
            print(pr["body"].rstrip())
        checks = pr.get("checks") or {}
        if checks:
            print(f"{DIM}--- checks ({checks.get('state')}) ---{RESET}")
            print(checks.get("output", "").rstrip()[-1500:])
    return shown


def main() -> int:
    started = time.monotonic()
    setup()
    say("1. Publish the catalog and release v1.0.0")
    run(["catalog-ops", "forge", "init-repo", CATALOG, "--from", "examples/catalog"])
    run(["catalog-ops", "release", "--repo", CATALOG, "--bump", "major"], quiet=True)
    print(f"{GREEN}released v1.0.0{RESET}")

    say("2. Publish the dependents (pinned to v1.0.0)")
    names = sorted(
        p.name
        for p in (REPO / "examples" / "dependents").iterdir()
        if p.is_dir() and p.name != CHAIN_DEPENDENT
    )
    for name in names:
        extra = ["--no-auto-merge"] if name == "platform-live" else []
        run(
            [
                "catalog-ops",
                "forge",
                "init-repo",
                f"acme/{name}",
                "--from",
                f"examples/dependents/{name}",
                *extra,
            ]
        )
    run(
        [
            "catalog-ops",
            "forge",
            "init-repo",
            "acme/sandbox",
            "--from",
            "examples/dependents/web-app",
            "--archived",
        ]
    )

    say("3. Fix a security issue in modules/network and make a security release")
    work = DEMO / "work" / "catalog"
    git("clone", "-q", (FORGE / CATALOG).as_uri(), str(work))
    variables = work / "modules" / "network" / "variables.tf"
    text = variables.read_text(encoding="utf-8")
    old = "condition     = can(cidrhost(var.cidr_block, 0))"
    if old not in text:
        raise StepFailed(f"{variables}: expected validation not found")
    variables.write_text(
        text.replace(
            old,
            'condition     = can(cidrhost(var.cidr_block, 0)) && tonumber(split("/", var.cidr_block)[1]) >= 8',
        ),
        encoding="utf-8",
    )
    git(
        "commit",
        "-q",
        "-am",
        "fix(network): reject CIDR blocks wider than /8\n\nAvoids routing the whole address space.",
        cwd=work,
    )
    git("push", "-q", "origin", "HEAD:main", cwd=work)
    print(f"{DIM}$ git commit -am 'fix(network): reject CIDR blocks wider than /8' && git push{RESET}")
    run(["catalog-ops", "release", "--repo", CATALOG, "--urgency", "security"])

    say("4. Roll the security release out")
    plan1 = DEMO / "plan-security.json"
    run(
        [
            "catalog-ops",
            "rollout",
            "plan",
            "--catalog",
            CATALOG,
            "--org",
            "acme",
            "--registry-module",
            REGISTRY_MODULE,
            "--out",
            rel(plan1),
        ]
    )
    run(["catalog-ops", "rollout", "shard", "--plan", rel(plan1), "--shards", "2"])
    run(["catalog-ops", "rollout", "apply", "--plan", rel(plan1), "--dry-run"], quiet=True)
    print(
        "(dry run: its output is not repeated here; the diffs and PR texts of the real apply below "
        "are what it printed)"
    )
    report1 = DEMO / "report-security.json"
    run(
        [
            "catalog-ops",
            "rollout",
            "apply",
            "--plan",
            rel(plan1),
            "--wait-and-merge",
            "--poll-interval",
            "1",
            "--wait-timeout",
            "120",
            "--report",
            rel(report1),
        ]
    )
    say("   Each PR: diff, body, checks (run by the local forge), merge state")
    shown = show_prs(pr_repos(report1), with_diff=True)
    not_merged = [repo for repo, pr in shown.items() if pr["state"] != "merged"]
    if not shown or not_merged:
        raise StepFailed(
            f"security PRs not merged (checks failed?): {', '.join(not_merged) or 'no PR opened'}"
        )
    print(
        f"\n{GREEN}{len(shown)} security PRs merged by the merge gate: each only after the dependent's checks ran "
        f"on the PR head and passed, pinned to that head{RESET}"
    )

    say("5. A normal release: feature in modules/naming (used by modules/service)")
    git("pull", "-q", "origin", "main", cwd=work)
    naming = work / "modules" / "naming" / "variables.tf"
    naming.write_text(
        naming.read_text(encoding="utf-8")
        + '\nvariable "suffix" {\n  description = "Optional suffix appended to the id."\n  type        = string\n  default     = ""\n}\n',
        encoding="utf-8",
    )
    git("commit", "-q", "-am", "feat(naming): add an optional suffix variable", cwd=work)
    git("push", "-q", "origin", "HEAD:main", cwd=work)
    print(f"{DIM}$ git commit -am 'feat(naming): add an optional suffix variable' && git push{RESET}")
    run(["catalog-ops", "release", "--repo", CATALOG])
    plan2 = DEMO / "plan-normal.json"
    run(
        [
            "catalog-ops",
            "rollout",
            "plan",
            "--catalog",
            CATALOG,
            "--org",
            "acme",
            "--registry-module",
            REGISTRY_MODULE,
            "--out",
            rel(plan2),
        ]
    )
    report2 = DEMO / "report-normal.json"
    run(
        [
            "catalog-ops",
            "rollout",
            "apply",
            "--plan",
            rel(plan2),
            "--report",
            rel(report2),
        ]
    )
    say("   Run the dependents' checks on the open PRs (they stay open: normal releases need review)")
    prs = pr_repos(report2)
    for repo, number in sorted(prs.items()):
        run(["catalog-ops", "forge", "checks", repo, str(number)])
    shown = show_prs(prs, with_diff=True)
    waiting = [repo for repo, pr in shown.items() if pr["state"] == "open"]
    if not waiting:
        raise StepFailed("no PR is waiting for review after the normal release")
    print(f"\n{GREEN}{len(waiting)} PRs waiting for review: {', '.join(waiting)}{RESET}")

    say("6. Rerun the same apply: idempotent (nothing opened or changed)")
    out = run(["catalog-ops", "rollout", "apply", "--plan", rel(plan2), "--json"], quiet=True)
    counts = json.loads(out)["counts"]
    print(f'outcomes ("counts" of that --json report): {json.dumps(counts)}')
    if set(counts) - {"up_to_date", "skipped"}:
        raise StepFailed(f"rerun was not idempotent: {counts}")

    say("7. The owners review: carol (CODEOWNERS of acme/payments) approves, then merges by hand")
    number = prs.get("acme/payments")
    if number is None:
        raise StepFailed("no PR in acme/payments to review")
    run(["catalog-ops", "forge", "approve", "acme/payments", str(number), "--as", "carol"])
    run(["catalog-ops", "forge", "merge", "acme/payments", str(number)])
    merged = [p for p in pulls("acme/payments") if p["number"] == number]
    if not merged or merged[0]["state"] != "merged" or "carol" not in merged[0].get("approvals", []):
        raise StepFailed("the reviewed PR in acme/payments was not merged")
    print(f"{GREEN}acme/payments#{number} approved by carol and merged{RESET}")

    plan3 = breaking_release_with_patch(work)
    chain_demo()
    canary_wave(work)

    say("Where everything is")
    print(f"forge root:      {rel(FORGE)}/  (bare git repos + <repo>.forge.json records)")
    print(f"plans, reports:  {rel(plan1)}, {rel(plan2)}, {rel(plan3)}, {rel(DEMO)}/report-*.json")
    chain_plans = sorted(DEMO.glob("plan-chain-*.json"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    print(f"chain plans:     {', '.join(rel(p) for p in chain_plans)}")
    print(f"canary plans:    {rel(DEMO / 'plan-canary.json')}, {rel(DEMO / 'plan-next-wave.json')}")
    print(f"git config used by checks (insteadOf -> local catalog): {rel(DEMO / 'gitconfig')}")
    print("inspect with:")
    print(f"  git -C {rel(FORGE)}/{CATALOG} log --oneline --decorate")
    print(f"  git -C {rel(FORGE)}/acme/payments log --oneline --all --decorate")
    print(f"  CATALOG_OPS_LOCAL_ROOT={rel(FORGE)} .venv/bin/catalog-ops forge show")
    print(f"  CATALOG_OPS_LOCAL_ROOT={rel(FORGE)} .venv/bin/catalog-ops forge show acme/payments")
    print(f"  CATALOG_OPS_LOCAL_ROOT={rel(FORGE)} .venv/bin/catalog-ops forge show acme/{CHAIN_DEPENDENT}")
    print(f"  CATALOG_OPS_LOCAL_ROOT={rel(FORGE)} .venv/bin/catalog-ops forge show acme/web-app")
    print(f"\n{GREEN}demo finished in {time.monotonic() - started:.1f}s{RESET}")
    return 0


CANARY_WAVE = """
# Normal releases reach a canary first (docs/rollout.md "Waves"); security releases skip the waves.
rollout:
  exempt: [min_release_age, waves]
  waves:
    - name: canary
      repos: [acme/web-app]
"""


def canary_wave(work: Path) -> None:
    """Step 10: a normal release held by a canary wave: acme/web-app's PR opens, the others wait;
    once the canary merges, the next run opens the next wave (state read back from the forge)."""
    say("10. A canary wave: the platform team rolls normal releases out to acme/web-app first")
    git("pull", "-q", "origin", "main", cwd=work)
    config = work / ".catalog-ops.yml"
    config.write_text(config.read_text(encoding="utf-8") + CANARY_WAVE, encoding="utf-8")
    print(f"{DIM}$ cat >> .catalog-ops.yml{RESET}{CANARY_WAVE}")
    outputs = work / "modules" / "network" / "outputs.tf"
    # the input is ipv4_cidr_block since v2.0.0 (step 8): the dependents' checks validate this
    outputs.write_text(
        outputs.read_text(encoding="utf-8") + '\noutput "cidr" {\n  value = var.ipv4_cidr_block\n}\n',
        encoding="utf-8",
    )
    git("commit", "-q", "-am", "feat(network): output the CIDR block", cwd=work)
    git("push", "-q", "origin", "HEAD:main", cwd=work)
    print(f"{DIM}$ git commit -am 'feat(network): output the CIDR block' && git push{RESET}")
    run(["catalog-ops", "release", "--repo", CATALOG])

    def plan_and_apply(name: str) -> dict[str, dict]:
        path = DEMO / f"plan-{name}.json"
        plan_args = ["--org", "acme", "--registry-module", REGISTRY_MODULE, "--out", rel(path)]
        run(["catalog-ops", "rollout", "plan", "--catalog", CATALOG, *plan_args])
        run(
            [
                "catalog-ops",
                "rollout",
                "apply",
                "--plan",
                rel(path),
                "--report",
                rel(DEMO / f"report-{name}.json"),
            ]
        )
        return {d["repo"]: d for d in json.loads(path.read_text(encoding="utf-8"))["dependents"]}

    first = plan_and_apply("canary")
    held = sorted(r for r, d in first.items() if d["action"] == "hold")
    if first["acme/web-app"]["action"] not in ("open", "update") or not held:
        raise StepFailed(
            f"the canary wave did not hold the others: {first['acme/web-app']['action']}, {held}"
        )
    print(f"{GREEN}canary acme/web-app: its PR is up for review; waiting for it: {', '.join(held)}{RESET}")
    canary = next(p for p in pulls("acme/web-app") if p["state"] == "open")
    number = canary["number"]
    say(
        "   The canary's checks run on its PR head; it is merged (by hand, pinned to that head) only if they pass"
    )
    run(["catalog-ops", "forge", "checks", "acme/web-app", str(number)], check=False)
    canary = next(p for p in pulls("acme/web-app") if p["number"] == number)
    checks = canary.get("checks") or {}
    if checks.get("state") != "success" or checks.get("sha") != canary["head_sha"]:
        show_prs({"acme/web-app": number}, with_diff=False)
        raise StepFailed(
            f"the canary acme/web-app#{number} did not pass its checks on its head "
            f"{canary['head_sha'][:12]}: {checks.get('state') or 'not run'}; the next wave stays held"
        )
    print(f"{GREEN}acme/web-app#{number} passed its checks at {canary['head_sha'][:12]}{RESET}")
    run(["catalog-ops", "forge", "merge", "acme/web-app", str(number)])
    merged = next(p for p in pulls("acme/web-app") if p["number"] == number)
    if merged["state"] != "merged" or merged["head_sha"] != checks["sha"]:
        raise StepFailed(f"acme/web-app#{number} was not merged at the head its checks passed on")

    say("   The canary merged: the next scheduled run opens the next wave")
    second = plan_and_apply("next-wave")
    moved = sorted(r for r in held if second[r]["action"] in ("open", "update"))
    if not moved or second["acme/web-app"]["state"] != "merged":
        raise StepFailed("the next wave did not start after the canary merged")
    print(f"{GREEN}canary passed its checks and merged; next wave: {', '.join(moved)}{RESET}")


MIGRATION_PATCH = """\
schema: 1
release: 2.0.0
description: The input cidr_block of modules/network is now ipv4_cidr_block.
steps:
  - kind: rename_input
    from: cidr_block
    to: ipv4_cidr_block
"""


def breaking_release_with_patch(work: Path) -> Path:
    """Step 8: a breaking release whose migration patch the rollout applies; returns the plan."""
    say("8. A breaking release with a migration patch: modules/network renames cidr_block")
    git("pull", "-q", "origin", "main", cwd=work)
    network = work / "modules" / "network"
    for tf in sorted(network.glob("*.tf")):
        text = tf.read_text(encoding="utf-8")
        new = text.replace('variable "cidr_block"', 'variable "ipv4_cidr_block"').replace(
            "var.cidr_block", "var.ipv4_cidr_block"
        )
        if new != text:
            tf.write_text(new, encoding="utf-8")
    # every use renamed (main.tf, variables.tf, outputs.tf, ...): the module must stay valid
    stale = [
        f"{tf.relative_to(work)}:{n}"
        for tf in sorted(network.rglob("*.tf"))
        for n, line in enumerate(tf.read_text(encoding="utf-8").splitlines(), 1)
        if "var.cidr_block" in line or 'variable "cidr_block"' in line
    ]
    if stale:
        raise StepFailed(f"the rename left uses of cidr_block: {', '.join(stale)}")
    example = work / "examples" / "network" / "main.tf"
    text = example.read_text(encoding="utf-8")
    old = '  name         = "example"\n  cidr_block   = var.cidr_block\n  subnet_count = 2\n'
    if old not in text:
        raise StepFailed(f"{example}: expected module arguments not found")
    example.write_text(
        text.replace(
            old, '  name            = "example"\n  ipv4_cidr_block = var.cidr_block\n  subnet_count    = 2\n'
        ),
        encoding="utf-8",
    )
    patch = network / "migrations" / "v2-ipv4-cidr-block.yml"
    patch.parent.mkdir()
    patch.write_text(MIGRATION_PATCH, encoding="utf-8")
    print(f"{DIM}$ cat {patch.relative_to(work)}{RESET}\n{MIGRATION_PATCH.rstrip()}")
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "feat(network)!: rename the input cidr_block to ipv4_cidr_block", cwd=work)
    print(f"{DIM}$ git commit -m 'feat(network)!: rename the input cidr_block to ipv4_cidr_block'{RESET}")
    say("   The catalog PR check: the patch against the examples as they were before the change")
    run(["catalog-ops", "check", "migrations", "--root", rel(work), "--base", "origin/main", "network"])
    git("push", "-q", "origin", "HEAD:main", cwd=work)
    run(["catalog-ops", "release", "--repo", CATALOG])
    plan = DEMO / "plan-breaking.json"
    run(
        [
            "catalog-ops",
            "rollout",
            "plan",
            "--catalog",
            CATALOG,
            "--org",
            "acme",
            "--registry-module",
            REGISTRY_MODULE,
            "--out",
            rel(plan),
        ]
    )
    report = DEMO / "report-breaking.json"
    run(["catalog-ops", "rollout", "apply", "--plan", rel(plan), "--report", rel(report)])
    say("   Run the dependents' checks on the migrated PRs (breaking: they wait for review)")
    prs = pr_repos(report)
    for repo, number in sorted(prs.items()):
        run(["catalog-ops", "forge", "checks", repo, str(number)], check=False)
    shown = show_prs(
        {r: n for r, n in prs.items() if r in ("acme/web-app", "acme/platform-live")}, with_diff=True
    )
    web = shown.get("acme/web-app")
    if web is None:
        raise StepFailed("no PR in acme/web-app for the breaking release")
    main_tf = git("-C", str(FORGE / "acme" / "web-app"), "show", f"{web['head_sha']}:main.tf")
    if "ipv4_cidr_block = " not in main_tf or "## Migration applied" not in web["body"]:
        raise StepFailed("the migration patch was not applied in acme/web-app's PR")
    if (web.get("checks") or {}).get("state") != "success":
        raise StepFailed("terraform validate failed on the migrated acme/web-app")
    print(
        f"\n{GREEN}the breaking release rolled out with its migration patch applied: "
        f"acme/web-app#{web['number']} passes terraform validate on the migrated code{RESET}"
    )
    return plan


def chain_demo() -> None:
    """Step 9: the security release (v1.0.1) through acme/team-live's dev → stage → prod chain.

    Each run plans and applies once: the plan opens the PR of the first environment that is
    behind; the merge gate merges it after its checks; the next run opens the next environment
    with the versions the previous one now runs on main. ``security_skip_soak`` lets the security
    release skip the 24 h soak its config sets for normal releases."""
    repo = f"acme/{CHAIN_DEPENDENT}"
    say(f"9. Environments inside a dependent: {repo} promotes dev → stage → prod")
    run(["catalog-ops", "forge", "init-repo", repo, "--from", f"examples/dependents/{CHAIN_DEPENDENT}"])
    print(
        (REPO / "examples" / "dependents" / CHAIN_DEPENDENT / ".catalog-ops.yml").read_text(encoding="utf-8")
    )
    envs = ("dev", "stage", "prod")
    for step in range(1, len(envs) + 2):
        plan = DEMO / f"plan-chain-{step}.json"
        common = ["--catalog", CATALOG, "--org", "acme", "--include", CHAIN_DEPENDENT, "--release", "v1.0.1"]
        run(["catalog-ops", "rollout", "plan", *common, "--out", rel(plan)], quiet=True)
        dep = next(d for d in json.loads(plan.read_text(encoding="utf-8"))["dependents"] if d["repo"] == repo)
        chain = dep["chain"]
        states = ", ".join(f"{s['env']}: {s['state']}" for s in chain["steps"])
        print(f"plan {step}: {dep['action']} — {chain['next']}  [{states}]")
        if dep["action"] == "nothing":
            break
        report = DEMO / f"report-chain-{step}.json"
        apply = ["catalog-ops", "rollout", "apply", "--plan", rel(plan), "--wait-and-merge"]
        run([*apply, "--poll-interval", "1", "--wait-timeout", "120", "--report", rel(report)], quiet=True)
        for number in pr_repos(report).values():
            pr = next(p for p in pulls(repo) if p["number"] == number)
            first = next((ln for ln in pr["body"].splitlines() if ln.startswith("**Step")), "")
            print(f"  {repo}#{number} [{pr['state']}] {pr['title']}\n    {first}")
            if pr["state"] != "merged":
                raise StepFailed(f"{repo}#{number} was not merged by the merge gate")
    runs = {
        e: git("-C", str(FORGE / repo), "show", f"main:envs/{e}/main.tf").split("?ref=")[1][:6] for e in envs
    }
    if set(runs.values()) != {"v1.0.1"} or chain["step"] is not None:
        raise StepFailed(f"the chain did not finish: {runs}")
    print(
        f"{GREEN}v1.0.1 went dev → stage → prod: one PR per environment, each merged before the next{RESET}"
    )


# --------------------------------------------------------------------------- checks command
def _tf(args: list[str], cwd: Path, log: list[str], label: str = ".") -> bool:
    from catalog_ops.errors import ToolMissing
    from catalog_ops.toolchain import tool_env, which

    try:
        tf = str(which("terraform"))
    except ToolMissing as exc:
        log.append(f"terraform is not installed: {exc}")
        return False
    log.append(f"$ (cd {label} && terraform {' '.join(args)})")
    proc = subprocess.run([tf, *args], cwd=cwd, env=tool_env(), capture_output=True, text=True, check=False)
    out = (proc.stdout + proc.stderr).strip()
    lines = [
        ln
        for ln in out.splitlines()
        if ln.strip() and "CLI configuration" not in ln and not ln.startswith(("│", "╷", "╵"))
    ]
    if proc.returncode != 0:
        log.append(out)
    elif lines:
        log.append(lines[-1])
    return proc.returncode == 0


def check() -> int:
    """Checks of one PR, run by the local forge in an export of the PR head.

    Per changed directory: Terraform directories get ``fmt -check``, then ``init -backend=false``
    and ``validate`` — except when a module there uses a registry address, which cannot be fetched
    offline (fmt-only, reason printed). Terragrunt units (``terragrunt.hcl``; Terragrunt is not
    needed) get their resolved source fetched with ``terraform init`` in a scratch root module.
    """
    sys.path.insert(0, str(REPO / "scripts"))
    from catalog_ops.core.sources import SourceKind
    from catalog_ops.refs import scan_files

    root = Path.cwd()
    changed = [p for p in os.environ.get("CATALOG_OPS_CHANGED_FILES", "").splitlines() if p]
    files = {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and ".terraform" not in p.parts
    }
    scan = scan_files(files)
    refs = scan.references
    unreadable = {e.path: e for e in scan.errors}
    log: list[str] = [
        f"checks of {os.environ.get('CATALOG_OPS_REPO')}#{os.environ.get('CATALOG_OPS_PR_NUMBER')}: {', '.join(changed)}"
    ]
    ok = True
    dirs = sorted({str(Path(p).parent) for p in changed})
    for d in dirs:
        here = root / d
        in_dir = [r for r in refs if str(Path(r.path).parent) == d and r.source is not None]
        if (here / "terragrunt.hcl").exists():
            for r in in_dir:
                log.append(
                    f"[{d}] Terragrunt unit: fetching its resolved source {r.source.raw} with terraform init in a scratch root module"
                )
                with tempfile.TemporaryDirectory() as tmp:
                    Path(tmp, "main.tf").write_text(f'module "unit" {{\n  source = "{r.source.raw}"\n}}\n')
                    ok &= _tf(
                        ["init", "-backend=false", "-input=false", "-no-color"], Path(tmp), log, "<scratch>"
                    )
            continue
        if not any(here.glob("*.tf")) and not any(here.glob("*.tf.json")):
            continue
        ok &= _tf(["fmt", "-check", "-diff", "-no-color"], here, log, d)
        for path in (p for p in changed if str(Path(p).parent) == d and p.endswith(".tf.json")):
            # terraform fmt reads no .tf.json file: its syntax and references are checked here
            try:
                json.loads((root / path).read_bytes())
            except (OSError, ValueError) as exc:
                log.append(f"[{d}] {path}: not valid JSON: {exc}")
                ok = False
                continue
            if path in unreadable:
                log.append(f"[{d}] {path}: {unreadable[path]}")
                ok = False
                continue
            log.append(f"[{d}] {path}: JSON syntax and module references read (terraform fmt skips .tf.json)")
        registry = [r for r in in_dir if r.source.kind is SourceKind.REGISTRY]
        if registry:
            log.append(
                f"[{d}] fmt only: {registry[0].source.raw} is a registry address and the registry cannot be "
                "reached offline, so init/validate are skipped"
            )
            continue
        ok &= _tf(["init", "-backend=false", "-input=false", "-no-color"], here, log, d) and _tf(
            ["validate", "-no-color"], here, log, d
        )
    print("\n".join(log))
    print("checks passed" if ok else "checks FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        raise SystemExit(check())
    try:
        raise SystemExit(main())
    except StepFailed as exc:
        print(f"\n{RED}demo failed: {exc}{RESET}", file=sys.stderr)
        raise SystemExit(1) from None
