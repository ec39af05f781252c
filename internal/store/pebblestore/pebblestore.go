// Package pebblestore is forkline's embedded store: the store interfaces on
// top of Pebble, the LSM engine of CockroachDB, in the data directory.
//
// Durability: every Commit is a Pebble batch committed with Sync, so it is in
// the fsynced write-ahead log before Commit returns. Pebble's commit pipeline
// lets concurrent Sync commits share one fsync (group commit).
//
// Key layout (all integers big-endian so that keys sort numerically):
//
//	'q' name            queue record (JSON)
//	'h' qid             high-water mark of message sequence numbers
//	'm' qid seq         message content (codec.go)
//	'm' qid seq 's'     message state, with its shared body's ID if it has one (codec.go)
//	'x' qid seq         the shared body of a copy that is not packed (uvarint ID)
//	'b' id              shared body: head and tail, and the copies packed with it (codec.go)
//	'd' qid key         FIFO deduplication entry
//	't' handle          message move task (JSON)
//	'r' ns 0x00 key     record of another service (store.Records)
//	'v'                 the store format (storeFormat), in decimal
//
// Packed copies. The copies of a message in several queues (a topic's
// fan-out) are written in one batch with their shared body. Each copy's
// content is then packed into the body's record, and the copy has only its
// state record, which names the body: one key per copy instead of three,
// which is most of what a fan-out costs the engine (memtable inserts,
// compaction). A copy's content is found through its state. A copy written
// in a later batch than its body is stored as before: content, state and
// 'x' reference.
//
// A message's state sits right after its content, so that the writes of a
// receive and a delete (state, then both keys' tombstones) touch one narrow
// key range at the head of the queue: with states in a range of their own
// ('s' qid seq, the layout before format 2, which Open converts), every
// table flushed during receives spanned the queue's whole backlog of
// bodies, and compactions rewrote it over and over. Values of valueSepMin
// bytes or more (bodies) are kept in blob files beside the tables (Pebble's
// value separation), so compactions move only keys and references, and the
// scan of states at start reads no body. ADR 0001, addendum of session 14.
//
// High-water marks are leased: a commit raises a queue's mark only when a
// sequence number passes the last mark written, and then to leaseSpan
// beyond it, so most commits write no mark at all.
package pebblestore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/forkline/forkline/internal/store"
)

var _ store.Store = (*Store)(nil)

// Options tune the engine. The zero value is a sensible default.
type Options struct {
	// CacheBytes is the block cache size, beyond the memtables; default
	// 16 MiB.
	CacheBytes int64
	// MemTableBytes is the memtable size; default 16 MiB.
	MemTableBytes uint64
	// GroupCommitWindow is the least time between two syncs of the
	// write-ahead log: commits arriving meanwhile wait and share the next
	// sync. Each sync costs about 120 µs of CPU on this project's machines,
	// so a short window buys throughput for a little latency. 0 syncs as
	// soon as the previous sync ends (Pebble's default).
	GroupCommitWindow time.Duration
	Logger            *slog.Logger
}

// Store is the Pebble-backed store. It is safe for concurrent use.
type Store struct {
	db  *pebble.DB
	log *slog.Logger

	reclaim reclaimer // compacts what deletions freed once the store is idle

	mu     sync.RWMutex // guards closed; held for reading by every operation
	closed bool

	lease  sync.Mutex        // guards leased, visible, legacy, refGen and noRefs
	leased map[uint64]uint64 // the high-water mark last written per queue
	// visible is, per queue, a sequence number up to which every message
	// written is visible to a new iterator: the highest of the commits
	// that have returned, and of what ScanStates found.
	visible map[uint64]uint64
	views   *views // ReadMessages' kept iterators
	// legacy is set when 'x' references may exist: copies that are not
	// packed, whose deletes must also remove their content and 'x' keys.
	// Otherwise a delete that names a shared body removes only the state.
	legacy bool
	// noRefs holds the queues in which a complete ScanStates found no
	// state naming a shared body, with the queue's refGen read before its
	// snapshot. ScanRefs, which follows ScanStates at start, has nothing
	// to read while refGen still has that value (for a million plain
	// messages, a second scan of 0.2 s). Commit bumps refGen of the queues
	// it gives a state that names a shared body, before the batch can be
	// visible and again after (whatever the commit returns), so a scan
	// whose snapshot missed such a state ends with a stale generation.
	refGen map[uint64]uint64
	noRefs map[uint64]uint64
}

// leaseSpan is how far beyond a sequence number a written high-water mark
// reaches. A mark ('h' qid) sorts before every queue's messages, so a
// flushed table that holds one spans the key range of every table flushed
// before it, and L0 compactions must rewrite them (at 1 << 12, a queue
// taking 25,000 sends a second wrote a mark into every memtable: 300,000
// sends left six overlapping L0 tables and two compactions; at 1 << 20, two
// sublevels and none). Sequence numbers skip at most this many after a
// restart; SQS's are "large, non-consecutive" anyway.
const leaseSpan = 1 << 20

