package queue

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/forkline/forkline/internal/store"
)

// SendInput is one message to send.
type SendInput struct {
	// ID is the batch entry Id (batches only).
	ID           string
	Body         string
	DelaySeconds *int
	Attributes   []store.MessageAttribute
	// SystemAttributes may hold only AWSTraceHeader.
	SystemAttributes []store.MessageAttribute
	GroupID          string
	DedupID          string
	// hasGroupID/hasDedupID tell an empty value from an absent one.
	HasGroupID bool
	HasDedupID bool
	SenderID   string
	// BodyChecked tells that the caller has checked the body with
	// ValidBody (a topic fanning one message out to many queues checks it
	// once); MD5Body, when set, is the body's MD5OfBody.
	BodyChecked bool
	MD5Body     string
	// Finish, when not 0, stores Body unfinished: the finisher of that
	// kind (SetFinisher) completes it on every read, and the MD5s are of
	// the finished body. The finished body must have Body's length.
	Finish uint8
	// Shared, when set, holds the head and tail of the body, stored once
	// for every copy that names the same SharedBody: the message's body
	// is Shared.Head + Body + Shared.Tail.
	Shared *SharedBody
	// AttrsChecked, when set, is what CheckAttributes found for
	// Attributes (a topic fanning one message out checks it once).
	AttrsChecked *AttrCheck
}

// AttrCheck is what CheckAttributes finds for valid message attributes:
// their size, as counted against the message size limit, and their MD5.
type AttrCheck struct {
	Size int
	MD5  string
}

// CheckAttributes checks message attributes as a send does and returns
// their size and MD5.
func CheckAttributes(attrs []store.MessageAttribute) (*AttrCheck, error) {
	size, err := validateAttributes(attrs, "MessageAttributes")
	if err != nil {
		return nil, err
	}
	return &AttrCheck{Size: size, MD5: MD5OfAttributes(attrs)}, nil
}

// bodyLen is the length of the whole body.
func (in *SendInput) bodyLen() int {
	if in.Shared != nil {
		return len(in.Shared.Head) + len(in.Body) + len(in.Shared.Tail)
	}
	return len(in.Body)
}

// wholeBody returns the whole body.
func (in *SendInput) wholeBody() string {
	if in.Shared != nil {
		return in.Shared.Head + in.Body + in.Shared.Tail
	}
	return in.Body
}

// rawSize is the length of a message's body and attributes as sent,
// whether or not they are valid.
func rawSize(in *SendInput) int {
	n := len(in.wholeBody())
	for _, a := range in.Attributes {
		n += len(a.Name) + len(a.DataType) + len(a.StringValue) + len(a.BinaryValue)
	}
	return n
}

// SendResult is the answer for one sent message.
type SendResult struct {
	ID             string // batch entry Id
	MessageID      string
	MD5Body        string
	MD5Attr        string
	MD5SysAttr     string
	SequenceNumber string
	// Err is set for a failed batch entry.
	Err error
}

// sendPrep is a validated message waiting for its sequence number.
type sendPrep struct {
	in      *SendInput
	res     *SendResult
	msg     *store.Message
	delay   int
	size    int
	dedup   string // FIFO deduplication key, "" for standard queues
	isDup   bool
	visible int64
	shared  uint64 // the shared body's ID, once referenced
}

// SendMessage sends one message.
func (s *Service) SendMessage(ctx context.Context, name string, in SendInput) (SendResult, error) {
	q, err := s.lookup(name)
	if err != nil {
		return SendResult{}, err
	}
	res, err := s.send(ctx, q, []SendInput{in}, false)
	if err != nil {
		return SendResult{}, err
	}
	if res[0].Err != nil {
		return SendResult{}, res[0].Err
	}
	return res[0], nil
}

// SendMessageBatch sends up to 10 messages; entries fail one by one.
func (s *Service) SendMessageBatch(ctx context.Context, name string, in []SendInput) ([]SendResult, error) {
	q, err := s.lookup(name)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(in))
	for i := range in {
		ids[i] = in[i].ID
	}
	if err := checkBatchIDs("SendMessageBatchRequestEntry", ids); err != nil {
		return nil, err
	}
	// On a FIFO queue an entry without its group, or without the
	// deduplication ID the queue needs, fails the whole batch, as SQS
	// answers (recorded in LocalStack's AWS-validated snapshots,
	// test_send_batch_missing_message_group_id_for_fifo_queue and
	// test_send_batch_missing_deduplication_id_for_fifo_queue).
	q.mu.Lock()
	fifo, contentDedup := q.fifo, q.set.contentDedup
	q.mu.Unlock()
	if fifo {
		for i := range in {
			if !in[i].HasGroupID {
				return nil, errorf(ErrInvalidParameterValue, "The request must contain the parameter MessageGroupId.")
			}
			if !in[i].HasDedupID && !contentDedup {
				return nil, errorf(ErrInvalidParameterValue, "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
			}
		}
	}
	return s.send(ctx, q, in, true)
}

// prepSlot holds one validated send: beginSend allocates a send's slots
// at once rather than three objects per message (a topic's fan-out sends
// to many queues per publish).
type prepSlot struct {
	p   sendPrep
	res SendResult
	msg store.Message
}

