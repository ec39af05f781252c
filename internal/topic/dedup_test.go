package topic

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/forkline/forkline/internal/store"
)

// TestExpiredDedupHoldsItsKey: a FIFO publish that expires a
// deduplication entry deletes its record in its own commit, and a publish
// of the same key waits for that commit (FIFO publishes commit
// concurrently: the deletion committed later would remove the new record,
// and a restart would take a duplicate inside its window as new).
func TestExpiredDedupHoldsItsKey(t *testing.T) {
	s := &Service{}
	tp := &topic{name: "t.fifo", pending: map[string]chan struct{}{}}
	ctx := context.Background()
	t0 := time.Unix(1_800_000_000, 0)
	release := func(done chan struct{}, mine []string) {
		tp.mu.Lock()
		for _, k := range mine {
			delete(tp.pending, k)
		}
		tp.mu.Unlock()
		close(done)
	}
	var b store.Batch
	done, mine, err := s.numberFIFO(ctx, tp, []*prepared{{id: "m1", dedupKey: "k"}}, t0, &b)
	if err != nil {
		t.Fatal(err)
	}
	release(done, mine)

	var b2 store.Batch
	doneA, mineA, err := s.numberFIFO(ctx, tp, []*prepared{{id: "m2", dedupKey: "x"}}, t0.Add(dedupWindow+time.Second), &b2)
	if err != nil {
		t.Fatal(err)
	}
	deletes := slices.ContainsFunc(b2.Ops, func(op store.Op) bool { return op.Kind == store.OpDeleteRecord && op.Key == "t.fifo\x00k" })
	if !deletes || tp.pending["k"] != doneA || !slices.Contains(mineA, "k") {
		t.Fatalf("the expiring publish: deletes k's record %v, holds k %v", deletes, tp.pending["k"] == doneA)
	}
	got := make(chan *prepared, 1)
	go func() {
		var b3 store.Batch
		p := &prepared{id: "m3", dedupKey: "k"}
		d, m, err := s.numberFIFO(ctx, tp, []*prepared{p}, t0.Add(dedupWindow+2*time.Second), &b3)
		if err != nil {
			t.Error(err)
		}
		release(d, m)
		got <- p
	}()
	select {
	case <-got:
		t.Fatal("a publish of k went ahead of the commit deleting the expired k")
	case <-time.After(200 * time.Millisecond):
	}
	release(doneA, mineA)
	if p := <-got; p.dup {
		t.Fatal("k after its window was taken as a duplicate")
	}
}
