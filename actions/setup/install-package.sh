#!/usr/bin/env bash
# Install catalog-ops from this action's checkout into a virtualenv and print the venv's path.
#
# Usage: install-package.sh ACTION_ROOT REUSE
#   ACTION_ROOT  the catalog-ops checkout the action runs from ($GITHUB_ACTION_PATH/../..)
#   REUSE        "true": keep the venv under ~/.cache/catalog-ops/venvs/<key>/ and reuse it in later
#                jobs on the same machine (self-hosted runners); "false": a fresh venv under
#                $RUNNER_TEMP (publishing jobs: nothing another job wrote is trusted).
#
# Dependencies come only from actions/setup/requirements.txt: exact versions, each with the
# SHA-256 of every file PyPI has for it (`pip install --require-hashes --no-deps`; regenerate with
# the pip-compile command in its header). The package itself is then installed editable without
# any index and without build isolation (its build backend, setuptools, is in the lock too), so
# nothing unhashed is downloaded. The package is installed from a copy inside the venv, so its data
# (policies/, toolchain.toml) sit beside its source and the venv does not depend on the action's
# path, which changes from job to job on some runners.
#
# Reuse is verified and never touches a venv a job may be using. The key hashes the Python
# version, the lock and every source file of the package. Each build is a new directory
# <base>/<key>/b-XXXXXX, built completely (every module compiled to checked-hash bytecode, so no
# later import writes into it) before its manifest (SHA-256 of every file, __pycache__ included,
# and the target of every symlink) is written to <build>/.complete and the build is named in
# <base>/<key>/current (written to a temporary file and renamed: atomic). A later job reuses the
# current build only when its manifest still matches byte for byte; otherwise (an edit, a planted
# .pyc or .pth) it builds a new one and leaves the edited one alone, since jobs that run now may
# still be using it. Nothing here ever modifies or deletes a completed build that was set up in
# the last 6 days: GitHub ends a self-hosted runner's job after at most 5 days ("Job execution
# time", https://docs.github.com/en/enterprise-server@3.14/actions/reference/usage-limits-for-self-hosted-runners),
# so a build that no setup has handed out for longer than that is in use by no job and is removed
# (<build>.used, beside it, records the last hand-out). Builders and reuse checks of one key
# serialise on flock(<base>/<key>.lock); pruning takes each key's lock without waiting and skips
# the keys that are busy. This stops a job from leaving modified code for the next one by accident
# or by a plain edit; a job that runs as the same user can still rewrite the manifest too, so
# runners that run untrusted pull requests should be ephemeral or use `cache: "false"`
# (docs/security.md). With REUSE=false every setup builds a new venv under $RUNNER_TEMP.
set -euo pipefail

root=$1
reuse=$2
cd "$root"
lock=actions/setup/requirements.txt
sources=(pyproject.toml scripts)
for optional in README.md policies; do
  if [ -e "$optional" ]; then sources+=("$optional"); fi
done
key=$(
  {
    echo "layout 2: <key>/b-XXXXXX builds" # a different key from the venvs of the old one-venv-per-key layout
    python3 -VV
    sha256sum "$lock"
    find "${sources[@]}" -type f ! -name '*.pyc' ! -path '*.egg-info/*' -print0 | sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-24
)
if [ "$reuse" = "true" ]; then
  base="$HOME/.cache/catalog-ops/venvs"
else
  base="$RUNNER_TEMP/catalog-ops-venvs"
fi
slot="$base/$key"
keep_minutes=$((6 * 24 * 60)) # 6 days: longer than the longest job GitHub runs (see above)

manifest() {
  # every file's hash and every symlink's target, paths relative to the venv, in a stable order
  (
    cd "$1"
    find . -type f ! -path ./.complete -print0 | LC_ALL=C sort -z | xargs -0r sha256sum
    find . -type l -printf '%p -> %l\n' | LC_ALL=C sort
  )
}

build() {
  # a new venv in a fresh directory of $slot; prints its path once it is complete
  local venv pip
  venv=$(mktemp -d "$slot/b-XXXXXX")
  touch "$venv.used" # its age counts from now even if this script dies before handing it out
  python3 -m venv "$venv"
  mkdir -p "$venv/src"
  cp -R "${sources[@]}" "$venv/src/"
  pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-compile --no-deps)
  "${pip[@]}" --require-hashes -r "$lock" >&2
  "${pip[@]}" --no-index --no-build-isolation --editable "$venv/src" >&2
  # Bytecode for every module now, validated against the source's hash at each import: no job
  # writes __pycache__ into the venv later, so the manifest covers the bytecode too.
  "$venv/bin/python" -m compileall -q -f -j 0 --invalidation-mode checked-hash "$venv" >/dev/null ||
    echo "catalog-ops setup: some files of $venv do not compile (not importable either)" >&2
  manifest "$venv" >"$venv.manifest"
  mv "$venv.manifest" "$venv/.complete"
  echo "$venv"
}

mkdir -p "$slot"
exec 9>"$slot.lock"
flock 9
venv=""
if [ "$reuse" = "true" ] && [ -f "$slot/current" ]; then
  read -r current <"$slot/current" || current=""
  candidate="$slot/$current"
  if [ -n "$current" ] && [ -f "$candidate/.complete" ]; then
    if manifest "$candidate" | cmp -s - "$candidate/.complete"; then
      venv=$candidate
    else
      echo "catalog-ops setup: $candidate differs from the manifest written when it was installed; building a new venv (the old one is left to the jobs that may be using it)" >&2
    fi
  fi
fi
if [ -z "$venv" ]; then
  venv=$(build)
  printf '%s\n' "${venv##*/}" >"$slot/current.tmp"
  mv "$slot/current.tmp" "$slot/current"
fi
touch "$venv.used" # handed out now: not removed for the next 6 days
# builds without a manifest are what a killed builder left (a live one would hold the lock)
for partial in "$slot"/b-*/; do
  partial=${partial%/}
  if [ -d "$partial" ] && [ ! -f "$partial/.complete" ]; then rm -rf "$partial" "$partial.manifest" "$partial.used"; fi
done
flock -u 9
exec 9>&-

# Remove builds (of every key) that no setup has handed out for $keep_minutes; skip busy keys.
for lockfile in "$base"/*.lock; do
  [ -e "$lockfile" ] || continue
  other=${lockfile%.lock}
  [ -d "$other" ] || continue
  (
    exec 8>"$lockfile"
    flock -n 8 || exit 0
    if [ -f "$other/.complete" ]; then # a venv of the old layout: .complete was touched at each use
      if [ -n "$(find "$other/.complete" -mmin +"$keep_minutes")" ]; then rm -rf "$other"; fi
      exit 0
    fi
    find "$other" -mindepth 1 -maxdepth 1 -name 'b-*.used' -mmin +"$keep_minutes" -print |
      while read -r used; do rm -rf "${used%.used}" "$used"; done
    if [ -z "$(find "$other" -mindepth 1 -maxdepth 1 -name 'b-*' -print -quit)" ]; then
      rm -rf "$other"
    fi
  )
done
echo "$venv"
