package topic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"strconv"
	"strings"
	"time"

	"github.com/forkline/forkline/internal/topic/filter"
	"github.com/forkline/forkline/internal/wire/jsontext"
)

// Topic attributes settable with CreateTopic and SetTopicAttributes (SNS
// API reference, SetTopicAttributes); FifoTopic only at creation.
var topicSettable = map[string]bool{
	"DisplayName": true, "Policy": true, "DeliveryPolicy": true, "KmsMasterKeyId": true,
	"SignatureVersion": true, "TracingConfig": true, "ContentBasedDeduplication": true,
	"FifoThroughputScope": true, "ArchivePolicy": true, "MaximumMessageSize": true,
}

func init() {
	for _, p := range []string{"Application", "HTTP", "Firehose", "Lambda", "SQS"} {
		topicSettable[p+"SuccessFeedbackRoleArn"] = true
		topicSettable[p+"SuccessFeedbackSampleRate"] = true
		topicSettable[p+"FailureFeedbackRoleArn"] = true
	}
}

// validateTopicAttributes checks topic attributes and returns them
// normalized. create selects CreateTopic's error forms (and allows
// FifoTopic) over SetTopicAttributes's.
func validateTopicAttributes(attrs map[string]string, fifo, create bool) (map[string]string, error) {
	out := make(map[string]string, len(attrs))
	bad := func(name, value string) error {
		if create {
			return invalidParam("Attributes", fmt.Sprintf("%s: Invalid value [%s]", name, value))
		}
		return invalidParam(name, "")
	}
	for name, v := range attrs {
		switch {
		case name == "FifoTopic" && create:
			lv := strings.ToLower(v)
			if lv != "true" && lv != "false" {
				return nil, bad(name, v)
			}
			continue // recorded from the name's suffix; "false" is not stored
		case !topicSettable[name]:
			if create {
				return nil, invalidParam("Attributes", "Unknown attribute "+name)
			}
			return nil, invalidParam("AttributeName", "")
		}
		if strings.HasSuffix(name, "SuccessFeedbackSampleRate") && v != "" {
			// "sample rate percentage (0-100)" (SNS developer guide,
			// "Amazon SNS message delivery status").
			if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 100 || !digits(v) {
				return nil, bad(name, v)
			}
		}
		switch name {
		case "SignatureVersion":
			if v != "1" && v != "2" {
				return nil, bad(name, v)
			}
		case "TracingConfig":
			if v != "PassThrough" && v != "Active" {
				return nil, bad(name, v)
			}
			// "This is only supported on standard topics" (SNS API
			// reference, CreateTopic).
			if fifo && v == "Active" {
				return nil, invalidParam("Attributes", "TracingConfig Active is only supported on standard topics")
			}
		case "ContentBasedDeduplication":
			lv := strings.ToLower(v)
			if lv != "true" && lv != "false" {
				return nil, bad(name, v)
			}
			if !fifo {
				return nil, invalidParam("Attributes", "Content-based deduplication can only be set for FIFO topics")
			}
			v = lv
		case "FifoThroughputScope":
			if v != "Topic" && v != "MessageGroup" {
				return nil, bad(name, v)
			}
			if !fifo {
				return nil, invalidParam("Attributes", "FifoThroughputScope can only be set for FIFO topics")
			}
		case "DeliveryPolicy":
			if v != "" {
				if _, err := parseTopicDeliveryPolicy(v); err != nil {
					return nil, deliveryPolicyError(create, err)
				}
			}
		case "Policy":
			if v != "" && !json.Valid([]byte(v)) {
				return nil, bad(name, v)
			}
		case "ArchivePolicy":
			// FIFO topics only, a retention of 1 to 365 days; an empty
			// object turns archiving off (SNS developer guide, "FIFO topic
			// message archiving and replay"). "" removes it on any topic.
			if !fifo && v != "" {
				return nil, invalidParam("Attributes", "ArchivePolicy can only be set for FIFO topics")
			}
			if v != "" && !isEmptyObject(v) {
				if err := checkArchivePolicy(v); err != nil {
					return nil, invalidParam("Attributes", "ArchivePolicy: "+err.Error())
				}
			}
		case "DisplayName":
			if len(v) > 100 {
				return nil, bad(name, v)
			}
		case "MaximumMessageSize":
			// An integer from 1,024 to 1,048,576 (SNS API reference,
			// SetTopicAttributes).
			n, err := strconv.Atoi(v)
			if err != nil || n < 1024 || n > LargeMessageBytes || strings.TrimLeft(v, "0123456789") != "" {
				return nil, bad(name, v)
			}
			v = strconv.Itoa(n)
		}
		out[name] = v
	}
	return out, nil
}

