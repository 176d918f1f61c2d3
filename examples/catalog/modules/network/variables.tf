variable "name" {
  description = "Network name."
  type        = string
}

variable "cidr_block" {
  description = "IPv4 CIDR block of the network, e.g. \"10.0.0.0/16\"."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr_block, 0))
    error_message = "The cidr_block must be a valid IPv4 CIDR block."
  }
}

variable "subnet_count" {
  description = "Number of subnets to carve out of cidr_block."
  type        = number
  default     = 3

  validation {
    condition     = var.subnet_count >= 1 && var.subnet_count <= 16
    error_message = "The subnet_count must be between 1 and 16."
  }
}

variable "subnet_newbits" {
  description = "Bits added to the network prefix for each subnet (cidrsubnet newbits)."
  type        = number
  default     = 8
}
