package topic

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/forkline/forkline/internal/queue"
	"github.com/forkline/forkline/internal/store"
	"github.com/forkline/forkline/internal/topic/filter"
)

// MaxMessageBytes bounds a published message with its attributes, and a
// batch as a whole, on a topic whose MaximumMessageSize is not set;
// LargeMessageBytes is the most that attribute may allow (SNS developer
// guide, "Publishing large messages with Amazon SNS").
const (
	MaxMessageBytes   = 262144
	LargeMessageBytes = 1 << 20
)

// ErrParameterValueInvalid is the code SNS gives invalid message
// attributes; ErrValidationError its framework's missing-member error.
var (
	ErrParameterValueInvalid = fmt.Errorf("ParameterValueInvalid")
	ErrValidationError       = fmt.Errorf("ValidationError")
)

// senderID is the SenderId of messages SNS delivers into queues.
const senderID = "AIDAIT2UOQQY3AUEKVGXU"

// PublishInput is one message to publish.
type PublishInput struct {
	// ID is the batch entry Id (PublishBatch only).
	ID               string
	TopicArn         string
	TargetArn        string
	PhoneNumber      string
	Message          string
	Subject          string
	HasSubject       bool
	MessageStructure string
	Attributes       []store.MessageAttribute
	GroupID          string
	HasGroupID       bool
	DedupID          string
	HasDedupID       bool
	// TraceHeader is the caller's X-Amzn-Trace-Id, passed on to queues as
	// AWSTraceHeader.
	TraceHeader string
}

// PublishResult is the answer for one published message.
type PublishResult struct {
	ID             string
	MessageID      string
	SequenceNumber string
	// Err is a batch entry's own failure (PublishBatch's Failed list): the
	// entry was not published, the others were.
	Err *Error
}

// prepared is a validated message on its way to the store.
type prepared struct {
	in       *PublishInput
	msgs     map[string]string // per protocol, MessageStructure=json only
	id       string
	ts       string
	dedupKey string
	dedupID  string
	seq      uint64
	dup      bool
	replayed bool // delivered again by a replay
	fm       *filter.Message
	// raw holds, per raw message text, its ValidBody, MD5 and the body
	// its copies share.
	raw map[string]*rawBody
	// attrs is the queues' check of the message attributes that raw
	// copies carry, made for the first and kept when it passed.
	attrs *queue.AttrCheck
}

type rawBody struct {
	ok     bool
	md5    string
	shared *queue.SharedBody
}

var tokenRE = regexp.MustCompile("^[A-Za-z0-9!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~]{1,128}$")

// Publish publishes one message and returns once it and its fan-out are
// durable.
func (s *Service) Publish(ctx context.Context, in PublishInput) (PublishResult, error) {
	arn, param := in.TopicArn, "TopicArn"
	if arn == "" {
		arn, param = in.TargetArn, "TargetArn"
	}
	if in.PhoneNumber != "" && arn == "" {
		// A direct SMS: "The phone number to which you want to deliver an
		// SMS message. Use E.164 format." (SNS API reference, Publish).
		// forkline sends no SMS; a message to a valid number is accepted
		// as SMS subscriptions are.
		if !phoneNumber(in.PhoneNumber) {
			return PublishResult{}, invalidParam("PhoneNumber", in.PhoneNumber+" is not valid to publish to")
		}
		// The message is checked as one to a standard topic is (Subject,
		// MessageStructure, attributes, size).
		p, err := s.prepare(&topic{}, &in, "")
		if err != nil {
			return PublishResult{}, err
		}
		// "The total size limit for a single SMS Publish action is 1,600
		// characters" (SNS API reference, Publish); SNS's wording for
		// going past it is not recorded: the size error's is used.
		if utf8.RuneCountInString(p.message("sms")) > 1600 {
			return PublishResult{}, errorf(ErrInvalidParameter, "Invalid parameter: Message too long")
		}
		s.log.Info("sms not sent: forkline delivers no SMS", "phone_number", in.PhoneNumber, "message", p.message("sms"))
		return PublishResult{MessageID: newID()}, nil
	}
	if arn == "" {
		return PublishResult{}, invalidParam("TopicArn or TargetArn", "no value for required parameter")
	}
	// A mobile platform endpoint (arn:...:endpoint/PLATFORM/APP/ID); the
	// words for one that does not exist are AWS's, recorded in
	// LocalStack's test_publish_non_existent_target.
	if parts := strings.SplitN(arn, ":", 6); param == "TargetArn" && len(parts) == 6 && parts[2] == "sns" && strings.HasPrefix(parts[5], "endpoint/") {
		return s.publishToEndpoint(&in, arn)
	}
	t, err := s.lookupTopic(arn, param)
	if err != nil {
		return PublishResult{}, err
	}
	p, err := s.prepare(t, &in, "")
	if err != nil {
		return PublishResult{}, err
	}
	res, err := s.publish(ctx, t, []*prepared{p})
	if err != nil {
		return PublishResult{}, err
	}
	return res[0], nil
}

