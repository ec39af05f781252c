package e2e

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/forkline/forkline/internal/server/servertest"
)

func TestSendReceiveDeleteWithAttributes(t *testing.T) {
	s, c := start(t, true)
	url := create(t, c, "basic", nil)
	out, err := c.SendMessage(ctx(t), &sqs.SendMessageInput{
		QueueUrl: aws.String(url), MessageBody: aws.String("héllo <world> & \n\t\r"),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"color":  {DataType: aws.String("String"), StringValue: aws.String("blue")},
			"weight": {DataType: aws.String("Number.kg"), StringValue: aws.String("12.5")},
			"blob":   {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2, 255}},
		},
		MessageSystemAttributes: map[string]types.MessageSystemAttributeValue{
			"AWSTraceHeader": {DataType: aws.String("String"), StringValue: aws.String("Root=1-5759e988-bd862e3fe1be46a994272793")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum([]byte("héllo <world> & \n\t\r"))
	if *out.MD5OfMessageBody != hex.EncodeToString(sum[:]) {
		t.Fatalf("MD5OfMessageBody = %s", *out.MD5OfMessageBody)
	}
	if out.MD5OfMessageAttributes == nil || out.MD5OfMessageSystemAttributes == nil || len(*out.MessageId) != 36 {
		t.Fatalf("send output %+v", out)
	}
	wantCounts(t, c, url, "1", "0", "0")
	msgs := receive(t, c, url, 10)
	if len(msgs) != 1 {
		t.Fatalf("received %d", len(msgs))
	}
	m := msgs[0]
	if *m.MessageId != *out.MessageId || *m.Body != "héllo <world> & \n\t\r" || *m.MD5OfMessageAttributes != *out.MD5OfMessageAttributes {
		t.Fatalf("message %+v", m)
	}
	if got := m.MessageAttributes["blob"].BinaryValue; string(got) != string([]byte{0, 1, 2, 255}) {
		t.Fatalf("binary attribute %v", got)
	}
	if *m.MessageAttributes["weight"].DataType != "Number.kg" {
		t.Fatalf("custom type lost: %v", m.MessageAttributes["weight"])
	}
	wantSys := map[string]string{
		"ApproximateReceiveCount": "1", "SenderId": "AKIDFORKLINETEST",
		"SentTimestamp":                    fmt.Sprint(s.Clock.Now().UnixMilli()),
		"ApproximateFirstReceiveTimestamp": fmt.Sprint(s.Clock.Now().UnixMilli()),
		"AWSTraceHeader":                   "Root=1-5759e988-bd862e3fe1be46a994272793",
	}
	for k, v := range wantSys {
		if m.Attributes[k] != v {
			t.Errorf("system attribute %s = %q, want %q", k, m.Attributes[k], v)
		}
	}
	wantCounts(t, c, url, "0", "1", "0")
	if _, err := c.DeleteMessage(ctx(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, c, url, "0", "0", "0")
	// Deleting again succeeds (DeleteMessage API reference).
	if _, err := c.DeleteMessage(ctx(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	// AWSTraceHeader "must be a correctly formatted X-Ray trace header
	// string" (API reference, SendMessage).
	for _, bad := range []string{"not-an-xray-header", "Root=1-5759e988", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=xyz", "Parent=53995c3f42cd8ad8"} {
		_, err := c.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"),
			MessageSystemAttributes: map[string]types.MessageSystemAttributeValue{"AWSTraceHeader": {DataType: aws.String("String"), StringValue: aws.String(bad)}}})
		wantCode(t, err, "InvalidParameterValue")
	}
	if _, err := c.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"),
		MessageSystemAttributes: map[string]types.MessageSystemAttributeValue{"AWSTraceHeader": {DataType: aws.String("String"),
			StringValue: aws.String("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1|68fd508a:5")}}}); err != nil {
		t.Fatalf("a full trace header: %v", err)
	}
}

func TestMessageAttributeFilter(t *testing.T) {
	_, c := start(t, false)
	url := create(t, c, "filter", nil)
	_, err := c.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"bar.a": {DataType: aws.String("String"), StringValue: aws.String("1")},
			"bar.b": {DataType: aws.String("String"), StringValue: aws.String("2")},
			"foo":   {DataType: aws.String("String"), StringValue: aws.String("3")},
		}})
	if err != nil {
		t.Fatal(err)
	}
	// ReceiveMessage API reference: "bar.*" returns every attribute starting with "bar.".
	msgs := receive(t, c, url, 1, func(in *sqs.ReceiveMessageInput) {
		in.MessageAttributeNames = []string{"bar.*"}
		in.MessageSystemAttributeNames = []types.MessageSystemAttributeName{"SentTimestamp"}
		in.VisibilityTimeout = 0
	})
	if len(msgs) != 1 || len(msgs[0].MessageAttributes) != 2 || len(msgs[0].Attributes) != 1 {
		t.Fatalf("filtered: %+v", msgs)
	}
}

