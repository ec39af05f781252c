package pebblestore

import (
	"bytes"
	"testing"

	"github.com/forkline/forkline/internal/store"
)

func FuzzDecodeState(f *testing.F) {
	f.Add(encodeState(nil, store.State{SentAt: 1, VisibleAt: 2, FirstReceiveAt: 3, ReceiveCount: 4, Nonce: 5, GroupID: "g"}))
	f.Add([]byte{1})
	f.Add([]byte{2, 0, 0})
	f.Fuzz(func(t *testing.T, p []byte) {
		st, err := decodeState(p)
		if err != nil {
			return
		}
		again, err := decodeState(encodeState(nil, st))
		if err != nil || again != st {
			t.Fatalf("state does not round-trip: %+v -> %+v (%v)", st, again, err)
		}
	})
}

func FuzzDecodeContent(f *testing.F) {
	m := &store.Message{ID: "id", Body: "body", Attrs: []store.MessageAttribute{{Name: "a", DataType: "Binary", BinaryValue: []byte{1}}}}
	f.Add(encodeContent(nil, m))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200})
	f.Add(encodeContent(nil, &store.Message{ID: "id", Body: "{}", Finish: store.FinishSNSSignature}))
	f.Add([]byte{2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add(encodeContent(nil, &store.Message{ID: "id", Body: `"u"`, Finish: store.FinishSNSSignature, Shared: 7}))
	f.Add(encodeContent(nil, &store.Message{ID: "id", Body: "mid", Shared: 1 << 40}))
	f.Add([]byte{3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, p []byte) {
		var got store.Message
		if err := decodeContent(p, &got); err != nil {
			return
		}
		enc := encodeContent(nil, &got)
		var again store.Message
		if err := decodeContent(enc, &again); err != nil || !bytes.Equal(encodeContent(nil, &again), enc) {
			t.Fatalf("content does not round-trip (%v)", err)
		}
	})
}

func FuzzDecodeShared(f *testing.F) {
	f.Add(encodeShared(nil, &store.SharedBody{ID: 1, Head: "{\"a\" : ", Tail: "}"}))
	f.Add([]byte{1, 0, 0})
	f.Add([]byte{1, 200})
	f.Fuzz(func(t *testing.T, p []byte) {
		head, tail, err := decodeShared(p)
		if err != nil {
			return
		}
		h2, t2, err := decodeShared(encodeShared(nil, &store.SharedBody{Head: head, Tail: tail}))
		if err != nil || h2 != head || t2 != tail {
			t.Fatalf("shared body does not round-trip (%v)", err)
		}
	})
}

func FuzzDecodeDedup(f *testing.F) {
	f.Add(encodeDedup(nil, store.Dedup{MessageID: "m", Seq: 3, ExpiresAt: 9}))
	f.Fuzz(func(t *testing.T, p []byte) { decodeDedup("k", p) })
}