// PublishBatch publishes up to 10 messages in one durable write. An entry
// with an invalid Subject fails alone, in the result's Failed list, and
// the others are published (recorded AWS behaviour: a connector's tests
// run against SNS get "Invalid parameter: Subject" per entry, HTTP 200);
// other invalid entries fail the whole request, as LocalStack's
// AWS-validated test_publish_batch_exceptions records.
func (s *Service) PublishBatch(ctx context.Context, topicArn string, in []PublishInput) ([]PublishResult, error) {
	if len(in) == 0 {
		return nil, errorf(ErrEmptyBatch, "The batch request doesn't contain any entries.")
	}
	if len(in) > 10 {
		return nil, errorf(ErrTooManyEntries, "The batch request contains more entries than permissible.")
	}
	t, err := s.lookupTopic(topicArn, "TopicArn")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i := range in {
		id := in[i].ID
		if seen[id] {
			return nil, errorf(ErrBatchEntryIdsNotDistinct, "Two or more batch entries in the request have the same Id.")
		}
		seen[id] = true
		if len(id) > 80 {
			return nil, errorf(ErrInvalidBatchEntryID, "The Id of a batch entry in the batch request is too long: %s", id)
		}
		if id == "" || strings.IndexFunc(id, func(r rune) bool {
			return !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
		}) >= 0 {
			return nil, errorf(ErrInvalidBatchEntryID, "The Id of a batch entry in the batch request contains an impermissible character: %s", id)
		}
	}
	ps := make([]*prepared, 0, len(in))
	failed := make([]*Error, len(in))
	total := 0
	for i := range in {
		total += messageSize(&in[i])
		if err := checkSubject(&in[i]); err != nil {
			failed[i] = err.(*Error)
			continue
		}
		p, err := s.prepare(t, &in[i], fmt.Sprintf("publishBatchRequestEntries.%d.member.", i+1))
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	// The batch as a whole is held to the topic's MaximumMessageSize
	// (SNS API reference, PublishBatch).
	if total > s.maxMessageBytes(t) {
		return nil, errorf(ErrBatchRequestTooLong, "The length of all the messages put together is more than the limit.")
	}
	var published []PublishResult
	if len(ps) > 0 {
		var err error
		if published, err = s.publish(ctx, t, ps); err != nil {
			return nil, err
		}
	}
	out := make([]PublishResult, 0, len(in))
	for i := range in {
		if failed[i] != nil {
			out = append(out, PublishResult{ID: in[i].ID, Err: failed[i]})
			continue
		}
		out = append(out, published[0])
		published = published[1:]
	}
	return out, nil
}

// checkSubject checks a Subject: 1 to 100 characters, no line breaks or
// control characters (SNS API reference, Publish).
func checkSubject(in *PublishInput) error {
	if in.HasSubject {
		if in.Subject == "" || utf8.RuneCountInString(in.Subject) > 100 || strings.ContainsAny(in.Subject, "\r\n") ||
			strings.IndexFunc(in.Subject, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
			return invalidParam("Subject", "")
		}
	}
	return nil
}

// maxMessageBytes is the topic's MaximumMessageSize.
func (s *Service) maxMessageBytes(t *topic) int {
	s.mu.RLock()
	v := t.rec.Attributes["MaximumMessageSize"]
	s.mu.RUnlock()
	if n, err := strconv.Atoi(v); err == nil {
		return n
	}
	return MaxMessageBytes
}

func messageSize(in *PublishInput) int {
	n := len(in.Message)
	for _, a := range in.Attributes {
		n += len(a.Name) + len(a.DataType) + len(a.StringValue) + len(a.BinaryValue)
	}
	return n
}

// prepare validates one message (SNS API reference, Publish).
func (s *Service) prepare(t *topic, in *PublishInput, path string) (*prepared, error) {
	if err := checkSubject(in); err != nil {
		return nil, err
	}
	if in.Message == "" {
		return nil, errorf(ErrInvalidParameter, "Invalid parameter: Empty message")
	}
	if err := validateMessageAttributes(in.Attributes, path); err != nil {
		return nil, err
	}
	if messageSize(in) > s.maxMessageBytes(t) {
		return nil, errorf(ErrInvalidParameter, "Invalid parameter: Message too long")
	}
	p := &prepared{in: in}
	if t.fifo {
		if !in.HasGroupID || in.GroupID == "" {
			return nil, errorf(ErrInvalidParameter, "Invalid parameter: The MessageGroupId parameter is required for FIFO topics")
		}
		s.mu.RLock()
		cbd := t.rec.Attributes["ContentBasedDeduplication"] == "true"
		byGroup := t.rec.Attributes["FifoThroughputScope"] == "MessageGroup"
		s.mu.RUnlock()
		switch {
		case in.HasDedupID:
			// Cloned: a value of a parsed form shares the request's
			// buffer, which the deduplication window would keep for five
			// minutes.
			p.dedupID = strings.Clone(in.DedupID)
		case cbd:
			sum := sha256.Sum256([]byte(in.Message))
			p.dedupID = hex.EncodeToString(sum[:])
		default:
			return nil, errorf(ErrInvalidParameter, "Invalid parameter: The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
		}
		p.dedupKey = p.dedupID
		if byGroup {
			p.dedupKey = in.GroupID + "\x00" + p.dedupID
		}
	} else if in.HasDedupID {
		return nil, invalidParam("MessageDeduplicationId", "The request includes MessageDeduplicationId parameter that is not valid for this topic type")
	}
	if in.HasGroupID && !tokenRE.MatchString(in.GroupID) {
		return nil, invalidParam("MessageGroupId", "MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length.")
	}
	if in.HasDedupID && !tokenRE.MatchString(in.DedupID) {
		return nil, invalidParam("MessageDeduplicationId", "MessageDeduplicationId can only include alphanumeric and punctuation characters. 1 to 128 in length.")
	}
	if in.MessageStructure != "" {
		if in.MessageStructure != "json" {
			return nil, invalidParam("MessageStructure", "")
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(in.Message), &m); err != nil {
			return nil, errorf(ErrInvalidParameter, "Invalid parameter: Message Structure - JSON message body failed to parse")
		}
		p.msgs = map[string]string{}
		for k, v := range m {
			if sv, ok := v.(string); ok {
				p.msgs[k] = sv
			}
		}
		if _, ok := p.msgs["default"]; !ok {
			return nil, errorf(ErrInvalidParameter, "Invalid parameter: Message Structure - No default entry in JSON message body")
		}
	}
	return p, nil
}

// snsReserved tells the attribute names that SNS documents for publishers
// to set, in the otherwise reserved AWS. prefix: SMS settings such as
// AWS.SNS.SMS.SMSType and AWS.MM.SMS.OriginationNumber (SNS developer
// guide, "Publishing SMS messages to a topic") and mobile push settings
// such as AWS.SNS.MOBILE.APNS.TTL (SNS developer guide, "Using the Amazon
// SNS time to live (TTL) message attribute").
func snsReserved(name string) bool {
	for _, p := range []string{"AWS.SNS.SMS.", "AWS.SNS.MOBILE.", "AWS.MM.SMS."} {
		if strings.HasPrefix(name, p) && len(name) > len(p) {
			return true
		}
	}
	return false
}

// sqsAttributes returns the attributes a raw delivery gives a queue: all
// but SNS's own settings (snsReserved), whose AWS. prefix SQS refuses
// (SQS API reference, MessageAttributeValue).
func sqsAttributes(attrs []store.MessageAttribute) []store.MessageAttribute {
	for i, a := range attrs {
		if !strings.HasPrefix(a.Name, "AWS.") {
			continue
		}
		kept := append([]store.MessageAttribute(nil), attrs[:i]...)
		for _, a := range attrs[i+1:] {
			if !strings.HasPrefix(a.Name, "AWS.") {
				kept = append(kept, a)
			}
		}
		return kept
	}
	return attrs
}

// validateMessageAttributes checks SNS message attributes in the order and
// with the messages SNS uses (SNS developer guide, "Amazon SNS message
// attributes").
func validateMessageAttributes(attrs []store.MessageAttribute, path string) error {
	seen := map[string]bool{}
	for _, a := range attrs {
		bad := func(format string, args ...any) error { return errorf(ErrParameterValueInvalid, format, args...) }
		if len(a.Name) > 256 {
			return bad("Length of message attribute name must be less than 256 bytes.")
		}
		if a.Name == "" {
			return bad("The message attribute name can not be empty.")
		}
		for i := 0; i < len(a.Name); i++ {
			c := a.Name[i]
			if !(c == '_' || c == '-' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return bad("Invalid non-alphanumeric character '#x%X' was found in the message attribute name. Can only include alphanumeric characters, hyphens, underscores, or dots.", c)
			}
		}
		switch {
		case strings.HasPrefix(a.Name, "."):
			return bad("Invalid message attribute name starting with character '.' was found.")
		case strings.HasSuffix(a.Name, "."):
			return bad("Invalid message attribute name ending with character '.' was found.")
		case strings.Contains(a.Name, ".."):
			return bad("Message attribute name can not have successive '.' character.")
		}
		if l := strings.ToLower(a.Name); (strings.HasPrefix(l, "aws.") && !snsReserved(a.Name)) || strings.HasPrefix(l, "amazon.") {
			return bad("The message attribute name '%s' starts with a reserved prefix (AWS. or Amazon.).", a.Name)
		}
		if seen[a.Name] {
			return bad("The message attribute '%s' is duplicated.", a.Name)
		}
		seen[a.Name] = true
		if a.DataType == "" {
			return errorf(ErrValidationError, "1 validation error detected: Value null at '%smessageAttributes.%s.member.dataType' failed to satisfy constraint: Member must not be null", path, a.Name)
		}
		// A custom type is the base, a period and a label: "String." has
		// none (recorded AWS answer, LocalStack's AWS-validated
		// test_message_attributes_prefixes snapshot).
		base, label, custom := strings.Cut(a.DataType, ".")
		if (base != "String" && base != "Number" && base != "Binary") || custom && label == "" || len(a.DataType) > 256 {
			return bad("The message attribute '%s' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.", a.Name)
		}
		if base == "Binary" {
			if a.StringValue != "" {
				return bad("The message attribute '%s' with type '%s' must use field 'Binary'.", a.Name, a.DataType)
			}
			if len(a.BinaryValue) == 0 {
				return bad("The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", a.Name, a.DataType)
			}
			continue
		}
		if len(a.BinaryValue) > 0 {
			return bad("The message attribute '%s' with type '%s' must use field 'String'.", a.Name, a.DataType)
		}
		if a.StringValue == "" {
			return bad("The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", a.Name, a.DataType)
		}
		switch {
		case base == "Number":
			// Decimal only, as a queue takes it on a raw delivery: Go's
			// parser would also take "NaN", "0x1p3" and "1_0".
			f, err := strconv.ParseFloat(a.StringValue, 64)
			if err != nil || !queue.DecimalSyntax(a.StringValue) {
				return bad("Could not cast message attribute '%s' value to number.", a.Name)
			}
			if f < -1e9 || f > 1e9 {
				return bad("Value %s for parameter MessageAttributes is invalid. Reason: Number values must be between -1000000000 and 1000000000.", a.StringValue)
			}
		case a.DataType == "String.Array":
			var arr []any
			if err := json.Unmarshal([]byte(a.StringValue), &arr); err != nil {
				return bad("The message attribute '%s' with type 'String.Array' has an invalid value. The value must be a JSON array of strings, numbers, true, false or null.", a.Name)
			}
			for _, e := range arr {
				switch e.(type) {
				case map[string]any, []any:
					return bad("The message attribute '%s' with type 'String.Array' has an invalid value. The value must be a JSON array of strings, numbers, true, false or null.", a.Name)
				}
			}
		}
	}
	return nil
}

// message returns the text a subscription of proto receives.
func (p *prepared) message(proto string) string {
	if p.msgs == nil {
		return p.in.Message
	}
	if m, ok := p.msgs[proto]; ok {
		return m
	}
	return p.msgs["default"]
}

// logUndelivered writes what an email, SMS or mobile push subscription
// would be sent: forkline has no such delivery. The text is cut to its
// first KiB.
func (s *Service) logUndelivered(p *prepared, sub *subscription) {
	key := sub.rec.Protocol
	if key == "application" {
		// A push endpoint gets its platform's message
		// (…:endpoint/PLATFORM/APP/ID), else the default one.
		if parts := strings.Split(sub.rec.Endpoint, "/"); len(parts) == 4 && p.msgs[parts[1]] != "" {
			key = parts[1]
		}
	}
	msg := p.message(key)
	if len(msg) > 1024 {
		msg = strings.ToValidUTF8(msg[:1024], "") + "…"
	}
	s.log.Info(sub.rec.Protocol+" not sent, forkline has no "+sub.rec.Protocol+" delivery",
		"subscription", sub.arn, "endpoint", sub.rec.Endpoint, "message_id", p.id, "subject", p.in.Subject, "message", msg)
}

func formatSeq(seq uint64) string { return strconv.FormatUint(10_000_000_000_000_000_000+seq, 10) }

// delivery maps one queue send back to its message and subscription.
type delivery struct {
	p   *prepared
	sub *subscription
}

func (s *Service) publish(ctx context.Context, t *topic, ps []*prepared) ([]PublishResult, error) {
	if t.fifo {
		// Hold the topic's order from here to the queues' own numbering
		// in BeginSends, so that each group keeps its order in every
		// queue, and so that a replay turns live between two publishes.
		t.order.Lock()
	}
	now := s.clock.Now()
	ts := now.UTC().Format("2006-01-02T15:04:05.000Z")
	for _, p := range ps {
		p.id = newID()
		p.ts = ts
	}
	var b store.Batch
	var done chan struct{}
	var mine []string
	if t.fifo {
		// First, since it may wait (for a deletion's outcome, or for a
		// duplicate's commit): what follows reads the topic as it is
		// once the message has its place.
		var err error
		if done, mine, err = s.numberFIFO(ctx, t, ps, now, &b); err != nil {
			t.order.Unlock()
			return nil, err
		}
	}
	s.mu.RLock()
	subs := t.subs
	sigVer := t.rec.Attributes["SignatureVersion"]
	// The attributes, for delivery status logging of queue copies when
	// the topic keeps it (nil otherwise); a topic's map is replaced, not
	// changed, on update.
	var feedbackAttrs map[string]string
	if s.cfg.DeliveryLog != nil && (t.rec.Attributes["SQSSuccessFeedbackRoleArn"] != "" || t.rec.Attributes["SQSFailureFeedbackRoleArn"] != "") {
		feedbackAttrs = t.rec.Attributes
	}
	days := 0
	if t.fifo {
		days = archiveDays(&t.rec)
	}
	s.mu.RUnlock()
	if sigVer == "" {
		sigVer = "1"
	}
	needBody, filtered, toQueues := false, false, 0
	for _, sub := range subs {
		if sub.rec.Protocol == "sqs" {
			toQueues++
		}
		if sub.policy != nil {
			filtered = true
			needBody = needBody || sub.policy.Scope() == filter.ScopeBody
		}
	}
	// One operation per copy and per shared body, sized up front: a
	// 100-subscription publish otherwise regrows the batch seven times.
	b.Ops = slices.Grow(b.Ops, len(ps)*(len(subs)+2)+2)
	if days > 0 {
		s.archive(t, ps, now, days, &b)
	}

	// Fan out: queue messages into the batch, everything else into the
	// outbox.
	byQueue := make(map[string]int, len(subs))
	targets := make([]queue.Target, 0, len(subs))
	// Each queue's inputs start in one shared array, one place each: a
	// queue subscribed once (the usual case) takes one message per
	// publish, and one with more regrows its own slice.
	slab := make([]queue.SendInput, toQueues)
	owners := make([][]delivery, 0, len(subs))
	var outs []*outRec
	var undelivered []delivery                   // email, sms and application: logged, not sent
	envs := map[*prepared]map[string]*rendered{} // rendered envelopes around their UnsubscribeURL
	for _, p := range ps {
		if p.dup {
			continue
		}
		if filtered {
			// Only filter policies read the message's attributes.
			attrs := make(map[string]filter.Attribute, len(p.in.Attributes))
			for _, a := range p.in.Attributes {
				attrs[a.Name] = filter.Attribute{DataType: a.DataType, Value: a.StringValue}
			}
			p.fm = filter.NewMessage(attrs, p.message("default"), needBody)
		}
		for _, sub := range subs {
			if !sub.rec.Confirmed || sub.rec.Replay.holdsLive() {
				continue
			}
			if sub.policy != nil {
				fm := p.fm
				if sub.policy.Scope() == filter.ScopeBody && p.msgs != nil {
					fm = filter.NewMessage(nil, p.message(sub.rec.Protocol), true)
				}
				if !sub.policy.Match(fm) {
					continue
				}
			}
			switch sub.rec.Protocol {
			case "sqs":
				in := s.queueInput(t, p, sub, sigVer, envs)
				i, ok := byQueue[sub.rec.Endpoint]
				if !ok {
					i = len(targets)
					byQueue[sub.rec.Endpoint] = i
					tg := queue.Target{QueueArn: sub.rec.Endpoint}
					if i < len(slab) {
						tg.Inputs = slab[i : i : i+1]
					}
					targets = append(targets, tg)
					owners = append(owners, nil)
				}
				targets[i].Inputs = append(targets[i].Inputs, in)
				owners[i] = append(owners[i], delivery{p, sub})
			case "http", "https", "lambda", "firehose":
				o := s.notificationRecord(t, p, sub, sigVer)
				o.put(&b)
				outs = append(outs, o)
			default:
				// email, sms and application have no delivery in
				// forkline: what would be sent is logged once the
				// publish is committed.
				undelivered = append(undelivered, delivery{p, sub})
			}
		}
	}
	var txn *queue.SendTxn
	if len(targets) > 0 {
		inlineSingles(targets)
		txn = s.cfg.Queues.BeginSends(ctx, targets, &b)
		if ctx.Err() != nil {
			// The caller gave up while a queue was busy: write nothing,
			// so that a retry is not taken for a duplicate.
			txn.End(ctx.Err())
			if t.fifo {
				t.order.Unlock()
				t.mu.Lock()
				t.release(mine, done)
				for _, k := range mine {
					t.dedup.Delete(k)
				}
				t.mu.Unlock()
				if done != nil {
					close(done)
				}
			}
			return nil, ctx.Err()
		}
		// Deliveries the queues refuse now (queue gone, message too big
		// for it) are client-side failures: the subscription's
		// dead-letter queue gets them through the outbox.
		for i, r := range txn.Early() {
			for j, d := range owners[i] {
				failed := r.Err
				if failed == nil && j < len(r.Results) {
					failed = r.Results[j].Err
				}
				if failed == nil {
					continue
				}
				s.warns.warn(s.log, d.sub.arn, "delivery to queue failed", "subscription", d.sub.arn, "queue", d.sub.rec.Endpoint, "err", failed)
				if d.sub.dlq == "" {
					continue
				}
				o := s.notificationRecord(t, d.p, d.sub, sigVer)
				o.DLQ = true
				o.put(&b)
				outs = append(outs, o)
			}
		}
	}
	if t.fifo {
		t.order.Unlock()
	}
	err := s.st.Commit(ctx, &b)
	var sent []queue.TargetResult
	if txn != nil {
		sent = txn.End(err)
	}
	if t.fifo {
		t.mu.Lock()
		t.release(mine, done)
		if err != nil {
			for _, k := range mine {
				t.dedup.Delete(k)
			}
		}
		t.mu.Unlock()
		if done != nil {
			close(done)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("publish to %s: %w", t.name, err)
	}
	if days > 0 {
		t.archived()
	}
	for _, o := range outs {
		s.out.add(o)
	}
	if feedbackAttrs != nil && sent != nil {
		s.logQueueDeliveries(t, feedbackAttrs, sent, owners)
	}
	if len(undelivered) > 0 && s.log.Enabled(ctx, slog.LevelInfo) {
		for _, d := range undelivered {
			s.logUndelivered(d.p, d.sub)
		}
	}
	res := make([]PublishResult, len(ps))
	for i, p := range ps {
		res[i] = PublishResult{ID: p.in.ID, MessageID: p.id}
		if t.fifo {
			res[i].SequenceNumber = formatSeq(p.seq)
		}
	}
	return res, nil
}

// logQueueDeliveries writes the delivery status entries of a publish's
// copies into queues, when the topic keeps them for SQS.
func (s *Service) logQueueDeliveries(t *topic, attrs map[string]string, sent []queue.TargetResult, owners [][]delivery) {
	sums := map[*prepared]string{} // each message hashed once, not per copy
	for i, r := range sent {
		for j, d := range owners[i] {
			failed := r.Err
			var res queue.SendResult
			if j < len(r.Results) {
				res = r.Results[j]
				if failed == nil {
					failed = res.Err
				}
			}
			if !feedback(attrs, "sqs", failed == nil) {
				continue
			}
			sum, ok := sums[d.p]
			if !ok {
				h := md5.Sum([]byte(d.p.message("sqs")))
				sum = hex.EncodeToString(h[:])
				sums[d.p] = sum
			}
			out := deliveryOutcome{topicArn: t.arn, proto: "sqs", messageID: d.p.id, md5: sum,
				published: d.p.ts, destination: ShownEndpoint(d.sub.rec.Endpoint), attempts: 1, status: 200, ok: true}
			if failed != nil {
				out.ok, out.status, out.provider = false, 400, providerJSON("ErrorMessage", failed.Error())
			} else {
				out.provider = providerJSON("sqsRequestId", newID(), "sqsMessageId", res.MessageID)
			}
			s.writeDeliveryLog(out)
		}
	}
}

// inlineSingles stores whole the bodies that only one copy would share:
// a shared body costs a record more than a whole one.
func inlineSingles(targets []queue.Target) {
	counts := map[*queue.SharedBody]int{}
	for _, tg := range targets {
		for _, in := range tg.Inputs {
			if in.Shared != nil {
				counts[in.Shared]++
			}
		}
	}
	for i := range targets {
		for j := range targets[i].Inputs {
			in := &targets[i].Inputs[j]
			if in.Shared != nil && counts[in.Shared] == 1 {
				in.Body = in.Shared.Head + in.Body + in.Shared.Tail
				in.Shared = nil
			}
		}
	}
}

// numberFIFO deduplicates and numbers the messages of a FIFO publish,
// adding their deduplication records to b. It returns the channel to close
// and the keys to release once the commit ends.
func (s *Service) numberFIFO(ctx context.Context, t *topic, ps []*prepared, now time.Time, b *store.Batch) (chan struct{}, []string, error) {
	nowNs := now.UnixNano()
	for {
		t.mu.Lock()
		if t.deleted {
			t.mu.Unlock()
			return nil, nil, errTopicNotFound()
		}
		// A deletion under way: its outcome decides.
		wait := t.deleting
		for _, p := range ps {
			if ch, ok := t.pending[p.dedupKey]; ok && wait == nil {
				wait = ch
				break
			}
		}
		if wait == nil {
			break // t.mu held
		}
		t.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	defer t.mu.Unlock()
	done := make(chan struct{})
	// A few expired entries go with each publish; the sweeper takes the
	// rest (sweep.go), and an entry past its window is no duplicate.
	mine, _ := t.expireDedup(nowNs, publishExpiry, done, b)
	for _, p := range ps {
		if d, ok := t.dedup.Get(p.dedupKey); ok && d.ExpiresAt > nowNs {
			// A duplicate is accepted and answered with the original's
			// identity, and not delivered.
			p.dup = true
			p.id = d.MessageID
			p.seq = d.Seq
			continue
		}
		// Sequence numbers grow with time, so that they keep growing
		// across restarts without a stored counter.
		seq := uint64(nowNs)
		if seq <= t.lastSeq {
			seq = t.lastSeq + 1
		}
		t.lastSeq = seq
		p.seq = seq
		d := dedupRec{MessageID: p.id, Seq: seq, ExpiresAt: nowNs + int64(dedupWindow)}
		t.dedup.Set(p.dedupKey, d)
		t.dedupExp = append(t.dedupExp, dedupRef{p.dedupKey, d.ExpiresAt})
		t.pending[p.dedupKey] = done
		mine = append(mine, p.dedupKey)
		b.PutRecord(nsDedup, t.name+"\x00"+p.dedupKey, mustJSON(d))
	}
	return done, mine, nil
}

// queueInput builds the queue message of an sqs subscription.
func (s *Service) queueInput(t *topic, p *prepared, sub *subscription, sigVer string, envs map[*prepared]map[string]*rendered) queue.SendInput {
	in := queue.SendInput{SenderID: senderID}
	if sub.raw {
		text := p.message("sqs")
		if p.raw == nil {
			p.raw = map[string]*rawBody{}
		}
		rb := p.raw[text]
		if rb == nil {
			// Copies written with their body are packed into its record
			// (one key each), so even a short text is shared.
			rb = &rawBody{ok: queue.ValidBody(text), md5: queue.MD5OfBody(text), shared: &queue.SharedBody{Head: text}}
			p.raw[text] = rb
		}
		// The copies share the whole text, each holding none of its own.
		in.MD5Body, in.BodyChecked = rb.md5, rb.ok
		if rb.shared != nil {
			in.Shared = rb.shared
		} else {
			in.Body = text
		}
		// "Message attributes are sent only when the message structure
		// is String, not JSON" (SNS Developer Guide, Amazon SNS message
		// attributes), as in the envelope.
		if p.msgs == nil {
			in.Attributes = sqsAttributes(p.in.Attributes)
			if p.attrs == nil {
				p.attrs, _ = queue.CheckAttributes(in.Attributes) // a failure is the queue's to report, per copy
			}
			in.AttrsChecked = p.attrs
		}
	} else {
		in.Body, in.Shared, in.MD5Body, in.BodyChecked, in.Finish = s.envelopeFor(t, p, sub, sigVer, envs)
	}
	// The publisher's X-Amzn-Trace-Id, when SQS would take it: a
	// malformed one must not fail the delivery.
	if p.in.TraceHeader != "" && queue.ValidTraceHeader(p.in.TraceHeader) {
		in.SystemAttributes = []store.MessageAttribute{{Name: "AWSTraceHeader", DataType: "String", StringValue: p.in.TraceHeader}}
	}
	if !p.in.HasGroupID && !t.fifo {
		return in
	}
	_, fifo := s.cfg.Queues.QueueByArn(sub.rec.Endpoint)
	if p.in.HasGroupID && (fifo || !t.fifo) {
		in.GroupID, in.HasGroupID = p.in.GroupID, true
	}
	if fifo && t.fifo {
		in.DedupID, in.HasDedupID = p.dedupID, true
	}
	return in
}

// rendered is a notification rendered once per message and protocol text:
// the document around its UnsubscribeURL, whether it holds only
// characters SQS accepts, and the MD5 state after its head (for a document
// signed now; an unsigned one has its MD5 computed when it is read).
type rendered struct {
	head, tail string
	valid      bool
	md5Head    []byte
	finish     uint8
	shared     *queue.SharedBody // head and tail, stored once for every copy
}

// envelopeFor returns the JSON notification a subscription's queue
// stores, as its own part (the UnsubscribeURL) and the part every copy
// shares, its MD5, whether its characters are valid for SQS, and the
// finisher the queue applies when the message is read.
//
// The document is rendered once per message and protocol text, and the
// queues store that rendering once (queue.SharedBody); each subscription
// only adds its UnsubscribeURL. A standard topic's
// notification is stored with a placeholder of the signature's length and
// signed when it is read (finishNotification): the RSA signature costs
// ten times a whole SendMessage, SNS signs what it delivers rather than
// what it accepts, and the signature covers no subscription-specific
// field, so that the copies of one message share one signature.
func (s *Service) envelopeFor(t *topic, p *prepared, sub *subscription, sigVer string, envs map[*prepared]map[string]*rendered) (string, *queue.SharedBody, string, bool, uint8) {
	m := envs[p]
	if m == nil {
		m = map[string]*rendered{}
		envs[p] = m
	}
	msg := p.message(sub.rec.Protocol)
	r, ok := m[msg]
	if !ok {
		e := envelope{
			Type: "Notification", MessageID: p.id, TopicArn: t.arn, Subject: p.in.Subject, HasSubject: p.in.HasSubject,
			Message: msg, Timestamp: p.ts, Replayed: p.replayed,
			// Split inside the UnsubscribeURL, before the
			// subscription's ID: the copies share everything but that
			// ID. JSON escapes each character on its own, so the
			// escaped parts concatenate to the escaped whole.
			unsubHead: s.unsubscribeURL(t.arn + ":"),
		}
		r = &rendered{}
		if t.fifo {
			e.SequenceNumber = formatSeq(p.seq)
		} else {
			e.SignatureVersion, e.SigningCertURL = sigVer, s.certURL()
			if ph := s.signer.placeholder(); ph != "" {
				e.Signature, r.finish = ph, store.FinishSNSSignature
			} else {
				e.Signature = s.signer.sign(sigVer, notificationToSign(p.id, t.arn, p.in.Subject, p.in.HasSubject, msg, p.ts))
			}
		}
		if p.msgs == nil {
			e.Attrs = p.in.Attributes
		}
		r.head, r.tail = e.renderSplit()
		r.valid = queue.ValidBody(r.head) && queue.ValidBody(r.tail)
		if r.finish == 0 {
			d := md5.New()
			d.Write([]byte(r.head))
			r.md5Head, _ = d.(encoding.BinaryMarshaler).MarshalBinary()
		}
		r.shared = &queue.SharedBody{Head: r.head, Tail: r.tail}
		m[msg] = r
	}
	unsub := sub.unsub
	if r.finish != 0 {
		return unsub, r.shared, "", r.valid, r.finish
	}
	d := md5.New()
	if err := d.(encoding.BinaryUnmarshaler).UnmarshalBinary(r.md5Head); err != nil {
		d.Reset()
		d.Write([]byte(r.head))
	}
	d.Write([]byte(unsub))
	d.Write([]byte(r.tail))
	return unsub, r.shared, hex.EncodeToString(d.Sum(nil)), r.valid, 0
}

// finishNotification signs a notification stored with a placeholder
// signature (store.FinishSNSSignature): it reads the signed fields back
// from the document, as a subscriber verifying it does, and puts the
// signature in the placeholder's place. A body that is not such a
// document is returned as it is.
func (s *Service) finishNotification(body string) string {
	ph := s.signer.placeholder()
	marker := `"Signature" : "` + ph + `"`
	at := strings.Index(body, marker)
	if ph == "" || at < 0 {
		return body
	}
	var e struct {
		Type, MessageId, TopicArn, Message, Timestamp, SignatureVersion string
		Subject                                                         *string
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Type != "Notification" {
		s.log.Warn("stored notification unreadable, left unsigned", "err", err)
		return body
	}
	subject := ""
	if e.Subject != nil {
		subject = *e.Subject
	}
	sig := s.signer.signCached(s.ctx, e.SignatureVersion, notificationToSign(e.MessageId, e.TopicArn, subject, e.Subject != nil, e.Message, e.Timestamp), e.Timestamp)
	at += len(`"Signature" : "`)
	return body[:at] + sig + body[at+len(ph):]
}

func notificationToSign(id, topicArn, subject string, hasSubject bool, msg, ts string) string {
	f := [][2]string{{"Message", msg}, {"MessageId", id}}
	if hasSubject {
		f = append(f, [2]string{"Subject", subject})
	}
	f = append(f, [2]string{"Timestamp", ts}, [2]string{"TopicArn", topicArn}, [2]string{"Type", "Notification"})
	return stringToSign(f)
}

func (s *Service) unsubscribeURL(subArn string) string {
	return s.cfg.PublicURL() + "/?Action=Unsubscribe&SubscriptionArn=" + subArn
}

func (s *Service) subscribeURL(topicArn, token string) string {
	return s.cfg.PublicURL() + "/?Action=ConfirmSubscription&TopicArn=" + topicArn + "&Token=" + token
}

func (s *Service) certURL() string { return s.cfg.PublicURL() + "/" + s.CertName() }

// envelope is the JSON document SNS delivers.
type envelope struct {
	Type             string
	MessageID        string
	Token            string
	SequenceNumber   string
	TopicArn         string
	Subject          string
	HasSubject       bool
	Message          string
	SubscribeURL     string
	Timestamp        string
	SignatureVersion string
	Signature        string
	SigningCertURL   string
	UnsubscribeURL   string
	Attrs            []store.MessageAttribute
	// Replayed marks a message a replay delivers again (SNS developer
	// guide, "Amazon SNS message replay for FIFO topic subscribers": "also
	// contains the attribute Replayed").
	Replayed bool
	// unsubHead asks renderSplit for an UnsubscribeURL field that starts
	// with it: the head ends inside that JSON string, and the caller
	// puts the rest of the URL between head and tail.
	unsubHead string
}

// render writes the envelope as SNS does: two-space indentation, " : "
// separators, fields in SNS's order.
func (e *envelope) render() []byte {
	head, tail := e.renderSplit()
	if e.UnsubscribeURL == "" {
		return []byte(head + tail)
	}
	return []byte(head + jsonString(e.UnsubscribeURL) + tail)
}

// renderSplit renders the envelope in two parts around the value of
// UnsubscribeURL (included when e.UnsubscribeURL or e.unsubHead is set).
func (e *envelope) renderSplit() (string, string) {
	var b strings.Builder
	b.Grow(len(e.Message) + 1024)
	b.WriteString("{\n")
	first := true
	field := func(name, value string) {
		if !first {
			b.WriteString(",\n")
		}
		first = false
		b.WriteString("  ")
		writeJSONString(&b, name)
		b.WriteString(" : ")
		writeJSONString(&b, value)
	}
	field("Type", e.Type)
	field("MessageId", e.MessageID)
	if e.Token != "" {
		field("Token", e.Token)
	}
	if e.SequenceNumber != "" {
		field("SequenceNumber", e.SequenceNumber)
	}
	field("TopicArn", e.TopicArn)
	if e.HasSubject {
		field("Subject", e.Subject)
	}
	field("Message", e.Message)
	if e.SubscribeURL != "" {
		field("SubscribeURL", e.SubscribeURL)
	}
	field("Timestamp", e.Timestamp)
	if e.Replayed {
		b.WriteString(",\n  \"Replayed\" : true")
	}
	if e.Signature != "" || e.SignatureVersion != "" {
		field("SignatureVersion", e.SignatureVersion)
		field("Signature", e.Signature)
		field("SigningCertURL", e.SigningCertURL)
	}
	split := -1
	switch {
	case e.unsubHead != "":
		b.WriteString(",\n  \"UnsubscribeURL\" : ")
		writeJSONString(&b, e.unsubHead)
		split = b.Len() - 1 // inside the string, before its closing quote
	case e.UnsubscribeURL != "":
		b.WriteString(",\n  \"UnsubscribeURL\" : ")
		split = b.Len()
	}
	if len(e.Attrs) > 0 {
		attrs := append([]store.MessageAttribute(nil), e.Attrs...)
		sort.Slice(attrs, func(i, j int) bool { return attrs[i].Name < attrs[j].Name })
		b.WriteString(",\n  \"MessageAttributes\" : {\n")
		for i, a := range attrs {
			v := a.StringValue
			if len(a.BinaryValue) > 0 {
				v = base64.StdEncoding.EncodeToString(a.BinaryValue)
			}
			if i > 0 {
				b.WriteString(",\n")
			}
			b.WriteString("    ")
			writeJSONString(&b, a.Name)
			b.WriteString(` : {"Type":`)
			writeJSONString(&b, a.DataType)
			b.WriteString(`,"Value":`)
			writeJSONString(&b, v)
			b.WriteString("}")
		}
		b.WriteString("\n  }")
	}
	b.WriteString("\n}")
	out := b.String()
	if split < 0 {
		return out, ""
	}
	return out[:split], out[split:]
}
