# Security-group ingress rules (AWS provider v5/v6 plan shapes):
#   aws_security_group.ingress[]                 inline blocks: cidr_blocks, ipv6_cidr_blocks,
#                                                prefix_list_ids, security_groups, self, from_port,
#                                                to_port, protocol
#   aws_security_group_rule (type = "ingress")   cidr_blocks, ipv6_cidr_blocks, prefix_list_ids,
#                                                source_security_group_id, self, from/to_port, protocol
#   aws_vpc_security_group_ingress_rule          cidr_ipv4, cidr_ipv6, prefix_list_id,
#                                                referenced_security_group_id, ip_protocol,
#                                                from_port/to_port (null when ip_protocol = "-1")
#
# Rules:
#   aws.sg.public_ingress  no ingress admits 0.0.0.0/0 or ::/0 except on allowed_public_ports
#   aws.sg.ssh_bastion     ingress covering TCP 22 only from the bastion security group
package catalog_ops.aws.security_groups

import data.catalog_ops.lib
import rego.v1

_list(x) := x if is_array(x)

_list(x) := [] if x == null

_list(x) := [x] if is_string(x)

# Normalised ingress rules: one object per rule.
ingress contains r if {
	some rc in lib.resources_of_type("aws_security_group")
	some i, b in lib.after(rc, "ingress", [])
	r := {
		"rc": rc,
		"where": sprintf("ingress block %d", [i]),
		"protocol": object.get(b, "protocol", "-1"),
		"from": _num(object.get(b, "from_port", null), 0),
		"to": _num(object.get(b, "to_port", null), 65535),
		"cidrs": array.concat(_list(object.get(b, "cidr_blocks", [])), _list(object.get(b, "ipv6_cidr_blocks", []))),
		"prefix_lists": _list(object.get(b, "prefix_list_ids", [])),
		"self": object.get(b, "self", false) == true,
		"sg_ids": _list(object.get(b, "security_groups", [])),
		"sg_unknown": _inline_sg_unknown(rc, i),
		"sg_refs": object.get(lib.resource_config_or_empty(rc), ["expressions", "ingress", i, "security_groups", "references"], []),
	}
}

ingress contains r if {
	some rc in lib.resources_of_type("aws_security_group_rule")
	lib.after(rc, "type", "") == "ingress"
	r := {
		"rc": rc,
		"where": "rule",
		"protocol": lib.after(rc, "protocol", "-1"),
		"from": _num(lib.after(rc, "from_port", null), 0),
		"to": _num(lib.after(rc, "to_port", null), 65535),
		"cidrs": array.concat(_list(lib.after(rc, "cidr_blocks", [])), _list(lib.after(rc, "ipv6_cidr_blocks", []))),
		"prefix_lists": _list(lib.after(rc, "prefix_list_ids", [])),
		"self": lib.after(rc, "self", false) == true,
		"sg_ids": _list(lib.after(rc, "source_security_group_id", null)),
		"sg_unknown": lib.is_unknown(rc, "source_security_group_id"),
		"sg_refs": lib.refs(rc, "source_security_group_id"),
	}
}

ingress contains r if {
	some rc in lib.resources_of_type("aws_vpc_security_group_ingress_rule")
	r := {
		"rc": rc,
		"where": "rule",
		"protocol": lib.after(rc, "ip_protocol", "-1"),
		"from": _num(lib.after(rc, "from_port", null), 0),
		"to": _num(lib.after(rc, "to_port", null), 65535),
		"cidrs": array.concat(_list(lib.after(rc, "cidr_ipv4", null)), _list(lib.after(rc, "cidr_ipv6", null))),
		"prefix_lists": _list(lib.after(rc, "prefix_list_id", null)),
		"self": false,
		"sg_ids": _list(lib.after(rc, "referenced_security_group_id", null)),
		"sg_unknown": lib.is_unknown(rc, "referenced_security_group_id"),
		"sg_refs": lib.refs(rc, "referenced_security_group_id"),
	}
}

_num(x, _) := x if is_number(x)

_num(x, d) := d if not is_number(x)

_inline_sg_unknown(rc, i) if {
	rc.change.after_unknown.ingress[i].security_groups == true
} else := false

# --- aws.sg.public_ingress -----------------------------------------------------------------
violation contains v if {
	some r in ingress
	some cidr in r.cidrs
	cidr in lib.public_cidrs
	not lib.only_ports(r.protocol, r.from, r.to, lib.allowed_public_ports)
	v := lib.violation(
		"aws.sg.public_ingress",
		r.rc,
		sprintf(
			"%s admits %s on %s; only ports %v may be open to the internet",
			[r.where, cidr, _ports(r), lib.allowed_public_ports],
		),
	)
}

_ports(r) := "all ports" if lib.covers_all_ports(r.protocol, r.from, r.to)

_ports(r) := sprintf("%v port %d", [r.protocol, r.from]) if {
	not lib.covers_all_ports(r.protocol, r.from, r.to)
	r.from == r.to
}

_ports(r) := sprintf("%v ports %d-%d", [r.protocol, r.from, r.to]) if {
	not lib.covers_all_ports(r.protocol, r.from, r.to)
	r.from != r.to
}

# --- aws.sg.ssh_bastion --------------------------------------------------------------------
ssh_rules contains r if {
	some r in ingress
	lib.covers_port(r.protocol, r.from, r.to, 22)
}

violation contains v if {
	some r in ssh_rules
	some cidr in r.cidrs
	v := lib.violation("aws.sg.ssh_bastion", r.rc, sprintf("%s allows SSH (22) from CIDR %s; SSH must come from the bastion security group", [r.where, cidr]))
}

violation contains v if {
	some r in ssh_rules
	some pl in r.prefix_lists
	v := lib.violation("aws.sg.ssh_bastion", r.rc, sprintf("%s allows SSH (22) from prefix list %v; SSH must come from the bastion security group", [r.where, pl]))
}

violation contains v if {
	some r in ssh_rules
	r.self
	v := lib.violation("aws.sg.ssh_bastion", r.rc, sprintf("%s allows SSH (22) from the group itself (self = true); SSH must come from the bastion security group", [r.where]))
}

violation contains v if {
	some r in ssh_rules
	some id in r.sg_ids
	not id in lib.bastion_ids
	not _bastion_ref(r)
	v := lib.violation("aws.sg.ssh_bastion", r.rc, sprintf("%s allows SSH (22) from security group %v, which is not the bastion's", [r.where, id]))
}

violation contains v if {
	some r in ssh_rules
	r.sg_unknown
	count(r.sg_ids) == 0
	not _bastion_ref(r)
	v := lib.violation("aws.sg.ssh_bastion", r.rc, sprintf("%s allows SSH (22) from a security group that is not a bastion reference %v", [r.where, lib.bastion_refs]))
}

_bastion_ref(r) if {
	some ref in r.sg_refs
	some b in lib.bastion_refs
	_ref_is(ref, b)
}

_ref_is(ref, b) if ref == b

_ref_is(ref, b) if startswith(ref, concat("", [b, "."]))

_ref_is(ref, b) if startswith(ref, concat("", [b, "["]))
