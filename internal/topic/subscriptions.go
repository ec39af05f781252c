package topic

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/forkline/forkline/internal/store"
	"github.com/forkline/forkline/internal/topic/filter"
)

// Protocols SNS accepts. sqs, http, https and lambda are delivered (lambda
// once the function service exists); the others are accepted and kept
// pending or silent, as forkline has no mail, SMS or mobile push.
var protocols = map[string]bool{
	"sqs": true, "http": true, "https": true, "lambda": true, "email": true, "email-json": true,
	"sms": true, "application": true, "firehose": true,
}

// PendingConfirmation is what SNS shows in place of the ARN of a
// subscription awaiting confirmation.
const PendingConfirmation = "PendingConfirmation"

// SubscribeInput are the parameters of Subscribe.
type SubscribeInput struct {
	TopicArn              string
	Protocol              string
	Endpoint              string
	Attributes            map[string]string
	ReturnSubscriptionArn bool
	Owner                 string
}

// Subscribe subscribes an endpoint to a topic and returns the subscription
// ARN, or "pending confirmation" for an unconfirmed subscription unless
// ReturnSubscriptionArn is set.
func (s *Service) Subscribe(ctx context.Context, in SubscribeInput) (string, error) {
	t, err := s.lookupTopic(in.TopicArn, "TopicArn")
	if err != nil {
		return "", err
	}
	if in.Protocol == "" {
		return "", invalidParam("Protocol", "no value for required parameter")
	}
	proto := strings.ToLower(in.Protocol)
	if !protocols[proto] {
		return "", errorf(ErrInvalidParameter, "Invalid parameter: Amazon SNS does not support this protocol string: %s", in.Protocol)
	}
	if err := s.checkEndpoint(t, proto, in.Endpoint); err != nil {
		return "", err
	}
	_, queueFifo := s.cfg.Queues.QueueByArn(in.Endpoint)
	queueFifo = queueFifo || strings.HasSuffix(in.Endpoint, ".fifo")
	s.dropExpiredPending(ctx)
	attrs, err := validateSubAttributes(in.Attributes, in.Attributes, subTarget{proto: proto, fifoTopic: t.fifo,
		fifoPair: t.fifo && proto == "sqs" && queueFifo, region: s.cfg.Region, account: s.cfg.AccountID}, true)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	if s.topics[t.name] != t {
		s.mu.Unlock()
		return "", errTopicNotFound()
	}
	for _, sub := range t.subs {
		if sub.rec.Protocol != proto || sub.rec.Endpoint != in.Endpoint {
			continue
		}
		// The same endpoint again: the existing subscription, unless the
		// attributes asked for differ.
		s.mu.Unlock()
		for k, v := range attrs {
			if effectiveSubAttr(sub.rec.Attributes, k) != v {
				return "", invalidParam("Attributes", "Subscription already exists with different attributes")
			}
		}
		if !sub.rec.Confirmed {
			if err := s.resendConfirmation(ctx, t, sub); err != nil {
				return "", err
			}
			if !in.ReturnSubscriptionArn {
				return "pending confirmation", nil
			}
		}
		return sub.arn, nil
	}
	if len(t.subs) >= 12_500_000 {
		s.mu.Unlock()
		return "", errorf(ErrSubscriptionLimit, "Subscription limit exceeded")
	}
	if n, err := strconv.Atoi(t.rec.Attributes["MaximumMessageSize"]); err == nil {
		if err := checkLargeTopic(n, t.subs, proto); err != nil {
			s.mu.Unlock()
			return "", err
		}
	}
	if attrs["FilterPolicy"] != "" && s.filterPolicyLimited(t, nil) {
		s.mu.Unlock()
		return "", errFilterPolicyLimit()
	}
	// An attribute given empty is not set: a subscription made with
	// FilterPolicy "" has neither FilterPolicy nor FilterPolicyScope
	// (recorded AWS behaviour, LocalStack's
	// test_create_subscriptions_with_attributes snapshot). It still
	// counted above, where an existing subscription's differ.
	for k, v := range attrs {
		if v == "" {
			delete(attrs, k)
		}
	}
	owner := in.Owner
	if owner == "" {
		owner = s.cfg.AccountID
	}
	rec := subRec{
		ID: newID(), Topic: t.name, Protocol: proto, Endpoint: in.Endpoint, Owner: owner,
		Attributes: attrs, CreatedAt: s.clock.Now().UnixNano(),
	}
	if doc := attrs["ReplayPolicy"]; doc != "" {
		if rec.Replay, err = s.newReplay(t, doc, s.clock.Now()); err != nil {
			s.mu.Unlock()
			return "", err
		}
	}
	// Queues and functions of this account confirm at once; the others
	// confirm through the endpoint.
	if confirmsAtOnce(proto) {
		rec.Confirmed = true
	} else {
		rec.Token = newToken()
	}
	sub, err := s.newSubscription(t, rec)
	if err != nil {
		s.mu.Unlock()
		return "", err
	}
	var b store.Batch
	b.PutRecord(nsSub, rec.ID, mustJSON(rec))
	var out *outRec
	if proto == "http" || proto == "https" {
		out = s.confirmationRecord(t, sub, "SubscriptionConfirmation")
		out.put(&b)
	}
	if err := s.st.Commit(ctx, &b); err != nil {
		s.mu.Unlock()
		return "", fmt.Errorf("subscribe: %w", err)
	}
	s.addSub(sub)
	t.subs = append(append([]*subscription(nil), t.subs...), sub)
	s.mu.Unlock()
	if out != nil {
		s.out.add(out)
	}
	if proto == "email" || proto == "email-json" {
		s.logEmailConfirmation(t, sub)
	}
	if rec.Confirmed && rec.Replay != nil {
		s.startReplay(sub.arn, rec.Replay.Gen)
	}
	if !rec.Confirmed && !in.ReturnSubscriptionArn {
		return "pending confirmation", nil
	}
	return sub.arn, nil
}

