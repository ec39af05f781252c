package e2e

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/forkline/forkline/internal/server/servertest"
)

func startSNS(t *testing.T, fake bool) (*servertest.Server, *sns.Client, *sqs.Client) {
	t.Helper()
	s := servertest.Start(t, servertest.Options{FakeClock: fake})
	return s, sns.NewFromConfig(s.Config()), sqs.NewFromConfig(s.Config())
}

func createTopic(t *testing.T, c *sns.Client, name string, attrs map[string]string) string {
	t.Helper()
	out, err := c.CreateTopic(ctx(t), &sns.CreateTopicInput{Name: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("CreateTopic %s: %v", name, err)
	}
	return *out.TopicArn
}

func queueArn(name string) string { return "arn:aws:sqs:us-east-1:000000000000:" + name }

// subscribeQueue creates a queue and subscribes it; it returns the queue
// URL and the subscription ARN.
func subscribeQueue(t *testing.T, c *sns.Client, q *sqs.Client, topicArn, name string, attrs map[string]string) (string, string) {
	t.Helper()
	qattrs := map[string]string{}
	if strings.HasSuffix(name, ".fifo") {
		qattrs["FifoQueue"] = "true"
	}
	url := create(t, q, name, qattrs)
	out, err := c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(topicArn), Protocol: aws.String("sqs"),
		Endpoint: aws.String(queueArn(name)), Attributes: attrs, ReturnSubscriptionArn: true})
	if err != nil {
		t.Fatalf("Subscribe %s: %v", name, err)
	}
	return url, *out.SubscriptionArn
}

func publish(t *testing.T, c *sns.Client, in *sns.PublishInput) *sns.PublishOutput {
	t.Helper()
	out, err := c.Publish(ctx(t), in)
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	return out
}

// notification is the JSON envelope SNS delivers.
type notification struct {
	Type              string
	MessageId         string
	Token             string
	SequenceNumber    string
	TopicArn          string
	Subject           string
	Message           string
	SubscribeURL      string
	Timestamp         string
	SignatureVersion  string
	Signature         string
	SigningCertURL    string
	UnsubscribeURL    string
	MessageAttributes map[string]struct{ Type, Value string }
}

func decodeNotification(t *testing.T, body string) notification {
	t.Helper()
	var n notification
	if err := json.Unmarshal([]byte(body), &n); err != nil {
		t.Fatalf("envelope is not JSON: %v\n%s", err, body)
	}
	return n
}

// verifySignature checks an envelope's signature the way a subscriber
// does (SNS developer guide, "Verifying the signatures of Amazon SNS
// messages"): fetch the certificate from SigningCertURL, rebuild the
// string to sign, verify SHA1withRSA or SHA256withRSA.
func verifySignature(t *testing.T, raw []byte) { t.Helper(); verifySignatureAt(t, raw, "") }

// verifySignatureAt is verifySignature with the certificate fetched from
// server (scheme://host:port) instead of SigningCertURL's host, for a
// server restarted on another port.
func verifySignatureAt(t *testing.T, raw []byte, server string) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	str := func(k string) string { s, _ := m[k].(string); return s }
	certURL := str("SigningCertURL")
	if server != "" {
		certURL = server + certURL[strings.LastIndex(certURL, "/"):]
	}
	resp, err := http.Get(certURL)
	if err != nil {
		t.Fatalf("fetch certificate: %v", err)
	}
	pemBytes, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		t.Fatalf("certificate at %s is not PEM: %q", str("SigningCertURL"), pemBytes)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	if str("Type") == "Notification" {
		keys = []string{"Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"}
	} else {
		keys = []string{"Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"}
	}
	var b strings.Builder
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			continue
		}
		b.WriteString(k + "\n" + str(k) + "\n")
	}
	sig, err := base64.StdEncoding.DecodeString(str("Signature"))
	if err != nil {
		t.Fatal(err)
	}
	pub := cert.PublicKey.(*rsa.PublicKey)
	if str("SignatureVersion") == "2" {
		h := sha256.Sum256([]byte(b.String()))
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig)
	} else {
		h := sha1.Sum([]byte(b.String()))
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA1, h[:], sig)
	}
	if err != nil {
		t.Fatalf("signature does not verify: %v\n%s", err, raw)
	}
}

