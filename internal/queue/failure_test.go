package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forkline/forkline/internal/clock"
	"github.com/forkline/forkline/internal/store"
	"github.com/forkline/forkline/internal/store/pebblestore"
)

// flakyStore fails a share of commits, as a full disk or an I/O error
// would, before anything is written.
type flakyStore struct {
	Store
	failPct atomic.Int32
	rnd     func() int
}

var errInjected = errors.New("injected commit failure")

func (f *flakyStore) Commit(ctx context.Context, b *store.Batch) error {
	if int32(f.rnd()%100) < f.failPct.Load() {
		return errInjected
	}
	return f.Store.Commit(ctx, b)
}

// TestStoreFailuresKeepIndexAndStoreInAgreement drives concurrent sends,
// receives, deletes and visibility changes while 10% of commits fail, then
// checks that the counts the service reports match what a fresh service
// rebuilds from the store, and that every acknowledged send that was not
// deleted is still there.
func TestStoreFailuresKeepIndexAndStoreInAgreement(t *testing.T) {
	for _, fifo := range []bool{false, true} {
		t.Run(fmt.Sprint("fifo=", fifo), func(t *testing.T) {
			dir := t.TempDir()
			pst, err := pebblestore.Open(dir, pebblestore.Options{CacheBytes: 4 << 20, MemTableBytes: 4 << 20})
			if err != nil {
				t.Fatal(err)
			}
			defer pst.Close()
			var mu sync.Mutex
			r := rand.New(rand.NewPCG(1, 2))
			fs := &flakyStore{Store: pst, rnd: func() int { mu.Lock(); defer mu.Unlock(); return r.IntN(1000) }}
			clk := clock.NewFake(time.Unix(1_800_000_000, 0))
			ctx := context.Background()
			svc := newTestService(t, fs, clk)
			name, attrs := "q", map[string]string{"VisibilityTimeout": "1"}
			if fifo {
				name, attrs = "q.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "1"}
			}
			if _, err := svc.CreateQueue(ctx, name, attrs, nil); err != nil {
				t.Fatal(err)
			}
			fs.failPct.Store(10)

			var acked, deleted sync.Map // body -> true
			var wg sync.WaitGroup
			for w := 0; w < 8; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for i := 0; i < 60; i++ {
						body := fmt.Sprintf("w%d-%d", w, i)
						in := SendInput{Body: body}
						if fifo {
							in.GroupID, in.HasGroupID = strconv.Itoa(w%3), true
						}
						if _, err := svc.SendMessage(ctx, name, in); err == nil {
							acked.Store(body, true)
						}
						n := 3
						msgs, err := svc.ReceiveMessage(ctx, name, ReceiveInput{MaxNumberOfMessages: &n})
						if err != nil {
							continue
						}
						for j, m := range msgs {
							switch j % 3 {
							case 0:
								if svc.DeleteMessage(ctx, name, m.ReceiptHandle) == nil {
									deleted.Store(m.Body, true)
								}
							case 1:
								zero := 0
								svc.ChangeMessageVisibility(ctx, name, m.ReceiptHandle, &zero)
							}
						}
					}
				}(w)
			}
			wg.Wait()
			fs.failPct.Store(0)
			clk.Advance(2 * time.Second) // every visibility timeout ends

			got, err := svc.GetQueueAttributes(ctx, name, []string{AttrAll})
			if err != nil {
				t.Fatal(err)
			}
			svc.Close()

			// A fresh service over the same store must agree.
			svc2 := newTestService(t, pst, clk)
			defer svc2.Close()
			again, err := svc2.GetQueueAttributes(ctx, name, []string{AttrAll})
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{AttrApproximateNumberOfMessages, AttrApproximateNotVisible, AttrApproximateDelayed} {
				if got[k] != again[k] {
					t.Errorf("%s: %s in memory, %s rebuilt from the store", k, got[k], again[k])
				}
			}
			// Every acknowledged, undeleted message is received exactly once.
			seen := map[string]bool{}
			ten := 10
			for {
				msgs, err := svc2.ReceiveMessage(ctx, name, ReceiveInput{MaxNumberOfMessages: &ten})
				if err != nil {
					t.Fatal(err)
				}
				if len(msgs) == 0 {
					break
				}
				for _, m := range msgs {
					if seen[m.Body] {
						t.Fatalf("%s received twice", m.Body)
					}
					seen[m.Body] = true
					if err := svc2.DeleteMessage(ctx, name, m.ReceiptHandle); err != nil {
						t.Fatal(err)
					}
				}
			}
			acked.Range(func(k, _ any) bool {
				if _, gone := deleted.Load(k); !gone && !seen[k.(string)] {
					t.Errorf("acknowledged message %s lost", k)
				}
				return true
			})
			if want := got[AttrApproximateNumberOfMessages]; strconv.Itoa(len(seen)) != want {
				t.Errorf("received %d messages after the run, counts said %s", len(seen), want)
			}
		})
	}
}