// resendConfirmation sends a pending HTTP/S subscription's confirmation
// message again, with its token, when the same endpoint subscribes again:
// that is how SNS's console asks for a lost confirmation ("Request
// confirmation" calls Subscribe).
func (s *Service) resendConfirmation(ctx context.Context, t *topic, sub *subscription) error {
	if sub.rec.Protocol == "email" || sub.rec.Protocol == "email-json" {
		s.logEmailConfirmation(t, sub)
		return nil
	}
	if sub.rec.Protocol != "http" && sub.rec.Protocol != "https" {
		return nil
	}
	out := s.confirmationRecord(t, sub, "SubscriptionConfirmation")
	var b store.Batch
	out.put(&b)
	if err := s.st.Commit(ctx, &b); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	s.out.add(out)
	return nil
}

// logEmailConfirmation writes where SNS would send an email
// subscription's confirmation: forkline sends no email, so its link (a GET
// of it confirms, as for HTTP subscribers) and token (for
// ConfirmSubscription) are in the log, at warning level so that a log
// kept to warnings still shows them.
func (s *Service) logEmailConfirmation(t *topic, sub *subscription) {
	s.log.Warn("email not sent, forkline sends no email: confirm the subscription by a GET of subscribe_url or with ConfirmSubscription and the token",
		"subscription", sub.arn, "endpoint", ShownEndpoint(sub.rec.Endpoint), "subscribe_url", s.subscribeURL(t.arn, sub.rec.Token), "token", sub.rec.Token)
}