// Open opens (creating if needed) the store in dir.
func Open(dir string, o Options) (*Store, error) {
	if o.CacheBytes == 0 {
		o.CacheBytes = 16 << 20
	}
	if o.MemTableBytes == 0 {
		o.MemTableBytes = 16 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	// Pebble charges its memtables to the block cache (a mutable one and
	// one being flushed): sized at CacheBytes alone, the cache held no
	// block at all while two 16 MiB memtables were reserved in it, and
	// every read of a flushed table went to the file.
	cache := pebble.NewCache(o.CacheBytes + 2*int64(o.MemTableBytes))
	defer cache.Unref()
	opts := &pebble.Options{
		Cache:        cache,
		MemTableSize: o.MemTableBytes,
		Logger:       pebbleLogger{o.Logger.With("component", "pebble")},
		Merger:       maxMerger,
	}
	// Let L0 hold more files before compacting them down and before
	// stalling writes (Pebble's defaults: 4 and 12). Queue messages arrive
	// interleaved across every queue's key range, so each L0 file overlaps
	// them all and each L0 compaction rewrites them all: at the defaults,
	// publishing to 100 subscribed queues spent 73% of the CPU compacting.
	// At 16 and 64, that publish ran 64% faster (t10 21%), its p99 fell
	// from 497 to 42 ms, and the SQS figures (receives included) and the
	// restart with a million messages queued were unchanged or better
	// (docs/benchmarks.md, ADR 0001).
	opts.L0CompactionThreshold = 16
	opts.L0StopWritesThreshold = 64
	// Value separation needs this format; Open ratchets an older data
	// directory up to it, and Pebble never lowers it again.
	opts.FormatMajorVersion = pebble.FormatValueSeparation
	opts.Experimental.ValueSeparationPolicy = func() pebble.ValueSeparationPolicy {
		return pebble.ValueSeparationPolicy{
			Enabled:     true,
			MinimumSize: valueSepMin,
			// How many blob files one table may reference before a
			// compaction rewrites the values it keeps (at 10, the
			// compactions of up to L0StopWritesThreshold tables rewrote
			// most bodies: a million sends took 19 to 20 s of CPU,
			// against 15 to 16 s at 64), how old a blob file must be
			// before it is rewritten to drop what is no longer
			// referenced, and how much garbage that takes: queues delete
			// most of what they write, and soon.
			MaxBlobReferenceDepth: 64,
			RewriteMinimumAge:     5 * time.Minute,
			TargetGarbageRatio:    0.2,
		}
	}
	if w := o.GroupCommitWindow; w > 0 {
		opts.WALMinSyncInterval = func() time.Duration { return w }
	}
	db, err := pebble.Open(dir, opts)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		// The LOCK file's flock: another process has the store open.
		return nil, fmt.Errorf("open store in %s: another process (a forkline already running?) has it open: %w", dir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open pebble store in %s: %w", dir, err)
	}
	if err := upgrade(db, o.Logger); err != nil {
		db.Close()
		return nil, fmt.Errorf("open pebble store in %s: %w", dir, err)
	}
	st := &Store{db: db, log: o.Logger, leased: map[uint64]uint64{}, visible: map[uint64]uint64{}, views: newViews(),
		refGen: map[uint64]uint64{}, noRefs: map[uint64]uint64{}}
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{'x'}, UpperBound: []byte{'y'}})
	if err != nil {
		st.views.close()
		db.Close()
		return nil, err
	}
	st.legacy = it.First()
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		st.views.close()
		db.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	st.reclaim.cancel, st.reclaim.done = cancel, make(chan struct{})
	go st.runReclaimer(ctx)
	return st, nil
}

// valueSepMin is the least size of a value kept in a blob file.
const valueSepMin = 256

// storeFormat is the layout of keys this build reads and writes, kept under
// the key 'v' from format 2 on: 2 is the layout of the package comment;
// 1 (no 'v' key) kept states under 's' qid seq.
const storeFormat = 2

// upgrade brings a data directory to storeFormat, and refuses one written
// by a later build, whose layout this one does not know. (Builds before
// format 2 do not look at 'v'; ADR 0001 says what a downgrade does.)
func upgrade(db *pebble.DB, log *slog.Logger) error {
	format := 1
	v, closer, err := db.Get([]byte{'v'})
	switch {
	case err == nil:
		n, perr := strconv.Atoi(string(v))
		closer.Close()
		if perr != nil {
			return fmt.Errorf("%w: store format %q", store.ErrCorrupt, v)
		}
		format = n
	case !errors.Is(err, pebble.ErrNotFound):
		return err
	}
	if format > storeFormat {
		return fmt.Errorf("the data directory has store format %d, and this build of forkline reads up to %d: use a newer build", format, storeFormat)
	}
	if format == storeFormat {
		return nil
	}
	if err := migrateStates(db, log); err != nil {
		return err
	}
	return db.Set([]byte{'v'}, []byte(strconv.Itoa(storeFormat)), pebble.Sync)
}

