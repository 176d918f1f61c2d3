include "root" {
  path   = find_in_parent_folders("root.hcl")
  expose = true
}

terraform {
  source = "${include.root.locals.base_source_url}//modules/service?ref=v1.0.0"
}

inputs = {
  name = "checkout"
}
