variable "name" {
  description = "Component name."
  type        = string
  default     = "api"
}

module "naming" {
  source = "../../modules/naming"

  namespace   = "acme"
  environment = "dev"
  name        = var.name
}

output "id" {
  description = "Generated name."
  value       = module.naming.id
}

output "tags" {
  description = "Generated tags."
  value       = module.naming.tags
}
