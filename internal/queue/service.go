// Package queue is forkline's SQS-compatible queue service: queues, their
// attributes and messages, visibility, delays, retention, dead-letter
// queues, FIFO ordering and deduplication, and message move tasks.
//
// Invariants:
//   - A success answer means the change is durable in the store: sends are
//     committed before they are acknowledged or become visible; receives,
//     deletes and visibility changes are committed before they are answered.
//   - The in-memory index of each queue (index.go) is a cache of the store's
//     message states, rebuilt at start; bodies are read from the store.
//   - Time comes from the injected clock only.
//
// Lock order: queue.op, then Service.mu, then queue.mu. While one queue's
// op lock is held, another's (a dead-letter or move destination queue) is
// only ever tried (TryRLock), never waited for. No lock is held across a
// store commit except queue.op (shared by every operation, exclusive only for
// DeleteQueue and PurgeQueue) and queue.updMu (record updates).
// The package knows nothing of HTTP; wire adapters call the Service.
package queue

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/forkline/forkline/internal/clock"
	"github.com/forkline/forkline/internal/store"
	"github.com/forkline/forkline/internal/uuid"
	"github.com/forkline/forkline/internal/window"
)

// Config configures a Service.
type Config struct {
	Region    string
	AccountID string
	Clock     clock.Clock
	Logger    *slog.Logger
}

// A Finisher completes a message body stored unfinished
// (SendInput.Finish) when it is read. It must be deterministic: every read
// of the message must see the same body.
type Finisher func(body string) string

// SetFinisher registers the finisher of kind (store.FinishSNSSignature,
// ...). Messages of a kind without a finisher are read unfinished.
func (s *Service) SetFinisher(kind uint8, f Finisher) { s.finishers.Store(kind, f) }

func (s *Service) finish(kind uint8, body string) string {
	if f, ok := s.finishers.Load(kind); ok {
		return f.(Finisher)(body)
	}
	s.log.Warn("no finisher for a stored message body", "kind", kind)
	return body
}

// Service is the queue service. It is safe for concurrent use.
type Service struct {
	st     Store
	clock  clock.Clock
	log    *slog.Logger
	region string
	acct   string
	// arnPrefix is the ARN of this region's and account's queues up to
	// the name ("arn:aws:sqs:REGION:ACCOUNT:").
	arnPrefix string

	mu        sync.RWMutex // guards queues, byID, deletedAt, nextQueueID, tasks, creating
	queues    map[string]*queue
	byID      map[uint64]*queue
	deletedAt map[string]time.Time
	// deletedOrder lists deletedAt's entries in the order they were made.
	deletedOrder []deletedName
	nextQueueID  uint64
	tasks        map[string]*moveTask
	// creating maps queue names being created to a channel closed when
	// their commit ends.
	creating map[string]chan struct{}

	finishers sync.Map // uint8 → Finisher

	sharedMu sync.Mutex // guards shared
	shared   sharedState

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// queue is one live queue.
type queue struct {
	// op is held for reading by every operation that commits for this
	// queue, and for writing by DeleteQueue and PurgeQueue, so that no
	// write lands for a queue after it is gone or purged.
	op sync.RWMutex
	// updMu serializes changes to the queue record (attributes, tags).
	updMu sync.Mutex

	id uint64 // immutable copy of rec.ID, readable without mu

	mu      sync.Mutex // guards every field below
	rec     store.Queue
	set     settings
	fifo    bool
	arn     string
	deleted bool
	nextSeq uint64
	// lastSendNs is the latest send time given out (FIFO queues: send
	// times follow sequence numbers).
	lastSendNs int64
	idx        *index
	// notify is closed and replaced whenever a message may have become
	// visible while long polls (counted in waiters) wait on it.
	notify   chan struct{}
	waiters  int
	dedup    window.Map[string, store.Dedup]
	dedupExp []dedupRef // in expiry order
	// dedupPending maps the deduplication keys of sends being committed
	// to a channel closed when their commit ends.
	dedupPending map[string]chan struct{}
	attempts     map[string]*attempt
	attemptExp   []attemptRef // in creation order, which is expiry order
	// attemptBusy holds the ReceiveRequestAttemptIds of FIFO receives in
	// progress; a receive retried with one waits for the first to end,
	// then replays what it delivered.
	attemptBusy map[string]chan struct{}
	// shared maps the sequence numbers of messages with a shared body
	// to the body's ID.
	shared refTable
}

type attemptRef struct {
	id  string
	exp int64
}

type dedupRef struct {
	key string
	exp int64
}

// attempt remembers a FIFO receive by ReceiveRequestAttemptId.
type attempt struct {
	Exp       int64    `json:"e"`
	Seqs      []uint64 `json:"s"`
	Nonce     []uint64 `json:"n"`
	VisibleAt []int64  `json:"v"` // each message's deadline when last given to this attempt
}

// nsAttempt holds the FIFO receive attempts of the last five minutes,
// under attemptKey, so that a receive whose answer a crash lost is still
// replayed when retried after the restart.
const nsAttempt = "sqs-attempt"

func attemptKey(qid uint64, id string) string { return fmt.Sprintf("%016x/%s", qid, id) }

// dropAttempts removes every receive attempt record of a queue.
func dropAttempts(b *store.Batch, qid uint64) {
	from := attemptKey(qid, "")
	b.DeleteRecordRange(nsAttempt, from, from[:len(from)-1]+"0") // '0' follows '/'
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // records are plain structs of numbers
	}
	return b
}

