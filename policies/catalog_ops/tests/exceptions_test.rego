package catalog_ops.tests.exceptions_test

import data.catalog_ops
import data.catalog_ops.tests.fixtures as f
import rego.v1

public_sg := f.rc_in(
	"module.web", "aws_security_group_rule", "any", {
		"type": "ingress", "protocol": "tcp", "from_port": 8080, "to_port": 8080,
		"cidr_blocks": ["0.0.0.0/0"], "ipv6_cidr_blocks": null, "prefix_list_ids": null, "self": false,
	},
	{},
)

test_exception_with_reason_suppresses if {
	settings := {"exceptions": [{"rule": "aws.sg.public_ingress", "address": "aws_security_group_rule.any", "reason": "public demo endpoint, SEC-42"}]}
	denied := catalog_ops.deny with input as f.plan([public_sg]) with data.catalog_ops_data as settings
	count(denied) == 0
	excepted := catalog_ops.excepted with input as f.plan([public_sg]) with data.catalog_ops_data as settings
	{e.reason | some e in excepted} == {"public demo endpoint, SEC-42"}
}

test_exception_full_address if {
	settings := {"exceptions": [{"rule": "aws.sg.public_ingress", "address": "module.web.aws_security_group_rule.any", "reason": "ok"}]}
	count(catalog_ops.deny) == 0 with input as f.plan([public_sg]) with data.catalog_ops_data as settings
}

test_exception_without_reason_is_a_violation if {
	settings := {"exceptions": [{"rule": "aws.sg.public_ingress", "address": "aws_security_group_rule.any", "reason": "  "}]}
	denied := {v.rule | some v in catalog_ops.deny with input as f.plan([public_sg]) with data.catalog_ops_data as settings}
	denied == {"aws.sg.public_ingress", "catalog_ops.exception_reason_required"}
}

test_exception_for_other_rule_does_not_apply if {
	settings := {"exceptions": [{"rule": "aws.sg.ssh_bastion", "address": "aws_security_group_rule.any", "reason": "x"}]}
	denied := {v.rule | some v in catalog_ops.deny with input as f.plan([public_sg]) with data.catalog_ops_data as settings}
	denied == {"aws.sg.public_ingress"}
}

test_exception_for_other_address_does_not_apply if {
	settings := {"exceptions": [{"rule": "aws.sg.public_ingress", "address": "aws_security_group_rule.other", "reason": "x"}]}
	denied := {v.rule | some v in catalog_ops.deny with input as f.plan([public_sg]) with data.catalog_ops_data as settings}
	denied == {"aws.sg.public_ingress"}
}