// checkArchivePolicy checks a FIFO topic's ArchivePolicy:
// {"MessageRetentionPeriod": days}, 1 to 365, as a number or a string.
func checkArchivePolicy(doc string) error {
	var p map[string]json.RawMessage
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return fmt.Errorf("failed to parse JSON")
	}
	for k := range p {
		if k != "MessageRetentionPeriod" {
			return fmt.Errorf("unknown field %s", k)
		}
	}
	raw, ok := p["MessageRetentionPeriod"]
	if !ok {
		return fmt.Errorf("MessageRetentionPeriod is required")
	}
	text := strings.Trim(string(raw), `"`)
	days, err := strconv.Atoi(text)
	if err != nil || days < 1 || days > 365 {
		return fmt.Errorf("MessageRetentionPeriod must be an integer from 1 to 365")
	}
	return nil
}

// A topic whose MaximumMessageSize is above 256 KiB takes at most
// largeTopicSubs subscriptions, each to a queue, a function or a
// Firehose stream (SNS developer guide, "Publishing large messages with
// Amazon SNS").
const largeTopicSubs = 100

func largeTopicProtocol(proto string) bool {
	return proto == "sqs" || proto == "lambda" || proto == "firehose"
}

// checkLargeTopic checks that a topic allowing maxBytes per message can
// have subs subscriptions, the last of protocol proto (or, with proto
// empty, the protocols of subs).
func checkLargeTopic(maxBytes int, subs []*subscription, proto string) error {
	if maxBytes <= MaxMessageBytes {
		return nil
	}
	n := len(subs)
	if proto != "" {
		n++
	}
	if n > largeTopicSubs {
		return errorf(ErrInvalidParameter, "Invalid parameter: A topic with a MaximumMessageSize above %d bytes can have at most %d subscriptions", MaxMessageBytes, largeTopicSubs)
	}
	protos := []string{proto}
	if proto == "" {
		protos = protos[:0]
		for _, sub := range subs {
			protos = append(protos, sub.rec.Protocol)
		}
	}
	for _, p := range protos {
		if !largeTopicProtocol(p) {
			return errorf(ErrInvalidParameter, "Invalid parameter: A topic with a MaximumMessageSize above %d bytes supports only sqs, lambda and firehose subscriptions, not %s", MaxMessageBytes, p)
		}
	}
	return nil
}

func deliveryPolicyError(subscribe bool, err error) error {
	if subscribe {
		return invalidParam("Attributes", "DeliveryPolicy: "+err.Error())
	}
	return errorf(ErrInvalidParameter, "Invalid parameter: DeliveryPolicy: %s", err.Error())
}

// Subscription attributes settable with Subscribe and
// SetSubscriptionAttributes (SNS API reference, SetSubscriptionAttributes).
var subSettable = map[string]bool{
	"DeliveryPolicy": true, "FilterPolicy": true, "FilterPolicyScope": true, "RawMessageDelivery": true,
	"RedrivePolicy": true, "SubscriptionRoleArn": true, "ReplayPolicy": true,
}

// subTarget is what subscription attributes are checked against.
type subTarget struct {
	proto     string
	fifoTopic bool
	// fifoPair: a FIFO topic's subscription of a FIFO queue.
	fifoPair        bool
	region, account string
}

