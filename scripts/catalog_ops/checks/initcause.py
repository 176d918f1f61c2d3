"""The first cause of a failed ``terraform init``/``tofu init``, and the variables a plan needs.

``init`` prints its errors as blocks (``-no-color``)::

    Error: Failed to query available provider packages

    Could not retrieve the list of available versions for provider hashicorp/aws: could not
    connect to registry.terraform.io: ...

Everything a later ``validate``/``plan`` says after a failed ``init`` ("Missing required
provider", "Module not installed", "inconsistent dependency lock file", "run terraform init")
follows from it. ``first_cause`` returns the first block, with the provider or module source
address it names, so lint and policy report the cause instead of the follow-up advice.
``is_follow_up`` recognises the follow-ups.
"""

from __future__ import annotations

import dataclasses
import re

__all__ = ["InitCause", "first_cause", "is_follow_up"]

_ERROR = re.compile(r"^(?:│\s*)?Error:\s*(?P<summary>.+)$", re.M)
_PROVIDER = re.compile(r"\bprovider\s+\"?(?P<addr>(?:[a-z0-9.-]+\.[a-z]{2,}/)?[\w-]+/[\w-]+)\"?", re.I)
_SOURCE = re.compile(r"(?:\bsource\b|\bfrom\b|\baddress\b)\s*=?\s*\"(?P<addr>[^\"\s]+)\"", re.I)
_MODULE = re.compile(r"\bmodule\s+\"?(?P<addr>[\w./:-]+)\"?", re.I)
_FOLLOW_UP = re.compile(
    r"missing required provider|module not installed|inconsistent dependency lock file|"
    r"run[ \"`']+(?:terraform|tofu) init|required plugins are not installed|"
    r"provider .* not available|could not load plugin|plugin reinitialization required",
    re.I,
)


@dataclasses.dataclass(frozen=True)
class InitCause:
    """The first error ``init`` printed.

    Attributes:
        summary: the ``Error:`` line (``"Failed to query available provider packages"``).
        detail: the paragraph under it, whitespace squashed (at most 400 characters).
        address: the provider (``hashicorp/aws``) or module source address it names, if any.
    """

    summary: str
    detail: str
    address: str | None

    def message(self, directory: str) -> str:
        """``init failed in DIR: <summary> (<address>): <detail>``."""
        where = f" ({self.address})" if self.address else ""
        tail = f": {self.detail}" if self.detail else ""
        return f"init failed in {directory}: {self.summary}{where}{tail}"


def first_cause(output: str) -> InitCause | None:
    """The first ``Error:`` block of ``init`` output (stderr and stdout joined), or None.

    The detail is the text after the summary up to the next ``Error:`` block (box-drawing
    prefixes of newer Terraform versions removed). The address is the first provider address
    (``provider hashicorp/aws``, ``provider registry.terraform.io/hashicorp/aws``), else the first
    quoted module source (``source = "..."``, ``from "..."``), else a ``module "name"``.
    """
    m = _ERROR.search(output)
    if m is None:
        return None
    nxt = _ERROR.search(output, m.end())
    body = output[m.end() : nxt.start() if nxt else len(output)]
    lines = [re.sub(r"^[│╷╵]\s?", "", x).strip() for x in body.splitlines()]
    detail = " ".join(x for x in lines if x and not x.startswith("on ") and not x.startswith("with "))
    detail = " ".join(detail.split())[:400]
    summary = m.group("summary").strip()
    text = f"{summary} {detail}"
    address = None
    for rx in (_SOURCE, _PROVIDER, _MODULE):
        hit = rx.search(text)
        if hit:
            address = hit.group("addr").rstrip(".:,")
            break
    return InitCause(summary=summary, detail=detail, address=address)


def is_follow_up(message: str) -> bool:
    """True for diagnostics that only repeat that ``init`` did not complete."""
    return bool(_FOLLOW_UP.search(message))
