package queue

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Queue attribute names (CreateQueue API reference).
const (
	AttrAll                          = "All"
	AttrDelaySeconds                 = "DelaySeconds"
	AttrMaximumMessageSize           = "MaximumMessageSize"
	AttrMessageRetentionPeriod       = "MessageRetentionPeriod"
	AttrPolicy                       = "Policy"
	AttrReceiveMessageWaitTime       = "ReceiveMessageWaitTimeSeconds"
	AttrVisibilityTimeout            = "VisibilityTimeout"
	AttrRedrivePolicy                = "RedrivePolicy"
	AttrRedriveAllowPolicy           = "RedriveAllowPolicy"
	AttrKmsMasterKeyID               = "KmsMasterKeyId"
	AttrKmsDataKeyReusePeriodSeconds = "KmsDataKeyReusePeriodSeconds"
	AttrSqsManagedSseEnabled         = "SqsManagedSseEnabled"
	AttrFifoQueue                    = "FifoQueue"
	AttrContentBasedDeduplication    = "ContentBasedDeduplication"
	AttrDeduplicationScope           = "DeduplicationScope"
	AttrFifoThroughputLimit          = "FifoThroughputLimit"
	AttrQueueArn                     = "QueueArn"
	AttrApproximateNumberOfMessages  = "ApproximateNumberOfMessages"
	AttrApproximateNotVisible        = "ApproximateNumberOfMessagesNotVisible"
	AttrApproximateDelayed           = "ApproximateNumberOfMessagesDelayed"
	AttrCreatedTimestamp             = "CreatedTimestamp"
	AttrLastModifiedTimestamp        = "LastModifiedTimestamp"
)

// readOnlyAttrs are reported by GetQueueAttributes but cannot be set.
var readOnlyAttrs = map[string]bool{
	AttrQueueArn: true, AttrApproximateNumberOfMessages: true, AttrApproximateNotVisible: true,
	AttrApproximateDelayed: true, AttrCreatedTimestamp: true, AttrLastModifiedTimestamp: true,
}

var fifoOnlyAttrs = map[string]bool{
	AttrFifoQueue: true, AttrContentBasedDeduplication: true, AttrDeduplicationScope: true, AttrFifoThroughputLimit: true,
}

var commonAttrs = map[string]bool{
	AttrDelaySeconds: true, AttrMaximumMessageSize: true, AttrMessageRetentionPeriod: true, AttrPolicy: true,
	AttrReceiveMessageWaitTime: true, AttrVisibilityTimeout: true, AttrRedrivePolicy: true, AttrRedriveAllowPolicy: true,
	AttrKmsMasterKeyID: true, AttrKmsDataKeyReusePeriodSeconds: true, AttrSqsManagedSseEnabled: true,
}

// intRange is the inclusive range of an integer attribute.
type intRange struct{ min, max int }

// Ranges from the CreateQueue API reference.
var intAttrs = map[string]intRange{
	AttrDelaySeconds:                 {0, 900},
	AttrMaximumMessageSize:           {1024, MaxMessageSizeLimit},
	AttrMessageRetentionPeriod:       {60, 1209600},
	AttrReceiveMessageWaitTime:       {0, 20},
	AttrVisibilityTimeout:            {0, 43200},
	AttrKmsDataKeyReusePeriodSeconds: {60, 86400},
}

func defaultAttributes(fifo bool) map[string]string {
	m := map[string]string{
		AttrDelaySeconds:           "0",
		AttrMaximumMessageSize:     strconv.Itoa(MaxMessageSizeLimit),
		AttrMessageRetentionPeriod: "345600",
		AttrReceiveMessageWaitTime: "0",
		AttrVisibilityTimeout:      "30",
		AttrSqsManagedSseEnabled:   "true",
	}
	if fifo {
		m[AttrFifoQueue] = "true"
		m[AttrContentBasedDeduplication] = "false"
		m[AttrDeduplicationScope] = "queue"
		m[AttrFifoThroughputLimit] = "perQueue"
	}
	return m
}

func invalidAttr(name string) error {
	return errorf(ErrInvalidAttributeValue, "Invalid value for the parameter %s.", name)
}

