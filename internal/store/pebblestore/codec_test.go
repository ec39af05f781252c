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
	f.Add(encodeStateRef(nil, store.State{SentAt: 1, VisibleAt: 2, Nonce: 5}, 1<<33))
	f.Add([]byte{2, 0, 0, 0, 0, 0, 0, 0})
	f.Add(encodeState(nil, store.State{SentAt: 1, VisibleAt: 2, ReceiveCount: 1, Nonce: 5, ReceivedAt: 1_800_000_000_000}))
	f.Add(encodeStateRef(nil, store.State{SentAt: 1, VisibleAt: 2, Nonce: 5, ReceivedAt: 7}, 9))
	f.Add([]byte{3, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, p []byte) {
		st, ref, err := decodeStateRef(p)
		if err != nil {
			return
		}
		again, ref2, err := decodeStateRef(encodeStateRef(nil, st, ref))
		if err != nil || again != st || ref2 != ref {
			t.Fatalf("state does not round-trip: %+v %d -> %+v %d (%v)", st, ref, again, ref2, err)
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
	body := &store.SharedBody{ID: 1, Head: "{\"a\" : ", Tail: "}"}
	f.Add(encodeShared(nil, body))
	f.Add([]byte{1, 0, 0})
	f.Add([]byte{1, 200})
	var copies []byte
	copies = appendPacked(copies, 3, &store.Message{Seq: 9, ID: "id", Body: `"x"`, Shared: 1})
	copies = appendPacked(copies, 4, &store.Message{Seq: 1, ID: "id2", Body: `"y"`, Shared: 1, Finish: store.FinishSNSSignature})
	f.Add(encodeSharedPacked(nil, body, 2, copies))
	f.Add([]byte{2, 0, 0, 3, 1, 1, 0, 0, 0, 9})
	f.Fuzz(func(t *testing.T, p []byte) {
		sr, err := decodeShared(p)
		if err != nil {
			return
		}
		// Looking copies up never reads past the record.
		for _, k := range [][2]uint64{{3, 9}, {4, 1}, {0, 0}} {
			if c, ok, err := sr.packedContent(k[0], k[1]); err == nil && ok {
				var m store.Message
				decodeContent(c, &m)
			}
		}
		var enc []byte
		if sr.n == 0 && sr.copies == nil {
			enc = encodeShared(nil, &store.SharedBody{Head: sr.head, Tail: sr.tail})
		} else {
			enc = encodeSharedPacked(nil, &store.SharedBody{Head: sr.head, Tail: sr.tail}, int(sr.n), sr.copies)
		}
		again, err := decodeShared(enc)
		if err != nil || again.head != sr.head || again.tail != sr.tail || again.n != sr.n || !bytes.Equal(again.copies, sr.copies) {
			t.Fatalf("shared body does not round-trip (%v)", err)
		}
	})
}

func TestPackedCopies(t *testing.T) {
	var copies []byte
	ms := []*store.Message{{Seq: 9, ID: "a", Body: `"x"`, Shared: 5}, {Seq: 9, ID: "b", Body: `"y"`, Shared: 5, MD5Body: "m"}}
	copies = appendPacked(copies, 3, ms[0])
	copies = appendPacked(copies, 4, ms[1])
	sr, err := decodeShared(encodeSharedPacked(nil, &store.SharedBody{ID: 5, Head: "[", Tail: "]"}, 2, copies))
	if err != nil || sr.head != "[" || sr.tail != "]" || sr.n != 2 {
		t.Fatalf("decode: %+v %v", sr, err)
	}
	for i, qid := range []uint64{3, 4} {
		c, ok, err := sr.packedContent(qid, 9)
		var m store.Message
		if err != nil || !ok || decodeContent(c, &m) != nil || m.ID != ms[i].ID || m.Body != ms[i].Body || m.Shared != 5 {
			t.Fatalf("copy %d: %+v %v %v", qid, m, ok, err)
		}
	}
	if _, ok, err := sr.packedContent(3, 10); ok || err != nil {
		t.Fatalf("absent copy found: %v %v", ok, err)
	}
}

func FuzzDecodeDedup(f *testing.F) {
	f.Add(encodeDedup(nil, store.Dedup{MessageID: "m", Seq: 3, ExpiresAt: 9}))
	f.Fuzz(func(t *testing.T, p []byte) { decodeDedup("k", p) })
}
