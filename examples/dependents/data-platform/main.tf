module "label" {
  # Registry-style address of the catalog's naming module (published to the private registry).
  source  = "app.terraform.io/acme/naming/generic"
  version = "1.0.0"

  namespace = "acme"
  name      = "warehouse"
}

output "id" {
  value = module.label.id
}
