package test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gruntwork-io/terratest/modules/files"
)

// copyExample copies the catalog (modules + examples) to a temporary folder so parallel tests
// never share a .terraform directory or state file, and returns the copied examples/<name> path.
func copyExample(t *testing.T, name string) string {
	t.Helper()
	root, err := files.CopyTerraformFolderToTemp("..", "catalog-"+name)
	if err != nil {
		t.Fatalf("copy catalog: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	return filepath.Join(root, "examples", name)
}

// terraformBinary honours TERRATEST_TERRAFORM_BINARY ("terraform" or "tofu"); catalog-ops sets it
// from --tf-binary.
func terraformBinary() string {
	if binary := os.Getenv("TERRATEST_TERRAFORM_BINARY"); binary != "" {
		return binary
	}
	return "terraform"
}
