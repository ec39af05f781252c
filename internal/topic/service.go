// Package topic is forkline's SNS: topics, subscriptions, filter policies
// and the durable fan-out of published messages to queues, HTTP endpoints
// and functions.
//
// Invariants:
//   - Publish answers only after the message and its whole fan-out are in
//     the store: deliveries into forkline queues are written as queue
//     messages in the same batch as the rest, and every other delivery
//     (HTTP, a dead-letter queue, a retry) as an outbox record that the
//     dispatcher removes in the same batch as its outcome. A crash at any
//     instant loses no acknowledged publish.
//   - Topics and subscriptions are records (store.Records) held in memory
//     as immutable values; a change writes the record, then swaps the value.
//
// Lock order: Service.mu, then topic.mu. Neither is held during a commit,
// except that Publish holds the queue locks taken by queue.BeginSends.
package topic

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/forkline/forkline/internal/clock"
	"github.com/forkline/forkline/internal/queue"
	"github.com/forkline/forkline/internal/store"
	"github.com/forkline/forkline/internal/topic/filter"
	"github.com/forkline/forkline/internal/uuid"
	"github.com/forkline/forkline/internal/window"
)

// Record namespaces.
const (
	nsTopic = "sns.topic" // topic name → topicRec
	nsSub   = "sns.sub"   // subscription ID → subRec
	nsOut   = "sns.out"   // outbox ID → outRec
	nsDedup = "sns.dedup" // topic name NUL key → dedupRec
	// nsRestore holds what an UnsubscribeConfirmation's token restores:
	// token → restoreRec.
	nsRestore = "sns.restore"
)

// Queues is what the topic service needs of the queue service.
type Queues interface {
	BeginSends(ctx context.Context, targets []queue.Target, b *store.Batch) *queue.SendTxn
	QueueByArn(arn string) (exists, fifo bool)
	// SetFinisher registers how the queues complete the notifications
	// this service stores unsigned (store.FinishSNSSignature).
	SetFinisher(kind uint8, f queue.Finisher)
}

// Poster delivers an HTTP POST (the http and https protocols): it returns
// the response status or a transport error.
type Poster interface {
	Post(ctx context.Context, url string, header map[string]string, body []byte) (int, error)
}

// Invoker runs the functions of lambda subscriptions. InvokeEvent hands
// an event to a function as Lambda's asynchronous invocation accepts it:
// requestID is the invocation's, found reports whether the function
// exists; err is a failure to hand it over.
type Invoker interface {
	InvokeEvent(ctx context.Context, functionArn string, payload []byte) (requestID string, found bool, err error)
}

// Streams delivers a record durably to a Firehose delivery stream (the
// firehose protocol). An error wrapping ErrRefused is permanent (the
// stream does not exist, or will never take the record); others are
// retried.
type Streams interface {
	PutRecord(ctx context.Context, streamArn string, data []byte) error
}

// ErrRefused marks a delivery that retrying cannot make succeed.
var ErrRefused = errors.New("refused")

// Config configures a Service.
type Config struct {
	Region    string
	AccountID string
	Clock     clock.Clock
	Logger    *slog.Logger
	Queues    Queues
	Poster    Poster
	// Functions delivers to lambda subscriptions; nil keeps their
	// deliveries in the outbox.
	Functions Invoker
	// PublicURL returns the scheme://host:port at which subscribers reach
	// forkline, for SubscribeURL, UnsubscribeURL and SigningCertURL.
	PublicURL func() string
	// KeyDir holds the message signing key and certificate.
	KeyDir string
	// DeliveryLog appends a line to a CloudWatch Logs stream, creating
	// the group and stream, for delivery status logging; nil turns it
	// off.
	DeliveryLog func(group, stream string, ts time.Time, message string)
}