func (s *Service) validateSend(q *queue, in *SendInput, set settings, slot *prepSlot) (*sendPrep, error) {
	if in.bodyLen() == 0 {
		return nil, missing("MessageBody")
	}
	if !in.BodyChecked {
		if err := checkChars(in.wholeBody()); err != nil {
			return nil, err
		}
	}
	attrs := in.AttrsChecked
	if attrs == nil {
		var err error
		if attrs, err = CheckAttributes(in.Attributes); err != nil {
			return nil, err
		}
	}
	attrSize := attrs.Size
	trace := ""
	for _, a := range in.SystemAttributes {
		if a.Name != "AWSTraceHeader" {
			return nil, errorf(ErrInvalidParameterValue, "Message system attribute name '%s' is invalid.", a.Name)
		}
		if a.DataType != "String" || a.StringValue == "" {
			return nil, errorf(ErrInvalidParameterValue, "Message system attribute 'AWSTraceHeader' must be of type String with a non-empty value.")
		}
		// "its value must be a correctly formatted X-Ray trace header
		// string" (API reference, SendMessage).
		if !ValidTraceHeader(a.StringValue) {
			return nil, errorf(ErrInvalidParameterValue, "Message system attribute 'AWSTraceHeader' must be a correctly formatted X-Ray trace header string, such as Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1.")
		}
		trace = a.StringValue
	}
	size := in.bodyLen() + attrSize
	if size > set.maxSize {
		return nil, errorf(ErrInvalidParameterValue, "One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", set.maxSize)
	}
	delay := set.delay
	if in.DelaySeconds != nil {
		d := *in.DelaySeconds
		if d < 0 || d > 900 {
			return nil, invalidValue("DelaySeconds", d, "DelaySeconds must be >= 0 and <= 900.")
		}
		// A FIFO queue takes no per-message delay (SQS developer
		// guide, "Amazon SQS delay queues"); SQS accepts an explicit 0,
		// which some SDKs' models send for every message, as no delay
		// asked for.
		switch {
		case q.fifo && d != 0:
			return nil, invalidValue("DelaySeconds", d, "The request include parameter that is not valid for this queue type.")
		case !q.fifo:
			delay = d
		}
	}
	p := &slot.p
	*p = sendPrep{in: in, delay: delay, size: size}
	if in.HasGroupID {
		if in.GroupID == "" {
			return nil, invalidValue("MessageGroupId", in.GroupID, "MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length.")
		}
		if err := checkToken("MessageGroupId", in.GroupID); err != nil {
			return nil, err
		}
	}
	if in.HasDedupID {
		if !q.fifo {
			return nil, invalidValue("MessageDeduplicationId", in.DedupID, "The request includes a parameter that is not valid for this queue type.")
		}
		if in.DedupID == "" {
			return nil, invalidValue("MessageDeduplicationId", in.DedupID, "MessageDeduplicationId can only include alphanumeric and punctuation characters. 1 to 128 in length.")
		}
		if err := checkToken("MessageDeduplicationId", in.DedupID); err != nil {
			return nil, err
		}
	}
	// Cloned: values of a parsed query-protocol form share the request's
	// buffer, which the deduplication window and the FIFO group index
	// would otherwise keep alive.
	dedupID := strings.Clone(in.DedupID)
	groupID := strings.Clone(in.GroupID)
	if q.fifo {
		if !in.HasGroupID {
			return nil, missing("MessageGroupId")
		}
		if !in.HasDedupID {
			if !set.contentDedup {
				return nil, errorf(ErrInvalidParameterValue, "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
			}
			// Content-based deduplication hashes the body only
			// (FIFO developer guide).
			sum := sha256.Sum256([]byte(in.wholeBody()))
			dedupID = hex.EncodeToString(sum[:])
		}
		p.dedup = dedupID
		if set.dedupByGroup {
			p.dedup = groupID + "\x00" + dedupID
		}
	}
	if in.MD5Body == "" && in.Finish == 0 {
		in.MD5Body = MD5OfBody(in.wholeBody())
	}
	p.msg = &slot.msg
	*p.msg = store.Message{
		ID: NewMessageID(), Body: in.Body, Attrs: in.Attributes,
		MD5Body: in.MD5Body, MD5Attr: attrs.MD5,
		SenderID: in.SenderID, TraceHeader: trace, GroupID: groupID, Finish: in.Finish,
	}
	if in.Finish != 0 {
		p.msg.MD5Body = ""
	}
	if q.fifo {
		p.msg.DedupID = dedupID
	}
	p.res = &slot.res
	*p.res = SendResult{
		ID: in.ID, MessageID: p.msg.ID, MD5Body: p.msg.MD5Body, MD5Attr: p.msg.MD5Attr,
		MD5SysAttr: MD5OfAttributes(in.SystemAttributes),
	}
	return p, nil
}

func sequenceNumber(seq uint64) string {
	// 20 digits, increasing within the queue, like SQS's.
	return strconv.FormatUint(10_000_000_000_000_000_000+seq, 10)
}

func (s *Service) send(ctx context.Context, q *queue, in []SendInput, batch bool) ([]SendResult, error) {
	var b store.Batch
	qs, err := s.beginSend(ctx, q, in, batch, &b, s.clock.Now())
	if err != nil {
		return nil, err
	}
	err = s.st.Commit(ctx, &b)
	s.endSend(qs, err)
	if err != nil {
		return nil, fmt.Errorf("send to queue %d: %w", q.rec.ID, err)
	}
	return qs.results, nil
}

// queueSend is one queue's share of a send whose store operations are in a
// batch being committed.
type queueSend struct {
	q       *queue
	in      []SendInput
	results []SendResult
	preps   []*sendPrep
	mine    []string      // deduplication keys this send registered as pending
	done    chan struct{} // closed when the commit ends, for waiting duplicates
	nowMs   int64
}

// beginSend validates and numbers the messages and adds their operations to
// b. On success it returns holding q.op for reading, and the caller must
// commit b and call endSend with the commit's error. Entries that fail
// validation have their error in the results and no operation in b.
func (s *Service) beginSend(ctx context.Context, q *queue, in []SendInput, batch bool, b *store.Batch, now time.Time) (*queueSend, error) {
	return s.beginSendIn(ctx, q, in, batch, b, now, nil)
}

// sendSpace is the memory of a send to several queues, allocated at once
// (BeginSends): a topic's fan-out sends to many queues per publish.
type sendSpace struct {
	sends   []queueSend
	slots   []prepSlot
	results []SendResult
	preps   []*sendPrep
}

// take returns the next queue's share of the space, for n messages.
func (sp *sendSpace) take(n int) (*queueSend, []prepSlot) {
	qs := &sp.sends[0]
	sp.sends = sp.sends[1:]
	qs.results, sp.results = sp.results[:n:n], sp.results[n:]
	qs.preps, sp.preps = sp.preps[:0:n], sp.preps[n:]
	slots := sp.slots[:n:n]
	sp.slots = sp.slots[n:]
	return qs, slots
}

// beginSendIn is beginSend with its memory taken from sp, when not nil.
func (s *Service) beginSendIn(ctx context.Context, q *queue, in []SendInput, batch bool, b *store.Batch, now time.Time, sp *sendSpace) (*queueSend, error) {
	q.op.RLock()
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		q.op.RUnlock()
		return nil, errNoQueue()
	}
	set := q.set
	q.mu.Unlock()

	var qs *queueSend
	var slots []prepSlot
	if sp != nil {
		qs, slots = sp.take(len(in))
		qs.q, qs.in = q, in
	} else {
		qs = &queueSend{q: q, in: in, results: make([]SendResult, len(in)), preps: make([]*sendPrep, 0, len(in))}
		slots = make([]prepSlot, len(in))
	}
	total := 0
	for i := range in {
		p, err := s.validateSend(q, &in[i], set, &slots[i])
		if err != nil {
			qs.results[i] = SendResult{ID: in[i].ID, Err: err}
			// The batch's total counts every entry, the ones that fail
			// on their own too (SQS API reference, SendMessageBatch).
			total += rawSize(&in[i])
			continue
		}
		total += p.size
		qs.preps = append(qs.preps, p)
	}
	if batch && total > MaxMessageSizeLimit {
		q.op.RUnlock()
		return nil, errorf(ErrBatchRequestTooLong, "Batch requests cannot be longer than %d bytes. You have sent %d bytes.", MaxMessageSizeLimit, total)
	}

	nowNs, nowMs := now.UnixNano(), now.UnixMilli()
	qs.nowMs = nowMs
	// Wait until no send with one of our deduplication keys is being
	// committed: a duplicate is only answered once its original is durable.
	for {
		q.mu.Lock()
		if q.deleted {
			q.mu.Unlock()
			q.op.RUnlock()
			return nil, errNoQueue()
		}
		var wait chan struct{}
		for _, p := range qs.preps {
			if ch, ok := q.dedupPending[p.dedup]; ok && p.dedup != "" {
				wait = ch
				break
			}
		}
		if wait == nil {
			break // q.mu held
		}
		q.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			q.op.RUnlock()
			return nil, ctx.Err()
		}
	}
	if q.fifo {
		// Send times follow sequence numbers, which are given out under
		// q.mu: a send that read the clock earlier but came second must
		// not become visible, with a delay, before the one ahead of it.
		if nowNs < q.lastSendNs {
			nowNs = q.lastSendNs
			nowMs = time.Unix(0, nowNs).UnixMilli()
			qs.nowMs = nowMs
		}
		q.lastSendNs = nowNs
	}
	for _, k := range q.expireDedup(nowNs, sendExpiry) {
		b.DeleteDedup(q.rec.ID, k)
		// A send that writes this key again must commit after this
		// deletion, or the deletion would remove its entry from the
		// store: it waits, as for a duplicate being committed.
		if qs.done == nil {
			qs.done = make(chan struct{})
		}
		q.dedupPending[k] = qs.done
		qs.mine = append(qs.mine, k)
	}
	for _, id := range q.expireAttempts(nowNs, sendExpiry) {
		b.DeleteRecord(nsAttempt, attemptKey(q.rec.ID, id))
	}
	for _, p := range qs.preps {
		if p.dedup != "" {
			// An entry past its window may wait for the sweeper.
			if d, ok := q.dedup.Get(p.dedup); ok && d.ExpiresAt > nowNs {
				// A duplicate is accepted but not delivered; the
				// answer names the original message.
				p.isDup = true
				p.res.MessageID = d.MessageID
				p.res.SequenceNumber = sequenceNumber(d.Seq)
				continue
			}
		}
		seq := q.nextSeq
		q.nextSeq++
		p.msg.Seq = seq
		p.visible = nowNs + int64(p.delay)*int64(time.Second)
		p.msg.State = store.State{SentAt: nowMs, VisibleAt: p.visible, GroupID: p.msg.GroupID}
		if q.fifo {
			p.res.SequenceNumber = sequenceNumber(seq)
			q.idx.beginSend(p.msg.GroupID, seq)
			d := store.Dedup{Key: p.dedup, MessageID: p.msg.ID, Seq: seq, ExpiresAt: nowNs + int64(dedupWindow)}
			q.dedup.Set(p.dedup, d)
			q.dedupExp = append(q.dedupExp, dedupRef{p.dedup, d.ExpiresAt})
			if qs.done == nil {
				qs.done = make(chan struct{})
			}
			q.dedupPending[p.dedup] = qs.done
			qs.mine = append(qs.mine, p.dedup)
			b.PutDedup(q.rec.ID, d)
		}
		if p.in.Shared != nil {
			p.shared = s.ref(p.in.Shared, b)
			p.msg.Shared = p.shared
		}
		b.PutMessage(q.rec.ID, p.msg)
	}
	q.mu.Unlock()
	return qs, nil
}

