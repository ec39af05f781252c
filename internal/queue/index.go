package queue

import (
	"sort"

	"github.com/forkline/forkline/internal/store"
)

// The in-memory index of one queue: which messages are visible, delayed or
// in flight. It holds only sequence numbers and timestamps (16 to 40 bytes a
// message); bodies stay in the store. Every method here requires queue.mu.

// minHeap is a binary min-heap ordered by less.
type minHeap[T any] struct {
	items []T
	less  func(a, b T) bool
}

func (h *minHeap[T]) Len() int { return len(h.items) }

func (h *minHeap[T]) Top() T { return h.items[0] }

func (h *minHeap[T]) Push(v T) {
	h.items = append(h.items, v)
	i := len(h.items) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(h.items[i], h.items[p]) {
			break
		}
		h.items[i], h.items[p] = h.items[p], h.items[i]
		i = p
	}
}

func (h *minHeap[T]) Pop() T {
	top := h.items[0]
	n := len(h.items) - 1
	h.items[0] = h.items[n]
	var zero T
	h.items[n] = zero
	h.items = h.items[:n]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && h.less(h.items[l], h.items[m]) {
			m = l
		}
		if r < n && h.less(h.items[r], h.items[m]) {
			m = r
		}
		if m == i {
			break
		}
		h.items[i], h.items[m] = h.items[m], h.items[i]
		i = m
	}
	if cap(h.items) > 1024 && n < cap(h.items)/4 {
		h.items = append(make([]T, 0, cap(h.items)/2), h.items...)
	}
	return top
}

func (h *minHeap[T]) Reset() { h.items = nil }

// readyEntry is a visible message.
type readyEntry struct {
	seq    uint64
	sentAt int64 // Unix ms
	// received is set once the message has been received: its stored
	// state then differs from the one a fresh message has, and must be
	// read from the store.
	received bool
}

// timed is a message waiting for a time: a delayed message (visible at
// `at`) or an in-flight deadline.
type timed struct {
	at     int64 // Unix ns
	seq    uint64
	sentAt int64
	group  string
}

// flight is a message in flight.
type flight struct {
	st         store.State
	receivedAt int64 // Unix ns of the receive that made this flight
	// pending is true between the pick and the durable commit of a
	// receive; a pending flight neither expires nor matches a handle.
	pending bool
}

// group is one FIFO message group.
type group struct {
	msgs     []readyEntry // visible messages, sorted by seq
	inflight int          // messages of the group in flight
	pending  int          // sends being committed
}

// groupRef names a group that had head seq when pushed; stale refs are
// skipped when popped.
type groupRef struct {
	head uint64
	name string
}

type index struct {
	fifo bool

	ready    minHeap[readyEntry] // standard queues
	groups   map[string]*group   // FIFO queues
	avail    minHeap[groupRef]   // FIFO groups that can deliver, lazily pruned
	delayed  minHeap[timed]
	inflight map[uint64]*flight
	expiry   minHeap[timed] // in-flight deadlines, lazily pruned
	// dropped holds messages deleted while visible or delayed, removed
	// from the heaps lazily.
	dropped map[uint64]bool

	nVisible, nInflight, nDelayed int64

	// expired collects messages past retention, to be deleted from the
	// store by the next commit.
	expired []uint64
}

func newIndex(fifo bool) *index {
	x := &index{fifo: fifo}
	x.reset()
	return x
}

func (x *index) reset() {
	x.ready = minHeap[readyEntry]{less: func(a, b readyEntry) bool { return a.seq < b.seq }}
	x.groups = map[string]*group{}
	x.avail = minHeap[groupRef]{less: func(a, b groupRef) bool { return a.head < b.head }}
	x.delayed = minHeap[timed]{less: func(a, b timed) bool { return a.at < b.at || a.at == b.at && a.seq < b.seq }}
	x.expiry = minHeap[timed]{less: func(a, b timed) bool { return a.at < b.at }}
	x.inflight = map[uint64]*flight{}
	x.dropped = map[uint64]bool{}
	x.nVisible, x.nInflight, x.nDelayed = 0, 0, 0
	x.expired = nil
}

func (x *index) group(name string) *group {
	g := x.groups[name]
	if g == nil {
		g = &group{}
		x.groups[name] = g
	}
	return g
}

func (x *index) maybeAvail(name string, g *group) {
	if g.inflight == 0 && g.pending == 0 && len(g.msgs) > 0 {
		x.avail.Push(groupRef{head: g.msgs[0].seq, name: name})
	}
	if g.inflight == 0 && g.pending == 0 && len(g.msgs) == 0 {
		delete(x.groups, name)
	}
}

// addReady makes a message visible.
func (x *index) addReady(e readyEntry, groupName string) {
	x.nVisible++
	if !x.fifo {
		x.ready.Push(e)
		return
	}
	g := x.group(groupName)
	i := sort.Search(len(g.msgs), func(i int) bool { return g.msgs[i].seq >= e.seq })
	g.msgs = append(g.msgs, readyEntry{})
	copy(g.msgs[i+1:], g.msgs[i:])
	g.msgs[i] = e
	if i == 0 {
		x.maybeAvail(groupName, g)
	}
}

func (x *index) addDelayed(t timed) {
	x.nDelayed++
	x.delayed.Push(t)
}

func (x *index) addFlight(seq uint64, f *flight) {
	x.inflight[seq] = f
	x.nInflight++
	if !f.pending {
		x.expiry.Push(timed{at: f.st.VisibleAt, seq: seq})
	}
	if x.fifo {
		x.group(f.st.GroupID).inflight++
	}
}

