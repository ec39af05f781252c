package topic

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/forkline/forkline/internal/clock"
	"github.com/forkline/forkline/internal/store/pebblestore"
)

// TestSweepDropsExpiredDedup: a FIFO topic that falls quiet after a burst
// gives back the burst's deduplication window once it has passed, without
// another publish, and deletes its records; a key published again after
// its window is a new message, and one inside it a duplicate (SNS
// developer guide, "Message deduplication for FIFO topics": five minutes).
func TestSweepDropsExpiredDedup(t *testing.T) {
	dir := t.TempDir()
	st, err := pebblestore.Open(dir, pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clk := clock.NewFake(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
	ctx := context.Background()
	s, err := New(ctx, st, Config{Region: "us-east-1", AccountID: "000000000000", Clock: clk, KeyDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	arn, err := s.CreateTopic(ctx, "burst.fifo", map[string]string{"FifoTopic": "true"}, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	publish := func(key string) PublishResult {
		t.Helper()
		r, err := s.Publish(ctx, PublishInput{TopicArn: arn, Message: "m", GroupID: "g", HasGroupID: true, DedupID: key, HasDedupID: true})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	const burst = 3000
	var lastID string
	for i := 0; i < burst; i++ {
		lastID = publish(fmt.Sprint("k", i)).MessageID
	}
	clk.Advance(dedupWindow / 2)
	late := publish("late") // inside its window at the sweep below
	tp := s.topics["burst.fifo"]
	records := func() int {
		n := 0
		if err := st.ScanRecords(ctx, nsDedup, "burst.fifo\x00", func(string, []byte) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := records(); n != burst+1 {
		t.Fatalf("%d deduplication records, want %d", n, burst+1)
	}

	clk.Advance(dedupWindow/2 + time.Second)
	// A publish expires at most publishExpiry entries, and one left past
	// its window is no duplicate.
	if r := publish(fmt.Sprint("k", burst-1)); r.MessageID == lastID {
		t.Fatal("a key past its window was taken as a duplicate")
	}
	s.sweepDedup(ctx)
	// The service's own sweeper, whose timer the clock's advance fired,
	// may hold keys of a commit still running.
	var left, pending, capExp int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		tp.mu.Lock()
		left, pending, capExp = len(tp.dedup), len(tp.pending), cap(tp.dedupExp)
		tp.mu.Unlock()
		if pending == 0 || time.Now().After(deadline) {
			break
		}
	}
	if left != 2 || pending != 0 || capExp > 4 {
		t.Fatalf("after the sweep: %d entries (want 2), %d keys held, list capacity %d", left, pending, capExp)
	}
	if n := records(); n != 2 {
		t.Fatalf("%d deduplication records after the sweep, want 2", n)
	}
	if r := publish("late"); r.MessageID != late.MessageID {
		t.Fatalf("a duplicate inside its window got a new message %s", r.MessageID)
	}
	if r := publish("k0"); r.MessageID == "" || r.SequenceNumber == "" {
		t.Fatalf("k0 after its window: %+v", r)
	}
}
