package topic

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forkline/forkline/internal/clock"
	"github.com/forkline/forkline/internal/queue"
	"github.com/forkline/forkline/internal/store"
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
	// The service's own sweeper, on a real 30 s ticker, may hold keys of
	// a commit still running.
	var left, pending, capExp int
	var draining bool
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		tp.mu.Lock()
		left, pending, capExp, draining = tp.dedup.Len(), len(tp.pending), cap(tp.dedupExp), tp.dedup.Draining()
		tp.mu.Unlock()
		if pending == 0 || time.Now().After(deadline) {
			break
		}
	}
	// The burst's map is being drained: new entries go to a fresh one.
	if left != 2 || pending != 0 || capExp > 4 || !draining {
		t.Fatalf("after the sweep: %d entries (want 2), %d keys held, list capacity %d, burst's map draining %v", left, pending, capExp, draining)
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

// gateStore holds commits that match until released.
type gateStore struct {
	store.Store
	mu    sync.Mutex
	match func(*store.Batch) bool
	held  chan struct{} // closed when a matching commit arrives
	open  chan struct{} // closed to let it through
}

func (g *gateStore) hold(match func(*store.Batch) bool) (held, open chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.match, g.held, g.open = match, make(chan struct{}), make(chan struct{})
	return g.held, g.open
}

func (g *gateStore) Commit(ctx context.Context, b *store.Batch) error {
	g.mu.Lock()
	match, held, open := g.match, g.held, g.open
	if match != nil && match(b) {
		g.match = nil
	} else {
		open = nil
	}
	g.mu.Unlock()
	if open != nil {
		close(held)
		<-open
	}
	return g.Store.Commit(ctx, b)
}

func dedupOp(kind store.OpKind, key string) func(*store.Batch) bool {
	return func(b *store.Batch) bool {
		return slices.ContainsFunc(b.Ops, func(op store.Op) bool { return op.Kind == kind && op.NS == nsDedup && op.Key == key })
	}
}

func newGatedService(t *testing.T, dir string, clk *clock.Fake) (*Service, *gateStore, func()) {
	t.Helper()
	st, err := pebblestore.Open(dir, pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := &gateStore{Store: st}
	s, err := New(context.Background(), g, Config{Region: "us-east-1", AccountID: "000000000000", Clock: clk, KeyDir: dir + "-keys"})
	if err != nil {
		t.Fatal(err)
	}
	return s, g, func() { s.Close(); st.Close() }
}

// gatedFIFOTopic starts a service on a gated store with one FIFO topic
// and returns a function that publishes a message with a deduplication ID
// to it.
func gatedFIFOTopic(t *testing.T, name string) (*Service, *gateStore, *clock.Fake, string, func(key string) (PublishResult, error)) {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
	s, g, stop := newGatedService(t, t.TempDir()+"/store", clk)
	t.Cleanup(stop)
	arn, err := s.CreateTopic(context.Background(), name, map[string]string{"FifoTopic": "true"}, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	return s, g, clk, arn, func(key string) (PublishResult, error) {
		return s.Publish(context.Background(), PublishInput{TopicArn: arn, Message: "m", GroupID: "g", HasGroupID: true, DedupID: key, HasDedupID: true})
	}
}

// TestDeleteTopicWaitsForDedupCommits: a sweep's deletion of an expired
// deduplication record, still being committed when its topic is deleted,
// must not land after a topic created again under the same name wrote the
// same key: DeleteTopic waits for it. Otherwise a restart takes a
// duplicate inside the new topic's window as new.
func TestDeleteTopicWaitsForDedupCommits(t *testing.T) {
	dir := t.TempDir() + "/store"
	clk := clock.NewFake(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
	ctx := context.Background()
	s, g, stop := newGatedService(t, dir, clk)
	create := func() string {
		arn, err := s.CreateTopic(ctx, "again.fifo", map[string]string{"FifoTopic": "true"}, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		return arn
	}
	publish := func(arn string) PublishResult {
		r, err := s.Publish(ctx, PublishInput{TopicArn: arn, Message: "m", GroupID: "g", HasGroupID: true, DedupID: "k", HasDedupID: true})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	arn := create()
	publish(arn)
	clk.Advance(dedupWindow + time.Second)
	held, open := g.hold(dedupOp(store.OpDeleteRecord, "again.fifo\x00k"))
	swept := make(chan struct{})
	go func() { defer close(swept); s.sweepDedup(ctx) }()
	<-held
	deleted := make(chan error, 1)
	go func() { deleted <- s.DeleteTopic(ctx, arn) }()
	select {
	case err := <-deleted:
		t.Fatalf("DeleteTopic returned (%v) while a commit of its deduplication records was under way", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(open)
	<-swept
	if err := <-deleted; err != nil {
		t.Fatal(err)
	}
	arn = create()
	first := publish(arn)
	stop()
	s, _, stop = newGatedService(t, dir, clk)
	defer stop()
	if again := publish(arn); again.MessageID != first.MessageID {
		t.Fatalf("after a restart, a duplicate inside the new topic's window got a new message %s", again.MessageID)
	}
}

// TestSweepLeavesKeysOthersHold: an entry whose write is still being
// committed can be past its window when the wall clock steps; the sweep
// leaves it to a later pass rather than take over the key's hold (the
// publish's release would end the sweep's hold, and a publish of the key
// would commit before the sweep's deletion).
func TestSweepLeavesKeysOthersHold(t *testing.T) {
	ctx := context.Background()
	s, g, clk, _, publish := gatedFIFOTopic(t, "held.fifo")
	held, open := g.hold(dedupOp(store.OpPutRecord, "held.fifo\x00k"))
	published := make(chan error, 1)
	go func() {
		_, err := publish("k")
		published <- err
	}()
	<-held
	tp := s.topics["held.fifo"]
	tp.mu.Lock()
	mine := tp.pending["k"]
	tp.mu.Unlock()
	clk.Advance(dedupWindow + time.Second) // the wall clock steps
	s.sweepDedup(ctx)
	tp.mu.Lock()
	now := tp.pending["k"]
	tp.mu.Unlock()
	if now != mine {
		t.Fatal("the sweep took over the hold of a key whose write is being committed")
	}
	close(open)
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	s.sweepDedup(ctx)
	tp.mu.Lock()
	left, pending := tp.dedup.Len(), len(tp.pending)
	tp.mu.Unlock()
	if left != 0 || pending != 0 {
		t.Fatalf("after the commit and another sweep: %d entries, %d keys held", left, pending)
	}
}

// heldDeletion is a DeleteTopic waiting for a publish whose commit the
// gate holds.
type heldDeletion struct {
	first  chan error         // the held publish's outcome
	open   chan struct{}      // closed to let its commit through
	done   chan error         // the DeleteTopic's outcome
	cancel context.CancelFunc // cancels the DeleteTopic
}

// holdDeletion publishes key "a" to the topic named name and holds its
// commit, then starts a DeleteTopic, which waits for that commit, and
// returns once the deletion is under way.
func holdDeletion(t *testing.T, s *Service, g *gateStore, name, arn string, publish func(key string) error) heldDeletion {
	t.Helper()
	h := heldDeletion{first: make(chan error, 1), done: make(chan error, 1)}
	var held chan struct{}
	held, h.open = g.hold(dedupOp(store.OpPutRecord, name+"\x00a"))
	go func() { h.first <- publish("a") }()
	<-held
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	t.Cleanup(cancel)
	go func() { h.done <- s.DeleteTopic(ctx, arn) }()
	tp := s.topics[name]
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		tp.mu.Lock()
		deleting := tp.deleting != nil
		tp.mu.Unlock()
		if deleting {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatal("the DeleteTopic never started")
		}
	}
}

// TestDeleteTopicTakesTurns: a DeleteTopic that is cancelled while a
// second one waits does not reopen the topic under the second: a publish
// meanwhile either lands before the deletion, which removes its record, or
// is refused; no deduplication record of the topic survives it.
func TestDeleteTopicTakesTurns(t *testing.T) {
	ctx := context.Background()
	s, g, _, arn, publishKey := gatedFIFOTopic(t, "turns.fifo")
	publish := func(key string) error {
		_, err := publishKey(key)
		return err
	}
	h := holdDeletion(t, s, g, "turns.fifo", arn, publish)
	first, open, d1, cancel1 := h.first, h.open, h.done, h.cancel
	d2 := make(chan error, 1)
	go func() { d2 <- s.DeleteTopic(ctx, arn) }()
	// b's commit is held too, so that it is under way when a's ends: the
	// second deletion must wait for it, or refuse it.
	heldB, openB := g.hold(dedupOp(store.OpPutRecord, "turns.fifo\x00b"))
	time.Sleep(100 * time.Millisecond) // lets the second deletion reach its wait
	cancel1()
	if err := <-d1; err != context.Canceled {
		t.Fatalf("the cancelled DeleteTopic: %v", err)
	}
	second := make(chan error, 1)
	go func() { second <- publish("b") }()
	// b reaches its commit unless it waits for the deletion's outcome.
	select {
	case <-heldB:
	case <-time.After(200 * time.Millisecond):
	}
	close(open)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // lets the second deletion commit, if it does not wait for b
	close(openB)
	if err := <-d2; err != nil {
		t.Fatalf("the second DeleteTopic: %v", err)
	}
	if err := <-second; err != nil && !isKind(err, ErrNotFound) {
		t.Fatalf("a publish during the deletions: %v", err)
	}
	n := 0
	if err := g.ScanRecords(ctx, nsDedup, "turns.fifo\x00", func(string, []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d deduplication records of the deleted topic survive", n)
	}
}

// TestDeleteTopicWaitsWithItsContext: a DeleteTopic that waits for another
// deletion of the topic to end gives up when its own context ends, and
// the first deletion still completes.
func TestDeleteTopicWaitsWithItsContext(t *testing.T) {
	ctx := context.Background()
	s, g, _, arn, publishKey := gatedFIFOTopic(t, "retry.fifo")
	h := holdDeletion(t, s, g, "retry.fifo", arn, func(key string) error { _, err := publishKey(key); return err })
	first, open, d1 := h.first, h.open, h.done
	ctx2, cancel2 := context.WithCancel(ctx)
	d2 := make(chan error, 1)
	go func() { d2 <- s.DeleteTopic(ctx2, arn) }()
	cancel2()
	select {
	case err := <-d2:
		if err != context.Canceled {
			t.Fatalf("the waiting DeleteTopic: %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting DeleteTopic did not give up with its context")
	}
	close(open)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-d1; err != nil {
		t.Fatalf("the first DeleteTopic: %v", err)
	}
	if _, err := s.lookupTopic(arn, "TopicArn"); !isKind(err, ErrNotFound) {
		t.Fatalf("the topic after its deletion: %v", err)
	}
}

// TestFIFOPublishAfterWaitSeesSubscriptions: a FIFO publish that waited
// for a deletion's outcome (here, a cancelled DeleteTopic) delivers to
// the subscriptions the topic has when it goes on, not to those it had
// when it began waiting.
func TestFIFOPublishAfterWaitSeesSubscriptions(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
	dir := t.TempDir()
	st, err := pebblestore.Open(dir+"/store", pebblestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := &gateStore{Store: st}
	qs, err := queue.New(ctx, g, queue.Config{Region: "us-east-1", AccountID: "000000000000", Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(ctx, g, Config{Region: "us-east-1", AccountID: "000000000000", Clock: clk, KeyDir: dir + "/keys", Queues: qs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); qs.Close(); st.Close() })
	arn, err := s.CreateTopic(ctx, "snap.fifo", map[string]string{"FifoTopic": "true"}, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := qs.CreateQueue(ctx, "late.fifo", map[string]string{"FifoQueue": "true"}, nil); err != nil {
		t.Fatal(err)
	}
	publishKey := func(key string) error {
		_, err := s.Publish(ctx, PublishInput{TopicArn: arn, Message: "m-" + key, GroupID: "g", HasGroupID: true, DedupID: key, HasDedupID: true})
		return err
	}
	h := holdDeletion(t, s, g, "snap.fifo", arn, publishKey)
	first, openA, d1, cancel1 := h.first, h.open, h.done, h.cancel
	second := make(chan error, 1)
	go func() { second <- publishKey("b") }()
	time.Sleep(100 * time.Millisecond) // lets b reach its wait for the deletion's outcome
	if _, err := s.Subscribe(ctx, SubscribeInput{TopicArn: arn, Protocol: "sqs", Endpoint: "arn:aws:sqs:us-east-1:000000000000:late.fifo"}); err != nil {
		t.Fatal(err)
	}
	cancel1()
	if err := <-d1; err != context.Canceled {
		t.Fatalf("the cancelled DeleteTopic: %v", err)
	}
	close(openA)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	ten := 10
	got, err := qs.ReceiveMessage(ctx, "late.fifo", queue.ReceiveInput{MaxNumberOfMessages: &ten})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !strings.Contains(got[0].Body, "m-b") {
		t.Fatalf("the queue subscribed while b waited holds %d messages, want b's", len(got))
	}
}
