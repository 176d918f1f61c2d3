package test

import (
	"reflect"
	"testing"

	"github.com/gruntwork-io/terratest/modules/terraform"
)

// TestNetwork covers modules/network through examples/network.
func TestNetwork(t *testing.T) {
	t.Parallel()

	options := terraform.WithDefaultRetryableErrors(t, &terraform.Options{
		TerraformDir:    copyExample(t, "network"),
		TerraformBinary: terraformBinary(),
		Vars:            map[string]interface{}{"cidr_block": "10.30.0.0/16"},
		NoColor:         true,
	})
	defer terraform.Destroy(t, options)
	terraform.InitAndApply(t, options)

	got := terraform.OutputList(t, options, "subnet_cidrs")
	want := []string{"10.30.0.0/24", "10.30.1.0/24"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("subnet_cidrs = %v, want %v", got, want)
	}
}
