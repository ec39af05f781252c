package topic

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/forkline/forkline/internal/queue"
	"github.com/forkline/forkline/internal/schedule"
	"github.com/forkline/forkline/internal/store"
)

// outRec is one pending delivery in the outbox: an HTTP notification or
// confirmation, or a message on its way to a subscription's dead-letter
// queue. It is written in the same batch as the publish (or subscribe)
// that caused it and deleted in the same batch as its outcome.
type outRec struct {
	Type       string                   `json:"type"` // Notification, SubscriptionConfirmation, UnsubscribeConfirmation
	Sub        string                   `json:"sub"`  // subscription ARN
	Topic      string                   `json:"topic"`
	Protocol   string                   `json:"protocol"`
	Endpoint   string                   `json:"endpoint"`
	MessageID  string                   `json:"messageId"`
	Message    string                   `json:"message"`
	Subject    string                   `json:"subject,omitempty"`
	HasSubject bool                     `json:"hasSubject,omitempty"`
	Timestamp  string                   `json:"timestamp"`
	Attrs      []store.MessageAttribute `json:"attrs,omitempty"`
	Token      string                   `json:"token,omitempty"`
	Raw        bool                     `json:"raw,omitempty"`
	SigVersion string                   `json:"sigVersion,omitempty"`
	Seq        string                   `json:"seq,omitempty"`
	GroupID    string                   `json:"groupId,omitempty"`
	DedupID    string                   `json:"dedupId,omitempty"`
	Trace      string                   `json:"trace,omitempty"`
	// Attempt counts failed attempts so far.
	Attempt int `json:"attempt,omitempty"`
	// DLQ marks a delivery that failed for good: it goes to the
	// subscription's dead-letter queue.
	DLQ bool `json:"dlq,omitempty"`
	// Replayed marks a message a replay delivers again.
	Replayed bool `json:"replayed,omitempty"`
	// status is the HTTP status of the last attempt's answer, 0 when
	// there was none, and requestID the function invocation's ID, for
	// delivery status logging.
	status    int
	requestID string
	// Due is when a retry is next attempted (Unix nanoseconds), so that
	// a restart keeps the policy's spacing instead of trying every
	// waiting delivery at once.
	Due int64 `json:"due,omitempty"`

	id string
}

var outSeq atomic.Uint64

func (s *Service) newOut(o *outRec) *outRec {
	o.id = fmt.Sprintf("%016x%08x", s.clock.Now().UnixNano(), outSeq.Add(1)&0xffffffff)
	return o
}

func (o *outRec) put(b *store.Batch) { b.PutRecord(nsOut, o.id, mustJSON(o)) }

// notificationRecord is the outbox record of one message for one
// subscription.
func (s *Service) notificationRecord(t *topic, p *prepared, sub *subscription, sigVer string) *outRec {
	o := &outRec{
		Type: "Notification", Sub: sub.arn, Topic: t.arn, Protocol: sub.rec.Protocol, Endpoint: sub.rec.Endpoint,
		MessageID: p.id, Message: p.message(sub.rec.Protocol), Subject: p.in.Subject, HasSubject: p.in.HasSubject,
		Timestamp: p.ts, Raw: sub.raw, SigVersion: sigVer, Trace: p.in.TraceHeader, Replayed: p.replayed,
	}
	if p.msgs == nil {
		o.Attrs = p.in.Attributes
	}
	if t.fifo {
		o.Seq = formatSeq(p.seq)
		o.GroupID, o.DedupID = p.in.GroupID, p.dedupID
	}
	return s.newOut(o)
}

// confirmationRecord is the outbox record of a SubscriptionConfirmation or
// UnsubscribeConfirmation. Requires s.mu (for t.rec).
func (s *Service) confirmationRecord(t *topic, sub *subscription, typ string) *outRec {
	token := sub.rec.Token
	msg := "You have chosen to subscribe to the topic " + t.arn + ".\nTo confirm the subscription, visit the SubscribeURL included in this message."
	if typ == "UnsubscribeConfirmation" {
		token = newToken()
		msg = "You have chosen to deactivate subscription " + sub.arn + ".\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this message."
	}
	sigVer := t.rec.Attributes["SignatureVersion"]
	if sigVer == "" {
		sigVer = "1"
	}
	return s.newOut(&outRec{
		Type: typ, Sub: sub.arn, Topic: t.arn, Protocol: sub.rec.Protocol, Endpoint: sub.rec.Endpoint,
		MessageID: newID(), Message: msg, Token: token, SigVersion: sigVer,
		Timestamp: s.clock.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
	})
}