func TestVisibilityTimeoutAndReceiptHandles(t *testing.T) {
	s, c := start(t, true)
	url := create(t, c, "vis", map[string]string{"VisibilityTimeout": "10"})
	send(t, c, url, "m")
	first := receive(t, c, url, 1)
	if len(first) != 1 {
		t.Fatal("no message")
	}
	if got := receive(t, c, url, 1); len(got) != 0 {
		t.Fatal("in-flight message received again")
	}
	s.Clock.Advance(9 * time.Second)
	wantCounts(t, c, url, "0", "1", "0")
	s.Clock.Advance(time.Second)
	wantCounts(t, c, url, "1", "0", "0")
	second := receive(t, c, url, 1, func(in *sqs.ReceiveMessageInput) { in.VisibilityTimeout = 100 })
	if len(second) != 1 || *second[0].ReceiptHandle == *first[0].ReceiptHandle {
		t.Fatal("receipt handle did not change on the second receive")
	}
	if second[0].Attributes["ApproximateReceiveCount"] != "2" ||
		second[0].Attributes["ApproximateFirstReceiveTimestamp"] != first[0].Attributes["ApproximateFirstReceiveTimestamp"] {
		t.Fatalf("second receive attributes %v", second[0].Attributes)
	}
	// The per-receive timeout (100 s) applies, not the queue's 10 s.
	s.Clock.Advance(50 * time.Second)
	wantCounts(t, c, url, "0", "1", "0")
	// A stale handle deletes nothing.
	if _, err := c.DeleteMessage(ctx(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: first[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, c, url, "0", "1", "0")
	// ChangeMessageVisibility with the handle of an earlier receive (AWS's
	// words as recorded in mapbox/ecs-watchbot#135).
	const notChangeable = "Message does not exist or is not available for visibility timeout change."
	_, err := c.ChangeMessageVisibility(ctx(t), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: first[0].ReceiptHandle, VisibilityTimeout: 5})
	wantCode(t, err, "InvalidParameterValue")
	if err == nil || !strings.Contains(err.Error(), notChangeable) {
		t.Fatalf("stale handle: %v", err)
	}
	// Change to 0 makes it visible at once.
	if _, err := c.ChangeMessageVisibility(ctx(t), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: second[0].ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, c, url, "1", "0", "0")
	// Not in flight any more: MessageNotInflight.
	_, err = c.ChangeMessageVisibility(ctx(t), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: second[0].ReceiptHandle, VisibilityTimeout: 5})
	wantCode(t, err, "AWS.SimpleQueueService.MessageNotInflight")
	// The latest handle still deletes a message whose timeout expired
	// while nobody received it again.
	if _, err := c.DeleteMessage(ctx(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: second[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, c, url, "0", "0", "0")
	// The handle of a deleted message (aws/aws-sdk-net#1927).
	_, err = c.ChangeMessageVisibility(ctx(t), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: second[0].ReceiptHandle, VisibilityTimeout: 5})
	wantCode(t, err, "InvalidParameterValue")
	if err == nil || !strings.Contains(err.Error(), notChangeable) {
		t.Fatalf("deleted message's handle: %v", err)
	}
	_, err = c.DeleteMessage(ctx(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String("not-a-handle")})
	wantCode(t, err, "ReceiptHandleIsInvalid")
}

func TestChangeVisibilityTwelveHourLimit(t *testing.T) {
	s, c := start(t, true)
	url := create(t, c, "limit", nil)
	send(t, c, url, "m")
	m := receive(t, c, url, 1, func(in *sqs.ReceiveMessageInput) { in.VisibilityTimeout = 43200 })[0]
	s.Clock.Advance(time.Hour)
	// ChangeMessageVisibility API reference: at most 12 hours from the receive.
	_, err := c.ChangeMessageVisibility(ctx(t), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 43200})
	wantCode(t, err, "InvalidParameterValue")
	if _, err := c.ChangeMessageVisibility(ctx(t), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 39600}); err != nil {
		t.Fatal(err)
	}
	_, err = c.ChangeMessageVisibility(ctx(t), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 43201})
	wantCode(t, err, "InvalidParameterValue")
}