// Topic CRUD, idempotent creation and its errors (SNS API reference,
// CreateTopic, GetTopicAttributes, SetTopicAttributes, DeleteTopic).
func TestTopicLifecycle(t *testing.T) {
	_, c, _ := startSNS(t, false)
	arn := createTopic(t, c, "orders", map[string]string{"DisplayName": "Orders"})
	if arn != "arn:aws:sns:us-east-1:000000000000:orders" {
		t.Fatalf("TopicArn = %s", arn)
	}
	if again := createTopic(t, c, "orders", map[string]string{"DisplayName": "Orders"}); again != arn {
		t.Fatalf("CreateTopic is not idempotent: %s", again)
	}
	_, err := c.CreateTopic(ctx(t), &sns.CreateTopicInput{Name: aws.String("orders"), Attributes: map[string]string{"DisplayName": "Other"}})
	wantCode(t, err, "InvalidParameter")
	// Naming an attribute at its default is not asking for different
	// attributes ("By default, SignatureVersion is set to 1", TracingConfig
	// PassThrough: SNS API reference, GetTopicAttributes).
	for _, attrs := range []map[string]string{{"DisplayName": "Orders", "SignatureVersion": "1"}, {"TracingConfig": "PassThrough"}} {
		if again := createTopic(t, c, "orders", attrs); again != arn {
			t.Fatalf("CreateTopic with %v: %s", attrs, again)
		}
	}
	fifoArn := createTopic(t, c, "orders.fifo", map[string]string{"FifoTopic": "true"})
	if again := createTopic(t, c, "orders.fifo", map[string]string{"FifoTopic": "true", "ContentBasedDeduplication": "false", "FifoThroughputScope": "Topic"}); again != fifoArn {
		t.Fatalf("CreateTopic of a FIFO topic with its defaults: %s", again)
	}
	if _, err := c.DeleteTopic(ctx(t), &sns.DeleteTopicInput{TopicArn: aws.String(fifoArn)}); err != nil {
		t.Fatal(err)
	}
	// FifoTopic is a boolean whatever its case, as its check reads it.
	upper := createTopic(t, c, "upper.fifo", map[string]string{"FifoTopic": "TRUE"})
	if got, err := c.GetTopicAttributes(ctx(t), &sns.GetTopicAttributesInput{TopicArn: aws.String(upper)}); err != nil || got.Attributes["FifoTopic"] != "true" {
		t.Fatalf("FifoTopic=TRUE: %v, %v", got, err)
	}
	if _, err := c.DeleteTopic(ctx(t), &sns.DeleteTopicInput{TopicArn: aws.String(upper)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateTopic(ctx(t), &sns.CreateTopicInput{Name: aws.String("false.fifo"), Attributes: map[string]string{"FifoTopic": "false"}})
	wantCode(t, err, "InvalidParameter")
	for _, bad := range []string{"", "a b", "x:y", strings.Repeat("a", 257), "standard.fifo"} {
		_, err := c.CreateTopic(ctx(t), &sns.CreateTopicInput{Name: aws.String(bad)})
		wantCode(t, err, "InvalidParameter")
	}
	out, err := c.GetTopicAttributes(ctx(t), &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"DisplayName": "Orders", "Owner": "000000000000", "TopicArn": arn,
		"SubscriptionsConfirmed": "0", "SubscriptionsPending": "0", "SubscriptionsDeleted": "0"} {
		if out.Attributes[k] != want {
			t.Errorf("%s = %q, want %q", k, out.Attributes[k], want)
		}
	}
	if !strings.Contains(out.Attributes["Policy"], `"Resource":"`+arn+`"`) || out.Attributes["EffectiveDeliveryPolicy"] == "" {
		t.Errorf("default Policy / EffectiveDeliveryPolicy missing: %v", out.Attributes)
	}
	if _, err := c.SetTopicAttributes(ctx(t), &sns.SetTopicAttributesInput{TopicArn: aws.String(arn),
		AttributeName: aws.String("SignatureVersion"), AttributeValue: aws.String("2")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.SetTopicAttributes(ctx(t), &sns.SetTopicAttributesInput{TopicArn: aws.String(arn),
		AttributeName: aws.String("FifoTopic"), AttributeValue: aws.String("true")})
	wantCode(t, err, "InvalidParameter")

	_, err = c.GetTopicAttributes(ctx(t), &sns.GetTopicAttributesInput{TopicArn: aws.String(arn + "-missing")})
	wantCode(t, err, "NotFound")
	var nf *snstypes.NotFoundException
	if !asType(err, &nf) {
		t.Fatalf("NotFound is not the SDK's NotFoundException: %T", err)
	}

	// Tags.
	if _, err := c.TagResource(ctx(t), &sns.TagResourceInput{ResourceArn: aws.String(arn),
		Tags: []snstypes.Tag{{Key: aws.String("team"), Value: aws.String("a")}}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTagsForResource(ctx(t), &sns.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil || len(tags.Tags) != 1 || *tags.Tags[0].Value != "a" {
		t.Fatalf("ListTagsForResource = %+v, %v", tags, err)
	}
	if _, err := c.UntagResource(ctx(t), &sns.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	_, err = c.ListTagsForResource(ctx(t), &sns.ListTagsForResourceInput{ResourceArn: aws.String(arn + "x")})
	wantCode(t, err, "ResourceNotFound")

	// Pagination: 100 per page (SNS API reference, ListTopics).
	for i := 0; i < 104; i++ {
		createTopic(t, c, fmt.Sprintf("page-%03d", i), nil)
	}
	p1, err := c.ListTopics(ctx(t), &sns.ListTopicsInput{})
	if err != nil || len(p1.Topics) != 100 || p1.NextToken == nil {
		t.Fatalf("first page: %d topics, token %v, %v", len(p1.Topics), p1.NextToken, err)
	}
	p2, err := c.ListTopics(ctx(t), &sns.ListTopicsInput{NextToken: p1.NextToken})
	if err != nil || len(p2.Topics) != 5 || p2.NextToken != nil {
		t.Fatalf("second page: %d topics, token %v, %v", len(p2.Topics), p2.NextToken, err)
	}

	if _, err := c.DeleteTopic(ctx(t), &sns.DeleteTopicInput{TopicArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	// Deleting a missing topic succeeds (SNS API reference, DeleteTopic).
	if _, err := c.DeleteTopic(ctx(t), &sns.DeleteTopicInput{TopicArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Publish(ctx(t), &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("x")})
	wantCode(t, err, "NotFound")
}

// Fan-out: every subscribed queue gets the signed envelope; raw delivery
// gets the bare message with its attributes (SNS developer guide, "Fanout
// to Amazon SQS queues", "Amazon SNS raw message delivery").
func TestFanOutToQueues(t *testing.T) {
	_, c, q := startSNS(t, false)
	arn := createTopic(t, c, "fanout", nil)
	var urls []string
	for i := 0; i < 5; i++ {
		u, _ := subscribeQueue(t, c, q, arn, fmt.Sprintf("fan-%d", i), nil)
		urls = append(urls, u)
	}
	rawURL, _ := subscribeQueue(t, c, q, arn, "fan-raw", map[string]string{"RawMessageDelivery": "true"})
	out := publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String(`hello <world> & "you"`), Subject: aws.String("greeting"),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"color": {DataType: aws.String("String"), StringValue: aws.String("blue")},
			"n":     {DataType: aws.String("Number"), StringValue: aws.String("42")},
			"bin":   {DataType: aws.String("Binary"), BinaryValue: []byte{2, 3, 4}},
		}})
	sigs := map[string]bool{}
	var firstCopy *sqs.ReceiveMessageOutput
	for i, u := range urls {
		msgs := receive(t, q, u, 10)
		if len(msgs) != 1 {
			t.Fatalf("%s: %d messages, want 1", u, len(msgs))
		}
		if i == 0 {
			firstCopy = &sqs.ReceiveMessageOutput{Messages: msgs}
		}
		n := decodeNotification(t, *msgs[0].Body)
		sigs[n.Signature] = true
		if n.Type != "Notification" || n.MessageId != *out.MessageId || n.TopicArn != arn || n.Subject != "greeting" ||
			n.Message != `hello <world> & "you"` || n.SignatureVersion != "1" || !strings.HasPrefix(n.UnsubscribeURL, "http://") {
			t.Fatalf("envelope = %+v", n)
		}
		if n.MessageAttributes["color"].Value != "blue" || n.MessageAttributes["n"].Type != "Number" || n.MessageAttributes["bin"].Value != "AgME" {
			t.Fatalf("envelope attributes = %+v", n.MessageAttributes)
		}
		verifySignature(t, []byte(*msgs[0].Body))
	}
	// The signature covers no subscription-specific field: every copy
	// carries the same one.
	if len(sigs) != 1 {
		t.Fatalf("%d distinct signatures over %d copies of one message", len(sigs), len(urls))
	}
	// A message received again is the same document, byte for byte.
	first := firstCopy.Messages[0]
	if again := receiveAgain(t, q, urls[0], first); *again.Body != *first.Body || *again.MD5OfBody != *first.MD5OfBody {
		t.Fatalf("a second receive changed the notification:\n%s\n%s", *first.Body, *again.Body)
	}
	raw := receive(t, q, rawURL, 10)
	if len(raw) != 1 || *raw[0].Body != `hello <world> & "you"` {
		t.Fatalf("raw delivery = %+v", raw)
	}
	if a := raw[0].MessageAttributes; *a["color"].StringValue != "blue" || *a["n"].DataType != "Number" || string(a["bin"].BinaryValue) != "\x02\x03\x04" {
		t.Fatalf("raw attributes = %+v", a)
	}
	if raw[0].Attributes["SenderId"] == "" {
		t.Fatalf("no SenderId on a delivered message")
	}

	// MessageStructure=json: each protocol gets its own text (SNS API
	// reference, Publish).
	publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), MessageStructure: aws.String("json"),
		Message: aws.String(`{"default":"for everyone","sqs":"for queues"}`)})
	if n := decodeNotification(t, *receive(t, q, urls[0], 1)[0].Body); n.Message != "for queues" {
		t.Fatalf("MessageStructure json: Message = %q", n.Message)
	}
	_, err := c.Publish(ctx(t), &sns.PublishInput{TopicArn: aws.String(arn), MessageStructure: aws.String("json"), Message: aws.String(`{"sqs":"x"}`)})
	wantCode(t, err, "InvalidParameter")
	// Raw delivery of a MessageStructure=json publish carries no message
	// attributes: "Message attributes are sent only when the message
	// structure is String, not JSON" (SNS developer guide, Amazon SNS
	// message attributes).
	publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), MessageStructure: aws.String("json"),
		Message:           aws.String(`{"default":"for everyone","sqs":"raw for queues"}`),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{"color": {DataType: aws.String("String"), StringValue: aws.String("blue")}}})
	if n := decodeNotification(t, *receive(t, q, urls[0], 1)[0].Body); n.Message != "raw for queues" || len(n.MessageAttributes) != 0 {
		t.Fatalf("MessageStructure json with attributes, envelope: %+v", n)
	}
	found := false
	for _, m := range receive(t, q, rawURL, 10) {
		if *m.Body == "raw for queues" {
			found = true
			if len(m.MessageAttributes) != 0 || m.MD5OfMessageAttributes != nil {
				t.Fatalf("MessageStructure json with attributes, raw delivery: %v", m.MessageAttributes)
			}
		}
	}
	if !found {
		t.Fatal("MessageStructure json with attributes: no raw delivery")
	}

	// Signature version 2 signs with SHA256withRSA.
	if _, err := c.SetTopicAttributes(ctx(t), &sns.SetTopicAttributesInput{TopicArn: aws.String(arn),
		AttributeName: aws.String("SignatureVersion"), AttributeValue: aws.String("2")}); err != nil {
		t.Fatal(err)
	}
	publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("v2")})
	var body string
	for _, m := range receive(t, q, urls[1], 10) {
		if decodeNotification(t, *m.Body).Message == "v2" {
			body = *m.Body
		}
	}
	if n := decodeNotification(t, body); n.SignatureVersion != "2" {
		t.Fatalf("SignatureVersion = %q", n.SignatureVersion)
	}
	verifySignature(t, []byte(body))
}