func newToken() string {
	var b [64]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Service) checkEndpoint(t *topic, proto, endpoint string) error {
	switch proto {
	case "sqs":
		parts := strings.Split(endpoint, ":")
		if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sqs" || parts[5] == "" {
			return invalidParam("SQS endpoint ARN", "")
		}
		exists, fifo := s.cfg.Queues.QueueByArn(endpoint)
		isFifoName := strings.HasSuffix(parts[5], ".fifo")
		if exists {
			isFifoName = fifo
		}
		if !t.fifo && isFifoName {
			return invalidParam("Invalid parameter: Endpoint", "FIFO SQS Queues can not be subscribed to standard SNS topics")
		}
	case "http", "https":
		if !strings.HasPrefix(strings.ToLower(endpoint), proto+"://") || len(endpoint) <= len(proto)+3 {
			return errorf(ErrInvalidParameter, "Invalid parameter: Endpoint must match the specified protocol")
		}
		// A URL that cannot be parsed, or whose credentials carry control
		// characters, could never be delivered to.
		if u, err := url.Parse(endpoint); err != nil || u.Host == "" || strings.ContainsAny(endpoint, "\r\n\x00") {
			return invalidParam("Endpoint", "")
		}
		if t.fifo {
			return errorf(ErrInvalidParameter, "Invalid parameter: Invalid protocol type: %s", proto)
		}
	case "firehose":
		// "the ARN of an Amazon Data Firehose delivery stream" (SNS API
		// reference, Subscribe).
		parts := strings.SplitN(endpoint, ":", 6)
		if len(parts) != 6 || parts[0] != "arn" || parts[2] != "firehose" || !strings.HasPrefix(parts[5], "deliverystream/") ||
			len(parts[5]) == len("deliverystream/") {
			return invalidParam("Endpoint", "")
		}
		if t.fifo {
			return errorf(ErrInvalidParameter, "Invalid parameter: Invalid protocol type: %s", proto)
		}
	case "lambda":
		parts := strings.Split(endpoint, ":")
		if len(parts) < 7 || parts[0] != "arn" || parts[2] != "lambda" || parts[5] != "function" {
			return invalidParam("Endpoint", "")
		}
		if t.fifo {
			return errorf(ErrInvalidParameter, "Invalid parameter: Invalid protocol type: %s", proto)
		}
	default:
		if endpoint == "" {
			return invalidParam("Endpoint", "no value for required parameter")
		}
		// "For the sms protocol, the endpoint is a phone number of an
		// SMS-enabled device"; "For the email protocol, the endpoint is an
		// email address" (SNS API reference, Subscribe).
		switch {
		case proto == "sms" && !phoneNumber(endpoint):
			// Without the "Invalid parameter: " prefix (recorded AWS
			// answer, LocalStack's test_subscribe_bad_sms snapshot).
			return errorf(ErrInvalidParameter, "Invalid SMS endpoint: %s", endpoint)
		case (proto == "email" || proto == "email-json") && !emailAddress(endpoint):
			return errorf(ErrInvalidParameter, "Invalid parameter: Email address")
		case proto == "application":
			// No space after "arn", as AWS words it (moto's
			// AWS-verified test_subscribe_to_deleted_platform_endpoint,
			// which also finds that the subscription of an endpoint
			// deleted since is still returned).
			if exists, _ := s.endpointState(endpoint); !exists && !s.subscribed(t, proto, endpoint) {
				return errorf(ErrInvalidParameter, "Invalid parameter: Endpoint Reason: Endpoint does not exist for endpoint arn%s", endpoint)
			}
		}
		if t.fifo {
			return errorf(ErrInvalidParameter, "Invalid parameter: Invalid protocol type: %s", proto)
		}
	}
	return nil
}

// subscribed reports whether the topic has a subscription of the
// endpoint by the protocol.
func (s *Service) subscribed(t *topic, proto, endpoint string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, sub := range t.subs {
		if sub.rec.Protocol == proto && sub.rec.Endpoint == endpoint {
			return true
		}
	}
	return false
}

// phoneNumber reports whether s is a phone number: an optional "+", then 7
// to 15 digits (E.164's most), with the spaces, dots, hyphens and
// parentheses people write between them.
func phoneNumber(s string) bool {
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0:
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return false
		}
	}
	return digits >= 7 && digits <= 15
}

// emailAddress reports whether s looks like an address: one "@" with
// something before it, a dotted domain after it, and no spaces.
func emailAddress(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") &&
		!strings.HasSuffix(domain, ".") && !strings.ContainsAny(s, " \t\r\n<>") && !strings.Contains(domain, "@")
}

// newSubscription compiles a subscription's settings from its record.
func (s *Service) newSubscription(t *topic, rec subRec) (*subscription, error) {
	sub := &subscription{rec: rec, arn: t.arn + ":" + rec.ID, topic: t.arn}
	sub.unsub = jsonString(rec.ID)
	sub.unsub = sub.unsub[1 : len(sub.unsub)-1]
	if doc := rec.Attributes["FilterPolicy"]; doc != "" && !isEmptyObject(doc) {
		p, err := filter.Parse(doc, filter.Scope(rec.Attributes["FilterPolicyScope"]))
		if err != nil {
			return nil, invalidParam("FilterPolicy", err.(*filter.Error).Message)
		}
		sub.policy = p
	}
	sub.raw = rec.Attributes["RawMessageDelivery"] == "true"
	if rp := rec.Attributes["RedrivePolicy"]; rp != "" {
		sub.dlq, _ = parseRedrivePolicy(rp)
	}
	sub.retry = effectiveDeliveryPolicy(t.rec.Attributes["DeliveryPolicy"], rec.Attributes["DeliveryPolicy"], rec.Protocol)
	return sub, nil
}

