package repo_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/forkline/forkline/internal/pipelines"
	"github.com/forkline/forkline/internal/repo"
	"github.com/forkline/forkline/internal/store/pebblestore"
)

type templates struct{}

func (templates) PutTemplate(_ context.Context, key string, _ []byte) (string, error) {
	return "https://s3.amazonaws.com/t/" + key, nil
}

// The shipped pipelines resolve by AWS's us-east-1 IDs in any region, and
// are shared for deployment but not for publishing.
func TestBuiltinPipelines(t *testing.T) {
	st, err := pebblestore.Open(t.TempDir(), pebblestore.Options{CacheBytes: 1 << 20, MemTableBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	r := repo.New(st, repo.Config{Region: "eu-west-1", AccountID: "111122223333", Templates: templates{}, TemplateBucket: "t"})
	if err := pipelines.Install(ctx, r); err != nil {
		t.Fatal(err)
	}
	for _, name := range pipelines.Names() {
		id := "arn:aws:serverlessrepo:us-east-1:077246666028:applications/" + name
		url, err := r.Resolve(ctx, "111122223333", id, "1.0.0")
		if err != nil || !strings.Contains(url, name+"/1.0.0/") {
			t.Fatalf("%s: %q %v", name, url, err)
		}
		a, v, err := r.GetApplication(ctx, "111122223333", id, "")
		if err != nil || v.SemanticVersion != "1.0.0" || a.Author != "AWS" || len(v.Parameters) < 4 {
			t.Fatalf("%s: %+v %+v %v", name, a, v, err)
		}
		if _, err := r.CreateVersion(ctx, "111122223333", a.ID, "1.0.1", "Resources: {}", "", ""); !errors.Is(err, repo.ErrForbidden) {
			t.Fatalf("another account published a version of %s: %v", name, err)
		}
	}
	// Installing again (a restart) keeps one version.
	if err := pipelines.Install(ctx, r); err != nil {
		t.Fatal(err)
	}
	vs, err := r.ListVersions(ctx, "111122223333", "arn:aws:serverlessrepo:eu-west-1:077246666028:applications/fork-event-replay-pipeline")
	if err != nil || len(vs) != 1 {
		t.Fatalf("versions: %v %v", vs, err)
	}
}
