// Package store defines forkline's persistence interfaces and the records
// they hold. Backends live in sibling packages (pebblestore is the embedded
// default); storetest is the conformance suite every backend passes.
//
// Invariants every backend keeps:
//   - Commit is atomic and durable: when it returns nil, every operation of
//     the batch is on stable storage and survives a crash of the process or
//     the machine; when it returns an error, none of them is visible.
//   - Concurrent Commits may share one sync (group commit).
//   - Message sequence numbers are never reused within a queue: the high-water
//     mark written with PutMessage survives the deletion of every message.
//   - Reads observe every batch whose Commit has returned.
package store

import (
	"context"
	"errors"
)

// Sentinel errors returned by backends.
var (
	// ErrNotFound: the record asked for does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
	// ErrCorrupt: a stored record could not be decoded.
	ErrCorrupt = errors.New("store: corrupt record")
)

// Queues persists queues, their messages and the bookkeeping around them.
// Implementations are safe for concurrent use.
type Queues interface {
	// LoadQueues returns every stored queue.
	LoadQueues(ctx context.Context) ([]Queue, error)
	// ScanStates calls fn for each message of the queue in sequence order
	// with its small state record (no body). It returns the queue's
	// high-water mark: at least the largest sequence number ever written
	// (a store may keep it ahead), so that numbers are never reused.
	ScanStates(ctx context.Context, queueID uint64, fn func(seq uint64, st State) error) (uint64, error)
	// GetMessage returns the full message with the given sequence number,
	// or ErrNotFound.
	GetMessage(ctx context.Context, queueID, seq uint64) (Message, error)
	// GetContent returns a message without its state (State is zero), or
	// ErrNotFound: one read where the caller knows the state.
	GetContent(ctx context.Context, queueID, seq uint64) (Message, error)
	// ReadMessages reads several messages of a queue at once (ascending
	// sequence numbers read fastest). withState[i] asks for message i's
	// state too; otherwise its State is zero. found[i] reports whether
	// message i exists. When no state is asked for, a backend may answer
	// from a view of the queue up to a second old that holds every
	// message asked for (content never changes): callers ask only for
	// messages that their index holds.
	ReadMessages(ctx context.Context, queueID uint64, seqs []uint64, withState []bool) (msgs []Message, found []bool, err error)
	// GetState returns the state of one message, or ErrNotFound.
	GetState(ctx context.Context, queueID, seq uint64) (State, error)
	// LoadDedup returns the stored FIFO deduplication entries of a queue.
	LoadDedup(ctx context.Context, queueID uint64) ([]Dedup, error)
	// LoadMoveTasks returns every stored message move task.
	LoadMoveTasks(ctx context.Context) ([]MoveTask, error)
	// ScanRefs calls fn, in sequence order, for each message of the
	// queue whose body is shared (Message.Shared), with the shared body's
	// ID.
	ScanRefs(ctx context.Context, queueID uint64, fn func(seq, bodyID uint64) error) error
	// ScanShared calls fn with the ID of every stored shared body, in
	// ascending order.
	ScanShared(ctx context.Context, fn func(bodyID uint64) error) error
	// Commit applies a batch atomically and durably.
	Commit(ctx context.Context, b *Batch) error
}

// Records is a durable, ordered key-value space divided into namespaces,
// for the services whose records are small documents (topics and
// subscriptions, functions, state machines, stacks): values are opaque
// bytes (JSON by convention), keys sort bytewise within a namespace.
// Implementations are safe for concurrent use.
type Records interface {
	// GetRecord returns the value stored under key, or ErrNotFound.
	GetRecord(ctx context.Context, ns, key string) ([]byte, error)
	// ScanRecords calls fn for each record of the namespace whose key
	// starts with prefix, in key order. The value passed to fn is only
	// valid during the call.
	ScanRecords(ctx context.Context, ns, prefix string, fn func(key string, val []byte) error) error
	// ScanRecordRange calls fn for each record of the namespace whose key
	// k has from <= k < to (to "": no upper bound), in key order. The
	// value passed to fn is only valid during the call.
	ScanRecordRange(ctx context.Context, ns, from, to string, fn func(key string, val []byte) error) error
	// Commit applies a batch atomically and durably.
	Commit(ctx context.Context, b *Batch) error
}

// Store is everything a backend provides; one batch may mix operations of
// every kind, so that a change spanning services is one durable write.
type Store interface {
	Queues
	Records
	Close() error
}

