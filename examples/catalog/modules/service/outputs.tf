output "id" {
  description = "Service id from the naming module."
  value       = terraform_data.service.output.id
}

output "endpoint" {
  description = "Service endpoint, host:port."
  value       = "${terraform_data.service.output.id}.internal:${terraform_data.service.output.port}"
}

output "tags" {
  description = "Tags applied to the service."
  value       = terraform_data.service.output.tags
}
