package pebblestore

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/forkline/forkline/internal/store"
)

// BenchmarkLaggingReaders is the store's part of a forked event in the
// Event Fork Pipelines: each event is published to four queues (one
// shared body, four packed copies) and two of them are read, ten at a
// time, by pollers that lag lagEvents behind the publisher, marked in
// flight and deleted, as the pipelines' event source mappings do. The
// reads then come from flushed tables rather than the memtable.
func BenchmarkLaggingReaders(b *testing.B) {
	const lagEvents = 20000
	ctx := context.Background()
	st := openBench(b)
	var qb store.Batch
	for q := uint64(1); q <= 4; q++ {
		qb.PutQueue(store.Queue{ID: q, Name: fmt.Sprint("q", q)})
	}
	if err := st.Commit(ctx, &qb); err != nil {
		b.Fatal(err)
	}
	body := `{"id":"order-1","amount":250,"customer":"Ada Lovelace","time":"2026-11-27T07:00:00Z","payment":{"type":"card"}}`
	attrs := []store.MessageAttribute{{Name: "amount", DataType: "Number", StringValue: "250"}}
	publish := func(n uint64) {
		var bt store.Batch
		bt.PutShared(store.SharedBody{ID: n, Head: body})
		for q := uint64(1); q <= 4; q++ {
			bt.PutMessage(q, &store.Message{
				Seq: n, ID: fmt.Sprintf("%08d-0000-4000-8000-%012d", q, n), Attrs: attrs,
				MD5Body: "0123456789abcdef0123456789abcdef", MD5Attr: "0123456789abcdef0123456789abcdef",
				SenderID: "AIDAIT2UOQQY3AUEKVGXU", Shared: n, State: store.State{SentAt: int64(n)},
			})
		}
		if err := st.Commit(ctx, &bt); err != nil {
			b.Fatal(err)
		}
	}
	var next, read uint64 = 1, 1
	for ; next <= lagEvents; next++ {
		publish(next)
	}
	const per = 10 // an event source mapping's batch
	seqs := make([]uint64, per)
	withState := make([]bool, per)
	var readTime time.Duration
	reads := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		publish(next)
		next++
		if next-read < lagEvents+per {
			continue
		}
		for j := range seqs {
			seqs[j] = read + uint64(j)
		}
		for q := uint64(2); q <= 3; q++ {
			t0 := time.Now()
			msgs, found, err := st.ReadMessages(ctx, q, seqs, withState)
			readTime += time.Since(t0)
			reads += len(seqs)
			if err != nil || !found[per-1] || !strings.HasPrefix(msgs[per-1].Body, `{"id"`) {
				b.Fatalf("read: %v %v", found, err)
			}
			var flight, del store.Batch
			for _, s := range seqs {
				flight.Ops = append(flight.Ops, store.Op{Kind: store.OpPutState, QueueID: q, Seq: s, State: store.State{SentAt: 1, ReceiveCount: 1, Nonce: 7}, Ref: s})
				del.Ops = append(del.Ops, store.Op{Kind: store.OpDeleteMessage, QueueID: q, Seq: s, Ref: s})
			}
			if err := st.Commit(ctx, &flight); err != nil {
				b.Fatal(err)
			}
			if err := st.Commit(ctx, &del); err != nil {
				b.Fatal(err)
			}
		}
		read += per
	}
	if reads > 0 {
		b.ReportMetric(float64(readTime.Nanoseconds())/float64(reads), "ns/read")
	}
}

// BenchmarkDurableSends is the store's part of the SQS send benchmark:
// sixteen senders each commit one 1 KiB message at a time to a new store,
// so that commits share fsyncs as the group commit allows. It reports the
// process's CPU per commit (fsyncs included) beside the wall time.
func BenchmarkDurableSends(b *testing.B) { benchDurableSends(b, 1) }

// BenchmarkDurableBatchSends is the same with ten messages per commit, as
// SendMessageBatch writes them; it reports CPU per commit of ten.
func BenchmarkDurableBatchSends(b *testing.B) { benchDurableSends(b, 10) }

func benchDurableSends(b *testing.B, per int) {
	ctx := context.Background()
	st := openBenchQueue(b, b.TempDir())
	b.Cleanup(func() { st.Close() })
	body := strings.Repeat("x", 1024)
	var seq atomic.Uint64
	b.SetParallelism((16 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	cpu0 := processCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			var bt store.Batch
			for range per {
				bt.PutMessage(1, benchMessage(seq.Add(1), body))
			}
			if err := st.Commit(ctx, &bt); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N)/1e3, "cpu-µs/op")
}

