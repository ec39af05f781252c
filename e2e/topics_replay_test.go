package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/forkline/forkline/internal/server/servertest"
)

// drain receives and deletes messages of a queue until it holds n of them
// or 30 seconds pass.
func drain(t *testing.T, q *sqs.Client, url string, n int) []sqstypes.Message {
	t.Helper()
	var got []sqstypes.Message
	deadline := time.Now().Add(30 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		ms := receive(t, q, url, 10, func(in *sqs.ReceiveMessageInput) { in.WaitTimeSeconds = 1 })
		for _, m := range ms {
			got = append(got, m)
			if _, err := q.DeleteMessage(ctx(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return got
}

// replayed is a notification with the replay marker.
type replayed struct {
	notification
	Replayed bool
}

func replayedBodies(t *testing.T, ms []sqstypes.Message) ([]string, []replayed) {
	t.Helper()
	var texts []string
	var ns []replayed
	for _, m := range ms {
		var n replayed
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &n); err != nil {
			t.Fatalf("notification %q: %v", aws.ToString(m.Body), err)
		}
		texts = append(texts, n.Message)
		ns = append(ns, n)
	}
	return texts, ns
}

func waitReplayStatus(t *testing.T, c *sns.Client, subArn, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := c.GetSubscriptionAttributes(ctx(t), &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(subArn)})
		if err != nil {
			t.Fatal(err)
		}
		if got := out.Attributes["ReplayStatus"]; got == want {
			return
		} else if time.Now().After(deadline) {
			t.Fatalf("ReplayStatus = %q, want %q", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func replayPolicy(start time.Time, end *time.Time) string {
	p := `{"PointType":"Timestamp","StartingPoint":"` + start.UTC().Format("2006-01-02T15:04:05.000Z") + `"`
	if end != nil {
		p += `,"EndingPoint":"` + end.UTC().Format("2006-01-02T15:04:05.000Z") + `"`
	}
	return p + "}"
}

// Message archiving and replay for FIFO topics (SNS developer guide,
// "Amazon SNS message archiving for FIFO topic owners" and "Amazon SNS
// message replay for FIFO topic subscribers").
func TestArchiveAndReplay(t *testing.T) {
	s, c, q := startSNS(t, true)
	arn := createTopic(t, c, "ledger.fifo", map[string]string{"FifoTopic": "true", "ContentBasedDeduplication": "true",
		"ArchivePolicy": `{"MessageRetentionPeriod":"7"}`})
	ta, err := c.GetTopicAttributes(ctx(t), &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ta.Attributes["BeginningArchiveTime"], servertest.Epoch.Format("2006-01-02T15:04:05.000Z"); got != want {
		t.Fatalf("BeginningArchiveTime = %q, want %q (when archiving began)", got, want)
	}
	liveURL, _ := subscribeQueue(t, c, q, arn, "live.fifo", nil)

	// m0 … m4, a minute apart; m3 is of a kind the filtered replay skips.
	ids := map[string]string{}
	for i := 0; i < 5; i++ {
		kind := "keep"
		if i == 3 {
			kind = "skip"
		}
		text := "m" + string(rune('0'+i))
		out := publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String(text), MessageGroupId: aws.String("g"),
			MessageAttributes: map[string]snstypes.MessageAttributeValue{"kind": {DataType: aws.String("String"), StringValue: aws.String(kind)}}})
		ids[text] = aws.ToString(out.MessageId)
		s.Clock.Advance(time.Minute)
	}
	if got, _ := replayedBodies(t, drain(t, q, liveURL, 5)); strings.Join(got, ",") != "m0,m1,m2,m3,m4" {
		t.Fatalf("live subscription got %v", got)
	}
	// Past the deduplication window of the queues.
	s.Clock.Advance(10 * time.Minute)

	// A new subscription replays from m2 on, through its filter policy,
	// then turns live.
	replayURL, replaySub := subscribeQueue(t, c, q, arn, "replay.fifo", map[string]string{
		"FilterPolicy": `{"kind":["keep"]}`, "ReplayPolicy": replayPolicy(servertest.Epoch.Add(2*time.Minute), nil)})
	texts, ns := replayedBodies(t, drain(t, q, replayURL, 2))
	if strings.Join(texts, ",") != "m2,m4" {
		t.Fatalf("replay delivered %v, want m2,m4", texts)
	}
	for i, n := range ns {
		// "A replayed message has the same content, MessageId, and
		// Timestamp as the original copy, and also contains the attribute
		// Replayed".
		if !n.Replayed || n.MessageId != ids[texts[i]] {
			t.Fatalf("replayed %s: Replayed %v, MessageId %s, want true and %s", texts[i], n.Replayed, n.MessageId, ids[texts[i]])
		}
		if want := servertest.Epoch.Add(time.Duration(2*(i+1)) * time.Minute).Format("2006-01-02T15:04:05.000Z"); n.Timestamp != want {
			t.Fatalf("replayed %s: Timestamp %s, want the original %s", texts[i], n.Timestamp, want)
		}
	}
	waitReplayStatus(t, c, replaySub, "Completed")
	publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("m5"), MessageGroupId: aws.String("g"),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{"kind": {DataType: aws.String("String"), StringValue: aws.String("keep")}}})
	if texts, ns := replayedBodies(t, drain(t, q, replayURL, 1)); len(texts) != 1 || texts[0] != "m5" || ns[0].Replayed {
		t.Fatalf("after the replay, the subscription got %v (%+v), want m5 live", texts, ns)
	}
	drain(t, q, liveURL, 1)

	// With an EndingPoint the replay stops there and the subscription
	// stays paused ("newly published messages will not be delivered")
	// until a policy without one resumes it.
	end := servertest.Epoch.Add(time.Minute)
	pausedURL, pausedSub := subscribeQueue(t, c, q, arn, "paused.fifo", map[string]string{"ReplayPolicy": replayPolicy(servertest.Epoch, &end)})
	if texts, _ := replayedBodies(t, drain(t, q, pausedURL, 2)); strings.Join(texts, ",") != "m0,m1" {
		t.Fatalf("replay to its ending point delivered %v, want m0,m1", texts)
	}
	waitReplayStatus(t, c, pausedSub, "Completed")
	publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("m6"), MessageGroupId: aws.String("g")})
	if got := drain(t, q, liveURL, 1); len(got) != 1 {
		t.Fatalf("live subscription got %d messages, want m6", len(got))
	}
	if ms := receive(t, q, pausedURL, 10); len(ms) != 0 {
		t.Fatalf("a paused subscription received %q", aws.ToString(ms[0].Body))
	}
	if _, err := c.SetSubscriptionAttributes(ctx(t), &sns.SetSubscriptionAttributesInput{SubscriptionArn: aws.String(pausedSub),
		AttributeName: aws.String("ReplayPolicy"), AttributeValue: aws.String(replayPolicy(end.Add(time.Millisecond), nil))}); err != nil {
		t.Fatal(err)
	}
	if texts, _ := replayedBodies(t, drain(t, q, pausedURL, 5)); strings.Join(texts, ",") != "m2,m3,m4,m5,m6" {
		t.Fatalf("resumed replay delivered %v, want m2 … m6", texts)
	}
	waitReplayStatus(t, c, pausedSub, "Completed")

	// Bad policies.
	setReplay := func(sub, doc string) error {
		_, err := c.SetSubscriptionAttributes(ctx(t), &sns.SetSubscriptionAttributesInput{SubscriptionArn: aws.String(sub),
			AttributeName: aws.String("ReplayPolicy"), AttributeValue: aws.String(doc)})
		return err
	}
	now := s.Clock.Now()
	for _, bad := range []string{
		`{"PointType":"Sequence","StartingPoint":"2026-01-02T03:04:05.000Z"}`,
		`{"PointType":"Timestamp"}`,
		`{"PointType":"Timestamp","StartingPoint":"yesterday"}`,
		replayPolicy(now.Add(time.Hour), nil),                                            // in the future
		replayPolicy(now, func() *time.Time { e := now.Add(-time.Minute); return &e }()), // ends before it starts
		`{`,
	} {
		if err := setReplay(pausedSub, bad); code(err) != "InvalidParameter" {
			t.Fatalf("ReplayPolicy %s: %v, want InvalidParameter", bad, err)
		}
	}
	plain := createTopic(t, c, "plain.fifo", map[string]string{"FifoTopic": "true", "ContentBasedDeduplication": "true"})
	_, plainSub := subscribeQueue(t, c, q, plain, "plain.fifo", nil)
	wantCode(t, setReplay(plainSub, replayPolicy(now, nil)), "InvalidParameter") // the topic has no archive

	// "you can not delete a topic with an active message archive policy";
	// turning it off ({}) deletes the archive, then the topic can go.
	_, err = c.DeleteTopic(ctx(t), &sns.DeleteTopicInput{TopicArn: aws.String(arn)})
	wantCode(t, err, "InvalidState")
	s.Clock.Advance(8 * 24 * time.Hour)
	ta, err = c.GetTopicAttributes(ctx(t), &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ta.Attributes["BeginningArchiveTime"], s.Clock.Now().Add(-7*24*time.Hour).UTC().Format("2006-01-02T15:04:05.000Z"); got != want {
		t.Fatalf("BeginningArchiveTime after eight days = %q, want seven days back, %q", got, want)
	}
	if _, err := c.SetTopicAttributes(ctx(t), &sns.SetTopicAttributesInput{TopicArn: aws.String(arn),
		AttributeName: aws.String("ArchivePolicy"), AttributeValue: aws.String("{}")}); err != nil {
		t.Fatal(err)
	}
	ta, err = c.GetTopicAttributes(ctx(t), &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := ta.Attributes["BeginningArchiveTime"]; ok {
		t.Fatalf("BeginningArchiveTime %q without an archive", v)
	}
	if _, err := c.DeleteTopic(ctx(t), &sns.DeleteTopicInput{TopicArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
}

// The archive, a replay's progress and its status survive a restart: the
// replay resumes after the last message it delivered.
func TestReplaySurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := servertest.Start(t, servertest.Options{FakeClock: true, DataDir: dir})
	c, q := sns.NewFromConfig(s.Config()), sqs.NewFromConfig(s.Config())
	arn := createTopic(t, c, "journal.fifo", map[string]string{"FifoTopic": "true", "ContentBasedDeduplication": "true",
		"ArchivePolicy": `{"MessageRetentionPeriod":"1"}`})
	for _, text := range []string{"m0", "m1"} {
		publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String(text), MessageGroupId: aws.String("g")})
		s.Clock.Advance(time.Minute)
	}
	end := servertest.Epoch.Add(time.Hour)
	url, sub := subscribeQueue(t, c, q, arn, "journal.fifo", map[string]string{"ReplayPolicy": replayPolicy(servertest.Epoch, &end)})
	if texts, _ := replayedBodies(t, drain(t, q, url, 2)); strings.Join(texts, ",") != "m0,m1" {
		t.Fatalf("replay delivered %v", texts)
	}
	waitReplayStatus(t, c, sub, "In progress") // its ending point is an hour ahead
	s.Stop(t)

	s = servertest.Start(t, servertest.Options{FakeClock: true, DataDir: dir})
	c, q = sns.NewFromConfig(s.Config()), sqs.NewFromConfig(s.Config())
	s.Clock.Advance(3 * time.Minute) // the restarted fake clock begins at Epoch again
	waitReplayStatus(t, c, sub, "In progress")
	publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("m2"), MessageGroupId: aws.String("g")})
	texts, ns := replayedBodies(t, drain(t, q, url, 1))
	if strings.Join(texts, ",") != "m2" || !ns[0].Replayed {
		t.Fatalf("after the restart the replay delivered %v, want m2 alone, replayed", texts)
	}
	s.Clock.Advance(time.Hour)
	waitReplayStatus(t, c, sub, "Completed")
	if ms := receive(t, q, url, 10); len(ms) != 0 {
		t.Fatalf("extra message %q", aws.ToString(ms[0].Body))
	}
	if _, err := c.SetTopicAttributes(ctx(t), &sns.SetTopicAttributesInput{TopicArn: aws.String(arn),
		AttributeName: aws.String("ArchivePolicy"), AttributeValue: aws.String("{}")}); err != nil {
		t.Fatal(err)
	}
}
