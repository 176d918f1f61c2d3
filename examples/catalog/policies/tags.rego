# Catalog-specific policy: terraform_data labels from modules/naming must carry ManagedBy.
package catalog.tags

import rego.v1

deny contains msg if {
	some rc in input.resource_changes
	rc.type == "terraform_data"
	rc.name == "label"
	not rc.change.after.input.tags.ManagedBy
	msg := sprintf("%s: tags must include ManagedBy", [rc.address])
}
