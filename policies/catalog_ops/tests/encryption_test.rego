package catalog_ops.tests.encryption_test

import data.catalog_ops
import data.catalog_ops.tests.fixtures as f
import rego.v1

rules_for(p) := {[v.rule, v.address] | some v in catalog_ops.deny with input as p}

test_ebs if {
	p := f.plan([
		f.rc("aws_ebs_volume", "plain", {"availability_zone": "eu-west-1a", "encrypted": null, "size": 10}),
		f.rc("aws_ebs_volume", "secure", {"availability_zone": "eu-west-1a", "encrypted": true, "size": 10}),
	])
	rules_for(p) == {["aws.encryption.ebs", "aws_ebs_volume.plain"]}
}

lt(name, encrypted) := f.rc("aws_launch_template", name, {"block_device_mappings": [{
	"device_name": "/dev/xvda",
	"ebs": [{"delete_on_termination": null, "encrypted": encrypted, "kms_key_id": null, "volume_size": 20, "volume_type": "gp3"}],
	"no_device": null,
	"virtual_name": null,
}]})

test_launch_template if {
	p := f.plan(["plain" < "", "secure" < "true", f.rc("aws_launch_template", "nodisk", {"block_device_mappings": []})])
	rules_for(p) == {["aws.encryption.launch_template", "aws_launch_template.plain"]}
}

test_rds if {
	p := f.plan([
		f.rc("aws_db_instance", "plain", {"engine": "postgres", "storage_encrypted": false, "replicate_source_db": null}),
		f.rc("aws_db_instance", "secure", {"engine": "postgres", "storage_encrypted": true}),
		f.rc("aws_db_instance", "replica", {"engine": "postgres", "storage_encrypted": false, "replicate_source_db": "primary"}),
		f.rc("aws_rds_cluster", "plain", {"engine": "aurora-postgresql", "engine_mode": "provisioned", "storage_encrypted": null}),
		f.rc("aws_rds_cluster", "secure", {"engine": "aurora-postgresql", "engine_mode": "provisioned", "storage_encrypted": true}),
	])
	rules_for(p) == {["aws.encryption.rds_instance", "aws_db_instance.plain"], ["aws.encryption.rds_cluster", "aws_rds_cluster.plain"]}
}

test_efs if {
	p := f.plan([f.rc("aws_efs_file_system", "plain", {"encrypted": false}), f.rc("aws_efs_file_system", "secure", {"encrypted": true})])
	rules_for(p) == {["aws.encryption.efs", "aws_efs_file_system.plain"]}
}

sse(name, algorithm) := f.rc_unknown(
	"aws_s3_bucket_server_side_encryption_configuration", name, {
		"expected_bucket_owner": null,
		"rule": [{"apply_server_side_encryption_by_default": [{"kms_master_key_id": null, "sse_algorithm": algorithm}], "bucket_key_enabled": null}],
	},
	{"bucket": true, "id": true},
)

bucket(name) := f.rc_unknown("aws_s3_bucket", name, {"bucket": null, "force_destroy": false, "tags": null}, {"bucket": true, "id": true, "server_side_encryption_configuration": true})

s3_config := {"resources": [
	{"address": "aws_s3_bucket.logs", "mode": "managed", "type": "aws_s3_bucket", "name": "logs", "expressions": {}},
	{"address": "aws_s3_bucket.data", "mode": "managed", "type": "aws_s3_bucket", "name": "data", "expressions": {}},
	{
		"address": "aws_s3_bucket_server_side_encryption_configuration.logs",
		"mode": "managed",
		"type": "aws_s3_bucket_server_side_encryption_configuration",
		"name": "logs",
		"expressions": {"bucket": {"references": ["aws_s3_bucket.logs.id", "aws_s3_bucket.logs"]}},
	},
]}

test_s3_bucket_needs_sse_resource if {
	p := f.plan_with_config([bucket("logs"), bucket("data"), sse("logs", "aws:kms")], s3_config)
	rules_for(p) == {["aws.encryption.s3", "aws_s3_bucket.data"]}
}

test_s3_sse_matched_by_known_bucket_name if {
	b := f.rc("aws_s3_bucket", "named", {"bucket": "acme-named"})
	s := f.rc("aws_s3_bucket_server_side_encryption_configuration", "named", {"bucket": "acme-named", "rule": [{"apply_server_side_encryption_by_default": [{"sse_algorithm": "AES256"}]}]})
	count(rules_for(f.plan([b, s]))) == 0
}

test_s3_legacy_inline_sse if {
	b := f.rc("aws_s3_bucket", "legacy", {"bucket": "acme-legacy", "server_side_encryption_configuration": [{"rule": [{"apply_server_side_encryption_by_default": [{"sse_algorithm": "AES256", "kms_master_key_id": ""}], "bucket_key_enabled": false}]}]})
	count(rules_for(f.plan([b]))) == 0
}

test_s3_bad_algorithm if {
	p := f.plan_with_config([bucket("logs"), sse("logs", "none")], s3_config)
	rules_for(p) == {["aws.encryption.s3", "aws_s3_bucket_server_side_encryption_configuration.logs"]}
}

test_eks if {
	p := f.plan([
		f.rc("aws_eks_cluster", "plain", {"name": "plain", "encryption_config": []}),
		f.rc_unknown("aws_eks_cluster", "secure", {"name": "secure", "encryption_config": [{"provider": [{}], "resources": ["secrets"]}]}, {"encryption_config": [{"provider": [{"key_arn": true}], "resources": [false]}]}),
	])
	rules_for(p) == {["aws.encryption.eks_secrets", "aws_eks_cluster.plain"]}
}