// confirmsAtOnce tells the protocols whose subscriptions need no
// confirmation by their endpoint.
func confirmsAtOnce(proto string) bool {
	switch proto {
	case "sqs", "lambda", "firehose", "application", "sms":
		return true
	}
	return false
}

func isEmptyObject(doc string) bool {
	d := strings.TrimSpace(doc)
	return len(d) >= 2 && d[0] == '{' && d[len(d)-1] == '}' && strings.TrimSpace(d[1:len(d)-1]) == ""
}

// ConfirmSubscription confirms a pending subscription with its token.
// authenticated tells whether the request was signed.
func (s *Service) ConfirmSubscription(ctx context.Context, topicArn, token string, authOnUnsubscribe, authenticated bool) (string, error) {
	// ConfirmSubscription names its parameters differently: a malformed
	// or foreign TopicArn is a bad "Topic", and a well-formed one without
	// a topic makes the token bad (recorded AWS behaviour, LocalStack's
	// test_sns_confirm_subscription_wrong_token and
	// test_subscribe_external_http_endpoint).
	t, err := s.lookupTopic(topicArn, "Topic")
	if isKind(err, ErrNotFound) {
		// A topic of this account and region that does not exist:
		// SNS still confirms the subscription the token names
		// (LocalStack's AWS-validated test_subscribe_external_http_endpoint:
		// "even with a wrong topic, SNS will confirm"); an unknown token
		// is refused as such.
		parts := strings.Split(topicArn, ":")
		if len(parts) != 6 || parts[4] != s.cfg.AccountID || !wellFormedToken(token) {
			return "", invalidParam("Token", "")
		}
		if t = s.topicOfToken(token); t == nil {
			return "", invalidParam("Token", "")
		}
		err = nil
	}
	if err != nil {
		return "", invalidParam("Topic", "")
	}
	if token == "" {
		return "", invalidParam("Token", "")
	}
	// A token that is not in SNS's format is refused before the lookup
	// (recorded AWS behaviour: "Invalid token").
	if !wellFormedToken(token) {
		return "", errorf(ErrInvalidParameter, "Invalid token")
	}
	now := s.clock.Now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	// Found through the token index: a request with an unknown token
	// scans nothing.
	i := -1
	if sub := s.subs[s.tokens[token]]; sub != nil && sub.rec.Token == token {
		i = slices.Index(t.subs, sub) // -1 for another topic's subscription
	}
	if i >= 0 {
		sub := t.subs[i]
		if sub.rec.Confirmed {
			return sub.arn, nil
		}
		if now-sub.rec.CreatedAt > int64(tokenLifetime) {
			return "", invalidParam("Token", "")
		}
		rec := sub.rec
		rec.Confirmed = true
		rec.AuthConfirmed = authenticated
		// The flag counts only on a signed request (SNS API reference,
		// ConfirmSubscription): following the link cannot set it.
		rec.AuthUnsubscribe = authOnUnsubscribe && authenticated
		var b store.Batch
		b.PutRecord(nsSub, rec.ID, mustJSON(rec))
		if err := s.st.Commit(ctx, &b); err != nil {
			return "", fmt.Errorf("confirm subscription: %w", err)
		}
		ns := *sub
		ns.rec = rec
		s.replaceSub(t, i, &ns)
		if rec.Replay.running() {
			s.startReplay(ns.arn, rec.Replay.Gen)
		}
		return ns.arn, nil
	}
	if r, ok := s.restore[token]; ok && r.Sub.Topic == t.name && now < r.ExpiresAt {
		return s.restoreSub(ctx, t, token, r.Sub, authOnUnsubscribe && authenticated, authenticated)
	}
	return "", invalidParam("Token", "")
}

// wellFormedToken reports whether a token has SNS's form: 64 or more
// lowercase hex digits.
func wellFormedToken(token string) bool {
	return len(token) >= 64 && strings.Trim(token, "0123456789abcdef") == ""
}