// validateSubAttributes checks the attributes being set (set) against the
// subscription's whole resulting attribute map (merged) and returns set
// normalized. subscribe selects Subscribe's error prefix ("Invalid
// parameter: Attributes Reason: ") over SetSubscriptionAttributes's
// ("Invalid parameter: ").
func validateSubAttributes(set, merged map[string]string, st subTarget, subscribe bool) (map[string]string, error) {
	proto, fifoPair, fifoTopic := st.proto, st.fifoPair, st.fifoTopic
	fail := func(msg string) error {
		if subscribe {
			return errorf(ErrInvalidParameter, "Invalid parameter: Attributes Reason: %s", msg)
		}
		return errorf(ErrInvalidParameter, "Invalid parameter: %s", msg)
	}
	out := make(map[string]string, len(set))
	for name, v := range set {
		if !subSettable[name] {
			if subscribe {
				return nil, invalidParam("Attributes", "Unknown attribute "+name)
			}
			return nil, invalidParam("AttributeName", "")
		}
		switch name {
		case "RawMessageDelivery":
			lv := strings.ToLower(v)
			if lv != "true" && lv != "false" {
				return nil, fail(fmt.Sprintf("RawMessageDelivery: Invalid value [%s]. Must be true or false.", v))
			}
			// Named at all, even false, on a protocol without raw
			// delivery, it is refused (recorded AWS behaviour,
			// aws-cloudformation/cloudformation-coverage-roadmap#399).
			if proto != "sqs" && proto != "http" && proto != "https" && proto != "firehose" {
				return nil, errorf(ErrInvalidParameter, "Invalid parameter: Delivery protocol [%s] does not support raw message delivery.", proto)
			}
			v = lv
		case "FilterPolicyScope":
			if v != string(filter.ScopeAttributes) && v != string(filter.ScopeBody) {
				return nil, fail(fmt.Sprintf("FilterPolicyScope: Invalid value [%s]. Please use either MessageBody or MessageAttributes", v))
			}
		case "RedrivePolicy":
			if v != "" {
				dlq, err := parseRedrivePolicy(v)
				if err != nil {
					return nil, fail("RedrivePolicy: " + err.Error())
				}
				if fifoPair && !strings.HasSuffix(dlq, ".fifo") {
					return nil, fail("RedrivePolicy: must use a FIFO queue as DLQ for a FIFO Subscription to a FIFO Topic.")
				}
				// "The Amazon SNS subscription and Amazon SQS queue must be
				// under the same AWS account and Region"; "standard topic
				// subscriptions use standard queues" (SNS developer guide,
				// "Amazon SNS dead-letter queues").
				parts := strings.Split(dlq, ":")
				if parts[3] != st.region || parts[4] != st.account {
					return nil, fail("RedrivePolicy: the dead-letter queue must be in the subscription's account and region.")
				}
				if fifoTopic != strings.HasSuffix(dlq, ".fifo") {
					return nil, fail("RedrivePolicy: a FIFO topic's subscription needs a FIFO dead-letter queue, a standard topic's a standard one.")
				}
			}
		case "DeliveryPolicy":
			// "With the exception of HTTP/S, you can't change Amazon
			// SNS-defined delivery policies" (SNS developer guide, "Amazon
			// SNS message delivery retries").
			if v != "" && proto != "http" && proto != "https" {
				return nil, fail(fmt.Sprintf("DeliveryPolicy: Delivery protocol [%s] does not support delivery policies.", proto))
			}
			if v != "" {
				if _, err := parseSubDeliveryPolicy(v); err != nil {
					return nil, deliveryPolicyError(subscribe, err)
				}
			}
		case "SubscriptionRoleArn":
			// "applies only to Amazon Data Firehose delivery stream
			// subscriptions" (SNS API reference, Subscribe).
			if v != "" && proto != "firehose" {
				return nil, fail(fmt.Sprintf("SubscriptionRoleArn: Delivery protocol [%s] does not support SubscriptionRoleArn.", proto))
			}
			if v != "" && !isIAMRoleArn(v) {
				return nil, fail("SubscriptionRoleArn: Invalid role arn")
			}
		case "ReplayPolicy":
			// Replay is a FIFO topic feature (SNS API reference,
			// Subscribe: "ReplayPolicy ... applies only to FIFO topics").
			if !fifoTopic {
				return nil, fail("ReplayPolicy can only be set on subscriptions to FIFO topics")
			}
			if v != "" && !isEmptyObject(v) {
				if _, _, err := parseReplayPolicy(v); err != nil {
					return nil, fail("ReplayPolicy: " + err.Error())
				}
			}
		}
		out[name] = v
	}
	// "Specifying a valid ARN for this attribute is required for Firehose
	// delivery stream subscriptions" (SNS API reference, Subscribe).
	_, touched := set["SubscriptionRoleArn"]
	if proto == "firehose" && (subscribe || touched) && merged["SubscriptionRoleArn"] == "" {
		return nil, fail("SubscriptionRoleArn is required for firehose subscriptions")
	}
	// The filter policy is checked against the resulting scope, whichever
	// of the two changed.
	if _, touched := set["FilterPolicy"]; touched || set["FilterPolicyScope"] != "" {
		if doc := merged["FilterPolicy"]; doc != "" && !isEmptyObject(doc) {
			if _, err := filter.Parse(doc, filter.Scope(merged["FilterPolicyScope"])); err != nil {
				fe := err.(*filter.Error)
				if fe.Bare {
					return nil, fail(fe.Message)
				}
				return nil, fail("FilterPolicy: " + fe.Message)
			}
		}
	}
	return out, nil
}