// body renders what the endpoint receives.
func (s *Service) outBody(o *outRec) []byte {
	if o.Type == "Notification" && o.Raw {
		return []byte(o.Message)
	}
	e := envelope{Type: o.Type, MessageID: o.MessageID, TopicArn: o.Topic, Message: o.Message, Timestamp: o.Timestamp}
	if o.Type == "Notification" {
		e.Subject, e.HasSubject, e.Attrs, e.Replayed = o.Subject, o.HasSubject, o.Attrs, o.Replayed
		e.UnsubscribeURL = s.unsubscribeURL(o.Sub)
		if o.Seq != "" {
			e.SequenceNumber = o.Seq
			return e.render()
		}
		e.SignatureVersion, e.SigningCertURL = o.SigVersion, s.certURL()
		e.Signature = s.signer.sign(o.SigVersion, notificationToSign(o.MessageID, o.Topic, o.Subject, o.HasSubject, o.Message, o.Timestamp))
		return e.render()
	}
	e.Token = o.Token
	e.SubscribeURL = s.subscribeURL(o.Topic, o.Token)
	e.SignatureVersion, e.SigningCertURL = o.SigVersion, s.certURL()
	e.Signature = s.signer.sign(o.SigVersion, stringToSign([][2]string{
		{"Message", o.Message}, {"MessageId", o.MessageID}, {"SubscribeURL", e.SubscribeURL},
		{"Timestamp", o.Timestamp}, {"Token", o.Token}, {"TopicArn", o.Topic}, {"Type", o.Type},
	}))
	return e.render()
}

// dispatcher delivers outbox records when they fall due, up to
// maxInFlight at once.
type dispatcher struct {
	s *Service
	q *schedule.Queue[*outRec]

	mu   sync.Mutex           // guards next
	next map[string]time.Time // earliest next delivery per throttled subscription
}

// throttle reserves a delivery slot for a subscription limited to perSecond
// deliveries and returns how long to wait for it (0: deliver now).
func (d *dispatcher) throttle(o *outRec, perSecond int) time.Duration {
	if perSecond <= 0 || o.Type != "Notification" {
		return 0
	}
	sub := o.Sub
	now := d.s.clock.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if at, ok := d.next[sub]; ok && at.After(now) {
		return at.Sub(now)
	}
	d.next[sub] = now.Add(time.Second / time.Duration(perSecond))
	return 0
}

// maxInFlight bounds concurrent deliveries, and perSubscription those of
// one subscription: an endpoint slow to answer holds at most that many of
// the slots, and the other subscriptions' deliveries go on.
const (
	maxInFlight     = 128
	perSubscription = 16
)

// httpTimeout is SNS's delivery timeout (developer guide, "Amazon SNS
// message delivery retries").
const httpTimeout = 15 * time.Second

func newDispatcher(s *Service) *dispatcher {
	q := schedule.New[*outRec](s.clock, maxInFlight)
	q.LimitPerKey(perSubscription, func(o *outRec) string { return o.Sub })
	return &dispatcher{s: s, q: q, next: map[string]time.Time{}}
}

// load schedules every stored outbox record: a retry when its policy
// put it, the others now.
func (d *dispatcher) load(ctx context.Context) error {
	now := d.s.clock.Now()
	return d.s.st.ScanRecords(ctx, nsOut, "", func(k string, v []byte) error {
		o := new(outRec)
		if err := json.Unmarshal(v, o); err != nil {
			return fmt.Errorf("%w: outbox record: %v", store.ErrCorrupt, err)
		}
		o.id = k
		at := now
		if due := time.Unix(0, o.Due); o.Due != 0 && due.After(now) {
			at = due
		}
		d.q.Add(o, at)
		return nil
	})
}

