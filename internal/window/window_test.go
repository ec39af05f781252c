package window

import (
	"math/rand/v2"
	"testing"
)

// TestMapMatchesModel drives a Map and a plain map with the same random
// operations, with shrinks between them.
func TestMapMatchesModel(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var m Map[int, int]
	model := map[int]int{}
	shrank := false
	for i := 0; i < 300_000; i++ {
		k := r.IntN(20_000)
		switch op := r.IntN(10); {
		case op < 4 && i < 100_000 || op < 1: // a burst, then mostly deletes
			m.Set(k, i)
			model[k] = i
		case op < 8:
			m.Delete(k)
			delete(model, k)
		default:
			got, ok := m.Get(k)
			want, wok := model[k]
			if ok != wok || got != want {
				t.Fatalf("Get(%d) = %d, %v; want %d, %v", k, got, ok, want, wok)
			}
		}
		if i%1000 == 0 {
			m.Shrink(1024)
			shrank = shrank || m.Draining()
		}
		if m.Len() != len(model) {
			t.Fatalf("step %d: Len %d, want %d", i, m.Len(), len(model))
		}
	}
	if !shrank {
		t.Fatal("the test never shrank the map")
	}
	seen := map[int]bool{}
	for k, v := range m.All() {
		if seen[k] || model[k] != v {
			t.Fatalf("All yielded %d=%d (seen %v, want %d)", k, v, seen[k], model[k])
		}
		seen[k] = true
	}
	if len(seen) != len(model) {
		t.Fatalf("All yielded %d entries, want %d", len(seen), len(model))
	}
}

// TestShrinkDrops: a drained old map is dropped, and an empty Map
// forgets its peak.
func TestShrinkDrops(t *testing.T) {
	var m Map[int, int]
	for i := range 4096 {
		m.Set(i, i)
	}
	for i := range 4000 {
		m.Delete(i)
	}
	m.Shrink(1024)
	if !m.Draining() || m.Len() != 96 {
		t.Fatalf("after shrink: draining %v, len %d", m.Draining(), m.Len())
	}
	m.Set(5000, 1) // new entries go to the fresh map
	for i := 4000; i < 4096; i++ {
		m.Delete(i)
	}
	if m.Draining() || m.Len() != 1 {
		t.Fatalf("after draining: draining %v, len %d", m.Draining(), m.Len())
	}
	if v, ok := m.Get(5000); !ok || v != 1 {
		t.Fatal("entry set while draining lost")
	}
}