// parseRedrivePolicy returns the dead-letter queue ARN of a subscription
// RedrivePolicy.
func parseRedrivePolicy(doc string) (string, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		return "", fmt.Errorf("failed to parse JSON. %v", err)
	}
	for k := range m {
		if k != "deadLetterTargetArn" {
			return "", fmt.Errorf("invalid JSON. Attribute %s is unknown.", k)
		}
	}
	arn, _ := m["deadLetterTargetArn"].(string)
	parts := strings.Split(arn, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sqs" || parts[5] == "" {
		return "", fmt.Errorf("deadLetterTargetArn is an invalid arn")
	}
	return arn, nil
}

// ---------------------------------------------------------- delivery policy

// deliveryPolicy is an effective retry policy (SNS developer guide,
// "Amazon SNS message delivery retries").
type deliveryPolicy struct {
	MinDelay, MaxDelay                   int // seconds
	NumRetries                           int
	NumNoDelay, NumMinDelay, NumMaxDelay int
	Backoff                              string
	ContentType                          string
	MaxPerSecond                         int
}

type retryPolicyJSON struct {
	MinDelayTarget     *int    `json:"minDelayTarget,omitempty"`
	MaxDelayTarget     *int    `json:"maxDelayTarget,omitempty"`
	NumRetries         *int    `json:"numRetries,omitempty"`
	NumNoDelayRetries  *int    `json:"numNoDelayRetries,omitempty"`
	NumMinDelayRetries *int    `json:"numMinDelayRetries,omitempty"`
	NumMaxDelayRetries *int    `json:"numMaxDelayRetries,omitempty"`
	BackoffFunction    *string `json:"backoffFunction,omitempty"`
}

type throttleJSON struct {
	MaxReceivesPerSecond *int `json:"maxReceivesPerSecond,omitempty"`
}

type requestPolicyJSON struct {
	HeaderContentType *string `json:"headerContentType,omitempty"`
}

type topicDeliveryJSON struct {
	HTTP *struct {
		DefaultHealthyRetryPolicy    *retryPolicyJSON   `json:"defaultHealthyRetryPolicy"`
		DisableSubscriptionOverrides *bool              `json:"disableSubscriptionOverrides"`
		DefaultThrottlePolicy        *throttleJSON      `json:"defaultThrottlePolicy"`
		DefaultRequestPolicy         *requestPolicyJSON `json:"defaultRequestPolicy"`
	} `json:"http"`
}

type subDeliveryJSON struct {
	HealthyRetryPolicy *retryPolicyJSON   `json:"healthyRetryPolicy"`
	SicklyRetryPolicy  json.RawMessage    `json:"sicklyRetryPolicy"`
	ThrottlePolicy     *throttleJSON      `json:"throttlePolicy"`
	RequestPolicy      *requestPolicyJSON `json:"requestPolicy"`
	Guaranteed         *bool              `json:"guaranteed"`
}

func strictDecode(doc string, v any) error {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if ok := asType(err, &te); ok {
			return fmt.Errorf("%s type mismatch, expecting %s, received a %s", te.Field, kindName(te.Type.Kind().String()), te.Value)
		}
		// A member the policy does not have, in SNS's words ("Invalid
		// parameter: DeliveryPolicy: Unexpected JSON member:
		// throttlePolicy", an AWS answer quoted in a public test).
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return fmt.Errorf("Unexpected JSON member: %s", strings.Trim(name, `"`))
		}
		return fmt.Errorf("failed to parse JSON. %v", err)
	}
	return nil
}

func asType(err error, te **json.UnmarshalTypeError) bool {
	e, ok := err.(*json.UnmarshalTypeError)
	if ok {
		*te = e
	}
	return ok
}

func kindName(k string) string {
	if strings.HasPrefix(k, "int") {
		return "integer"
	}
	return k
}

