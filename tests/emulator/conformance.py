"""Validate emulator traffic against GitHub's published API descriptions.

* REST: GitHub's OpenAPI description ``api.github.com.json`` from the npm package
  ``@octokit/openapi`` (pinned in ``tests/openapi/package.json``; ``make venv`` runs
  ``npm ci --prefix tests/openapi``). Every request the client sends must be an operation of the
  description (method + path template), its query parameters must fit their schemas and its JSON
  body the operation's request-body schema. Every response the emulator returns is validated
  against the response schema declared for its status — for the fields present (``required``
  is not enforced on responses: the emulator renders the fields the product reads).
* GraphQL: each document is validated against GitHub's public schema (``@octokit/graphql-schema``)
  with graphql-core, and its variables coerced against the operation's variable definitions.

OpenAPI 3.0 schemas are validated with ``jsonschema``'s Draft 4 validator extended for
``nullable``. Violations are kept as ``"<operation> <where>: <json path>: <message>"``; the
``github_emulator`` fixture fails the test that caused one. Counts: ``stats``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

NODE_MODULES = Path(__file__).resolve().parent.parent / "openapi" / "node_modules" / "@octokit"
OPENAPI_JSON = NODE_MODULES / "openapi" / "generated" / "api.github.com.json"


def available() -> bool:
    """Whether the OpenAPI description is installed (``npm ci --prefix tests/openapi``)."""
    return OPENAPI_JSON.is_file()


@dataclasses.dataclass
class Operation:
    method: str
    template: str
    regex: re.Pattern[str]
    spec: dict[str, Any]
    literal: int  # literal characters, to prefer /git/ref/{ref} over /{a}/{b}


@functools.lru_cache(maxsize=1)
def _load() -> tuple[dict[str, Any], list[Operation], Any, Any]:
    import jsonschema

    doc = json.loads(OPENAPI_JSON.read_text())
    ops: list[Operation] = []
    for template, item in doc["paths"].items():
        parts = re.split(r"(\{[^}]+\})", template)
        pattern = ""
        for i, part in enumerate(parts):
            if part.startswith("{"):
                last = i >= len(parts) - 2
                pattern += "(.+)" if last and part in ("{ref}", "{path}", "{branch}", "{tag}") else "([^/]+)"
            else:
                pattern += re.escape(part)
        literal = sum(len(p) for p in parts if not p.startswith("{"))
        for method, spec in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                ops.append(Operation(method.upper(), template, re.compile(f"^{pattern}$"), spec, literal))
    ops.sort(key=lambda o: -o.literal)

    def nullable(fn: Any) -> Any:
        def check(validator: Any, value: Any, instance: Any, schema: dict[str, Any]) -> Iterator[Any]:
            if instance is None and schema.get("nullable"):
                return iter(())
            return fn(validator, value, instance, schema) or iter(())

        return check

    Draft4 = jsonschema.Draft4Validator
    kw = {
        k: nullable(v)
        for k, v in Draft4.VALIDATORS.items()
        if k in ("type", "enum", "allOf", "anyOf", "oneOf")
    }
    RequestValidator = jsonschema.validators.extend(Draft4, kw)
    ResponseValidator = jsonschema.validators.extend(RequestValidator, {"required": lambda *a: iter(())})
    root_req = RequestValidator(doc)
    root_resp = ResponseValidator(doc)
    return doc, ops, root_req, root_resp


def _deref(doc: dict[str, Any], obj: Any) -> Any:
    while isinstance(obj, dict) and "$ref" in obj:
        node: Any = doc
        for part in obj["$ref"].lstrip("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        obj = node
    return obj


def _coerce(value: str, schema: dict[str, Any]) -> Any:
    t = schema.get("type")
    try:
        if t == "integer":
            return int(value)
        if t == "number":
            return float(value)
    except ValueError:
        return value
    if t == "boolean":
        return {"true": True, "false": False}.get(value, value)
    if t == "array":
        return value.split(",")
    return value


def _path(err: Any) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)


class Conformance:
    """Per-emulator validator and counters (the description is loaded once per process)."""

    def __init__(self) -> None:
        self.doc, self.ops, self._req, self._resp = _load()
        self.violations: list[str] = []
        self.stats = {
            "requests_validated": 0,
            "requests_failed": 0,
            "responses_validated": 0,
            "responses_failed": 0,
            "graphql_validated": 0,
            "graphql_failed": 0,
        }
        self.operations: dict[str, int] = {}

    def find(self, method: str, path: str) -> Operation | None:
        for op in self.ops:
            if op.method == method and op.regex.match(path):
                return op
        return None

    def _schema_errors(self, validator: Any, schema: dict[str, Any], instance: Any) -> list[str]:
        v = validator.evolve(schema=schema)
        return [f"{_path(e)}: {e.message[:300]}" for e in v.iter_errors(instance)]

    def check_request(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> list[str]:
        """Validate one REST request; returns (and records) its violations."""
        self.stats["requests_validated"] += 1
        op = self.find(method, path)
        if op is None:
            found = [f"{method} {path}: no such operation in GitHub's OpenAPI description"]
            self._fail("requests_failed", found)
            return found
        name = f"{method} {op.template}"
        self.operations[name] = self.operations.get(name, 0) + 1
        problems: list[str] = []
        for param in op.spec.get("parameters", []):
            param = _deref(self.doc, param)
            if param.get("in") != "query" or param["name"] not in query:
                continue
            schema = param.get("schema", {})
            value = _coerce(query[param["name"]][0], _deref(self.doc, schema))
            for msg in self._schema_errors(self._req, schema, value):
                problems.append(f"{name} query parameter {param['name']}: {msg}")
        rb = _deref(self.doc, op.spec.get("requestBody"))
        if body is not None and body != {}:
            if not rb:
                problems.append(f"{name} request body: the operation takes no body")
            else:
                schema = rb.get("content", {}).get("application/json", {}).get("schema")
                if schema:
                    for msg in self._schema_errors(self._req, schema, body):
                        problems.append(f"{name} request body {msg}")
        elif rb and rb.get("required"):
            problems.append(f"{name} request body: required but missing")
        self._fail("requests_failed", problems)
        return problems

    def check_response(self, method: str, path: str, status: int, body: Any) -> list[str]:
        """Validate one REST response against the schema declared for ``status``."""
        op = self.find(method, path)
        if op is None:
            return []
        declared = op.spec.get("responses", {}).get(str(status))
        if declared is None:
            return []  # e.g. 401/5xx, which GitHub documents globally, not per operation
        self.stats["responses_validated"] += 1
        declared = _deref(self.doc, declared)
        schema = declared.get("content", {}).get("application/json", {}).get("schema")
        if schema is None or body is None:
            return []
        problems = [
            f"{method} {op.template} response {status} {msg}"
            for msg in self._schema_errors(self._resp, schema, body)
        ]
        self._fail("responses_failed", problems)
        return problems

    def check_schema(self, name: str, instance: Any, *, response: bool = True) -> list[str]:
        """Validate ``instance`` against ``#/components/schemas/<name>`` of the description (e.g.
        ``basic-error``, the error body GitHub documents for every operation, or
        ``validation-error`` for a 422 with ``errors``); response rules (``required`` not
        enforced) unless ``response=False``. Returns the problems and records them as
        violations. KeyError for a schema the description does not have."""
        self.doc["components"]["schemas"][name]  # KeyError: no such schema
        validator = self._resp if response else self._req
        problems = [
            f"schema {name} {msg}"
            for msg in self._schema_errors(validator, {"$ref": f"#/components/schemas/{name}"}, instance)
        ]
        if problems:
            self.violations.extend(problems)
        return problems

    def check_graphql(self, payload: Any) -> list[str]:
        """Validate a GraphQL request document (and its variables) against GitHub's schema."""
        from emulator import gql

        sch = gql.schema()
        if sch is None or not isinstance(payload, dict):
            return []
        from graphql import GraphQLError, OperationDefinitionNode, parse, validate
        from graphql.execution.values import get_variable_values

        self.stats["graphql_validated"] += 1
        problems: list[str] = []
        try:
            document = parse(payload.get("query", ""))
        except GraphQLError as exc:
            problems.append(f"graphql: {exc.message}")
        else:
            problems += [f"graphql: {e.message}" for e in validate(sch, document)]
            for node in document.definitions:
                if isinstance(node, OperationDefinitionNode) and not problems:
                    coerced = get_variable_values(
                        sch, node.variable_definitions or [], payload.get("variables") or {}
                    )
                    if isinstance(coerced, list):
                        problems += [f"graphql variables: {e.message}" for e in coerced]
        self._fail("graphql_failed", problems)
        return problems

    def check_graphql_response(self, payload: Any, out: Any) -> list[str]:
        """Check the ``data`` the emulator answered against the schema for the selected fields:
        the answer is replayed through graphql-core as the root value, so a wrong type, a
        bad enum value or a missing non-null field shows as an error at its path."""
        from emulator import gql

        sch = gql.schema()
        if sch is None or not isinstance(payload, dict) or not isinstance(out, dict):
            return []
        data = out.get("data")
        if not isinstance(data, dict) or out.get("errors"):
            return []
        from graphql import graphql_sync

        self.stats["graphql_responses_validated"] = self.stats.get("graphql_responses_validated", 0) + 1

        def resolve_type(value: Any, info: Any, abstract: Any) -> str | None:
            # the client may not have asked for __typename: take the first possible object
            # type that has every field the answer carries
            if isinstance(value, dict) and value.get("__typename"):
                return str(value["__typename"])
            keys = set(value) if isinstance(value, dict) else set()
            for cand in info.schema.get_possible_types(abstract):
                if keys <= set(cand.fields) | {"__typename"}:
                    return str(cand.name)
            return None

        result = graphql_sync(
            sch,
            payload.get("query", ""),
            root_value=data,
            variable_values=payload.get("variables"),
            type_resolver=resolve_type,
        )
        problems = [
            f"graphql response $.data.{'.'.join(str(p) for p in (e.path or []))}: {e.message}"
            for e in result.errors or []
        ]
        if problems:
            self.stats["graphql_responses_failed"] = self.stats.get("graphql_responses_failed", 0) + 1
            self.violations.extend(problems)
        return problems

    def _fail(self, counter: str, problems: list[str]) -> None:
        if problems:
            self.stats[counter] += 1
            self.violations.extend(problems)
