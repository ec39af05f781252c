// Package schedule runs work items when they fall due on a clock: the
// outbox of topic deliveries and the queue of asynchronous invocations
// both keep their pending items here, each with the time of its next
// attempt.
package schedule

import (
	"container/heap"
	"context"
	"sync"
	"time"

	"github.com/forkline/forkline/internal/clock"
)

// Queue holds items by due time and runs each, once due, on a bounded pool
// of goroutines. It is safe for concurrent use.
type Queue[T any] struct {
	clock clock.Clock

	mu   sync.Mutex // guards h and seq
	h    items[T]
	seq  uint64
	wake chan struct{}

	slots chan struct{}
	wg    sync.WaitGroup

	// With a key, at most perKey items of one key run at once: the others
	// wait, parked in due order, so that one slow key (an endpoint that
	// takes seconds to answer) cannot fill every slot and hold up the
	// rest. Guarded by mu.
	key     func(T) string
	perKey  int
	running map[string]int
	parked  map[string][]entry[T]
}

// LimitPerKey bounds the items of one key (as key names it) running at
// once to n. Call it before Run.
func (q *Queue[T]) LimitPerKey(n int, key func(T) string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.key, q.perKey = key, n
	q.running, q.parked = map[string]int{}, map[string][]entry[T]{}
}

// New returns a queue on clk running at most concurrency items at once.
func New[T any](clk clock.Clock, concurrency int) *Queue[T] {
	return &Queue[T]{clock: clk, wake: make(chan struct{}, 1), slots: make(chan struct{}, concurrency)}
}

// Add schedules item at due (now or in the past runs it as soon as a slot
// is free). Items due at the same time run in the order they were added.
func (q *Queue[T]) Add(item T, due time.Time) {
	q.mu.Lock()
	q.seq++
	heap.Push(&q.h, entry[T]{item: item, due: due.UnixNano(), seq: q.seq})
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Len reports the items waiting (not those running).
func (q *Queue[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := q.h.Len()
	for _, p := range q.parked {
		n += len(p)
	}
	return n
}

// Run calls handle for each item as it falls due until ctx ends, then
// waits for the handlers still running. Items left are not run.
func (q *Queue[T]) Run(ctx context.Context, handle func(context.Context, T)) {
	defer q.wg.Wait()
	for {
		q.mu.Lock()
		var next *entry[T]
		key := ""
		wait := time.Duration(-1)
		for q.h.Len() > 0 {
			now := q.clock.Now().UnixNano()
			if q.h[0].due > now {
				wait = time.Duration(q.h[0].due - now)
				break
			}
			e := heap.Pop(&q.h).(entry[T])
			if q.key != nil {
				key = q.key(e.item)
				if q.running[key] >= q.perKey {
					q.parked[key] = append(q.parked[key], e)
					continue
				}
				q.running[key]++
			}
			next = &e
			break
		}
		q.mu.Unlock()
		if next != nil {
			select {
			case q.slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			q.wg.Add(1)
			go func(item T, key string) {
				defer q.wg.Done()
				defer func() { <-q.slots }()
				defer q.release(key)
				handle(ctx, item)
			}(next.item, key)
			continue
		}
		var timer clock.Timer
		var fire <-chan time.Time
		if wait >= 0 {
			timer = q.clock.NewTimer(wait)
			fire = timer.C()
		}
		select {
		case <-ctx.Done():
		case <-q.wake:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// release ends a running item of key: the first item parked behind it,
// if any, is due again.
func (q *Queue[T]) release(key string) {
	if q.key == nil {
		return
	}
	q.mu.Lock()
	q.running[key]--
	if p := q.parked[key]; len(p) > 0 {
		heap.Push(&q.h, p[0])
		if len(p) == 1 {
			delete(q.parked, key)
		} else {
			q.parked[key] = p[1:]
		}
	} else if q.running[key] <= 0 {
		delete(q.running, key)
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

type entry[T any] struct {
	item T
	due  int64
	seq  uint64
}

type items[T any] []entry[T]

func (h items[T]) Len() int { return len(h) }
func (h items[T]) Less(i, j int) bool {
	if h[i].due != h[j].due {
		return h[i].due < h[j].due
	}
	return h[i].seq < h[j].seq
}
func (h items[T]) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *items[T]) Push(x any)   { *h = append(*h, x.(entry[T])) }
func (h *items[T]) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