// gateStore holds the commits that write a message until released.
type gateStore struct {
	Store
	held    chan struct{} // receives once a commit is held
	release chan struct{}
}

func (g *gateStore) Commit(ctx context.Context, b *store.Batch) error {
	for _, op := range b.Ops {
		if op.Kind == store.OpPutMessage {
			g.held <- struct{}{}
			<-g.release
			break
		}
	}
	return g.Store.Commit(ctx, b)
}

// TestFIFODelayChangeDuringSend: a FIFO queue's delay changes while a send
// is being committed; the message the send adds follows the new delay, as
// a service rebuilt from the store has it (the delay is retroactive, SQS
// developer guide, "Amazon SQS delay queues").
func TestFIFODelayChangeDuringSend(t *testing.T) {
	pst, err := pebblestore.Open(t.TempDir(), pebblestore.Options{CacheBytes: 4 << 20, MemTableBytes: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer pst.Close()
	gs := &gateStore{Store: pst, held: make(chan struct{}), release: make(chan struct{})}
	clk := clock.NewFake(time.Unix(1_800_000_000, 0))
	ctx := context.Background()
	svc := newTestService(t, gs, clk)
	name := "late.fifo"
	if _, err := svc.CreateQueue(ctx, name, map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true", "DelaySeconds": "300"}, nil); err != nil {
		t.Fatal(err)
	}
	sent := make(chan error, 1)
	go func() {
		_, err := svc.SendMessage(ctx, name, SendInput{Body: "m", GroupID: "g", HasGroupID: true})
		sent <- err
	}()
	<-gs.held
	if err := svc.SetQueueAttributes(ctx, name, map[string]string{"DelaySeconds": "0"}); err != nil {
		t.Fatal(err)
	}
	close(gs.release)
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	counts := func(s *Service) [2]string {
		a, err := s.GetQueueAttributes(ctx, name, []string{AttrAll})
		if err != nil {
			t.Fatal(err)
		}
		return [2]string{a[AttrApproximateNumberOfMessages], a[AttrApproximateDelayed]}
	}
	live := counts(svc)
	svc.Close()
	svc2 := newTestService(t, pst, clk)
	defer svc2.Close()
	if rebuilt := counts(svc2); live != [2]string{"1", "0"} || rebuilt != live {
		t.Fatalf("visible, delayed: %v live, %v rebuilt; want [1 0]", live, rebuilt)
	}
}

// newTestService starts a queue service on st with a quiet log.
func newTestService(t *testing.T, st Store, clk clock.Clock) *Service {
	t.Helper()
	svc, err := New(context.Background(), st, Config{Region: "us-east-1", AccountID: "000000000000", Clock: clk,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// TestAttemptRecordsExpire: a FIFO receive attempt is kept (in memory and
// in the store) for the five minutes a retry may come, then dropped by
// the queue's next receive, even on a queue nobody sends to.
func TestAttemptRecordsExpire(t *testing.T) {
	pst, err := pebblestore.Open(t.TempDir(), pebblestore.Options{CacheBytes: 4 << 20, MemTableBytes: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer pst.Close()
	clk := clock.NewFake(time.Unix(1_800_000_000, 0))
	ctx := context.Background()
	svc := newTestService(t, pst, clk)
	defer svc.Close()
	name := "kept.fifo"
	if _, err := svc.CreateQueue(ctx, name, map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SendMessage(ctx, name, SendInput{Body: "m", GroupID: "g", HasGroupID: true}); err != nil {
		t.Fatal(err)
	}
	records := func() int {
		n := 0
		if err := pst.ScanRecords(ctx, nsAttempt, "", func(string, []byte) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got, err := svc.ReceiveMessage(ctx, name, ReceiveInput{AttemptID: "a1"}); err != nil || len(got) != 1 {
		t.Fatalf("receive: %v, %v", got, err)
	}
	if n := records(); n != 1 {
		t.Fatalf("%d attempt records after the receive, want 1", n)
	}
	clk.Advance(attemptWindow + time.Second)
	if _, err := svc.ReceiveMessage(ctx, name, ReceiveInput{}); err != nil {
		t.Fatal(err)
	}
	if n := records(); n != 0 {
		t.Fatalf("%d attempt records five minutes on, want 0", n)
	}
}

// TestSweepDropsExpiredDeduplication: a FIFO queue that took a burst and
// went quiet gives back its deduplication window once the window has
// passed, in memory and in the store, without waiting for another send;
// a restart does not load entries whose window ended while it was down.
func TestSweepDropsExpiredDeduplication(t *testing.T) {
	pst := openTestPebble(t)
	clk := clock.NewFake(time.Unix(1_800_000_000, 0))
	ctx := context.Background()
	svc := newTestService(t, pst, clk)
	name := "burst.fifo"
	if _, err := svc.CreateQueue(ctx, name, map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"}, nil); err != nil {
		t.Fatal(err)
	}
	const n = 2*sweepBatch + 10 // more than one sweep commit
	for i := range n {
		if _, err := svc.SendMessage(ctx, name, SendInput{Body: fmt.Sprint("m", i), GroupID: "g", HasGroupID: true}); err != nil {
			t.Fatal(err)
		}
	}
	q, _ := svc.lookup(name)
	stored := func() int {
		ds, err := pst.LoadDedup(ctx, q.id)
		if err != nil {
			t.Fatal(err)
		}
		return len(ds)
	}
	svc.sweepOnce() // nothing has expired yet
	q.mu.Lock()
	held := q.dedup.Len()
	q.mu.Unlock()
	if held != n || stored() != n {
		t.Fatalf("before the window ends: %d entries, %d stored; want %d", held, stored(), n)
	}
	clk.Advance(dedupWindow + time.Second)
	svc.sweepOnce()
	q.mu.Lock()
	left, listed := q.dedup.Len(), len(q.dedupExp)
	q.mu.Unlock()
	if left != 0 || listed != 0 || stored() != 0 {
		t.Fatalf("after the window: %d entries, %d listed, %d stored; want none", left, listed, stored())
	}
	// The same body is a new message now.
	if _, err := svc.SendMessage(ctx, name, SendInput{Body: "m0", GroupID: "g", HasGroupID: true}); err != nil {
		t.Fatal(err)
	}
	if a, _ := svc.GetQueueAttributes(ctx, name, []string{AttrApproximateNumberOfMessages}); a[AttrApproximateNumberOfMessages] != fmt.Sprint(n+1) {
		t.Fatalf("messages: %v, want %d", a, n+1)
	}
	svc.Close()

	// Entries whose window ends while the server is down are dropped at start.
	clk.Advance(dedupWindow + time.Second)
	svc2 := newTestService(t, pst, clk)
	defer svc2.Close()
	q2, _ := svc2.lookup(name)
	q2.mu.Lock()
	held = q2.dedup.Len()
	q2.mu.Unlock()
	if held != 0 || stored() != 0 {
		t.Fatalf("after a restart past the window: %d entries, %d stored", held, stored())
	}
}

// TestDeletedNamesAreForgotten: the names of deleted queues are kept for
// their cool-off only (a CI run that creates and deletes a uniquely named
// queue per test kept every name).
func TestDeletedNamesAreForgotten(t *testing.T) {
	pst := openTestPebble(t)
	clk := clock.NewFake(time.Unix(1_800_000_000, 0))
	ctx := context.Background()
	svc := newTestService(t, pst, clk)
	defer svc.Close()
	for i := range 100 {
		name := fmt.Sprint("once-", i)
		if _, err := svc.CreateQueue(ctx, name, nil, nil); err != nil {
			t.Fatal(err)
		}
		if err := svc.DeleteQueue(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(deleteCooloff)
	if _, err := svc.CreateQueue(ctx, "last", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteQueue(ctx, "last"); err != nil {
		t.Fatal(err)
	}
	svc.mu.RLock()
	defer svc.mu.RUnlock()
	if len(svc.deletedAt) != 1 || len(svc.deletedOrder) != 1 {
		t.Fatalf("%d names kept (%d listed), want only the last", len(svc.deletedAt), len(svc.deletedOrder))
	}
}

// opGate, once armed, holds the first commit with an operation match
// accepts, until release is closed.
type opGate struct {
	Store
	match   func(op *store.Op) bool
	armed   atomic.Bool
	held    chan struct{}
	release chan struct{}
}

func newOpGate(st Store, match func(op *store.Op) bool) *opGate {
	return &opGate{Store: st, match: match, held: make(chan struct{}), release: make(chan struct{})}
}

func (g *opGate) Commit(ctx context.Context, b *store.Batch) error {
	for i := range b.Ops {
		if g.match(&b.Ops[i]) && g.armed.CompareAndSwap(true, false) {
			g.held <- struct{}{}
			<-g.release
			break
		}
	}
	return g.Store.Commit(ctx, b)
}

// TestExpiredDedupDeletionCommitsFirst: a send that expires a
// deduplication entry deletes it in its own commit; a send that writes
// the same key again meanwhile waits for that commit, so the deletion
// cannot remove the new entry from the store (which a restart would then
// miss, taking a duplicate inside its window as a new message). Found by
// a review: the send path had the race the sweeper was written to avoid.
func TestExpiredDedupDeletionCommitsFirst(t *testing.T) {
	pst := openTestPebble(t)
	g := newOpGate(pst, func(op *store.Op) bool { return op.Kind == store.OpDeleteDedup })
	clk := clock.NewFake(time.Unix(1_800_000_000, 0))
	ctx := context.Background()
	svc := newTestService(t, g, clk)
	name := "again.fifo"
	if _, err := svc.CreateQueue(ctx, name, map[string]string{"FifoQueue": "true"}, nil); err != nil {
		t.Fatal(err)
	}
	send := func(body, dedup string) (string, error) {
		r, err := svc.SendMessage(ctx, name, SendInput{Body: body, GroupID: "g", HasGroupID: true, DedupID: dedup, HasDedupID: true})
		return r.MessageID, err
	}
	if _, err := send("first", "k"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(dedupWindow + time.Second)
	g.armed.Store(true)
	other := make(chan error, 1)
	go func() { _, err := send("other", "x"); other <- err }() // expires k; its commit is held
	<-g.held
	again := make(chan string, 1)
	go func() {
		id, err := send("second", "k") // k again, a new message
		if err != nil {
			t.Error(err)
		}
		again <- id
	}()
	select {
	case <-again:
		t.Fatal("the send of k again committed before the deletion of the expired k")
	case <-time.After(200 * time.Millisecond):
	}
	close(g.release)
	if err := <-other; err != nil {
		t.Fatal(err)
	}
	secondID := <-again
	svc.Close()
	// After a restart the window still knows k: a duplicate names the
	// second message.
	svc2 := newTestService(t, pst, clk)
	defer svc2.Close()
	r, err := svc2.SendMessage(ctx, name, SendInput{Body: "third", GroupID: "g", HasGroupID: true, DedupID: "k", HasDedupID: true})
	if err != nil || r.MessageID != secondID {
		t.Fatalf("a duplicate of k after the restart got %q, %v; want the second message's ID %q", r.MessageID, err, secondID)
	}
}

// TestExpiredAttemptDeletionCommitsFirst is TestExpiredDedupDeletionCommitsFirst
// for receive attempts: a receive reusing an expired attempt ID waits for
// the commit that deletes the old attempt, so its own attempt survives a
// restart and a retry after it gets the same messages.
func TestExpiredAttemptDeletionCommitsFirst(t *testing.T) {
	pst := openTestPebble(t)
	g := newOpGate(pst, func(op *store.Op) bool { return op.Kind == store.OpDeleteRecord && op.NS == nsAttempt })
	clk := clock.NewFake(time.Unix(1_800_000_000, 0))
	ctx := context.Background()
	svc := newTestService(t, g, clk)
	name := "reuse.fifo"
	if _, err := svc.CreateQueue(ctx, name, map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "3600"}, nil); err != nil {
		t.Fatal(err)
	}
	for i, group := range []string{"g0", "g1", "g2"} {
		if _, err := svc.SendMessage(ctx, name, SendInput{Body: fmt.Sprint("m", i), GroupID: group, HasGroupID: true}); err != nil {
			t.Fatal(err)
		}
	}
	one := 1
	if got, err := svc.ReceiveMessage(ctx, name, ReceiveInput{AttemptID: "a", MaxNumberOfMessages: &one}); err != nil || len(got) != 1 {
		t.Fatalf("first receive: %v, %v", got, err)
	}
	clk.Advance(6 * time.Minute)
	g.armed.Store(true)
	other := make(chan error, 1)
	go func() { // expires attempt a; its commit is held
		_, err := svc.ReceiveMessage(ctx, name, ReceiveInput{AttemptID: "b", MaxNumberOfMessages: &one})
		other <- err
	}()
	<-g.held
	again := make(chan []ReceivedMessage, 1)
	go func() {
		got, err := svc.ReceiveMessage(ctx, name, ReceiveInput{AttemptID: "a", MaxNumberOfMessages: &one})
		if err != nil {
			t.Error(err)
		}
		again <- got
	}()
	select {
	case <-again:
		t.Fatal("the receive reusing attempt a committed before the deletion of the old a")
	case <-time.After(200 * time.Millisecond):
	}
	close(g.release)
	if err := <-other; err != nil {
		t.Fatal(err)
	}
	got := <-again
	if len(got) != 1 {
		t.Fatalf("the receive reusing attempt a got %d messages", len(got))
	}
	svc.Close()
	svc2 := newTestService(t, pst, clk)
	defer svc2.Close()
	retry, err := svc2.ReceiveMessage(ctx, name, ReceiveInput{AttemptID: "a", MaxNumberOfMessages: &one})
	if err != nil || len(retry) != 1 || retry[0].MessageID != got[0].MessageID || retry[0].ReceiptHandle != got[0].ReceiptHandle {
		t.Fatalf("a retry of attempt a after the restart got %v, %v; want the same message and handle as %v", retry, err, got)
	}
}

// openTestPebble opens a small store in a temporary directory, closed when
// the test ends.
func openTestPebble(t *testing.T) *pebblestore.Store {
	t.Helper()
	pst, err := pebblestore.Open(t.TempDir(), pebblestore.Options{CacheBytes: 4 << 20, MemTableBytes: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pst.Close() })
	return pst
}

// TestDuplicateFoundWhileWindowDrains: after a burst's window has mostly
// passed, its map is drained rather than copied (window.Map); an entry
// still inside its window keeps answering duplicates from the draining
// map, and the map is dropped once that entry expires too.
func TestDuplicateFoundWhileWindowDrains(t *testing.T) {
	pst := openTestPebble(t)
	clk := clock.NewFake(time.Unix(1_800_000_000, 0))
	ctx := context.Background()
	svc := newTestService(t, pst, clk)
	name := "drain.fifo"
	if _, err := svc.CreateQueue(ctx, name, map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"}, nil); err != nil {
		t.Fatal(err)
	}
	for i := range 3000 {
		if _, err := svc.SendMessage(ctx, name, SendInput{Body: fmt.Sprint("burst ", i), GroupID: "g", HasGroupID: true}); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(dedupWindow - time.Minute)
	kept, err := svc.SendMessage(ctx, name, SendInput{Body: "kept", GroupID: "g", HasGroupID: true})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Minute) // the burst's window has passed, not the last send's
	for range 4 {
		svc.sweepOnce()
	}
	q, _ := svc.lookup(name)
	q.mu.Lock()
	left, draining := q.dedup.Len(), q.dedup.Draining()
	q.mu.Unlock()
	if left != 1 || !draining {
		t.Fatalf("after the burst's window: %d entries, draining %v; want 1, true", left, draining)
	}
	again, err := svc.SendMessage(ctx, name, SendInput{Body: "kept", GroupID: "g", HasGroupID: true})
	if err != nil || again.MessageID != kept.MessageID {
		t.Fatalf("a duplicate inside its window, from the draining map: %+v, %v; want %s", again, err, kept.MessageID)
	}
	clk.Advance(dedupWindow)
	for range 2 {
		svc.sweepOnce()
	}
	q.mu.Lock()
	left, draining = q.dedup.Len(), q.dedup.Draining()
	q.mu.Unlock()
	if left != 0 || draining {
		t.Fatalf("after every window: %d entries, draining %v", left, draining)
	}
}
