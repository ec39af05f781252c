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
	return q.h.Len()
}

// Run calls handle for each item as it falls due until ctx ends, then
// waits for the handlers still running. Items left are not run.
func (q *Queue[T]) Run(ctx context.Context, handle func(context.Context, T)) {
	defer q.wg.Wait()
	for {
		q.mu.Lock()
		var next *entry[T]
		wait := time.Duration(-1)
		if q.h.Len() > 0 {
			now := q.clock.Now().UnixNano()
			if q.h[0].due <= now {
				e := heap.Pop(&q.h).(entry[T])
				next = &e
			} else {
				wait = time.Duration(q.h[0].due - now)
			}
		}
		q.mu.Unlock()
		if next != nil {
			select {
			case q.slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			q.wg.Add(1)
			go func(item T) {
				defer q.wg.Done()
				defer func() { <-q.slots }()
				handle(ctx, item)
			}(next.item)
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
