package pebblestore

import (
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Read views: iterators that ReadMessages keeps between calls.
//
// Building a Pebble iterator and making its first seek opens every level's
// table and reads its index: for a receive of ten messages from flushed
// tables that was half of the read's cost (BenchmarkLaggingReaders: 18 µs
// per message read with a new iterator per call, 8 µs when one call read a
// hundred). A view keeps its iterators for up to viewTTL, and a later read
// of the same queue takes it when its answer cannot depend on what the
// view does not see:
//   - every message asked for existed when the view was made: its sequence
//     number is at most the queue's highest committed one then (hw), and a
//     message's content and its reference to a shared body never change;
//   - no state is asked for (states change on every receive), so only
//     reads of messages never received take a kept view.
//
// A read through a kept view that misses a message (a commit with a lower
// sequence number can become visible after one with a higher one) is made
// again through new iterators. Views pin the tables and memtables they
// saw, so they live at most viewTTL (a janitor closes idle ones) and at
// most maxViews are kept.
const (
	viewTTL  = time.Second
	maxViews = 64
)

type view struct {
	it   *pebble.Iterator // the queue's messages, bounded once with SetBounds
	body *pebble.Iterator // shared bodies, made when first needed
	hw   uint64           // the queue's highest committed sequence number before it was made
	// bounded is set once it is bounded to the queue's messages.
	bounded bool
	born    time.Time
}

func (v *view) close() {
	v.it.Close()
	if v.body != nil {
		v.body.Close()
	}
}

// views holds the kept views by queue. It is safe for concurrent use.
type views struct {
	mu      sync.Mutex
	byQueue map[uint64][]*view
	n       int
	closed  bool
	stop    chan struct{}
	done    chan struct{}
}

func newViews() *views {
	v := &views{byQueue: map[uint64][]*view{}, stop: make(chan struct{}), done: make(chan struct{})}
	go v.janitor()
	return v
}

// take returns a kept view of queue qid that saw every message up to seq
// hi, or nil.
func (vs *views) take(qid, hi uint64) *view {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	list := vs.byQueue[qid]
	for i := len(list) - 1; i >= 0; i-- {
		v := list[i]
		if v.hw < hi || time.Since(v.born) >= viewTTL {
			continue
		}
		list = append(list[:i], list[i+1:]...)
		vs.n--
		if len(list) == 0 {
			delete(vs.byQueue, qid)
		} else {
			vs.byQueue[qid] = list
		}
		return v
	}
	return nil
}

// put keeps a view for later reads of queue qid, or closes it.
func (vs *views) put(qid uint64, v *view) {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	if vs.closed || vs.n >= maxViews || time.Since(v.born) >= viewTTL {
		v.close()
		return
	}
	vs.byQueue[qid] = append(vs.byQueue[qid], v)
	vs.n++
}

// drop closes the kept views of a queue (deleted or purged).
func (vs *views) drop(qid uint64) {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	for _, v := range vs.byQueue[qid] {
		v.close()
		vs.n--
	}
	delete(vs.byQueue, qid)
}

// expire closes the views older than viewTTL.
func (vs *views) expire() {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	for qid, list := range vs.byQueue {
		kept := list[:0]
		for _, v := range list {
			if time.Since(v.born) >= viewTTL {
				v.close()
				vs.n--
			} else {
				kept = append(kept, v)
			}
		}
		if len(kept) == 0 {
			delete(vs.byQueue, qid)
		} else {
			vs.byQueue[qid] = kept
		}
	}
}

func (vs *views) janitor() {
	defer close(vs.done)
	t := time.NewTicker(viewTTL / 2)
	defer t.Stop()
	for {
		select {
		case <-vs.stop:
			return
		case <-t.C:
			vs.expire()
		}
	}
}

// close closes every view and stops the janitor; later puts close theirs.
func (vs *views) close() {
	close(vs.stop)
	<-vs.done
	vs.mu.Lock()
	defer vs.mu.Unlock()
	vs.closed = true
	for _, list := range vs.byQueue {
		for _, v := range list {
			v.close()
		}
	}
	vs.byQueue, vs.n = nil, 0
}
