package queue

import (
	"time"

	"github.com/forkline/forkline/internal/store"
)

// sweepEvery is how often expired deduplication entries and receive
// attempts are looked for; sweepBatch bounds the deletions of one commit.
const (
	sweepEvery = 30 * time.Second
	sweepBatch = 4096
)

// sweepExpired drops, every sweepEvery of real time, the expired
// deduplication entries and receive attempts of FIFO queues that no send
// or receive has dropped: a queue that took a burst and then went quiet
// would otherwise keep them, in memory and in the store, until its next
// send, and that send would pay for all of them at once (the soak audit:
// 200,000 entries, 80 MB of heap, and a send of 706 ms). It runs on a
// real ticker so that tests' fake clocks see no timer of its own; expiry
// itself reads the service's clock.
func (s *Service) sweepExpired() {
	defer s.wg.Done()
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		s.sweepOnce()
	}
}

// sweepOnce sweeps every FIFO queue once.
func (s *Service) sweepOnce() {
	s.mu.RLock()
	var qs []*queue
	for _, q := range s.queues {
		if q.fifo {
			qs = append(qs, q)
		}
	}
	s.mu.RUnlock()
	for _, q := range qs {
		for s.ctx.Err() == nil && s.sweepQueue(q) {
		}
	}
}

// sweepQueue commits the deletion of up to sweepBatch of q's expired
// entries of each kind and reports whether more may be left. It holds
// q.op exclusively, so that no send or receive of q is between its
// in-memory change and its commit: a deletion committed after a send
// that wrote a new entry under the same key would delete that one.
func (s *Service) sweepQueue(q *queue) bool {
	nowNs := s.clock.Now().UnixNano()
	q.mu.Lock()
	q.dropStale()
	due := q.sweepDue(nowNs)
	q.mu.Unlock()
	if !due {
		return false
	}
	q.op.Lock()
	defer q.op.Unlock()
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return false
	}
	keys := q.expireDedup(nowNs, sweepBatch)
	ids := q.expireAttempts(nowNs, sweepBatch)
	q.dropStale()
	more := q.sweepDue(nowNs)
	name := q.rec.Name
	q.mu.Unlock()
	var b store.Batch
	for _, k := range keys {
		b.DeleteDedup(q.id, k)
	}
	for _, id := range ids {
		b.DeleteRecord(nsAttempt, attemptKey(q.id, id))
	}
	if b.Len() == 0 {
		return more
	}
	// A failure leaves the records to the next start, which drops
	// expired ones as it loads them.
	if err := s.st.Commit(s.ctx, &b); err != nil {
		if s.ctx.Err() == nil {
			s.log.Warn("delete expired deduplication entries", "queue", name, "count", b.Len(), "err", err)
		}
		return false
	}
	return more
}

// sweepDue reports whether the first entry of either expiry list has
// expired. Requires q.mu.
func (q *queue) sweepDue(nowNs int64) bool {
	return (len(q.dedupExp) > 0 && q.dedupExp[0].exp <= nowNs) || (len(q.attemptExp) > 0 && q.attemptExp[0].exp <= nowNs)
}

// dropStale drops, from the front of the expiry lists, entries whose key
// was written again since (with a later expiry) or is gone: they need no
// deletion, so the sweeper need not stop sends for them. Requires q.mu.
func (q *queue) dropStale() {
	n := 0
	for n < len(q.dedupExp) {
		r := q.dedupExp[n]
		if d, ok := q.dedup.Get(r.key); ok && d.ExpiresAt == r.exp {
			break
		}
		n++
	}
	q.dedupExp = q.dedupExp[n:]
	if n > 0 {
		q.shrinkDedup() // a purge may have emptied the window
	}
	n = 0
	for n < len(q.attemptExp) {
		r := q.attemptExp[n]
		if a, ok := q.attempts[r.id]; ok && a.Exp == r.exp {
			break
		}
		n++
	}
	q.attemptExp = q.attemptExp[n:]
}
