module "network" {
  source = "git::https://github.com/acme/infrastructure-modules.git//modules/network?ref=v1.0.0"

  name       = "web"
  cidr_block = "10.10.0.0/16"
}

module "frontend" {
  source = "git::https://github.com/acme/infrastructure-modules.git//modules/service?ref=v1.0.0"

  namespace   = "acme"
  environment = "prod"
  name        = "frontend"
  port        = 443
}

output "subnets" {
  value = module.network.subnet_cidrs
}

output "endpoint" {
  value = module.frontend.endpoint
}
