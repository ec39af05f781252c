package topic

import (
	"context"
	"time"

	"github.com/forkline/forkline/internal/store"
)

// A FIFO topic's deduplication window is swept in the background, so that
// a topic that falls quiet after a burst gives back the burst's entries,
// and a publish after a quiet spell expires at most publishExpiry of them
// instead of paying for the whole window.
const (
	dedupSweepEvery = 30 * time.Second
	sweepBatch      = 4096
	publishExpiry   = 256
)

// expireDedup drops up to limit deduplication entries past their window.
// The deletion of their records goes into b, and their keys are held in
// t.pending on done until the commit of b ends: a publish that writes such
// a key again must commit after the deletion, or the deletion would remove
// its record. It stops at an entry whose key another commit holds (its
// write is under way; the wall clock stepped past its window), to take it
// up after that commit. Returns the keys held, and whether it stopped at
// limit. Requires t.mu.
func (t *topic) expireDedup(nowNs int64, limit int, done chan struct{}, b *store.Batch) ([]string, bool) {
	var mine []string
	n := 0
	for n < len(t.dedupExp) && t.dedupExp[n].exp <= nowNs && n < limit {
		r := t.dedupExp[n]
		// An entry written again since has a later expiry.
		if d, ok := t.dedup.Get(r.key); ok && d.ExpiresAt == r.exp {
			if ch, held := t.pending[r.key]; held && ch != done {
				break
			}
			t.dedup.Delete(r.key)
			b.DeleteRecord(nsDedup, t.name+"\x00"+r.key)
			t.pending[r.key] = done
			mine = append(mine, r.key)
		}
		n++
	}
	// Reslicing drops the front; append's next regrowth copies only what
	// is left. The sweeper gives back the rest (shrinkDedup), so that no
	// publish waits for a map to be rebuilt.
	t.dedupExp = t.dedupExp[n:]
	if len(t.dedupExp) == 0 {
		t.dedupExp = nil
	}
	return mine, n == limit
}

// release ends the holds of keys on done. Requires t.mu.
func (t *topic) release(keys []string, done chan struct{}) {
	for _, k := range keys {
		if t.pending[k] == done {
			delete(t.pending, k)
		}
	}
}

// shrinkDedup gives back the memory of a deduplication window that has
// mostly emptied: Go maps never shrink, and a resliced list keeps its
// array and the keys in it. The map drains its burst without a copy
// (window.Map). Requires t.mu.
func (t *topic) shrinkDedup() {
	t.dedup.Shrink(1024)
	// A resliced list's capacity understates its array (the dropped
	// front is held too), so the copy is made as soon as the capacity
	// left is well above what is in use; copies stay amortized.
	if len(t.dedupExp) == 0 {
		t.dedupExp = nil
	} else if cap(t.dedupExp) > 2*len(t.dedupExp)+64 {
		t.dedupExp = append(make([]dedupRef, 0, len(t.dedupExp)+len(t.dedupExp)/4), t.dedupExp...)
	}
}

// sweepLoop sweeps every dedupSweepEvery until the service closes. Its
// ticker is the real clock's, as the queues' sweeper's: a timer on an
// injected clock would count among those that tests wait for; what
// expires is read from the service's clock.
func (s *Service) sweepLoop() {
	tk := time.NewTicker(dedupSweepEvery)
	defer tk.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-tk.C:
		}
		s.sweepDedup(s.ctx)
	}
}

// sweepDedup expires the deduplication entries of every FIFO topic that
// are past their window, sweepBatch to a commit.
func (s *Service) sweepDedup(ctx context.Context) {
	s.mu.RLock()
	var fifo []*topic
	for _, t := range s.topics {
		if t.fifo {
			fifo = append(fifo, t)
		}
	}
	s.mu.RUnlock()
	for _, t := range fifo {
		for ctx.Err() == nil {
			nowNs := s.clock.Now().UnixNano()
			done := make(chan struct{})
			var b store.Batch
			t.mu.Lock()
			if t.deleted || t.deleting != nil {
				t.mu.Unlock()
				break
			}
			mine, more := t.expireDedup(nowNs, sweepBatch, done, &b)
			t.mu.Unlock()
			err := s.st.Commit(ctx, &b)
			t.mu.Lock()
			t.release(mine, done)
			t.mu.Unlock()
			close(done)
			if err != nil {
				// The records stay; a restart skips them as expired.
				if ctx.Err() == nil {
					s.log.Warn("delete expired deduplication entries", "topic", t.name, "err", err)
				}
				break
			}
			if !more {
				t.mu.Lock()
				t.shrinkDedup()
				t.mu.Unlock()
				break
			}
		}
	}
}
