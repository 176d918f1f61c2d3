locals {
  subnets = [for index in range(var.subnet_count) : cidrsubnet(var.cidr_block, var.subnet_newbits, index)]
}

resource "terraform_data" "network" {
  input = {
    name       = var.name
    cidr_block = var.cidr_block
  }
}

resource "terraform_data" "subnet" {
  count = var.subnet_count

  input = {
    network = terraform_data.network.output.name
    cidr    = local.subnets[count.index]
  }
}