func checkRetry(prefix string, r *retryPolicyJSON) error {
	if r == nil {
		return nil
	}
	get := func(p *int, def int) int {
		if p == nil {
			return def
		}
		return *p
	}
	lo, hi := get(r.MinDelayTarget, 20), get(r.MaxDelayTarget, 20)
	n := get(r.NumRetries, 3)
	switch {
	case lo < 1:
		return fmt.Errorf("%s.minDelayTarget must be greater than or equal to 1", prefix)
	case hi > 3600:
		return fmt.Errorf("%s.maxDelayTarget must be less than or equal to 3600", prefix)
	case hi < lo:
		return fmt.Errorf("%s.maxDelayTarget must be greater than or equal to minDelayTarget", prefix)
	case n < 0:
		return fmt.Errorf("%s.numRetries must be greater than or equal to 0", prefix)
	case n > 100:
		// AWS's words, recorded in a public connector's tests run
		// against SNS.
		return fmt.Errorf("%s.numRetries must be less than or equal to 100", prefix)
	case get(r.NumNoDelayRetries, 0) < 0 || get(r.NumMinDelayRetries, 0) < 0 || get(r.NumMaxDelayRetries, 0) < 0:
		return fmt.Errorf("%s retry counts must be greater than or equal to 0", prefix)
	case get(r.NumNoDelayRetries, 0)+get(r.NumMinDelayRetries, 0)+get(r.NumMaxDelayRetries, 0) > n:
		return fmt.Errorf("%s.numRetries must be greater than or equal to the sum of numNoDelayRetries, numMinDelayRetries and numMaxDelayRetries", prefix)
	}
	if r.BackoffFunction != nil {
		switch *r.BackoffFunction {
		case "linear", "arithmetic", "geometric", "exponential":
		default:
			return fmt.Errorf("%s.backoffFunction must be one of linear, arithmetic, geometric, exponential", prefix)
		}
	}
	// "The total policy retry time for an HTTP/S endpoint cannot be greater
	// than 3,600 seconds. This is a hard limit and cannot be increased."
	// (SNS developer guide, "Amazon SNS message delivery retries"). The
	// policy is refused when set, as AWS does, rather than cut short when
	// delivered.
	p := defaultHTTPPolicy()
	overlay(&p, r)
	var total time.Duration
	for i := 1; i <= p.NumRetries; i++ {
		d, _ := p.delay(i)
		total += d
	}
	if total > maxHTTPRetryTime {
		return fmt.Errorf("%s: Total policy retry time cannot be greater than 3600 seconds", prefix)
	}
	return nil
}

// checkRequestPolicy checks the content type HTTP/S deliveries are sent
// with. The SNS developer guide names text/plain, application/json and
// application/xml (SetSubscriptionAttributes delivery policy JSON format);
// a well-formed text or application media type, parameters such as a
// charset included, passes.
func checkRequestPolicy(prefix string, r *requestPolicyJSON) error {
	if r == nil || r.HeaderContentType == nil {
		return nil
	}
	mt, _, err := mime.ParseMediaType(*r.HeaderContentType)
	if err != nil || !strings.HasPrefix(mt, "text/") && !strings.HasPrefix(mt, "application/") {
		return fmt.Errorf("%s.headerContentType: Invalid value [%s]. Must be a text or application media type such as text/plain, application/json or application/xml", prefix, *r.HeaderContentType)
	}
	return nil
}

// readTopicDeliveryPolicy and readSubDeliveryPolicy read a stored policy
// for delivery without checking it again: a policy an earlier build
// accepted keeps working under checks added since (the hour's cut-off at
// delivery, pastHTTPRetryTime, still holds).
func readTopicDeliveryPolicy(doc string) (*topicDeliveryJSON, error) {
	var p topicDeliveryJSON
	return &p, strictDecode(doc, &p)
}

func readSubDeliveryPolicy(doc string) (*subDeliveryJSON, error) {
	var p subDeliveryJSON
	return &p, strictDecode(doc, &p)
}

func parseTopicDeliveryPolicy(doc string) (*topicDeliveryJSON, error) {
	var p topicDeliveryJSON
	if err := strictDecode(doc, &p); err != nil {
		return nil, err
	}
	if p.HTTP != nil {
		if err := checkRetry("http.defaultHealthyRetryPolicy", p.HTTP.DefaultHealthyRetryPolicy); err != nil {
			return nil, err
		}
		if err := checkThrottle("http.defaultThrottlePolicy", p.HTTP.DefaultThrottlePolicy); err != nil {
			return nil, err
		}
		if err := checkRequestPolicy("http.defaultRequestPolicy", p.HTTP.DefaultRequestPolicy); err != nil {
			return nil, err
		}
	}
	return &p, nil
}