// Queue is the stored description of one queue.
type Queue struct {
	ID   uint64 `json:"id"`
	Name string `json:"name"`
	// Attributes holds the settable attributes in their canonical string
	// form, exactly as GetQueueAttributes reports them.
	Attributes map[string]string `json:"attributes"`
	Tags       map[string]string `json:"tags,omitempty"`
	// CreatedAt and ModifiedAt are Unix seconds.
	CreatedAt  int64 `json:"createdAt"`
	ModifiedAt int64 `json:"modifiedAt"`
	// LastPurgeAt is Unix nanoseconds of the last PurgeQueue, for the
	// 60-second rule.
	LastPurgeAt int64 `json:"lastPurgeAt,omitempty"`
}

// MessageAttribute is one user message attribute.
type MessageAttribute struct {
	Name        string
	DataType    string
	StringValue string
	BinaryValue []byte
}

// Message is a stored message: its immutable content plus its state.
type Message struct {
	Seq     uint64
	ID      string
	Body    string
	Attrs   []MessageAttribute
	MD5Body string
	MD5Attr string
	// SenderID is the access key or account of the sender.
	SenderID string
	// TraceHeader is the AWSTraceHeader system attribute, if sent.
	TraceHeader string
	GroupID     string
	DedupID     string
	// DLQSourceArn is set when the message was moved by a redrive policy.
	DLQSourceArn string
	// Finish is 0 when Body is final. Otherwise Body is completed on
	// every read by the finisher of that kind (FinishSNSSignature), and
	// MD5Body is empty: the MD5 is of the finished body.
	Finish uint8
	// Shared, when written, names a shared body (Batch.PutShared) that
	// several messages hold once: the message's body is its Head, then
	// Body, then its Tail. The backend keeps a reference record with the
	// message (ScanRefs) that every removal of the message removes too.
	// Reads return the whole body with Shared zero, or ErrNotFound (not
	// found) when the shared body is gone; keeping the shared body while
	// messages refer to it is the caller's part.
	Shared uint64
	State  State
}

// SharedBody is the part of a body that several messages share: a
// message's body is Head + its own Body + Tail.
type SharedBody struct {
	ID         uint64
	Head, Tail string
}

// Finishers of message bodies (Message.Finish).
const (
	// FinishSNSSignature: an SNS notification whose Signature is a
	// placeholder of the signature's length, signed when read.
	FinishSNSSignature uint8 = 1
)

// State is the part of a message that changes on receive.
type State struct {
	// SentAt is Unix milliseconds of the send (or of the move into a FIFO
	// dead-letter queue, which resets it as AWS does).
	SentAt int64
	// VisibleAt is Unix nanoseconds from which the message can be received.
	VisibleAt int64
	// FirstReceiveAt is Unix milliseconds of the first receive, or 0.
	FirstReceiveAt int64
	// ReceiveCount counts receives.
	ReceiveCount uint32
	// Nonce identifies the latest receipt handle; 0 before any receive.
	Nonce uint64
	// GroupID duplicates the message group for rebuilding FIFO indexes
	// without reading bodies.
	GroupID string
	// ReceivedAt is Unix milliseconds of the latest receive, or 0 (never
	// received, or stored before it was recorded): the 12-hour limit on a
	// message's visibility timeout counts from it.
	ReceivedAt int64
}

// Dedup is one FIFO deduplication entry.
type Dedup struct {
	Key       string
	MessageID string
	Seq       uint64
	// ExpiresAt is Unix nanoseconds.
	ExpiresAt int64
}

// MoveTask is a stored message move task.
type MoveTask struct {
	Handle           string `json:"handle"`
	SourceArn        string `json:"sourceArn"`
	DestinationArn   string `json:"destinationArn,omitempty"`
	MaxPerSecond     int    `json:"maxPerSecond,omitempty"`
	Status           string `json:"status"`
	Moved            int64  `json:"moved"`
	ToMove           int64  `json:"toMove"`
	FailureReason    string `json:"failureReason,omitempty"`
	StartedTimestamp int64  `json:"startedTimestamp"`
	SourceQueueID    uint64 `json:"sourceQueueId"`
	LastSeq          uint64 `json:"lastSeq"`
}

// OpKind names a batch operation.
type OpKind uint8

// Batch operation kinds.
const (
	OpPutQueue          OpKind = iota + 1 // Queue
	OpDeleteQueue                         // Queue (ID and Name): the queue and everything in it
	OpPutMessage                          // QueueID, Message (content and state); raises the high-water mark
	OpPutState                            // QueueID, Seq, State; Ref: the message's shared body, if it has one (required: a store may find the message's content through it)
	OpDeleteMessage                       // QueueID, Seq; Ref: the message's shared body, if it has one
	OpPurge                               // QueueID, Seq: delete every message with sequence <= Seq
	OpPutDedup                            // QueueID, Dedup
	OpDeleteDedup                         // QueueID, Dedup.Key
	OpPutMoveTask                         // MoveTask
	OpPutRecord                           // NS, Key, Value
	OpDeleteRecord                        // NS, Key
	OpPutShared                           // Body
	OpDeleteShared                        // Seq: the shared body's ID
	OpDeleteRecordRange                   // NS, Key (from, inclusive), Value (to, exclusive): every record between
)

