module "network_edge" {
  # Tracks a branch on purpose: never bumped by the rollout (reported as skipped).
  source = "git::https://github.com/acme/infrastructure-modules.git//modules/network?ref=main"

  name = "edge"
}

module "label_pinned" {
  # Pinned to a commit: never bumped (reported as skipped).
  source = "github.com/acme/infrastructure-modules//modules/naming?ref=0123456789abcdef0123456789abcdef01234567"

  namespace = "acme"
  name      = "tools"
}
