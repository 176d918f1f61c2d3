# Encryption at rest (AWS provider v5/v6 plan shapes):
#   aws_ebs_volume                 encrypted = true
#   aws_launch_template            every block_device_mappings[].ebs[] has encrypted = "true"
#                                  (a string in this resource)
#   aws_db_instance                storage_encrypted = true (replicas inherit: replicate_source_db set)
#   aws_rds_cluster                storage_encrypted = true (engine_mode "serverless" is always encrypted)
#   aws_efs_file_system            encrypted = true
#   aws_s3_bucket                  an aws_s3_bucket_server_side_encryption_configuration for the bucket
#                                  (same bucket value, or a configuration reference to the bucket), or
#                                  the legacy inline server_side_encryption_configuration block
#   aws_s3_bucket_server_side_encryption_configuration
#                                  sse_algorithm in AES256, aws:kms, aws:kms:dsse
#   aws_eks_cluster                encryption_config with resources containing "secrets"
package catalog_ops.aws.encryption

import data.catalog_ops.lib
import rego.v1

violation contains lib.violation("aws.encryption.ebs", rc, "EBS volume is not encrypted (set encrypted = true)") if {
	some rc in lib.resources_of_type("aws_ebs_volume")
	not lib.after(rc, "encrypted", false) == true
	not lib.unknown(rc, "encrypted")
}

violation contains v if {
	some rc in lib.resources_of_type("aws_launch_template")
	some i, m in lib.after(rc, "block_device_mappings", [])
	some ebs in object.get(m, "ebs", [])
	not _truthy(object.get(ebs, "encrypted", ""))
	v := lib.violation(
		"aws.encryption.launch_template",
		rc,
		sprintf("block device %v (%v) is not encrypted (set ebs { encrypted = true })", [i, object.get(m, "device_name", "?")]),
	)
}

_truthy(x) if x == true

_truthy(x) if x == "true"

violation contains lib.violation("aws.encryption.rds_instance", rc, "RDS instance storage is not encrypted (set storage_encrypted = true)") if {
	some rc in lib.resources_of_type("aws_db_instance")
	not lib.after(rc, "storage_encrypted", false) == true
	not lib.unknown(rc, "storage_encrypted")
	lib.after(rc, "replicate_source_db", "") == ""
}

violation contains lib.violation("aws.encryption.rds_cluster", rc, "RDS cluster storage is not encrypted (set storage_encrypted = true)") if {
	some rc in lib.resources_of_type("aws_rds_cluster")
	not lib.after(rc, "storage_encrypted", false) == true
	not lib.unknown(rc, "storage_encrypted")
	lib.after(rc, "engine_mode", "provisioned") != "serverless"
}

violation contains lib.violation("aws.encryption.efs", rc, "EFS file system is not encrypted (set encrypted = true)") if {
	some rc in lib.resources_of_type("aws_efs_file_system")
	not lib.after(rc, "encrypted", false) == true
	not lib.unknown(rc, "encrypted")
}

# --- S3 -----------------------------------------------------------------------------------
violation contains lib.violation("aws.encryption.s3", rc, "S3 bucket has no server-side encryption configuration (add aws_s3_bucket_server_side_encryption_configuration)") if {
	some rc in lib.resources_of_type("aws_s3_bucket")
	not _inline_sse(rc)
	not _sse_resource_for(rc)
}

_inline_sse(rc) if {
	some c in lib.after(rc, "server_side_encryption_configuration", [])
	some rule in object.get(c, "rule", [])
	count(object.get(rule, "apply_server_side_encryption_by_default", [])) > 0
}

_sse_resource_for(bucket) if {
	some sse in lib.resources_of_type("aws_s3_bucket_server_side_encryption_configuration")
	name := lib.after(bucket, "bucket", null)
	name != null
	lib.after(sse, "bucket", null) == name
}

_sse_resource_for(bucket) if {
	some sse in lib.resources_of_type("aws_s3_bucket_server_side_encryption_configuration")
	object.get(sse, "module_address", "") == object.get(bucket, "module_address", "")
	some ref in lib.refs(sse, "bucket")
	_ref_to(ref, bucket)
}

_ref_to(ref, bucket) if ref == sprintf("aws_s3_bucket.%s", [bucket.name])

_ref_to(ref, bucket) if startswith(ref, sprintf("aws_s3_bucket.%s.", [bucket.name]))

_ref_to(ref, bucket) if startswith(ref, sprintf("aws_s3_bucket.%s[", [bucket.name]))

valid_sse_algorithms := {"AES256", "aws:kms", "aws:kms:dsse"}

violation contains v if {
	some rc in lib.resources_of_type("aws_s3_bucket_server_side_encryption_configuration")
	some rule in lib.after(rc, "rule", [])
	some d in object.get(rule, "apply_server_side_encryption_by_default", [])
	not object.get(d, "sse_algorithm", "") in valid_sse_algorithms
	v := lib.violation("aws.encryption.s3", rc, sprintf("sse_algorithm %v is not one of %v", [object.get(d, "sse_algorithm", null), valid_sse_algorithms]))
}

violation contains lib.violation("aws.encryption.s3", rc, "server-side encryption configuration has no apply_server_side_encryption_by_default rule") if {
	some rc in lib.resources_of_type("aws_s3_bucket_server_side_encryption_configuration")
	not lib.unknown(rc, "rule")
	count([d | some rule in lib.after(rc, "rule", []); some d in object.get(rule, "apply_server_side_encryption_by_default", [])]) == 0
}

# --- EKS ----------------------------------------------------------------------------------
violation contains lib.violation("aws.encryption.eks_secrets", rc, "EKS cluster does not encrypt Kubernetes secrets (add encryption_config { resources = [\"secrets\"] })") if {
	some rc in lib.resources_of_type("aws_eks_cluster")
	not _eks_secrets(rc)
	not lib.unknown(rc, "encryption_config")
}

_eks_secrets(rc) if {
	some c in lib.after(rc, "encryption_config", [])
	"secrets" in object.get(c, "resources", [])
}
