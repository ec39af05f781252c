package searchapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/forkline/forkline/internal/search"
	"github.com/forkline/forkline/internal/store/pebblestore"
)

// FuzzServe: every request to a domain endpoint gets JSON (or the
// _cat text) with a 2xx, or an OpenSearch error document, never a 5xx.
func FuzzServe(f *testing.F) {
	st, err := pebblestore.Open(f.TempDir(), pebblestore.Options{CacheBytes: 1 << 20, MemTableBytes: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	svc, err := search.New(context.Background(), st, search.Config{Region: "us-east-1", AccountID: "000000000000"})
	if err != nil {
		f.Fatal(err)
	}
	svc.CreateDomain(context.Background(), "logs", "OpenSearch_2.11")
	h := New(svc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, s := range []struct{ method, path, body string }{
		{"POST", "/_bulk", "{\"index\":{\"_index\":\"a\"}}\n{\"x\":1}\n{\"create\":{\"_index\":\"a\",\"_id\":\"7\"}}\n{\"y\":\"z\"}\n"},
		{"POST", "/a/_search", `{"query":{"match_all":{}}}`},
		{"PUT", "/a/_doc/1", `{"k":"v"}`},
		{"GET", "/a/_doc/1", ""},
		{"GET", "/_cat/indices", ""},
		{"DELETE", "/a", ""},
		{"POST", "/_bulk", "{\"delete\":{}}\n"},
	} {
		f.Add(s.method, s.path, s.body)
	}
	f.Fuzz(func(t *testing.T, method, path, body string) {
		u, err := url.Parse(path)
		if err != nil {
			return
		}
		w := httptest.NewRecorder()
		h.Serve(context.Background(), w, method, Prefix+"logs"+u.EscapedPath(), u.Query(), []byte(body))
		if w.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, path, body, w.Code, w.Body.String())
		}
		if w.Code >= 400 {
			var e struct {
				Error struct{ Type string } `json:"error"`
				Found *bool                 `json:"found"`
			}
			// A missing document is {"found": false} with 404, as in OpenSearch.
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || (e.Error.Type == "" && e.Found == nil) {
				t.Fatalf("%s %s: error body %q", method, path, w.Body.String())
			}
		}
	})
}
