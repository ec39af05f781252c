package workflow

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forkline/forkline/internal/clock"
	"github.com/forkline/forkline/internal/store/pebblestore"
)

var update = flag.Bool("update", false, "rewrite the conformance corpus's golden histories")

// conformanceCase is one file of testdata/conformance: a state machine,
// its input, what its Task states answer, and the result that the AWS
// documentation gives (its comment says where).
type conformanceCase struct {
	Comment     string                     `json:"comment"`
	Definition  json.RawMessage            `json:"definition"`
	Input       json.RawMessage            `json:"input"`
	TaskResults map[string]json.RawMessage `json:"taskResults"`
	TaskErrors  map[string]struct {
		Error, Cause string
	} `json:"taskErrors"`
	Expect struct {
		Status string          `json:"status"`
		Output json.RawMessage `json:"output"`
		Error  string          `json:"error"`
		Cause  *string         `json:"cause"`
	} `json:"expect"`
}

// corpusTasks answers a Task whose Resource names a Lambda function after
// its state, from the case's taskResults and taskErrors.
type corpusTasks struct{ c *conformanceCase }

func (t corpusTasks) InvokeFunction(ctx context.Context, fn string, payload []byte) (Invocation, error) {
	name := fn[strings.LastIndexByte(fn, ':')+1:]
	if e, ok := t.c.TaskErrors[name]; ok {
		doc, _ := json.Marshal(map[string]string{"errorType": e.Error, "errorMessage": e.Cause})
		return Invocation{Payload: doc, ErrorType: e.Error}, nil
	}
	if r, ok := t.c.TaskResults[name]; ok {
		return Invocation{Payload: r}, nil
	}
	return Invocation{}, &ServiceError{Code: "ResourceNotFoundException", Message: "Function not found: " + fn, Status: 404}
}

func (corpusTasks) SendMessage(context.Context, string, string, string, string) (map[string]any, error) {
	return nil, fmt.Errorf("the corpus has no SQS tasks")
}

func (corpusTasks) Publish(context.Context, string, string, string) (map[string]any, error) {
	return nil, fmt.Errorf("the corpus has no SNS tasks")
}

// canonical re-encodes a JSON document with numbers as float64, so that
// 2.50 and 2.5 compare equal.
func canonical(t *testing.T, raw string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatalf("not JSON: %q: %v", raw, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestConformanceCorpus runs every case of testdata/conformance through the
// interpreter (as a STANDARD execution, on a real store, with Wait and
// Retry delays skipped on the fake clock) and checks its result, and its
// history against the golden NNN.history file (-update rewrites those).
func TestConformanceCorpus(t *testing.T) {
	files, _ := filepath.Glob("testdata/conformance/*.json")
	if len(files) == 0 {
		t.Fatal("no conformance cases")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var c conformanceCase
			if err := json.Unmarshal(raw, &c); err != nil {
				t.Fatal(err)
			}
			info, events := runCase(t, &c)
			switch {
			case info.Status != c.Expect.Status:
				t.Fatalf("status %s (%s: %s), want %s", info.Status, info.Error, info.Cause, c.Expect.Status)
			case c.Expect.Status == "SUCCEEDED":
				if got, want := canonical(t, info.Output), canonical(t, string(c.Expect.Output)); got != want {
					t.Fatalf("output\n got %s\nwant %s", got, want)
				}
			default:
				if info.Error != c.Expect.Error {
					t.Fatalf("error %q (cause %q), want %q", info.Error, info.Cause, c.Expect.Error)
				}
				if c.Expect.Cause != nil && info.Cause != *c.Expect.Cause {
					t.Fatalf("cause\n got %q\nwant %q", info.Cause, *c.Expect.Cause)
				}
			}
			var lines []string
			for _, ev := range events {
				line := ev.Type
				if d, ok := ev.Details["stateEnteredEventDetails"].(map[string]any); ok {
					line += " " + fmt.Sprint(d["name"])
				}
				lines = append(lines, line)
			}
			history := strings.Join(lines, "\n") + "\n"
			golden := strings.TrimSuffix(file, ".json") + ".history"
			if *update {
				if err := os.WriteFile(golden, []byte(history), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -run Conformance -update writes it)", err)
			}
			if string(want) != history {
				t.Fatalf("history differs from %s:\n%s", golden, history)
			}
		})
	}
}

func runCase(t *testing.T, c *conformanceCase) (ExecutionInfo, []Event) {
	t.Helper()
	st, err := pebblestore.Open(t.TempDir(), pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	fake := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	svc, err := New(ctx, st, Config{Region: "us-east-1", AccountID: "000000000000", Clock: fake, Tasks: corpusTasks{c}})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	m, err := svc.CreateStateMachine(ctx, "corpus", string(c.Definition), "arn:aws:iam::000000000000:role/r", "STANDARD")
	if err != nil {
		t.Fatalf("definition refused: %v", err)
	}
	input := "{}"
	if len(c.Input) > 0 {
		input = string(c.Input)
	}
	ex, err := svc.StartExecution(ctx, m.Arn, "case", input)
	if err != nil {
		t.Fatal(err)
	}
	// Skip Wait and Retry delays: whenever a timer waits, fire it.
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
				if fake.Pending() > 0 {
					fake.Advance(24 * time.Hour)
				}
			}
		}
	}()
	info, err := svc.Wait(ctx, ex.Arn)
	close(done)
	if err != nil {
		t.Fatal(err)
	}
	events, err := svc.History(ctx, ex.Arn, false)
	if err != nil {
		t.Fatal(err)
	}
	// Details as a client sees them (JSON).
	for i := range events {
		b, _ := json.Marshal(events[i].Details)
		events[i].Details = nil
		json.Unmarshal(b, &events[i].Details)
	}
	return info, events
}