// endSend makes the messages of a committed send receivable (or forgets
// them if err, the commit's error, is set), fills in the results and
// releases q.op.
func (s *Service) endSend(qs *queueSend, err error) {
	q := qs.q
	var unref []uint64
	q.mu.Lock()
	for _, p := range qs.preps {
		if p.isDup {
			continue
		}
		if p.shared != 0 {
			if err == nil && !q.deleted {
				q.shared.add(p.msg.Seq, p.shared)
			} else {
				unref = append(unref, p.shared)
			}
		}
		if err == nil && !q.deleted {
			switch {
			case q.fifo:
				// The queue's delay now, which may have changed
				// during the commit (index.retime).
				q.idx.addFresh(p.msg.Seq, qs.nowMs, p.msg.GroupID, s.clock.Now().UnixNano())
			case p.delay > 0:
				q.idx.addDelayed(timed{at: p.visible, seq: p.msg.Seq, sentAt: qs.nowMs, group: p.msg.GroupID})
			default:
				q.idx.addReady(readyEntry{seq: p.msg.Seq, sentAt: qs.nowMs}, p.msg.GroupID)
			}
		}
		if q.fifo {
			q.idx.endSend(p.msg.GroupID, p.msg.Seq)
			if err != nil {
				q.dedup.Delete(p.dedup)
			}
		}
	}
	for _, k := range qs.mine {
		delete(q.dedupPending, k)
	}
	if qs.done != nil {
		close(qs.done)
	}
	q.wake()
	q.mu.Unlock()
	q.op.RUnlock()
	s.unref(unref...)
	j := 0
	for i := range qs.in {
		if qs.results[i].Err != nil {
			continue
		}
		if err != nil {
			qs.results[i] = SendResult{ID: qs.in[i].ID, Err: err}
		} else {
			qs.results[i] = *qs.preps[j].res
		}
		j++
	}
}

// Target is one queue's share of a send to several queues.
type Target struct {
	// QueueArn names the queue.
	QueueArn string
	Inputs   []SendInput
}

// TargetResult is the outcome for one Target: Err if the target failed as
// a whole (its queue does not exist), else one result per input, each
// with its own Err.
type TargetResult struct {
	Results []SendResult
	Err     error
}

// SendTxn is a send to several queues prepared into one store batch, so
// that the caller commits its own records and the messages together.
type SendTxn struct {
	s     *Service
	parts []*queueSend // by target index; nil for failed targets
	res   []TargetResult
}

// BeginSends prepares a send to several queues into b: the messages are
// validated and numbered and their operations added to b. The caller must
// commit b and then call End exactly once, promptly: until then the queues
// hold the messages' places (FIFO groups, deduplication entries) and
// DeleteQueue and PurgeQueue of the target queues wait. Queues are locked
// in a fixed order, so concurrent callers cannot deadlock.
func (s *Service) BeginSends(ctx context.Context, targets []Target, b *store.Batch) *SendTxn {
	t := &SendTxn{s: s, parts: make([]*queueSend, len(targets)), res: make([]TargetResult, len(targets))}
	qs := make([]*queue, len(targets))
	order := make([]int, 0, len(targets))
	for i, tg := range targets {
		q := s.lookupArn(tg.QueueArn)
		if q == nil {
			t.res[i].Err = errNoQueue()
			continue
		}
		qs[i] = q
		order = append(order, i)
	}
	sort.SliceStable(order, func(a, b int) bool { return qs[order[a]].id < qs[order[b]].id })
	n := 0
	for _, i := range order {
		n += len(targets[i].Inputs)
	}
	sp := &sendSpace{sends: make([]queueSend, len(order)), slots: make([]prepSlot, n),
		results: make([]SendResult, n), preps: make([]*sendPrep, n)}
	now := s.clock.Now()
	for _, i := range order {
		part, err := s.beginSendIn(ctx, qs[i], targets[i].Inputs, false, b, now, sp)
		if err != nil {
			t.res[i].Err = err
			continue
		}
		t.parts[i] = part
	}
	return t
}

// Early returns what is known before the commit: Err for targets that
// failed as a whole and, in Results, the entries that failed validation
// (the others have a nil Err until End).
func (t *SendTxn) Early() []TargetResult {
	out := make([]TargetResult, len(t.res))
	for i := range t.res {
		out[i].Err = t.res[i].Err
		if p := t.parts[i]; p != nil {
			out[i].Results = p.results
		}
	}
	return out
}

// End completes the send after the commit of its batch (err is the
// commit's error) and returns one result per target.
func (t *SendTxn) End(err error) []TargetResult {
	for i := len(t.parts) - 1; i >= 0; i-- {
		if p := t.parts[i]; p != nil {
			t.s.endSend(p, err)
			t.res[i].Results = p.results
		}
	}
	return t.res
}

