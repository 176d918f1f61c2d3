variable "cidr_block" {
  description = "IPv4 CIDR block of the network."
  type        = string
  default     = "10.20.0.0/16"
}

module "network" {
  source = "../../modules/network"

  name         = "example"
  cidr_block   = var.cidr_block
  subnet_count = 2
}

output "subnet_cidrs" {
  description = "Subnet CIDR blocks."
  value       = module.network.subnet_cidrs
}
