package queue

import (
	"sort"
	"time"

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
	// busy is non-nil while a store write about this message is being
	// committed (the receive that made it, a delete, a visibility change);
	// it is closed when the write ends. A busy flight does not expire and
	// does not match a handle; deletes and visibility changes wait for it.
	busy chan struct{}
}

func newBusyFlight(st store.State, receivedAt int64) *flight {
	return &flight{st: st, receivedAt: receivedAt, busy: make(chan struct{})}
}

// group is one FIFO message group.
type group struct {
	msgs     []readyEntry // visible messages, sorted by seq
	inflight int          // messages of the group in flight
	// pending holds the sequence numbers of sends being committed, sorted:
	// no visible message above the lowest may be delivered before it.
	pending []uint64
}

// limit returns the sequence number below which messages may be
// delivered.
func (g *group) limit() uint64 {
	if len(g.pending) == 0 {
		return ^uint64(0)
	}
	return g.pending[0]
}

func (g *group) deliverable() bool {
	return g.inflight == 0 && len(g.msgs) > 0 && g.msgs[0].seq < g.limit()
}

// groupRef names a group that had head seq when pushed; stale refs are
// skipped when popped.
type groupRef struct {
	head uint64
	name string
}

// returned describes a visible message that was received before: its
// latest receipt handle (nonce) still deletes it.
type returned struct {
	nonce  uint64
	sentAt int64
	group  string
}

