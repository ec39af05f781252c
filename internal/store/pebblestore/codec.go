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
	stateVersion = 1
	// messageVersion 1 is a final body; 2 adds the Finish byte at the
	// end, written only when it is not 0; 3 has the Finish byte (which
	// may be 0) and then the shared body's ID, written only when the
	// message has one.
	messageVersion         = 1
	messageVersionFinished = 2
	messageVersionShared   = 3
	dedupVersion           = 1
	sharedVersion          = 1
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

func encodeState(b []byte, st store.State) []byte {
	b = append(b, stateVersion)
	b = binary.AppendVarint(b, st.SentAt)
	b = binary.AppendVarint(b, st.VisibleAt)
	b = binary.AppendVarint(b, st.FirstReceiveAt)
	b = binary.AppendUvarint(b, uint64(st.ReceiveCount))
	b = binary.AppendUvarint(b, st.Nonce)
	return appendString(b, st.GroupID)
}

func decodeState(p []byte) (store.State, error) {
	r := reader{b: p}
	if v := r.byte(); r.err == nil && v != stateVersion {
		return store.State{}, fmt.Errorf("%w: state version %d", store.ErrCorrupt, v)
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
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%w: trailing bytes in state", store.ErrCorrupt)
	}
	return st, r.err
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

func decodeShared(p []byte) (head, tail string, err error) {
	r := reader{b: p}
	if v := r.byte(); r.err == nil && v != sharedVersion {
		return "", "", fmt.Errorf("%w: shared body version %d", store.ErrCorrupt, v)
	}
	head = r.string()
	tail = r.string()
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%w: trailing bytes in shared body", store.ErrCorrupt)
	}
	return head, tail, r.err
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
