variable "name" {
  description = "Service name."
  type        = string
  default     = "checkout"
}

module "service" {
  source = "../../modules/service"

  namespace = "acme"
  name      = var.name
  port      = 8443
}

output "id" {
  description = "Service id."
  value       = module.service.id
}

output "endpoint" {
  description = "Service endpoint."
  value       = module.service.endpoint
}
