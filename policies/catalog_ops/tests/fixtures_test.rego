# Hand-built plan fragments in the shape `terraform show -json` prints for AWS provider v5/v6.
package catalog_ops.tests.fixtures

import rego.v1

rc(type, name, after) := rc_in("", type, name, after, {})

rc_unknown(type, name, after, after_unknown) := rc_in("", type, name, after, after_unknown)

rc_in(module, type, name, after, after_unknown) := {
	"address": _addr(module, type, name),
	"module_address": module,
	"mode": "managed",
	"type": type,
	"name": name,
	"provider_name": "registry.terraform.io/hashicorp/aws",
	"change": {
		"actions": ["create"],
		"before": null,
		"after": after,
		"after_unknown": after_unknown,
		"before_sensitive": false,
		"after_sensitive": {},
	},
} if module != ""

rc_in("", type, name, after, after_unknown) := {
	"address": sprintf("%s.%s", [type, name]),
	"mode": "managed",
	"type": type,
	"name": name,
	"provider_name": "registry.terraform.io/hashicorp/aws",
	"change": {
		"actions": ["create"],
		"before": null,
		"after": after,
		"after_unknown": after_unknown,
		"before_sensitive": false,
		"after_sensitive": {},
	},
}

_addr(module, type, name) := sprintf("%s.%s.%s", [module, type, name])

plan(changes) := {
	"format_version": "1.2",
	"terraform_version": "1.11.4",
	"resource_changes": changes,
	"configuration": {"root_module": {}},
}

plan_with_config(changes, root_module) := {
	"format_version": "1.2",
	"terraform_version": "1.11.4",
	"resource_changes": changes,
	"configuration": {"root_module": root_module},
}

# One inline ingress block of aws_security_group (all attributes present, as in real plans).
ingress_block(protocol, from, to, cidrs, ipv6) := {
	"cidr_blocks": cidrs,
	"description": "",
	"from_port": from,
	"ipv6_cidr_blocks": ipv6,
	"prefix_list_ids": [],
	"protocol": protocol,
	"security_groups": [],
	"self": false,
	"to_port": to,
}

security_group(name, ingress) := rc_unknown(
	"aws_security_group",
	name,
	{
		"description": "Managed by Terraform",
		"egress": [ingress_block("-1", 0, 0, ["0.0.0.0/0"], ["::/0"])],
		"ingress": ingress,
		"name": name,
		"revoke_rules_on_delete": false,
		"tags": null,
		"timeouts": null,
	},
	{"arn": true, "id": true, "owner_id": true, "vpc_id": true, "egress": [{"cidr_blocks": [false], "ipv6_cidr_blocks": [false], "prefix_list_ids": [], "security_groups": []}], "ingress": [{"cidr_blocks": [false], "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": []}]},
)

sg_rule(name, type, protocol, from, to, cidrs) := rc_unknown(
	"aws_security_group_rule",
	name,
	{
		"cidr_blocks": cidrs,
		"description": null,
		"from_port": from,
		"ipv6_cidr_blocks": null,
		"prefix_list_ids": null,
		"protocol": protocol,
		"self": false,
		"timeouts": null,
		"to_port": to,
		"type": type,
	},
	{"id": true, "security_group_id": true, "security_group_rule_id": true, "source_security_group_id": true},
)

vpc_ingress_rule(name, protocol, from, to, cidr4, cidr6) := rc_unknown(
	"aws_vpc_security_group_ingress_rule",
	name,
	{
		"cidr_ipv4": cidr4,
		"cidr_ipv6": cidr6,
		"description": null,
		"from_port": from,
		"ip_protocol": protocol,
		"prefix_list_id": null,
		"referenced_security_group_id": null,
		"tags": null,
		"to_port": to,
	},
	{"arn": true, "id": true, "security_group_id": true, "security_group_rule_id": true, "tags_all": true},
)
