locals {
  id = lower(join(var.delimiter, [var.namespace, var.environment, var.name]))

  tags = merge(
    {
      Name        = local.id
      Namespace   = var.namespace
      Environment = var.environment
      ManagedBy   = "terraform"
    },
    var.extra_tags,
  )
}

resource "terraform_data" "label" {
  input = {
    id   = local.id
    tags = local.tags
  }
}

check "id_length" {
  assert {
    condition     = length(local.id) <= 63
    error_message = "The generated id ${local.id} is longer than 63 characters."
  }
}