// expireAttempts drops up to limit receive attempts past their five
// minutes (all of them if limit <= 0) and returns their IDs. Requires
// q.mu.
func (q *queue) expireAttempts(nowNs int64, limit int) []string {
	var ids []string
	n := 0
	for _, r := range q.attemptExp {
		if r.exp > nowNs || (limit > 0 && n == limit) {
			break
		}
		// An attempt recorded again since has a later expiry.
		if a, ok := q.attempts[r.id]; ok && a.Exp == r.exp {
			delete(q.attempts, r.id)
			ids = append(ids, r.id)
		}
		n++
	}
	q.attemptExp = q.attemptExp[n:]
	if len(q.attempts) == 0 && n > 0 {
		q.attempts = map[string]*attempt{} // Go maps keep their size
	}
	return ids
}

// expireDedup drops up to limit expired deduplication entries (all of
// them if limit <= 0) and returns their keys. Requires q.mu.
func (q *queue) expireDedup(nowNs int64, limit int) []string {
	var keys []string
	n := 0
	for n < len(q.dedupExp) && q.dedupExp[n].exp <= nowNs && (limit <= 0 || n < limit) {
		r := q.dedupExp[n]
		if d, ok := q.dedup.Get(r.key); ok && d.ExpiresAt == r.exp {
			q.dedup.Delete(r.key)
			keys = append(keys, r.key)
		}
		n++
	}
	// Reslicing drops the front; append's next regrowth copies only
	// what is left (moving the rest down cost a copy of the whole
	// five-minute window on every send).
	q.dedupExp = q.dedupExp[n:]
	if n > 0 {
		q.shrinkDedup()
	}
	return keys
}

// shrinkDedup gives back the memory of a deduplication window that has
// emptied: Go maps never shrink, and a resliced list keeps its array. A
// FIFO queue that took a burst of a million sends would otherwise hold
// the burst's window for good. The map drains its burst without a copy
// (window.Map). Requires q.mu.
func (q *queue) shrinkDedup() {
	q.dedup.Shrink(1024)
	// A resliced list's capacity understates its array (the dropped
	// front is held too), so the copy is made as soon as the capacity
	// left is well above what is in use; copies stay amortized.
	if len(q.dedupExp) == 0 {
		q.dedupExp = nil // a resliced empty list still holds its array
	} else if cap(q.dedupExp) > 2*len(q.dedupExp)+64 {
		q.dedupExp = append(make([]dedupRef, 0, len(q.dedupExp)+len(q.dedupExp)/4), q.dedupExp...)
	}
}

// sendExpiry bounds the deduplication entries one send expires: the
// sweeper (sweepExpired) takes the rest, so that the first send after a
// quiet spell does not pay for a whole burst's window.
const sendExpiry = 256

// ---------------------------------------------------------------- receive

// System attribute names for ReceiveMessage (ReceiveMessage API reference).
var systemAttrNames = map[string]bool{
	"All": true, "SenderId": true, "SentTimestamp": true, "ApproximateReceiveCount": true,
	"ApproximateFirstReceiveTimestamp": true, "SequenceNumber": true, "MessageDeduplicationId": true,
	"MessageGroupId": true, "AWSTraceHeader": true, "DeadLetterQueueSourceArn": true,
}

// ReceiveInput are the parameters of ReceiveMessage.
type ReceiveInput struct {
	MaxNumberOfMessages *int
	VisibilityTimeout   *int
	WaitTimeSeconds     *int
	// SystemAttributeNames merges AttributeNames and
	// MessageSystemAttributeNames.
	SystemAttributeNames  []string
	MessageAttributeNames []string
	AttemptID             string
}

// ReceivedMessage is one delivered message.
type ReceivedMessage struct {
	MessageID     string
	ReceiptHandle string
	Body          string
	MD5Body       string
	MD5Attr       string
	Attributes    map[string]string
	MessageAttrs  []store.MessageAttribute
}

func (s *Service) validateReceive(in *ReceiveInput) (max, vt, wait int, err error) {
	max = 1
	if in.MaxNumberOfMessages != nil {
		max = *in.MaxNumberOfMessages
		if max < 1 || max > 10 {
			return 0, 0, 0, invalidValue("MaxNumberOfMessages", max, "Must be between 1 and 10, if provided.")
		}
	}
	vt = -1
	if in.VisibilityTimeout != nil {
		vt = *in.VisibilityTimeout
		if vt < 0 || vt > 43200 {
			return 0, 0, 0, invalidValue("VisibilityTimeout", vt, "Must be >= 0 and <= 43200, if provided.")
		}
	}
	wait = -1
	if in.WaitTimeSeconds != nil {
		wait = *in.WaitTimeSeconds
		if wait < 0 || wait > 20 {
			return 0, 0, 0, invalidValue("WaitTimeSeconds", wait, "Must be >= 0 and <= 20, if provided.")
		}
	}
	for _, n := range in.SystemAttributeNames {
		if !systemAttrNames[n] && !readOnlyAttrs[n] && !commonAttrs[n] && !fifoOnlyAttrs[n] {
			return 0, 0, 0, unknownAttr(n)
		}
	}
	for _, n := range in.MessageAttributeNames {
		if n == "" || len(n) > maxAttrNameLen {
			return 0, 0, 0, invalidValue("MessageAttributeNames", n, "Message attribute names must be 1 to 256 characters.")
		}
	}
	if in.AttemptID != "" {
		if err := checkToken("ReceiveRequestAttemptId", in.AttemptID); err != nil {
			return 0, 0, 0, err
		}
	}
	return max, vt, wait, nil
}

// ReceiveMessage receives up to MaxNumberOfMessages messages, long polling
// up to WaitTimeSeconds (or the queue's ReceiveMessageWaitTimeSeconds) and
// returning as soon as one is available.
func (s *Service) ReceiveMessage(ctx context.Context, name string, in ReceiveInput) ([]ReceivedMessage, error) {
	q, err := s.lookup(name)
	if err != nil {
		return nil, err
	}
	max, vt, wait, err := s.validateReceive(&in)
	if err != nil {
		return nil, err
	}
	q.mu.Lock()
	if wait < 0 {
		wait = q.set.wait
	}
	q.mu.Unlock()
	deadline := s.clock.Now().Add(time.Duration(wait) * time.Second)
	for {
		msgs, notify, next, err := s.receiveOnce(ctx, q, &in, max, vt, wait > 0)
		if err != nil || len(msgs) > 0 || wait == 0 {
			if notify != nil {
				q.unwait()
			}
			return msgs, err
		}
		now := s.clock.Now()
		if !now.Before(deadline) {
			q.unwait()
			return nil, nil
		}
		wake := deadline
		if next != 0 && time.Unix(0, next).Before(wake) {
			wake = time.Unix(0, next)
		}
		t := s.clock.NewTimer(wake.Sub(now))
		select {
		case <-notify:
		case <-t.C():
		case <-ctx.Done():
			t.Stop()
			q.unwait()
			return nil, nil
		case <-s.ctx.Done():
			t.Stop()
			q.unwait()
			return nil, nil
		}
		t.Stop()
		q.unwait()
	}
}

// unwait ends a long poll's wait registered by receiveOnce.
func (q *queue) unwait() {
	q.mu.Lock()
	q.waiters--
	q.mu.Unlock()
}