// A receive of several notifications not read before signs them together
// (on several goroutines): each copy carries its own message's valid
// signature, and the MD5 the SDK checks is that of the signed document.
func TestReceiveManyNewNotifications(t *testing.T) {
	_, c, q := startSNS(t, false)
	arn := createTopic(t, c, "many", nil)
	u, _ := subscribeQueue(t, c, q, arn, "many-q", nil)
	want := map[string]bool{}
	for i := 0; i < 10; i++ {
		msg := fmt.Sprintf("event %d", i)
		want[msg] = true
		publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String(msg)})
	}
	got := 0
	for tries := 0; got < 10 && tries < 20; tries++ {
		for _, m := range receive(t, q, u, 10) {
			n := decodeNotification(t, *m.Body)
			if !want[n.Message] {
				t.Fatalf("unexpected or repeated message %q", n.Message)
			}
			delete(want, n.Message)
			verifySignature(t, []byte(*m.Body))
			got++
		}
	}
	if got != 10 {
		t.Fatalf("received %d of 10 notifications", got)
	}
}

func TestPublishErrors(t *testing.T) {
	_, c, _ := startSNS(t, false)
	arn := createTopic(t, c, "errs", nil)
	cases := []struct {
		name string
		in   *sns.PublishInput
		code string
	}{
		{"empty message", &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("")}, "InvalidParameter"},
		{"long subject", &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("m"), Subject: aws.String(strings.Repeat("s", 101))}, "InvalidParameter"},
		{"too long", &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String(strings.Repeat("m", 262145))}, "InvalidParameter"},
		{"no target", &sns.PublishInput{Message: aws.String("m")}, "InvalidParameter"},
		{"dedup on standard", &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("m"), MessageDeduplicationId: aws.String("d")}, "InvalidParameter"},
		{"bad attribute type", &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("m"),
			MessageAttributes: map[string]snstypes.MessageAttributeValue{"a": {DataType: aws.String("Strung"), StringValue: aws.String("x")}}}, "ParameterValueInvalid"},
		{"malformed arn", &sns.PublishInput{TopicArn: aws.String("nope"), Message: aws.String("m")}, "InvalidParameter"},
		// AWS. names other than SNS's own settings stay reserved (SNS
		// developer guide, "Amazon SNS message attributes").
		{"reserved prefix", &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("m"),
			MessageAttributes: map[string]snstypes.MessageAttributeValue{"AWS.Mine": {DataType: aws.String("String"), StringValue: aws.String("x")}}}, "ParameterValueInvalid"},
		// A custom type needs a label after its period (LocalStack's
		// AWS-validated test_message_attributes_prefixes).
		{"empty custom type label", &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("m"),
			MessageAttributes: map[string]snstypes.MessageAttributeValue{"a": {DataType: aws.String("String."), StringValue: aws.String("x")}}}, "ParameterValueInvalid"},
		// A message to a phone number is checked as one to a topic.
		{"phone: bad attribute type", &sns.PublishInput{PhoneNumber: aws.String("+15555550100"), Message: aws.String("m"),
			MessageAttributes: map[string]snstypes.MessageAttributeValue{"a": {DataType: aws.String("Strung"), StringValue: aws.String("x")}}}, "ParameterValueInvalid"},
		{"phone: empty subject", &sns.PublishInput{PhoneNumber: aws.String("+15555550100"), Message: aws.String("m"), Subject: aws.String("")}, "InvalidParameter"},
		{"phone: bad structure", &sns.PublishInput{PhoneNumber: aws.String("+15555550100"), Message: aws.String("not json"), MessageStructure: aws.String("json")}, "InvalidParameter"},
		// "The total size limit for a single SMS Publish action is 1,600
		// characters" (SNS API reference, Publish).
		{"phone: over 1,600 characters", &sns.PublishInput{PhoneNumber: aws.String("+15555550100"), Message: aws.String(strings.Repeat("é", 1601))}, "InvalidParameter"},
	}
	// Number attributes are decimal numbers (SNS developer guide, "Amazon
	// SNS message attribute data types").
	for _, v := range []string{"NaN", "Inf", "0x10", "1_000", " 5", "5e", "1e10"} {
		cases = append(cases, struct {
			name string
			in   *sns.PublishInput
			code string
		}{"number " + v, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("m"),
			MessageAttributes: map[string]snstypes.MessageAttributeValue{"n": {DataType: aws.String("Number"), StringValue: aws.String(v)}}}, "ParameterValueInvalid"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Publish(ctx(t), tc.in)
			wantCode(t, err, tc.code)
		})
	}
}