// migrateStates moves the message states of a data directory written
// before format 2 ('s' qid seq) beside their contents ('m' qid seq 's').
// Each batch moves its states atomically and durably, so a crash leaves
// every state in one place or the other, and the next Open moves the rest.
func migrateStates(db *pebble.DB, log *slog.Logger) error {
	const per = 10000
	moved := 0
	// Each pass starts after the last key moved, so that it does not step
	// over the tombstones the earlier passes left.
	from := []byte{'s'}
	for {
		it, err := db.NewIter(&pebble.IterOptions{LowerBound: from, UpperBound: []byte{'t'}})
		if err != nil {
			return err
		}
		b := db.NewBatch()
		n := 0
		var next []byte
		for valid := it.First(); valid && n < per && err == nil; valid = it.Next() {
			k := it.Key()
			if len(k) != 17 {
				err = fmt.Errorf("%w: state key length %d", store.ErrCorrupt, len(k))
				break
			}
			var v []byte
			if v, err = it.ValueAndErr(); err == nil {
				err = errors.Join(
					b.Set(stateKey(binary.BigEndian.Uint64(k[1:9]), binary.BigEndian.Uint64(k[9:])), v, nil),
					b.Delete(k, nil))
			}
			next = append(append(next[:0], k...), 0)
			n++
		}
		if err == nil {
			err = it.Error()
		}
		if cerr := it.Close(); err == nil {
			err = cerr
		}
		if err == nil && n > 0 {
			err = b.Commit(pebble.Sync)
			from = next
		}
		b.Close()
		if err != nil {
			return fmt.Errorf("move message states to format 2: %w", err)
		}
		if n == 0 {
			if moved > 0 {
				log.Info("moved message states to the format 2 layout", "states", moved)
			}
			return nil
		}
		moved += n
	}
}

// Close flushes and closes the store.
func (s *Store) Close() error {
	if s.reclaim.cancel != nil {
		s.reclaim.cancel()
		<-s.reclaim.done
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.views.close()
	return s.db.Close()
}

func (s *Store) begin() error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return store.ErrClosed
	}
	return nil
}

func (s *Store) end() { s.mu.RUnlock() }

func queueKey(name string) []byte { return append([]byte{'q'}, name...) }

// sharedKey is the key of a shared body.
func sharedKey(id uint64) []byte { return binary.BigEndian.AppendUint64([]byte{'b'}, id) }

func qidKey(prefix byte, qid uint64) []byte {
	k := make([]byte, 9, 17)
	k[0] = prefix
	binary.BigEndian.PutUint64(k[1:], qid)
	return k
}

func seqKey(prefix byte, qid, seq uint64) []byte {
	k := qidKey(prefix, qid)
	return binary.BigEndian.AppendUint64(k, seq)
}

// stateKey is the key of a message's state, right after its content's.
func stateKey(qid, seq uint64) []byte {
	return append(seqKey('m', qid, seq), 's')
}

// stateSeq returns the sequence number of a key in a queue's 'm' range
// and whether it is a state's; other keys of the range are contents.
func stateSeq(k []byte) (uint64, bool, error) {
	switch {
	case len(k) == 18 && k[17] == 's':
		return binary.BigEndian.Uint64(k[9:17]), true, nil
	case len(k) == 17:
		return binary.BigEndian.Uint64(k[9:]), false, nil
	}
	return 0, false, fmt.Errorf("%w: message key length %d", store.ErrCorrupt, len(k))
}

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// LoadQueues implements store.Queues.
func (s *Store) LoadQueues(ctx context.Context) ([]store.Queue, error) {
	if err := s.begin(); err != nil {
		return nil, err
	}
	defer s.end()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{'q'}, UpperBound: []byte{'r'}})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []store.Queue
	for it.First(); it.Valid(); it.Next() {
		var q store.Queue
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(v, &q); err != nil {
			return nil, fmt.Errorf("%w: queue %q: %v", store.ErrCorrupt, it.Key()[1:], err)
		}
		out = append(out, q)
	}
	return out, it.Error()
}

// ScanStates implements store.Queues.
func (s *Store) ScanStates(ctx context.Context, qid uint64, fn func(uint64, store.State) error) (uint64, error) {
	if err := s.begin(); err != nil {
		return 0, err
	}
	defer s.end()
	hwm, err := s.highWater(qid)
	if err != nil {
		return 0, err
	}
	s.lease.Lock()
	gen := s.refGen[qid]
	s.lease.Unlock()
	sawRef := false
	// Contents are skipped by key; their values, in blob files when
	// large, are never read.
	lo := qidKey('m', qid)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	var seen uint64
	for it.First(); it.Valid(); it.Next() {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		seq, isState, err := stateSeq(it.Key())
		if err != nil {
			return 0, err
		}
		if !isState {
			continue
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return 0, err
		}
		if len(v) > 0 && v[0] != stateVersion && v[0] != stateVersionRecv {
			sawRef = true
		}
		st, err := decodeState(v)
		if err != nil {
			return 0, fmt.Errorf("queue %d message %d: %w", qid, seq, err)
		}
		if seq > hwm {
			hwm = seq
		}
		seen = max(seen, seq)
		if err := fn(seq, st); err != nil {
			return 0, err
		}
	}
	if err := it.Error(); err != nil {
		return 0, err
	}
	// What this scan saw, any later iterator sees.
	s.lease.Lock()
	s.visible[qid] = max(s.visible[qid], seen)
	if !sawRef && s.refGen[qid] == gen {
		s.noRefs[qid] = gen
	} else {
		delete(s.noRefs, qid)
	}
	s.lease.Unlock()
	return hwm, nil
}

func (s *Store) highWater(qid uint64) (uint64, error) {
	v, closer, err := s.db.Get(qidKey('h', qid))
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: high-water mark", store.ErrCorrupt)
	}
	return binary.BigEndian.Uint64(v), nil
}

// GetMessage implements store.Queues.
func (s *Store) GetMessage(ctx context.Context, qid, seq uint64) (store.Message, error) {
	m, err := s.GetContent(ctx, qid, seq)
	if err != nil {
		return m, err
	}
	if err := s.begin(); err != nil {
		return m, err
	}
	defer s.end()
	st, err := s.getState(qid, seq)
	if err != nil {
		return m, err
	}
	m.State = st
	return m, nil
}

