package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestSampleTemplatesPassCfnLint: the templates the end-to-end tests deploy
// are ones AWS would take; cfn-lint (AWS's linter) finds nothing in them.
func TestSampleTemplatesPassCfnLint(t *testing.T) {
	requireClient(t, "cfn-lint", "--version")
	dir := t.TempDir()
	files := map[string]string{"pipeline.yaml": pipelineTemplate, "sam.yaml": samTemplate, "parent.yaml": deployParent, "queues.yaml": deployChild}
	var args []string
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, name)
	}
	cmd := exec.Command("cfn-lint", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cfn-lint: %v\n%s", err, out)
	}
}