// PublishBatch: one durable write, Successful in request order, and the
// batch errors (SNS API reference, PublishBatch).
func TestPublishBatch(t *testing.T) {
	_, c, q := startSNS(t, false)
	arn := createTopic(t, c, "batch", nil)
	url, _ := subscribeQueue(t, c, q, arn, "batch-q", map[string]string{"RawMessageDelivery": "true"})
	var entries []snstypes.PublishBatchRequestEntry
	for i := 0; i < 10; i++ {
		entries = append(entries, snstypes.PublishBatchRequestEntry{Id: aws.String(fmt.Sprint("e", i)), Message: aws.String(fmt.Sprint("m", i))})
	}
	out, err := c.PublishBatch(ctx(t), &sns.PublishBatchInput{TopicArn: aws.String(arn), PublishBatchRequestEntries: entries})
	if err != nil || len(out.Successful) != 10 || len(out.Failed) != 0 {
		t.Fatalf("PublishBatch = %+v, %v", out, err)
	}
	got := 0
	for got < 10 {
		got += len(receive(t, q, url, 10))
	}
	_, err = c.PublishBatch(ctx(t), &sns.PublishBatchInput{TopicArn: aws.String(arn), PublishBatchRequestEntries: append(entries, entries[0])})
	wantCode(t, err, "TooManyEntriesInBatchRequest")
	_, err = c.PublishBatch(ctx(t), &sns.PublishBatchInput{TopicArn: aws.String(arn), PublishBatchRequestEntries: entries[:2:2][:1:1]})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.PublishBatch(ctx(t), &sns.PublishBatchInput{TopicArn: aws.String(arn), PublishBatchRequestEntries: []snstypes.PublishBatchRequestEntry{entries[0], entries[0]}})
	wantCode(t, err, "BatchEntryIdsNotDistinct")
	_, err = c.PublishBatch(ctx(t), &sns.PublishBatchInput{TopicArn: aws.String(arn), PublishBatchRequestEntries: []snstypes.PublishBatchRequestEntry{
		{Id: aws.String("bad id!"), Message: aws.String("x")}}})
	wantCode(t, err, "InvalidBatchEntryId")

	// An entry with an invalid Subject fails alone; the others are
	// published (recorded AWS answer, a connector's tests run against SNS:
	// Failed holds {Id, Code InvalidParameter, "Invalid parameter:
	// Subject", SenderFault true}, HTTP 200).
	mixed, err := c.PublishBatch(ctx(t), &sns.PublishBatchInput{TopicArn: aws.String(arn), PublishBatchRequestEntries: []snstypes.PublishBatchRequestEntry{
		{Id: aws.String("ok1"), Message: aws.String("kept 1")},
		{Id: aws.String("bad"), Message: aws.String("dropped"), Subject: aws.String("Invalid\nSubject")},
		{Id: aws.String("ok2"), Message: aws.String("kept 2"), Subject: aws.String("fine")}}})
	if err != nil || len(mixed.Successful) != 2 || len(mixed.Failed) != 1 {
		t.Fatalf("PublishBatch with one bad Subject = %+v, %v", mixed, err)
	}
	if f := mixed.Failed[0]; aws.ToString(f.Id) != "bad" || aws.ToString(f.Code) != "InvalidParameter" ||
		aws.ToString(f.Message) != "Invalid parameter: Subject" || !f.SenderFault {
		t.Fatalf("failed entry = %+v", f)
	}
	if aws.ToString(mixed.Successful[0].Id) != "ok1" || aws.ToString(mixed.Successful[1].Id) != "ok2" {
		t.Fatalf("successful = %+v", mixed.Successful)
	}
	var bodies []string
	for len(bodies) < 2 {
		for _, m := range receive(t, q, url, 10) {
			bodies = append(bodies, aws.ToString(m.Body))
		}
	}
	if slices.Sort(bodies); bodies[0] != "kept 1" || bodies[1] != "kept 2" {
		t.Fatalf("delivered %q", bodies)
	}
	// Every entry failing is still a 200 with nothing published.
	none, err := c.PublishBatch(ctx(t), &sns.PublishBatchInput{TopicArn: aws.String(arn), PublishBatchRequestEntries: []snstypes.PublishBatchRequestEntry{
		{Id: aws.String("b1"), Message: aws.String("x"), Subject: aws.String("")}}})
	if err != nil || len(none.Successful) != 0 || len(none.Failed) != 1 {
		t.Fatalf("all failed = %+v, %v", none, err)
	}
}