// topicOfToken returns the topic of the pending or confirmed subscription
// whose token this is, or nil.
func (s *Service) topicOfToken(token string) *topic {
	if token == "" {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if sub := s.subs[s.tokens[token]]; sub != nil && sub.rec.Token == token {
		return s.topics[sub.rec.Topic]
	}
	if r, ok := s.restore[token]; ok {
		return s.topics[r.Sub.Topic]
	}
	return nil
}

// restoreSub brings back, confirmed, a subscription deleted by
// Unsubscribe, with its ARN and attributes, for the token of its
// UnsubscribeConfirmation. An endpoint subscribed again meanwhile keeps
// that subscription. Requires s.mu held for writing.
func (s *Service) restoreSub(ctx context.Context, t *topic, token string, rec subRec, authUnsub, authenticated bool) (string, error) {
	var b store.Batch
	b.DeleteRecord(nsRestore, token)
	for _, sub := range t.subs {
		if sub.rec.Protocol == rec.Protocol && sub.rec.Endpoint == rec.Endpoint {
			if err := s.st.Commit(ctx, &b); err != nil {
				return "", fmt.Errorf("confirm subscription: %w", err)
			}
			delete(s.restore, token)
			return sub.arn, nil
		}
	}
	if n, err := strconv.Atoi(t.rec.Attributes["MaximumMessageSize"]); err == nil {
		if err := checkLargeTopic(n, t.subs, rec.Protocol); err != nil {
			return "", err
		}
	}
	rec.Confirmed, rec.Token = true, token
	rec.AuthConfirmed, rec.AuthUnsubscribe = authenticated, authUnsub
	sub, err := s.newSubscription(t, rec)
	if err != nil {
		return "", err
	}
	b.PutRecord(nsSub, rec.ID, mustJSON(rec))
	if err := s.st.Commit(ctx, &b); err != nil {
		return "", fmt.Errorf("confirm subscription: %w", err)
	}
	delete(s.restore, token)
	s.addSub(sub)
	t.subs = append(append([]*subscription(nil), t.subs...), sub)
	return sub.arn, nil
}

// replaceSub swaps subscription i of t. Requires s.mu held for writing.
func (s *Service) replaceSub(t *topic, i int, sub *subscription) {
	subs := append([]*subscription(nil), t.subs...)
	subs[i] = sub
	t.subs = subs
	s.addSub(sub)
}

// addSub records a subscription by ARN and by token. Requires s.mu held
// for writing.
func (s *Service) addSub(sub *subscription) {
	s.subs[sub.arn] = sub
	if sub.rec.Token != "" {
		s.tokens[sub.rec.Token] = sub.arn
	}
}

// dropSub forgets a subscription. Requires s.mu held for writing.
func (s *Service) dropSub(arn string) {
	if sub := s.subs[arn]; sub != nil && sub.rec.Token != "" && s.tokens[sub.rec.Token] == arn {
		delete(s.tokens, sub.rec.Token)
	}
	delete(s.subs, arn)
}

// PendingUnsubscribe is the reason Unsubscribe gives for a subscription
// still pending confirmation.
const PendingUnsubscribe = "a subscription pending confirmation cannot be deleted"

// Unsubscribe deletes a subscription. authenticated tells whether the
// request was signed: a subscription confirmed with
// AuthenticateOnUnsubscribe refuses unsigned requests.
func (s *Service) Unsubscribe(ctx context.Context, arn string, authenticated bool) error {
	sub, err := s.lookupSub(arn)
	if isKind(err, ErrNotFound) {
		// Unsubscribe is idempotent: a subscription already deleted, or
		// never there, is no error (recorded AWS behaviour, LocalStack's
		// test_unsubscribe_idempotency).
		return nil
	}
	if err != nil {
		return err
	}
	// SQS subscriptions always need a signed Unsubscribe (SNS API
	// reference, Unsubscribe: "Amazon SQS queue subscriptions require
	// authentication for deletion"), so their notifications' unsigned
	// UnsubscribeURL cannot delete them.
	if (sub.rec.AuthUnsubscribe || sub.rec.Protocol == "sqs") && !authenticated {
		return errorf(ErrAuthorization, "Only authenticated requests can unsubscribe this subscription")
	}
	// A subscription pending confirmation cannot be deleted; SNS deletes
	// it 48 hours after Subscribe (SNS developer guide, "Deleting an Amazon
	// SNS subscription and topic"). AWS's message text is not documented.
	if !sub.rec.Confirmed {
		return invalidParam("SubscriptionArn", PendingUnsubscribe)
	}
	s.mu.Lock()
	t := s.topics[sub.rec.Topic]
	if t == nil || s.subs[arn] == nil {
		s.mu.Unlock()
		return nil
	}
	sub = s.subs[arn] // as of now: attributes may have changed since the lookup
	i := 0
	for i < len(t.subs) && t.subs[i].arn != arn {
		i++
	}
	rec := t.rec
	rec.Deleted++
	var b store.Batch
	b.DeleteRecord(nsSub, sub.rec.ID)
	dropReplays(&b, sub.rec.ID)
	b.PutRecord(nsTopic, rec.Name, mustJSON(rec))
	var out *outRec
	var restore restoreRec
	// The endpoint gets a final UnsubscribeConfirmation, to resubscribe
	// with, only when the call was not the owner's signed one (SNS API
	// reference, Unsubscribe: "If the Unsubscribe call does not require
	// authentication and the requester is not the subscription owner, a
	// final cancellation message is delivered to the endpoint"; LocalStack's
	// AWS-validated test_subscribe_external_http_endpoint records it after
	// a GET of the UnsubscribeURL). Every signed call is the account's.
	if (sub.rec.Protocol == "http" || sub.rec.Protocol == "https") && sub.rec.Confirmed && !authenticated {
		out = s.confirmationRecord(t, sub, "UnsubscribeConfirmation")
		out.put(&b)
		restore = restoreRec{Sub: sub.rec, ExpiresAt: s.clock.Now().UnixNano() + int64(tokenLifetime)}
		// A restored subscription is a regular one: its replay, if it
		// had one, ended with it.
		restore.Sub.Replay = nil
		b.PutRecord(nsRestore, out.Token, mustJSON(restore))
	}
	if err := s.st.Commit(ctx, &b); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("unsubscribe: %w", err)
	}
	t.rec = rec
	if i < len(t.subs) {
		subs := make([]*subscription, 0, len(t.subs)-1)
		subs = append(append(subs, t.subs[:i]...), t.subs[i+1:]...)
		t.subs = subs
	}
	s.dropSub(arn)
	if out != nil {
		s.restore[out.Token] = restore
	}
	s.mu.Unlock()
	if out != nil {
		s.out.add(out)
	}
	return nil
}

