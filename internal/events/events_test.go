package events

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/forkline/forkline/internal/clock"
	"github.com/forkline/forkline/internal/store/pebblestore"
)

type sink chan []byte

func (s sink) Deliver(_ context.Context, t Target, ev []byte) error {
	s <- append([]byte(t.ID+" "), ev...)
	return nil
}

func open(t *testing.T, dir string, clk clock.Clock, out sink) (*Service, func()) {
	t.Helper()
	st, err := pebblestore.Open(dir, pebblestore.Options{CacheBytes: 1 << 20, MemTableBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(context.Background(), st, Config{Region: "us-east-1", AccountID: "000000000000", Clock: clk, Deliverer: out})
	if err != nil {
		t.Fatal(err)
	}
	return s, func() { s.Close(); st.Close() }
}

func waitFor(t *testing.T, out sink) string {
	t.Helper()
	select {
	case b := <-out:
		return string(b)
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery")
	}
	return ""
}

// advance moves the fake clock once the schedule loop waits on it.
func advance(t *testing.T, clk *clock.Fake, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for clk.Pending() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	clk.Advance(d)
}

func TestScheduledRuleFiresOnTheClockAndSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC))
	dir := t.TempDir()
	out := make(sink, 10)
	s, closeFn := open(t, dir, clk, out)
	if _, err := s.PutRule(ctx, PutRuleInput{Name: "tick", ScheduleExpression: "rate(1 minute)"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutTargets(ctx, "tick", "", []Target{{ID: "t1", Arn: "arn:aws:lambda:us-east-1:000000000000:function:f"}}); err != nil {
		t.Fatal(err)
	}
	advance(t, clk, time.Minute)
	got := waitFor(t, out)
	var ev map[string]any
	if err := json.Unmarshal([]byte(got[3:]), &ev); err != nil {
		t.Fatal(got, err)
	}
	// The scheduled event's shape: "Amazon EventBridge events" in the user guide.
	if ev["detail-type"] != "Scheduled Event" || ev["source"] != "aws.events" || ev["time"] != "2026-11-27T06:01:00Z" {
		t.Fatalf("event = %v", ev)
	}
	if err := s.DeleteRule(ctx, "tick", "", false); err == nil {
		t.Fatal("a rule with targets was deleted")
	}
	if err := s.SetState(ctx, "tick", "", false); err != nil {
		t.Fatal(err)
	}
	closeFn()

	s, closeFn = open(t, dir, clk, out)
	defer closeFn()
	r, err := s.DescribeRule(ctx, "tick", "")
	if err != nil || r.State != "DISABLED" || len(r.Targets) != 1 {
		t.Fatalf("after restart: %+v %v", r, err)
	}
	if err := s.SetState(ctx, "tick", "", true); err != nil {
		t.Fatal(err)
	}
	advance(t, clk, time.Minute)
	if got := waitFor(t, out); got[:3] != "t1 " {
		t.Fatal(got)
	}
}

func TestPutEventsMatchesPatterns(t *testing.T) {
	ctx := context.Background()
	out := make(sink, 10)
	s, closeFn := open(t, t.TempDir(), clock.Real{}, out)
	defer closeFn()
	if _, err := s.PutRule(ctx, PutRuleInput{Name: "orders", EventPattern: `{"source":["shop"],"detail":{"total":[{"numeric":[">",100]}]}}`}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutTargets(ctx, "orders", "", []Target{{ID: "q", Arn: "arn:aws:sqs:us-east-1:000000000000:big", InputPath: "$.detail"}}); err != nil {
		t.Fatal(err)
	}
	res, err := s.PutEvents(ctx, []Entry{
		{Source: "shop", DetailType: "Order", Detail: `{"total":50}`},
		{Source: "shop", DetailType: "Order", Detail: `{"total":500}`},
		{Source: "shop", DetailType: "Order", Detail: `not json`},
	})
	if err != nil || res[0].EventID == "" || res[2].ErrorCode != "MalformedDetail" {
		t.Fatalf("%+v %v", res, err)
	}
	if got := waitFor(t, out); got != `q {"total":500}` {
		t.Fatal(got)
	}
	select {
	case b := <-out:
		t.Fatalf("unexpected delivery %s", b)
	case <-time.After(100 * time.Millisecond):
	}
	if _, err := s.PutRule(ctx, PutRuleInput{Name: "bad", EventPattern: `{"source":"shop"}`}); !errors.Is(err, ErrPattern) {
		t.Fatalf("bad pattern: %v", err)
	}
	if _, err := s.PutRule(ctx, PutRuleInput{Name: "neither"}); !errors.Is(err, ErrValidation) {
		t.Fatalf("no schedule nor pattern: %v", err)
	}
}