// GetContent implements store.Queues.
func (s *Store) GetContent(ctx context.Context, qid, seq uint64) (store.Message, error) {
	if err := s.begin(); err != nil {
		return store.Message{}, err
	}
	defer s.end()
	m := store.Message{Seq: seq}
	v, closer, err := s.db.Get(seqKey('m', qid, seq))
	if errors.Is(err, pebble.ErrNotFound) {
		return s.getPacked(qid, seq)
	}
	if err != nil {
		return m, err
	}
	err = decodeContent(v, &m)
	closer.Close()
	if err != nil {
		return m, fmt.Errorf("queue %d message %d: %w", qid, seq, err)
	}
	if m.Shared != 0 {
		found, err := s.compose(&m, nil)
		if err != nil {
			return m, fmt.Errorf("queue %d message %d: %w", qid, seq, err)
		}
		if !found {
			return store.Message{Seq: seq}, store.ErrNotFound
		}
	}
	return m, nil
}

// getPacked reads a copy packed with its shared body, found through the
// body named by its state.
func (s *Store) getPacked(qid, seq uint64) (store.Message, error) {
	m := store.Message{Seq: seq}
	v, closer, err := s.db.Get(stateKey(qid, seq))
	if errors.Is(err, pebble.ErrNotFound) {
		return m, store.ErrNotFound
	}
	if err != nil {
		return m, err
	}
	_, ref, err := decodeStateRef(v)
	closer.Close()
	if err != nil {
		return m, fmt.Errorf("queue %d message %d: %w", qid, seq, err)
	}
	if ref == 0 {
		return m, store.ErrNotFound
	}
	found, err := s.readPacked(&m, qid, ref, nil)
	if err != nil {
		return m, fmt.Errorf("queue %d message %d: %w", qid, seq, err)
	}
	if !found {
		return store.Message{Seq: seq}, store.ErrNotFound
	}
	return m, nil
}

// readPacked fills m (its Seq set) from the copy packed with shared body
// ref, reporting false when there is none.
func (s *Store) readPacked(m *store.Message, qid, ref uint64, br *bodyReader) (bool, error) {
	sr, err := s.sharedBody(ref, br)
	if err != nil || sr == nil {
		return false, err
	}
	content, ok, err := sr.packedContent(qid, m.Seq)
	if err != nil || !ok {
		return false, err
	}
	if err := decodeContent(content, m); err != nil {
		return false, err
	}
	m.Body = sr.head + m.Body + sr.tail
	m.Shared = 0
	return true, nil
}

// sharedBody reads a shared body, through br when it is not nil; nil when
// the body is gone.
func (s *Store) sharedBody(id uint64, br *bodyReader) (*sharedRecord, error) {
	if br != nil {
		return br.get(id)
	}
	v, closer, err := s.db.Get(sharedKey(id))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return decodeSharedCopy(id, v)
}

// decodeSharedCopy decodes a shared body's record into memory of its own.
func decodeSharedCopy(id uint64, v []byte) (*sharedRecord, error) {
	sr, err := decodeShared(v)
	if err != nil {
		return nil, fmt.Errorf("shared body %d: %w", id, err)
	}
	if len(sr.copies) > 0 {
		sr.copies = bytes.Clone(sr.copies)
	}
	return &sr, nil
}

// bodyReader reads the shared bodies that one ReadMessages call needs
// through its view's iterator (a Get per body builds an iterator stack each
// time), and keeps each for the call's other copies of it.
type bodyReader struct {
	s     *Store
	view  *view
	cache map[uint64]*sharedRecord
}

func (br *bodyReader) get(id uint64) (*sharedRecord, error) {
	if sr, ok := br.cache[id]; ok {
		return sr, nil
	}
	if br.cache == nil {
		br.cache = map[uint64]*sharedRecord{}
	}
	it := br.view.body
	if it == nil {
		var err error
		if it, err = br.s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{'b'}, UpperBound: []byte{'c'}}); err != nil {
			return nil, err
		}
		br.view.body = it
	}
	k := sharedKey(id)
	if !it.SeekGE(k) || !bytes.Equal(it.Key(), k) {
		return nil, it.Error()
	}
	v, err := it.ValueAndErr()
	if err != nil {
		return nil, err
	}
	sr, err := decodeSharedCopy(id, v)
	if err != nil {
		return nil, err
	}
	br.cache[id] = sr
	return sr, nil
}

// compose completes a message whose body is shared (m.Shared) with the
// shared body's head and tail, read through br when it is not nil. It
// reports false when the shared body is gone.
func (s *Store) compose(m *store.Message, br *bodyReader) (bool, error) {
	sr, err := s.sharedBody(m.Shared, br)
	if err != nil || sr == nil {
		return false, err
	}
	m.Body = sr.head + m.Body + sr.tail
	m.Shared = 0
	return true, nil
}

