package pebblestore

import (
	"context"
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
func BenchmarkDurableSends(b *testing.B) {
	ctx := context.Background()
	st := openBench(b)
	var qb store.Batch
	qb.PutQueue(store.Queue{ID: 1, Name: "q"})
	if err := st.Commit(ctx, &qb); err != nil {
		b.Fatal(err)
	}
	body := strings.Repeat("x", 1024)
	var seq atomic.Uint64
	b.SetParallelism((16 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	cpu0 := processCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			var bt store.Batch
			bt.PutMessage(1, &store.Message{
				Seq: n, ID: fmt.Sprintf("%08d-0000-4000-8000-%012d", 1, n), Body: body,
				MD5Body: "0123456789abcdef0123456789abcdef", SenderID: "AIDAIT2UOQQY3AUEKVGXU",
				State: store.State{SentAt: int64(n)},
			})
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

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
