#!/usr/bin/env bash
# Install catalog-ops from this action's checkout into a virtualenv and print the venv's path.
#
# Usage: install-package.sh ACTION_ROOT REUSE
#   ACTION_ROOT  the catalog-ops checkout the action runs from ($GITHUB_ACTION_PATH/../..)
#   REUSE        "true": keep the venv under ~/.cache/catalog-ops/venvs/<key> and reuse it in later
#                jobs on the same machine (self-hosted runners); "false": a fresh venv under
#                $RUNNER_TEMP (publishing jobs: nothing another job wrote is trusted).
# The key hashes the Python version and every source file of the package, so a changed action or
# interpreter gets a new venv. The package is installed editable from a copy inside the venv, so
# its data (policies/, toolchain.toml) sit beside its source and the venv does not depend on the
# action's path, which changes from job to job on some runners.
set -euo pipefail

root=$1
reuse=$2
cd "$root"
sources=(pyproject.toml scripts)
for optional in README.md policies; do
  if [ -e "$optional" ]; then sources+=("$optional"); fi
done
key=$(
  {
    python3 -VV
    find "${sources[@]}" -type f ! -name '*.pyc' ! -path '*.egg-info/*' -print0 | sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-24
)
if [ "$reuse" = "true" ]; then
  base="$HOME/.cache/catalog-ops/venvs"
else
  base="$RUNNER_TEMP/catalog-ops-venvs"
fi
venv="$base/$key"
mkdir -p "$base"
exec 9>"$venv.lock"
flock 9
if [ ! -f "$venv/.complete" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  mkdir -p "$venv/src"
  cp -R "${sources[@]}" "$venv/src/"
  # --no-compile: Python compiles only the modules a job imports, not every installed file.
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-compile --editable "$venv/src" >&2
fi
touch "$venv/.complete" # marks it as recently used
flock -u 9
if [ "$reuse" = "true" ]; then
  # Keep the three most recently used venvs; skip any that another job is using right now.
  find "$base" -mindepth 2 -maxdepth 2 -name .complete -printf '%T@ %h\n' | sort -rn | tail -n +4 | cut -d' ' -f2- |
    while read -r old; do
      (
        exec 8>"$old.lock"
        if flock -n 8; then rm -rf "$old" "$old.lock"; fi
      )
    done
fi
echo "$venv"
