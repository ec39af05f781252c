package queue

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/forkline/forkline/internal/store"
)

// SharedBody is the part of a message body that the copies of one message
// in several queues hold once (a topic's notification is the same document
// in every subscribed queue but for its UnsubscribeURL): a copy's body is
// Head + its SendInput.Body + Tail. Give the same *SharedBody to every
// copy; it is stored with the first copy written.
type SharedBody struct {
	Head, Tail string
	id         uint64 // set when stored
}

// Shared bodies live as long as a message refers to them. The service
// counts the references in memory: a copy's reference is counted when its
// send is prepared, and dropped when the send fails or, after the commit
// that removes the copy (delete, expiry, move, purge, queue deletion).
// A body whose count falls to zero is deleted in the background. The
// counts are rebuilt at start from the reference records that the store
// keeps with each message, and bodies that nothing refers to then (a crash
// between a removal and the body's deletion) are deleted, so a crash can
// leak a body until the next start but never lose one that is in use.

// sharedState is the service's part for shared bodies.
type sharedState struct {
	refs map[uint64]int32
	next uint64   // next body ID
	gone []uint64 // bodies to delete
	kick chan struct{}
}

// ref counts one more reference to the body, storing it in b first if it
// has no ID yet. Returns the body's ID.
func (s *Service) ref(sb *SharedBody, b *store.Batch) uint64 {
	s.sharedMu.Lock()
	defer s.sharedMu.Unlock()
	if sb.id == 0 {
		sb.id = s.shared.next
		s.shared.next++
		b.PutShared(store.SharedBody{ID: sb.id, Head: sb.Head, Tail: sb.Tail})
	}
	s.shared.refs[sb.id]++
	return sb.id
}

// unref drops references to bodies, queueing those left without any for
// deletion.
func (s *Service) unref(ids ...uint64) {
	if len(ids) == 0 {
		return
	}
	s.sharedMu.Lock()
	for _, id := range ids {
		n := s.shared.refs[id] - 1
		if n > 0 {
			s.shared.refs[id] = n
			continue
		}
		delete(s.shared.refs, id)
		s.shared.gone = append(s.shared.gone, id)
	}
	kick := len(s.shared.gone) > 0
	s.sharedMu.Unlock()
	if kick {
		select {
		case s.shared.kick <- struct{}{}:
		default:
		}
	}
}

// sweepShared deletes the bodies that lost their last reference, in
// batches, until the service closes.
func (s *Service) sweepShared() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.shared.kick:
		}
		// Let a burst of deletes gather into one commit.
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
		s.sharedMu.Lock()
		gone := s.shared.gone
		s.shared.gone = nil
		s.sharedMu.Unlock()
		var b store.Batch
		for _, id := range gone {
			b.DeleteShared(id)
		}
		// A failure only leaks the bodies until the next start.
		if err := s.st.Commit(s.ctx, &b); err != nil && s.ctx.Err() == nil {
			s.log.Warn("delete shared message bodies", "count", len(gone), "err", err)
		}
	}
}

// commit commits a batch of the queues' messages. Deletes of messages
// with a shared body take its reference record with them, and the body
// loses the reference once the commit succeeds. Call it without any
// queue's mu.
func (s *Service) commit(ctx context.Context, b *store.Batch) error {
	s.markRefs(b)
	err := s.st.Commit(ctx, b)
	if err == nil {
		s.releaseRefs(b)
	}
	return err
}

// markRefs sets Ref on the batch's message deletes and state writes from
// the queues' reference tables (the store may find a copy's content
// through its state's reference).
func (s *Service) markRefs(b *store.Batch) {
	s.eachRefOp(b, false, func(q *queue, op *store.Op) {
		if len(q.shared.refs) > 0 {
			op.Ref = q.shared.get(op.Seq)
		}
	})
}

// releaseRefs drops, after the commit of b, the references of the copies
// that b deleted.
func (s *Service) releaseRefs(b *store.Batch) {
	var ids []uint64
	s.eachRefOp(b, true, func(q *queue, op *store.Op) {
		// A concurrent delete of the same copy may have released it.
		if op.Kind != store.OpDeleteMessage {
			return
		}
		if id := q.shared.remove(op.Seq); id != 0 {
			ids = append(ids, id)
		}
	})
	s.unref(ids...)
}

// eachRefOp calls fn for each message delete and state write of b (only
// those with a Ref if withRef) with its queue's mu held, locking each run
// of operations on one queue once.
func (s *Service) eachRefOp(b *store.Batch, withRef bool, fn func(q *queue, op *store.Op)) {
	var q *queue
	for i := range b.Ops {
		op := &b.Ops[i]
		if op.Kind != store.OpDeleteMessage && op.Kind != store.OpPutState || withRef && op.Ref == 0 {
			continue
		}
		if q == nil || q.id != op.QueueID {
			if q != nil {
				q.mu.Unlock()
			}
			if q = s.queueByID(op.QueueID); q == nil {
				continue
			}
			q.mu.Lock()
		}
		fn(q, op)
	}
	if q != nil {
		q.mu.Unlock()
	}
}