func invalidAttrReason(name, reason string) error {
	return errorf(ErrInvalidAttributeValue, "Invalid value for the parameter %s. Reason: %s", name, reason)
}

func unknownAttr(name string) error {
	return errorf(ErrInvalidAttributeName, "Unknown Attribute %s.", name)
}

// redrivePolicy is the parsed RedrivePolicy attribute.
type redrivePolicy struct {
	DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	MaxReceiveCount     int    `json:"maxReceiveCount"`
}

// redriveAllowPolicy is the parsed RedriveAllowPolicy attribute.
type redriveAllowPolicy struct {
	RedrivePermission string   `json:"redrivePermission"`
	SourceQueueArns   []string `json:"sourceQueueArns,omitempty"`
}

// parseRedrivePolicy checks a RedrivePolicy in the order and words of
// SQS: a document that is not a JSON object, then the mandatory members
// (maxReceiveCount first: "Value {} for parameter RedrivePolicy is
// invalid. Reason: Redrive policy does not contain mandatory attribute:
// maxReceiveCount.", real SQS as quoted in
// ansible-collections/community.aws#2321), then their values, then
// members it does not know.
func parseRedrivePolicy(v string) (*redrivePolicy, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(v))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil || raw == nil || !atEnd(dec) {
		return nil, invalidParam(AttrRedrivePolicy, "Redrive policy is not a valid JSON map.")
	}
	count, ok := raw["maxReceiveCount"]
	if !ok {
		return nil, invalidValue(AttrRedrivePolicy, v, "Redrive policy does not contain mandatory attribute: maxReceiveCount.")
	}
	target, ok := raw["deadLetterTargetArn"]
	if !ok {
		return nil, invalidValue(AttrRedrivePolicy, v, "Redrive policy does not contain mandatory attribute: deadLetterTargetArn.")
	}
	p := &redrivePolicy{}
	cs := strings.Trim(string(count), `"`)
	n, err := strconv.Atoi(cs)
	if err != nil || n < 1 || n > 1000 {
		return nil, invalidValue(AttrRedrivePolicy, v, "Invalid value for maxReceiveCount: "+cs+", valid values are from 1 to 1000 both inclusive.")
	}
	p.MaxReceiveCount = n
	err = json.Unmarshal(target, &p.DeadLetterTargetArn)
	if parts := strings.Split(p.DeadLetterTargetArn, ":"); err != nil || len(parts) != 6 || parts[0] != "arn" || parts[2] != "sqs" || parts[5] == "" {
		return nil, invalidValue(AttrRedrivePolicy, v, "Dead-letter target ARN should be fully qualified ARN.")
	}
	if len(raw) > 2 {
		return nil, invalidValue(AttrRedrivePolicy, v, "Only following attributes are supported: [deadLetterTargetArn, maxReceiveCount].")
	}
	return p, nil
}

// atEnd reports whether nothing but space follows the value dec decoded
// (dec.More is false before a stray '}' or ']').
func atEnd(dec *json.Decoder) bool {
	_, err := dec.Token()
	return err == io.EOF
}

func (p *redrivePolicy) canonical() string {
	b, _ := json.Marshal(p)
	return string(b)
}

// parseRedriveAllowPolicy checks a RedriveAllowPolicy. SQS's reasons all
// begin "Amazon SQS can't create the redrive allow policy"; a document it
// cannot read at all is "in an unsupported format", without the echoed
// value (the texts as the serverless-aws-lambda emulator's tests, and a
// CloudFormation linter's rule, record them).
func parseRedriveAllowPolicy(v string) (*redriveAllowPolicy, error) {
	const cannot = "Amazon SQS can't create the redrive allow policy"
	p := &redriveAllowPolicy{}
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p); err != nil || !atEnd(dec) || !slices.Contains([]string{"allowAll", "denyAll", "byQueue"}, p.RedrivePermission) {
		return nil, invalidParam(AttrRedriveAllowPolicy, cannot+", as it’s in an unsupported format.")
	}
	switch {
	case p.RedrivePermission != "byQueue" && len(p.SourceQueueArns) > 0:
		return nil, invalidValue(AttrRedriveAllowPolicy, v, cannot+". To specify one or more source queue ARNs, you must set redrivePermission to byQueue.")
	case p.RedrivePermission == "byQueue" && len(p.SourceQueueArns) == 0:
		return nil, invalidValue(AttrRedriveAllowPolicy, v, cannot+". When you specify the byQueue permission type, you must also specify one or more sourceQueueArns values.")
	case len(p.SourceQueueArns) > 10:
		return nil, invalidValue(AttrRedriveAllowPolicy, v, cannot+". The maximum number of source queue ARNs you can specify is 10.")
	}
	return p, nil
}