// Op is one operation of a batch.
type Op struct {
	Kind    OpKind
	QueueID uint64
	Seq     uint64
	Queue   *Queue
	Message *Message
	State   State
	Dedup   Dedup
	Task    *MoveTask
	Body    *SharedBody
	// Ref is the shared body of a message whose state is rewritten or
	// which is deleted (0: none): a store may keep the reference with the
	// state, and find the message's content through it.
	Ref   uint64
	NS    string
	Key   string
	Value []byte
}

// Batch is an ordered list of operations committed together.
type Batch struct {
	Ops []Op
}

// PutQueue adds a queue write.
func (b *Batch) PutQueue(q Queue) {
	b.Ops = append(b.Ops, Op{Kind: OpPutQueue, QueueID: q.ID, Queue: &q})
}

// DeleteQueue removes a queue with all its messages and entries.
func (b *Batch) DeleteQueue(q Queue) {
	b.Ops = append(b.Ops, Op{Kind: OpDeleteQueue, QueueID: q.ID, Queue: &q})
}

// PutMessage writes a whole message.
func (b *Batch) PutMessage(queueID uint64, m *Message) {
	b.Ops = append(b.Ops, Op{Kind: OpPutMessage, QueueID: queueID, Seq: m.Seq, Message: m})
}

// PutShared writes a shared body, before or in the same batch as the
// messages that refer to it.
func (b *Batch) PutShared(sb SharedBody) {
	b.Ops = append(b.Ops, Op{Kind: OpPutShared, Seq: sb.ID, Body: &sb})
}

// DeleteShared removes a shared body that no message refers to any more.
func (b *Batch) DeleteShared(id uint64) {
	b.Ops = append(b.Ops, Op{Kind: OpDeleteShared, Seq: id})
}

// PutState rewrites the state of a message.
func (b *Batch) PutState(queueID, seq uint64, st State) {
	b.Ops = append(b.Ops, Op{Kind: OpPutState, QueueID: queueID, Seq: seq, State: st})
}

// DeleteMessage removes a message.
func (b *Batch) DeleteMessage(queueID, seq uint64) {
	b.Ops = append(b.Ops, Op{Kind: OpDeleteMessage, QueueID: queueID, Seq: seq})
}

// Purge removes every message of a queue up to and including seq.
func (b *Batch) Purge(queueID, seq uint64) {
	b.Ops = append(b.Ops, Op{Kind: OpPurge, QueueID: queueID, Seq: seq})
}

// PutDedup writes a deduplication entry.
func (b *Batch) PutDedup(queueID uint64, d Dedup) {
	b.Ops = append(b.Ops, Op{Kind: OpPutDedup, QueueID: queueID, Dedup: d})
}

// DeleteDedup removes a deduplication entry.
func (b *Batch) DeleteDedup(queueID uint64, key string) {
	b.Ops = append(b.Ops, Op{Kind: OpDeleteDedup, QueueID: queueID, Dedup: Dedup{Key: key}})
}

// PutMoveTask writes a move task.
func (b *Batch) PutMoveTask(t MoveTask) { b.Ops = append(b.Ops, Op{Kind: OpPutMoveTask, Task: &t}) }

// PutRecord writes a record. Namespaces are non-empty and hold no NUL byte.
func (b *Batch) PutRecord(ns, key string, val []byte) {
	b.Ops = append(b.Ops, Op{Kind: OpPutRecord, NS: ns, Key: key, Value: val})
}

// DeleteRecord removes a record; deleting an absent record is no error.
func (b *Batch) DeleteRecord(ns, key string) {
	b.Ops = append(b.Ops, Op{Kind: OpDeleteRecord, NS: ns, Key: key})
}

// DeleteRecordRange removes every record of the namespace whose key k has
// from <= k < to; to must be above from.
func (b *Batch) DeleteRecordRange(ns, from, to string) {
	b.Ops = append(b.Ops, Op{Kind: OpDeleteRecordRange, NS: ns, Key: from, Value: []byte(to)})
}

// Len reports the number of operations.
func (b *Batch) Len() int { return len(b.Ops) }
