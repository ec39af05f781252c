package pebblestore

import (
	"context"
	"fmt"
	"testing"

	"github.com/forkline/forkline/internal/store"
	"github.com/forkline/forkline/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		Location: func(t *testing.T) string { return t.TempDir() },
		Open: func(t *testing.T, dir string) (store.Store, func()) {
			s, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			return s, func() {
				if err := s.Close(); err != nil {
					t.Error(err)
				}
			}
		},
	})
}

// TestKeptViews pins the reads through kept iterators (views.go): a read
// of messages newer than every kept view makes a new one, a kept view that
// misses a message is replaced by a new one, and states always come fresh.
func TestKeptViews(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	send := func(seq uint64) {
		t.Helper()
		var b store.Batch
		b.PutMessage(1, &store.Message{Seq: seq, ID: fmt.Sprint("m", seq), Body: fmt.Sprint("body ", seq), State: store.State{SentAt: int64(seq)}})
		if err := s.Commit(ctx, &b); err != nil {
			t.Fatal(err)
		}
	}
	read := func(seq uint64, withState bool) (store.Message, bool) {
		t.Helper()
		ms, found, err := s.ReadMessages(ctx, 1, []uint64{seq}, []bool{withState})
		if err != nil {
			t.Fatal(err)
		}
		return ms[0], found[0]
	}
	send(1)
	if m, ok := read(1, false); !ok || m.Body != "body 1" {
		t.Fatalf("read 1: %+v %v", m, ok)
	}
	send(2)
	if m, ok := read(2, false); !ok || m.Body != "body 2" {
		t.Fatalf("read 2 after a view was kept: %+v %v", m, ok)
	}
	if m, ok := read(1, false); !ok || m.Body != "body 1" { // through the kept view
		t.Fatalf("read 1 again: %+v %v", m, ok)
	}
	// A view that claims more than it saw (as when commits become
	// visible out of order) misses, and the read is made again.
	s.lease.Lock()
	s.visible[1] = 100
	s.lease.Unlock()
	if _, ok := read(1, true); !ok { // a state: a new view, then kept
		t.Fatal("read 1 with a wide view")
	}
	send(3)
	if m, ok := read(3, false); !ok || m.Body != "body 3" {
		t.Fatalf("read 3 through a view that misses it: %+v %v", m, ok)
	}
	// States are read fresh.
	var b store.Batch
	b.PutState(1, 3, store.State{SentAt: 3, ReceiveCount: 2})
	if err := s.Commit(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if m, ok := read(3, true); !ok || m.State.ReceiveCount != 2 {
		t.Fatalf("state after a rewrite: %+v %v", m.State, ok)
	}
	// A purge ends the queue's kept views.
	b = store.Batch{}
	b.Purge(1, 3)
	if err := s.Commit(ctx, &b); err != nil {
		t.Fatal(err)
	}
	s.views.mu.Lock()
	kept := len(s.views.byQueue[1])
	s.views.mu.Unlock()
	if kept != 0 {
		t.Fatalf("%d views kept after a purge", kept)
	}
	send(4)
	if m, ok := read(4, false); !ok || m.Body != "body 4" {
		t.Fatalf("read 4 after a purge: %+v %v", m, ok)
	}
}