// checkThrottle checks a throttle policy: maxReceivesPerSecond is 1 or
// greater (SNS developer guide, "Amazon SNS message delivery retries").
func checkThrottle(prefix string, t *throttleJSON) error {
	if t != nil && t.MaxReceivesPerSecond != nil && *t.MaxReceivesPerSecond < 1 {
		return fmt.Errorf("%s.maxReceivesPerSecond must be greater than or equal to 1", prefix)
	}
	return nil
}

func parseSubDeliveryPolicy(doc string) (*subDeliveryJSON, error) {
	var p subDeliveryJSON
	if err := strictDecode(doc, &p); err != nil {
		return nil, err
	}
	if err := checkRetry("healthyRetryPolicy", p.HealthyRetryPolicy); err != nil {
		return nil, err
	}
	if err := checkThrottle("throttlePolicy", p.ThrottlePolicy); err != nil {
		return nil, err
	}
	if err := checkRequestPolicy("requestPolicy", p.RequestPolicy); err != nil {
		return nil, err
	}
	return &p, nil
}

// shownSubDeliveryPolicy is a subscription's DeliveryPolicy as SNS shows
// it back: every retry member in its order, null when not given, the
// sickly and throttle policies null when absent, and guaranteed (the
// recorded AWS answer in the Terraform AWS provider's
// TestSuppressEquivalentTopicSubscriptionDeliveryPolicy: for
// {"healthyRetryPolicy":{"maxDelayTarget":20,"minDelayTarget":5,"numRetries":5}}
// SNS returns {"healthyRetryPolicy":{"minDelayTarget":5,"maxDelayTarget":20,
// "numRetries":5,"numMaxDelayRetries":null,"numNoDelayRetries":null,
// "numMinDelayRetries":null,"backoffFunction":null},"sicklyRetryPolicy":null,
// "throttlePolicy":null,"guaranteed":false}). A document that no longer
// parses is shown as stored.
func shownSubDeliveryPolicy(doc string) string {
	p, err := parseSubDeliveryPolicy(doc)
	if err != nil {
		return doc
	}
	type retry struct {
		MinDelayTarget     *int    `json:"minDelayTarget"`
		MaxDelayTarget     *int    `json:"maxDelayTarget"`
		NumRetries         *int    `json:"numRetries"`
		NumMaxDelayRetries *int    `json:"numMaxDelayRetries"`
		NumNoDelayRetries  *int    `json:"numNoDelayRetries"`
		NumMinDelayRetries *int    `json:"numMinDelayRetries"`
		BackoffFunction    *string `json:"backoffFunction"`
	}
	var shown struct {
		Healthy    *retry             `json:"healthyRetryPolicy"`
		Sickly     json.RawMessage    `json:"sicklyRetryPolicy"`
		Throttle   *throttleJSON      `json:"throttlePolicy"`
		Request    *requestPolicyJSON `json:"requestPolicy,omitempty"`
		Guaranteed bool               `json:"guaranteed"`
	}
	if h := p.HealthyRetryPolicy; h != nil {
		shown.Healthy = &retry{h.MinDelayTarget, h.MaxDelayTarget, h.NumRetries, h.NumMaxDelayRetries, h.NumNoDelayRetries, h.NumMinDelayRetries, h.BackoffFunction}
	}
	shown.Sickly = json.RawMessage("null")
	if len(p.SicklyRetryPolicy) > 0 {
		shown.Sickly = p.SicklyRetryPolicy
	}
	shown.Throttle, shown.Request = p.ThrottlePolicy, p.RequestPolicy
	if p.Guaranteed != nil {
		shown.Guaranteed = *p.Guaranteed
	}
	b, err := json.Marshal(shown)
	if err != nil {
		return doc
	}
	return string(b)
}

func defaultHTTPPolicy() deliveryPolicy {
	return deliveryPolicy{MinDelay: 20, MaxDelay: 20, NumRetries: 3, Backoff: "linear", ContentType: "text/plain; charset=UTF-8"}
}

// managedPolicy is the fixed policy of AWS-managed endpoints (SQS, Lambda):
// 3 immediate retries, 2 one second apart, 10 backing off from 1 to 20
// seconds, then 100,000 twenty seconds apart.
func managedPolicy() deliveryPolicy {
	return deliveryPolicy{MinDelay: 1, MaxDelay: 20, NumRetries: 100_015, NumNoDelay: 3, NumMinDelay: 2,
		NumMaxDelay: 100_000, Backoff: "exponential"}
}