// add schedules a record whose commit has returned, due now.
func (d *dispatcher) add(o *outRec) { d.q.Add(o, d.s.clock.Now()) }

func (d *dispatcher) run(ctx context.Context) { d.q.Run(ctx, d.deliver) }

// deliver makes one attempt and records its outcome.
func (d *dispatcher) deliver(ctx context.Context, o *outRec) {
	s := d.s
	s.mu.RLock()
	sub := s.subs[o.Sub]
	s.mu.RUnlock()
	if o.Type == "Notification" && sub == nil {
		d.finish(ctx, o, nil) // unsubscribed meanwhile: nothing to deliver
		return
	}
	if o.DLQ {
		d.toDLQ(ctx, o, sub)
		return
	}
	policy := managedPolicy()
	if sub != nil {
		policy = sub.retry
	} else if o.Protocol == "http" || o.Protocol == "https" {
		policy = defaultHTTPPolicy()
	}
	var permanent bool
	var err error
	switch o.Protocol {
	case "http", "https":
		// A retry due while the server was down for longer than the
		// retry time is given up, as it would have been.
		if o.Attempt > 0 && pastHTTPRetryTime(o, s.clock.Now()) {
			d.giveUp(ctx, o, sub)
			return
		}
		// throttlePolicy.maxReceivesPerSecond spaces the deliveries of
		// a subscription; a throttled delivery waits without spending an
		// attempt.
		if wait := d.throttle(o, policy.MaxPerSecond); wait > 0 {
			if pastHTTPRetryTime(o, s.clock.Now().Add(wait)) {
				// Held too long behind the throttle: given up, as
				// after its last retry.
				d.giveUp(ctx, o, sub)
				return
			}
			d.q.Add(o, s.clock.Now().Add(wait))
			return
		}
		permanent, err = d.post(ctx, o, policy)
	case "sqs":
		permanent, err = d.toQueue(ctx, o, o.Endpoint)
		if err == nil {
			d.logAttempt(o, nil)
			return // the queue write deleted the record
		}
	case "lambda":
		permanent, err = d.toFunction(ctx, o)
	case "firehose":
		permanent, err = d.toStream(ctx, o)
	default:
		d.finish(ctx, o, nil)
		return
	}
	if err == nil {
		d.logAttempt(o, nil)
		d.finish(ctx, o, nil)
		return
	}
	if ctx.Err() != nil {
		return // shutting down: the record stays for the next start
	}
	d.logAttempt(o, err)
	o.Attempt++
	delay, more := policy.delay(o.Attempt)
	delay = jitter(delay)
	if more && (o.Protocol == "http" || o.Protocol == "https") && pastHTTPRetryTime(o, s.clock.Now().Add(delay)) {
		more = false
	}
	if permanent || !more {
		s.warns.warn(s.log, o.Sub, "delivery failed, no retry left", "subscription", o.Sub, "endpoint", ShownEndpoint(o.Endpoint), "attempts", o.Attempt,
			"permanent", permanent, "err", err)
		d.giveUp(ctx, o, sub)
		return
	}
	s.log.Debug("delivery attempt failed", "subscription", o.Sub, "endpoint", ShownEndpoint(o.Endpoint), "attempt", o.Attempt, "retryIn", delay, "err", err)
	due := s.clock.Now().Add(delay)
	o.Due = due.UnixNano()
	var b store.Batch
	o.put(&b)
	if err := s.st.Commit(ctx, &b); err != nil {
		s.log.Error("record delivery attempt", "err", err)
	}
	d.q.Add(o, due)
}

