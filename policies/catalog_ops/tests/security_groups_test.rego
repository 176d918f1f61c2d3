package catalog_ops.tests.security_groups_test

import data.catalog_ops
import data.catalog_ops.tests.fixtures as f
import rego.v1

rules_for(p) := {[v.rule, v.address] | some v in catalog_ops.deny with input as p}

test_inline_https_from_internet_allowed if {
	p := f.plan([f.security_group("web", [
		f.ingress_block("tcp", 443, 443, ["0.0.0.0/0"], ["::/0"]),
		f.ingress_block("tcp", 80, 80, ["0.0.0.0/0"], []),
	])])
	count(rules_for(p)) == 0
}

test_inline_all_traffic_from_internet_denied if {
	p := f.plan([f.security_group("web", [f.ingress_block("-1", 0, 0, ["0.0.0.0/0"], [])])])
	["aws.sg.public_ingress", "aws_security_group.web"] in rules_for(p)
}

test_inline_ipv6_any_on_8080_denied if {
	p := f.plan([f.security_group("web", [f.ingress_block("tcp", 8080, 8080, [], ["::/0"])])])
	rules_for(p) == {["aws.sg.public_ingress", "aws_security_group.web"]}
}

test_port_range_spanning_allowed_ports_denied if {
	p := f.plan([f.security_group("web", [f.ingress_block("tcp", 80, 443, ["0.0.0.0/0"], [])])])
	["aws.sg.public_ingress", "aws_security_group.web"] in rules_for(p)
}

test_private_cidr_not_public if {
	p := f.plan([f.security_group("db", [f.ingress_block("tcp", 5432, 5432, ["10.0.0.0/8"], [])])])
	count(rules_for(p)) == 0
}

test_egress_to_internet_not_checked if {
	p := f.plan([f.sg_rule("out", "egress", "-1", 0, 0, ["0.0.0.0/0"])])
	count(rules_for(p)) == 0
}

test_sg_rule_http_ok_and_mysql_denied if {
	p := f.plan([
		f.sg_rule("http", "ingress", "tcp", 80, 80, ["0.0.0.0/0"]),
		f.sg_rule("mysql", "ingress", "tcp", 3306, 3306, ["0.0.0.0/0"]),
	])
	rules_for(p) == {["aws.sg.public_ingress", "aws_security_group_rule.mysql"]}
}

test_vpc_ingress_rule_all_protocols_denied if {
	p := f.plan([f.vpc_ingress_rule("all", "-1", null, null, "0.0.0.0/0", null)])
	rules_for(p) == {
		["aws.sg.public_ingress", "aws_vpc_security_group_ingress_rule.all"],
		["aws.sg.ssh_bastion", "aws_vpc_security_group_ingress_rule.all"],
	}
}

test_vpc_ingress_rule_https_ok if {
	p := f.plan([f.vpc_ingress_rule("https", "tcp", 443, 443, null, "::/0")])
	count(rules_for(p)) == 0
}

test_allowed_ports_configurable if {
	p := f.plan([
		f.vpc_ingress_rule("alt", "tcp", 8443, 8443, "0.0.0.0/0", null),
		f.vpc_ingress_rule("https", "tcp", 443, 443, "0.0.0.0/0", null),
	])
	got := {[v.rule, v.address] | some v in catalog_ops.deny with input as p with data.catalog_ops_data as {"allowed_public_ports": [8443]}}
	got == {["aws.sg.public_ingress", "aws_vpc_security_group_ingress_rule.https"]}
}

test_ssh_from_internet_is_two_violations if {
	p := f.plan([f.sg_rule("ssh", "ingress", "tcp", 22, 22, ["0.0.0.0/0"])])
	rules_for(p) == {["aws.sg.public_ingress", "aws_security_group_rule.ssh"], ["aws.sg.ssh_bastion", "aws_security_group_rule.ssh"]}
}

test_ssh_from_private_cidr_denied if {
	p := f.plan([f.vpc_ingress_rule("ssh", "tcp", 22, 22, "10.0.0.0/8", null)])
	rules_for(p) == {["aws.sg.ssh_bastion", "aws_vpc_security_group_ingress_rule.ssh"]}
}

ssh_from_sg(ref) := f.plan_with_config(
	[f.sg_rule("ssh", "ingress", "tcp", 22, 22, null)],
	{"resources": [{
		"address": "aws_security_group_rule.ssh",
		"mode": "managed",
		"type": "aws_security_group_rule",
		"name": "ssh",
		"provider_config_key": "aws",
		"expressions": {
			"from_port": {"constant_value": 22},
			"source_security_group_id": {"references": [sprintf("%s.id", [ref]), ref]},
		},
		"schema_version": 2,
	}]},
)

test_ssh_from_bastion_reference_allowed if {
	count(rules_for(ssh_from_sg("aws_security_group.bastion"))) == 0
}

test_ssh_from_other_group_reference_denied if {
	rules_for(ssh_from_sg("aws_security_group.app")) == {["aws.sg.ssh_bastion", "aws_security_group_rule.ssh"]}
}

test_bastion_refs_configurable if {
	p := ssh_from_sg("aws_security_group.jump")
	got := {v.rule | some v in catalog_ops.deny with input as p with data.catalog_ops_data as {"bastion_security_group_refs": ["aws_security_group.jump"]}}
	count(got) == 0
}

test_ssh_from_known_bastion_id_in_module if {
	rule := f.rc_in(
		"module.app", "aws_vpc_security_group_ingress_rule", "ssh", {
			"cidr_ipv4": null, "cidr_ipv6": null, "from_port": 22, "to_port": 22, "ip_protocol": "tcp",
			"prefix_list_id": null, "referenced_security_group_id": "sg-0bastion",
		},
		{},
	)
	p := f.plan([rule])
	denied := {v.rule | some v in catalog_ops.deny with input as p}
	denied == {"aws.sg.ssh_bastion"}
	allowed := {v.rule | some v in catalog_ops.deny with input as p with data.catalog_ops_data as {"bastion_security_group_ids": ["sg-0bastion"]}}
	count(allowed) == 0
}

test_deleted_resources_ignored if {
	sg := f.security_group("old", [f.ingress_block("-1", 0, 0, ["0.0.0.0/0"], [])])
	deleted := object.union(sg, {"change": object.union(sg.change, {"actions": ["delete"], "after": null})})
	count(rules_for(f.plan([deleted]))) == 0
}