// receiveOnce picks and delivers what is visible now. With willWait set it
// also registers the caller as a waiter (undone by unwait) and returns the
// channel that signals new messages and the next deadline.
func (s *Service) receiveOnce(ctx context.Context, q *queue, in *ReceiveInput, max, vt int, willWait bool) ([]ReceivedMessage, chan struct{}, int64, error) {
	q.op.RLock()
	defer q.op.RUnlock()
	now := s.clock.Now()
	nowNs := now.UnixNano()

	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return nil, nil, 0, errNoQueue()
	}
	q.advance(now)
	set := q.set
	if vt < 0 {
		vt = set.visibility
	}
	if q.fifo && in.AttemptID != "" {
		// One receive per attempt ID at a time: a retry that arrives
		// while the first is still being answered waits for it and then
		// gets the same messages, instead of a batch of its own that
		// would stay in flight unanswered ("return the same messages and
		// receipt handles", ReceiveMessage API reference).
		for {
			busy, ok := q.attemptBusy[in.AttemptID]
			if !ok {
				break
			}
			q.mu.Unlock()
			select {
			case <-busy:
			case <-ctx.Done():
				return nil, nil, 0, ctx.Err()
			}
			q.mu.Lock()
			if q.deleted {
				q.mu.Unlock()
				return nil, nil, 0, errNoQueue()
			}
			now = s.clock.Now()
			nowNs = now.UnixNano()
			q.advance(now)
			set = q.set
		}
		if q.attemptBusy == nil {
			q.attemptBusy = map[string]chan struct{}{}
		}
		done := make(chan struct{})
		q.attemptBusy[in.AttemptID] = done
		defer func() {
			q.mu.Lock()
			delete(q.attemptBusy, in.AttemptID)
			q.mu.Unlock()
			close(done)
		}()
		if msgs, ok := s.replayAttempt(ctx, q, in, nowNs); ok {
			q.mu.Unlock()
			s.restartAttempt(ctx, q, in.AttemptID, msgs, vt)
			return msgs, nil, 0, nil
		}
	}
	visibleAt := nowNs + int64(vt)*int64(time.Second)
	retentionLimit := now.UnixMilli() - int64(set.retention)*1000
	cands := q.idx.pick(max, func(seq uint64, sentAt int64, group string) *flight {
		return newBusyFlight(store.State{SentAt: sentAt, VisibleAt: visibleAt, Nonce: randUint64(), GroupID: group}, nowNs)
	}, retentionLimit)
	expired := q.idx.takeExpired()
	var staleAttempts []string
	if q.fifo {
		staleAttempts = q.expireAttempts(nowNs, sendExpiry)
	}
	if len(staleAttempts) > 0 {
		// A receive reusing one of these attempt IDs must commit its new
		// attempt after this deletion of the old one, or the deletion
		// would remove it from the store: it waits, as a retry does.
		if q.attemptBusy == nil {
			q.attemptBusy = map[string]chan struct{}{}
		}
		gone := make(chan struct{})
		var held []string
		for _, id := range staleAttempts {
			if _, ok := q.attemptBusy[id]; !ok {
				q.attemptBusy[id] = gone
				held = append(held, id)
			}
		}
		defer func() {
			q.mu.Lock()
			for _, id := range held {
				if q.attemptBusy[id] == gone {
					delete(q.attemptBusy, id)
				}
			}
			q.mu.Unlock()
			close(gone)
		}()
	}
	var notify chan struct{}
	var next int64
	if willWait {
		q.waiters++
		notify, next = q.notify, q.idx.nextDue()
	}
	qid := q.rec.ID
	q.mu.Unlock()

	var b store.Batch
	for _, seq := range expired {
		b.DeleteMessage(qid, seq)
	}
	for _, id := range staleAttempts {
		b.DeleteRecord(nsAttempt, attemptKey(qid, id))
	}
	if len(cands) == 0 {
		s.commitBestEffort(ctx, q, &b)
		return nil, notify, next, nil
	}

	type delivery struct {
		cand candidate
		msg  store.Message
	}
	var deliver []delivery
	var moves []candidate
	var moveMsgs []store.Message
	var gone []candidate
	seqs := make([]uint64, len(cands))
	withState := make([]bool, len(cands))
	for i, c := range cands {
		// A message never received has the state it was sent with; only
		// the others' states are read.
		seqs[i], withState[i] = c.seq, !c.fresh
	}
	read, found, err := s.st.ReadMessages(ctx, qid, seqs, withState)
	if err != nil {
		q.mu.Lock()
		q.idx.unpick(cands, s.clock.Now().UnixNano())
		q.wake()
		q.mu.Unlock()
		s.commitBestEffort(ctx, q, &b)
		return nil, notify, next, fmt.Errorf("read messages: %w", err)
	}
	for i, c := range cands {
		m := read[i]
		if !found[i] {
			gone = append(gone, c)
			b.DeleteMessage(qid, c.seq)
			continue
		}
		if c.fresh {
			m.State = store.State{SentAt: c.f.st.SentAt, GroupID: c.f.st.GroupID}
		}
		if set.redrive != nil && int(m.State.ReceiveCount) >= set.redrive.MaxReceiveCount {
			moves = append(moves, c)
			moveMsgs = append(moveMsgs, m)
			continue
		}
		st := m.State
		st.ReceiveCount++
		if st.FirstReceiveAt == 0 {
			st.FirstReceiveAt = now.UnixMilli()
		}
		st.Nonce = c.f.st.Nonce
		st.VisibleAt = c.f.st.VisibleAt
		st.ReceivedAt = now.UnixMilli()
		c.f.st = st
		m.State = st
		b.PutState(qid, c.seq, st)
		deliver = append(deliver, delivery{c, m})
	}

	// Redrive: move messages past maxReceiveCount to the dead-letter queue
	// in the same commit.
	var dlq *queue
	var landed []*store.Message
	if len(moves) > 0 {
		dlq = s.lookupArn(set.redrive.DeadLetterTargetArn)
		if dlq != nil && dlq.op.TryRLock() {
			defer dlq.op.RUnlock()
			landed = s.prepareLanding(dlq, moveMsgs, q.arn, now, &b)
			if landed == nil {
				dlq = nil
			}
		} else {
			dlq = nil
		}
		if dlq == nil {
			// The dead-letter queue cannot take them now (deleted, or
			// being purged): leave them out of sight for a second and
			// try again then, so that they neither spin long polls nor
			// block the messages behind them.
			q.mu.Lock()
			for i, c := range moves {
				c.f.st = moveMsgs[i].State
				c.f.st.VisibleAt = nowNs + int64(time.Second)
				q.idx.settleFlight(c.seq, c.f)
			}
			q.mu.Unlock()
		} else {
			for _, m := range moveMsgs {
				b.DeleteMessage(qid, m.Seq)
			}
		}
	}

	var att *attempt
	if q.fifo && in.AttemptID != "" && len(deliver) > 0 {
		att = &attempt{Exp: nowNs + int64(attemptWindow)}
		for _, d := range deliver {
			att.Seqs = append(att.Seqs, d.cand.seq)
			att.Nonce = append(att.Nonce, d.cand.f.st.Nonce)
			att.VisibleAt = append(att.VisibleAt, d.cand.f.st.VisibleAt)
		}
		b.PutRecord(nsAttempt, attemptKey(qid, in.AttemptID), mustJSON(att))
	}

	err = s.commit(ctx, &b)

	q.mu.Lock()
	if err != nil {
		q.idx.unpick(cands, s.clock.Now().UnixNano())
	} else {
		for _, c := range gone {
			q.idx.removeFlight(c.seq, c.f)
		}
		if dlq != nil {
			for _, c := range moves {
				q.idx.removeFlight(c.seq, c.f)
			}
		}
		for _, d := range deliver {
			q.idx.settleFlight(d.cand.seq, d.cand.f)
		}
		if att != nil {
			q.attempts[in.AttemptID] = att
			q.attemptExp = append(q.attemptExp, attemptRef{in.AttemptID, att.Exp})
		}
	}
	q.wake()
	q.mu.Unlock()
	if dlq != nil {
		s.finishLanding(dlq, landed, err == nil)
	}
	if err != nil {
		return nil, notify, next, fmt.Errorf("receive: %w", err)
	}
	out := make([]ReceivedMessage, len(deliver))
	s.renderEach(len(deliver), func(i int) bool { return deliver[i].msg.Finish != 0 }, func(i int) {
		out[i] = s.render(q, &deliver[i].msg, deliver[i].cand.seq, in)
	})
	return out, notify, next, nil
}

