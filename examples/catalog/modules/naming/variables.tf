variable "namespace" {
  description = "Organisation or team prefix, e.g. \"acme\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.namespace))
    error_message = "The namespace must be 2-16 lower-case letters, digits or dashes, starting with a letter."
  }
}

variable "environment" {
  description = "Deployment environment: dev, staging or prod."
  type        = string
  default     = "dev"

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "The environment must be one of dev, staging, prod."
  }
}

variable "name" {
  description = "Component name, e.g. \"api\"."
  type        = string
}

variable "delimiter" {
  description = "Separator between the name parts."
  type        = string
  default     = "-"
}

variable "extra_tags" {
  description = "Tags merged over the standard tags."
  type        = map(string)
  default     = {}
}
