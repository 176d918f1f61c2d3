"""End-to-end smoke: a real module in a bare git repo, used by git::file:// at a tag.

init, apply, output -json and destroy with the real CLI, for terraform and OpenTofu.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from fixtures.gitrepo import GitRepo

HELLO_MAIN = """\
variable "name" {
  type    = string
  default = "world"
}

resource "terraform_data" "greeting" {
  input = "hello, ${var.name}"
}

output "greeting" {
  value = terraform_data.greeting.output
}
"""


def _tf(binary: Path, cwd: Path, env: dict[str, str], *args: str) -> str:
    proc = subprocess.run([str(binary), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{binary.name} {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_module_from_bare_repo_at_tag(tmp_path: Path, tf_bin: Path, tools_env: dict[str, str]) -> None:
    work = GitRepo(tmp_path / "catalog")
    work.commit("feat: hello module", {"modules/hello/main.tf": HELLO_MAIN})
    work.tag("v1.0.0", "v1.0.0")
    # A later commit must not be what the ref resolves to.
    work.commit("feat: change greeting", {"modules/hello/main.tf": HELLO_MAIN.replace("hello, ", "bye, ")})
    bare = work.bare_clone(tmp_path / "remote" / "catalog.git")

    root = tmp_path / "root"
    root.mkdir()
    (root / "main.tf").write_text(
        f'module "hello" {{\n  source = "git::{bare.as_uri()}//modules/hello?ref=v1.0.0"\n  name   = "catalog"\n}}\n\n'
        'output "greeting" {\n  value = module.hello.greeting\n}\n'
    )
    env = dict(tools_env)
    env["TF_IN_AUTOMATION"] = "1"
    env["TF_DATA_DIR"] = str(root / ".terraform")
    _tf(tf_bin, root, env, "init", "-input=false", "-no-color")
    _tf(tf_bin, root, env, "apply", "-auto-approve", "-input=false", "-no-color")
    outputs = json.loads(_tf(tf_bin, root, env, "output", "-json"))
    assert outputs["greeting"]["value"] == "hello, catalog"
    _tf(tf_bin, root, env, "destroy", "-auto-approve", "-input=false", "-no-color")
    state = json.loads((root / "terraform.tfstate").read_text())
    assert state["resources"] == []