// removeFlight forgets an in-flight message (deleted, moved or returned).
func (x *index) removeFlight(seq uint64, f *flight) {
	delete(x.inflight, seq)
	x.nInflight--
	if x.fifo {
		g := x.group(f.st.GroupID)
		g.inflight--
		x.maybeAvail(f.st.GroupID, g)
	}
}

// returnFlight makes an in-flight message visible again.
func (x *index) returnFlight(seq uint64, f *flight) {
	x.removeFlight(seq, f)
	x.addReady(readyEntry{seq: seq, sentAt: f.st.SentAt, received: true}, f.st.GroupID)
}

// advance applies every transition due at now (Unix ns): delayed messages
// become visible, expired visibility timeouts return messages, and visible
// messages past the retention period are dropped. It reports whether any
// message became visible.
func (x *index) advance(now int64, retentionMs int64) bool {
	woke := false
	for x.delayed.Len() > 0 && x.delayed.Top().at <= now {
		t := x.delayed.Pop()
		if x.dropped[t.seq] {
			delete(x.dropped, t.seq)
			continue
		}
		x.nDelayed--
		x.addReady(readyEntry{seq: t.seq, sentAt: t.sentAt}, t.group)
		woke = true
	}
	for x.expiry.Len() > 0 && x.expiry.Top().at <= now {
		t := x.expiry.Pop()
		f := x.inflight[t.seq]
		if f == nil || f.pending || f.st.VisibleAt != t.at {
			continue
		}
		x.returnFlight(t.seq, f)
		woke = true
	}
	if !x.fifo {
		limit := now/1e6 - retentionMs
		for x.ready.Len() > 0 && x.ready.Top().sentAt <= limit {
			e := x.ready.Pop()
			if x.dropped[e.seq] {
				delete(x.dropped, e.seq)
				continue
			}
			x.nVisible--
			x.expired = append(x.expired, e.seq)
		}
	}
	return woke
}

// nextDue returns the earliest Unix ns at which advance may have work, or 0.
func (x *index) nextDue() int64 {
	var next int64
	if x.delayed.Len() > 0 {
		next = x.delayed.Top().at
	}
	if x.expiry.Len() > 0 && (next == 0 || x.expiry.Top().at < next) {
		next = x.expiry.Top().at
	}
	return next
}

// candidate is a message picked for delivery.
type candidate struct {
	seq uint64
	f   *flight
	// fresh: never received, so its stored state is known without a read.
	fresh bool
}

// pick takes up to max visible messages, marking each in flight (pending).
// Messages past retention are moved to x.expired instead.
func (x *index) pick(max int, mk func(seq uint64, sentAt int64, group string) *flight, retentionLimitMs int64) []candidate {
	var out []candidate
	if !x.fifo {
		for len(out) < max && x.ready.Len() > 0 {
			e := x.ready.Pop()
			if x.dropped[e.seq] {
				delete(x.dropped, e.seq)
				continue
			}
			x.nVisible--
			if e.sentAt <= retentionLimitMs {
				x.expired = append(x.expired, e.seq)
				continue
			}
			f := mk(e.seq, e.sentAt, "")
			x.addFlight(e.seq, f)
			out = append(out, candidate{e.seq, f, !e.received})
		}
		return out
	}
	for len(out) < max && x.avail.Len() > 0 {
		ref := x.avail.Pop()
		g := x.groups[ref.name]
		if g == nil || g.inflight > 0 || g.pending > 0 || len(g.msgs) == 0 || g.msgs[0].seq != ref.head {
			continue
		}
		taken := 0
		for len(out) < max && taken < len(g.msgs) {
			e := g.msgs[taken]
			taken++
			if x.dropped[e.seq] {
				delete(x.dropped, e.seq)
				continue
			}
			x.nVisible--
			if e.sentAt <= retentionLimitMs {
				x.expired = append(x.expired, e.seq)
				continue
			}
			f := mk(e.seq, e.sentAt, ref.name)
			g.inflight++
			x.inflight[e.seq] = f
			x.nInflight++
			out = append(out, candidate{e.seq, f, !e.received})
		}
		g.msgs = append(g.msgs[:0], g.msgs[taken:]...)
		x.maybeAvail(ref.name, g)
	}
	return out
}

// settle ends the pending state of picked flights after their commit.
func (x *index) settle(c []candidate) {
	for _, cd := range c {
		cd.f.pending = false
		x.expiry.Push(timed{at: cd.f.st.VisibleAt, seq: cd.seq})
	}
}

// unpick returns picked messages after a failed commit.
func (x *index) unpick(c []candidate) {
	for _, cd := range c {
		if x.inflight[cd.seq] == cd.f {
			x.returnFlight(cd.seq, cd.f)
		}
	}
}

// dropVisible removes a visible message (deleted with a handle that is
// still its latest after its visibility timeout expired).
func (x *index) dropVisible(seq uint64) {
	if x.dropped[seq] {
		return
	}
	x.dropped[seq] = true
	x.nVisible--
	if x.fifo {
		for name, g := range x.groups {
			for i, e := range g.msgs {
				if e.seq == seq {
					g.msgs = append(g.msgs[:i], g.msgs[i+1:]...)
					delete(x.dropped, seq)
					if i == 0 {
						x.maybeAvail(name, g)
					}
					return
				}
			}
		}
	}
}

func (x *index) takeExpired() []uint64 {
	e := x.expired
	x.expired = nil
	return e
}