// Subscriptions: idempotent Subscribe, attributes, listing, unsubscribe
// (SNS API reference, Subscribe, GetSubscriptionAttributes).
func TestSubscriptions(t *testing.T) {
	_, c, q := startSNS(t, false)
	arn := createTopic(t, c, "subs", nil)
	_, subArn := subscribeQueue(t, c, q, arn, "subs-q", map[string]string{"RawMessageDelivery": "True"})
	again, err := c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("sqs"), Endpoint: aws.String(queueArn("subs-q"))})
	if err != nil || *again.SubscriptionArn != subArn {
		t.Fatalf("second Subscribe = %v, %v; want the same ARN", again, err)
	}
	_, err = c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("sqs"), Endpoint: aws.String(queueArn("subs-q")),
		Attributes: map[string]string{"RawMessageDelivery": "false"}})
	wantCode(t, err, "InvalidParameter")
	// A default named again is the same subscription: FilterPolicyScope
	// defaults to MessageAttributes (SNS API reference,
	// GetSubscriptionAttributes), RawMessageDelivery to false.
	defaultsArn := createTopic(t, c, "subs-defaults", nil)
	_, plainArn := subscribeQueue(t, c, q, defaultsArn, "subs-plain", map[string]string{"FilterPolicy": `{"k":["v"]}`})
	again, err = c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(defaultsArn), Protocol: aws.String("sqs"), Endpoint: aws.String(queueArn("subs-plain")),
		Attributes: map[string]string{"RawMessageDelivery": "false", "FilterPolicyScope": "MessageAttributes"}})
	if err != nil || *again.SubscriptionArn != plainArn {
		t.Fatalf("Subscribe naming the defaults = %v, %v; want %s", again, err, plainArn)
	}
	a, err := c.GetSubscriptionAttributes(ctx(t), &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(subArn)})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"RawMessageDelivery": "true", "Protocol": "sqs", "PendingConfirmation": "false",
		"ConfirmationWasAuthenticated": "true", "TopicArn": arn, "Endpoint": queueArn("subs-q")} {
		if a.Attributes[k] != want {
			t.Errorf("%s = %q, want %q", k, a.Attributes[k], want)
		}
	}
	for _, bad := range []struct{ name, value string }{{"RawMessageDelivery", "maybe"}, {"FilterPolicy", `{"a":"b"}`},
		{"FilterPolicyScope", "Everything"}, {"RedrivePolicy", `{"deadLetterTargetArn":"nope"}`}, {"Nope", "x"}} {
		_, err := c.SetSubscriptionAttributes(ctx(t), &sns.SetSubscriptionAttributesInput{SubscriptionArn: aws.String(subArn),
			AttributeName: aws.String(bad.name), AttributeValue: aws.String(bad.value)})
		wantCode(t, err, "InvalidParameter")
	}
	_, err = c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("carrier-pigeon"), Endpoint: aws.String("x")})
	wantCode(t, err, "InvalidParameter")
	// SMS endpoints are phone numbers, email endpoints addresses (SNS API
	// reference, Subscribe: Endpoint).
	for _, bad := range []struct{ proto, endpoint string }{{"sms", "hello"}, {"sms", "12"}, {"email", "notanemail"}, {"email-json", "a@b"}} {
		_, err = c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(defaultsArn), Protocol: aws.String(bad.proto), Endpoint: aws.String(bad.endpoint)})
		wantCode(t, err, "InvalidParameter")
	}
	for _, good := range []struct{ proto, endpoint string }{{"sms", "+1 206-555-0100"}, {"email", "dev@example.com"}} {
		if _, err = c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(defaultsArn), Protocol: aws.String(good.proto), Endpoint: aws.String(good.endpoint)}); err != nil {
			t.Errorf("Subscribe %s %s: %v", good.proto, good.endpoint, err)
		}
	}
	_, err = c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("sqs"), Endpoint: aws.String("http://not-an-arn")})
	wantCode(t, err, "InvalidParameter")
	_, err = c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("sqs"), Endpoint: aws.String(queueArn("x.fifo"))})
	wantCode(t, err, "InvalidParameter")
	// Lambda subscriptions are accepted and confirmed (delivery comes
	// with the functions service).
	if _, err := c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("lambda"),
		Endpoint: aws.String("arn:aws:lambda:us-east-1:000000000000:function:f")}); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListSubscriptionsByTopic(ctx(t), &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(arn)})
	if err != nil || len(list.Subscriptions) != 2 {
		t.Fatalf("ListSubscriptionsByTopic = %+v, %v", list, err)
	}
	if _, err := c.Unsubscribe(ctx(t), &sns.UnsubscribeInput{SubscriptionArn: aws.String(subArn)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetSubscriptionAttributes(ctx(t), &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(subArn)})
	wantCode(t, err, "NotFound")
	ta, _ := c.GetTopicAttributes(ctx(t), &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	if ta.Attributes["SubscriptionsDeleted"] != "1" || ta.Attributes["SubscriptionsConfirmed"] != "1" {
		t.Fatalf("counters after unsubscribe: %v", ta.Attributes)
	}
	// A publish after the unsubscribe does not reach the queue.
	publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("late")})
	if msgs := receive(t, q, queueURLOf(t, q, "subs-q"), 10); len(msgs) != 0 {
		t.Fatalf("unsubscribed queue got %d messages", len(msgs))
	}
}

func queueURLOf(t *testing.T, q *sqs.Client, name string) string {
	t.Helper()
	out, err := q.GetQueueUrl(ctx(t), &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return *out.QueueUrl
}

// FIFO topics into FIFO queues: group order, deduplication across the
// topic, the deduplication ID passed on (SNS developer guide, "Message
// ordering and deduplication (FIFO topics)").
func TestFIFOTopic(t *testing.T) {
	_, c, q := startSNS(t, false)
	arn := createTopic(t, c, "orders.fifo", map[string]string{"FifoTopic": "true", "ContentBasedDeduplication": "true"})
	url, _ := subscribeQueue(t, c, q, arn, "orders-q.fifo", map[string]string{"RawMessageDelivery": "true"})
	envURL, _ := subscribeQueue(t, c, q, arn, "orders-env.fifo", nil)
	stdURL, _ := subscribeQueue(t, c, q, arn, "orders-std", nil) // standard queues may subscribe to FIFO topics

	var first *sns.PublishOutput
	for i := 0; i < 20; i++ {
		out := publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String(fmt.Sprint("m", i)), MessageGroupId: aws.String(fmt.Sprint("g", i%2))})
		if out.SequenceNumber == nil {
			t.Fatal("FIFO publish without SequenceNumber")
		}
		if first == nil {
			first = out
		}
	}
	dup := publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("m0"), MessageGroupId: aws.String("g0")})
	if *dup.MessageId != *first.MessageId || *dup.SequenceNumber != *first.SequenceNumber {
		t.Fatalf("duplicate answered %s/%s, want the original %s/%s", *dup.MessageId, *dup.SequenceNumber, *first.MessageId, *first.SequenceNumber)
	}
	last := map[string]int{}
	for n := 0; n < 20; {
		msgs := receive(t, q, url, 10)
		if len(msgs) == 0 {
			t.Fatalf("only %d of 20 messages arrived", n)
		}
		for _, m := range msgs {
			var i int
			fmt.Sscanf(*m.Body, "m%d", &i)
			g := m.Attributes["MessageGroupId"]
			if prev, ok := last[g]; ok && i <= prev {
				t.Fatalf("group %s out of order: %d after %d", g, i, prev)
			}
			last[g] = i
			if m.Attributes["MessageDeduplicationId"] == "" {
				t.Fatalf("no MessageDeduplicationId passed on")
			}
			del(t, q, url, m)
			n++
		}
	}
	env := receive(t, q, envURL, 1)
	n := decodeNotification(t, *env[0].Body)
	if n.SequenceNumber == "" || n.Signature != "" {
		t.Fatalf("FIFO envelope has SequenceNumber %q and Signature %q; want a number and no signature", n.SequenceNumber, n.Signature)
	}
	if msgs := receive(t, q, stdURL, 10); len(msgs) == 0 {
		t.Fatal("standard queue on a FIFO topic got nothing")
	}
	_, err := c.Publish(ctx(t), &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("x")})
	wantCode(t, err, "InvalidParameter")
	_, err = c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("http"), Endpoint: aws.String("http://127.0.0.1:1/")})
	wantCode(t, err, "InvalidParameter")
}

// receiveAgain makes a received message visible at once and receives it
// again.
func receiveAgain(t *testing.T, q *sqs.Client, url string, m sqstypes.Message) sqstypes.Message {
	t.Helper()
	if _, err := q.ChangeMessageVisibility(ctx(t), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	out, err := q.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 1})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("receive again: %v, %d messages", err, len(out.Messages))
	}
	return out.Messages[0]
}

// A FIFO topic deduplicates within five minutes of a message's publish and
// not after (SNS developer guide, "Message deduplication for FIFO topics":
// the deduplication interval is five minutes).
func TestFIFOTopicDeduplicationWindow(t *testing.T) {
	s, c, _ := startSNS(t, true)
	arn := createTopic(t, c, "window.fifo", map[string]string{"FifoTopic": "true"})
	pub := func(dedup string) string {
		t.Helper()
		out := publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("m"),
			MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String(dedup)})
		return *out.MessageId
	}
	first := pub("d1")
	other := pub("d2")
	s.Clock.Advance(4 * time.Minute)
	if again := pub("d1"); again != first {
		t.Fatalf("publish within the window got %s, want the original %s", again, first)
	}
	s.Clock.Advance(time.Minute + time.Second)
	if again := pub("d1"); again == first {
		t.Fatalf("publish after the window was taken for a duplicate of %s", first)
	}
	if again := pub("d2"); again == other {
		t.Fatalf("publish after the window was taken for a duplicate of %s", other)
	}
}

