output "name" {
  description = "Network name."
  value       = terraform_data.network.output.name
}

output "cidr_block" {
  description = "IPv4 CIDR block of the network."
  value       = terraform_data.network.output.cidr_block
}

output "subnet_cidrs" {
  description = "IPv4 CIDR blocks of the subnets, in order."
  value       = [for subnet in terraform_data.subnet : subnet.output.cidr]
}
