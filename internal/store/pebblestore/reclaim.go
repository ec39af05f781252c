package pebblestore

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/forkline/forkline/internal/store"
)

// Deleted data gives its disk space back only when a compaction rewrites
// the tables that hold it (and a blob file goes once no table refers to
// it). Pebble compacts when writes fill memtables and levels, so a store
// that goes quiet after a PurgeQueue, a DeleteQueue or a drained backlog
// kept all of it: the soak audit's purged queue held 543 MiB for as long
// as the server stayed idle, and 148 MiB of blob files even after a
// restart. The reclaimer remembers the key ranges that deletions touched
// and, once no commit has come for reclaimIdle, compacts them.
const (
	reclaimEvery = 2 * time.Second
	reclaimIdle  = 3 * time.Second
	// reclaimLeast is the deletions a range needs before an idle store
	// compacts it; a purge or a queue's deletion always qualifies.
	reclaimLeast = 1000
)

// reclaimer holds the ranges deletions touched since their last
// compaction.
type reclaimer struct {
	mu        sync.Mutex
	dirty     map[string]*dirtyRange // by the range's identity (reclaimID)
	lastWrite atomic.Int64           // Unix nanoseconds of the last commit
	cancel    context.CancelFunc
	done      chan struct{}
}

// dirtyRange is a key range with deletions in it, and their count.
type dirtyRange struct {
	start, end []byte
	n          int
}

// reclaimID names the range a deletion belongs to: a queue's messages,
// its deduplication entries, shared bodies, or a record namespace.
type reclaimID struct {
	prefix byte
	qid    uint64
	ns     string
}

// touched gathers, per range, the deletions of one committed batch.
type touched map[reclaimID]*dirtyRange

func (t touched) add(id reclaimID, start, end []byte, n int) {
	d := t[id]
	if d == nil {
		t[id] = &dirtyRange{start: start, end: end, n: n}
		return
	}
	d.widen(start, end, n)
}

func (d *dirtyRange) widen(start, end []byte, n int) {
	if bytes.Compare(start, d.start) < 0 {
		d.start = start
	}
	if bytes.Compare(end, d.end) > 0 {
		d.end = end
	}
	d.n += n
}

// noteDeletes records what a committed batch deleted.
func (s *Store) noteDeletes(b *store.Batch) {
	s.reclaim.lastWrite.Store(time.Now().UnixNano())
	var t touched
	for i := range b.Ops {
		op := &b.Ops[i]
		if t == nil {
			switch op.Kind {
			case store.OpDeleteMessage, store.OpPurge, store.OpDeleteQueue, store.OpDeleteDedup, store.OpDeleteShared,
				store.OpDeleteRecord, store.OpDeleteRecordRange:
				t = touched{}
			default:
				continue
			}
		}
		switch op.Kind {
		case store.OpDeleteMessage:
			// The content's key and its state's; a legacy copy's
			// reference ('x') is counted with them.
			t.add(reclaimID{prefix: 'm', qid: op.QueueID}, seqKey('m', op.QueueID, op.Seq), seqKey('m', op.QueueID, op.Seq+1), 1)
			if op.Ref != 0 {
				t.add(reclaimID{prefix: 'x', qid: op.QueueID}, seqKey('x', op.QueueID, op.Seq), seqKey('x', op.QueueID, op.Seq+1), 1)
			}
		case store.OpPurge, store.OpDeleteQueue:
			for _, p := range []byte{'m', 'x', 'd'} {
				k := qidKey(p, op.QueueID)
				t.add(reclaimID{prefix: p, qid: op.QueueID}, k, prefixEnd(k), reclaimLeast)
			}
		case store.OpDeleteDedup:
			k := qidKey('d', op.QueueID)
			t.add(reclaimID{prefix: 'd', qid: op.QueueID}, k, prefixEnd(k), 1)
		case store.OpDeleteShared:
			t.add(reclaimID{prefix: 'b'}, sharedKey(op.Seq), sharedKey(op.Seq+1), 1)
		case store.OpDeleteRecord, store.OpDeleteRecordRange:
			k := recordKey(op.NS, "")
			n := 1
			if op.Kind == store.OpDeleteRecordRange {
				n = reclaimLeast
			}
			t.add(reclaimID{prefix: 'r', ns: op.NS}, k, prefixEnd(k), n)
		}
	}
	if t == nil {
		return
	}
	r := &s.reclaim
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dirty == nil {
		r.dirty = map[string]*dirtyRange{}
	}
	for id, d := range t {
		key := string(id.prefix) + string(qidKey(0, id.qid)) + id.ns
		if have := r.dirty[key]; have != nil {
			have.widen(d.start, d.end, d.n)
		} else {
			r.dirty[key] = d
		}
	}
}

// runReclaimer compacts dirty ranges whenever the store has been idle for
// reclaimIdle, until ctx ends.
func (s *Store) runReclaimer(ctx context.Context) {
	defer close(s.reclaim.done)
	t := time.NewTicker(reclaimEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if time.Since(time.Unix(0, s.reclaim.lastWrite.Load())) < reclaimIdle {
			continue
		}
		if err := s.reclaimNow(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("compact deleted ranges", "err", err)
		}
	}
}

// reclaimNow compacts every dirty range with at least reclaimLeast
// deletions; the others stay dirty, gathering more.
func (s *Store) reclaimNow(ctx context.Context) error {
	r := &s.reclaim
	r.mu.Lock()
	var due []*dirtyRange
	var keys []string
	for k, d := range r.dirty {
		if d.n >= reclaimLeast {
			due, keys = append(due, d), append(keys, k)
			delete(r.dirty, k)
		}
	}
	r.mu.Unlock()
	for i, d := range due {
		if err := s.begin(); err != nil {
			return nil // closed
		}
		err := s.db.Compact(ctx, d.start, d.end, false)
		s.end()
		if err != nil {
			// The ranges not compacted stay for the next pass.
			r.mu.Lock()
			for j, d := range due[i:] {
				key := keys[i+j]
				if have := r.dirty[key]; have != nil {
					have.widen(d.start, d.end, d.n)
				} else {
					r.dirty[key] = d
				}
			}
			r.mu.Unlock()
			return err
		}
	}
	return nil
}