// Attribute rules that depend on the topic's kind or the subscription's
// protocol (SNS API reference, CreateTopic and Subscribe; SNS developer
// guide, "Amazon SNS dead-letter queues" and "Amazon SNS message delivery
// retries"), and the data protection policy (SNS API reference,
// PutDataProtectionPolicy).
func TestTopicKindAttributeRules(t *testing.T) {
	_, c, _ := startSNS(t, false)
	fifoAttrs := func(extra map[string]string) map[string]string {
		m := map[string]string{"FifoTopic": "true"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	_, err := c.CreateTopic(ctx(t), &sns.CreateTopicInput{Name: aws.String("traced.fifo"), Attributes: fifoAttrs(map[string]string{"TracingConfig": "Active"})})
	wantCode(t, err, "InvalidParameter") // TracingConfig: "only supported on standard topics"
	_, err = c.CreateTopic(ctx(t), &sns.CreateTopicInput{Name: aws.String("archived"), Attributes: map[string]string{"ArchivePolicy": `{"MessageRetentionPeriod":"30"}`}})
	wantCode(t, err, "InvalidParameter") // ArchivePolicy: FIFO topics only
	for _, bad := range []string{`{"MessageRetentionPeriod":"0"}`, `{"MessageRetentionPeriod":"366"}`, `{"Other":"1"}`, `[]`} {
		_, err = c.CreateTopic(ctx(t), &sns.CreateTopicInput{Name: aws.String("archived.fifo"), Attributes: fifoAttrs(map[string]string{"ArchivePolicy": bad})})
		wantCode(t, err, "InvalidParameter")
	}
	fifo := createTopic(t, c, "archived.fifo", fifoAttrs(map[string]string{"ArchivePolicy": `{"MessageRetentionPeriod":"30"}`}))
	std := createTopic(t, c, "kinds", nil)
	// An empty object turns archiving off; "" removes the policy on any
	// topic (SNS developer guide, "FIFO topic message archiving and
	// replay").
	for topicArn, v := range map[string]string{fifo: "{}", std: ""} {
		if _, err := c.SetTopicAttributes(ctx(t), &sns.SetTopicAttributesInput{TopicArn: aws.String(topicArn),
			AttributeName: aws.String("ArchivePolicy"), AttributeValue: aws.String(v)}); err != nil {
			t.Fatalf("ArchivePolicy %q on %s: %v", v, topicArn, err)
		}
	}

	subscribeQ := func(topic, queue string, attrs map[string]string) error {
		_, err := c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String("sqs"),
			Endpoint: aws.String(queueArn(queue)), Attributes: attrs})
		return err
	}
	redrive := func(arn string) map[string]string {
		return map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"` + arn + `"}`}
	}
	wantCode(t, subscribeQ(std, "q1", redrive("arn:aws:sqs:eu-west-1:000000000000:dlq")), "InvalidParameter")
	wantCode(t, subscribeQ(std, "q1", redrive("arn:aws:sqs:us-east-1:111122223333:dlq")), "InvalidParameter")
	wantCode(t, subscribeQ(std, "q1", redrive(queueArn("dlq.fifo"))), "InvalidParameter")
	wantCode(t, subscribeQ(std, "q1", map[string]string{"DeliveryPolicy": `{"healthyRetryPolicy":{"numRetries":5}}`}), "InvalidParameter")
	wantCode(t, subscribeQ(std, "q1", map[string]string{"ReplayPolicy": `{"PointType":"Timestamp","StartingPoint":"2026-01-01T00:00:00Z"}`}), "InvalidParameter")
	if err := subscribeQ(std, "q1", redrive(queueArn("dlq"))); err != nil {
		t.Fatal(err)
	}
	if err := subscribeQ(fifo, "q2.fifo", redrive(queueArn("dlq2.fifo"))); err != nil {
		t.Fatal(err)
	}

	if out, err := c.GetDataProtectionPolicy(ctx(t), &sns.GetDataProtectionPolicyInput{ResourceArn: aws.String(std)}); err != nil || aws.ToString(out.DataProtectionPolicy) != "" {
		t.Fatalf("GetDataProtectionPolicy before any: %v, %v", out, err)
	}
	policy := `{"Name":"p","Description":"d","Version":"2021-06-01","Statement":[]}`
	if _, err := c.PutDataProtectionPolicy(ctx(t), &sns.PutDataProtectionPolicyInput{ResourceArn: aws.String(std), DataProtectionPolicy: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	if out, err := c.GetDataProtectionPolicy(ctx(t), &sns.GetDataProtectionPolicyInput{ResourceArn: aws.String(std)}); err != nil || aws.ToString(out.DataProtectionPolicy) != policy {
		t.Fatalf("GetDataProtectionPolicy: %v, %v", out, err)
	}
	_, err = c.PutDataProtectionPolicy(ctx(t), &sns.PutDataProtectionPolicyInput{ResourceArn: aws.String(std), DataProtectionPolicy: aws.String("{")})
	wantCode(t, err, "InvalidParameter")
	// "" deletes it (SNS developer guide, "Deleting data protection policies").
	if _, err := c.PutDataProtectionPolicy(ctx(t), &sns.PutDataProtectionPolicyInput{ResourceArn: aws.String(std), DataProtectionPolicy: aws.String("")}); err != nil {
		t.Fatal(err)
	}
	if out, err := c.GetDataProtectionPolicy(ctx(t), &sns.GetDataProtectionPolicyInput{ResourceArn: aws.String(std)}); err != nil || aws.ToString(out.DataProtectionPolicy) != "" {
		t.Fatalf("after deleting it: %v, %v", out, err)
	}
	created, err := c.CreateTopic(ctx(t), &sns.CreateTopicInput{Name: aws.String("protected"), DataProtectionPolicy: aws.String(policy)})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := c.GetDataProtectionPolicy(ctx(t), &sns.GetDataProtectionPolicyInput{ResourceArn: created.TopicArn}); err != nil || aws.ToString(out.DataProtectionPolicy) != policy {
		t.Fatalf("CreateTopic's DataProtectionPolicy: %v, %v", out, err)
	}
	_, err = c.SetTopicAttributes(ctx(t), &sns.SetTopicAttributesInput{TopicArn: aws.String(std), AttributeName: aws.String("DataProtectionPolicy"), AttributeValue: aws.String(policy)})
	wantCode(t, err, "InvalidParameter") // not a topic attribute
}

// TagResource needs Tags, and each tag its Key and Value (SNS API
// reference, TagResource and Tag); the SDKs check this before sending, so
// the requests are written by hand. An SNS request whose signature cannot
// be read is answered in SNS's XML namespace.
func TestSNSRequiredMembersByHand(t *testing.T) {
	s, c, _ := startSNS(t, false)
	arn := createTopic(t, c, "by-hand", nil)
	post := func(auth, form string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/", strings.NewReader(form+"&Version=2010-03-31"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		return do(t, req)
	}
	for _, form := range []string{
		"Action=TagResource&ResourceArn=" + url.QueryEscape(arn),
		"Action=TagResource&Tags.member.1.Key=k&ResourceArn=" + url.QueryEscape(arn),
		"Action=CreateTopic&Name=half-tagged&Tags.member.1.Key=k",
	} {
		if status, body := post("", form); status != 400 || !strings.Contains(body, "<Code>InvalidParameter</Code>") {
			t.Errorf("%s: %d %s", form, status, body)
		}
	}
	status, body := post("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/sns/aws4_request", "Action=ListTopics")
	if status < 400 || !strings.Contains(body, `xmlns="http://sns.amazonaws.com/doc/2010-03-31/"`) {
		t.Fatalf("malformed signature: %d %s", status, body)
	}
}

// TestSNSAddressingErrors pins SNS's answers to ARNs that name nothing
// here, as clients recorded them against AWS (LocalStack's validated
// snapshots: test_cross_region_access, test_unsubscribe_idempotency,
// test_unsubscribe_wrong_arn_format, test_sns_confirm_subscription_wrong_token,
// test_publish_non_existent_target), and direct SMS publishes (SNS API
// reference, Publish: PhoneNumber "Use E.164 format").
func TestSNSAddressingErrors(t *testing.T) {
	_, c, q := startSNS(t, false)
	arn := createTopic(t, c, "addressing", nil)
	wantMsg := func(err error, code, msg string) {
		t.Helper()
		wantCode(t, err, code)
		var ae smithy.APIError
		if !asType(err, &ae) || ae.ErrorMessage() != msg {
			t.Fatalf("message %q, want %q", ae.ErrorMessage(), msg)
		}
	}

	// Fewer than six elements: the reason counts them.
	_, err := c.GetTopicAttributes(ctx(t), &sns.GetTopicAttributesInput{TopicArn: aws.String("TOPIC_ARN")})
	wantMsg(err, "InvalidParameter", "Invalid parameter: TopicArn Reason: An ARN must have at least 6 elements, not 1")
	_, err = c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String("arn:aws:sns:us-east-1:random"), Protocol: aws.String("sqs"), Endpoint: aws.String(queueArn("x"))})
	wantMsg(err, "InvalidParameter", "Invalid parameter: TopicArn Reason: An ARN must have at least 6 elements, not 5")

	// A topic of another region is a bad parameter, for DeleteTopic too:
	// it must not report a topic deleted that it never looked at.
	other := strings.Replace(arn, "us-east-1", "us-west-2", 1)
	_, err = c.GetTopicAttributes(ctx(t), &sns.GetTopicAttributesInput{TopicArn: aws.String(other)})
	wantMsg(err, "InvalidParameter", "Invalid parameter: TopicArn")
	_, err = c.Publish(ctx(t), &sns.PublishInput{TopicArn: aws.String(other), Message: aws.String("m")})
	wantMsg(err, "InvalidParameter", "Invalid parameter: TopicArn")
	_, err = c.DeleteTopic(ctx(t), &sns.DeleteTopicInput{TopicArn: aws.String(other)})
	wantMsg(err, "InvalidParameter", "Invalid parameter: TopicArn")
	// A missing topic of this region is still NotFound.
	_, err = c.GetTopicAttributes(ctx(t), &sns.GetTopicAttributesInput{TopicArn: aws.String(arn + "-missing")})
	wantCode(t, err, "NotFound")

	// Unsubscribe is idempotent.
	_, sub := subscribeQueue(t, c, q, arn, "addressing-q", nil)
	for i := 0; i < 2; i++ {
		if _, err := c.Unsubscribe(ctx(t), &sns.UnsubscribeInput{SubscriptionArn: aws.String(sub)}); err != nil {
			t.Fatalf("Unsubscribe #%d: %v", i+1, err)
		}
	}
	_, err = c.GetSubscriptionAttributes(ctx(t), &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(sub)})
	wantCode(t, err, "NotFound")
	_, err = c.Unsubscribe(ctx(t), &sns.UnsubscribeInput{SubscriptionArn: aws.String(arn)})
	wantMsg(err, "InvalidParameter", "Invalid parameter: SubscriptionId")
	_, err = c.Unsubscribe(ctx(t), &sns.UnsubscribeInput{SubscriptionArn: aws.String("randomstring")})
	wantMsg(err, "InvalidParameter", "Invalid parameter: SubscriptionArn Reason: An ARN must have at least 6 elements, not 1")

	// ConfirmSubscription names the topic "Topic", and a well-formed ARN
	// of no topic makes the token bad.
	token := strings.Repeat("ab", 64)
	_, err = c.ConfirmSubscription(ctx(t), &sns.ConfirmSubscriptionInput{TopicArn: aws.String(arn + "-missing"), Token: aws.String(token)})
	wantMsg(err, "InvalidParameter", "Invalid parameter: Token")
	_, err = c.ConfirmSubscription(ctx(t), &sns.ConfirmSubscriptionInput{TopicArn: aws.String("not-an-arn"), Token: aws.String(token)})
	wantMsg(err, "InvalidParameter", "Invalid parameter: Topic")
	_, err = c.ConfirmSubscription(ctx(t), &sns.ConfirmSubscriptionInput{TopicArn: aws.String(other), Token: aws.String(token)})
	wantMsg(err, "InvalidParameter", "Invalid parameter: Topic")

	// A direct SMS to a valid number is accepted (forkline sends none); a
	// malformed number is refused.
	out, err := c.Publish(ctx(t), &sns.PublishInput{PhoneNumber: aws.String("+15555550100"), Message: aws.String(strings.Repeat("é", 1600))})
	if err != nil || out.MessageId == nil || *out.MessageId == "" {
		t.Fatalf("Publish to a phone number: %+v, %v", out, err)
	}
	_, err = c.Publish(ctx(t), &sns.PublishInput{PhoneNumber: aws.String("+1a234"), Message: aws.String("hi")})
	wantMsg(err, "InvalidParameter", "Invalid parameter: PhoneNumber Reason: +1a234 is not valid to publish to")
	// A mobile platform endpoint forkline does not have.
	_, err = c.Publish(ctx(t), &sns.PublishInput{TargetArn: aws.String("arn:aws:sns:us-east-1:000000000000:endpoint/GCM/app/abc"), Message: aws.String("hi")})
	wantMsg(err, "InvalidParameter", "Invalid parameter: TargetArn Reason: No endpoint found for the target arn specified")
}

// Subscription attributes as AWS answers them (recorded in LocalStack's
// AWS-validated snapshots, named at each step).
func TestSubscriptionAttributesRecordedBehaviour(t *testing.T) {
	_, c, q := startSNS(t, false)
	arn := createTopic(t, c, "recorded", nil)
	getAttrs := func(subArn string) map[string]string {
		t.Helper()
		out, err := c.GetSubscriptionAttributes(ctx(t), &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(subArn)})
		if err != nil {
			t.Fatal(err)
		}
		return out.Attributes
	}
	set := func(subArn, name, value string) error {
		_, err := c.SetSubscriptionAttributes(ctx(t), &sns.SetSubscriptionAttributesInput{SubscriptionArn: aws.String(subArn),
			AttributeName: aws.String(name), AttributeValue: aws.String(value)})
		return err
	}

	// The scope may be set before any policy; it shows, and applies, once
	// a policy is set (test_set_subscription_filter_policy_scope).
	url, subArn := subscribeQueue(t, c, q, arn, "recorded-scope", nil)
	if err := set(subArn, "FilterPolicyScope", "MessageBody"); err != nil {
		t.Fatalf("FilterPolicyScope before FilterPolicy: %v", err)
	}
	if a := getAttrs(subArn); a["FilterPolicyScope"] != "" {
		t.Errorf("FilterPolicyScope without a policy = %q, want none", a["FilterPolicyScope"])
	}
	if err := set(subArn, "FilterPolicy", `{"kind":["order"]}`); err != nil {
		t.Fatal(err)
	}
	if a := getAttrs(subArn); a["FilterPolicyScope"] != "MessageBody" {
		t.Errorf("FilterPolicyScope with a policy = %q, want MessageBody", a["FilterPolicyScope"])
	}
	publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String(`{"kind":"refund"}`)})
	publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String(`{"kind":"order"}`)})
	msgs := receive(t, q, url, 10)
	if len(msgs) != 1 || decodeNotification(t, *msgs[0].Body).Message != `{"kind":"order"}` {
		t.Fatalf("body-scoped delivery: %d messages, want the order alone", len(msgs))
	}
	// Subscribing the endpoint again without a filter is asking for other
	// attributes than the subscription has.
	_, err := c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("sqs"),
		Endpoint: aws.String(queueArn("recorded-scope")), Attributes: map[string]string{"FilterPolicy": ""}})
	wantCode(t, err, "InvalidParameter")

	// An empty FilterPolicy on Subscribe sets none, and no scope shows
	// (test_create_subscriptions_with_attributes).
	_, emptyArn := subscribeQueue(t, c, q, arn, "recorded-empty", map[string]string{"FilterPolicy": "", "FilterPolicyScope": "MessageBody", "RawMessageDelivery": "TrUe"})
	a := getAttrs(emptyArn)
	if _, ok := a["FilterPolicy"]; ok {
		t.Errorf("FilterPolicy shown after an empty one: %q", a["FilterPolicy"])
	}
	if _, ok := a["FilterPolicyScope"]; ok {
		t.Errorf("FilterPolicyScope shown without a policy: %q", a["FilterPolicyScope"])
	}
	if a["RawMessageDelivery"] != "true" {
		t.Errorf("RawMessageDelivery = %q, want true", a["RawMessageDelivery"])
	}
	// The scope kept without a policy is not shown, so naming the default
	// is the same subscription (test_subscribe_idempotency).
	again, err := c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("sqs"), Endpoint: aws.String(queueArn("recorded-empty")),
		Attributes: map[string]string{"FilterPolicyScope": "MessageAttributes", "RawMessageDelivery": "true"}, ReturnSubscriptionArn: true})
	if err != nil || *again.SubscriptionArn != emptyArn {
		t.Fatalf("Subscribe naming the default scope = %v, %v; want %s", again, err, emptyArn)
	}

	// RawMessageDelivery named at all, even false, on a protocol without
	// raw delivery (aws-cloudformation/cloudformation-coverage-roadmap#399).
	_, err = c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("lambda"),
		Endpoint: aws.String("arn:aws:lambda:us-east-1:000000000000:function:f"), Attributes: map[string]string{"RawMessageDelivery": "false"}})
	wantCode(t, err, "InvalidParameter")
	if want := "Invalid parameter: Delivery protocol [lambda] does not support raw message delivery."; !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v, want %q", err, want)
	}

	// SMS: the endpoint's error has no "Invalid parameter: " prefix
	// (test_subscribe_bad_sms), and a subscription needs no confirmation
	// and counts as authenticated (test_subscribe_sms_endpoint).
	_, err = c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("sms"), Endpoint: aws.String("invalid-number")})
	wantCode(t, err, "InvalidParameter")
	if want := "InvalidParameter: Invalid SMS endpoint: invalid-number"; !strings.HasSuffix(err.Error(), want) {
		t.Errorf("error = %v, want %q", err, want)
	}
	sms, err := c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("sms"), Endpoint: aws.String("+15555550100"), ReturnSubscriptionArn: true})
	if err != nil {
		t.Fatal(err)
	}
	if a := getAttrs(*sms.SubscriptionArn); a["ConfirmationWasAuthenticated"] != "true" || a["PendingConfirmation"] != "false" {
		t.Errorf("SMS subscription: ConfirmationWasAuthenticated %q, PendingConfirmation %q; want true, false", a["ConfirmationWasAuthenticated"], a["PendingConfirmation"])
	}
}

// SNS's own AWS. attributes (SNS developer guide, "Publishing SMS messages
// to a topic") are accepted; an envelope carries them, a raw delivery to a
// queue leaves them out, as SQS refuses the prefix.
func TestSNSOwnAttributes(t *testing.T) {
	_, c, q := startSNS(t, false)
	arn := createTopic(t, c, "own-attrs", nil)
	rawURL, _ := subscribeQueue(t, c, q, arn, "own-raw", map[string]string{"RawMessageDelivery": "true"})
	envURL, _ := subscribeQueue(t, c, q, arn, "own-env", nil)
	publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("hello"),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"AWS.SNS.SMS.SMSType": {DataType: aws.String("String"), StringValue: aws.String("Transactional")},
			"kind":                {DataType: aws.String("String"), StringValue: aws.String("greeting")},
		}})
	raw := receive(t, q, rawURL, 10, func(in *sqs.ReceiveMessageInput) { in.MessageAttributeNames = []string{"All"} })
	if len(raw) != 1 {
		t.Fatalf("raw queue: %d messages", len(raw))
	}
	if _, ok := raw[0].MessageAttributes["AWS.SNS.SMS.SMSType"]; ok || len(raw[0].MessageAttributes) != 1 {
		t.Errorf("raw delivery attributes = %v, want kind alone", raw[0].MessageAttributes)
	}
	env := receive(t, q, envURL, 10)
	if len(env) != 1 {
		t.Fatalf("envelope queue: %d messages", len(env))
	}
	if n := decodeNotification(t, *env[0].Body); n.MessageAttributes["AWS.SNS.SMS.SMSType"].Value != "Transactional" {
		t.Errorf("envelope attributes = %v", n.MessageAttributes)
	}
}