// ShownEndpoint hides the password of an HTTP endpoint's credentials
// (https://user:password@host/path) in logs and API answers.
//
// The password is shown as "****", as SNS shows an endpoint's password
// in subscription attributes and lists; the URL need not parse.
func ShownEndpoint(endpoint string) string {
	scheme, rest, ok := strings.Cut(endpoint, "://")
	if !ok {
		return endpoint
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndexByte(rest[:end], '@')
	if at < 0 {
		return endpoint
	}
	user, _, hasPass := strings.Cut(rest[:at], ":")
	if !hasPass {
		return endpoint
	}
	return scheme + "://" + user + ":****" + rest[at:]
}

// logAttempt writes a notification's delivery attempt into the topic's
// delivery status log, when it keeps one for the protocol: every failed
// attempt, and a sample of successes.
func (d *dispatcher) logAttempt(o *outRec, err error) {
	if o.Type != "Notification" || d.s.cfg.DeliveryLog == nil || !feedback(d.s.topicAttributes(o.Topic), o.Protocol, err == nil) {
		return
	}
	out := deliveryOutcome{topicArn: o.Topic, proto: o.Protocol, messageID: o.MessageID, message: o.Message,
		published: o.Timestamp, destination: ShownEndpoint(o.Endpoint), attempts: o.Attempt + 1, ok: err == nil}
	switch o.Protocol {
	case "http", "https":
		out.status = o.status
		if out.provider = http.StatusText(o.status); err != nil && o.status == 0 {
			out.provider = err.Error()
		}
	case "lambda":
		out.status = http.StatusAccepted // an asynchronous invocation
		if err == nil {
			out.provider = providerJSON("lambdaRequestId", o.requestID)
		}
	default:
		out.status = http.StatusOK
	}
	if err != nil {
		if o.Protocol != "http" && o.Protocol != "https" {
			out.status = 0
		}
		if out.provider == "" {
			out.provider = providerJSON("ErrorMessage", err.Error())
		}
	}
	d.s.writeDeliveryLog(out)
}

// jitter shortens a retry delay by up to a fifth, at random: "Amazon SNS
// applies jittering to delivery retries" (SNS developer guide, "Amazon SNS
// message delivery retries"), so that the retries of messages that failed
// together spread out. A retry never comes later than its policy puts it,
// so the policy's total retry time stays an upper bound.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d - rand.N(d/5+1)
}

// giveUp ends a delivery that will not be tried again: a notification
// goes to its subscription's dead-letter queue when it has one.
func (d *dispatcher) giveUp(ctx context.Context, o *outRec, sub *subscription) {
	if o.Type == "Notification" && sub != nil && sub.dlq != "" {
		o.DLQ = true
		d.toDLQ(ctx, o, sub)
		return
	}
	d.finish(ctx, o, nil)
}

// maxHTTPRetryTime bounds how long SNS keeps trying an HTTP/S delivery
// after the message was published, retries and throttling included
// (SNS developer guide, "Amazon SNS message delivery retries": a hard
// limit of 3,600 seconds).
const maxHTTPRetryTime = time.Hour

// pastHTTPRetryTime reports whether an attempt at next would come later
// than maxHTTPRetryTime after o's message was published.
func pastHTTPRetryTime(o *outRec, next time.Time) bool {
	ts, err := time.Parse(time.RFC3339Nano, o.Timestamp)
	return err == nil && next.Sub(ts) > maxHTTPRetryTime
}

// post sends an HTTP delivery. Its failures are never permanent: the
// policy retries them.
func (d *dispatcher) post(ctx context.Context, o *outRec, p deliveryPolicy) (bool, error) {
	s := d.s
	if s.cfg.Poster == nil {
		return false, fmt.Errorf("no HTTP client configured")
	}
	h := map[string]string{
		"x-amz-sns-message-type": o.Type,
		"x-amz-sns-message-id":   o.MessageID,
		"x-amz-sns-topic-arn":    o.Topic,
		"User-Agent":             "Amazon Simple Notification Service Agent",
		"Content-Type":           "text/plain; charset=UTF-8",
	}
	if o.Type != "SubscriptionConfirmation" {
		h["x-amz-sns-subscription-arn"] = o.Sub
	}
	if o.Type == "Notification" {
		h["Content-Type"] = p.ContentType
		if o.Raw {
			h["x-amz-sns-rawdelivery"] = "true"
		}
	}
	cctx, cancel := context.WithTimeout(ctx, httpTimeout)
	defer cancel()
	status, err := s.cfg.Poster.Post(cctx, o.Endpoint, h, s.outBody(o))
	o.status = status
	switch {
	case err != nil:
		return false, err
	case status >= 200 && status < 400:
		return false, nil
	case status >= 400 && status < 500:
		// "If your endpoint ... returns a status code outside the range
		// of 200–4xx, Amazon SNS will consider the delivery of the
		// message as a failed attempt" (SNS developer guide, "Step 1:
		// Make sure your endpoint is ready to process Amazon SNS
		// messages"): a 4xx is the endpoint's answer, delivered, neither
		// retried nor dead-lettered.
		s.log.Warn("endpoint refused a delivery; SNS counts it delivered", "subscription", o.Sub, "endpoint", ShownEndpoint(o.Endpoint),
			"type", o.Type, "status", status)
		return false, nil
	default:
		return false, fmt.Errorf("endpoint answered %d", status)
	}
}

