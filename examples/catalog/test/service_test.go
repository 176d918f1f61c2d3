package test

import (
	"testing"

	"github.com/gruntwork-io/terratest/modules/terraform"
)

// TestService covers modules/service (and, through it, modules/naming) via examples/service.
func TestService(t *testing.T) {
	t.Parallel()

	options := terraform.WithDefaultRetryableErrors(t, &terraform.Options{
		TerraformDir:    copyExample(t, "service"),
		TerraformBinary: terraformBinary(),
		NoColor:         true,
	})
	defer terraform.Destroy(t, options)
	terraform.InitAndApply(t, options)

	if got := terraform.Output(t, options, "endpoint"); got != "acme-dev-checkout.internal:8443" {
		t.Fatalf("endpoint = %q, want %q", got, "acme-dev-checkout.internal:8443")
	}
}
