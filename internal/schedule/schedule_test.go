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

// TestLimitPerKey: items of a key that are all still running hold at most
// their share of the slots; another key's item runs meanwhile, and the
// parked ones run as their key's items end.
func TestLimitPerKey(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	q := New[string](clk, 4)
	q.LimitPerKey(2, func(s string) string { return s[:1] })
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	started := make(chan string, 10)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		q.Run(ctx, func(_ context.Context, s string) {
			started <- s
			if s[0] == 's' {
				<-release // a slow endpoint
			}
		})
	}()
	for _, s := range []string{"s1", "s2", "s3", "s4", "f1"} {
		q.Add(s, clk.Now())
	}
	got := map[string]bool{}
	for i := 0; i < 3; i++ {
		got[<-started] = true
	}
	if !got["s1"] || !got["s2"] || !got["f1"] {
		t.Fatalf("started %v: want s1, s2 and the other key's f1", got)
	}
	select {
	case s := <-started:
		t.Fatalf("%s started past its key's limit", s)
	case <-time.After(20 * time.Millisecond):
	}
	if n := q.Len(); n != 2 {
		t.Fatalf("Len = %d, want the 2 parked", n)
	}
	close(release)
	// The parked ones run now (two at once: in either order).
	rest := map[string]bool{<-started: true, <-started: true}
	if !rest["s3"] || !rest["s4"] {
		t.Fatalf("after the release ran %v, want s3 and s4", rest)
	}
	cancel()
	wg.Wait()
}
