module "network" {
  source = "git::https://github.com/acme/infrastructure-modules.git//modules/network?ref=v1.0.0"

  name       = "team-stage"
  cidr_block = "10.21.0.0/16"
}
