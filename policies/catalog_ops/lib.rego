# Shared helpers of the bundled catalog-ops policy pack.
#
# Input: the JSON plan representation (`terraform show -json PLANFILE`), format_version 1.x:
#   resource_changes[]: {address, module_address, mode, type, name, index, change: {actions, after, after_unknown}}
#   configuration.root_module: {resources[], module_calls: {NAME: {module: {...}}}}
# Settings: data.catalog_ops_data (written by `catalog-ops check policy`, see docs/checks.md):
#   allowed_public_ports          numbers; default [80, 443]
#   bastion_security_group_ids    literal security group ids allowed as SSH source
#   bastion_security_group_refs   configuration references allowed as SSH source
#                                 (e.g. "aws_security_group.bastion", "var.bastion_security_group_id")
#   exceptions                    [{rule, address, reason}] per-resource exceptions (reason required)
package catalog_ops.lib

import rego.v1

default_allowed_public_ports := [80, 443]

default_bastion_refs := [
	"aws_security_group.bastion",
	"data.aws_security_group.bastion",
	"var.bastion_security_group_id",
	"var.bastion_security_group_ids",
]

default settings := {}

settings := data.catalog_ops_data

allowed_public_ports := object.get(settings, "allowed_public_ports", default_allowed_public_ports)

bastion_ids := object.get(settings, "bastion_security_group_ids", [])

bastion_refs := object.get(settings, "bastion_security_group_refs", default_bastion_refs)

exceptions := object.get(settings, "exceptions", [])

# Resources that exist after the change (created, updated, replaced or unchanged; not deleted),
# managed mode only.
resources contains rc if {
	some rc in input.resource_changes
	object.get(rc, "mode", "managed") == "managed"
	not deleted_only(rc)
	is_object(rc.change.after)
}

deleted_only(rc) if rc.change.actions == ["delete"]

resources_of_type(t) := {rc | some rc in resources; rc.type == t}

# after.<key>, or `default` when absent/null.
after(rc, key, default_value) := v if {
	v := rc.change.after[key]
	v != null
} else := default_value

# Whether after.<key> is unknown until apply.
unknown(rc, key) if rc.change.after_unknown[key] == true

# Same as `unknown`, as a boolean (usable as an object value).
is_unknown(rc, key) if {
	unknown(rc, key)
} else := false

# Address without a trailing instance key: module.a.aws_x.b[0] -> module.a.aws_x.b
base_address(addr) := regex.replace(addr, `\[[^\]]*\]$`, "")

# Address relative to its module: module.a.aws_x.b[0] -> aws_x.b[0]
local_address(rc) := concat(".", [rc.type, rc.name]) if not rc.index
local_address(rc) := sprintf("%s.%s[%v]", [rc.type, rc.name, rc.index]) if is_number(rc.index)
local_address(rc) := sprintf("%s.%s[%q]", [rc.type, rc.name, rc.index]) if is_string(rc.index)

# The configuration block of a resource change (walks module_calls along module_address).
config_module(rc) := m if {
	not rc.module_address
	m := input.configuration.root_module
}

config_module(rc) := m if {
	rc.module_address
	names := [n | some part in regex.find_n(`module\.[^.\[]+`, rc.module_address, -1); n := substring(part, 7, -1)]
	path := array.concat(["configuration", "root_module"], [x | some n in names; some x in ["module_calls", n, "module"]])
	m := object.get(input, path, null)
	m != null
}

resource_config(rc) := r if {
	m := config_module(rc)
	some r in m.resources
	r.type == rc.type
	r.name == rc.name
	object.get(r, "mode", "managed") == "managed"
}

resource_config_or_empty(rc) := r if {
	r := resource_config(rc)
} else := {}

# References (e.g. "aws_security_group.bastion.id") of a top-level argument's expression.
refs(rc, key) := object.get(resource_config_or_empty(rc), ["expressions", key, "references"], [])

# --- ports --------------------------------------------------------------------------------
all_protocols := {"-1", "all"}

port_protocols := {"tcp", "6", "udp", "17"}

# Rule covers every port (protocol -1/all, or a 0-65535 range).
covers_all_ports(protocol, _, _) if lower(sprintf("%v", [protocol])) in all_protocols

covers_all_ports(_, from, to) if {
	from <= 0
	to >= 65535
}

covers_port(protocol, from, to, _) if covers_all_ports(protocol, from, to)

covers_port(protocol, from, to, port) if {
	lower(sprintf("%v", [protocol])) in port_protocols
	from <= port
	port <= to
}

# Every port the rule opens is in `allowed` (only tcp/udp rules with explicit ports can be).
only_ports(protocol, from, to, allowed) if {
	lower(sprintf("%v", [protocol])) in port_protocols
	not covers_all_ports(protocol, from, to)
	count({p | some p in numbers.range(from, to); not p in allowed}) == 0
	to - from < 1024
}

public_cidrs := {"0.0.0.0/0", "::/0"}

# --- exceptions ---------------------------------------------------------------------------
exception_matches(e, v) if {
	e.rule == v.rule
	address_matches(e.address, v.address)
	trim_space(object.get(e, "reason", "")) != ""
}

address_matches(pattern, addr) if pattern == addr

address_matches(pattern, addr) if pattern == base_address(addr)

address_matches(pattern, addr) if endswith(addr, concat("", [".", pattern]))

address_matches(pattern, addr) if endswith(base_address(addr), concat("", [".", pattern]))

excepted(v) if {
	some e in exceptions
	exception_matches(e, v)
}

violation(rule, rc, msg) := {
	"rule": rule,
	"address": rc.address,
	"type": rc.type,
	"name": rc.name,
	"module_address": object.get(rc, "module_address", ""),
	"msg": sprintf("%s: %s", [rc.address, msg]),
}
