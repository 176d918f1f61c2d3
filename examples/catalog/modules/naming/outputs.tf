output "id" {
  description = "Full resource name: namespace-environment-name."
  value       = terraform_data.label.output.id
}

output "tags" {
  description = "Standard tags for every resource of the component."
  value       = terraform_data.label.output.tags
}
