package queue

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
	return s.send(ctx, q, in, true)
}

func (s *Service) validateSend(q *queue, in *SendInput, set settings) (*sendPrep, error) {
	if in.Body == "" {
		return nil, missing("MessageBody")
	}
	if err := checkChars(in.Body); err != nil {
		return nil, err
	}
	attrSize, err := validateAttributes(in.Attributes, "MessageAttributes")
	if err != nil {
		return nil, err
	}
	trace := ""
	for _, a := range in.SystemAttributes {
		if a.Name != "AWSTraceHeader" {
			return nil, errorf(ErrInvalidParameterValue, "Message system attribute name '%s' is invalid.", a.Name)
		}
		if a.DataType != "String" || a.StringValue == "" {
			return nil, errorf(ErrInvalidParameterValue, "Message system attribute 'AWSTraceHeader' must be of type String with a non-empty value.")
		}
		trace = a.StringValue
	}
	size := len(in.Body) + attrSize
	if size > set.maxSize {
		return nil, errorf(ErrInvalidParameterValue, "One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", set.maxSize)
	}
	delay := set.delay
	if in.DelaySeconds != nil {
		d := *in.DelaySeconds
		if d < 0 || d > 900 {
			return nil, invalidValue("DelaySeconds", d, "DelaySeconds must be >= 0 and <= 900.")
		}
		if q.fifo {
			return nil, invalidValue("DelaySeconds", d, "The request include parameter that is not valid for this queue type.")
		}
		delay = d
	}
	p := &sendPrep{in: in, delay: delay, size: size}
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
	dedupID := in.DedupID
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
			sum := sha256.Sum256([]byte(in.Body))
			dedupID = hex.EncodeToString(sum[:])
		}
		p.dedup = dedupID
		if set.dedupByGroup {
			p.dedup = in.GroupID + "\x00" + dedupID
		}
	}
	p.msg = &store.Message{
		ID: NewMessageID(), Body: in.Body, Attrs: in.Attributes,
		MD5Body: MD5OfBody(in.Body), MD5Attr: MD5OfAttributes(in.Attributes),
		SenderID: in.SenderID, TraceHeader: trace, GroupID: in.GroupID,
	}
	if q.fifo {
		p.msg.DedupID = dedupID
	}
	p.res = &SendResult{
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
	q.op.RLock()
	defer q.op.RUnlock()

	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return nil, errNoQueue()
	}
	set := q.set
	q.mu.Unlock()

	results := make([]SendResult, len(in))
	preps := make([]*sendPrep, 0, len(in))
	total := 0
	for i := range in {
		p, err := s.validateSend(q, &in[i], set)
		if err != nil {
			results[i] = SendResult{ID: in[i].ID, Err: err}
			continue
		}
		total += p.size
		preps = append(preps, p)
	}
	if batch && total > MaxMessageSizeLimit {
		return nil, errorf(ErrBatchRequestTooLong, "Batch requests cannot be longer than %d bytes. You have sent %d bytes.", MaxMessageSizeLimit, total)
	}

	now := s.clock.Now()
	nowNs, nowMs := now.UnixNano(), now.UnixMilli()
	var b store.Batch
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return nil, errNoQueue()
	}
	expiredDedup := q.expireDedup(nowNs)
	for _, k := range expiredDedup {
		b.DeleteDedup(q.rec.ID, k)
	}
	for _, p := range preps {
		if p.dedup != "" {
			if d, ok := q.dedup[p.dedup]; ok {
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
			q.idx.group(p.msg.GroupID).pending++
			d := store.Dedup{Key: p.dedup, MessageID: p.msg.ID, Seq: seq, ExpiresAt: nowNs + int64(dedupWindow)}
			q.dedup[p.dedup] = d
			q.dedupExp = append(q.dedupExp, dedupRef{p.dedup, d.ExpiresAt})
			b.PutDedup(q.rec.ID, d)
		}
		b.PutMessage(q.rec.ID, p.msg)
	}
	qid := q.rec.ID
	q.mu.Unlock()

	err := s.st.Commit(ctx, &b)

	q.mu.Lock()
	for _, p := range preps {
		if p.isDup {
			continue
		}
		if q.fifo {
			g := q.idx.group(p.msg.GroupID)
			g.pending--
			if err != nil {
				delete(q.dedup, p.dedup)
			}
		}
		if err == nil {
			if p.delay > 0 {
				q.idx.addDelayed(timed{at: p.visible, seq: p.msg.Seq, sentAt: nowMs, group: p.msg.GroupID})
			} else {
				q.idx.addReady(readyEntry{seq: p.msg.Seq, sentAt: nowMs}, p.msg.GroupID)
			}
		}
		if q.fifo {
			g := q.idx.group(p.msg.GroupID)
			q.idx.maybeAvail(p.msg.GroupID, g)
		}
	}
	if err == nil {
		q.signal()
	}
	q.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("send to queue %d: %w", qid, err)
	}
	j := 0
	for i := range in {
		if results[i].Err != nil {
			continue
		}
		results[i] = *preps[j].res
		j++
	}
	return results, nil
}

