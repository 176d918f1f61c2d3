package test

import (
	"testing"

	"github.com/gruntwork-io/terratest/modules/terraform"
)

// TestNaming covers modules/naming through examples/naming.
func TestNaming(t *testing.T) {
	t.Parallel()

	options := terraform.WithDefaultRetryableErrors(t, &terraform.Options{
		TerraformDir:    copyExample(t, "naming"),
		TerraformBinary: terraformBinary(),
		Vars:            map[string]interface{}{"name": "web"},
		NoColor:         true,
	})
	defer terraform.Destroy(t, options)
	terraform.InitAndApply(t, options)

	if got := terraform.Output(t, options, "id"); got != "acme-dev-web" {
		t.Fatalf("id = %q, want %q", got, "acme-dev-web")
	}
	tags := terraform.OutputMap(t, options, "tags")
	if tags["ManagedBy"] != "terraform" {
		t.Fatalf("tags[ManagedBy] = %q, want terraform", tags["ManagedBy"])
	}
}
