package pebblestore

import (
	"encoding/binary"
	"fmt"

	"github.com/forkline/forkline/internal/store"
)

// Record encodings. Every record starts with a version byte so that the
// layout can evolve; decoders reject anything they do not understand with
// store.ErrCorrupt instead of panicking.

const (
	// stateVersion 1 is a message's state; 2 adds the ID of the message's
	// shared body (a packed copy's reference, see Commit); 3 and 4 are 1
	// and 2 followed by the latest receive's time (written only when it
	// is known).
	stateVersion        = 1
	stateVersionRef     = 2
	stateVersionRecv    = 3
	stateVersionRefRecv = 4
	// messageVersion 1 is a final body; 2 adds the Finish byte at the
	// end, written only when it is not 0; 3 has the Finish byte (which
	// may be 0) and then the shared body's ID, written only when the
	// message has one.
	messageVersion         = 1
	messageVersionFinished = 2
	messageVersionShared   = 3
	dedupVersion           = 1
	// sharedVersion 1 is a shared body's head and tail; 2 adds the copies
	// packed with it: their queue, sequence number and content.
	sharedVersion       = 1
	sharedVersionPacked = 2
)

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b []byte, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("%w: bad varint", store.ErrCorrupt)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("%w: bad varint", store.ErrCorrupt)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = fmt.Errorf("%w: length %d beyond record", store.ErrCorrupt, n)
		return nil
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p
}

func (r *reader) string() string { return string(r.bytes()) }

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.err = fmt.Errorf("%w: short record", store.ErrCorrupt)
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func encodeState(b []byte, st store.State) []byte { return encodeStateRef(b, st, 0) }

// encodeStateRef encodes a state with the message's shared body, if it has
// one (ref != 0).
func encodeStateRef(b []byte, st store.State, ref uint64) []byte {
	v := byte(stateVersion)
	if ref != 0 {
		v = stateVersionRef
	}
	if st.ReceivedAt != 0 {
		v += stateVersionRecv - stateVersion
	}
	b = append(b, v)
	b = binary.AppendVarint(b, st.SentAt)
	b = binary.AppendVarint(b, st.VisibleAt)
	b = binary.AppendVarint(b, st.FirstReceiveAt)
	b = binary.AppendUvarint(b, uint64(st.ReceiveCount))
	b = binary.AppendUvarint(b, st.Nonce)
	b = appendString(b, st.GroupID)
	if ref != 0 {
		b = binary.AppendUvarint(b, ref)
	}
	if st.ReceivedAt != 0 {
		b = binary.AppendVarint(b, st.ReceivedAt)
	}
	return b
}

func decodeState(p []byte) (store.State, error) {
	st, _, err := decodeStateRef(p)
	return st, err
}

// decodeStateRef decodes a state and the shared body it names (0: none).
func decodeStateRef(p []byte) (store.State, uint64, error) {
	r := reader{b: p}
	v := r.byte()
	if r.err == nil && (v < stateVersion || v > stateVersionRefRecv) {
		return store.State{}, 0, fmt.Errorf("%w: state version %d", store.ErrCorrupt, v)
	}
	var st store.State
	st.SentAt = r.varint()
	st.VisibleAt = r.varint()
	st.FirstReceiveAt = r.varint()
	rc := r.uvarint()
	if rc > 1<<32-1 {
		r.err = fmt.Errorf("%w: receive count", store.ErrCorrupt)
	}
	st.ReceiveCount = uint32(rc)
	st.Nonce = r.uvarint()
	st.GroupID = r.string()
	var ref uint64
	if v == stateVersionRef || v == stateVersionRefRecv {
		if ref = r.uvarint(); r.err == nil && ref == 0 {
			r.err = fmt.Errorf("%w: shared body 0 in state", store.ErrCorrupt)
		}
	}
	if v >= stateVersionRecv {
		if st.ReceivedAt = r.varint(); r.err == nil && st.ReceivedAt == 0 {
			r.err = fmt.Errorf("%w: receive time 0 in state", store.ErrCorrupt)
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%w: trailing bytes in state", store.ErrCorrupt)
	}
	return st, ref, r.err
}

// encodeContent encodes the immutable part of a message (everything but
// its State, which has its own key).
func encodeContent(b []byte, m *store.Message) []byte {
	switch {
	case m.Shared != 0:
		b = append(b, messageVersionShared)
	case m.Finish != 0:
		b = append(b, messageVersionFinished)
	default:
		b = append(b, messageVersion)
	}
	b = appendString(b, m.ID)
	b = appendString(b, m.Body)
	b = appendString(b, m.MD5Body)
	b = appendString(b, m.MD5Attr)
	b = appendString(b, m.SenderID)
	b = appendString(b, m.TraceHeader)
	b = appendString(b, m.GroupID)
	b = appendString(b, m.DedupID)
	b = appendString(b, m.DLQSourceArn)
	b = binary.AppendUvarint(b, uint64(len(m.Attrs)))
	for _, a := range m.Attrs {
		b = appendString(b, a.Name)
		b = appendString(b, a.DataType)
		b = appendString(b, a.StringValue)
		b = appendBytes(b, a.BinaryValue)
	}
	if m.Shared != 0 {
		b = append(b, m.Finish)
		b = binary.AppendUvarint(b, m.Shared)
	} else if m.Finish != 0 {
		b = append(b, m.Finish)
	}
	return b
}

func decodeContent(p []byte, m *store.Message) error {
	r := reader{b: p}
	v := r.byte()
	if r.err == nil && v != messageVersion && v != messageVersionFinished && v != messageVersionShared {
		return fmt.Errorf("%w: message version %d", store.ErrCorrupt, v)
	}
	m.ID = r.string()
	m.Body = r.string()
	m.MD5Body = r.string()
	m.MD5Attr = r.string()
	m.SenderID = r.string()
	m.TraceHeader = r.string()
	m.GroupID = r.string()
	m.DedupID = r.string()
	m.DLQSourceArn = r.string()
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)) {
		r.err = fmt.Errorf("%w: attribute count", store.ErrCorrupt)
	}
	if r.err == nil && n > 0 {
		m.Attrs = make([]store.MessageAttribute, 0, n)
		for i := uint64(0); i < n && r.err == nil; i++ {
			var a store.MessageAttribute
			a.Name = r.string()
			a.DataType = r.string()
			a.StringValue = r.string()
			if bv := r.bytes(); len(bv) > 0 {
				a.BinaryValue = append([]byte(nil), bv...)
			}
			m.Attrs = append(m.Attrs, a)
		}
	}
	m.Finish, m.Shared = 0, 0
	switch v {
	case messageVersionFinished:
		m.Finish = r.byte()
		if r.err == nil && m.Finish == 0 {
			r.err = fmt.Errorf("%w: message finisher 0 in version %d", store.ErrCorrupt, v)
		}
	case messageVersionShared:
		m.Finish = r.byte()
		m.Shared = r.uvarint()
		if r.err == nil && m.Shared == 0 {
			r.err = fmt.Errorf("%w: shared body 0 in version %d", store.ErrCorrupt, v)
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%w: trailing bytes in message", store.ErrCorrupt)
	}
	return r.err
}

