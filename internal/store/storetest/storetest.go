// Package storetest is the conformance suite of the store interfaces:
// every backend runs Run against a fresh, empty instance and must pass.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/forkline/forkline/internal/store"
)

// Backend opens a store over a directory (or other location) named by the
// test; calling it again with the same location reopens the same data.
type Backend struct {
	// Open returns a store; close must release it.
	Open func(t *testing.T, location string) (s store.Store, close func())
	// Location returns a fresh location.
	Location func(t *testing.T) string
}

// Run runs the suite.
func Run(t *testing.T, b Backend) {
	tests := []struct {
		name string
		fn   func(*testing.T, Backend)
	}{
		{"QueueRecords", testQueueRecords},
		{"MessagesAndStates", testMessages},
		{"HighWaterMarkSurvivesDeletes", testHighWater},
		{"Purge", testPurge},
		{"DeleteQueueRemovesEverything", testDeleteQueue},
		{"SharedBodies", testShared},
		{"SharedBodiesAcrossStatesAndReopen", testSharedReopen},
		{"MixedReads", testMixedReads},
		{"Dedup", testDedup},
		{"MoveTasks", testMoveTasks},
		{"ConcurrentCommits", testConcurrent},
		{"Reopen", testReopen},
		{"Records", testRecords},
		{"RecordsWithMessagesInOneBatch", testRecordsMixed},
		{"RecordRanges", testRecordRanges},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, b) })
	}
}

func open(t *testing.T, b Backend) store.Store {
	t.Helper()
	s, closeFn := b.Open(t, b.Location(t))
	t.Cleanup(closeFn)
	return s
}