func (p *redriveAllowPolicy) allows(sourceArn string) bool {
	switch p.RedrivePermission {
	case "denyAll":
		return false
	case "byQueue":
		for _, a := range p.SourceQueueArns {
			if a == sourceArn {
				return true
			}
		}
		return false
	}
	return true
}

func (p *redriveAllowPolicy) canonical() string {
	b, _ := json.Marshal(p)
	return string(b)
}

func parseBool(v string) (string, bool) {
	switch strings.ToLower(v) {
	case "true":
		return "true", true
	case "false":
		return "false", true
	}
	return "", false
}

// canonicalAttributes validates settable attributes for a queue of the given
// kind and returns them in canonical form. It checks each value on its own;
// cross-queue checks (the dead-letter target) are the Service's.
func canonicalAttributes(fifo bool, in map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(in))
	for name, v := range in {
		// Kept with the queue: not parts of the request's text, which
		// they would keep alive.
		name, v := strings.Clone(name), strings.Clone(v)
		// A value that is not UTF-8 would not come back as it was sent
		// (responses are XML or JSON text).
		if !utf8.ValidString(v) {
			if commonAttrs[name] || fifoOnlyAttrs[name] && fifo {
				return nil, invalidAttr(name)
			}
			return nil, unknownAttr(name)
		}
		switch {
		case commonAttrs[name]:
		case fifoOnlyAttrs[name] && fifo:
		default:
			// FifoQueue on a standard queue, even "false", is unknown to
			// SQS ("InvalidAttributeName (client): Unknown Attribute
			// FifoQueue.", aws/aws-sdk-php#1331).
			return nil, unknownAttr(name)
		}
		if r, ok := intAttrs[name]; ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < r.min || n > r.max {
				return nil, invalidAttr(name)
			}
			out[name] = strconv.Itoa(n)
			continue
		}
		switch name {
		case AttrSqsManagedSseEnabled, AttrContentBasedDeduplication, AttrFifoQueue:
			c, ok := parseBool(v)
			if !ok {
				return nil, invalidAttr(name)
			}
			out[name] = c
		case AttrDeduplicationScope:
			if v != "queue" && v != "messageGroup" {
				return nil, invalidAttr(name)
			}
			out[name] = v
		case AttrFifoThroughputLimit:
			if v != "perQueue" && v != "perMessageGroupId" {
				return nil, invalidAttr(name)
			}
			out[name] = v
		case AttrPolicy:
			// "A valid Amazon Web Services policy" (SQS API reference,
			// SetQueueAttributes), within the policy quotas.
			if v != "" {
				if over, err := checkPolicy(v); err != nil {
					return nil, invalidAttr(name)
				} else if over != "" {
					return nil, invalidAttrReason(name, over+".")
				}
			}
			out[name] = v
		case AttrRedrivePolicy:
			if v == "" {
				out[name] = ""
				continue
			}
			p, err := parseRedrivePolicy(v)
			if err != nil {
				return nil, err
			}
			out[name] = p.canonical()
		case AttrRedriveAllowPolicy:
			if v == "" {
				out[name] = ""
				continue
			}
			p, err := parseRedriveAllowPolicy(v)
			if err != nil {
				return nil, err
			}
			out[name] = p.canonical()
		case AttrKmsMasterKeyID:
			out[name] = v
		default:
			out[name] = v
		}
	}
	if out[AttrKmsMasterKeyID] != "" && out[AttrSqsManagedSseEnabled] == "true" {
		return nil, errorf(ErrInvalidAttributeName, "You can use one type of server-side encryption (SSE) at one time. You can either enable KMS SSE or SQS SSE.")
	}
	return out, nil
}