// ReadMessages implements store.Queues with one iterator over the queue's
// messages, which costs far less than a point lookup per message (a state
// is the key after its content), and one for the shared bodies the
// messages name.
//
// A message's content is in its 'm' record, or packed with its shared
// body, which its state names.
func (s *Store) ReadMessages(ctx context.Context, qid uint64, seqs []uint64, withState []bool) ([]store.Message, []bool, error) {
	if err := s.begin(); err != nil {
		return nil, nil, err
	}
	defer s.end()
	if len(seqs) == 0 {
		return []store.Message{}, []bool{}, nil
	}
	hi, anyState := seqs[0], false
	for i, q := range seqs {
		hi = max(hi, q)
		anyState = anyState || withState[i]
	}
	// A kept view answers a read of messages never received, all older
	// than it (views.go); a miss there is read again through a new one.
	if !anyState {
		if v := s.views.take(qid, hi); v != nil {
			msgs, found, missing, err := s.readMessages(qid, seqs, withState, v)
			if err == nil && missing == 0 {
				s.views.put(qid, v)
				return msgs, found, nil
			}
			v.close()
		}
	}
	v, err := s.newView(qid)
	if err != nil {
		return nil, nil, err
	}
	msgs, found, _, err := s.readMessages(qid, seqs, withState, v)
	if err != nil {
		v.close()
		return nil, nil, err
	}
	s.views.put(qid, v)
	return msgs, found, nil
}

// newView makes a read view of queue qid.
func (s *Store) newView(qid uint64) (*view, error) {
	s.lease.Lock()
	hw := s.visible[qid]
	s.lease.Unlock()
	it, err := s.db.NewIter(nil)
	if err != nil {
		return nil, err
	}
	return &view{it: it, hw: hw, born: time.Now()}, nil
}

// readMessages reads messages through v and reports how many it did not
// find.
func (s *Store) readMessages(qid uint64, seqs []uint64, withState []bool, v *view) ([]store.Message, []bool, int, error) {
	msgs := make([]store.Message, len(seqs))
	found := make([]bool, len(seqs))
	missing := len(seqs)
	it := v.it
	if !v.bounded {
		// Bounded to the queue's messages, so that later seeks step
		// forward from where the last one ended.
		lower := qidKey('m', qid)
		it.SetBounds(lower, prefixEnd(lower))
		v.bounded = true
	}
	br := &bodyReader{s: s, view: v}
	for i, q := range seqs {
		ck := seqKey('m', qid, q)
		if !it.SeekGE(ck) {
			// A seek clears the iterator's error: look before the next.
			if err := it.Error(); err != nil {
				return nil, nil, 0, err
			}
			continue
		}
		if bytes.Equal(it.Key(), ck) {
			val, err := it.ValueAndErr()
			if err != nil {
				return nil, nil, 0, fmt.Errorf("queue %d message %d: %w", qid, q, err)
			}
			msgs[i].Seq = q
			if err := decodeContent(val, &msgs[i]); err != nil {
				return nil, nil, 0, fmt.Errorf("queue %d message %d: %w", qid, q, err)
			}
			if msgs[i].Shared != 0 {
				ok, err := s.compose(&msgs[i], br)
				if err != nil {
					return nil, nil, 0, fmt.Errorf("queue %d message %d: %w", qid, q, err)
				}
				if !ok {
					msgs[i] = store.Message{}
					continue
				}
			}
			found[i] = true
			missing--
			if !withState[i] {
				continue
			}
			if !it.Next() {
				if err := it.Error(); err != nil {
					return nil, nil, 0, err
				}
				continue
			}
		}
		// A state is read when asked for, or to find a packed copy.
		k := it.Key()
		if len(k) != 18 || k[17] != 's' || !bytes.Equal(k[:17], ck) {
			continue
		}
		val, err := it.ValueAndErr()
		if err != nil {
			return nil, nil, 0, fmt.Errorf("queue %d message %d: %w", qid, q, err)
		}
		st, ref, err := decodeStateRef(val)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("queue %d message %d: %w", qid, q, err)
		}
		if !found[i] {
			if ref == 0 {
				continue
			}
			msgs[i].Seq = q
			ok, err := s.readPacked(&msgs[i], qid, ref, br)
			if err != nil {
				return nil, nil, 0, fmt.Errorf("queue %d message %d: %w", qid, q, err)
			}
			if !ok {
				msgs[i] = store.Message{}
				continue
			}
			found[i] = true
			missing--
		}
		if withState[i] {
			msgs[i].State = st
		}
	}
	if err := it.Error(); err != nil {
		return nil, nil, 0, err
	}
	return msgs, found, missing, nil
}

// GetState implements store.Queues.
func (s *Store) GetState(ctx context.Context, qid, seq uint64) (store.State, error) {
	if err := s.begin(); err != nil {
		return store.State{}, err
	}
	defer s.end()
	return s.getState(qid, seq)
}

func (s *Store) getState(qid, seq uint64) (store.State, error) {
	v, closer, err := s.db.Get(stateKey(qid, seq))
	if errors.Is(err, pebble.ErrNotFound) {
		return store.State{}, store.ErrNotFound
	}
	if err != nil {
		return store.State{}, err
	}
	defer closer.Close()
	return decodeState(v)
}