func TestDelays(t *testing.T) {
	s, c := start(t, true)
	url := create(t, c, "delay", map[string]string{"DelaySeconds": "30"})
	send(t, c, url, "queue-delay")
	_, err := c.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("no-delay"), DelaySeconds: 0})
	if err != nil {
		t.Fatal(err)
	}
	// SDK v2 omits DelaySeconds=0, so the queue's 30 s applies to both.
	wantCounts(t, c, url, "0", "0", "2")
	_, err = c.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("five"), DelaySeconds: 5})
	if err != nil {
		t.Fatal(err)
	}
	s.Clock.Advance(5 * time.Second)
	if got := receive(t, c, url, 10); len(got) != 1 || *got[0].Body != "five" {
		t.Fatalf("after 5 s: %v", got)
	}
	s.Clock.Advance(25 * time.Second)
	wantCounts(t, c, url, "2", "1", "0")
	_, err = c.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"), DelaySeconds: 901})
	wantCode(t, err, "InvalidParameterValue")
}

func TestRetentionExpiry(t *testing.T) {
	s, c := start(t, true)
	url := create(t, c, "retain", map[string]string{"MessageRetentionPeriod": "60"})
	send(t, c, url, "old")
	s.Clock.Advance(30 * time.Second)
	send(t, c, url, "young")
	s.Clock.Advance(30 * time.Second)
	wantCounts(t, c, url, "1", "0", "0")
	got := receive(t, c, url, 10)
	if len(got) != 1 || *got[0].Body != "young" {
		t.Fatalf("received %v", got)
	}
}

func TestLongPolling(t *testing.T) {
	s, c := start(t, true)
	url := create(t, c, "poll", nil)
	var wg sync.WaitGroup
	var got []types.Message
	wg.Add(1)
	go func() {
		defer wg.Done()
		got = receive(t, c, url, 1, func(in *sqs.ReceiveMessageInput) { in.WaitTimeSeconds = 20 })
	}()
	waitPending(t, s, 1)
	send(t, c, url, "wake")
	wg.Wait()
	if len(got) != 1 || *got[0].Body != "wake" {
		t.Fatalf("long poll got %v", got)
	}

	// With nothing sent, the poll ends empty when the wait time passes.
	wg.Add(1)
	go func() {
		defer wg.Done()
		got = receive(t, c, url, 1, func(in *sqs.ReceiveMessageInput) { in.WaitTimeSeconds = 20 })
	}()
	waitPending(t, s, 1)
	s.Clock.Advance(20 * time.Second)
	wg.Wait()
	if len(got) != 0 {
		t.Fatalf("expired poll got %v", got)
	}

	// The queue's ReceiveMessageWaitTimeSeconds applies, and a delayed
	// message wakes the poll when its delay ends.
	url2 := create(t, c, "poll2", map[string]string{"ReceiveMessageWaitTimeSeconds": "20"})
	_, err := c.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url2), MessageBody: aws.String("later"), DelaySeconds: 10})
	if err != nil {
		t.Fatal(err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		got = receive(t, c, url2, 1)
	}()
	waitPending(t, s, 1)
	s.Clock.Advance(10 * time.Second)
	wg.Wait()
	if len(got) != 1 || *got[0].Body != "later" {
		t.Fatalf("delayed wake got %v", got)
	}
	_, err = c.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 21})
	wantCode(t, err, "InvalidParameterValue")
}

func TestReceiveLimits(t *testing.T) {
	_, c := start(t, false)
	url := create(t, c, "limits", nil)
	for i := 0; i < 15; i++ {
		send(t, c, url, fmt.Sprint(i))
	}
	if got := receive(t, c, url, 10); len(got) != 10 {
		t.Fatalf("received %d, want 10", len(got))
	}
	if got := receive(t, c, url, 0); len(got) != 1 {
		t.Fatalf("default MaxNumberOfMessages received %d, want 1", len(got))
	}
	_, err := c.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 11})
	wantCode(t, err, "InvalidParameterValue")
	_, err = c.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), VisibilityTimeout: 43201})
	wantCode(t, err, "InvalidParameterValue")
	_, err = c.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MessageSystemAttributeNames: []types.MessageSystemAttributeName{"Nope"}})
	wantCode(t, err, "InvalidAttributeName")
}

