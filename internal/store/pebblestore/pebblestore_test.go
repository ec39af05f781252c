package pebblestore

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

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

// TestMigrateStates opens a data directory in the layout before format 2
// (states under 's', the engine's oldest format) and checks that Open
// moves every state beside its content, in more than one batch, and that
// the messages read as before.
func TestMigrateStates(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := pebble.Open(dir, &pebble.Options{FormatMajorVersion: pebble.FormatMinSupported, Merger: maxMerger})
	if err != nil {
		t.Fatal(err)
	}
	const n = 25000
	b := db.NewBatch()
	for seq := uint64(1); seq <= n; seq++ {
		m := store.Message{Seq: seq, ID: fmt.Sprint("id-", seq), Body: fmt.Sprint("body ", seq), MD5Body: "0123456789abcdef0123456789abcdef"}
		st := store.State{SentAt: int64(seq), ReceiveCount: uint32(seq % 3)}
		if err := b.Set(seqKey('m', 1, seq), encodeContent(nil, &m), nil); err != nil {
			t.Fatal(err)
		}
		if err := b.Set(seqKey('s', 1, seq), encodeStateRef(nil, st, 0), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var seen uint64
	if _, err := s.ScanStates(ctx, 1, func(seq uint64, st store.State) error {
		seen++
		if seq != seen || st.SentAt != int64(seq) || st.ReceiveCount != uint32(seq%3) {
			t.Fatalf("state %d: %+v", seq, st)
		}
		return nil
	}); err != nil || seen != n {
		t.Fatalf("scanned %d states: %v", seen, err)
	}
	m, err := s.GetMessage(ctx, 1, 12345)
	if err != nil || m.Body != "body 12345" || m.State.SentAt != 12345 {
		t.Fatalf("GetMessage: %+v %v", m, err)
	}
	msgs, found, err := s.ReadMessages(ctx, 1, []uint64{7, 20001}, []bool{true, false})
	if err != nil || !found[0] || !found[1] || msgs[0].State.ReceiveCount != 1 || msgs[1].Body != "body 20001" {
		t.Fatalf("ReadMessages: %+v %v %v", msgs, found, err)
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{'s'}, UpperBound: []byte{'t'}})
	if err != nil {
		t.Fatal(err)
	}
	if it.First() {
		t.Errorf("a state is left in the old layout: %q", it.Key())
	}
	it.Close()
	if v := s.db.FormatMajorVersion(); v < pebble.FormatValueSeparation {
		t.Errorf("format %v, want at least %v", v, pebble.FormatValueSeparation)
	}
	if v, closer, err := s.db.Get([]byte{'v'}); err != nil || string(v) != "2" {
		t.Errorf("store format %q: %v", v, err)
	} else {
		closer.Close()
	}

	// A directory written by a later build, in a layout this one does not
	// know, is refused.
	if err := s.db.Set([]byte{'v'}, []byte("3"), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s2, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "store format 3") {
		if s2 != nil {
			s2.Close()
		}
		t.Errorf("Open of a format 3 directory: %v", err)
	}
}

// TestScanRefsAfterScanStates pins the shortcut of ScanRefs (noRefs): a
// queue whose states named no shared body when ScanStates read them has
// no references to scan, until a commit writes a copy that names one.
func TestScanRefsAfterScanStates(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	refs := func() map[uint64]uint64 {
		t.Helper()
		out := map[uint64]uint64{}
		if err := s.ScanRefs(ctx, 1, func(seq, id uint64) error { out[seq] = id; return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	scan := func() {
		t.Helper()
		if _, err := s.ScanStates(ctx, 1, func(uint64, store.State) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	var b store.Batch
	b.PutMessage(1, &store.Message{Seq: 1, ID: "plain", Body: "plain", State: store.State{SentAt: 1}})
	if err := s.Commit(ctx, &b); err != nil {
		t.Fatal(err)
	}
	scan()
	if r := refs(); len(r) != 0 {
		t.Fatalf("refs of plain messages: %v", r)
	}
	// A packed copy written after the scan is found.
	b = store.Batch{}
	b.PutShared(store.SharedBody{ID: 7, Head: "shared"})
	b.PutMessage(1, &store.Message{Seq: 2, ID: "copy", Shared: 7, State: store.State{SentAt: 2}})
	if err := s.Commit(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if r := refs(); len(r) != 1 || r[2] != 7 {
		t.Fatalf("refs after a packed copy: %v", r)
	}
	// And by the next scan too.
	scan()
	if r := refs(); len(r) != 1 || r[2] != 7 {
		t.Fatalf("refs after a new scan: %v", r)
	}
	// Once the copy is gone, a new scan finds none again.
	b = store.Batch{}
	b.Ops = append(b.Ops, store.Op{Kind: store.OpDeleteMessage, QueueID: 1, Seq: 2, Ref: 7})
	if err := s.Commit(ctx, &b); err != nil {
		t.Fatal(err)
	}
	scan()
	if r := refs(); len(r) != 0 {
		t.Fatalf("refs after the copy's delete: %v", r)
	}
}
