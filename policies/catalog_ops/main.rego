# Entry point of the bundled pack: data.catalog_ops.deny is the set of violations that no
# exception covers, plus one violation per exception that lacks a reason.
package catalog_ops

import data.catalog_ops.lib
import rego.v1

candidates contains v if {
	some pkg in data.catalog_ops.aws
	some v in pkg.violation
}

deny contains v if {
	some v in candidates
	not lib.excepted(v)
}

deny contains v if {
	some e in lib.exceptions
	trim_space(object.get(e, "reason", "")) == ""
	v := {
		"rule": "catalog_ops.exception_reason_required",
		"address": object.get(e, "address", ""),
		"type": "",
		"name": "",
		"module_address": "",
		"msg": sprintf(
			"exception for rule %v on %v has no reason; every exception needs one",
			[object.get(e, "rule", "?"), object.get(e, "address", "?")],
		),
	}
}

# Violations that an exception covered (reported as notes with the reason).
excepted contains {"violation": v, "reason": e.reason} if {
	some v in candidates
	some e in lib.exceptions
	lib.exception_matches(e, v)
}
