// Package window holds a deduplication window's entries: a map that gives
// back the memory of a burst without stopping to copy what is left.
//
// Go maps never shrink. A FIFO queue or topic that took a million sends in
// a burst would hold the burst's table for good, and copying the live
// entries into a smaller map stops every send for as long as the copy
// takes (about 75 ms for 250,000 entries on the project's host). Instead,
// once the entries have fallen to a quarter of their peak, new entries go
// to a fresh map while the old one is kept for reads and deletes only. A
// window's entries all expire, so the old map empties within one window
// and is dropped.
package window

import "iter"

// Map is a deduplication window's entries. The zero Map is empty and ready
// to use. It is not safe for concurrent use.
type Map[K comparable, V any] struct {
	cur, old map[K]V
	peak     int
}

// Get returns the entry for k.
func (m *Map[K, V]) Get(k K) (V, bool) {
	if v, ok := m.cur[k]; ok {
		return v, true
	}
	v, ok := m.old[k]
	return v, ok
}

// Set sets the entry for k.
func (m *Map[K, V]) Set(k K, v V) {
	if m.cur == nil {
		m.cur = map[K]V{}
	}
	m.cur[k] = v
	if m.old != nil {
		m.deleteOld(k)
	}
	m.peak = max(m.peak, m.Len())
}

// Delete deletes the entry for k.
func (m *Map[K, V]) Delete(k K) {
	delete(m.cur, k)
	if m.old != nil {
		m.deleteOld(k)
	}
}

func (m *Map[K, V]) deleteOld(k K) {
	delete(m.old, k)
	if len(m.old) == 0 {
		m.old = nil // drained: its memory goes back
	}
}

// Len is the number of entries.
func (m *Map[K, V]) Len() int { return len(m.cur) + len(m.old) }

// All yields every entry once.
func (m *Map[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		for k, v := range m.cur {
			if !yield(k, v) {
				return
			}
		}
		for k, v := range m.old {
			if !yield(k, v) {
				return
			}
		}
	}
}

// Shrink starts giving back a burst's memory once the entries have fallen
// below a quarter of their peak, the peak being above least: new entries
// go to a fresh map, and the old one is dropped when its last entry is
// deleted. It costs nothing while the old map drains.
func (m *Map[K, V]) Shrink(least int) {
	if m.old != nil || m.peak <= least || m.Len() >= m.peak/4 {
		return
	}
	if len(m.cur) == 0 {
		m.cur, m.peak = nil, 0
		return
	}
	m.old, m.cur, m.peak = m.cur, nil, len(m.cur)
}

// Draining reports whether an old map is still being drained (for tests).
func (m *Map[K, V]) Draining() bool { return m.old != nil }
