package topic

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Delivery status logging (SNS developer guide, "Amazon SNS message
// delivery status"): a topic whose <Protocol>SuccessFeedbackRoleArn or
// <Protocol>FailureFeedbackRoleArn is set has its deliveries of that
// protocol logged into forkline's CloudWatch Logs, successes into the log
// group sns/<region>/<account-id>/<topic-name> (a sample of
// <Protocol>SuccessFeedbackSampleRate percent, none when it is not set)
// and every failed attempt into the same group's "/Failure" one. The
// entries have the shape of the ones SNS writes (recorded in public
// log-forwarder tests): notification (messageMD5Sum, messageId, topicArn,
// timestamp), delivery (deliveryId, destination, providerResponse,
// dwellTimeMs, attempts, statusCode) and status. forkline assumes no
// role: the role ARNs only switch the logging on.

// feedbackPrefix is the attribute prefix of a protocol's delivery status
// settings, or "" for protocols without them.
func feedbackPrefix(proto string) string {
	switch proto {
	case "http", "https":
		return "HTTP"
	case "sqs":
		return "SQS"
	case "lambda":
		return "Lambda"
	case "firehose":
		return "Firehose"
	case "application":
		return "Application"
	}
	return ""
}

// deliveryOutcome is one delivery attempt, as its status entry shows it.
type deliveryOutcome struct {
	topicArn    string
	proto       string
	messageID   string
	message     string // the text whose MD5 the entry shows
	md5         string // that MD5 in hex, when already computed
	published   string // the notification's Timestamp (RFC 3339)
	destination string
	attempts    int
	status      int // 0: no answer
	provider    string
	ok          bool
}

// feedback reports whether a delivery of proto on a topic with attrs is
// logged: failures when the failure role is set, successes when the
// success role is and the sample draws it.
func feedback(attrs map[string]string, proto string, ok bool) bool {
	p := feedbackPrefix(proto)
	if p == "" {
		return false
	}
	if !ok {
		return attrs[p+"FailureFeedbackRoleArn"] != ""
	}
	if attrs[p+"SuccessFeedbackRoleArn"] == "" {
		return false
	}
	rate, _ := strconv.Atoi(attrs[p+"SuccessFeedbackSampleRate"])
	return rate >= 100 || rate > 0 && rand.IntN(100) < rate
}

// topicAttributes returns a topic's attributes by ARN, or nil.
func (s *Service) topicAttributes(arn string) map[string]string {
	name := arn[strings.LastIndexByte(arn, ':')+1:]
	s.mu.RLock()
	defer s.mu.RUnlock()
	if t := s.topics[name]; t != nil && t.arn == arn {
		return t.rec.Attributes
	}
	return nil
}

// writeDeliveryLog writes a delivery status entry.
func (s *Service) writeDeliveryLog(o deliveryOutcome) {
	now := s.clock.Now()
	if o.md5 == "" {
		sum := md5.Sum([]byte(o.message))
		o.md5 = hex.EncodeToString(sum[:])
	}
	type notification struct {
		MD5       string `json:"messageMD5Sum"`
		MessageID string `json:"messageId"`
		TopicArn  string `json:"topicArn"`
		Timestamp string `json:"timestamp"`
	}
	type delivery struct {
		DeliveryID  string `json:"deliveryId"`
		Destination string `json:"destination"`
		Provider    string `json:"providerResponse"`
		DwellTimeMs int64  `json:"dwellTimeMs"`
		Attempts    int    `json:"attempts"`
		StatusCode  int    `json:"statusCode,omitempty"`
	}
	entry := struct {
		Notification notification `json:"notification"`
		Delivery     delivery     `json:"delivery"`
		Status       string       `json:"status"`
	}{
		Notification: notification{MD5: o.md5, MessageID: o.messageID, TopicArn: o.topicArn},
		Delivery: delivery{DeliveryID: newID(), Destination: o.destination, Provider: o.provider,
			Attempts: max(o.attempts, 1), StatusCode: o.status},
		Status: "SUCCESS",
	}
	if pub, err := time.Parse(time.RFC3339Nano, o.published); err == nil {
		entry.Notification.Timestamp = pub.UTC().Format("2006-01-02 15:04:05.000")
		entry.Delivery.DwellTimeMs = max(now.Sub(pub).Milliseconds(), 0)
	}
	group := "sns/" + s.cfg.Region + "/" + s.cfg.AccountID + "/" + o.topicArn[strings.LastIndexByte(o.topicArn, ':')+1:]
	if !o.ok {
		entry.Status = "FAILURE"
		group += "/Failure"
	}
	b, err := json.Marshal(entry)
	if err != nil {
		return
	}
	s.cfg.DeliveryLog(group, s.logStream, now, string(b))
}

// providerJSON renders a providerResponse object, its members in order.
func providerJSON(kv ...string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(kv[i])
		v, _ := json.Marshal(kv[i+1])
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.String()
}
