include "root" {
  path   = find_in_parent_folders("root.hcl")
  expose = true
}

terraform {
  source = "${include.root.locals.base_source_url}//modules/network?ref=v1.0.0"
}

inputs = {
  name       = "prod"
  cidr_block = "10.30.0.0/16"
}