// renderEach calls render for 0..n-1. Messages stored unfinished cost
// their finisher's work when read (an SNS notification's RSA signature,
// about 1 ms each): when several are, they are rendered on up to
// GOMAXPROCS goroutines, so that a receive of ten new notifications
// waits for about a tenth of the signatures per core rather than all ten.
func (s *Service) renderEach(n int, unfinished func(int) bool, render func(int)) {
	slow := 0
	for i := 0; i < n; i++ {
		if unfinished(i) {
			slow++
		}
	}
	workers := min(slow, runtime.GOMAXPROCS(0))
	if workers < 2 {
		for i := 0; i < n; i++ {
			render(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				render(i)
			}
		}()
	}
	wg.Wait()
}

// prepareLanding assigns sequence numbers in dst to messages moved there
// (by redrive or a move task) and adds their writes to b. It returns nil if
// dst is gone. finishLanding must follow the commit.
func (s *Service) prepareLanding(dst *queue, msgs []store.Message, sourceArn string, now time.Time, b *store.Batch) []*store.Message {
	dst.mu.Lock()
	defer dst.mu.Unlock()
	if dst.deleted {
		return nil
	}
	out := make([]*store.Message, 0, len(msgs))
	for _, m := range msgs {
		nm := m
		nm.Seq = dst.nextSeq
		dst.nextSeq++
		nm.DLQSourceArn = sourceArn
		nm.State = store.State{SentAt: m.State.SentAt, VisibleAt: now.UnixNano(), GroupID: m.GroupID}
		if sourceArn == "" {
			// A message move task's messages are new messages, with a
			// new MessageId and send time, so retention restarts (SQS
			// developer guide, "Configure a dead-letter queue redrive").
			nm.ID = NewMessageID()
			nm.State.SentAt = now.UnixMilli()
		} else {
			// ApproximateReceiveCount is "the number of times a message
			// has been received across all queues but not deleted" (API
			// reference, ReceiveMessage): a dead-letter queue's copy
			// keeps its count and its first receive.
			nm.State.ReceiveCount, nm.State.FirstReceiveAt = m.State.ReceiveCount, m.State.FirstReceiveAt
		}
		if dst.fifo {
			if sourceArn != "" {
				// A FIFO dead-letter queue restarts retention, and its
				// copy's deduplication ID is the original's MessageId
				// (the same page).
				nm.State.SentAt = now.UnixMilli()
				nm.DedupID = m.ID
			}
			dst.idx.beginSend(m.GroupID, nm.Seq)
		}
		b.PutMessage(dst.rec.ID, &nm)
		out = append(out, &nm)
	}
	return out
}

// finishLanding makes landed messages visible after a successful commit.
func (s *Service) finishLanding(dst *queue, landed []*store.Message, ok bool) {
	dst.mu.Lock()
	defer dst.mu.Unlock()
	for _, m := range landed {
		if ok && !dst.deleted {
			if dst.fifo && m.State.ReceiveCount == 0 {
				// A move task's copy is a new message: the queue's
				// delay applies, as after a restart (loadQueue).
				dst.idx.addFresh(m.Seq, m.State.SentAt, m.GroupID, s.clock.Now().UnixNano())
			} else {
				// A dead-letter copy keeps its receive count, which
				// only the stored state holds.
				dst.idx.addReady(readyEntry{seq: m.Seq, sentAt: m.State.SentAt, received: m.State.ReceiveCount != 0}, m.GroupID)
			}
		}
		if dst.fifo {
			dst.idx.endSend(m.GroupID, m.Seq)
		}
	}
	dst.wake()
}

// commitBestEffort commits housekeeping (deleting expired messages) whose
// failure only means it is done again later.
func (s *Service) commitBestEffort(ctx context.Context, q *queue, b *store.Batch) {
	if b.Len() == 0 {
		return
	}
	if err := s.commit(ctx, b); err != nil {
		s.log.Warn("housekeeping commit", "queue", q.rec.Name, "err", err)
	}
}

// reap deletes from the store the messages the index found past retention.
// Call it without q.mu after an operation that advanced the index.
func (s *Service) reap(ctx context.Context, q *queue) {
	q.mu.Lock()
	expired := q.idx.takeExpired()
	qid := q.rec.ID
	q.mu.Unlock()
	var b store.Batch
	for _, seq := range expired {
		b.DeleteMessage(qid, seq)
	}
	s.commitBestEffort(ctx, q, &b)
}

// replayAttempt answers a FIFO receive retried with the same
// ReceiveRequestAttemptId while its messages are still in flight under the
// same receipt handles, none deleted or with its visibility changed
// (ReceiveMessage API reference, ReceiveRequestAttemptId). Requires q.mu
// (held; it is not released).
func (s *Service) replayAttempt(ctx context.Context, q *queue, in *ReceiveInput, nowNs int64) ([]ReceivedMessage, bool) {
	a := q.attempts[in.AttemptID]
	if a == nil || a.Exp <= nowNs {
		return nil, false
	}
	for i, seq := range a.Seqs {
		f := q.idx.inflight[seq]
		if f == nil || f.busy != nil || f.st.Nonce != a.Nonce[i] || f.st.VisibleAt != a.VisibleAt[i] {
			return nil, false
		}
	}
	out := make([]ReceivedMessage, 0, len(a.Seqs))
	for _, seq := range a.Seqs {
		m, err := s.st.GetMessage(ctx, q.rec.ID, seq)
		if err != nil {
			return nil, false
		}
		out = append(out, s.render(q, &m, seq, in))
	}
	return out, true
}

// restartAttempt restarts the visibility timeout of a replayed attempt's
// messages ("If a retry occurs within the deduplication interval, it
// resets the visibility timeout", ReceiveMessage API reference) and
// records their new deadlines, so that a later retry is still a replay.
// Requires q.op held for reading; q.mu not held.
func (s *Service) restartAttempt(ctx context.Context, q *queue, id string, msgs []ReceivedMessage, vt int) {
	entries := make([]BatchEntry, len(msgs))
	for i, m := range msgs {
		entries[i] = BatchEntry{ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: &vt}
	}
	span := int64(vt) * int64(time.Second)
	lo := s.clock.Now().UnixNano() + span
	if _, err := s.changeVisibilityHeld(ctx, q, entries); err != nil {
		return
	}
	q.mu.Lock()
	hi := s.clock.Now().UnixNano() + span
	var b store.Batch
	if a := q.attempts[id]; a != nil {
		for i, seq := range a.Seqs {
			// Only a deadline this reset can have set is recorded: one a
			// ChangeMessageVisibility set meanwhile still ends the replays.
			if f := q.idx.inflight[seq]; f != nil && f.st.Nonce == a.Nonce[i] && f.st.VisibleAt >= lo && f.st.VisibleAt <= hi {
				a.VisibleAt[i] = f.st.VisibleAt
			}
		}
		b.PutRecord(nsAttempt, attemptKey(q.rec.ID, id), mustJSON(a))
	}
	q.mu.Unlock()
	// The retry's answer does not wait for this: should it be lost, a
	// later retry is answered as a new receive, as before this reset.
	s.commitBestEffort(ctx, q, &b)
}