// ScanRefs implements store.Queues: the references in states (packed
// copies, and copies whose state was rewritten since they had one) and in
// 'x' records, merged in sequence order, each copy once.
func (s *Store) ScanRefs(ctx context.Context, qid uint64, fn func(seq, bodyID uint64) error) error {
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	s.lease.Lock()
	gen, none := s.noRefs[qid]
	none = none && gen == s.refGen[qid] && !s.legacy
	s.lease.Unlock()
	if none {
		return nil
	}
	lo := qidKey('m', qid)
	its, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
	if err != nil {
		return err
	}
	defer its.Close()
	lx := qidKey('x', qid)
	itx, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lx, UpperBound: prefixEnd(lx)})
	if err != nil {
		return err
	}
	defer itx.Close()
	// next advances an iterator to its next reference.
	next := func(it *pebble.Iterator, first bool, state bool) (seq, id uint64, ok bool, err error) {
		for valid := first && it.First() || !first && it.Next(); valid; valid = it.Next() {
			if err := ctx.Err(); err != nil {
				return 0, 0, false, err
			}
			k := it.Key()
			if state {
				var isState bool
				if seq, isState, err = stateSeq(k); err != nil {
					return 0, 0, false, fmt.Errorf("queue %d: %w", qid, err)
				}
				if !isState {
					continue
				}
				v, err := it.ValueAndErr()
				if err != nil {
					return 0, 0, false, err
				}
				if len(v) > 0 && (v[0] == stateVersion || v[0] == stateVersionRecv) {
					// No reference: skip decoding the rest, which
					// for a million messages took 0.3 s at start.
					continue
				}
				if _, id, err = decodeStateRef(v); err != nil {
					return 0, 0, false, fmt.Errorf("queue %d message %d: %w", qid, seq, err)
				}
				if id == 0 {
					continue
				}
				return seq, id, true, nil
			}
			if len(k) != 17 {
				return 0, 0, false, fmt.Errorf("%w: key length %d in queue %d", store.ErrCorrupt, len(k), qid)
			}
			seq = binary.BigEndian.Uint64(k[9:])
			v, err := it.ValueAndErr()
			if err != nil {
				return 0, 0, false, err
			}
			id, n := binary.Uvarint(v)
			if n <= 0 || n != len(v) || id == 0 {
				return 0, 0, false, fmt.Errorf("%w: shared body reference of queue %d", store.ErrCorrupt, qid)
			}
			return seq, id, true, nil
		}
		return 0, 0, false, it.Error()
	}
	ss, sid, sok, err := next(its, true, true)
	if err != nil {
		return err
	}
	xs, xid, xok, err := next(itx, true, false)
	if err != nil {
		return err
	}
	for sok || xok {
		switch {
		case sok && (!xok || ss <= xs):
			if err := fn(ss, sid); err != nil {
				return err
			}
			if xok && xs == ss {
				if xs, xid, xok, err = next(itx, false, false); err != nil {
					return err
				}
			}
			if ss, sid, sok, err = next(its, false, true); err != nil {
				return err
			}
		default:
			if err := fn(xs, xid); err != nil {
				return err
			}
			if xs, xid, xok, err = next(itx, false, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// ScanShared implements store.Queues.
func (s *Store) ScanShared(ctx context.Context, fn func(bodyID uint64) error) error {
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{'b'}, UpperBound: []byte{'c'}})
	if err != nil {
		return err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		k := it.Key()
		if len(k) != 9 {
			return fmt.Errorf("%w: shared body key length %d", store.ErrCorrupt, len(k))
		}
		if err := fn(binary.BigEndian.Uint64(k[1:])); err != nil {
			return err
		}
	}
	return it.Error()
}

// LoadDedup implements store.Queues.
func (s *Store) LoadDedup(ctx context.Context, qid uint64) ([]store.Dedup, error) {
	if err := s.begin(); err != nil {
		return nil, err
	}
	defer s.end()
	lo := qidKey('d', qid)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []store.Dedup
	for it.First(); it.Valid(); it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, err
		}
		d, err := decodeDedup(string(it.Key()[9:]), v)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, it.Error()
}

// LoadMoveTasks implements store.Queues.
func (s *Store) LoadMoveTasks(ctx context.Context) ([]store.MoveTask, error) {
	if err := s.begin(); err != nil {
		return nil, err
	}
	defer s.end()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{'t'}, UpperBound: []byte{'u'}})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []store.MoveTask
	for it.First(); it.Valid(); it.Next() {
		var t store.MoveTask
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(v, &t); err != nil {
			return nil, fmt.Errorf("%w: move task: %v", store.ErrCorrupt, err)
		}
		out = append(out, t)
	}
	return out, it.Error()
}