type index struct {
	fifo bool

	ready    minHeap[readyEntry] // standard queues
	groups   map[string]*group   // FIFO queues
	avail    minHeap[groupRef]   // FIFO groups that can deliver, lazily pruned
	delayed  minHeap[timed]
	inflight map[uint64]*flight
	expiry   minHeap[timed] // in-flight deadlines, lazily pruned
	// returned holds the visible messages that were received before.
	returned map[uint64]returned
	// dropped holds visible messages of standard queues deleted by their
	// latest handle, removed from the ready heap lazily.
	dropped map[uint64]bool

	// age orders the visible messages of FIFO queues by send time, for
	// retention (their groups are ordered by sequence, not by age). Stale
	// entries are skipped when popped; the heap is rebuilt when they
	// outnumber the live ones.
	age minHeap[timed]

	nVisible, nInflight, nDelayed int64
	// fifoDelay is a FIFO queue's delay (ns), which applies to every
	// message never received (retime, addFresh).
	fifoDelay int64

	// expired collects messages past retention, to be deleted from the
	// store by the caller (Service.reap).
	expired []uint64
	// woke is set when a message became visible or a group deliverable;
	// the queue signals long polls and clears it.
	woke bool
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
	x.returned = map[uint64]returned{}
	x.dropped = map[uint64]bool{}
	x.age = minHeap[timed]{less: func(a, b timed) bool { return a.at < b.at }}
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

// maybeAvail offers a group for delivery if it can deliver, and forgets it
// if it holds nothing.
func (x *index) maybeAvail(name string, g *group) {
	if g.deliverable() {
		x.avail.Push(groupRef{head: g.msgs[0].seq, name: name})
		x.woke = true
	}
	if g.inflight == 0 && len(g.pending) == 0 && len(g.msgs) == 0 {
		delete(x.groups, name)
	}
}

// beginSend records a FIFO send being committed.
func (x *index) beginSend(groupName string, seq uint64) {
	g := x.group(groupName)
	i := sort.Search(len(g.pending), func(i int) bool { return g.pending[i] >= seq })
	g.pending = append(g.pending, 0)
	copy(g.pending[i+1:], g.pending[i:])
	g.pending[i] = seq
}

// endSend ends a FIFO send's commit.
func (x *index) endSend(groupName string, seq uint64) {
	g := x.group(groupName)
	for i, p := range g.pending {
		if p == seq {
			g.pending = append(g.pending[:i], g.pending[i+1:]...)
			break
		}
	}
	x.maybeAvail(groupName, g)
}

// addReady makes a message visible.
func (x *index) addReady(e readyEntry, groupName string) {
	x.nVisible++
	x.woke = true
	if !x.fifo {
		x.ready.Push(e)
		return
	}
	x.age.Push(timed{at: e.sentAt, seq: e.seq, group: groupName})
	if x.age.Len() > 1024 && int64(x.age.Len()) > 4*x.nVisible {
		x.rebuildAge()
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
	if x.delayed.Len() == 0 || t.at < x.delayed.Top().at {
		x.woke = true // long polls recompute their wake-up time
	}
	x.delayed.Push(t)
}

// addFlight records an in-flight message (loading, or picking).
func (x *index) addFlight(seq uint64, f *flight) {
	x.inflight[seq] = f
	x.nInflight++
	if f.busy == nil {
		x.expiry.Push(timed{at: f.st.VisibleAt, seq: seq})
	}
	if x.fifo {
		x.group(f.st.GroupID).inflight++
	}
}

// removeFlight forgets an in-flight message (deleted, moved or returned)
// and ends its busy state.
func (x *index) removeFlight(seq uint64, f *flight) {
	delete(x.inflight, seq)
	x.nInflight--
	f.release()
	// The deadlines of deleted messages stay in the heap until they pass
	// (up to 12 hours): rebuild it once they outnumber the live ones, and
	// the map too, which Go never shrinks (the soak audit: 500,000
	// messages received with a 12-hour timeout and deleted kept 8.6 MB).
	if x.expiry.Len() > 1024 && x.expiry.Len() > 4*len(x.inflight) {
		x.rebuildExpiry()
	}
	if x.fifo {
		g := x.group(f.st.GroupID)
		g.inflight--
		x.maybeAvail(f.st.GroupID, g)
	}
}

// settleFlight ends a flight's busy state after its write committed (or
// failed) and it stays in flight.
func (x *index) settleFlight(seq uint64, f *flight) {
	f.release()
	x.pushExpiry(timed{at: f.st.VisibleAt, seq: seq})
}

// pushExpiry adds an in-flight deadline; one earlier than every other
// wakes long polls so that they wait for it.
func (x *index) pushExpiry(t timed) {
	if x.expiry.Len() == 0 || t.at < x.expiry.Top().at {
		x.woke = true
	}
	x.expiry.Push(t)
}

func (f *flight) release() {
	if f.busy != nil {
		close(f.busy)
		f.busy = nil
	}
}

// returnFlight makes an in-flight message visible again.
func (x *index) returnFlight(seq uint64, f *flight) {
	x.removeFlight(seq, f)
	x.returned[seq] = returned{nonce: f.st.Nonce, sentAt: f.st.SentAt, group: f.st.GroupID}
	x.addReady(readyEntry{seq: seq, sentAt: f.st.SentAt, received: true}, f.st.GroupID)
}

// advance applies every transition due at now (Unix ns): delayed messages
// become visible, expired visibility timeouts return messages, and visible
// messages past the retention period are dropped.
func (x *index) advance(now int64, retentionMs int64) {
	for x.delayed.Len() > 0 && x.delayed.Top().at <= now {
		t := x.delayed.Pop()
		x.nDelayed--
		x.addReady(readyEntry{seq: t.seq, sentAt: t.sentAt}, t.group)
	}
	for x.expiry.Len() > 0 && x.expiry.Top().at <= now {
		t := x.expiry.Pop()
		f := x.inflight[t.seq]
		if f == nil || f.busy != nil || f.st.VisibleAt != t.at {
			continue
		}
		x.returnFlight(t.seq, f)
	}
	limit := now/1e6 - retentionMs
	if x.fifo {
		for x.age.Len() > 0 && x.age.Top().at <= limit {
			t := x.age.Pop()
			g := x.groups[t.group]
			if g == nil {
				continue
			}
			i := sort.Search(len(g.msgs), func(i int) bool { return g.msgs[i].seq >= t.seq })
			if i == len(g.msgs) || g.msgs[i].seq != t.seq {
				continue // no longer visible
			}
			g.msgs = append(g.msgs[:i], g.msgs[i+1:]...)
			x.nVisible--
			delete(x.returned, t.seq)
			x.expired = append(x.expired, t.seq)
			x.maybeAvail(t.group, g)
		}
	} else {
		for x.ready.Len() > 0 && x.ready.Top().sentAt <= limit {
			e := x.ready.Pop()
			if x.dropped[e.seq] {
				delete(x.dropped, e.seq)
				continue
			}
			x.nVisible--
			delete(x.returned, e.seq)
			x.expired = append(x.expired, e.seq)
		}
	}
}

// retime gives the messages of a FIFO queue that were never received the
// time sentAt + delay (ns) at which they become visible: "For FIFO queues,
// the per-queue delay setting is retroactive" (SQS developer guide, "Amazon
// SQS delay queues"). Delayed messages may become visible, and visible ones
// delayed again.
func (x *index) retime(delay, now int64) {
	x.fifoDelay = delay
	old := x.delayed.items
	x.delayed.items = nil
	x.nDelayed = 0
	var due []timed
	for _, t := range old {
		t.at = t.sentAt*int64(time.Millisecond) + delay
		if t.at <= now {
			due = append(due, t)
		} else {
			x.addDelayed(t)
		}
	}
	for name, g := range x.groups {
		kept := g.msgs[:0]
		for _, e := range g.msgs {
			if at := e.sentAt*int64(time.Millisecond) + delay; !e.received && at > now {
				// Its age entry goes stale: it is no longer in g.msgs.
				x.nVisible--
				x.addDelayed(timed{at: at, seq: e.seq, sentAt: e.sentAt, group: name})
				continue
			}
			kept = append(kept, e)
		}
		g.msgs = kept
		x.maybeAvail(name, g)
	}
	for _, t := range due {
		x.addReady(readyEntry{seq: t.seq, sentAt: t.sentAt}, t.group)
	}
	x.woke = true
}

// rebuildExpiry drops stale deadlines from the expiry heap and copies the
// in-flight map into one sized for what it holds.
func (x *index) rebuildExpiry() {
	items := make([]timed, 0, 2*len(x.inflight))
	inflight := make(map[uint64]*flight, len(x.inflight))
	for seq, f := range x.inflight {
		inflight[seq] = f
		if f.busy == nil {
			items = append(items, timed{at: f.st.VisibleAt, seq: seq})
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].at < items[j].at })
	x.expiry.items = items // sorted is a valid heap
	x.inflight = inflight
}

// rebuildAge drops stale entries from the FIFO age heap.
func (x *index) rebuildAge() {
	var items []timed
	for name, g := range x.groups {
		for _, e := range g.msgs {
			items = append(items, timed{at: e.sentAt, seq: e.seq, group: name})
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].at < items[j].at })
	x.age.items = items // sorted is a valid heap
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
	// prev is the message's entry in index.returned before the pick.
	prev    returned
	hadPrev bool
}