// toFunction hands a notification to a function as SNS does: an
// asynchronous invocation whose event is a Records list holding the
// notification. A missing function is a permanent (client-side) failure;
// what the function then does with the event is Lambda's business.
func (d *dispatcher) toFunction(ctx context.Context, o *outRec) (bool, error) {
	s := d.s
	fns := s.functions()
	if fns == nil {
		return false, fmt.Errorf("no function service")
	}
	id, found, err := fns.InvokeEvent(ctx, o.Endpoint, s.lambdaEvent(o))
	o.requestID = id
	if err != nil {
		return false, err
	}
	if !found {
		return true, fmt.Errorf("function %s does not exist", o.Endpoint)
	}
	return false, nil
}

// toStream delivers a notification to a Firehose delivery stream. A
// missing stream, or a record the stream refuses (too large), is a
// permanent (client-side) failure.
func (d *dispatcher) toStream(ctx context.Context, o *outRec) (bool, error) {
	fh := d.s.firehose()
	if fh == nil {
		return false, fmt.Errorf("no Firehose service")
	}
	err := fh.PutRecord(ctx, o.Endpoint, d.s.firehoseRecord(o))
	return errors.Is(err, ErrRefused), err
}

// firehoseRecord renders what a Firehose subscription's stream receives:
// the message as published with raw delivery; otherwise the JSON
// notification on one line, without a signature, then a line break, so
// that the stream's buffered objects hold one notification per line (SNS
// developer guide, "Formatting Amazon SNS notifications for storage in
// Amazon S3 destinations").
func (s *Service) firehoseRecord(o *outRec) []byte {
	if o.Raw {
		return []byte(o.Message)
	}
	e := envelope{Type: o.Type, MessageID: o.MessageID, TopicArn: o.Topic, Message: o.Message, Timestamp: o.Timestamp,
		Subject: o.Subject, HasSubject: o.HasSubject, Attrs: o.Attrs, UnsubscribeURL: s.unsubscribeURL(o.Sub), Replayed: o.Replayed}
	var line bytes.Buffer
	if err := json.Compact(&line, e.render()); err != nil {
		return e.render() // never: render writes valid JSON
	}
	line.WriteByte('\n')
	return line.Bytes()
}