// dropExpiredPending deletes the subscriptions left unconfirmed longer
// than pendingLifetime, and the restore records of unsubscribed ones whose
// token expired. The calls that show subscriptions (lists, topic
// attributes, Subscribe) make it, at most once per sweepEvery; a pending
// subscription receives nothing meanwhile, so a later deletion is not
// seen otherwise.
func (s *Service) dropExpiredPending(ctx context.Context) {
	now := s.clock.Now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	if now < s.nextSweep {
		return
	}
	s.nextSweep = now + int64(sweepEvery)
	var b store.Batch
	var gone []*subscription
	for _, sub := range s.subs {
		if !sub.rec.Confirmed && now-sub.rec.CreatedAt > int64(pendingLifetime) {
			b.DeleteRecord(nsSub, sub.rec.ID)
			gone = append(gone, sub)
		}
	}
	var spent []string
	for token, r := range s.restore {
		if now >= r.ExpiresAt {
			b.DeleteRecord(nsRestore, token)
			spent = append(spent, token)
		}
	}
	if len(gone) == 0 && len(spent) == 0 {
		return
	}
	if err := s.st.Commit(ctx, &b); err != nil {
		s.log.Warn("deleting expired pending subscriptions", "err", err)
		s.nextSweep = now
		return
	}
	for _, token := range spent {
		delete(s.restore, token)
	}
	for _, sub := range gone {
		s.dropSub(sub.arn)
		if t := s.topics[sub.rec.Topic]; t != nil {
			t.subs = slices.DeleteFunc(slices.Clone(t.subs), func(x *subscription) bool { return x == sub })
		}
	}
}

// SubscriptionInfo is one entry of ListSubscriptions.
type SubscriptionInfo struct {
	SubscriptionArn string
	Owner           string
	Protocol        string
	Endpoint        string
	TopicArn        string
}