// openBench opens a store in a temporary directory for the benchmark.
func openBench(b *testing.B) *Store {
	st, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// openBenchQueue opens a store for a benchmark, in dir, with queue 1.
func openBenchQueue(b *testing.B, dir string) *Store {
	st, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	var qb store.Batch
	qb.PutQueue(store.Queue{ID: 1, Name: "q"})
	if err := st.Commit(context.Background(), &qb); err != nil {
		b.Fatal(err)
	}
	return st
}

// benchMessage is message seq of queue 1, as SendMessage stores it.
func benchMessage(seq uint64, body string) *store.Message {
	return &store.Message{
		Seq: seq, ID: fmt.Sprintf("%08d-0000-4000-8000-%012d", 1, seq), Body: body,
		MD5Body: "0123456789abcdef0123456789abcdef", SenderID: "AIDAIT2UOQQY3AUEKVGXU",
		State: store.State{SentAt: int64(seq)},
	}
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBacklogReceive is the store's part of the SQS receive + delete
// benchmark: a backlog of 1 KiB messages, sent ten at a time, is read in
// order by sixteen consumers, each taking ten messages, marking them in
// flight (one commit) and deleting them (another), as ReceiveMessage and
// DeleteMessageBatch do. The backlog (b.N × 10 messages plus 200,000) is
// well past the memtables, so the reads come from flushed tables and the
// deletes leave tombstones for compactions. It reports the process's CPU
// per message received and deleted.
func BenchmarkBacklogReceive(b *testing.B) {
	const per = 10
	ctx := context.Background()
	st := openBenchQueue(b, b.TempDir())
	b.Cleanup(func() { st.Close() })
	body := strings.Repeat("x", 1024)
	total := uint64(b.N*per + 200000)
	for n := uint64(1); n <= total; n += per {
		var bt store.Batch
		for s := n; s < n+per; s++ {
			bt.PutMessage(1, benchMessage(s, body))
		}
		if err := st.Commit(ctx, &bt); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Uint64
	next.Store(1)
	b.SetParallelism((16 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	cpu0 := processCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		seqs := make([]uint64, per)
		withState := make([]bool, per)
		for pb.Next() {
			first := next.Add(per) - per
			for j := range seqs {
				seqs[j] = first + uint64(j)
			}
			msgs, found, err := st.ReadMessages(ctx, 1, seqs, withState)
			if err != nil || !found[per-1] || len(msgs[per-1].Body) != len(body) {
				b.Errorf("read %v: %v %v", seqs, found, err)
				return
			}
			var flight, del store.Batch
			for _, s := range seqs {
				flight.Ops = append(flight.Ops, store.Op{Kind: store.OpPutState, QueueID: 1, Seq: s, State: store.State{SentAt: int64(s), ReceiveCount: 1, Nonce: 7}})
				del.Ops = append(del.Ops, store.Op{Kind: store.OpDeleteMessage, QueueID: 1, Seq: s})
			}
			if err := st.Commit(ctx, &flight); err != nil {
				b.Error(err)
				return
			}
			if err := st.Commit(ctx, &del); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N*per)/1e3, "cpu-µs/msg")
}

// BenchmarkReopenScan is the store's part of a restart with a million
// messages queued: it writes 1,000,000 messages of 1 KiB (ten per commit,
// bodies that compress as text does), closes the store, and times each
// Open followed by the scans of every state and every reference to a shared
// body that rebuild the queue's index at start (queue.Service.loadQueue).
func BenchmarkReopenScan(b *testing.B) {
	const n = 1000000
	ctx := context.Background()
	dir := b.TempDir()
	st := openBenchQueue(b, dir)
	words := strings.Fields("order customer amount payment card shipped pending region eu-west-1 priority high low sku quantity")
	body := make([]byte, 0, 1024)
	for s := uint64(1); s <= n; s += 10 {
		var bt store.Batch
		for q := s; q < s+10; q++ {
			body = body[:0]
			for i := q; len(body) < 1024; i = i*31 + 7 {
				body = append(body, words[i%uint64(len(words))]...)
				body = append(body, ' ')
			}
			bt.PutMessage(1, benchMessage(q, string(body[:1024])))
		}
		if err := st.Commit(ctx, &bt); err != nil {
			b.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		seen := 0
		if _, err := st.ScanStates(ctx, 1, func(uint64, store.State) error { seen++; return nil }); err != nil || seen != n {
			b.Fatalf("scanned %d: %v", seen, err)
		}
		if err := st.ScanRefs(ctx, 1, func(uint64, uint64) error { return errors.New("a reference") }); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
}
