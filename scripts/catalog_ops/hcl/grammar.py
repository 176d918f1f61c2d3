"""Semantic-only reads of HCL through python-hcl2's full grammar (no offsets).

The rest of ``hcl`` is standard library only and gives offsets; python-hcl2 (lark) costs
≈ 170 ms of import, so it is imported inside each function here, never at module level
(docs/internals.md "Why python-hcl2 is not behind this interface"). Used by ``migrate.load`` to
check an ``add_input`` expression.
"""

from __future__ import annotations


def one_expression_problem(text: str) -> str | None:
    """Why ``text`` (one line) is not exactly one HCL expression to python-hcl2's full grammar,
    None when it is: ``x = <text>`` must parse as exactly one attribute. The product's own lexer
    (``hcl.body``) only tokenises, so a dangling operator (``var.a +``) or two expressions side
    by side (``var.a b``) pass it.

    Returns a short reason (``not exactly one HCL expression (...)``; columns count from 1 in
    ``text``)."""
    import hcl2

    try:
        parsed = hcl2.loads(f"x = {text}\n")
    except Exception as exc:  # lark's UnexpectedInput and friends: any parse failure
        token = getattr(exc, "token", None)
        column = getattr(exc, "column", None)
        if token is None or getattr(token, "type", "") == "$END" or not isinstance(column, int):
            return "not exactly one HCL expression (incomplete, or more than one)"
        return (
            f"not exactly one HCL expression (unexpected {str(token).strip()!r} at column "
            f"{max(column - 4, 1)} of the expression)"
        )
    if not isinstance(parsed, dict) or list(parsed) != ["x"]:
        return "not one HCL expression"
    return None
