package eventsapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/forkline/forkline/internal/clock"
	"github.com/forkline/forkline/internal/events"
	"github.com/forkline/forkline/internal/store/pebblestore"
)

// FuzzServe: any action and body gets a JSON answer or a JSON error with a
// client code, never an internal error.
func FuzzServe(f *testing.F) {
	st, err := pebblestore.Open(f.TempDir(), pebblestore.Options{CacheBytes: 1 << 20, MemTableBytes: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}
	svc, err := events.New(context.Background(), st, events.Config{Region: "us-east-1", AccountID: "000000000000", Clock: clock.NewFake(clock.Real{}.Now())})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { svc.Close(); st.Close() })
	h := New(svc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	seeds := [][2]string{
		{"PutRule", `{"Name":"r","ScheduleExpression":"cron(0 12 ? * MON-FRI *)"}`},
		{"PutRule", `{"Name":"p","EventPattern":"{\"source\":[\"shop\"],\"detail\":{\"total\":[{\"numeric\":[\">\",1]}]}}"}`},
		{"PutTargets", `{"Rule":"p","Targets":[{"Id":"t","Arn":"arn:aws:sqs:us-east-1:000000000000:q","InputPath":"$.detail"}]}`},
		{"PutEvents", `{"Entries":[{"Source":"shop","DetailType":"x","Detail":"{\"total\":5}"}]}`},
		{"TestEventPattern", `{"EventPattern":"{\"a\":[1]}","Event":"{\"a\":1}"}`},
		{"ListRules", `{"NamePrefix":"","Limit":1,"NextToken":"1"}`},
		{"DeleteRule", `{"Name":"r"}`},
		{"DisableRule", `{"Name":"p"}`},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, action, body string) {
		w := httptest.NewRecorder()
		h.Serve(context.Background(), w, "r", action, []byte(body))
		if w.Code >= 500 {
			t.Fatalf("%s %q: %d %s", action, body, w.Code, w.Body.String())
		}
		if w.Code >= 400 {
			var e map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e["__type"] == nil {
				t.Fatalf("%s: error body %q", action, w.Body.String())
			}
		}
	})
}