const (
	dedupWindow   = 5 * time.Minute
	attemptWindow = 5 * time.Minute
	deleteCooloff = 60 * time.Second
	purgeCooloff  = 60 * time.Second
	maxVisibility = 12 * time.Hour
)

// New loads every queue from the store and returns a running Service.
// Close stops it.
// Store is what the queue service needs of a backend: its queues, and the
// records that keep FIFO receive attempts.
type Store interface {
	store.Queues
	ScanRecords(ctx context.Context, ns, prefix string, fn func(key string, val []byte) error) error
}

func New(ctx context.Context, st Store, cfg Config) (*Service, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Service{
		st: st, clock: cfg.Clock, log: cfg.Logger.With("service", "sqs"),
		region: cfg.Region, acct: cfg.AccountID, arnPrefix: "arn:aws:sqs:" + cfg.Region + ":" + cfg.AccountID + ":",
		queues: map[string]*queue{}, byID: map[uint64]*queue{}, deletedAt: map[string]time.Time{},
		tasks: map[string]*moveTask{}, nextQueueID: 1, creating: map[string]chan struct{}{},
		shared: sharedState{refs: map[uint64]int32{}, kick: make(chan struct{}, 1)},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	recs, err := st.LoadQueues(ctx)
	if err != nil {
		return nil, fmt.Errorf("load queues: %w", err)
	}
	now := s.clock.Now()
	for _, rec := range recs {
		q, err := s.loadQueue(ctx, rec, now)
		if err != nil {
			return nil, fmt.Errorf("load queue %s: %w", rec.Name, err)
		}
		s.queues[rec.Name] = q
		s.byID[rec.ID] = q
		if rec.ID >= s.nextQueueID {
			s.nextQueueID = rec.ID + 1
		}
	}
	if err := s.loadShared(ctx); err != nil {
		return nil, err
	}
	if err := s.loadMoveTasks(ctx); err != nil {
		return nil, err
	}
	s.wg.Add(1)
	go s.sweepShared()
	s.wg.Add(1)
	go s.sweepExpired()
	return s, nil
}

// Close stops background work (move tasks) and waits for it.
func (s *Service) Close() {
	s.cancel()
	s.wg.Wait()
}

func (s *Service) newQueue(rec store.Queue) *queue {
	fifo := rec.Attributes[AttrFifoQueue] == "true"
	q := &queue{
		id: rec.ID, rec: rec, set: parseSettings(rec.Attributes), fifo: fifo,
		arn: s.arn(rec.Name), nextSeq: 1, idx: newIndex(fifo),
		notify: make(chan struct{}), attempts: map[string]*attempt{},
		dedupPending: map[string]chan struct{}{},
	}
	if fifo {
		q.idx.fifoDelay = int64(q.set.delay) * int64(time.Second)
	}
	return q
}

// fifoVisibleAt is when a FIFO message never received becomes visible
// under a queue delay of delay seconds.
func fifoVisibleAt(st store.State, delay int) int64 {
	return st.SentAt*int64(time.Millisecond) + int64(delay)*int64(time.Second)
}

func (s *Service) loadQueue(ctx context.Context, rec store.Queue, now time.Time) (*queue, error) {
	q := s.newQueue(rec)
	nowNs := now.UnixNano()
	hwm, err := s.st.ScanStates(ctx, rec.ID, func(seq uint64, st store.State) error {
		switch {
		case st.VisibleAt > nowNs && st.Nonce != 0:
			// The 12-hour limit counts from the receive; a state stored
			// without its time counts from now.
			at := nowNs
			if st.ReceivedAt != 0 {
				at = st.ReceivedAt * int64(time.Millisecond)
			}
			q.idx.addFlight(seq, &flight{st: st, receivedAt: at})
		case q.fifo && st.Nonce == 0 && st.ReceiveCount == 0 && fifoVisibleAt(st, q.set.delay) > nowNs:
			// Never received: the queue's delay now (index.retime).
			q.idx.addDelayed(timed{at: fifoVisibleAt(st, q.set.delay), seq: seq, sentAt: st.SentAt, group: st.GroupID})
		case st.VisibleAt > nowNs && !(q.fifo && st.Nonce == 0 && st.ReceiveCount == 0):
			q.idx.addDelayed(timed{at: st.VisibleAt, seq: seq, sentAt: st.SentAt, group: st.GroupID})
		default:
			if st.Nonce != 0 {
				q.idx.returned[seq] = returned{nonce: st.Nonce, sentAt: st.SentAt, group: st.GroupID}
			}
			q.idx.addReady(readyEntry{seq: seq, sentAt: st.SentAt, received: st.Nonce != 0 || st.ReceiveCount != 0}, st.GroupID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	q.nextSeq = hwm + 1
	if err := s.loadRefs(ctx, q); err != nil {
		return nil, err
	}
	if q.fifo {
		ds, err := s.st.LoadDedup(ctx, rec.ID)
		if err != nil {
			return nil, err
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i].ExpiresAt < ds[j].ExpiresAt })
		var stale store.Batch
		for _, d := range ds {
			if d.ExpiresAt <= nowNs {
				stale.DeleteDedup(rec.ID, d.Key) // its window ended while the server was down
				continue
			}
			q.dedup.Set(d.Key, d)
			q.dedupExp = append(q.dedupExp, dedupRef{d.Key, d.ExpiresAt})
		}
		prefix := attemptKey(rec.ID, "")
		err = s.st.ScanRecords(ctx, nsAttempt, prefix, func(key string, val []byte) error {
			var a attempt
			if json.Unmarshal(val, &a) != nil || a.Exp <= nowNs || len(a.Seqs) != len(a.Nonce) || len(a.Seqs) != len(a.VisibleAt) {
				stale.DeleteRecord(nsAttempt, key)
				return nil
			}
			id := strings.TrimPrefix(key, prefix)
			q.attempts[id] = &a
			q.attemptExp = append(q.attemptExp, attemptRef{id, a.Exp})
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Slice(q.attemptExp, func(i, j int) bool { return q.attemptExp[i].exp < q.attemptExp[j].exp })
		if stale.Len() > 0 {
			if err := s.st.Commit(ctx, &stale); err != nil {
				return nil, err
			}
		}
	}
	return q, nil
}

func (s *Service) arn(name string) string {
	return "arn:aws:sqs:" + s.region + ":" + s.acct + ":" + name
}

// QueueNameFromArn returns the queue name of an SQS ARN of this region and
// account, or "" if it is not one.
func (s *Service) QueueNameFromArn(arn string) string {
	if !strings.HasPrefix(arn, s.arnPrefix) {
		return ""
	}
	return arn[len(s.arnPrefix):]
}

func (s *Service) lookup(name string) (*queue, error) {
	s.mu.RLock()
	q := s.queues[name]
	s.mu.RUnlock()
	if q == nil {
		return nil, errNoQueue()
	}
	return q, nil
}

func (s *Service) lookupArn(arn string) *queue {
	name := s.QueueNameFromArn(arn)
	if name == "" {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.queues[name]
}

// QueueByArn reports whether the queue named by an SQS ARN exists and
// whether it is a FIFO queue.
func (s *Service) QueueByArn(arn string) (exists, fifo bool) {
	q := s.lookupArn(arn)
	if q == nil {
		return false, false
	}
	return true, q.fifo
}

// signal wakes long polls. Requires q.mu.
func (q *queue) signal() {
	if q.waiters == 0 {
		return
	}
	close(q.notify)
	q.notify = make(chan struct{})
}

func (q *queue) advance(now time.Time) {
	q.idx.advance(now.UnixNano(), int64(q.set.retention)*1000)
	q.wake()
}

// wake signals long polls if the index says a message became available.
// Requires q.mu.
func (q *queue) wake() {
	if q.idx.woke {
		q.idx.woke = false
		q.signal()
	}
}

func randUint64() uint64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return binary.LittleEndian.Uint64(b[:]) | 1 // never 0: 0 means "never received"
}

// NewMessageID returns a random RFC 4122 version 4 UUID.
func NewMessageID() string { return uuid.New() }

// ---------------------------------------------------------------- queues

// QueueInfo describes a queue for the wire layer.
type QueueInfo struct {
	Name string
	Arn  string
}

// CreateQueue creates a queue, or returns the existing one when every given
// attribute matches it (CreateQueue API reference).
func (s *Service) CreateQueue(ctx context.Context, name string, attrs, tags map[string]string) (QueueInfo, error) {
	if name == "" {
		return QueueInfo{}, missing("QueueName")
	}
	name = strings.Clone(name) // kept as a map key: not a part of the request's text
	fifo := false
	if v, ok := attrs[AttrFifoQueue]; ok {
		c, ok := parseBool(v)
		if !ok {
			return QueueInfo{}, invalidAttr(AttrFifoQueue)
		}
		fifo = c == "true"
	}
	if !fifo && strings.HasSuffix(name, ".fifo") {
		if _, given := attrs[AttrFifoQueue]; !given {
			return QueueInfo{}, errorf(ErrInvalidParameterValue, nameRule)
		}
	}
	if err := validQueueName(name, fifo); err != nil {
		return QueueInfo{}, err
	}
	canon, err := canonicalAttributes(fifo, attrs)
	if err != nil {
		return QueueInfo{}, err
	}
	if err := validateTags(tags, 0); err != nil {
		return QueueInfo{}, err
	}
	full := mergeAttributes(defaultAttributes(fifo), canon)
	if err := checkCombination(full); err != nil {
		return QueueInfo{}, err
	}
	if err := s.checkRedrive(name, fifo, full, attrs); err != nil {
		return QueueInfo{}, err
	}

	s.mu.Lock()
	for {
		if q := s.queues[name]; q != nil {
			defer s.mu.Unlock()
			q.mu.Lock()
			defer q.mu.Unlock()
			for k, v := range canon {
				if cur := q.rec.Attributes[k]; cur != v && !(k == AttrPolicy && compactJSON(cur) == compactJSON(v)) {
					return QueueInfo{}, errorf(ErrQueueNameExists, "A queue already exists with the same name and a different value for attribute %s", k)
				}
			}
			return QueueInfo{Name: name, Arn: q.arn}, nil
		}
		// Another CreateQueue of this name is committing: wait for it.
		ch := s.creating[name]
		if ch == nil {
			break
		}
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return QueueInfo{}, ctx.Err()
		}
		s.mu.Lock()
	}
	now := s.clock.Now()
	if at, ok := s.deletedAt[name]; ok && now.Sub(at) < deleteCooloff {
		s.mu.Unlock()
		return QueueInfo{}, errorf(ErrQueueDeletedRecently, "You must wait 60 seconds after deleting a queue before you can create another with the same name.")
	}
	rec := store.Queue{
		ID: s.nextQueueID, Name: name, Attributes: full, Tags: cloneMap(tags),
		CreatedAt: now.Unix(), ModifiedAt: now.Unix(),
	}
	s.nextQueueID++
	done := make(chan struct{})
	s.creating[name] = done
	s.mu.Unlock()

	// Commit without Service.mu, which every request takes to find its
	// queue.
	var b store.Batch
	b.PutQueue(rec)
	err = s.st.Commit(ctx, &b)

	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.creating, name)
	close(done)
	if err != nil {
		return QueueInfo{}, fmt.Errorf("create queue %s: %w", name, err)
	}
	q := s.newQueue(rec)
	s.queues[name] = q
	s.byID[rec.ID] = q
	delete(s.deletedAt, name)
	return QueueInfo{Name: name, Arn: q.arn}, nil
}

// checkRedrive validates a RedrivePolicy (in full, the queue's attributes
// after the change) against its target queue. Errors echo the value as
// the request gave it (in), or else as stored.
func (s *Service) checkRedrive(name string, fifo bool, full, in map[string]string) error {
	if full[AttrRedrivePolicy] == "" {
		return nil
	}
	p, err := parseRedrivePolicy(full[AttrRedrivePolicy])
	if err != nil {
		return err
	}
	v := full[AttrRedrivePolicy]
	if raw, ok := in[AttrRedrivePolicy]; ok {
		v = raw
	}
	dlq := s.lookupArn(p.DeadLetterTargetArn)
	if dlq == nil {
		return invalidValue(AttrRedrivePolicy, v, "Dead letter target does not exist.")
	}
	dlq.mu.Lock()
	defer dlq.mu.Unlock()
	if dlq.fifo != fifo {
		return invalidValue(AttrRedrivePolicy, v, "Dead-letter queue must be same type of queue as the source..") // sic: two periods, as SQS words it
	}
	if dlq.set.allow != nil && !dlq.set.allow.allows(s.arn(name)) {
		return invalidValue(AttrRedrivePolicy, v, "Dead-letter queue does not allow this queue as a source: see its RedriveAllowPolicy.")
	}
	return nil
}

// GetQueue returns the queue's info, or ErrQueueDoesNotExist.
func (s *Service) GetQueue(ctx context.Context, name string) (QueueInfo, error) {
	if name == "" {
		return QueueInfo{}, missing("QueueName")
	}
	q, err := s.lookup(name)
	if err != nil {
		return QueueInfo{}, err
	}
	return QueueInfo{Name: name, Arn: q.arn}, nil
}

// ListQueues lists queue names with the prefix, sorted, in pages.
// maxResults 0 means "up to 1000, no token" (ListQueues API reference).
func (s *Service) ListQueues(ctx context.Context, prefix string, maxResults int, token string) ([]string, string, error) {
	if maxResults < 0 || maxResults > 1000 {
		return nil, "", invalidValue("MaxResults", maxResults, "MaxResults must be an integer between 1 and 1000.")
	}
	after, err := decodeToken(token)
	if err != nil {
		return nil, "", err
	}
	s.mu.RLock()
	names := make([]string, 0, len(s.queues))
	for n := range s.queues {
		if strings.HasPrefix(n, prefix) && n > after {
			names = append(names, n)
		}
	}
	s.mu.RUnlock()
	return page(names, maxResults)
}

func page(names []string, maxResults int) ([]string, string, error) {
	sort.Strings(names)
	limit := maxResults
	if limit == 0 {
		limit = 1000
	}
	if len(names) <= limit {
		return names, "", nil
	}
	names = names[:limit]
	if maxResults == 0 {
		return names, "", nil
	}
	return names, base64.RawURLEncoding.EncodeToString([]byte("n:" + names[len(names)-1])), nil
}

func decodeToken(token string) (string, error) {
	if token == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || !strings.HasPrefix(string(b), "n:") {
		return "", invalidValue("NextToken", token, "Invalid NextToken value.")
	}
	return string(b[2:]), nil
}

// deletedName is a deleted queue's name and when it was deleted.
type deletedName struct {
	name string
	at   time.Time
}

// DeleteQueue deletes a queue and its messages.
func (s *Service) DeleteQueue(ctx context.Context, name string) error {
	q, err := s.lookup(name)
	if err != nil {
		return err
	}
	q.op.Lock()
	defer q.op.Unlock()
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return errNoQueue()
	}
	rec := q.rec
	q.mu.Unlock()
	var b store.Batch
	b.DeleteQueue(rec)
	dropAttempts(&b, rec.ID)
	if err := s.st.Commit(ctx, &b); err != nil {
		return fmt.Errorf("delete queue %s: %w", name, err)
	}
	s.mu.Lock()
	delete(s.queues, name)
	delete(s.byID, rec.ID)
	now := s.clock.Now()
	// Names past their cool-off are forgotten, oldest first, so that a run
	// creating and deleting uniquely named queues does not keep every name.
	n := 0
	for _, d := range s.deletedOrder {
		if now.Sub(d.at) < deleteCooloff {
			break
		}
		if s.deletedAt[d.name].Equal(d.at) {
			delete(s.deletedAt, d.name)
		}
		n++
	}
	name = strings.Clone(rec.Name) // not a part of a request's text
	s.deletedOrder = append(s.deletedOrder[n:], deletedName{name, now})
	s.deletedAt[name] = now
	s.mu.Unlock()
	s.releaseQueueRefs(q, ^uint64(0))
	q.mu.Lock()
	q.deleted = true
	q.idx.reset()
	q.signal()
	q.mu.Unlock()
	return nil
}

// GetQueueAttributes returns the named attributes ("All" for all). Unknown
// names are InvalidAttributeName.
func (s *Service) GetQueueAttributes(ctx context.Context, name string, names []string) (map[string]string, error) {
	q, err := s.lookup(name)
	if err != nil {
		return nil, err
	}
	defer s.reap(ctx, q)
	q.mu.Lock()
	defer q.mu.Unlock()
	q.advance(s.clock.Now())
	all := q.allAttributes()
	out := map[string]string{}
	for _, n := range names {
		if n == AttrAll {
			return all, nil
		}
		if !readOnlyAttrs[n] && !commonAttrs[n] && !(fifoOnlyAttrs[n] && q.fifo) {
			if fifoOnlyAttrs[n] {
				continue // standard queues report no FIFO attributes
			}
			return nil, unknownAttr(n)
		}
		if v, ok := all[n]; ok {
			out[n] = v
		}
	}
	return out, nil
}

// allAttributes requires q.mu.
func (q *queue) allAttributes() map[string]string {
	out := make(map[string]string, len(q.rec.Attributes)+6)
	for k, v := range q.rec.Attributes {
		out[k] = v
	}
	out[AttrQueueArn] = q.arn
	out[AttrApproximateNumberOfMessages] = strconv.FormatInt(q.idx.nVisible, 10)
	out[AttrApproximateNotVisible] = strconv.FormatInt(q.idx.nInflight, 10)
	out[AttrApproximateDelayed] = strconv.FormatInt(q.idx.nDelayed, 10)
	out[AttrCreatedTimestamp] = strconv.FormatInt(q.rec.CreatedAt, 10)
	out[AttrLastModifiedTimestamp] = strconv.FormatInt(q.rec.ModifiedAt, 10)
	return out
}

// SetQueueAttributes changes settable attributes.
func (s *Service) SetQueueAttributes(ctx context.Context, name string, attrs map[string]string) error {
	q, err := s.lookup(name)
	if err != nil {
		return err
	}
	if _, ok := attrs[AttrFifoQueue]; ok {
		return errorf(ErrInvalidAttributeName, "Invalid attribute name FifoQueue: FifoQueue can only be set at queue creation.")
	}
	canon, err := canonicalAttributes(q.fifo, attrs)
	if err != nil {
		return err
	}
	q.mu.Lock()
	full := mergeAttributes(q.rec.Attributes, canon)
	q.mu.Unlock()
	if err := checkCombination(full); err != nil {
		return err
	}
	if err := s.checkRedrive(name, q.fifo, full, attrs); err != nil {
		return err
	}
	return s.updateQueue(ctx, q, func(rec *store.Queue) error {
		rec.Attributes = mergeAttributes(rec.Attributes, canon)
		rec.ModifiedAt = s.clock.Now().Unix()
		return nil
	})
}

// updateQueue applies fn to a copy of the queue record, commits it and
// installs it.
func (s *Service) updateQueue(ctx context.Context, q *queue, fn func(*store.Queue) error) error {
	q.op.RLock()
	defer q.op.RUnlock()
	// updMu serializes record updates without holding q.mu, which message
	// operations need, across the commit.
	q.updMu.Lock()
	defer q.updMu.Unlock()
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return errNoQueue()
	}
	rec := q.rec
	q.mu.Unlock()
	rec.Attributes = copyMap(rec.Attributes)
	rec.Tags = copyMap(rec.Tags)
	if err := fn(&rec); err != nil {
		return err
	}
	var b store.Batch
	b.PutQueue(rec)
	if err := s.st.Commit(ctx, &b); err != nil {
		return fmt.Errorf("update queue %s: %w", rec.Name, err)
	}
	q.mu.Lock()
	rec.LastPurgeAt = q.rec.LastPurgeAt
	q.rec = rec
	prev := q.set.delay
	q.set = parseSettings(rec.Attributes)
	if q.fifo && q.set.delay != prev {
		q.idx.retime(int64(q.set.delay)*int64(time.Second), s.clock.Now().UnixNano())
		q.wake()
	}
	q.mu.Unlock()
	return nil
}

// PurgeQueue deletes every message sent before the call.
func (s *Service) PurgeQueue(ctx context.Context, name string) error {
	q, err := s.lookup(name)
	if err != nil {
		return err
	}
	q.op.Lock()
	defer q.op.Unlock()
	q.mu.Lock()
	now := s.clock.Now()
	if q.rec.LastPurgeAt != 0 && now.Sub(time.Unix(0, q.rec.LastPurgeAt)) < purgeCooloff {
		q.mu.Unlock()
		return errorf(ErrPurgeQueueInProgress, "Only one PurgeQueue operation on %s is allowed every 60 seconds.", name)
	}
	rec := q.rec
	rec.LastPurgeAt = now.UnixNano()
	through := q.nextSeq - 1
	var b store.Batch
	b.Purge(rec.ID, through)
	dropAttempts(&b, rec.ID)
	b.PutQueue(rec)
	// A FIFO queue's purge also ends the deduplication window of what it
	// held: a message sent again with the same deduplication ID is
	// delivered. (AWS does not document it; LocalStack's test
	// test_purge_queue_clears_fifo_deduplication_cache, recorded against
	// AWS, shows it.) No send is in progress: each holds q.op.
	var dropped []string
	for k := range q.dedup.All() {
		b.DeleteDedup(rec.ID, k)
		dropped = append(dropped, k)
	}
	q.mu.Unlock()
	if err := s.st.Commit(ctx, &b); err != nil {
		return fmt.Errorf("purge queue %s: %w", name, err)
	}
	s.releaseQueueRefs(q, through)
	q.mu.Lock()
	q.rec = rec
	q.idx.reset()
	q.attempts = map[string]*attempt{}
	q.attemptExp = nil
	for _, k := range dropped {
		q.dedup.Delete(k)
	}
	q.shrinkDedup()
	q.mu.Unlock()
	return nil
}

// ----------------------------------------------------------------- tags

// ListQueueTags returns the queue's tags.
func (s *Service) ListQueueTags(ctx context.Context, name string) (map[string]string, error) {
	q, err := s.lookup(name)
	if err != nil {
		return nil, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return copyMap(q.rec.Tags), nil
}

// TagQueue adds or overwrites tags.
func (s *Service) TagQueue(ctx context.Context, name string, tags map[string]string) error {
	q, err := s.lookup(name)
	if err != nil {
		return err
	}
	if len(tags) == 0 {
		return missing("Tags")
	}
	// The tags added are checked; the ones kept were checked when added
	// (by a build whose rules may have been fewer).
	if err := validateTags(tags, 0); err != nil {
		return err
	}
	return s.updateQueue(ctx, q, func(rec *store.Queue) error {
		merged := copyMap(rec.Tags)
		if merged == nil {
			merged = map[string]string{}
		}
		for k, v := range tags {
			merged[strings.Clone(k)] = strings.Clone(v)
		}
		if len(merged) > maxTags {
			return errorf(ErrInvalidParameterValue, "Too many tags added for queue %s.", name)
		}
		rec.Tags = merged
		return nil
	})
}

// UntagQueue removes tags by key.
func (s *Service) UntagQueue(ctx context.Context, name string, keys []string) error {
	q, err := s.lookup(name)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return missing("TagKeys")
	}
	return s.updateQueue(ctx, q, func(rec *store.Queue) error {
		for _, k := range keys {
			delete(rec.Tags, k)
		}
		return nil
	})
}

const maxTags = 50

// validateTags checks tag keys and values (SQS developer guide, "Amazon
// SQS queue quotas": up to 50 tags, keys 1 to 128 and values 0 to 256
// characters; "Unicode alphanumeric characters in UTF-8 and whitespaces"
// and "_ . : / = + - @"; "The tag Key or Value must not include the
// reserved prefix aws:").
func validateTags(tags map[string]string, _ int) error {
	if len(tags) > maxTags {
		return errorf(ErrInvalidParameterValue, "Too many tags: at most %d tags are allowed per queue.", maxTags)
	}
	for k, v := range tags {
		if k == "" || len([]rune(k)) > 128 {
			return errorf(ErrInvalidParameterValue, "Tag keys must be between 1 and 128 characters in length.")
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return errorf(ErrInvalidParameterValue, "Tag keys must not start with the reserved prefix aws:.")
		}
		if len([]rune(v)) > 256 {
			return errorf(ErrInvalidParameterValue, "Tag values must be less than 256 characters in length.")
		}
		if strings.HasPrefix(strings.ToLower(v), "aws:") {
			return errorf(ErrInvalidParameterValue, "Tag values must not start with the reserved prefix aws:.")
		}
		if !tagChars(k) || !tagChars(v) {
			return errorf(ErrInvalidParameterValue, "Tag keys and values may contain only Unicode letters, digits, white space, and _ . : / = + - @.")
		}
	}
	return nil
}

// tagChars reports whether s uses only the characters allowed in tags.
func tagChars(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsSpace(r) && !strings.ContainsRune("_.:/=+-@", r) {
			return false
		}
	}
	return true
}

// cloneMap is copyMap with its strings copied too, for maps kept from a
// request (whose text they would otherwise keep alive).
func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.Clone(k)] = strings.Clone(v)
	}
	return out
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ListDeadLetterSourceQueues lists the queues whose RedrivePolicy targets
// this one.
func (s *Service) ListDeadLetterSourceQueues(ctx context.Context, name string, maxResults int, token string) ([]string, string, error) {
	q, err := s.lookup(name)
	if err != nil {
		return nil, "", err
	}
	if maxResults < 0 || maxResults > 1000 {
		return nil, "", invalidValue("MaxResults", maxResults, "MaxResults must be an integer between 1 and 1000.")
	}
	after, err := decodeToken(token)
	if err != nil {
		return nil, "", err
	}
	var names []string
	for _, src := range s.snapshot() {
		src.mu.Lock()
		if src.set.redrive != nil && src.set.redrive.DeadLetterTargetArn == q.arn && src.rec.Name > after {
			names = append(names, src.rec.Name)
		}
		src.mu.Unlock()
	}
	return page(names, maxResults)
}

func (s *Service) snapshot() []*queue {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*queue, 0, len(s.queues))
	for _, q := range s.queues {
		out = append(out, q)
	}
	return out
}
