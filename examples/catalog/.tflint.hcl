# tflint configuration for the catalog (https://github.com/terraform-linters/tflint/blob/master/docs/user-guide/config.md).
# Only the bundled terraform ruleset is used; no plugin is downloaded in CI.
config {
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  preset  = "recommended"
}

rule "terraform_documented_variables" {
  enabled = true
}

rule "terraform_documented_outputs" {
  enabled = true
}

rule "terraform_naming_convention" {
  enabled = true
}
