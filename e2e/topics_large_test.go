package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// A topic's MaximumMessageSize: 262,144 bytes unless set, settable from
// 1,024 to 1,048,576; above 256 KiB only queue, function and Firehose
// subscriptions (SNS developer guide, "Publishing large messages with
// Amazon SNS"; SNS API reference, SetTopicAttributes and PublishBatch).
func TestLargeMessageTopic(t *testing.T) {
	_, c, q := startSNS(t, false)
	small := createTopic(t, c, "small", nil)
	ta, err := c.GetTopicAttributes(ctx(t), &sns.GetTopicAttributesInput{TopicArn: aws.String(small)})
	if err != nil || ta.Attributes["MaximumMessageSize"] != "262144" {
		t.Fatalf("default MaximumMessageSize = %q (%v)", ta.Attributes["MaximumMessageSize"], err)
	}
	for _, bad := range []string{"1023", "1048577", "abc", "1e4", "-2048", ""} {
		_, err := c.SetTopicAttributes(ctx(t), &sns.SetTopicAttributesInput{TopicArn: aws.String(small),
			AttributeName: aws.String("MaximumMessageSize"), AttributeValue: aws.String(bad)})
		wantCode(t, err, "InvalidParameter")
	}
	_, err = c.CreateTopic(ctx(t), &sns.CreateTopicInput{Name: aws.String("bad-size"), Attributes: map[string]string{"MaximumMessageSize": "512"}})
	wantCode(t, err, "InvalidParameter")

	// Lowered: a message over the topic's limit is refused.
	if _, err := c.SetTopicAttributes(ctx(t), &sns.SetTopicAttributesInput{TopicArn: aws.String(small),
		AttributeName: aws.String("MaximumMessageSize"), AttributeValue: aws.String("2048")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Publish(ctx(t), &sns.PublishInput{TopicArn: aws.String(small), Message: aws.String(strings.Repeat("m", 2049))})
	wantCode(t, err, "InvalidParameter")
	publish(t, c, &sns.PublishInput{TopicArn: aws.String(small), Message: aws.String(strings.Repeat("m", 2048))})

	// An HTTP subscription keeps a topic at 256 KiB or less.
	if _, err := c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(small), Protocol: aws.String("http"),
		Endpoint: aws.String("http://127.0.0.1:9/hook")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.SetTopicAttributes(ctx(t), &sns.SetTopicAttributesInput{TopicArn: aws.String(small),
		AttributeName: aws.String("MaximumMessageSize"), AttributeValue: aws.String("300000")})
	wantCode(t, err, "InvalidParameter")

	big := createTopic(t, c, "big", map[string]string{"MaximumMessageSize": "1048576"})
	u, _ := subscribeQueue(t, c, q, big, "big-q", nil)
	_, err = c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(big), Protocol: aws.String("http"),
		Endpoint: aws.String("http://127.0.0.1:9/hook")})
	wantCode(t, err, "InvalidParameter")

	msg := strings.Repeat("b", 600_000)
	publish(t, c, &sns.PublishInput{TopicArn: aws.String(big), Message: aws.String(msg)})
	got := receive(t, q, u, 1)
	if len(got) != 1 {
		t.Fatalf("received %d messages, want 1", len(got))
	}
	if n := decodeNotification(t, *got[0].Body); n.Message != msg {
		t.Fatalf("delivered message of %d bytes, want %d", len(n.Message), len(msg))
	}
	verifySignature(t, []byte(*got[0].Body))
	_, err = c.Publish(ctx(t), &sns.PublishInput{TopicArn: aws.String(big), Message: aws.String(strings.Repeat("b", 1048577))})
	wantCode(t, err, "InvalidParameter")

	// The batch as a whole is held to the topic's limit.
	entry := func(id string) snstypes.PublishBatchRequestEntry {
		return snstypes.PublishBatchRequestEntry{Id: aws.String(id), Message: aws.String(strings.Repeat("c", 400_000))}
	}
	if _, err := c.PublishBatch(ctx(t), &sns.PublishBatchInput{TopicArn: aws.String(big),
		PublishBatchRequestEntries: []snstypes.PublishBatchRequestEntry{entry("a"), entry("b")}}); err != nil {
		t.Fatalf("PublishBatch of 800,000 bytes: %v", err)
	}
	_, err = c.PublishBatch(ctx(t), &sns.PublishBatchInput{TopicArn: aws.String(big),
		PublishBatchRequestEntries: []snstypes.PublishBatchRequestEntry{entry("a"), entry("b"), entry("c")}})
	wantCode(t, err, "BatchRequestTooLong")
}

// A batch published to many queues: every queue gets each of its
// messages exactly once, enveloped or raw as its subscription asks, and a
// queue deleted under its subscription loses only its own copies.
func TestFanOutToManyQueues(t *testing.T) {
	_, c, q := startSNS(t, false)
	arn := createTopic(t, c, "wide", nil)
	const queues = 40
	urls := make([]string, queues)
	for i := range urls {
		var attrs map[string]string
		if i%3 == 0 {
			attrs = map[string]string{"RawMessageDelivery": "true"}
		}
		urls[i], _ = subscribeQueue(t, c, q, arn, fmt.Sprintf("wide-%02d", i), attrs)
	}
	if _, err := q.DeleteQueue(ctx(t), &sqs.DeleteQueueInput{QueueUrl: aws.String(urls[queues-1])}); err != nil {
		t.Fatal(err)
	}
	var entries []snstypes.PublishBatchRequestEntry
	for i := 0; i < 10; i++ {
		entries = append(entries, snstypes.PublishBatchRequestEntry{Id: aws.String(fmt.Sprint("e", i)),
			Message: aws.String(fmt.Sprintf("message %d %s", i, strings.Repeat("w", 300)))})
	}
	out, err := c.PublishBatch(ctx(t), &sns.PublishBatchInput{TopicArn: aws.String(arn), PublishBatchRequestEntries: entries})
	if err != nil || len(out.Successful) != 10 {
		t.Fatalf("PublishBatch: %v %+v", err, out)
	}
	for qi, u := range urls[:queues-1] {
		var got []string
		for tries := 0; len(got) < 10 && tries < 10; tries++ {
			for _, m := range receive(t, q, u, 10) {
				body := *m.Body
				if qi%3 != 0 {
					body = decodeNotification(t, body).Message
				}
				got = append(got, body)
			}
		}
		if len(got) != 10 {
			t.Fatalf("queue %d: %d messages, want 10", qi, len(got))
		}
		seen := map[string]bool{}
		for _, b := range got {
			if seen[b] || !strings.HasPrefix(b, "message ") {
				t.Fatalf("queue %d: unexpected or repeated %.20q", qi, b)
			}
			seen[b] = true
		}
	}
}