// lambdaEvent renders the event a function receives from SNS (Lambda
// developer guide, "Using AWS Lambda with Amazon SNS").
func (s *Service) lambdaEvent(o *outRec) []byte {
	type attr struct {
		Type  string `json:"Type"`
		Value string `json:"Value"`
	}
	type snsPart struct {
		Type              string          `json:"Type"`
		MessageID         string          `json:"MessageId"`
		TopicArn          string          `json:"TopicArn"`
		Subject           *string         `json:"Subject"`
		Message           string          `json:"Message"`
		Timestamp         string          `json:"Timestamp"`
		SignatureVersion  string          `json:"SignatureVersion"`
		Signature         string          `json:"Signature"`
		SigningCertURL    string          `json:"SigningCertUrl"`
		UnsubscribeURL    string          `json:"UnsubscribeUrl"`
		MessageAttributes map[string]attr `json:"MessageAttributes"`
	}
	type record struct {
		EventSource          string  `json:"EventSource"`
		EventVersion         string  `json:"EventVersion"`
		EventSubscriptionArn string  `json:"EventSubscriptionArn"`
		Sns                  snsPart `json:"Sns"`
	}
	p := snsPart{Type: "Notification", MessageID: o.MessageID, TopicArn: o.Topic, Message: o.Message, Timestamp: o.Timestamp,
		SignatureVersion: "1", SigningCertURL: s.certURL(), UnsubscribeURL: s.unsubscribeURL(o.Sub), MessageAttributes: map[string]attr{}}
	if o.HasSubject {
		subj := o.Subject
		p.Subject = &subj
	}
	// The event always says SignatureVersion 1, but is signed with the
	// topic's version: SHA256 on a SignatureVersion 2 topic (LocalStack's
	// AWS-validated test_publish_lambda_verify_signature: "Lambda always
	// returns SignatureVersion=1 in messages, however, it can be v2 and
	// the signature needs to be verified against v2").
	ver := o.SigVersion
	if ver == "" {
		ver = "1"
	}
	p.Signature = s.signer.sign(ver, notificationToSign(o.MessageID, o.Topic, o.Subject, o.HasSubject, o.Message, o.Timestamp))
	for _, a := range o.Attrs {
		v := a.StringValue
		if len(a.BinaryValue) > 0 {
			v = base64.StdEncoding.EncodeToString(a.BinaryValue)
		}
		p.MessageAttributes[a.Name] = attr{a.DataType, v}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(map[string][]record{"Records": {{EventSource: "aws:sns", EventVersion: "1.0", EventSubscriptionArn: o.Sub, Sns: p}}})
	return bytes.TrimRight(b.Bytes(), "\n")
}

// toQueue lands a delivery in a queue and deletes its outbox record in the
// same write. A refused message (queue gone, message invalid for it) is a
// permanent failure.
func (d *dispatcher) toQueue(ctx context.Context, o *outRec, queueArn string) (bool, error) {
	s := d.s
	in := queue.SendInput{SenderID: senderID}
	if o.Raw {
		in.Body, in.Attributes = o.Message, sqsAttributes(o.Attrs)
	} else {
		in.Body = string(s.outBody(o))
	}
	if o.Trace != "" && queue.ValidTraceHeader(o.Trace) {
		in.SystemAttributes = []store.MessageAttribute{{Name: "AWSTraceHeader", DataType: "String", StringValue: o.Trace}}
	}
	_, fifo := s.cfg.Queues.QueueByArn(queueArn)
	if o.GroupID != "" {
		in.GroupID, in.HasGroupID = o.GroupID, true
	}
	if fifo && o.DedupID != "" {
		in.DedupID, in.HasDedupID = o.DedupID, true
	}
	var b store.Batch
	b.DeleteRecord(nsOut, o.id)
	txn := s.cfg.Queues.BeginSends(ctx, []queue.Target{{QueueArn: queueArn, Inputs: []queue.SendInput{in}}}, &b)
	early := txn.Early()[0]
	if early.Err == nil && len(early.Results) == 1 && early.Results[0].Err != nil {
		early.Err = early.Results[0].Err
	}
	if early.Err != nil {
		txn.End(early.Err)
		return true, early.Err
	}
	err := s.st.Commit(ctx, &b)
	txn.End(err)
	return false, err
}

// toDLQ moves a failed delivery to the subscription's dead-letter queue,
// or drops it when there is none (or the queue refuses it).
func (d *dispatcher) toDLQ(ctx context.Context, o *outRec, sub *subscription) {
	dlq := ""
	if sub != nil {
		dlq = sub.dlq
	}
	if dlq == "" {
		d.s.warns.warn(d.s.log, "dropped "+o.Sub, "delivery dropped: no dead-letter queue", "subscription", o.Sub, "messageId", o.MessageID)
		d.finish(ctx, o, nil)
		return
	}
	if _, err := d.toQueue(ctx, o, dlq); err != nil {
		d.s.log.Warn("dead-letter queue refused the message; dropped", "subscription", o.Sub, "dlq", dlq, "err", err)
		d.finish(ctx, o, nil)
	}
}

// finish deletes a record whose delivery is over.
func (d *dispatcher) finish(ctx context.Context, o *outRec, _ error) {
	var b store.Batch
	b.DeleteRecord(nsOut, o.id)
	if err := d.s.st.Commit(ctx, &b); err != nil && ctx.Err() == nil {
		d.s.log.Error("delete outbox record", "err", err)
	}
}

// Pending reports the number of outbox records waiting for delivery.
func (s *Service) Pending() int { return s.out.q.Len() }