func TestSendValidation(t *testing.T) {
	_, c := start(t, false)
	url := create(t, c, "valid", map[string]string{"MaximumMessageSize": "1024"})
	str := func(v string) types.MessageAttributeValue {
		return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	tooMany := map[string]types.MessageAttributeValue{}
	for i := 0; i < 11; i++ {
		tooMany[fmt.Sprint("a", i)] = str("v")
	}
	cases := []struct {
		name  string
		body  string
		attrs map[string]types.MessageAttributeValue
		code  string
	}{
		{"empty body", "", nil, "MissingParameter"},
		{"invalid character", "bad\x01char", nil, "InvalidMessageContents"},
		{"unpaired surrogate class char", "ok\uFFFF", nil, "InvalidMessageContents"},
		{"too large", strings.Repeat("x", 1025), nil, "InvalidParameterValue"},
		{"attributes count toward size", strings.Repeat("x", 1000), map[string]types.MessageAttributeValue{"name": str(strings.Repeat("v", 30))}, "InvalidParameterValue"},
		{"eleven attributes", "x", tooMany, "InvalidParameterValue"},
		{"reserved prefix", "x", map[string]types.MessageAttributeValue{"AWS.x": str("v")}, "InvalidParameterValue"},
		{"double period", "x", map[string]types.MessageAttributeValue{"a..b": str("v")}, "InvalidParameterValue"},
		{"bad name char", "x", map[string]types.MessageAttributeValue{"a b": str("v")}, "InvalidParameterValue"},
		{"bad type", "x", map[string]types.MessageAttributeValue{"a": {DataType: aws.String("Text"), StringValue: aws.String("v")}}, "InvalidParameterValue"},
		{"not a number", "x", map[string]types.MessageAttributeValue{"a": {DataType: aws.String("Number"), StringValue: aws.String("twelve")}}, "InvalidParameterValue"},
		{"number too large", "x", map[string]types.MessageAttributeValue{"a": {DataType: aws.String("Number"), StringValue: aws.String("1e127")}}, "InvalidParameterValue"},
		{"empty string value", "x", map[string]types.MessageAttributeValue{"a": {DataType: aws.String("String"), StringValue: aws.String("")}}, "InvalidParameterValue"},
		// A value outside the body's characters is an invalid parameter (real SQS, LocalStack's AWS-validated test_invalid_string_attributes_cause_invalid_parameter_value_error).
		{"bad value char", "x", map[string]types.MessageAttributeValue{"a": str("bad\x08")}, "InvalidParameterValue"},
		// "The custom-type label has the same restrictions as the message body" (SQS developer guide, message attributes).
		{"bad custom type char", "x", map[string]types.MessageAttributeValue{"a": {DataType: aws.String("String.\x01"), StringValue: aws.String("v")}}, "InvalidParameterValue"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(tc.body), MessageAttributes: tc.attrs})
			wantCode(t, err, tc.code)
		})
	}
	// Standard queues refuse MessageDeduplicationId.
	_, err := c.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"), MessageDeduplicationId: aws.String("d")})
	wantCode(t, err, "InvalidParameterValue")
	// Characters up to U+10FFFF are allowed.
	send(t, c, url, "emoji 😀 and \uE000")
	wantCounts(t, c, url, "1", "0", "0")
}