func commit(t *testing.T, s store.Store, fill func(*store.Batch)) {
	t.Helper()
	var b store.Batch
	fill(&b)
	if err := s.Commit(context.Background(), &b); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

func msg(seq uint64, body string) *store.Message {
	return &store.Message{
		Seq: seq, ID: fmt.Sprintf("id-%d", seq), Body: body, MD5Body: "md5", MD5Attr: "md5a",
		SenderID: "sender", TraceHeader: "Root=1", GroupID: "g", DedupID: "d",
		Attrs: []store.MessageAttribute{{Name: "s", DataType: "String", StringValue: "v"}, {Name: "b", DataType: "Binary", BinaryValue: []byte{0, 1}}},
		State: store.State{SentAt: 100, VisibleAt: 200, GroupID: "g"},
	}
}

func scan(t *testing.T, s store.Queues, qid uint64) (map[uint64]store.State, uint64) {
	t.Helper()
	out := map[uint64]store.State{}
	var last uint64
	hwm, err := s.ScanStates(context.Background(), qid, func(seq uint64, st store.State) error {
		if seq <= last && len(out) > 0 {
			t.Errorf("ScanStates out of order: %d after %d", seq, last)
		}
		last = seq
		out[seq] = st
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, hwm
}

func testQueueRecords(t *testing.T, b Backend) {
	s := open(t, b)
	q1 := store.Queue{ID: 1, Name: "a", Attributes: map[string]string{"VisibilityTimeout": "30"}, Tags: map[string]string{"t": "1"}, CreatedAt: 5, ModifiedAt: 6}
	q2 := store.Queue{ID: 2, Name: "b", Attributes: map[string]string{}}
	commit(t, s, func(b *store.Batch) { b.PutQueue(q1); b.PutQueue(q2) })
	qs, err := s.LoadQueues(context.Background())
	if err != nil || len(qs) != 2 {
		t.Fatalf("LoadQueues = %v, %v", qs, err)
	}
	byName := map[string]store.Queue{}
	for _, q := range qs {
		byName[q.Name] = q
	}
	if !reflect.DeepEqual(byName["a"], q1) {
		t.Fatalf("queue a = %+v, want %+v", byName["a"], q1)
	}
	q1.Attributes["VisibilityTimeout"] = "40"
	commit(t, s, func(b *store.Batch) { b.PutQueue(q1) })
	qs, _ = s.LoadQueues(context.Background())
	for _, q := range qs {
		if q.Name == "a" && q.Attributes["VisibilityTimeout"] != "40" {
			t.Fatalf("update lost: %+v", q)
		}
	}
}

func testMessages(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	m := msg(1, "hello")
	commit(t, s, func(b *store.Batch) {
		b.PutMessage(7, m)
		b.PutMessage(7, msg(2, "two"))
		b.PutMessage(8, msg(1, "other queue"))
	})
	got, err := s.GetMessage(ctx, 7, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&got, m) {
		t.Fatalf("GetMessage = %+v, want %+v", got, *m)
	}
	// A body to be finished at read keeps its finisher.
	unfinished := msg(3, `{"Signature" : "===="}`)
	unfinished.MD5Body, unfinished.Finish = "", store.FinishSNSSignature
	commit(t, s, func(b *store.Batch) { b.PutMessage(70, msg(1, "final")); b.PutMessage(70, unfinished) })
	if got, err := s.GetMessage(ctx, 70, 3); err != nil || !reflect.DeepEqual(&got, unfinished) {
		t.Fatalf("GetMessage of an unfinished body = %+v, %v; want %+v", got, err, *unfinished)
	}
	if got, found, err := s.ReadMessages(ctx, 70, []uint64{1, 3}, []bool{false, false}); err != nil || !found[1] || got[1].Finish != store.FinishSNSSignature || got[0].Finish != 0 {
		t.Fatalf("ReadMessages: %+v %v %v", got, found, err)
	}
	st := store.State{SentAt: 100, VisibleAt: 999, FirstReceiveAt: 150, ReceiveCount: 3, Nonce: 42, GroupID: "g", ReceivedAt: 160}
	commit(t, s, func(b *store.Batch) { b.PutState(7, 1, st) })
	if got, err := s.GetState(ctx, 7, 1); err != nil || got != st {
		t.Fatalf("GetState = %+v, %v", got, err)
	}
	content, err := s.GetContent(ctx, 7, 1)
	if err != nil || content.Body != "hello" || content.State != (store.State{}) {
		t.Fatalf("GetContent = %+v, %v", content, err)
	}
	ms, found, err := s.ReadMessages(ctx, 7, []uint64{2, 1, 5}, []bool{false, true, true})
	if err != nil || !found[0] || !found[1] || found[2] || ms[0].Body != "two" || ms[0].State != (store.State{}) || ms[1].State != st || ms[1].Body != "hello" {
		t.Fatalf("ReadMessages = %+v %v %v", ms, found, err)
	}
	states, hwm := scan(t, s, 7)
	if len(states) != 2 || states[1] != st || hwm < 2 {
		t.Fatalf("ScanStates = %v, hwm %d", states, hwm)
	}
	commit(t, s, func(b *store.Batch) { b.DeleteMessage(7, 1) })
	if _, err := s.GetMessage(ctx, 7, 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted message: %v", err)
	}
	if _, err := s.GetState(ctx, 7, 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted state: %v", err)
	}
	if got, err := s.GetMessage(ctx, 8, 1); err != nil || got.Body != "other queue" {
		t.Fatalf("queue 8 message = %+v, %v", got, err)
	}
}

func refs(t *testing.T, s store.Queues, qid uint64) map[uint64]uint64 {
	t.Helper()
	out := map[uint64]uint64{}
	if err := s.ScanRefs(context.Background(), qid, func(seq, id uint64) error { out[seq] = id; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func shared(t *testing.T, s store.Queues) []uint64 {
	t.Helper()
	var out []uint64
	if err := s.ScanShared(context.Background(), func(id uint64) error { out = append(out, id); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func testShared(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	// One shared body, two messages in two queues and a third in the
	// first, each with its own middle part.
	m1, m2, m3 := msg(1, `"a"`), msg(1, `"b"`), msg(2, `"c"`)
	m1.Shared, m2.Shared, m3.Shared = 9, 9, 10
	m1.Finish = store.FinishSNSSignature
	commit(t, s, func(b *store.Batch) {
		b.PutShared(store.SharedBody{ID: 9, Head: `{"u" : `, Tail: `}`})
		b.PutShared(store.SharedBody{ID: 10, Head: `[`, Tail: `]`})
		b.PutMessage(1, m1)
		b.PutMessage(2, m2)
		b.PutMessage(1, m3)
		b.PutMessage(1, msg(3, "plain"))
	})
	got, err := s.GetMessage(ctx, 1, 1)
	if err != nil || got.Body != `{"u" : "a"}` || got.Shared != 0 || got.Finish != store.FinishSNSSignature || got.State != m1.State {
		t.Fatalf("GetMessage of a shared body = %+v, %v", got, err)
	}
	if got, err := s.GetContent(ctx, 2, 1); err != nil || got.Body != `{"u" : "b"}` || got.Shared != 0 {
		t.Fatalf("GetContent of a shared body = %+v, %v", got, err)
	}
	ms, found, err := s.ReadMessages(ctx, 1, []uint64{1, 2, 3}, []bool{true, false, false})
	if err != nil || !found[0] || !found[1] || !found[2] || ms[0].Body != `{"u" : "a"}` || ms[1].Body != `["c"]` || ms[2].Body != "plain" || ms[0].Shared != 0 {
		t.Fatalf("ReadMessages of shared bodies = %+v %v %v", ms, found, err)
	}
	if r := refs(t, s, 1); !reflect.DeepEqual(r, map[uint64]uint64{1: 9, 2: 10}) {
		t.Fatalf("ScanRefs(1) = %v", r)
	}
	if ids := shared(t, s); !reflect.DeepEqual(ids, []uint64{9, 10}) {
		t.Fatalf("ScanShared = %v", ids)
	}
	// Removals take the references with them: a delete naming the body,
	// a purge, a queue deletion.
	commit(t, s, func(b *store.Batch) {
		b.Ops = append(b.Ops, store.Op{Kind: store.OpDeleteMessage, QueueID: 1, Seq: 1, Ref: 9})
	})
	if r := refs(t, s, 1); !reflect.DeepEqual(r, map[uint64]uint64{2: 10}) {
		t.Fatalf("ScanRefs(1) after delete = %v", r)
	}
	commit(t, s, func(b *store.Batch) { b.Purge(1, 3) })
	if r := refs(t, s, 1); len(r) != 0 {
		t.Fatalf("ScanRefs(1) after purge = %v", r)
	}
	commit(t, s, func(b *store.Batch) { b.DeleteQueue(store.Queue{ID: 2, Name: "two"}) })
	if r := refs(t, s, 2); len(r) != 0 {
		t.Fatalf("ScanRefs(2) after queue deletion = %v", r)
	}
	// A message whose shared body is gone reads as not found.
	m4 := msg(4, `"d"`)
	m4.Shared = 9
	commit(t, s, func(b *store.Batch) { b.PutMessage(1, m4); b.DeleteShared(10) })
	if ids := shared(t, s); !reflect.DeepEqual(ids, []uint64{9}) {
		t.Fatalf("ScanShared after delete = %v", ids)
	}
	commit(t, s, func(b *store.Batch) { b.DeleteShared(9) })
	if _, err := s.GetMessage(ctx, 1, 4); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetMessage without its shared body: %v", err)
	}
	if _, found, err := s.ReadMessages(ctx, 1, []uint64{4}, []bool{true}); err != nil || found[0] {
		t.Fatalf("ReadMessages without its shared body: found %v, %v", found, err)
	}
}

// The high-water mark is at least the largest sequence number ever
// written to a queue, so that numbers are never reused; a store may keep it
// ahead of that.
// Copies written in the batch of their shared body, then a state write
// that names the body, a restart, deletes, and a copy written in a later
// batch than its body.
func testSharedReopen(t *testing.T, be Backend) {
	loc := be.Location(t)
	s, closeFn := be.Open(t, loc)
	defer func() { closeFn() }()
	ctx := context.Background()
	c1, c2 := msg(1, `"a"`), msg(1, `"b"`)
	c1.Shared, c2.Shared = 5, 5
	commit(t, s, func(b *store.Batch) {
		b.PutMessage(1, c1)
		b.PutMessage(2, c2)
		b.PutMessage(1, msg(2, "plain"))
		b.PutShared(store.SharedBody{ID: 5, Head: "<", Tail: ">"})
	})
	st := store.State{SentAt: 100, VisibleAt: 900, FirstReceiveAt: 150, ReceiveCount: 1, Nonce: 7}
	commit(t, s, func(b *store.Batch) {
		b.Ops = append(b.Ops, store.Op{Kind: store.OpPutState, QueueID: 1, Seq: 1, State: st, Ref: 5})
	})
	closeFn()
	s, closeFn = be.Open(t, loc)
	if got, err := s.GetMessage(ctx, 1, 1); err != nil || got.Body != `<"a">` || got.State != st || got.ID != c1.ID {
		t.Fatalf("GetMessage after reopen = %+v, %v", got, err)
	}
	ms, found, err := s.ReadMessages(ctx, 1, []uint64{1, 2}, []bool{true, false})
	if err != nil || !found[0] || !found[1] || ms[0].Body != `<"a">` || ms[0].State != st || ms[1].Body != "plain" {
		t.Fatalf("ReadMessages after reopen = %+v %v %v", ms, found, err)
	}
	if states, _ := scan(t, s, 1); len(states) != 2 || states[1] != st {
		t.Fatalf("ScanStates after reopen = %v", states)
	}
	if r := refs(t, s, 1); !reflect.DeepEqual(r, map[uint64]uint64{1: 5}) {
		t.Fatalf("ScanRefs(1) after reopen = %v", r)
	}
	commit(t, s, func(b *store.Batch) {
		b.Ops = append(b.Ops, store.Op{Kind: store.OpDeleteMessage, QueueID: 1, Seq: 1, Ref: 5})
	})
	if _, err := s.GetMessage(ctx, 1, 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted copy readable: %v", err)
	}
	if got, err := s.GetContent(ctx, 2, 1); err != nil || got.Body != `<"b">` {
		t.Fatalf("the other copy after a delete = %+v, %v", got, err)
	}
	if r := refs(t, s, 1); len(r) != 0 {
		t.Fatalf("ScanRefs(1) after delete = %v", r)
	}
	// A copy written after its body's batch.
	late := msg(3, `"c"`)
	late.Shared = 5
	commit(t, s, func(b *store.Batch) { b.PutMessage(1, late) })
	closeFn()
	s, closeFn = be.Open(t, loc)
	if got, err := s.GetContent(ctx, 1, 3); err != nil || got.Body != `<"c">` {
		t.Fatalf("late copy = %+v, %v", got, err)
	}
	if r := refs(t, s, 1); !reflect.DeepEqual(r, map[uint64]uint64{3: 5}) {
		t.Fatalf("ScanRefs(1) with a late copy = %v", r)
	}
	commit(t, s, func(b *store.Batch) {
		b.Ops = append(b.Ops, store.Op{Kind: store.OpDeleteMessage, QueueID: 1, Seq: 3, Ref: 5})
	})
	if r := refs(t, s, 1); len(r) != 0 {
		t.Fatalf("ScanRefs(1) after the late copy's delete = %v", r)
	}
	if _, err := s.GetContent(ctx, 1, 3); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted late copy readable: %v", err)
	}
}

// testMixedReads reads plain messages, packed copies and copies written
// after their body, in one call, with and without states, before and after
// a reopen (a backend may order its reads by what it has seen).
func testMixedReads(t *testing.T, be Backend) {
	loc := be.Location(t)
	s, closeFn := be.Open(t, loc)
	defer func() { closeFn() }()
	ctx := context.Background()
	copyOf := func(seq, body uint64, part string) *store.Message {
		m := msg(seq, part)
		m.Shared = body
		return m
	}
	commit(t, s, func(b *store.Batch) {
		b.PutMessage(1, msg(1, "plain one"))
		b.PutMessage(1, copyOf(2, 9, "x"))
		b.PutMessage(2, copyOf(1, 9, "y"))
		b.PutShared(store.SharedBody{ID: 9, Head: "[", Tail: "]"})
	})
	commit(t, s, func(b *store.Batch) {
		b.PutMessage(1, copyOf(3, 9, "late"))
		b.PutMessage(1, msg(4, "plain four"))
		b.PutMessage(1, copyOf(5, 10, "z"))
		b.PutShared(store.SharedBody{ID: 10, Head: "<", Tail: ">"})
	})
	moved := store.State{SentAt: 100, VisibleAt: 5000, FirstReceiveAt: 120, ReceiveCount: 2, Nonce: 3, GroupID: "g"}
	commit(t, s, func(b *store.Batch) {
		b.Ops = append(b.Ops, store.Op{Kind: store.OpPutState, QueueID: 1, Seq: 2, State: moved, Ref: 9})
	})
	seqs := []uint64{1, 2, 3, 4, 5, 6}
	bodies := []string{"plain one", "[x]", "[late]", "plain four", "<z>", ""}
	sent := msg(1, "").State
	states := []store.State{sent, moved, sent, sent, sent, {}}
	check := func(when string) {
		t.Helper()
		for _, ws := range [][]bool{
			{false, false, false, false, false, false},
			{true, true, true, true, true, true},
			{true, false, true, false, true, false},
			{false, true, false, true, false, true},
		} {
			ms, found, err := s.ReadMessages(ctx, 1, seqs, ws)
			if err != nil {
				t.Fatalf("%s: ReadMessages: %v", when, err)
			}
			for i := range seqs {
				if found[i] != (i != 5) || ms[i].Body != bodies[i] {
					t.Fatalf("%s, states %v: message %d = %q found %v, want %q", when, ws, seqs[i], ms[i].Body, found[i], bodies[i])
				}
				if found[i] && ws[i] && ms[i].State != states[i] {
					t.Fatalf("%s, states %v: message %d state %+v, want %+v", when, ws, seqs[i], ms[i].State, states[i])
				}
				if found[i] && ms[i].ID != fmt.Sprintf("id-%d", seqs[i]) {
					t.Fatalf("%s: message %d has ID %q", when, seqs[i], ms[i].ID)
				}
			}
		}
		if ms, found, err := s.ReadMessages(ctx, 2, []uint64{1}, []bool{false}); err != nil || !found[0] || ms[0].Body != "[y]" {
			t.Fatalf("%s: the other queue's copy = %+v %v %v", when, ms, found, err)
		}
	}
	check("before a reopen")
	closeFn()
	s, closeFn = be.Open(t, loc)
	check("after a reopen")
}

func testHighWater(t *testing.T, b Backend) {
	loc := b.Location(t)
	s, closeFn := b.Open(t, loc)
	defer func() { closeFn() }()
	commit(t, s, func(b *store.Batch) { b.PutMessage(3, msg(10, "x")); b.PutMessage(3, msg(11, "y")) })
	commit(t, s, func(b *store.Batch) { b.DeleteMessage(3, 10); b.DeleteMessage(3, 11) })
	states, hwm := scan(t, s, 3)
	if len(states) != 0 || hwm < 11 {
		t.Fatalf("after deletes: %d states, hwm %d; want 0 and at least 11", len(states), hwm)
	}
	// A batch with a lower sequence committed later never lowers the mark.
	commit(t, s, func(b *store.Batch) { b.PutMessage(3, msg(5, "late")) })
	if _, again := scan(t, s, 3); again < hwm {
		t.Fatalf("hwm lowered from %d to %d", hwm, again)
	}
	// Nor does a restart, and the mark covers what is written after.
	commit(t, s, func(b *store.Batch) { b.PutMessage(3, msg(hwm+100, "far")); b.DeleteMessage(3, hwm+100) })
	closeFn()
	s, closeFn = b.Open(t, loc)
	if _, again := scan(t, s, 3); again < hwm+100 {
		t.Fatalf("hwm %d after a restart, below the %d written", again, hwm+100)
	}
}

func testPurge(t *testing.T, b Backend) {
	s := open(t, b)
	commit(t, s, func(b *store.Batch) {
		for i := uint64(1); i <= 10; i++ {
			b.PutMessage(4, msg(i, "m"))
		}
	})
	commit(t, s, func(b *store.Batch) { b.Purge(4, 7) })
	states, hwm := scan(t, s, 4)
	if len(states) != 3 || hwm < 10 {
		t.Fatalf("after purge: %v, hwm %d", states, hwm)
	}
	if _, err := s.GetMessage(context.Background(), 4, 7); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("purged message readable: %v", err)
	}
}

func testDeleteQueue(t *testing.T, b Backend) {
	s := open(t, b)
	q := store.Queue{ID: 9, Name: "gone", Attributes: map[string]string{}}
	commit(t, s, func(b *store.Batch) {
		b.PutQueue(q)
		b.PutMessage(9, msg(1, "m"))
		b.PutDedup(9, store.Dedup{Key: "k", MessageID: "id", Seq: 1, ExpiresAt: 50})
	})
	commit(t, s, func(b *store.Batch) { b.DeleteQueue(q) })
	qs, _ := s.LoadQueues(context.Background())
	states, _ := scan(t, s, 9)
	ds, _ := s.LoadDedup(context.Background(), 9)
	if len(qs) != 0 || len(states) != 0 || len(ds) != 0 {
		t.Fatalf("after DeleteQueue: %d queues, %d states, %d dedup entries", len(qs), len(states), len(ds))
	}
}

func testDedup(t *testing.T, b Backend) {
	s := open(t, b)
	d := store.Dedup{Key: "group\x00id", MessageID: "m1", Seq: 3, ExpiresAt: 12345}
	commit(t, s, func(b *store.Batch) {
		b.PutDedup(5, d)
		b.PutDedup(5, store.Dedup{Key: "other", MessageID: "m2", Seq: 4, ExpiresAt: 1})
	})
	commit(t, s, func(b *store.Batch) { b.DeleteDedup(5, "other") })
	ds, err := s.LoadDedup(context.Background(), 5)
	if err != nil || len(ds) != 1 || ds[0] != d {
		t.Fatalf("LoadDedup = %+v, %v", ds, err)
	}
}

func testMoveTasks(t *testing.T, b Backend) {
	s := open(t, b)
	task := store.MoveTask{Handle: "h1", SourceArn: "arn", Status: "RUNNING", ToMove: 5, StartedTimestamp: 7}
	commit(t, s, func(b *store.Batch) { b.PutMoveTask(task) })
	task.Moved, task.Status = 5, "COMPLETED"
	commit(t, s, func(b *store.Batch) { b.PutMoveTask(task) })
	ts, err := s.LoadMoveTasks(context.Background())
	if err != nil || len(ts) != 1 || ts[0] != task {
		t.Fatalf("LoadMoveTasks = %+v, %v", ts, err)
	}
}

func testConcurrent(t *testing.T, b Backend) {
	s := open(t, b)
	const writers, each = 16, 25
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				var bt store.Batch
				bt.PutMessage(1, msg(uint64(w*each+i+1), "c"))
				if err := s.Commit(context.Background(), &bt); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	states, hwm := scan(t, s, 1)
	if len(states) != writers*each || hwm < writers*each {
		t.Fatalf("%d states, hwm %d; want %d", len(states), hwm, writers*each)
	}
}

func testReopen(t *testing.T, b Backend) {
	loc := b.Location(t)
	s, closeFn := b.Open(t, loc)
	commit(t, s, func(b *store.Batch) {
		b.PutQueue(store.Queue{ID: 1, Name: "q", Attributes: map[string]string{}})
		b.PutMessage(1, msg(1, "persisted"))
	})
	closeFn()
	s2, close2 := b.Open(t, loc)
	defer close2()
	m, err := s2.GetMessage(context.Background(), 1, 1)
	if err != nil || m.Body != "persisted" {
		t.Fatalf("after reopen: %+v, %v", m, err)
	}
}

func records(t *testing.T, s store.Records, ns, prefix string) map[string]string {
	t.Helper()
	out := map[string]string{}
	var last string
	err := s.ScanRecords(context.Background(), ns, prefix, func(k string, v []byte) error {
		if len(out) > 0 && k <= last {
			t.Errorf("ScanRecords out of order: %q after %q", k, last)
		}
		last = k
		out[k] = string(v)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func testRecords(t *testing.T, b Backend) {
	loc := b.Location(t)
	s, closeFn := b.Open(t, loc)
	ctx := context.Background()
	commit(t, s, func(b *store.Batch) {
		b.PutRecord("topic", "arn:b", []byte(`{"n":"b"}`))
		b.PutRecord("topic", "arn:a", []byte(`{"n":"a"}`))
		b.PutRecord("topic", "arn:a\xff", []byte(`x`))
		b.PutRecord("topics", "arn:a", []byte(`other namespace`))
		b.PutRecord("sub", "arn:a:1", []byte(`s1`))
		b.PutRecord("sub", "arn:ab:1", []byte(`s2`))
	})
	if got := records(t, s, "topic", ""); !reflect.DeepEqual(got, map[string]string{"arn:a": `{"n":"a"}`, "arn:a\xff": "x", "arn:b": `{"n":"b"}`}) {
		t.Fatalf("scan topic = %v", got)
	}
	if got := records(t, s, "sub", "arn:a:"); !reflect.DeepEqual(got, map[string]string{"arn:a:1": "s1"}) {
		t.Fatalf("scan sub prefix = %v", got)
	}
	v, err := s.GetRecord(ctx, "topics", "arn:a")
	if err != nil || string(v) != "other namespace" {
		t.Fatalf("GetRecord = %q, %v", v, err)
	}
	if _, err := s.GetRecord(ctx, "topic", "arn:c"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetRecord missing = %v, want ErrNotFound", err)
	}
	commit(t, s, func(b *store.Batch) {
		b.DeleteRecord("topic", "arn:b")
		b.DeleteRecord("topic", "never-existed")
		b.PutRecord("topic", "arn:a", []byte(`{"n":"a2"}`))
	})
	closeFn()
	s, closeFn = b.Open(t, loc)
	defer closeFn()
	if got := records(t, s, "topic", ""); !reflect.DeepEqual(got, map[string]string{"arn:a": `{"n":"a2"}`, "arn:a\xff": "x"}) {
		t.Fatalf("after reopen: %v", got)
	}
	stop := errors.New("stop")
	n := 0
	err = s.ScanRecords(ctx, "topic", "", func(string, []byte) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("ScanRecords did not stop at the callback's error: n=%d err=%v", n, err)
	}
}

func testRecordRanges(t *testing.T, b Backend) {
	loc := b.Location(t)
	s, closeFn := b.Open(t, loc)
	ctx := context.Background()
	commit(t, s, func(b *store.Batch) {
		for _, k := range []string{"a\x001", "a\x002", "a\x003", "a\x004", "b\x001"} {
			b.PutRecord("arch", k, []byte(k))
		}
		b.PutRecord("arch2", "a\x002", []byte("other namespace"))
	})
	scan := func(from, to string) []string {
		t.Helper()
		var keys []string
		err := s.ScanRecordRange(ctx, "arch", from, to, func(k string, v []byte) error {
			if string(v) != k {
				t.Errorf("ScanRecordRange: %q holds %q", k, v)
			}
			keys = append(keys, k)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}
	if got := scan("a\x002", "a\x004"); !reflect.DeepEqual(got, []string{"a\x002", "a\x003"}) {
		t.Fatalf("ScanRecordRange [2, 4) = %q", got)
	}
	if got := scan("a\x003", ""); !reflect.DeepEqual(got, []string{"a\x003", "a\x004", "b\x001"}) {
		t.Fatalf("ScanRecordRange [3, end) = %q", got)
	}
	if got := scan("a\x004", "a\x002"); len(got) != 0 {
		t.Fatalf("ScanRecordRange of a reversed range = %q", got)
	}
	commit(t, s, func(b *store.Batch) { b.DeleteRecordRange("arch", "a\x00", "a\x003") })
	closeFn()
	s, closeFn = b.Open(t, loc)
	defer closeFn()
	if got := scan("", ""); !reflect.DeepEqual(got, []string{"a\x003", "a\x004", "b\x001"}) {
		t.Fatalf("after DeleteRecordRange [a, a3) and reopen: %q", got)
	}
	if v, err := s.GetRecord(ctx, "arch2", "a\x002"); err != nil || string(v) != "other namespace" {
		t.Fatalf("DeleteRecordRange reached another namespace: %q, %v", v, err)
	}
}

func testRecordsMixed(t *testing.T, b Backend) {
	s := open(t, b)
	commit(t, s, func(b *store.Batch) {
		b.PutQueue(store.Queue{ID: 3, Name: "q", Attributes: map[string]string{}})
		b.PutMessage(3, msg(1, "fan-out"))
		b.PutRecord("delivery", "d1", []byte("pending"))
	})
	if st, hwm := scan(t, s, 3); len(st) != 1 || hwm < 1 {
		t.Fatalf("message of mixed batch: %v hwm %d", st, hwm)
	}
	if got := records(t, s, "delivery", ""); got["d1"] != "pending" {
		t.Fatalf("record of mixed batch: %v", got)
	}
}