func (s *Service) render(q *queue, m *store.Message, seq uint64, in *ReceiveInput) ReceivedMessage {
	r := ReceivedMessage{
		MessageID: m.ID, Body: m.Body, MD5Body: m.MD5Body,
		ReceiptHandle: encodeHandle(q.rec.ID, seq, m.State.Nonce),
	}
	if m.Finish != 0 {
		r.Body = s.finish(m.Finish, m.Body)
		r.MD5Body = MD5OfBody(r.Body)
	}
	want := map[string]bool{}
	for _, n := range in.SystemAttributeNames {
		want[n] = true
	}
	all := want["All"]
	add := func(name, v string) {
		if v != "" && (all || want[name]) {
			if r.Attributes == nil {
				r.Attributes = map[string]string{}
			}
			r.Attributes[name] = v
		}
	}
	add("SenderId", m.SenderID)
	add("SentTimestamp", strconv.FormatInt(m.State.SentAt, 10))
	add("ApproximateReceiveCount", strconv.FormatUint(uint64(m.State.ReceiveCount), 10))
	add("ApproximateFirstReceiveTimestamp", strconv.FormatInt(m.State.FirstReceiveAt, 10))
	add("AWSTraceHeader", m.TraceHeader)
	add("DeadLetterQueueSourceArn", m.DLQSourceArn)
	add("MessageGroupId", m.GroupID)
	if q.fifo {
		add("SequenceNumber", sequenceNumber(seq))
		add("MessageDeduplicationId", m.DedupID)
	}
	r.MessageAttrs = filterAttributes(m.Attrs, in.MessageAttributeNames)
	if len(r.MessageAttrs) == len(m.Attrs) && m.MD5Attr != "" {
		r.MD5Attr = m.MD5Attr // all of them: the MD5 taken at the send
	} else {
		r.MD5Attr = MD5OfAttributes(r.MessageAttrs)
	}
	return r
}

// filterAttributes keeps the attributes named in names: exact names, "All",
// ".*", or prefixes such as "bar.*" (ReceiveMessage API reference).
func filterAttributes(attrs []store.MessageAttribute, names []string) []store.MessageAttribute {
	if len(attrs) == 0 || len(names) == 0 {
		return nil
	}
	var out []store.MessageAttribute
	for _, a := range attrs {
		for _, n := range names {
			if n == "All" || n == ".*" || n == a.Name ||
				strings.HasSuffix(n, ".*") && strings.HasPrefix(a.Name, strings.TrimSuffix(n, "*")) {
				out = append(out, a)
				break
			}
		}
	}
	return out
}

// ------------------------------------------------------- receipt handles

// A receipt handle is the queue ID, the message sequence number and the
// nonce of the receive, base64url-encoded with a version byte.
func encodeHandle(qid, seq, nonce uint64) string {
	var b [25]byte
	b[0] = 1
	binary.BigEndian.PutUint64(b[1:], qid)
	binary.BigEndian.PutUint64(b[9:], seq)
	binary.BigEndian.PutUint64(b[17:], nonce)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// DecodeHandle parses a receipt handle.
func DecodeHandle(h string) (qid, seq, nonce uint64, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil || len(b) != 25 || b[0] != 1 {
		return 0, 0, 0, false
	}
	return binary.BigEndian.Uint64(b[1:]), binary.BigEndian.Uint64(b[9:]), binary.BigEndian.Uint64(b[17:]), true
}

func invalidHandle(h string) error {
	return errorf(ErrReceiptHandleIsInvalid, "The input receipt handle \"%s\" is not a valid receipt handle.", h)
}

func (q *queue) handle(h string) (seq, nonce uint64, err error) {
	if h == "" {
		return 0, 0, missing("ReceiptHandle")
	}
	qid, seq, nonce, ok := DecodeHandle(h)
	if !ok || qid != q.rec.ID || nonce == 0 {
		return 0, 0, invalidHandle(h)
	}
	return seq, nonce, nil
}

// ---------------------------------------------------------------- delete

// DeleteMessage deletes the message whose latest receipt handle is h. A
// stale handle is accepted and deletes nothing (DeleteMessage API
// reference: the request succeeds, but the message might not be deleted).
func (s *Service) DeleteMessage(ctx context.Context, name, h string) error {
	q, err := s.lookup(name)
	if err != nil {
		return err
	}
	errs, err := s.deleteMessages(ctx, q, []string{h})
	if err != nil {
		return err
	}
	return errs[0]
}

// BatchEntry is an entry of DeleteMessageBatch or
// ChangeMessageVisibilityBatch.
type BatchEntry struct {
	ID                string
	ReceiptHandle     string
	VisibilityTimeout *int
}

// DeleteMessageBatch deletes up to 10 messages; the result holds a nil or
// an error per entry.
func (s *Service) DeleteMessageBatch(ctx context.Context, name string, entries []BatchEntry) ([]error, error) {
	q, err := s.lookup(name)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(entries))
	hs := make([]string, len(entries))
	for i, e := range entries {
		ids[i], hs[i] = e.ID, e.ReceiptHandle
	}
	if err := checkBatchIDs("DeleteMessageBatchRequestEntry", ids); err != nil {
		return nil, err
	}
	return s.deleteMessages(ctx, q, hs)
}

func (s *Service) deleteMessages(ctx context.Context, q *queue, handles []string) ([]error, error) {
	q.op.RLock()
	defer q.op.RUnlock()
	errs := make([]error, len(handles))
	type del struct {
		seq uint64
		f   *flight  // in flight: removed after the commit
		r   returned // visible: dropped now, put back if the commit fails
	}
	var dels []del
	var b store.Batch
	if err := q.waitIdle(ctx, handles); err != nil {
		return nil, err
	}
	// q.mu is held.
	if q.deleted {
		q.mu.Unlock()
		return nil, errNoQueue()
	}
	qid := q.rec.ID
	now := s.clock.Now().UnixNano()
	seen := map[uint64]bool{}
	for i, h := range handles {
		seq, nonce, err := q.handle(h)
		if err != nil {
			errs[i] = err
			continue
		}
		if seen[seq] {
			continue
		}
		if f := q.idx.inflight[seq]; f != nil {
			if f.st.Nonce != nonce || q.fifo && f.st.VisibleAt <= now {
				if q.fifo {
					errs[i] = errExpiredHandle(h)
				}
				continue // stale handle of a standard queue: accepted, nothing deleted
			}
			seen[seq] = true
			f.busy = make(chan struct{})
			dels = append(dels, del{seq: seq, f: f})
			b.DeleteMessage(qid, seq)
			continue
		}
		r, ok := q.idx.returned[seq]
		if ok && q.fifo {
			// "For FIFO queues, a receipt handle expires after a
			// visibility timeout period" (AWS Knowledge Center,
			// sqs-receipt-handle-error; API reference, ReceiveMessage:
			// a consumer slower than the visibility timeout "tries to
			// delete the processed messages, the action fails with an
			// error"): the message stays, for the group's next consumer.
			errs[i] = errExpiredHandle(h)
			continue
		}
		// Not in flight: deleted only if the handle is still the latest
		// of a message whose visibility timeout expired.
		if ok && r.nonce == nonce { // a standard queue's: a FIFO queue's was refused above
			seen[seq] = true
			q.idx.dropVisible(seq)
			dels = append(dels, del{seq: seq, r: r})
			b.DeleteMessage(qid, seq)
		}
	}
	q.mu.Unlock()
	if b.Len() == 0 {
		return errs, nil
	}
	err := s.commit(ctx, &b)
	q.mu.Lock()
	for _, d := range dels {
		switch {
		case d.f != nil && err == nil:
			q.idx.removeFlight(d.seq, d.f)
		case d.f != nil:
			q.idx.settleFlight(d.seq, d.f)
		case err != nil:
			q.idx.undrop(d.seq, d.r)
		}
	}
	q.wake()
	q.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("delete messages: %w", err)
	}
	return errs, nil
}