// ListSubscriptions lists every subscription (topicArn == "") or those of
// one topic, 100 per page.
func (s *Service) ListSubscriptions(ctx context.Context, topicArn, token string) ([]SubscriptionInfo, string, error) {
	s.dropExpiredPending(ctx)
	var subs []*subscription
	if topicArn != "" {
		t, err := s.lookupTopic(topicArn, "TopicArn")
		if err != nil {
			return nil, "", err
		}
		s.mu.RLock()
		subs = t.subs
		s.mu.RUnlock()
	} else {
		s.mu.RLock()
		subs = make([]*subscription, 0, len(s.subs))
		for _, sub := range s.subs {
			subs = append(subs, sub)
		}
		s.mu.RUnlock()
	}
	byKey := make(map[string]*subscription, len(subs))
	keys := make([]string, 0, len(subs))
	for _, sub := range subs {
		byKey[sub.arn] = sub
		keys = append(keys, sub.arn)
	}
	keys, next, err := page(keys, token)
	if err != nil {
		return nil, "", err
	}
	out := make([]SubscriptionInfo, len(keys))
	for i, k := range keys {
		sub := byKey[k]
		arn := sub.arn
		if !sub.rec.Confirmed {
			arn = PendingConfirmation
		}
		out[i] = SubscriptionInfo{SubscriptionArn: arn, Owner: sub.rec.Owner, Protocol: sub.rec.Protocol,
			Endpoint: ShownEndpoint(sub.rec.Endpoint), TopicArn: sub.topic}
	}
	return out, next, nil
}

// GetSubscriptionAttributes returns a subscription's attributes.
func (s *Service) GetSubscriptionAttributes(ctx context.Context, arn string) (map[string]string, error) {
	sub, err := s.lookupSub(arn)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	sub = s.subs[arn]
	var topicPolicy string
	if sub != nil {
		if t := s.topics[sub.rec.Topic]; t != nil {
			topicPolicy = t.rec.Attributes["DeliveryPolicy"]
		}
	}
	s.mu.RUnlock()
	if sub == nil {
		return nil, errSubNotFound()
	}
	out := copyMap(sub.rec.Attributes)
	for k, v := range out {
		if v == "" {
			delete(out, k) // set empty by a version before empty meant unset
		}
	}
	out["SubscriptionArn"] = sub.arn
	out["TopicArn"] = sub.topic
	out["Owner"] = sub.rec.Owner
	out["Protocol"] = sub.rec.Protocol
	out["Endpoint"] = ShownEndpoint(sub.rec.Endpoint) // "user:****@", as SNS shows it
	// True for a subscription that needed no confirmation, SMS included
	// (recorded AWS answer, LocalStack's test_subscribe_sms_endpoint
	// snapshot).
	out["ConfirmationWasAuthenticated"] = fmt.Sprint(sub.rec.AuthConfirmed || confirmsAtOnce(sub.rec.Protocol))
	out["PendingConfirmation"] = fmt.Sprint(!sub.rec.Confirmed)
	if _, ok := out["RawMessageDelivery"]; !ok {
		out["RawMessageDelivery"] = "false"
	}
	// The scope shows only beside a filter policy: one set first is kept
	// and shows once a policy is set (recorded AWS behaviour, LocalStack's
	// test_set_subscription_filter_policy_scope snapshot).
	if _, ok := out["FilterPolicy"]; ok {
		if _, ok := out["FilterPolicyScope"]; !ok {
			out["FilterPolicyScope"] = string(filter.ScopeAttributes)
		}
	} else {
		delete(out, "FilterPolicyScope")
	}
	if sub.rec.Protocol == "http" || sub.rec.Protocol == "https" {
		out["EffectiveDeliveryPolicy"] = effectiveDeliveryPolicyJSON(topicPolicy, sub.rec.Attributes["DeliveryPolicy"])
	}
	if doc, ok := out["DeliveryPolicy"]; ok {
		out["DeliveryPolicy"] = shownSubDeliveryPolicy(doc)
	}
	out["SubscriptionPrincipal"] = "arn:aws:iam::" + s.cfg.AccountID + ":root"
	if sub.rec.Replay != nil {
		out["ReplayStatus"] = sub.rec.Replay.Status
	}
	return out, nil
}