// expireDedup drops expired deduplication entries and returns their keys.
// Requires q.mu.
func (q *queue) expireDedup(nowNs int64) []string {
	var keys []string
	n := 0
	for n < len(q.dedupExp) && q.dedupExp[n].exp <= nowNs {
		r := q.dedupExp[n]
		if d, ok := q.dedup[r.key]; ok && d.ExpiresAt == r.exp {
			delete(q.dedup, r.key)
			keys = append(keys, r.key)
		}
		n++
	}
	if n > 0 {
		q.dedupExp = append(q.dedupExp[:0], q.dedupExp[n:]...)
	}
	for k, a := range q.attempts {
		if a.exp <= nowNs {
			delete(q.attempts, k)
		}
	}
	return keys
}

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

// receiveOnce picks and delivers what is visible now. When nothing is and
// willWait is set, it registers the caller as a waiter (undone by unwait)
// and returns the channel that signals new messages and the next deadline.
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
		if msgs, ok := s.replayAttempt(ctx, q, in, nowNs); ok {
			q.mu.Unlock()
			return msgs, nil, 0, nil
		}
	}
	visibleAt := nowNs + int64(vt)*int64(time.Second)
	retentionLimit := now.UnixMilli() - int64(set.retention)*1000
	cands := q.idx.pick(max, func(seq uint64, sentAt int64, group string) *flight {
		return &flight{st: store.State{SentAt: sentAt, VisibleAt: visibleAt, Nonce: randUint64(), GroupID: group}, receivedAt: nowNs, pending: true}
	}, retentionLimit)
	expired := q.idx.takeExpired()
	var notify chan struct{}
	var next int64
	if len(cands) == 0 && willWait {
		q.waiters++
		notify, next = q.notify, q.idx.nextDue()
	}
	qid := q.rec.ID
	q.mu.Unlock()

	var b store.Batch
	for _, seq := range expired {
		b.DeleteMessage(qid, seq)
	}
	if len(cands) == 0 {
		if b.Len() > 0 {
			if err := s.st.Commit(ctx, &b); err != nil {
				s.log.Warn("delete expired messages", "queue", q.rec.Name, "err", err)
			}
		}
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
	for _, c := range cands {
		var m store.Message
		var err error
		if c.fresh {
			// A message never received has the state it was sent with.
			m, err = s.st.GetContent(ctx, qid, c.seq)
			m.State = store.State{SentAt: c.f.st.SentAt, VisibleAt: m.State.VisibleAt, GroupID: c.f.st.GroupID}
		} else {
			m, err = s.st.GetMessage(ctx, qid, c.seq)
		}
		if errors.Is(err, store.ErrNotFound) {
			gone = append(gone, c)
			b.DeleteMessage(qid, c.seq)
			continue
		}
		if err != nil {
			q.mu.Lock()
			q.idx.unpick(cands)
			q.mu.Unlock()
			return nil, nil, 0, fmt.Errorf("read message: %w", err)
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
		c.f.st = st
		m.State = st
		b.PutState(qid, c.seq, st)
		deliver = append(deliver, delivery{c, m})
	}

	// Redrive: move messages past maxReceiveCount to the dead-letter queue
	// in the same commit.
	var dlq *queue
	var dlqPreps []*store.Message
	if len(moves) > 0 {
		dlq = s.lookupArn(set.redrive.DeadLetterTargetArn)
		if dlq != nil && dlq.op.TryRLock() {
			defer dlq.op.RUnlock()
			dlq.mu.Lock()
			if dlq.deleted {
				dlq.mu.Unlock()
				dlq = nil
			} else {
				for i := range moves {
					m := moveMsgs[i]
					nm := m
					nm.Seq = dlq.nextSeq
					dlq.nextSeq++
					nm.DLQSourceArn = q.arn
					nm.State = store.State{SentAt: m.State.SentAt, VisibleAt: nowNs, GroupID: m.GroupID}
					if dlq.fifo {
						// A FIFO dead-letter queue restarts retention.
						nm.State.SentAt = now.UnixMilli()
						dlq.idx.group(m.GroupID).pending++
					}
					b.DeleteMessage(qid, m.Seq)
					b.PutMessage(dlq.rec.ID, &nm)
					dlqPreps = append(dlqPreps, &nm)
				}
				dlq.mu.Unlock()
			}
		} else {
			dlq = nil
		}
	}

	err := s.st.Commit(ctx, &b)

	q.mu.Lock()
	var moved []candidate
	if dlq == nil {
		// Could not move now: give them back, they move on a later receive.
		q.idx.unpick(moves)
	} else {
		moved = moves
	}
	if err != nil {
		q.idx.unpick(cands)
	} else {
		for _, c := range append(gone, moved...) {
			if q.idx.inflight[c.seq] == c.f {
				q.idx.removeFlight(c.seq, c.f)
			}
		}
		settle := make([]candidate, len(deliver))
		for i, d := range deliver {
			settle[i] = d.cand
		}
		q.idx.settle(settle)
		if q.fifo && in.AttemptID != "" {
			a := &attempt{exp: nowNs + int64(attemptWindow)}
			for _, d := range deliver {
				a.seqs = append(a.seqs, d.cand.seq)
				a.nonce = append(a.nonce, d.cand.f.st.Nonce)
			}
			q.attempts[in.AttemptID] = a
		}
	}
	q.mu.Unlock()
	if dlq != nil {
		dlq.mu.Lock()
		for _, m := range dlqPreps {
			if dlq.fifo {
				dlq.idx.group(m.GroupID).pending--
			}
			if err == nil && !dlq.deleted {
				dlq.idx.addReady(readyEntry{seq: m.Seq, sentAt: m.State.SentAt}, m.GroupID)
			} else if dlq.fifo {
				dlq.idx.maybeAvail(m.GroupID, dlq.idx.group(m.GroupID))
			}
		}
		if err == nil {
			dlq.signal()
		}
		dlq.mu.Unlock()
	}
	if err != nil {
		return nil, nil, 0, fmt.Errorf("receive: %w", err)
	}
	out := make([]ReceivedMessage, 0, len(deliver))
	for _, d := range deliver {
		out = append(out, s.render(q, &d.msg, d.cand.seq, in))
	}
	return out, nil, 0, nil
}

// replayAttempt answers a FIFO receive retried with the same
// ReceiveRequestAttemptId while its messages are still in flight under the
// same receipt handles. Requires q.mu (held; it is not released).
func (s *Service) replayAttempt(ctx context.Context, q *queue, in *ReceiveInput, nowNs int64) ([]ReceivedMessage, bool) {
	a := q.attempts[in.AttemptID]
	if a == nil || a.exp <= nowNs {
		return nil, false
	}
	for i, seq := range a.seqs {
		f := q.idx.inflight[seq]
		if f == nil || f.pending || f.st.Nonce != a.nonce[i] {
			return nil, false
		}
	}
	out := make([]ReceivedMessage, 0, len(a.seqs))
	for _, seq := range a.seqs {
		m, err := s.st.GetMessage(ctx, q.rec.ID, seq)
		if err != nil {
			return nil, false
		}
		out = append(out, s.render(q, &m, seq, in))
	}
	return out, true
}

func (s *Service) render(q *queue, m *store.Message, seq uint64, in *ReceiveInput) ReceivedMessage {
	r := ReceivedMessage{
		MessageID: m.ID, Body: m.Body, MD5Body: m.MD5Body,
		ReceiptHandle: encodeHandle(q.rec.ID, seq, m.State.Nonce),
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
	r.MD5Attr = MD5OfAttributes(r.MessageAttrs)
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
	if !ok || qid != q.rec.ID {
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
		f   *flight // nil: not in flight, deleted by stored nonce
	}
	var dels []del
	var b store.Batch
	seen := map[uint64]bool{}
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return nil, errNoQueue()
	}
	qid := q.rec.ID
	var check []int
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
			if f.pending || f.st.Nonce != nonce {
				continue // stale handle: accepted, nothing deleted
			}
			seen[seq] = true
			q.idx.removeFlight(seq, f)
			dels = append(dels, del{seq, f})
			b.DeleteMessage(qid, seq)
			continue
		}
		check = append(check, i)
	}
	q.mu.Unlock()
	// Messages not in flight: delete them if the handle is still their
	// latest (their visibility timeout expired and nobody received them
	// since).
	for _, i := range check {
		seq, nonce, _ := q.handle(handles[i])
		st, err := s.st.GetState(ctx, qid, seq)
		if errors.Is(err, store.ErrNotFound) || err == nil && st.Nonce != nonce {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read message state: %w", err)
		}
		q.mu.Lock()
		if q.idx.inflight[seq] == nil && !seen[seq] {
			seen[seq] = true
			q.idx.dropVisible(seq)
			dels = append(dels, del{seq, nil})
			b.DeleteMessage(qid, seq)
		}
		q.mu.Unlock()
	}
	if b.Len() == 0 {
		return errs, nil
	}
	if err := s.st.Commit(ctx, &b); err != nil {
		q.mu.Lock()
		for _, d := range dels {
			if d.f != nil {
				q.idx.addFlight(d.seq, d.f)
			} else if q.idx.dropped[d.seq] {
				delete(q.idx.dropped, d.seq)
				q.idx.nVisible++
			}
		}
		q.mu.Unlock()
		return nil, fmt.Errorf("delete messages: %w", err)
	}
	return errs, nil
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
	errs := make([]error, len(entries))
	now := s.clock.Now()
	nowNs := now.UnixNano()
	var b store.Batch
	type change struct {
		seq uint64
		f   *flight
		old store.State
	}
	var changes []change
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return nil, errNoQueue()
	}
	q.advance(now)
	qid := q.rec.ID
	var check []int
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
			check = append(check, i)
			continue
		}
		if f.pending || f.st.Nonce != nonce {
			errs[i] = invalidValue("ReceiptHandle", e.ReceiptHandle, "The receipt handle has expired.")
			continue
		}
		newAt := nowNs + int64(t)*int64(time.Second)
		if newAt-f.receivedAt > int64(maxVisibility) {
			errs[i] = invalidValue("VisibilityTimeout", t, "Total VisibilityTimeout for the message is beyond the limit [43200 seconds]")
			continue
		}
		old := f.st
		f.st.VisibleAt = newAt
		changes = append(changes, change{seq, f, old})
		b.PutState(qid, seq, f.st)
		if t == 0 {
			q.idx.returnFlight(seq, f)
			q.signal()
		} else {
			q.idx.expiry.Push(timed{at: newAt, seq: seq})
		}
	}
	q.mu.Unlock()
	for _, i := range check {
		seq, nonce, _ := q.handle(entries[i].ReceiptHandle)
		st, err := s.st.GetState(ctx, qid, seq)
		if err == nil && st.Nonce == nonce {
			errs[i] = errorf(ErrMessageNotInflight, "Message does not exist or is not available for visibility timeout change.")
		} else {
			errs[i] = invalidValue("ReceiptHandle", entries[i].ReceiptHandle, "The receipt handle has expired.")
		}
	}
	if b.Len() == 0 {
		return errs, nil
	}
	if err := s.st.Commit(ctx, &b); err != nil {
		// The in-memory deadline stays changed; the stored one is the
		// older, so a restart returns the message earlier, never later.
		s.log.Warn("change visibility not persisted", "queue", q.rec.Name, "err", err)
		return nil, fmt.Errorf("change visibility: %w", err)
	}
	return errs, nil
}
