package e2e

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/forkline/forkline/internal/server/servertest"
)

var updateGolden = flag.Bool("update", false, "rewrite golden files")

// TestChangeSetGoldens: an UPDATE change set from X.before.yaml to
// X.after.yaml lists the changes in X.golden: each resource's action,
// replacement (from the resource reference's "Update requires" rules) and
// the changed properties with RequiresRecreation, as DescribeChangeSet
// shows them. Regenerate with go test ./e2e -run ChangeSetGoldens -update.
func TestChangeSetGoldens(t *testing.T) {
	cases, _ := filepath.Glob("testdata/changesets/*.before.yaml")
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	s := servertest.Start(t, servertest.Options{})
	c := cloudformation.NewFromConfig(s.Config())
	caps := []cfntypes.Capability{cfntypes.CapabilityCapabilityIam}
	for _, before := range cases {
		name := strings.TrimSuffix(filepath.Base(before), ".before.yaml")
		t.Run(name, func(t *testing.T) {
			b, _ := os.ReadFile(before)
			a, _ := os.ReadFile(strings.Replace(before, ".before.", ".after.", 1))
			stack := "cs-" + name
			if _, err := c.CreateStack(ctx(t), &cloudformation.CreateStackInput{StackName: aws.String(stack), TemplateBody: aws.String(string(b)), Capabilities: caps}); err != nil {
				t.Fatal(err)
			}
			waitStack(t, c, stack, "CREATE_COMPLETE")
			if _, err := c.CreateChangeSet(ctx(t), &cloudformation.CreateChangeSetInput{StackName: aws.String(stack), ChangeSetName: aws.String("next"),
				TemplateBody: aws.String(string(a)), Capabilities: caps}); err != nil {
				t.Fatal(err)
			}
			cs, err := c.DescribeChangeSet(ctx(t), &cloudformation.DescribeChangeSetInput{StackName: aws.String(stack), ChangeSetName: aws.String("next")})
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, ch := range cs.Changes {
				rc := ch.ResourceChange
				line := fmt.Sprintf("%s %s %s", rc.Action, aws.ToString(rc.LogicalResourceId), aws.ToString(rc.ResourceType))
				if rc.Replacement != "" {
					line += " Replacement=" + string(rc.Replacement)
				}
				var scope []string
				for _, sc := range rc.Scope {
					scope = append(scope, string(sc))
				}
				if len(scope) > 0 {
					line += " Scope=" + strings.Join(scope, ",")
				}
				for _, d := range rc.Details {
					line += fmt.Sprintf(" %s:%s", aws.ToString(d.Target.Name), d.Target.RequiresRecreation)
				}
				lines = append(lines, line)
			}
			sort.Strings(lines)
			got := strings.Join(lines, "\n") + "\n"
			golden := strings.Replace(before, ".before.yaml", ".golden", 1)
			if *updateGolden {
				os.WriteFile(golden, []byte(got), 0o644)
			}
			want, _ := os.ReadFile(golden)
			if got != string(want) {
				t.Fatalf("change set differs from %s\n got:\n%s\nwant:\n%s", golden, got, want)
			}
			// Executing it applies the changes; replaced resources get new
			// physical IDs.
			if _, err := c.ExecuteChangeSet(ctx(t), &cloudformation.ExecuteChangeSetInput{StackName: aws.String(stack), ChangeSetName: aws.String("next")}); err != nil {
				t.Fatal(err)
			}
			waitStack(t, c, stack, "UPDATE_COMPLETE")
		})
	}
}