func TestBatches(t *testing.T) {
	_, c := start(t, false)
	url := aws.String(create(t, c, "batch", nil))
	out, err := c.SendMessageBatch(ctx(t), &sqs.SendMessageBatchInput{QueueUrl: url, Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("a"), MessageBody: aws.String("one")},
		{Id: aws.String("b"), MessageBody: aws.String("bad\x00")},
		{Id: aws.String("c"), MessageBody: aws.String("three"), DelaySeconds: 3},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Successful) != 2 || len(out.Failed) != 1 || *out.Failed[0].Id != "b" || *out.Failed[0].Code != "InvalidMessageContents" || !out.Failed[0].SenderFault {
		t.Fatalf("batch result %+v", out)
	}
	batchErr := func(entries []types.SendMessageBatchRequestEntry) error {
		_, err := c.SendMessageBatch(ctx(t), &sqs.SendMessageBatchInput{QueueUrl: url, Entries: entries})
		return err
	}
	e := func(id string) types.SendMessageBatchRequestEntry {
		return types.SendMessageBatchRequestEntry{Id: aws.String(id), MessageBody: aws.String("x")}
	}
	var eleven []types.SendMessageBatchRequestEntry
	for i := 0; i < 11; i++ {
		eleven = append(eleven, e(fmt.Sprint("e", i)))
	}
	wantCode(t, batchErr(eleven), "AWS.SimpleQueueService.TooManyEntriesInBatchRequest")
	wantCode(t, batchErr([]types.SendMessageBatchRequestEntry{e("x"), e("x")}), "AWS.SimpleQueueService.BatchEntryIdsNotDistinct")
	wantCode(t, batchErr([]types.SendMessageBatchRequestEntry{e("bad id!")}), "AWS.SimpleQueueService.InvalidBatchEntryId")
	big := strings.Repeat("x", 200_000)
	var tooLong []types.SendMessageBatchRequestEntry
	for i := 0; i < 6; i++ {
		tooLong = append(tooLong, types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("b", i)), MessageBody: aws.String(big)})
	}
	wantCode(t, batchErr(tooLong), "AWS.SimpleQueueService.BatchRequestTooLong")
	// The total counts an entry too long on its own as well (SQS API
	// reference, SendMessageBatch: the sum of all the batched messages).
	oversized := []types.SendMessageBatchRequestEntry{e("small"),
		{Id: aws.String("huge"), MessageBody: aws.String(strings.Repeat("x", 1<<20+1))}}
	wantCode(t, batchErr(oversized), "AWS.SimpleQueueService.BatchRequestTooLong")
	_, err = c.SendMessageBatch(ctx(t), &sqs.SendMessageBatchInput{QueueUrl: url, Entries: []types.SendMessageBatchRequestEntry{}})
	if code(err) != "AWS.SimpleQueueService.EmptyBatchRequest" && code(err) != "InvalidParameter" {
		t.Fatalf("empty batch: %v", err)
	}

	msgs := receive(t, c, *url, 10)
	if len(msgs) != 1 {
		t.Fatalf("received %d", len(msgs))
	}
	cv, err := c.ChangeMessageVisibilityBatch(ctx(t), &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: url, Entries: []types.ChangeMessageVisibilityBatchRequestEntry{
		{Id: aws.String("ok"), ReceiptHandle: msgs[0].ReceiptHandle, VisibilityTimeout: 60},
		{Id: aws.String("bad"), ReceiptHandle: aws.String("garbage"), VisibilityTimeout: 60},
	}})
	if err != nil || len(cv.Successful) != 1 || len(cv.Failed) != 1 || *cv.Failed[0].Code != "ReceiptHandleIsInvalid" {
		t.Fatalf("change batch %+v %v", cv, err)
	}
	del, err := c.DeleteMessageBatch(ctx(t), &sqs.DeleteMessageBatchInput{QueueUrl: url, Entries: []types.DeleteMessageBatchRequestEntry{
		{Id: aws.String("ok"), ReceiptHandle: msgs[0].ReceiptHandle},
		{Id: aws.String("bad"), ReceiptHandle: aws.String("garbage")},
	}})
	if err != nil || len(del.Successful) != 1 || len(del.Failed) != 1 {
		t.Fatalf("delete batch %+v %v", del, err)
	}
	wantCounts(t, c, *url, "0", "0", "1")
}

// The 12-hour limit on a message's visibility timeout counts from its
// receive, across a restart ("If you attempt to set the VisibilityTimeout
// to a value greater than the maximum time left, Amazon SQS returns an
// error", ChangeMessageVisibility API reference).
func TestVisibilityLimitSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := servertest.Start(t, servertest.Options{DataDir: dir})
	c := sqs.NewFromConfig(s.Config())
	u := create(t, c, "limit", nil)
	send(t, c, u, "m")
	got := receive(t, c, u, 1)
	if len(got) != 1 {
		t.Fatalf("%d messages", len(got))
	}
	time.Sleep(2 * time.Second) // at least 2 s of the 12 hours spent
	s.Stop(t)
	s2 := servertest.Start(t, servertest.Options{DataDir: dir})
	c2 := sqs.NewFromConfig(s2.Config())
	change := func(seconds int32) error {
		_, err := c2.ChangeMessageVisibility(ctx(t), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(u),
			ReceiptHandle: got[0].ReceiptHandle, VisibilityTimeout: seconds})
		return err
	}
	wantCode(t, change(43199), "InvalidParameterValue")
	if err := change(43000); err != nil {
		t.Fatalf("a timeout within the 12 hours left: %v", err)
	}
}