// mergeAttributes applies canonical changes to current attributes; an empty
// value removes an optional attribute.
func mergeAttributes(cur, changes map[string]string) map[string]string {
	out := make(map[string]string, len(cur)+len(changes))
	for k, v := range cur {
		out[k] = v
	}
	for k, v := range changes {
		if v == "" {
			switch k {
			case AttrPolicy, AttrRedrivePolicy, AttrRedriveAllowPolicy, AttrKmsMasterKeyID:
				delete(out, k)
				continue
			}
		}
		out[k] = v
	}
	// "Only one server-side encryption option is supported per queue"
	// (SQS API reference, SetQueueAttributes): turning SSE-SQS on switches
	// a queue off SSE-KMS, as setting a KMS key switches it off SSE-SQS.
	if changes[AttrSqsManagedSseEnabled] == "true" && changes[AttrKmsMasterKeyID] == "" && cur[AttrKmsMasterKeyID] != "" {
		delete(out, AttrKmsMasterKeyID)
		if _, set := changes[AttrKmsDataKeyReusePeriodSeconds]; !set {
			delete(out, AttrKmsDataKeyReusePeriodSeconds)
		}
	}
	if out[AttrKmsMasterKeyID] != "" {
		out[AttrSqsManagedSseEnabled] = "false"
		if _, ok := out[AttrKmsDataKeyReusePeriodSeconds]; !ok {
			out[AttrKmsDataKeyReusePeriodSeconds] = "300"
		}
	}
	return out
}

// checkCombination validates rules between attributes of a whole queue.
func checkCombination(full map[string]string) error {
	if full[AttrFifoThroughputLimit] == "perMessageGroupId" && full[AttrDeduplicationScope] == "queue" {
		return invalidAttrReason(AttrFifoThroughputLimit, "You can specify perMessageGroupId only when DeduplicationScope is messageGroup.")
	}
	return nil
}

// settings are the parsed attributes the message path needs.
type settings struct {
	delay, maxSize, retention, wait, visibility int
	contentDedup, dedupByGroup                  bool
	redrive                                     *redrivePolicy
	allow                                       *redriveAllowPolicy
}

func parseSettings(attrs map[string]string) settings {
	atoi := func(k string) int { n, _ := strconv.Atoi(attrs[k]); return n }
	s := settings{
		delay:        atoi(AttrDelaySeconds),
		maxSize:      atoi(AttrMaximumMessageSize),
		retention:    atoi(AttrMessageRetentionPeriod),
		wait:         atoi(AttrReceiveMessageWaitTime),
		visibility:   atoi(AttrVisibilityTimeout),
		contentDedup: attrs[AttrContentBasedDeduplication] == "true",
		dedupByGroup: attrs[AttrDeduplicationScope] == "messageGroup",
	}
	if v := attrs[AttrRedrivePolicy]; v != "" {
		s.redrive, _ = parseRedrivePolicy(v)
	}
	if v := attrs[AttrRedriveAllowPolicy]; v != "" {
		s.allow, _ = parseRedriveAllowPolicy(v)
	}
	return s
}

// validQueueName checks a queue name (CreateQueue API reference: up to 80
// alphanumerics, hyphens and underscores; a FIFO queue's ends in .fifo).
func validQueueName(name string, fifo bool) error {
	base := name
	if fifo {
		if !strings.HasSuffix(name, ".fifo") {
			return errorf(ErrInvalidParameterValue, fifoNameRule)
		}
		base = strings.TrimSuffix(name, ".fifo")
	}
	ok := len(name) <= 80 && base != ""
	for i := 0; ok && i < len(base); i++ {
		c := base[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
	}
	if !ok {
		if fifo {
			return errorf(ErrInvalidParameterValue, fifoNameRule)
		}
		return errorf(ErrInvalidParameterValue, nameRule)
	}
	return nil
}

// SQS states the rule alone, without "Value ... for parameter QueueName"
// (recorded AWS answers: MassTransit/MassTransit#2667, an
// AmazonSQSException; aws-samples/aws-marketplace-serverless-saas-integration#29).
const (
	nameRule     = "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
	fifoNameRule = "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length."
)

// compactJSON normalises a JSON document for comparisons.
func compactJSON(v string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(v)); err != nil {
		return v
	}
	return b.String()
}
