module "api" {
  source = "git@github.com:acme/infrastructure-modules.git//modules/service?ref=v1.0.0"

  namespace = "acme"
  name      = "payments-api"
  port      = 8443
  replicas  = 3
}

module "network" {
  # scp-like address, as written by people who clone over SSH
  source = "git@github.com:acme/infrastructure-modules.git//modules/network?ref=v1.0.0"

  name = "payments"
}

output "endpoint" {
  value = module.api.endpoint
}
