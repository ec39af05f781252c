package schedule

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/forkline/forkline/internal/clock"
)

func TestRunsInDueOrderOnTheClock(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	q := New[string](clk, 1)
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan string, 10)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); q.Run(ctx, func(_ context.Context, s string) { got <- s }) }()
	q.Add("later", clk.Now().Add(time.Minute))
	q.Add("now-1", clk.Now())
	q.Add("now-2", clk.Now())
	for _, want := range []string{"now-1", "now-2"} {
		if s := <-got; s != want {
			t.Fatalf("ran %q, want %q", s, want)
		}
	}
	select {
	case s := <-got:
		t.Fatalf("%q ran before it was due", s)
	case <-time.After(20 * time.Millisecond):
	}
	for clk.Pending() == 0 {
		time.Sleep(time.Millisecond)
	}
	clk.Advance(time.Minute)
	if s := <-got; s != "later" {
		t.Fatalf("ran %q, want later", s)
	}
	cancel()
	wg.Wait()
	if q.Len() != 0 {
		t.Fatalf("%d items left", q.Len())
	}
}
