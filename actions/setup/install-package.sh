#!/usr/bin/env bash
# Install catalog-ops from this action's checkout into a virtualenv and print the venv's path.
#
# Usage: install-package.sh ACTION_ROOT REUSE
#   ACTION_ROOT  the catalog-ops checkout the action runs from ($GITHUB_ACTION_PATH/../..)
#   REUSE        "true": keep the venv under ~/.cache/catalog-ops/venvs/<key> and reuse it in later
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
# Reuse is verified: the key hashes the Python version, the lock and every source file of the
# package, and after a verified install the venv's manifest (SHA-256 of every file and the target
# of every symlink, __pycache__ aside) is written to <venv>/.complete. A later job reuses the venv
# only when the manifest still matches byte for byte, and removes every __pycache__ first (a
# planted .pyc would otherwise run); an edited venv is deleted and rebuilt. This stops a job from
# leaving modified code for the next one by accident or by a plain edit; a job that runs as the
# same user can still rewrite the manifest too, so runners that run untrusted pull requests should
# be ephemeral or use `cache: "false"` (docs/security.md).
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
venv="$base/$key"

manifest() {
  # every file's hash and every symlink's target, paths relative to the venv, in a stable order
  (
    cd "$1"
    find . -path '*/__pycache__' -prune -o -type f ! -name .complete -print0 | LC_ALL=C sort -z | xargs -0r sha256sum
    find . -path '*/__pycache__' -prune -o -type l -printf '%p -> %l\n' | LC_ALL=C sort
  )
}

mkdir -p "$base"
exec 9>"$venv.lock"
flock 9
if [ -f "$venv/.complete" ]; then
  find "$venv" -type d -name __pycache__ -prune -exec rm -rf {} +
  if ! manifest "$venv" | cmp -s - "$venv/.complete"; then
    echo "catalog-ops setup: $venv differs from the manifest written when it was installed; reinstalling" >&2
    rm -f "$venv/.complete"
  fi
fi
if [ ! -f "$venv/.complete" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  mkdir -p "$venv/src"
  cp -R "${sources[@]}" "$venv/src/"
  pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-compile --no-deps)
  "${pip[@]}" --require-hashes -r "$lock" >&2
  # --no-compile: Python compiles only the modules a job imports, not every installed file.
  "${pip[@]}" --no-index --no-build-isolation --editable "$venv/src" >&2
  manifest "$venv" >"$venv.manifest"
  mv "$venv.manifest" "$venv/.complete"
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