// pick takes up to max visible messages, marking each in flight and busy.
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
			prev, had := x.returned[e.seq]
			delete(x.returned, e.seq)
			if e.sentAt <= retentionLimitMs {
				x.expired = append(x.expired, e.seq)
				continue
			}
			f := mk(e.seq, e.sentAt, "")
			x.addFlight(e.seq, f)
			out = append(out, candidate{seq: e.seq, f: f, fresh: !e.received, prev: prev, hadPrev: had})
		}
		return out
	}
	for len(out) < max && x.avail.Len() > 0 {
		ref := x.avail.Pop()
		g := x.groups[ref.name]
		if g == nil || !g.deliverable() || g.msgs[0].seq != ref.head {
			continue
		}
		limit := g.limit()
		taken := 0
		for len(out) < max && taken < len(g.msgs) && g.msgs[taken].seq < limit {
			e := g.msgs[taken]
			taken++
			x.nVisible--
			prev, had := x.returned[e.seq]
			delete(x.returned, e.seq)
			if e.sentAt <= retentionLimitMs {
				x.expired = append(x.expired, e.seq)
				continue
			}
			f := mk(e.seq, e.sentAt, ref.name)
			x.addFlight(e.seq, f)
			out = append(out, candidate{seq: e.seq, f: f, fresh: !e.received, prev: prev, hadPrev: had})
		}
		g.msgs = append(g.msgs[:0], g.msgs[taken:]...)
		x.maybeAvail(ref.name, g)
	}
	return out
}

// settle ends the busy state of picked flights after their commit.
func (x *index) settle(c []candidate) {
	for _, cd := range c {
		x.settleFlight(cd.seq, cd.f)
	}
}

// unpick returns picked messages after a failed commit.
func (x *index) unpick(c []candidate, now int64) {
	for _, cd := range c {
		if x.inflight[cd.seq] == cd.f {
			x.removeFlight(cd.seq, cd.f)
			if cd.hadPrev {
				x.returned[cd.seq] = cd.prev
			}
			if x.fifo && cd.fresh {
				x.addFresh(cd.seq, cd.f.st.SentAt, cd.f.st.GroupID, now)
				continue
			}
			x.addReady(readyEntry{seq: cd.seq, sentAt: cd.f.st.SentAt, received: !cd.fresh}, cd.f.st.GroupID)
		}
	}
}

// addFresh adds a message of a FIFO queue that was never received: delayed
// until sentAt (Unix ms) + the queue's delay, or visible (index.retime).
func (x *index) addFresh(seq uint64, sentAt int64, group string, now int64) {
	if at := sentAt*int64(time.Millisecond) + x.fifoDelay; at > now {
		x.addDelayed(timed{at: at, seq: seq, sentAt: sentAt, group: group})
		return
	}
	x.addReady(readyEntry{seq: seq, sentAt: sentAt}, group)
}

// dropVisible removes a visible message that was received before (it is
// in x.returned), deleted by its latest handle.
func (x *index) dropVisible(seq uint64) {
	r, ok := x.returned[seq]
	if !ok {
		return
	}
	delete(x.returned, seq)
	x.nVisible--
	if !x.fifo {
		x.dropped[seq] = true
		return
	}
	g := x.groups[r.group]
	if g == nil {
		return
	}
	for i, e := range g.msgs {
		if e.seq == seq {
			g.msgs = append(g.msgs[:i], g.msgs[i+1:]...)
			x.maybeAvail(r.group, g)
			return
		}
	}
}

// undrop puts back a message dropVisible removed, after a failed commit.
func (x *index) undrop(seq uint64, r returned) {
	if !x.fifo && x.dropped[seq] {
		delete(x.dropped, seq)
		x.nVisible++
		x.returned[seq] = r
		return
	}
	x.returned[seq] = r
	x.addReady(readyEntry{seq: seq, sentAt: r.sentAt, received: true}, r.group)
}

func (x *index) takeExpired() []uint64 {
	e := x.expired
	x.expired = nil
	return e
}