func overlay(p *deliveryPolicy, r *retryPolicyJSON) {
	if r == nil {
		return
	}
	set := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	set(&p.MinDelay, r.MinDelayTarget)
	set(&p.MaxDelay, r.MaxDelayTarget)
	set(&p.NumRetries, r.NumRetries)
	set(&p.NumNoDelay, r.NumNoDelayRetries)
	set(&p.NumMinDelay, r.NumMinDelayRetries)
	set(&p.NumMaxDelay, r.NumMaxDelayRetries)
	if r.BackoffFunction != nil {
		p.Backoff = *r.BackoffFunction
	}
}

// effectiveDeliveryPolicy combines the topic's and the subscription's
// delivery policies for a protocol.
func effectiveDeliveryPolicy(topicDoc, subDoc, proto string) deliveryPolicy {
	if proto != "http" && proto != "https" {
		return managedPolicy()
	}
	p := defaultHTTPPolicy()
	override := true
	if topicDoc != "" {
		if tp, err := readTopicDeliveryPolicy(topicDoc); err == nil && tp.HTTP != nil {
			overlay(&p, tp.HTTP.DefaultHealthyRetryPolicy)
			if tp.HTTP.DefaultRequestPolicy != nil && tp.HTTP.DefaultRequestPolicy.HeaderContentType != nil {
				p.ContentType = *tp.HTTP.DefaultRequestPolicy.HeaderContentType
			}
			if tp.HTTP.DefaultThrottlePolicy != nil && tp.HTTP.DefaultThrottlePolicy.MaxReceivesPerSecond != nil {
				p.MaxPerSecond = *tp.HTTP.DefaultThrottlePolicy.MaxReceivesPerSecond
			}
			if tp.HTTP.DisableSubscriptionOverrides != nil && *tp.HTTP.DisableSubscriptionOverrides {
				override = false
			}
		}
	}
	if subDoc != "" && override {
		if sp, err := readSubDeliveryPolicy(subDoc); err == nil {
			overlay(&p, sp.HealthyRetryPolicy)
			if sp.RequestPolicy != nil && sp.RequestPolicy.HeaderContentType != nil {
				p.ContentType = *sp.RequestPolicy.HeaderContentType
			}
			if sp.ThrottlePolicy != nil && sp.ThrottlePolicy.MaxReceivesPerSecond != nil {
				p.MaxPerSecond = *sp.ThrottlePolicy.MaxReceivesPerSecond
			}
		}
	}
	// Each policy was checked alone, so a subscription's maxDelayTarget
	// can fall below the topic's minDelayTarget: the backoff then holds at
	// the minimum instead of running backwards (or, for geometric, into
	// NaN).
	if p.MaxDelay < p.MinDelay {
		p.MaxDelay = p.MinDelay
	}
	return p
}

// delay returns the wait before retry n (1-based) and false once the
// policy is exhausted. The four phases are those of the developer guide:
// immediate retries, retries at the minimum delay, backoff from the
// minimum to the maximum, retries at the maximum.
func (p deliveryPolicy) delay(n int) (time.Duration, bool) {
	if n > p.NumRetries {
		return 0, false
	}
	sec := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	if n <= p.NumNoDelay {
		return 0, true
	}
	n -= p.NumNoDelay
	if n <= p.NumMinDelay {
		return sec(float64(p.MinDelay)), true
	}
	n -= p.NumMinDelay
	backoff := p.NumRetries - p.NumNoDelay - p.NumMinDelay - p.NumMaxDelay
	if n > backoff {
		return sec(float64(p.MaxDelay)), true
	}
	lo, hi := float64(p.MinDelay), float64(p.MaxDelay)
	if backoff <= 1 {
		return sec(lo), true
	}
	x := float64(n-1) / float64(backoff-1) // 0 … 1 across the phase
	var d float64
	switch p.Backoff {
	case "arithmetic":
		d = lo + (hi-lo)*x*x
	case "geometric":
		base := math.Pow(hi-lo+1, 1/float64(backoff-1))
		d = math.Pow(base, float64(n-1)) + lo - 1
	case "exponential":
		a := (hi - lo) / (math.Exp(float64(backoff-1)) - 1)
		d = a*math.Exp(float64(n-1)) + lo - a
	default: // linear
		d = lo + (hi-lo)*x
	}
	return sec(d), true
}