// Commit implements store.Queues.
func (s *Store) Commit(ctx context.Context, b *store.Batch) error {
	if b.Len() == 0 {
		return nil
	}
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	pb := s.db.NewBatch()
	defer pb.Close()
	hwm := map[uint64]uint64{}
	// The shared bodies written in this batch, whose copies in it are
	// packed into their records.
	var packs map[uint64]*pack
	var dropped []uint64 // queues deleted or purged, whose kept views end
	var refs []uint64    // queues given a state that names a shared body (noRefs)
	var deleted []uint64 // queues deleted, whose leases end
	for i := range b.Ops {
		if op := &b.Ops[i]; op.Kind == store.OpPutShared && op.Body != nil && op.Body.ID != 0 {
			if packs == nil {
				packs = map[uint64]*pack{}
			}
			packs[op.Body.ID] = &pack{body: op.Body}
		}
	}
	if packs != nil {
		// Room for the packed copies up front (about 100 bytes each,
		// with their own parts): a fan-out to ten queues otherwise
		// regrew the buffer six times.
		for i := range b.Ops {
			if op := &b.Ops[i]; op.Kind == store.OpPutMessage && op.Message.Shared != 0 {
				if p := packs[op.Message.Shared]; p != nil {
					p.n++
				}
			}
		}
		for _, p := range packs {
			p.copies = make([]byte, 0, p.n*128)
			p.n = 0
		}
	}
	bp := commitBufs.Get().(*[]byte)
	buf := (*bp)[:0]
	defer func() {
		if cap(buf) <= 64<<10 {
			*bp = buf[:0]
			commitBufs.Put(bp)
		}
	}()
	s.lease.Lock()
	legacy := s.legacy
	s.lease.Unlock()
	for i := range b.Ops {
		op := &b.Ops[i]
		var err error
		switch op.Kind {
		case store.OpPutQueue:
			var v []byte
			if v, err = json.Marshal(op.Queue); err == nil {
				err = pb.Set(queueKey(op.Queue.Name), v, nil)
			}
		case store.OpDeleteQueue:
			dropped = append(dropped, op.QueueID)
			deleted = append(deleted, op.QueueID)
			err = errors.Join(
				pb.Delete(queueKey(op.Queue.Name), nil),
				pb.Delete(qidKey('h', op.QueueID), nil),
				deletePrefix(pb, qidKey('m', op.QueueID)),
				deletePrefix(pb, qidKey('d', op.QueueID)),
				deletePrefix(pb, qidKey('x', op.QueueID)),
			)
		case store.OpPutMessage:
			m := op.Message
			if p := packs[m.Shared]; p != nil && m.Shared != 0 {
				// Packed: the content goes into the body's record.
				p.copies = appendPacked(p.copies, op.QueueID, m)
				p.n++
				buf = encodeStateRef(buf[:0], m.State, m.Shared)
				err = pb.Set(stateKey(op.QueueID, m.Seq), buf, nil)
			} else {
				buf = encodeContent(buf[:0], m)
				err = pb.Set(seqKey('m', op.QueueID, m.Seq), buf, nil)
				if err == nil {
					buf = encodeStateRef(buf[:0], m.State, m.Shared)
					err = pb.Set(stateKey(op.QueueID, m.Seq), buf, nil)
				}
				if err == nil && m.Shared != 0 {
					err = pb.Set(seqKey('x', op.QueueID, m.Seq), binary.AppendUvarint(buf[:0], m.Shared), nil)
					legacy = true
				}
			}
			if m.Seq > hwm[op.QueueID] {
				hwm[op.QueueID] = m.Seq
			}
			if m.Shared != 0 {
				refs = append(refs, op.QueueID)
			}
		case store.OpPutState:
			buf = encodeStateRef(buf[:0], op.State, op.Ref)
			err = pb.Set(stateKey(op.QueueID, op.Seq), buf, nil)
			if op.Ref != 0 {
				refs = append(refs, op.QueueID)
			}
		case store.OpDeleteMessage:
			err = pb.Delete(stateKey(op.QueueID, op.Seq), nil)
			// A copy that names its shared body is packed and has no
			// other key, unless copies that are not may exist.
			if err == nil && (op.Ref == 0 || legacy) {
				err = pb.Delete(seqKey('m', op.QueueID, op.Seq), nil)
			}
			if err == nil && op.Ref != 0 && legacy {
				err = pb.Delete(seqKey('x', op.QueueID, op.Seq), nil)
			}
		case store.OpPurge:
			dropped = append(dropped, op.QueueID)
			// The 'm' range up to op.Seq holds the states too.
			err = errors.Join(
				pb.DeleteRange(qidKey('m', op.QueueID), seqKey('m', op.QueueID, op.Seq+1), nil),
				pb.DeleteRange(qidKey('x', op.QueueID), seqKey('x', op.QueueID, op.Seq+1), nil))
		case store.OpPutDedup:
			buf = encodeDedup(buf[:0], op.Dedup)
			err = pb.Set(append(qidKey('d', op.QueueID), op.Dedup.Key...), buf, nil)
		case store.OpDeleteDedup:
			err = pb.Delete(append(qidKey('d', op.QueueID), op.Dedup.Key...), nil)
		case store.OpPutMoveTask:
			var v []byte
			if v, err = json.Marshal(op.Task); err == nil {
				err = pb.Set(append([]byte{'t'}, op.Task.Handle...), v, nil)
			}
		case store.OpPutShared:
			if op.Body == nil || op.Body.ID == 0 {
				err = errors.New("shared body without an ID")
			}
			// Written below, with the copies packed into it.
		case store.OpDeleteShared:
			err = pb.Delete(sharedKey(op.Seq), nil)
		case store.OpPutRecord:
			err = pb.Set(recordKey(op.NS, op.Key), op.Value, nil)
		case store.OpDeleteRecord:
			err = pb.Delete(recordKey(op.NS, op.Key), nil)
		case store.OpDeleteRecordRange:
			if string(op.Value) <= op.Key {
				err = errors.New("record range to delete is empty or reversed")
			} else {
				err = pb.DeleteRange(recordKey(op.NS, op.Key), recordKey(op.NS, string(op.Value)), nil)
			}
		default:
			err = fmt.Errorf("unknown batch operation %d", op.Kind)
		}
		if err != nil {
			return fmt.Errorf("build batch: %w", err)
		}
	}
	for _, p := range packs {
		if need := len(p.body.Head) + len(p.body.Tail) + len(p.copies) + 32; cap(buf) < need {
			buf = make([]byte, 0, need)
		}
		if p.n == 0 {
			buf = encodeShared(buf[:0], p.body)
		} else {
			buf = encodeSharedPacked(buf[:0], p.body, p.n, p.copies)
		}
		if err := pb.Set(sharedKey(p.body.ID), buf, nil); err != nil {
			return fmt.Errorf("build batch: %w", err)
		}
	}
	// High-water marks: leased, see the package comment.
	var raised map[uint64]uint64
	s.lease.Lock()
	for qid, seq := range hwm {
		if seq <= s.leased[qid] {
			continue
		}
		if raised == nil {
			raised = map[uint64]uint64{}
		}
		raised[qid] = seq + leaseSpan
	}
	s.lease.Unlock()
	for qid, mark := range raised {
		// Merged by maxMerger: the stored mark is the largest ever
		// written, whatever order concurrent batches commit in.
		if err := pb.Merge(qidKey('h', qid), binary.BigEndian.AppendUint64(nil, mark), nil); err != nil {
			return err
		}
	}
	if len(refs) > 0 {
		// Around the commit (noRefs): Pebble may publish a batch whose
		// sync then fails.
		s.bumpRefGen(refs)
		defer s.bumpRefGen(refs)
	}
	if err := pb.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	s.noteDeletes(b)
	s.lease.Lock()
	// A mark counts once it is durable; a queue deleted meanwhile loses
	// its lease (below) and writes a new mark when used again.
	for qid, mark := range raised {
		if mark > s.leased[qid] {
			s.leased[qid] = mark
		}
	}
	for qid, seq := range hwm {
		s.visible[qid] = max(s.visible[qid], seq)
	}
	for _, qid := range deleted {
		delete(s.leased, qid)
		delete(s.visible, qid)
		delete(s.noRefs, qid) // its generation stays: IDs are not reused while the store is open
	}
	s.legacy = s.legacy || legacy
	s.lease.Unlock()
	for _, qid := range dropped {
		s.views.drop(qid)
	}
	return nil
}

