# Shared Terragrunt configuration, included by every unit.
locals {
  base_source_url = "git::https://github.com/acme/infrastructure-modules.git"
  namespace       = "acme"
}

inputs = {
  namespace = local.namespace
}
