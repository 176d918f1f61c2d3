"""Provider and registry module addresses as values (named tuples), re-exported by
``core.sources`` (which parses them: ``parse_provider_address``, ``registry_module_address``).

Apart from ``core.sources`` only because typed named tuples need ``typing``: ``core.sources`` is on
every command's start-up path and imports this module on first use.
"""

from __future__ import annotations

from typing import NamedTuple


class ProviderAddress(NamedTuple):
    """A provider source address, normalised (Terraform "Provider Requirements").

    Attributes:
        host: registry hostname (``registry.terraform.io`` when the address has none).
        namespace: organisation namespace (``hashicorp`` for a bare ``TYPE``).
        type: provider type (``aws``).
    """

    host: str
    namespace: str
    type: str

    def __str__(self) -> str:
        return f"{self.host}/{self.namespace}/{self.type}"


class RegistryModuleAddress(NamedTuple):
    """A registry module address ``HOST/NAMESPACE/NAME/SYSTEM`` (Terraform "Module Registry
    Protocol"; ``system`` is the target system, e.g. ``aws``)."""

    host: str
    namespace: str
    name: str
    system: str

    def __str__(self) -> str:
        return f"{self.host}/{self.namespace}/{self.name}/{self.system}"
