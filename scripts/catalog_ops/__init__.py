"""catalog-ops: CI/CD for a Terraform service catalog and the repositories that depend on it."""

__version__ = "0.1.0"