// commitBufs holds Commit's encoding buffers: Pebble copies each value
// into its batch, so one buffer serves every record of a commit and then
// the next commit.
var commitBufs = sync.Pool{New: func() any { return new([]byte) }}

// bumpRefGen moves on the reference generation of queues (noRefs).
func (s *Store) bumpRefGen(qids []uint64) {
	s.lease.Lock()
	for _, qid := range qids {
		s.refGen[qid]++
	}
	s.lease.Unlock()
}

// pack gathers the copies packed with a shared body written in a batch.
type pack struct {
	body   *store.SharedBody
	n      int
	copies []byte
}

func recordKey(ns, key string) []byte {
	k := make([]byte, 0, 2+len(ns)+len(key))
	k = append(k, 'r')
	k = append(k, ns...)
	k = append(k, 0)
	return append(k, key...)
}

// GetRecord implements store.Records.
func (s *Store) GetRecord(ctx context.Context, ns, key string) ([]byte, error) {
	if err := s.begin(); err != nil {
		return nil, err
	}
	defer s.end()
	v, closer, err := s.db.Get(recordKey(ns, key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return bytes.Clone(v), nil
}

// ScanRecords implements store.Records.
func (s *Store) ScanRecords(ctx context.Context, ns, prefix string, fn func(string, []byte) error) error {
	lower := recordKey(ns, prefix)
	return s.scanRecords(ctx, ns, lower, prefixEnd(lower), fn)
}

// ScanRecordRange implements store.Records.
func (s *Store) ScanRecordRange(ctx context.Context, ns, from, to string, fn func(string, []byte) error) error {
	upper := prefixEnd(recordKey(ns, ""))
	if to != "" {
		upper = recordKey(ns, to)
	}
	return s.scanRecords(ctx, ns, recordKey(ns, from), upper, fn)
}

func (s *Store) scanRecords(ctx context.Context, ns string, lower, upper []byte, fn func(string, []byte) error) error {
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	if bytes.Compare(lower, upper) >= 0 {
		return nil
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return err
	}
	defer it.Close()
	skip := len(ns) + 2
	for it.First(); it.Valid(); it.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		if err := fn(string(it.Key()[skip:]), v); err != nil {
			return err
		}
	}
	return it.Error()
}

func deletePrefix(pb *pebble.Batch, p []byte) error {
	return pb.DeleteRange(p, prefixEnd(p), nil)
}

type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug(fmt.Sprintf(format, args...))
}
func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...))
}
func (p pebbleLogger) Fatalf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...))
	panic(fmt.Sprintf(format, args...))
}

// maxMerger merges high-water marks ('h' keys): 8-byte big-endian values,
// keeping the largest. Its name is stored in the database; changing it
// makes existing data directories refuse to open.
var maxMerger = &pebble.Merger{
	Name: "forkline.max-uint64.v1",
	Merge: func(key, value []byte) (pebble.ValueMerger, error) {
		m := &maxValue{}
		return m, m.add(value)
	},
}

type maxValue struct{ max uint64 }

func (m *maxValue) add(v []byte) error {
	if len(v) != 8 {
		return fmt.Errorf("%w: high-water mark operand of %d bytes", store.ErrCorrupt, len(v))
	}
	if n := binary.BigEndian.Uint64(v); n > m.max {
		m.max = n
	}
	return nil
}

func (m *maxValue) MergeNewer(v []byte) error { return m.add(v) }
func (m *maxValue) MergeOlder(v []byte) error { return m.add(v) }
func (m *maxValue) Finish(bool) ([]byte, io.Closer, error) {
	return binary.BigEndian.AppendUint64(nil, m.max), nil, nil
}
