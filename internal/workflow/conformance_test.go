package workflow

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
			// Branches and iterations that run concurrently interleave
			// their events in any order: within a Parallel or Map state the
			// lines are compared sorted, and not at all when the state
			// failed.
			stack := [][]string{nil}
			for _, ev := range events {
				line := ev.Type
				if d, ok := ev.Details["stateEnteredEventDetails"].(map[string]any); ok {
					line += " " + fmt.Sprint(d["name"])
				}
				switch ev.Type {
				case "ParallelStateSucceeded", "ParallelStateFailed", "ParallelStateAborted", "MapStateSucceeded", "MapStateFailed", "MapStateAborted":
					if len(stack) > 1 {
						inner := stack[len(stack)-1]
						slices.Sort(inner)
						if !strings.HasSuffix(ev.Type, "Succeeded") {
							// A failure cancels the others mid-way: how far
							// they got varies from run to run.
							inner = []string{"(events of the cancelled branches or iterations vary)"}
						}
						stack = stack[:len(stack)-1]
						stack[len(stack)-1] = append(stack[len(stack)-1], inner...)
					}
				}
				stack[len(stack)-1] = append(stack[len(stack)-1], line)
				if ev.Type == "ParallelStateStarted" || ev.Type == "MapStateStarted" {
					stack = append(stack, nil)
				}
			}
			for len(stack) > 1 { // a state that did not end
				inner := stack[len(stack)-1]
				slices.Sort(inner)
				stack = stack[:len(stack)-1]
				stack[len(stack)-1] = append(stack[len(stack)-1], inner...)
			}
			history := strings.Join(stack[0], "\n") + "\n"
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

// TestConformanceSecondOpinions runs the corpus through two other
// interpreters, aws-local-stepfunctions (npm) and moto's (Python), and
// checks that they disagree with the documented expectations exactly where
// testdata/second-opinions.json says, each entry resolved
// against the AWS documentation (SECOND-OPINIONS.md has the references).
// A new disagreement, or an old one gone, fails the test. It is skipped
// where Node.js or moto is missing.
func TestConformanceSecondOpinions(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two other interpreters")
	}
	files, _ := filepath.Glob("testdata/conformance/*.json")
	type named struct {
		Name string `json:"name"`
		conformanceCase
		Definition  json.RawMessage            `json:"definition"`
		Input       json.RawMessage            `json:"input"`
		TaskResults map[string]json.RawMessage `json:"taskResults,omitempty"`
		TaskErrors  map[string]struct {
			Error string `json:"Error"`
			Cause string `json:"Cause"`
		} `json:"taskErrors,omitempty"`
	}
	var cases []named
	expect := map[string]conformanceCase{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c named
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(raw, &c.conformanceCase)
		c.Name = strings.TrimSuffix(filepath.Base(f), ".json")
		expect[c.Name] = c.conformanceCase
		cases = append(cases, c)
	}
	all, _ := json.Marshal(cases)
	corpus := filepath.Join(t.TempDir(), "corpus.json")
	if err := os.WriteFile(corpus, all, 0o644); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("testdata/second-opinions.json")
	if err != nil {
		t.Fatal(err)
	}
	var known map[string]map[string]string
	if err := json.Unmarshal(raw, &known); err != nil {
		t.Fatal(err)
	}
	tools, _ := filepath.Abs("../../tools")
	opinions := []struct {
		name  string
		ready func() error
		cmd   *exec.Cmd
	}{
		{"aws-local-stepfunctions", func() error {
			if _, err := exec.LookPath("node"); err != nil {
				return err
			}
			dir := filepath.Join(tools, "aws-local-stepfunctions")
			if _, err := os.Stat(filepath.Join(dir, "node_modules", "aws-local-stepfunctions")); err == nil {
				return nil
			}
			npm := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
			npm.Dir = dir
			if out, err := npm.CombinedOutput(); err != nil {
				return fmt.Errorf("npm ci: %v: %s", err, out)
			}
			return nil
		}, exec.Command("node", filepath.Join(tools, "aws-local-stepfunctions", "run.mjs"), corpus)},
		{"moto", func() error {
			return exec.Command("python3", "-c", "import moto.stepfunctions.parser").Run()
		}, exec.Command("python3", filepath.Join(tools, "moto-sfn", "moto_run.py"), corpus)},
	}
	for _, op := range opinions {
		t.Run(op.name, func(t *testing.T) {
			if err := op.ready(); err != nil {
				t.Skipf("%s is not available: %v", op.name, err)
			}
			op.cmd.Stderr = nil
			out, err := op.cmd.Output()
			if err != nil {
				t.Fatalf("%s: %v", op.name, err)
			}
			var results []struct {
				Name, Status, Error string
				Output              json.RawMessage
			}
			if err := json.Unmarshal(out, &results); err != nil {
				t.Fatalf("%s printed %q: %v", op.name, out, err)
			}
			disagree := map[string]string{}
			for _, r := range results {
				want := expect[r.Name].Expect
				var why string
				switch {
				case r.Status != want.Status:
					why = fmt.Sprintf("status %s (%s)", r.Status, r.Error)
				case r.Status == "SUCCEEDED" && canonical(t, string(r.Output)) != canonical(t, string(want.Output)):
					why = "output " + string(r.Output)
				case r.Status == "FAILED" && r.Error != want.Error:
					why = "error " + r.Error
				}
				if why != "" {
					disagree[r.Name] = why
				}
			}
			for name, why := range disagree {
				if _, ok := known[op.name][name]; !ok {
					t.Errorf("%s disagrees with %s, which expects %s: %s", op.name, name, expect[name].Expect.Status, why)
				}
			}
			for name := range known[op.name] {
				if _, ok := disagree[name]; !ok {
					t.Errorf("%s now agrees on %s: remove it from second-opinions.json", op.name, name)
				}
			}
		})
	}
}
