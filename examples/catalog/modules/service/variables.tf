variable "namespace" {
  description = "Organisation or team prefix passed to the naming module."
  type        = string
}

variable "environment" {
  description = "Deployment environment: dev, staging or prod."
  type        = string
  default     = "dev"
}

variable "name" {
  description = "Service name."
  type        = string
}

variable "port" {
  description = "TCP port the service listens on."
  type        = number
  default     = 443

  validation {
    condition     = var.port > 0 && var.port < 65536
    error_message = "The port must be between 1 and 65535."
  }
}

variable "replicas" {
  description = "Number of service replicas."
  type        = number
  default     = 2
}