// effectiveTopicDeliveryPolicy renders a topic's EffectiveDeliveryPolicy
// in AWS's key order.
func effectiveTopicDeliveryPolicy(doc string) string {
	p := effectiveDeliveryPolicy(doc, "", "http")
	disable := false
	if doc != "" {
		if tp, err := readTopicDeliveryPolicy(doc); err == nil && tp.HTTP != nil && tp.HTTP.DisableSubscriptionOverrides != nil {
			disable = *tp.HTTP.DisableSubscriptionOverrides
		}
	}
	var b bytes.Buffer
	b.WriteString(`{"http":{"defaultHealthyRetryPolicy":`)
	writeRetry(&b, p)
	fmt.Fprintf(&b, `,"disableSubscriptionOverrides":%t`, disable)
	if p.MaxPerSecond > 0 {
		fmt.Fprintf(&b, `,"defaultThrottlePolicy":{"maxReceivesPerSecond":%d}`, p.MaxPerSecond)
	}
	b.WriteString(`,"defaultRequestPolicy":{"headerContentType":`)
	b.WriteString(jsonString(p.ContentType))
	b.WriteString(`}}}`)
	return b.String()
}

// effectiveDeliveryPolicyJSON renders an HTTP subscription's
// EffectiveDeliveryPolicy.
func effectiveDeliveryPolicyJSON(topicDoc, subDoc string) string {
	p := effectiveDeliveryPolicy(topicDoc, subDoc, "http")
	var b bytes.Buffer
	b.WriteString(`{"healthyRetryPolicy":`)
	writeRetry(&b, p)
	b.WriteString(`,"sicklyRetryPolicy":null,"throttlePolicy":`)
	if p.MaxPerSecond > 0 {
		fmt.Fprintf(&b, `{"maxReceivesPerSecond":%d}`, p.MaxPerSecond)
	} else {
		b.WriteString("null")
	}
	b.WriteString(`,"requestPolicy":{"headerContentType":`)
	b.WriteString(jsonString(p.ContentType))
	b.WriteString(`},"guaranteed":false}`)
	return b.String()
}

func writeRetry(b *bytes.Buffer, p deliveryPolicy) {
	fmt.Fprintf(b, `{"minDelayTarget":%d,"maxDelayTarget":%d,"numRetries":%d,"numMaxDelayRetries":%d,"numNoDelayRetries":%d,"numMinDelayRetries":%d,"backoffFunction":%s}`,
		p.MinDelay, p.MaxDelay, p.NumRetries, p.NumMaxDelay, p.NumNoDelay, p.NumMinDelay, jsonString(p.Backoff))
}

// defaultTopicPolicy is the access policy SNS gives a new topic.
func defaultTopicPolicy(arn, account string) string {
	return `{"Version":"2008-10-17","Id":"__default_policy_ID","Statement":[{"Sid":"__default_statement_ID","Effect":"Allow","Principal":{"AWS":"*"},"Action":["SNS:GetTopicAttributes","SNS:SetTopicAttributes","SNS:AddPermission","SNS:RemovePermission","SNS:DeleteTopic","SNS:Subscribe","SNS:ListSubscriptionsByTopic","SNS:Publish"],"Resource":` +
		jsonString(arn) + `,"Condition":{"StringEquals":{"AWS:SourceOwner":` + jsonString(account) + `}}}]}`
}

// jsonString encodes s as a JSON string without Go's HTML escaping, as
// AWS writes it.
func jsonString(s string) string {
	if jsontext.Plain(s) {
		return `"` + s + `"`
	}
	return string(jsontext.AppendString(make([]byte, 0, len(s)+len(s)/8+2), s))
}

// writeJSONString writes s as a JSON string to b.
func writeJSONString(b *strings.Builder, s string) {
	if jsontext.Plain(s) {
		b.WriteByte('"')
		b.WriteString(s)
		b.WriteByte('"')
		return
	}
	b.Write(jsontext.AppendString(make([]byte, 0, len(s)+len(s)/8+2), s))
}

// isIAMRoleArn reports whether arn names an IAM role:
// arn:<partition>:iam::<account>:role/<name>.
func isIAMRoleArn(arn string) bool {
	parts := strings.SplitN(arn, ":", 6)
	return len(parts) == 6 && parts[0] == "arn" && parts[1] != "" && parts[2] == "iam" && parts[3] == "" &&
		len(parts[4]) == 12 && strings.Trim(parts[4], "0123456789") == "" &&
		strings.HasPrefix(parts[5], "role/") && len(parts[5]) > len("role/")
}