// waitIdle locks q.mu once no in-flight message named by the handles is
// busy with a store write, and returns with q.mu held (or an error without
// it).
func (q *queue) waitIdle(ctx context.Context, handles []string) error {
	for {
		q.mu.Lock()
		var wait chan struct{}
		for _, h := range handles {
			_, seq, _, ok := DecodeHandle(h)
			if !ok {
				continue
			}
			if f := q.idx.inflight[seq]; f != nil && f.busy != nil {
				wait = f.busy
				break
			}
		}
		if wait == nil {
			return nil
		}
		q.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// ---------------------------------------------------- change visibility

// ChangeMessageVisibility sets the visibility timeout of an in-flight
// message, counted from now.
func (s *Service) ChangeMessageVisibility(ctx context.Context, name, h string, timeout *int) error {
	q, err := s.lookup(name)
	if err != nil {
		return err
	}
	if timeout == nil {
		return missing("VisibilityTimeout")
	}
	errs, err := s.changeVisibility(ctx, q, []BatchEntry{{ReceiptHandle: h, VisibilityTimeout: timeout}})
	if err != nil {
		return err
	}
	return errs[0]
}

// ChangeMessageVisibilityBatch changes up to 10 visibility timeouts.
func (s *Service) ChangeMessageVisibilityBatch(ctx context.Context, name string, entries []BatchEntry) ([]error, error) {
	q, err := s.lookup(name)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	if err := checkBatchIDs("ChangeMessageVisibilityBatchRequestEntry", ids); err != nil {
		return nil, err
	}
	return s.changeVisibility(ctx, q, entries)
}

func (s *Service) changeVisibility(ctx context.Context, q *queue, entries []BatchEntry) ([]error, error) {
	q.op.RLock()
	defer q.op.RUnlock()
	return s.changeVisibilityHeld(ctx, q, entries)
}

// changeVisibilityHeld is changeVisibility with q.op held for reading.
func (s *Service) changeVisibilityHeld(ctx context.Context, q *queue, entries []BatchEntry) ([]error, error) {
	errs := make([]error, len(entries))
	handles := make([]string, len(entries))
	for i, e := range entries {
		handles[i] = e.ReceiptHandle
	}
	if err := q.waitIdle(ctx, handles); err != nil {
		return nil, err
	}
	// q.mu is held.
	if q.deleted {
		q.mu.Unlock()
		return nil, errNoQueue()
	}
	now := s.clock.Now()
	nowNs := now.UnixNano()
	q.advance(now)
	qid := q.rec.ID
	var b store.Batch
	type change struct {
		seq   uint64
		f     *flight
		newAt int64
	}
	var changes []change
	seen := map[uint64]bool{}
	for i, e := range entries {
		seq, nonce, err := q.handle(e.ReceiptHandle)
		if err != nil {
			errs[i] = err
			continue
		}
		if e.VisibilityTimeout == nil {
			errs[i] = missing("VisibilityTimeout")
			continue
		}
		t := *e.VisibilityTimeout
		if t < 0 || t > 43200 {
			errs[i] = invalidValue("VisibilityTimeout", t, "VisibilityTimeout must be an integer between 0 and 43200.")
			continue
		}
		f := q.idx.inflight[seq]
		if f == nil {
			if r, ok := q.idx.returned[seq]; ok && r.nonce == nonce {
				errs[i] = errorf(ErrMessageNotInflight, "Message does not exist or is not available for visibility timeout change.")
			} else {
				errs[i] = errNotChangeable(e.ReceiptHandle)
			}
			continue
		}
		if f.st.Nonce != nonce || seen[seq] {
			errs[i] = errNotChangeable(e.ReceiptHandle)
			continue
		}
		newAt := nowNs + int64(t)*int64(time.Second)
		if newAt-f.receivedAt > int64(maxVisibility) {
			errs[i] = invalidValue("VisibilityTimeout", t, "Total VisibilityTimeout for the message is beyond the limit [43200 seconds]")
			continue
		}
		seen[seq] = true
		// The flight stays busy until the new deadline is durable; only
		// then does it take effect.
		f.busy = make(chan struct{})
		st := f.st
		st.VisibleAt = newAt
		b.PutState(qid, seq, st)
		changes = append(changes, change{seq, f, newAt})
	}
	q.mu.Unlock()
	s.reap(ctx, q)
	if b.Len() == 0 {
		return errs, nil
	}
	err := s.commit(ctx, &b)
	q.mu.Lock()
	for _, c := range changes {
		if err != nil {
			q.idx.settleFlight(c.seq, c.f)
			continue
		}
		c.f.st.VisibleAt = c.newAt
		if c.newAt <= nowNs {
			q.idx.returnFlight(c.seq, c.f)
		} else {
			q.idx.settleFlight(c.seq, c.f)
		}
	}
	q.wake()
	q.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("change visibility: %w", err)
	}
	return errs, nil
}

// errNotChangeable is SQS's answer to ChangeMessageVisibility with the
// handle of a message deleted or received again since (recorded AWS
// errors: aws/aws-sdk-net#1927 for a deleted message,
// mapbox/ecs-watchbot#135 for one received again).
func errNotChangeable(h string) error {
	return invalidValue("ReceiptHandle", h, "Message does not exist or is not available for visibility timeout change.")
}

// errExpiredHandle is SQS's answer to a receipt handle whose visibility
// timeout has passed, or that a later receive replaced.
func errExpiredHandle(h string) error {
	return invalidValue("ReceiptHandle", h, "The receipt handle has expired.")
}

// ValidTraceHeader reports whether s is an X-Ray trace header: fields
// Key=Value separated by semicolons, among them a Root trace ID (1-, eight
// hexadecimal digits of time, -, 24 hexadecimal digits), and if present a
// Parent of 16 hexadecimal digits and a Sampled of 0, 1 or ?.
func ValidTraceHeader(s string) bool {
	root := false
	for _, f := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok || k == "" {
			return false
		}
		switch k {
		case "Root":
			if len(v) != 35 || v[:2] != "1-" || v[10] != '-' || !isHex(v[2:10]) || !isHex(v[11:]) {
				return false
			}
			root = true
		case "Parent":
			if len(v) != 16 || !isHex(v) {
				return false
			}
		case "Sampled":
			if v != "0" && v != "1" && v != "?" {
				return false
			}
		}
	}
	return root
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