func encodeShared(b []byte, sb *store.SharedBody) []byte {
	b = append(b, sharedVersion)
	b = appendString(b, sb.Head)
	return appendString(b, sb.Tail)
}

// encodeSharedPacked encodes a shared body with its packed copies, each
// already encoded by appendPacked.
func encodeSharedPacked(b []byte, sb *store.SharedBody, n int, copies []byte) []byte {
	b = append(b, sharedVersionPacked)
	b = appendString(b, sb.Head)
	b = appendString(b, sb.Tail)
	b = binary.AppendUvarint(b, uint64(n))
	return append(b, copies...)
}

// appendPacked encodes one packed copy: its queue, sequence number and
// content (encodeContent).
func appendPacked(b []byte, qid uint64, m *store.Message) []byte {
	b = binary.AppendUvarint(b, qid)
	b = binary.AppendUvarint(b, m.Seq)
	n := len(b)
	b = append(b, 0, 0, 0, 0) // room for the content's length
	b = encodeContent(b, m)
	l := len(b) - n - 4
	// The length as a fixed 4 bytes, so the content is encoded in place.
	b[n], b[n+1], b[n+2], b[n+3] = byte(l>>24), byte(l>>16), byte(l>>8), byte(l)
	return b
}

// sharedRecord is a decoded shared body.
type sharedRecord struct {
	head, tail string
	n          uint64 // packed copies
	copies     []byte // their encodings
}

func decodeShared(p []byte) (sharedRecord, error) {
	r := reader{b: p}
	v := r.byte()
	if r.err == nil && v != sharedVersion && v != sharedVersionPacked {
		return sharedRecord{}, fmt.Errorf("%w: shared body version %d", store.ErrCorrupt, v)
	}
	var sr sharedRecord
	sr.head = r.string()
	sr.tail = r.string()
	if v == sharedVersionPacked {
		sr.n = r.uvarint()
		if r.err == nil && sr.n > uint64(len(r.b)) {
			r.err = fmt.Errorf("%w: packed copy count", store.ErrCorrupt)
		}
		sr.copies, r.b = r.b, nil
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%w: trailing bytes in shared body", store.ErrCorrupt)
	}
	return sr, r.err
}

// packedContent returns the content of the copy (qid, seq) packed with a
// shared body, or false.
func (sr *sharedRecord) packedContent(qid, seq uint64) ([]byte, bool, error) {
	r := reader{b: sr.copies}
	for i := uint64(0); i < sr.n && r.err == nil; i++ {
		q := r.uvarint()
		s := r.uvarint()
		if r.err != nil {
			break
		}
		if len(r.b) < 4 {
			return nil, false, fmt.Errorf("%w: short packed copy", store.ErrCorrupt)
		}
		l := int(r.b[0])<<24 | int(r.b[1])<<16 | int(r.b[2])<<8 | int(r.b[3])
		r.b = r.b[4:]
		if l > len(r.b) {
			return nil, false, fmt.Errorf("%w: packed copy length %d beyond record", store.ErrCorrupt, l)
		}
		if q == qid && s == seq {
			return r.b[:l:l], true, nil
		}
		r.b = r.b[l:]
	}
	return nil, false, r.err
}

func encodeDedup(b []byte, d store.Dedup) []byte {
	b = append(b, dedupVersion)
	b = appendString(b, d.MessageID)
	b = binary.AppendUvarint(b, d.Seq)
	return binary.AppendVarint(b, d.ExpiresAt)
}

func decodeDedup(key string, p []byte) (store.Dedup, error) {
	r := reader{b: p}
	if v := r.byte(); r.err == nil && v != dedupVersion {
		return store.Dedup{}, fmt.Errorf("%w: dedup version %d", store.ErrCorrupt, v)
	}
	d := store.Dedup{Key: key}
	d.MessageID = r.string()
	d.Seq = r.uvarint()
	d.ExpiresAt = r.varint()
	return d, r.err
}