// releaseQueueRefs drops the references of the queue's copies up to and
// including seq, after a purge or the queue's deletion was committed.
func (s *Service) releaseQueueRefs(q *queue, through uint64) {
	q.mu.Lock()
	ids := q.shared.removeThrough(through)
	q.mu.Unlock()
	s.unref(ids...)
}

func (s *Service) queueByID(id uint64) *queue {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.byID[id]
}

// loadRefs rebuilds a queue's reference table and counts at start.
func (s *Service) loadRefs(ctx context.Context, q *queue) error {
	return s.st.ScanRefs(ctx, q.id, func(seq, id uint64) error {
		q.shared.add(seq, id)
		s.shared.refs[id]++
		return nil
	})
}

// loadShared, after every queue's references were loaded, deletes the
// bodies nothing refers to and sets the next body ID.
func (s *Service) loadShared(ctx context.Context) error {
	var b store.Batch
	s.shared.next = 1
	err := s.st.ScanShared(ctx, func(id uint64) error {
		if id >= s.shared.next {
			s.shared.next = id + 1
		}
		if s.shared.refs[id] == 0 {
			b.DeleteShared(id)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("load shared message bodies: %w", err)
	}
	for id := range s.shared.refs {
		if id >= s.shared.next {
			s.shared.next = id + 1
		}
	}
	if err := s.st.Commit(ctx, &b); err != nil {
		return fmt.Errorf("delete unreferenced message bodies: %w", err)
	}
	if n := b.Len(); n > 0 {
		s.log.Info("deleted message bodies left without references", "count", n)
	}
	return nil
}

// refTable maps the sequence numbers of a queue's messages that have a
// shared body to the body's ID: a slice sorted by sequence number (16
// bytes a message, where a map took about 45 and pushed a server holding
// millions of notifications into its memory limit), removed entries
// zeroed and compacted away once they are half of it.
type refTable struct {
	refs []seqRef
	dead int
}

type seqRef struct{ seq, id uint64 }

func (t *refTable) find(seq uint64) int {
	return sort.Search(len(t.refs), func(i int) bool { return t.refs[i].seq >= seq })
}

// add records a message's body. Sequence numbers arrive nearly in order,
// so the insertion point is at or near the end.
func (t *refTable) add(seq, id uint64) {
	n := len(t.refs)
	if n == 0 || t.refs[n-1].seq < seq {
		t.refs = append(t.refs, seqRef{seq, id})
		return
	}
	// Concurrent sends commit out of order, mostly by a few places: look
	// back from the end before searching the whole table.
	i := n - 1
	for i > 0 && i > n-16 && t.refs[i-1].seq >= seq {
		i--
	}
	if i > 0 && t.refs[i-1].seq >= seq {
		i = t.find(seq)
	}
	if i < n && t.refs[i].seq == seq {
		if t.refs[i].id == 0 {
			t.dead--
		}
		t.refs[i].id = id
		return
	}
	t.refs = append(t.refs, seqRef{})
	copy(t.refs[i+1:], t.refs[i:])
	t.refs[i] = seqRef{seq, id}
}

// get returns the body of a message, or 0.
func (t *refTable) get(seq uint64) uint64 {
	if i := t.find(seq); i < len(t.refs) && t.refs[i].seq == seq {
		return t.refs[i].id
	}
	return 0
}

// remove forgets a message and returns its body, or 0 if it had none.
func (t *refTable) remove(seq uint64) uint64 {
	i := t.find(seq)
	if i == len(t.refs) || t.refs[i].seq != seq || t.refs[i].id == 0 {
		return 0
	}
	id := t.refs[i].id
	t.refs[i].id = 0
	t.dead++
	if t.dead > 64 && t.dead*2 > len(t.refs) {
		t.compact()
	}
	return id
}

// removeThrough forgets every message up to seq and returns their bodies.
func (t *refTable) removeThrough(seq uint64) []uint64 {
	var ids []uint64
	i := 0
	for ; i < len(t.refs) && t.refs[i].seq <= seq; i++ {
		if id := t.refs[i].id; id != 0 {
			ids = append(ids, id)
		} else {
			t.dead--
		}
	}
	t.refs = append(t.refs[:0:0], t.refs[i:]...)
	return ids
}

func (t *refTable) compact() {
	live := make([]seqRef, 0, len(t.refs)-t.dead)
	for _, r := range t.refs {
		if r.id != 0 {
			live = append(live, r)
		}
	}
	t.refs, t.dead = live, 0
}
