package repoapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/forkline/forkline/internal/repo"
	"github.com/forkline/forkline/internal/store/pebblestore"
)

type memTemplates struct{}

func (memTemplates) PutTemplate(_ context.Context, key string, _ []byte) (string, error) {
	return "https://s3.amazonaws.com/t/" + key, nil
}

type noDeploy struct{}

func (noDeploy) CreateChangeSet(context.Context, ChangeSetInput) (string, string, error) {
	return "cs", "stack", nil
}

const appID = "arn:aws:serverlessrepo:us-east-1:000000000000:applications/a"

// FuzzServe: any request gets a well-formed answer: a JSON error with a
// known code, or success; the application a fuzzed request may change
// stays readable.
func FuzzServe(f *testing.F) {
	st, err := pebblestore.Open(f.TempDir(), pebblestore.Options{CacheBytes: 1 << 20, MemTableBytes: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	svc := repo.New(st, repo.Config{Region: "us-east-1", AccountID: "000000000000", Templates: memTemplates{}})
	h := New(svc, noDeploy{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	tpl := "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n"
	if _, _, err := svc.CreateApplication(context.Background(), repo.CreateInput{Name: "a", Author: "x", Description: "d", SemanticVersion: "1.0.0", TemplateBody: tpl}); err != nil {
		f.Fatal(err)
	}
	esc := url.PathEscape(appID)
	seeds := []struct{ method, path, body string }{
		{"POST", "/applications", `{"name":"b","author":"x","description":"d","semanticVersion":"1.0.0","templateBody":"Resources: {Q: {Type: AWS::SQS::Queue}}"}`},
		{"GET", "/applications/" + esc, ""},
		{"PUT", "/applications/" + esc + "/versions/2.0.0", `{"templateBody":"Resources: {}"}`},
		{"PUT", "/applications/" + esc + "/policy", `{"statements":[{"principals":["*"],"actions":["Deploy"]}]}`},
		{"POST", "/applications/" + esc + "/changesets", `{"stackName":"s","parameterOverrides":[{"name":"a","value":"b"}]}`},
		{"PATCH", "/applications/" + esc, `{"description":"x","labels":["a"]}`},
		{"GET", "/applications?maxItems=0", ""},
		{"DELETE", "/applications/%zz", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.body)
	}
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if method == "DELETE" && path == "/applications/"+esc {
			return // keep the application under test
		}
		u, err := url.Parse(path)
		if err != nil {
			return
		}
		w := httptest.NewRecorder()
		h.Serve(w, &Request{Ctx: context.Background(), RequestID: "r", Method: method, Path: u.EscapedPath(), Query: u.Query(), Body: []byte(body), Caller: "000000000000"})
		if w.Code >= 400 {
			var e struct{ ErrorCode, Message string }
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || statuses[e.ErrorCode] == 0 {
				t.Fatalf("%s %s: error body %q", method, path, w.Body.String())
			}
			if e.ErrorCode == "InternalServerErrorException" {
				t.Fatalf("%s %s %q: internal error", method, path, body)
			}
		}
		if _, _, err := svc.GetApplication(context.Background(), "000000000000", appID, "1.0.0"); err != nil {
			t.Fatalf("the application is unreadable after %s %s: %v", method, path, err)
		}
	})
}
