package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/forkline/forkline/internal/server/servertest"
)

// statusEntry is a delivery status log entry.
type statusEntry struct {
	Notification struct {
		MessageMD5Sum, MessageId, TopicArn, Timestamp string
	}
	Delivery struct {
		DeliveryId, Destination, ProviderResponse string
		DwellTimeMs                               int64
		Attempts, StatusCode                      int
	}
	Status string
}

// waitStatusEntries reads a log group until it holds n entries.
func waitStatusEntries(t *testing.T, lc *cloudwatchlogs.Client, group string, n int) []statusEntry {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got []statusEntry
		out, err := lc.FilterLogEvents(ctx(t), &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group)})
		if err == nil {
			for _, e := range out.Events {
				var s statusEntry
				if err := json.Unmarshal([]byte(*e.Message), &s); err != nil {
					t.Fatalf("entry %s: %v", *e.Message, err)
				}
				got = append(got, s)
			}
		}
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("log group %s: %d entries, want %d (err %v)", group, len(got), n, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Delivery status logging (SNS developer guide, "Amazon SNS message
// delivery status"): with a protocol's success and failure roles set, its
// deliveries are logged into CloudWatch Logs, successes into
// sns/REGION/ACCOUNT/TOPIC at the success sample rate, and failed
// attempts, all of them, into the same group's /Failure one ("all failed
// message deliveries generate CloudWatch Logs"), each entry in the shape
// SNS writes.
func TestDeliveryStatusLogging(t *testing.T) {
	s, c, q := startSNS(t, false)
	lc := cloudwatchlogs.NewFromConfig(s.Config())
	const role = "arn:aws:iam::000000000000:role/SNSFeedback"
	arn := createTopic(t, c, "audited", map[string]string{
		"SQSSuccessFeedbackRoleArn": role, "SQSSuccessFeedbackSampleRate": "100", "SQSFailureFeedbackRoleArn": role,
		"HTTPSuccessFeedbackRoleArn": role, "HTTPSuccessFeedbackSampleRate": "100", "HTTPFailureFeedbackRoleArn": role,
	})
	// A topic with success roles but no sample rate logs no success.
	quiet := createTopic(t, c, "quiet", map[string]string{"SQSSuccessFeedbackRoleArn": role})
	subscribeQueue(t, c, q, arn, "audited-q", nil)
	subscribeQueue(t, c, q, quiet, "quiet-q", nil)
	lostURL, _ := subscribeQueue(t, c, q, arn, "audited-lost", nil)
	if _, err := q.DeleteQueue(ctx(t), &sqs.DeleteQueueInput{QueueUrl: aws.String(lostURL)}); err != nil {
		t.Fatal(err)
	}
	// The endpoint fails the first notification once, then takes it.
	web := newSubscriber(t, func(n int) int {
		if n == 2 {
			return 500
		}
		return 200
	})
	confirmHTTP(t, c, arn, web, map[string]string{"DeliveryPolicy": `{"healthyRetryPolicy":{"minDelayTarget":1,"maxDelayTarget":1,"numRetries":3,"numNoDelayRetries":0}}`})

	pub, err := c.Publish(ctx(t), &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("audit me")})
	if err != nil {
		t.Fatal(err)
	}
	publish(t, c, &sns.PublishInput{TopicArn: aws.String(quiet), Message: aws.String("not audited")})

	group := "sns/us-east-1/000000000000/audited"
	ok := waitStatusEntries(t, lc, group, 2)
	failed := waitStatusEntries(t, lc, group+"/Failure", 2)
	byDest := map[string]statusEntry{}
	for _, e := range append(ok, failed...) {
		if e.Notification.MessageId != *pub.MessageId || e.Notification.TopicArn != arn || len(e.Notification.MessageMD5Sum) != 32 ||
			len(e.Notification.Timestamp) != len("2006-01-02 15:04:05.000") || e.Delivery.DeliveryId == "" || e.Delivery.DwellTimeMs < 0 {
			t.Fatalf("entry %+v", e)
		}
		byDest[e.Status+" "+e.Delivery.Destination+" "+string(rune('0'+e.Delivery.Attempts))] = e
	}
	queueOK := byDest["SUCCESS "+queueArn("audited-q")+" 1"]
	if queueOK.Delivery.StatusCode != 200 || !strings.Contains(queueOK.Delivery.ProviderResponse, `"sqsMessageId"`) {
		t.Fatalf("queue delivery entry %+v (all: %v)", queueOK, byDest)
	}
	if lost := byDest["FAILURE "+queueArn("audited-lost")+" 1"]; lost.Delivery.ProviderResponse == "" {
		t.Fatalf("no failure entry for the deleted queue: %v", byDest)
	}
	if first := byDest["FAILURE "+web.URL+" 1"]; first.Delivery.StatusCode != 500 {
		t.Fatalf("no failure entry for the endpoint's 500: %v", byDest)
	}
	if retried := byDest["SUCCESS "+web.URL+" 2"]; retried.Delivery.StatusCode != 200 {
		t.Fatalf("no success entry for the retry: %v", byDest)
	}
	// "sample rate percentage (0-100)".
	for _, bad := range []string{"101", "-1", "half"} {
		_, err := c.SetTopicAttributes(ctx(t), &sns.SetTopicAttributesInput{TopicArn: aws.String(arn),
			AttributeName: aws.String("SQSSuccessFeedbackSampleRate"), AttributeValue: aws.String(bad)})
		wantCode(t, err, "InvalidParameter")
	}
	groups, err := lc.DescribeLogGroups(ctx(t), &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("sns/us-east-1/000000000000/quiet")})
	if err != nil || len(groups.LogGroups) != 0 {
		t.Fatalf("a topic without a success sample rate logged: %+v, %v", groups, err)
	}
}

// A replay's copies are deliveries too: a FIFO topic that keeps SQS
// delivery status logs logs the copies its archive replays into a queue.
func TestDeliveryStatusLoggingOfReplays(t *testing.T) {
	s := servertest.Start(t, servertest.Options{FakeClock: true})
	c, q := sns.NewFromConfig(s.Config()), sqs.NewFromConfig(s.Config())
	lc := cloudwatchlogs.NewFromConfig(s.Config())
	arn := createTopic(t, c, "audited-journal.fifo", map[string]string{"FifoTopic": "true", "ContentBasedDeduplication": "true",
		"ArchivePolicy": `{"MessageRetentionPeriod":"1"}`, "SQSSuccessFeedbackRoleArn": "arn:aws:iam::000000000000:role/ok",
		"SQSSuccessFeedbackSampleRate": "100"})
	for _, text := range []string{"m0", "m1"} {
		publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String(text), MessageGroupId: aws.String("g")})
		s.Clock.Advance(time.Minute)
	}
	url, _ := subscribeQueue(t, c, q, arn, "audited-journal.fifo", map[string]string{"ReplayPolicy": replayPolicy(servertest.Epoch, nil)})
	if texts, _ := replayedBodies(t, drain(t, q, url, 2)); strings.Join(texts, ",") != "m0,m1" {
		t.Fatalf("replay delivered %v", texts)
	}
	for _, e := range waitStatusEntries(t, lc, "sns/us-east-1/000000000000/audited-journal.fifo", 2) {
		if e.Status != "SUCCESS" || e.Delivery.Destination != queueArn("audited-journal.fifo") || !strings.Contains(e.Delivery.ProviderResponse, "sqsMessageId") {
			t.Fatalf("replay entry %+v", e)
		}
	}
}