// SetSubscriptionAttributes sets one attribute of a subscription.
func (s *Service) SetSubscriptionAttributes(ctx context.Context, arn, name, value string) error {
	sub, err := s.lookupSub(arn)
	if err != nil {
		return err
	}
	if name == "" {
		return invalidParam("AttributeName", "")
	}
	merged := copyMap(sub.rec.Attributes)
	merged[name] = value
	fifoPair := strings.HasSuffix(sub.topic, ".fifo") && sub.rec.Protocol == "sqs" && strings.HasSuffix(sub.rec.Endpoint, ".fifo")
	norm, err := validateSubAttributes(map[string]string{name: value}, merged, subTarget{proto: sub.rec.Protocol,
		fifoTopic: strings.HasSuffix(sub.topic, ".fifo"), fifoPair: fifoPair, region: s.cfg.Region, account: s.cfg.AccountID}, false)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.topics[sub.rec.Topic]
	sub = s.subs[arn]
	if t == nil || sub == nil {
		return errSubNotFound()
	}
	rec := sub.rec
	rec.Attributes = copyMap(rec.Attributes)
	for k, v := range norm {
		if v == "" {
			delete(rec.Attributes, k)
		} else {
			rec.Attributes[k] = v
		}
	}
	if rec.Attributes["FilterPolicy"] != "" && sub.rec.Attributes["FilterPolicy"] == "" && s.filterPolicyLimited(t, sub) {
		return errFilterPolicyLimit()
	}
	var b store.Batch
	if name == "ReplayPolicy" {
		// A new policy replaces the running replay; an empty one ends it
		// (and resumes a subscription its EndingPoint paused).
		if rec.Replay, err = s.newReplay(t, value, s.clock.Now()); err != nil {
			return err
		}
		if old := sub.rec.Replay; old != nil {
			b.DeleteRecord(nsReplay, replayKey(rec.ID, old.Gen))
			if rec.Replay != nil && rec.Replay.Gen <= old.Gen {
				rec.Replay.Gen = old.Gen + 1 // two policies at one clock reading
			}
		}
	}
	ns, err := s.newSubscription(t, rec)
	if err != nil {
		return err
	}
	b.PutRecord(nsSub, rec.ID, mustJSON(rec))
	if err := s.st.Commit(ctx, &b); err != nil {
		return fmt.Errorf("set subscription attributes: %w", err)
	}
	for i := range t.subs {
		if t.subs[i].arn == arn {
			s.replaceSub(t, i, ns)
		}
	}
	if name == "ReplayPolicy" && rec.Confirmed && rec.Replay != nil {
		s.startReplay(arn, rec.Replay.Gen)
	}
	return nil
}

// effectiveSubAttr is a subscription's value of an attribute: what was set,
// or the default GetSubscriptionAttributes reports for it (RawMessageDelivery
// false, FilterPolicyScope MessageAttributes).
func effectiveSubAttr(attrs map[string]string, name string) string {
	// A scope kept without a policy is not shown, so it is the default
	// (recorded AWS behaviour, LocalStack's test_subscribe_idempotency).
	if v, ok := attrs[name]; ok && v != "" && (name != "FilterPolicyScope" || attrs["FilterPolicy"] != "") {
		return v
	}
	switch name {
	case "RawMessageDelivery":
		return "false"
	case "FilterPolicyScope":
		return string(filter.ScopeAttributes)
	}
	return ""
}

// maxFilterPolicies and maxAccountFilterPolicies bound the subscriptions
// with a filter policy, per topic and in all: "By default, you can have up
// to 200 filter policies per topic, and 10,000 filter policies per AWS
// account ... it will fail when you attach a filter policy in the Subscribe
// API call (or the SetSubscriptionAttributes API call)" (SNS developer
// guide, "Amazon SNS subscription filter policy constraints").
const (
	maxFilterPolicies        = 200
	maxAccountFilterPolicies = 10_000
)

// filterPolicyLimited reports whether one more filter policy, on t, would
// pass a quota; except (if not nil) is the subscription that would get it.
// The caller holds s.mu.
func (s *Service) filterPolicyLimited(t *topic, except *subscription) bool {
	n := 0
	for _, sub := range t.subs {
		if sub != except && sub.rec.Attributes["FilterPolicy"] != "" {
			n++
		}
	}
	if n >= maxFilterPolicies {
		return true
	}
	n = 0
	for _, sub := range s.subs {
		if sub != except && sub.rec.Attributes["FilterPolicy"] != "" {
			n++
		}
	}
	return n >= maxAccountFilterPolicies
}

func errFilterPolicyLimit() error {
	return errorf(ErrFilterPolicyLimit, "Filter policy limit exceeded")
}
