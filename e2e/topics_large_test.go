package e2e

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
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