// Service is the topic service. It is safe for concurrent use.
type Service struct {
	st     store.Store
	cfg    Config
	clock  clock.Clock
	log    *slog.Logger
	warns  logLimiter // failed deliveries' warnings, per subscription
	signer *signer
	smsMu  sync.Mutex // orders SetSMSAttributes' read, change and write
	push   pushState  // platform applications and endpoints
	// logStream names this process's delivery status log streams.
	logStream string

	mu     sync.RWMutex // guards topics, subs, restore, every topic's subs list and nextSweep
	topics map[string]*topic
	subs   map[string]*subscription // by subscription ARN
	// tokens maps the confirmation tokens of subscriptions to their ARNs
	// (addSub, dropSub), for ConfirmSubscription with a topic that does
	// not exist.
	tokens map[string]string
	// restore holds the unsubscribed HTTP/S subscriptions that their
	// UnsubscribeConfirmation's token can restore, by token.
	restore map[string]restoreRec
	// nextSweep is when dropExpiredPending next looks for subscriptions
	// left unconfirmed too long (Unix ns).
	nextSweep int64

	out *dispatcher

	fnMu    sync.RWMutex // guards cfg.Functions and streams
	streams Streams

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// topic is one live topic.
type topic struct {
	name string // immutable
	arn  string
	fifo bool

	// rec and subs are replaced, never modified, under Service.mu.
	rec  topicRec
	subs []*subscription

	// order is held by a FIFO publish from numbering its messages until
	// the queues have numbered them, so that groups keep their order.
	order sync.Mutex

	mu sync.Mutex // guards the fields below
	// lastSeq is the last FIFO sequence number handed out.
	lastSeq uint64
	// dedup holds the deduplication window of a FIFO topic; dedupExp
	// lists its keys in expiry order (a key whose entry was replaced
	// since is skipped when reached).
	dedup    window.Map[string, dedupRec]
	dedupExp []dedupRef
	// pending maps deduplication keys of publishes being committed to a
	// channel closed when their commit ends.
	pending map[string]chan struct{}
	deleted bool
	// deleting is closed when a DeleteTopic under way has its outcome;
	// nil when none is. deleteTurn (one place) makes deletions of the
	// topic take turns.
	deleting   chan struct{}
	deleteTurn chan struct{}
	// wake is closed when the topic archives a message (for replays
	// waiting for one); nil when none waits.
	wake chan struct{}

	// nextArchiveSweep is when a publish next drops archived messages
	// past their retention. Guarded by order.
	nextArchiveSweep int64
}

type topicRec struct {
	Name       string            `json:"name"`
	Attributes map[string]string `json:"attributes"`
	Tags       map[string]string `json:"tags,omitempty"`
	CreatedAt  int64             `json:"createdAt"`
	// Deleted counts subscriptions removed, for SubscriptionsDeleted.
	Deleted int `json:"deleted,omitempty"`
	// DataProtection is the topic's data protection policy document
	// (stored and returned; forkline does not apply it).
	DataProtection string `json:"dataProtection,omitempty"`
	// ArchiveSince is when the active ArchivePolicy began archiving
	// (Unix nanoseconds; 0: no archive).
	ArchiveSince int64 `json:"archiveSince,omitempty"`
}

type dedupRef struct {
	key string
	exp int64
}

type dedupRec struct {
	MessageID string `json:"messageId"`
	Seq       uint64 `json:"seq"`
	ExpiresAt int64  `json:"expiresAt"` // Unix nanoseconds
}

// subscription is one live subscription; it is immutable.
type subscription struct {
	rec    subRec
	arn    string
	topic  string // topic ARN
	policy *filter.Policy
	raw    bool
	dlq    string // dead-letter queue ARN of the RedrivePolicy
	retry  deliveryPolicy
	// unsub is rec.ID as it appears in a JSON string: each notification
	// a queue stores holds it (envelopeFor).
	unsub string
}

type subRec struct {
	ID         string            `json:"id"`
	Topic      string            `json:"topic"` // topic name
	Protocol   string            `json:"protocol"`
	Endpoint   string            `json:"endpoint"`
	Owner      string            `json:"owner"`
	Attributes map[string]string `json:"attributes,omitempty"`
	Confirmed  bool              `json:"confirmed"`
	Token      string            `json:"token,omitempty"`
	// AuthConfirmed records ConfirmationWasAuthenticated.
	AuthConfirmed bool `json:"authConfirmed,omitempty"`
	// AuthUnsubscribe records AuthenticateOnUnsubscribe.
	AuthUnsubscribe bool  `json:"authUnsubscribe,omitempty"`
	CreatedAt       int64 `json:"createdAt"`
	// Replay is the replay its ReplayPolicy started, if any.
	Replay *replayRec `json:"replay,omitempty"`
}

// restoreRec is an unsubscribed subscription that the token of its
// UnsubscribeConfirmation restores until ExpiresAt (SNS developer guide,
// "HTTP/HTTPS unsubscribe confirmation JSON format": "To cancel this
// operation and restore the subscription, visit the SubscribeURL").
type restoreRec struct {
	Sub       subRec `json:"sub"`
	ExpiresAt int64  `json:"expiresAt"`
}

const (
	dedupWindow = 5 * time.Minute
	// tokenLifetime: "Confirmation tokens are valid for two days"
	// (Subscribe API reference).
	tokenLifetime = 48 * time.Hour
	// pendingLifetime: a subscription still unconfirmed 48 hours after
	// Subscribe is deleted (SNS developer guide, "Deleting an Amazon SNS
	// subscription and topic"); sweepEvery bounds how often that is
	// looked for.
	pendingLifetime = 48 * time.Hour
	sweepEvery      = time.Minute
	// "at most 100,000 standard topics (at most 1,000 FIFO topics)" per
	// account (SNS API reference, CreateTopic).
	maxTopics     = 100000
	maxFIFOTopics = 1000
	// maxDataProtection bounds a DataProtectionPolicy document (SNS API
	// reference, CreateTopic: "Maximum length of 30,720").
	maxDataProtection = 30720
)

// fifoTopics counts the FIFO topics. Requires s.mu.
func (s *Service) fifoTopics() int {
	n := 0
	for _, t := range s.topics {
		if t.fifo {
			n++
		}
	}
	return n
}

// checkDataProtection checks a data protection policy document: a JSON
// object of at most maxDataProtection characters.
func checkDataProtection(doc string) error {
	if doc == "" {
		return nil
	}
	var v map[string]json.RawMessage
	if len(doc) > maxDataProtection || json.Unmarshal([]byte(doc), &v) != nil {
		return invalidParam("DataProtectionPolicy", "")
	}
	return nil
}

// GetDataProtectionPolicy returns a topic's data protection policy ("" if
// none).
func (s *Service) GetDataProtectionPolicy(ctx context.Context, arn string) (string, error) {
	t, err := s.lookupTopic(arn, "ResourceArn")
	if err != nil {
		return "", err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return t.rec.DataProtection, nil
}

// PutDataProtectionPolicy sets (or, with "", removes) a topic's data
// protection policy.
func (s *Service) PutDataProtectionPolicy(ctx context.Context, arn, doc string) error {
	t, err := s.lookupTopic(arn, "ResourceArn")
	if err != nil {
		return err
	}
	if err := checkDataProtection(doc); err != nil {
		return err
	}
	return s.updateTopic(ctx, t, func(rec *topicRec) { rec.DataProtection = doc })
}

// New loads every topic and subscription and starts the delivery of
// outstanding outbox records. Close stops it.
func New(ctx context.Context, st store.Store, cfg Config) (*Service, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.PublicURL == nil {
		cfg.PublicURL = func() string { return "http://localhost:4566" }
	}
	sg := &signer{dir: cfg.KeyDir, region: cfg.Region}
	s := &Service{
		st: st, cfg: cfg, clock: cfg.Clock, log: cfg.Logger.With("service", "sns"), signer: sg,
		topics: map[string]*topic{}, subs: map[string]*subscription{}, tokens: map[string]string{}, restore: map[string]restoreRec{},
		logStream: newID(),
	}
	sg.records = newSigRecords(st, s.log, s.clock.Now)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if cfg.Queues != nil {
		cfg.Queues.SetFinisher(store.FinishSNSSignature, s.finishNotification)
	}
	err := st.ScanRecords(ctx, nsTopic, "", func(_ string, v []byte) error {
		var rec topicRec
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("%w: topic: %v", store.ErrCorrupt, err)
		}
		// Before session 12 a data protection policy was a topic
		// attribute; it is the topic's DataProtection now (rewritten with
		// the topic's next update).
		if dp, ok := rec.Attributes["DataProtectionPolicy"]; ok {
			if rec.DataProtection == "" {
				rec.DataProtection = dp
			}
			delete(rec.Attributes, "DataProtectionPolicy")
		}
		s.topics[rec.Name] = s.newTopic(rec)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load topics: %w", err)
	}
	err = st.ScanRecords(ctx, nsSub, "", func(_ string, v []byte) error {
		var rec subRec
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("%w: subscription: %v", store.ErrCorrupt, err)
		}
		t := s.topics[rec.Topic]
		if t == nil {
			return nil // its topic's deletion removed it too
		}
		sub, err := s.newSubscription(t, rec)
		if err != nil {
			return err
		}
		s.addSub(sub)
		t.subs = append(t.subs, sub)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load subscriptions: %w", err)
	}
	now := s.clock.Now().UnixNano()
	var stale store.Batch
	err = st.ScanRecords(ctx, nsDedup, "", func(k string, v []byte) error {
		name, key, _ := strings.Cut(k, "\x00")
		t := s.topics[name]
		var d dedupRec
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("%w: deduplication entry: %v", store.ErrCorrupt, err)
		}
		if t != nil && d.ExpiresAt > now {
			t.dedup.Set(key, d)
			t.dedupExp = append(t.dedupExp, dedupRef{key, d.ExpiresAt})
			// Sequence numbers keep growing across a restart even if the
			// clock stepped back (archive keys and replay cursors rely
			// on it), as far as the deduplication window remembers.
			t.lastSeq = max(t.lastSeq, d.Seq)
		} else {
			stale.DeleteRecord(nsDedup, k)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load deduplication entries: %w", err)
	}
	err = st.ScanRecords(ctx, nsRestore, "", func(token string, v []byte) error {
		var r restoreRec
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("%w: restorable subscription: %v", store.ErrCorrupt, err)
		}
		if s.topics[r.Sub.Topic] != nil && r.ExpiresAt > now {
			s.restore[token] = r
		} else {
			stale.DeleteRecord(nsRestore, token)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load restorable subscriptions: %w", err)
	}
	if err := s.loadPush(ctx); err != nil {
		return nil, fmt.Errorf("load platform applications: %w", err)
	}
	for _, t := range s.topics {
		slices.SortFunc(t.dedupExp, func(a, b dedupRef) int { return cmp.Compare(a.exp, b.exp) })
		if !t.fifo {
			continue
		}
		// Sequence numbers continue above every archived one, even one
		// numbered before the clock stepped back: a replay reads the
		// archive up to the last number handed out.
		t.lastSeq = max(t.lastSeq, uint64(now))
		err := st.ScanRecordRange(ctx, nsArchive, archiveKey(t.name, uint64(now)), t.name+"\x01", func(k string, _ []byte) error {
			if seq, err := strconv.ParseUint(k[len(t.name)+1:], 10, 64); err == nil {
				t.lastSeq = max(t.lastSeq, seq)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("load archive of %s: %w", t.name, err)
		}
	}
	if err := st.Commit(ctx, &stale); err != nil {
		return nil, fmt.Errorf("delete expired deduplication entries: %w", err)
	}
	s.out = newDispatcher(s)
	if err := s.out.load(ctx); err != nil {
		return nil, err
	}
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.out.run(s.ctx) }()
	s.wg.Add(1)
	go func() { defer s.wg.Done(); sg.records.run(s.ctx) }()
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.sweepLoop() }()
	for arn, sub := range s.subs {
		if sub.rec.Confirmed && sub.rec.Replay.running() {
			s.startReplay(arn, sub.rec.Replay.Gen)
		}
	}
	return s, nil
}

// SetFunctions connects the function service, which starts after topics
// (functions may publish to topics).
func (s *Service) SetFunctions(f Invoker) {
	s.fnMu.Lock()
	s.cfg.Functions = f
	s.fnMu.Unlock()
}

// SetStreams connects the Firehose service, which starts after topics.
func (s *Service) SetStreams(f Streams) {
	s.fnMu.Lock()
	s.streams = f
	s.fnMu.Unlock()
}

func (s *Service) firehose() Streams {
	s.fnMu.RLock()
	defer s.fnMu.RUnlock()
	return s.streams
}

func (s *Service) functions() Invoker {
	s.fnMu.RLock()
	defer s.fnMu.RUnlock()
	return s.cfg.Functions
}

// Close stops deliveries and waits for them.
func (s *Service) Close() {
	s.cancel()
	s.wg.Wait()
}

func (s *Service) newTopic(rec topicRec) *topic {
	return &topic{
		name: rec.Name, arn: s.topicArn(rec.Name), fifo: strings.HasSuffix(rec.Name, ".fifo") && rec.Attributes["FifoTopic"] == "true",
		rec: rec, pending: map[string]chan struct{}{},
		deleteTurn: make(chan struct{}, 1),
	}
}

func (s *Service) topicArn(name string) string {
	return "arn:aws:sns:" + s.cfg.Region + ":" + s.cfg.AccountID + ":" + name
}

// topicName returns the name in a topic ARN of this region and account.
func (s *Service) topicName(arn string) (string, bool) {
	prefix := "arn:aws:sns:" + s.cfg.Region + ":" + s.cfg.AccountID + ":"
	if !strings.HasPrefix(arn, prefix) {
		return "", false
	}
	name := arn[len(prefix):]
	if name == "" || strings.Contains(name, ":") {
		return "", false
	}
	return name, true
}

// lookupTopic resolves a TopicArn parameter.
func (s *Service) lookupTopic(arn, param string) (*topic, error) {
	parts := strings.Split(arn, ":")
	if len(parts) < 6 {
		return nil, shortArn(param, len(parts))
	}
	if parts[0] != "arn" {
		return nil, invalidParam(param, "")
	}
	name, ok := s.topicName(arn)
	if !ok {
		// A topic of another region is a bad parameter, not a missing
		// topic: DeleteTopic must not report it deleted (recorded AWS
		// behaviour, LocalStack's test_cross_region_access).
		if len(parts) != 6 || parts[2] != "sns" || parts[3] != s.cfg.Region {
			return nil, invalidParam(param, "")
		}
		return nil, errTopicNotFound()
	}
	s.mu.RLock()
	t := s.topics[name]
	s.mu.RUnlock()
	if t == nil {
		return nil, errTopicNotFound()
	}
	return t, nil
}

func (s *Service) lookupSub(arn string) (*subscription, error) {
	switch n := strings.Count(arn, ":") + 1; {
	case n < 6:
		return nil, shortArn("SubscriptionArn", n)
	case n == 6 && strings.HasPrefix(arn, "arn:aws:sns:"):
		// A topic ARN, without the subscription's ID (recorded AWS
		// behaviour, LocalStack's test_unsubscribe_wrong_arn_format).
		return nil, invalidParam("SubscriptionId", "")
	case n != 7 || !strings.HasPrefix(arn, "arn:aws:sns:"):
		return nil, invalidParam("SubscriptionArn", "")
	}
	s.mu.RLock()
	sub := s.subs[arn]
	s.mu.RUnlock()
	if sub == nil {
		return nil, errSubNotFound()
	}
	return sub, nil
}

// shortArn is SNS's error for an ARN parameter of fewer than six
// colon-separated elements (recorded AWS behaviour, e.g. the JavaScript
// SDK examples' set-topic-attributes integration test).
func shortArn(param string, n int) error {
	return invalidParam(param, fmt.Sprintf("An ARN must have at least 6 elements, not %d", n))
}

func newID() string { return uuid.New() }

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // records are plain structs of strings and numbers
	}
	return b
}

// ------------------------------------------------------------------ topics

var topicNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// CreateTopic creates a topic, or returns the existing one of that name
// when the attributes and tags asked for match it. dataProtection is
// CreateTopic's DataProtectionPolicy ("" for none).
func (s *Service) CreateTopic(ctx context.Context, name string, attrs, tags map[string]string, dataProtection string) (string, error) {
	// FifoTopic is read as its check reads it, without regard to case.
	fifo := strings.EqualFold(attrs["FifoTopic"], "true")
	base := name
	if fifo {
		base = strings.TrimSuffix(name, ".fifo")
	}
	if name == "" || !topicNameRE.MatchString(base) || len(name) > 256 || fifo != strings.HasSuffix(name, ".fifo") {
		return "", invalidParam("Topic Name", "")
	}
	norm, err := validateTopicAttributes(attrs, fifo, true)
	if err != nil {
		return "", err
	}
	if err := validateTags(tags); err != nil {
		return "", err
	}
	if err := checkDataProtection(dataProtection); err != nil {
		return "", err
	}
	s.mu.Lock()
	if t := s.topics[name]; t != nil {
		rec := t.rec
		s.mu.Unlock()
		for k, v := range norm {
			if effectiveTopicAttr(rec.Attributes, t.fifo, k) != v {
				return "", invalidParam("Attributes", "Topic already exists with different attributes")
			}
		}
		for k, v := range tags {
			if cur, ok := rec.Tags[k]; !ok || cur != v {
				return "", invalidParam("Tags", "Topic already exists with different tags")
			}
		}
		return t.arn, nil
	}
	if len(s.topics) >= maxTopics || fifo && s.fifoTopics() >= maxFIFOTopics {
		s.mu.Unlock()
		return "", errorf(ErrTopicLimitExceeded, "Topic limit exceeded")
	}
	if fifo {
		norm["FifoTopic"] = "true"
	}
	rec := topicRec{Name: name, Attributes: norm, Tags: copyMap(tags), CreatedAt: s.clock.Now().Unix(), DataProtection: dataProtection}
	if archiveDays(&rec) > 0 {
		rec.ArchiveSince = s.clock.Now().UnixNano()
	}
	var b store.Batch
	b.PutRecord(nsTopic, name, mustJSON(rec))
	// Commit under the lock: topic creation is rare and must not race
	// with a second create or a delete of the same name.
	if err := s.st.Commit(ctx, &b); err != nil {
		s.mu.Unlock()
		return "", fmt.Errorf("create topic %s: %w", name, err)
	}
	t := s.newTopic(rec)
	s.topics[name] = t
	s.mu.Unlock()
	return t.arn, nil
}

// effectiveTopicAttr is a topic's value of an attribute: what was set, or
// the default GetTopicAttributes documents for it ("By default,
// SignatureVersion is set to 1", TracingConfig PassThrough, ...). A repeated
// CreateTopic that names a default is not asking for different attributes.
func effectiveTopicAttr(attrs map[string]string, fifo bool, name string) string {
	if v, ok := attrs[name]; ok {
		return v
	}
	switch name {
	case "SignatureVersion":
		return "1"
	case "TracingConfig":
		return "PassThrough"
	case "MaximumMessageSize":
		return strconv.Itoa(MaxMessageBytes)
	case "ContentBasedDeduplication":
		if fifo {
			return "false"
		}
	case "FifoThroughputScope":
		if fifo {
			return "Topic"
		}
	}
	return ""
}

// DeleteTopic deletes a topic and its subscriptions; deleting a missing
// topic succeeds, as in SNS.
func (s *Service) DeleteTopic(ctx context.Context, arn string) error {
	t, err := s.lookupTopic(arn, "TopicArn")
	if err != nil {
		if isKind(err, ErrNotFound) {
			return nil
		}
		return err
	}
	// One deletion of a topic at a time: a second waits for the first's
	// outcome (a client retrying a slow DeleteTopic), so that one that
	// fails or is cancelled cannot reopen the topic under another. The
	// wait ends with the caller's context too.
	select {
	case t.deleteTurn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-t.deleteTurn }()
	s.mu.Lock()
	if s.topics[t.name] != t {
		s.mu.Unlock()
		return nil
	}
	// "you can not delete a topic with an active message archive policy"
	// (SNS developer guide, "Amazon SNS message archiving for FIFO topic
	// owners"); SNS's words as clients record them.
	if archiveDays(&t.rec) > 0 {
		s.mu.Unlock()
		return errorf(ErrInvalidState, "Invalid state: Cannot delete a topic with an ArchivePolicy")
	}
	// Publishes and sweeps of the topic that are under way end first: a
	// commit of theirs that landed after this deletion would write or
	// delete a deduplication record of a topic created again under the
	// name. New ones wait for the outcome (t.deleting).
	resolved := make(chan struct{})
	t.mu.Lock()
	t.deleting = resolved
	inFlight := make([]chan struct{}, 0, len(t.pending))
	for _, ch := range t.pending {
		inFlight = append(inFlight, ch)
	}
	t.mu.Unlock()
	s.mu.Unlock()
	resolve := func(deleted bool) {
		t.mu.Lock()
		t.deleted, t.deleting = deleted, nil
		t.mu.Unlock()
		close(resolved)
	}
	for _, ch := range inFlight {
		select {
		case <-ch:
		case <-ctx.Done():
			resolve(false)
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if archiveDays(&t.rec) > 0 { // set meanwhile
		resolve(false)
		return errorf(ErrInvalidState, "Invalid state: Cannot delete a topic with an ArchivePolicy")
	}
	var b store.Batch
	b.DeleteRecord(nsTopic, t.name)
	dropArchive(&b, t.name)
	for _, sub := range t.subs {
		b.DeleteRecord(nsSub, sub.rec.ID)
		dropReplays(&b, sub.rec.ID)
	}
	var restorable []string
	for token, r := range s.restore {
		if r.Sub.Topic == t.name {
			b.DeleteRecord(nsRestore, token)
			restorable = append(restorable, token)
		}
	}
	// The whole range: records whose deletion a failed commit dropped
	// go too.
	b.DeleteRecordRange(nsDedup, t.name+"\x00", t.name+"\x01")
	if err := s.st.Commit(ctx, &b); err != nil {
		resolve(false)
		return fmt.Errorf("delete topic %s: %w", t.name, err)
	}
	for _, sub := range t.subs {
		s.dropSub(sub.arn)
	}
	for _, token := range restorable {
		delete(s.restore, token)
	}
	delete(s.topics, t.name)
	resolve(true)
	return nil
}

// ListTopics returns topic ARNs in name order, 100 per page.
func (s *Service) ListTopics(ctx context.Context, token string) ([]string, string, error) {
	s.mu.RLock()
	arns := make([]string, 0, len(s.topics))
	for _, t := range s.topics {
		arns = append(arns, t.arn)
	}
	s.mu.RUnlock()
	return page(arns, token)
}

const pageSize = 100

// page sorts keys and returns the page after token (the last key of the
// previous page, hex-encoded).
func page(keys []string, token string) ([]string, string, error) {
	return pageOf(keys, token, pageSize)
}

// pageOf is page with n keys a page.
func pageOf(keys []string, token string, n int) ([]string, string, error) {
	sort.Strings(keys)
	start := 0
	if token != "" {
		after, err := hex.DecodeString(token)
		if err != nil || len(after) == 0 {
			return nil, "", invalidParam("NextToken", "")
		}
		start = sort.SearchStrings(keys, string(after))
		if start < len(keys) && keys[start] == string(after) {
			start++
		}
	}
	end := start + n
	next := ""
	if end < len(keys) {
		next = hex.EncodeToString([]byte(keys[end-1]))
	} else {
		end = len(keys)
	}
	return keys[start:end], next, nil
}

// GetTopicAttributes returns every attribute of a topic.
func (s *Service) GetTopicAttributes(ctx context.Context, arn string) (map[string]string, error) {
	t, err := s.lookupTopic(arn, "TopicArn")
	if err != nil {
		return nil, err
	}
	s.dropExpiredPending(ctx)
	s.mu.RLock()
	rec := t.rec
	now := s.clock.Now()
	confirmed, pending := 0, 0
	for _, sub := range t.subs {
		if sub.rec.Confirmed {
			confirmed++
		} else {
			pending++
		}
	}
	s.mu.RUnlock()
	out := copyMap(rec.Attributes)
	out["TopicArn"] = t.arn
	out["Owner"] = s.cfg.AccountID
	if _, ok := out["Policy"]; !ok {
		out["Policy"] = defaultTopicPolicy(t.arn, s.cfg.AccountID)
	}
	if _, ok := out["DisplayName"]; !ok {
		out["DisplayName"] = ""
	}
	if _, ok := out["MaximumMessageSize"]; !ok {
		out["MaximumMessageSize"] = strconv.Itoa(MaxMessageBytes)
	}
	out["SubscriptionsConfirmed"] = fmt.Sprint(confirmed)
	out["SubscriptionsPending"] = fmt.Sprint(pending)
	out["SubscriptionsDeleted"] = fmt.Sprint(rec.Deleted)
	out["EffectiveDeliveryPolicy"] = effectiveTopicDeliveryPolicy(rec.Attributes["DeliveryPolicy"])
	if t.fifo {
		out["FifoTopic"] = "true"
		if _, ok := out["ContentBasedDeduplication"]; !ok {
			out["ContentBasedDeduplication"] = "false"
		}
		if _, ok := out["FifoThroughputScope"]; !ok {
			out["FifoThroughputScope"] = "Topic"
		}
		if archiveDays(&rec) > 0 {
			out["BeginningArchiveTime"] = beginningArchiveTime(&rec, now)
		}
	}
	return out, nil
}

// SetTopicAttributes sets one attribute.
func (s *Service) SetTopicAttributes(ctx context.Context, arn, name, value string) error {
	t, err := s.lookupTopic(arn, "TopicArn")
	if err != nil {
		return err
	}
	if name == "" {
		return invalidParam("AttributeName", "")
	}
	norm, err := validateTopicAttributes(map[string]string{name: value}, t.fifo, false)
	if err != nil {
		return err
	}
	if _, ok := norm["ArchivePolicy"]; ok && t.fifo {
		// No publish may number a message between the policy's change and
		// its write, nor write one into an archive being deleted.
		t.order.Lock()
		defer t.order.Unlock()
		if _, ok := t.settled(ctx); !ok {
			return ctx.Err()
		}
	}
	if v, ok := norm["MaximumMessageSize"]; ok {
		n, _ := strconv.Atoi(v)
		return s.updateTopicIf(ctx, t, func() error { return checkLargeTopic(n, t.subs, "") }, func(rec *topicRec) {
			rec.Attributes["MaximumMessageSize"] = v
		})
	}
	return s.updateTopic(ctx, t, func(rec *topicRec) {
		for k, v := range norm {
			if v == "" && k != "DisplayName" {
				delete(rec.Attributes, k)
			} else {
				rec.Attributes[k] = v
			}
		}
	})
}

// updateTopic writes a changed copy of a topic record, then swaps it in.
func (s *Service) updateTopic(ctx context.Context, t *topic, fn func(*topicRec)) error {
	return s.updateTopicIf(ctx, t, nil, fn)
}

// updateTopicIf is updateTopic after check, if given, passes under the
// same lock.
func (s *Service) updateTopicIf(ctx context.Context, t *topic, check func() error, fn func(*topicRec)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.topics[t.name] != t {
		return errTopicNotFound()
	}
	if check != nil {
		if err := check(); err != nil {
			return err
		}
	}
	rec := t.rec
	rec.Attributes = copyMap(rec.Attributes)
	rec.Tags = copyMap(rec.Tags)
	fn(&rec)
	var b store.Batch
	switch before, after := archiveDays(&t.rec) > 0, archiveDays(&rec) > 0; {
	case after && !before:
		rec.ArchiveSince = s.clock.Now().UnixNano()
	case before && !after:
		// "When you deactivate a message archive policy, Amazon SNS
		// deletes all of the archived messages" (SNS developer guide).
		rec.ArchiveSince = 0
		dropArchive(&b, rec.Name)
	}
	b.PutRecord(nsTopic, rec.Name, mustJSON(rec))
	if err := s.st.Commit(ctx, &b); err != nil {
		return fmt.Errorf("update topic %s: %w", rec.Name, err)
	}
	policyChanged := rec.Attributes["DeliveryPolicy"] != t.rec.Attributes["DeliveryPolicy"]
	t.rec = rec
	if policyChanged {
		// The subscriptions' effective retry policies derive from it.
		for i, sub := range t.subs {
			if ns, err := s.newSubscription(t, sub.rec); err == nil {
				s.replaceSub(t, i, ns)
			}
		}
	}
	return nil
}

func isKind(err, kind error) bool {
	e, ok := err.(*Error)
	return ok && e.Kind == kind
}

// ----------------------------------------------------------------- tags

// TagResource adds or replaces tags of a topic.
func (s *Service) TagResource(ctx context.Context, arn string, tags map[string]string) error {
	t, err := s.lookupTagged(arn)
	if err != nil {
		return err
	}
	if err := validateTags(tags); err != nil {
		return err
	}
	s.mu.RLock()
	n := len(t.rec.Tags)
	for k := range tags {
		if _, ok := t.rec.Tags[k]; !ok {
			n++
		}
	}
	s.mu.RUnlock()
	if n > 50 {
		return errorf(ErrTagLimitExceeded, "Could not complete request: tag quota of per resource exceeded")
	}
	return s.updateTopic(ctx, t, func(rec *topicRec) {
		for k, v := range tags {
			rec.Tags[k] = v
		}
	})
}

// UntagResource removes tags of a topic.
func (s *Service) UntagResource(ctx context.Context, arn string, keys []string) error {
	t, err := s.lookupTagged(arn)
	if err != nil {
		return err
	}
	return s.updateTopic(ctx, t, func(rec *topicRec) {
		for _, k := range keys {
			delete(rec.Tags, k)
		}
	})
}

// ListTagsForResource returns a topic's tags.
func (s *Service) ListTagsForResource(ctx context.Context, arn string) (map[string]string, error) {
	t, err := s.lookupTagged(arn)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return copyMap(t.rec.Tags), nil
}

func (s *Service) lookupTagged(arn string) (*topic, error) {
	t, err := s.lookupTopic(arn, "ResourceArn")
	if err != nil && isKind(err, ErrNotFound) {
		return nil, errorf(ErrResourceNotFound, "Resource does not exist")
	}
	return t, err
}

func validateTags(tags map[string]string) error {
	if len(tags) > 50 {
		return errorf(ErrTagLimitExceeded, "Could not complete request: tag quota of per resource exceeded")
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 {
			return invalidParam("Tags", "Tag keys must be between 1 and 128 characters in length")
		}
		if len(v) > 256 {
			return invalidParam("Tags", "Tag values must be between 0 and 256 characters in length")
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return invalidParam("Tags", "Tag keys cannot start with 'aws:'")
		}
	}
	return nil
}

// --------------------------------------------------------------- permissions

type policyDoc struct {
	Version   string           `json:"Version"`
	ID        string           `json:"Id"`
	Statement []map[string]any `json:"Statement"`
}

// AddPermission adds a statement labelled label to the topic's access
// policy, allowing the accounts the actions.
func (s *Service) AddPermission(ctx context.Context, arn, label string, accounts, actions []string) error {
	t, err := s.lookupTopic(arn, "TopicArn")
	if err != nil {
		return err
	}
	if len(accounts) == 0 {
		return invalidParam("AWSAccountId", "no value for required parameter")
	}
	if len(actions) == 0 {
		return invalidParam("ActionName", "no value for required parameter")
	}
	var principals, acts []any
	for _, a := range accounts {
		principals = append(principals, "arn:aws:iam::"+a+":root")
	}
	for _, a := range actions {
		if !snsActions[a] {
			return errorf(ErrInvalidParameter, "Invalid parameter: Policy statement action out of service scope!")
		}
		acts = append(acts, "SNS:"+a)
	}
	stmt := map[string]any{"Sid": label, "Effect": "Allow", "Resource": t.arn}
	if len(principals) == 1 {
		stmt["Principal"] = map[string]any{"AWS": principals[0]}
	} else {
		stmt["Principal"] = map[string]any{"AWS": principals}
	}
	if len(acts) == 1 {
		stmt["Action"] = acts[0]
	} else {
		stmt["Action"] = acts
	}
	var conflict bool
	err = s.updateTopic(ctx, t, func(rec *topicRec) {
		doc := s.policyOf(t, rec)
		for _, st := range doc.Statement {
			if st["Sid"] == label {
				conflict = true
				return
			}
		}
		doc.Statement = append(doc.Statement, stmt)
		rec.Attributes["Policy"] = string(mustJSON(doc))
	})
	if conflict {
		return errorf(ErrInvalidParameter, "Invalid parameter: Statement already exists")
	}
	return err
}

// RemovePermission removes the statement labelled label, if any.
func (s *Service) RemovePermission(ctx context.Context, arn, label string) error {
	t, err := s.lookupTopic(arn, "TopicArn")
	if err != nil {
		return err
	}
	return s.updateTopic(ctx, t, func(rec *topicRec) {
		doc := s.policyOf(t, rec)
		kept := doc.Statement[:0]
		for _, st := range doc.Statement {
			if st["Sid"] != label {
				kept = append(kept, st)
			}
		}
		doc.Statement = kept
		rec.Attributes["Policy"] = string(mustJSON(doc))
	})
}

func (s *Service) policyOf(t *topic, rec *topicRec) policyDoc {
	raw := rec.Attributes["Policy"]
	if raw == "" {
		raw = defaultTopicPolicy(t.arn, s.cfg.AccountID)
	}
	var doc policyDoc
	if json.Unmarshal([]byte(raw), &doc) != nil {
		doc = policyDoc{Version: "2008-10-17", ID: "__default_policy_ID"}
	}
	return doc
}

var snsActions = map[string]bool{
	"GetTopicAttributes": true, "SetTopicAttributes": true, "AddPermission": true, "RemovePermission": true,
	"DeleteTopic": true, "Subscribe": true, "ListSubscriptionsByTopic": true, "Publish": true, "Receive": true,
}
