module "label" {
  source = "../naming"

  namespace   = var.namespace
  environment = var.environment
  name        = var.name
}

resource "terraform_data" "service" {
  input = {
    id       = module.label.id
    port     = var.port
    replicas = var.replicas
    tags     = module.label.tags
  }
}
