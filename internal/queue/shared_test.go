package queue

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/forkline/forkline/internal/clock"
	"github.com/forkline/forkline/internal/store"
	"github.com/forkline/forkline/internal/store/pebblestore"
)

// sharedBodies lists the stored shared bodies.
func sharedBodies(t *testing.T, st Store) []uint64 {
	t.Helper()
	var ids []uint64
	if err := st.ScanShared(context.Background(), func(id uint64) error { ids = append(ids, id); return nil }); err != nil {
		t.Fatal(err)
	}
	return ids
}

// waitBodies waits for the background sweep to leave n shared bodies.
func waitBodies(t *testing.T, st Store, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ids := sharedBodies(t, st)
		if len(ids) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d shared bodies stored (%v), want %d", len(ids), ids, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSharedBodyLifetime sends copies of one body to several queues, as a
// topic does, and checks that every copy reads whole, that the body stays
// while any copy is left (across a restart, which rebuilds the counts) and
// goes once every copy was deleted, purged or dropped with its queue.
func TestSharedBodyLifetime(t *testing.T) {
	dir := t.TempDir()
	pst, err := pebblestore.Open(dir, pebblestore.Options{CacheBytes: 4 << 20, MemTableBytes: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { pst.Close() }()
	clk := clock.NewFake(time.Unix(1_800_000_000, 0))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	cfg := Config{Region: "us-east-1", AccountID: "000000000000", Clock: clk, Logger: log}
	svc, err := New(ctx, pst, cfg)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"a", "b", "c", "d"}
	for _, n := range names {
		if _, err := svc.CreateQueue(ctx, n, map[string]string{"VisibilityTimeout": "0"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	send := func(head, tail string) {
		t.Helper()
		sb := &SharedBody{Head: head, Tail: tail}
		var targets []Target
		for _, n := range names {
			targets = append(targets, Target{QueueArn: svc.arn(n), Inputs: []SendInput{{Body: "<" + n + ">", Shared: sb}}})
		}
		var b store.Batch
		txn := svc.BeginSends(ctx, targets, &b)
		err := pst.Commit(ctx, &b)
		for _, r := range txn.End(err) {
			if r.Err != nil || r.Results[0].Err != nil {
				t.Fatalf("send: %+v", r)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	send("head1", "tail1")
	send("head2", "tail2")
	if ids := sharedBodies(t, pst); len(ids) != 2 {
		t.Fatalf("shared bodies after two sends = %v, want 2", ids)
	}
	receive := func(name string, max int) []ReceivedMessage {
		t.Helper()
		msgs, err := svc.ReceiveMessage(ctx, name, ReceiveInput{MaxNumberOfMessages: &max})
		if err != nil {
			t.Fatal(err)
		}
		return msgs
	}
	got := receive("a", 10)
	var bodies []string
	for _, m := range got {
		bodies = append(bodies, m.Body)
		if m.MD5Body != MD5OfBody(m.Body) {
			t.Fatalf("MD5 %s of %q", m.MD5Body, m.Body)
		}
	}
	slices.Sort(bodies)
	if !slices.Equal(bodies, []string{"head1<a>tail1", "head2<a>tail2"}) {
		t.Fatalf("bodies of queue a = %q", bodies)
	}

	// Delete a's copies, purge b, delete queue c: d still holds both.
	for _, m := range got {
		if err := svc.DeleteMessage(ctx, "a", m.ReceiptHandle); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.PurgeQueue(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteQueue(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	names = []string{"a", "b", "d"}
	time.Sleep(50 * time.Millisecond) // a wrong sweep would have run by now
	waitBodies(t, pst, 2)

	// A restart rebuilds the counts; a body nothing refers to (left by a
	// crash between a removal and its body's deletion) is dropped.
	svc.Close()
	var b store.Batch
	b.PutShared(store.SharedBody{ID: 1 << 40, Head: "orphan"})
	if err := pst.Commit(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if svc, err = New(ctx, pst, cfg); err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	waitBodies(t, pst, 2)
	got = receive("d", 1)
	if len(got) != 1 || got[0].Body != "head1<d>tail1" && got[0].Body != "head2<d>tail2" {
		t.Fatalf("queue d after restart: %+v", got)
	}
	if err := svc.DeleteMessage(ctx, "d", got[0].ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	waitBodies(t, pst, 1)
	// Messages sent after the restart get new IDs.
	send("head3", "tail3")
	waitBodies(t, pst, 2)
	clk.Advance(time.Minute) // past the purge cool-off
	for _, n := range []string{"a", "b", "d"} {
		if err := svc.PurgeQueue(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	waitBodies(t, pst, 0)
}

// TestRefTableMatchesMap drives the reference table and a map with the
// same random operations.
func TestRefTableMatchesMap(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var tb refTable
	model := map[uint64]uint64{}
	next := uint64(1)
	for i := 0; i < 200_000; i++ {
		switch op := r.IntN(10); {
		case op < 5:
			// Sends end nearly in order: mostly new, some a few places
			// back (concurrent commits), now and then far back.
			seq := next + uint64(r.IntN(4))
			switch k := r.IntN(10); {
			case k < 3:
				seq = uint64(max(1, int(next)-1-r.IntN(24)))
			case k == 3:
				seq = uint64(r.IntN(int(next)) + 1)
			}
			next = max(next, seq+1)
			if _, ok := model[seq]; ok {
				continue
			}
			id := uint64(r.IntN(1000) + 1)
			tb.add(seq, id)
			model[seq] = id
		case op < 9:
			seq := uint64(r.IntN(int(next) + 1))
			if got, want := tb.remove(seq), model[seq]; got != want {
				t.Fatalf("remove(%d) = %d, want %d", seq, got, want)
			}
			delete(model, seq)
		default:
			if r.IntN(100) == 0 {
				through := uint64(r.IntN(int(next) + 1))
				got := tb.removeThrough(through)
				var want []uint64
				for seq, id := range model {
					if seq <= through {
						want = append(want, id)
						delete(model, seq)
					}
				}
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Fatalf("removeThrough(%d) = %v, want %v", through, got, want)
				}
			}
			seq := uint64(r.IntN(int(next) + 1))
			if got, want := tb.get(seq), model[seq]; got != want {
				t.Fatalf("get(%d) = %d, want %d", seq, got, want)
			}
		}
	}
}
