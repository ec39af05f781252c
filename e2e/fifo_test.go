package e2e

import (
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

func sendFIFO(t *testing.T, c *sqs.Client, url, body, group, dedup string) *sqs.SendMessageOutput {
	t.Helper()
	in := &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body), MessageGroupId: aws.String(group)}
	if dedup != "" {
		in.MessageDeduplicationId = aws.String(dedup)
	}
	out, err := c.SendMessage(ctx(t), in)
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	return out
}

func TestFIFOOrderAndGroupLocking(t *testing.T) {
	s, c := start(t, true)
	url := create(t, c, "orders.fifo", map[string]string{"FifoQueue": "true", "VisibilityTimeout": "30"})
	a := attrs(t, c, url)
	if a["FifoQueue"] != "true" || a["ContentBasedDeduplication"] != "false" || a["DeduplicationScope"] != "queue" || a["FifoThroughputLimit"] != "perQueue" {
		t.Fatalf("FIFO attributes %v", a)
	}
	var last string
	for i := 0; i < 3; i++ {
		for _, g := range []string{"A", "B"} {
			out := sendFIFO(t, c, url, fmt.Sprintf("%s%d", g, i), g, fmt.Sprintf("%s%d", g, i))
			if out.SequenceNumber == nil || len(*out.SequenceNumber) != 20 || *out.SequenceNumber <= last {
				t.Fatalf("sequence number %v after %q", out.SequenceNumber, last)
			}
			last = *out.SequenceNumber
		}
	}
	// FIFO developer guide: messages of one group come in order, and no
	// further message of a group is delivered while one is in flight.
	first := receive(t, c, url, 2)
	if len(first) != 2 || *first[0].Body != "A0" || *first[1].Body != "A1" {
		t.Fatalf("first receive %v", bodies(first))
	}
	if first[0].Attributes["MessageGroupId"] != "A" || first[0].Attributes["MessageDeduplicationId"] != "A0" || first[0].Attributes["SequenceNumber"] == "" {
		t.Fatalf("FIFO system attributes %v", first[0].Attributes)
	}
	second := receive(t, c, url, 10)
	if got := bodies(second); fmt.Sprint(got) != "[B0 B1 B2]" {
		t.Fatalf("second receive %v (group A is locked)", got)
	}
	if got := receive(t, c, url, 10); len(got) != 0 {
		t.Fatalf("both groups locked but received %v", bodies(got))
	}
	// Deleting A0 alone keeps group A locked (A1 still in flight).
	del(t, c, url, first[0])
	if got := receive(t, c, url, 10); len(got) != 0 {
		t.Fatalf("group A still has A1 in flight but received %v", bodies(got))
	}
	// A1's visibility expires: A1 comes back first, in order.
	s.Clock.Advance(31 * time.Second)
	got := receive(t, c, url, 10)
	var groupA []string
	for _, m := range got {
		if m.Attributes["MessageGroupId"] == "A" {
			groupA = append(groupA, *m.Body+"/"+m.Attributes["ApproximateReceiveCount"])
		}
	}
	if fmt.Sprint(groupA) != "[A1/2 A2/1]" {
		t.Fatalf("after timeout group A came as %v (all: %v)", groupA, bodies(got))
	}
}

func bodies(ms []types.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = *m.Body
	}
	return out
}

func del(t *testing.T, c *sqs.Client, url string, m types.Message) {
	t.Helper()
	if _, err := c.DeleteMessage(ctx(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
}

func TestFIFODeduplication(t *testing.T) {
	s, c := start(t, true)
	url := create(t, c, "dedup.fifo", map[string]string{"FifoQueue": "true"})
	first := sendFIFO(t, c, url, "one", "g", "d1")
	dup := sendFIFO(t, c, url, "one again", "g", "d1")
	// A duplicate is accepted and answered with the original MessageId.
	if *dup.MessageId != *first.MessageId || *dup.SequenceNumber != *first.SequenceNumber {
		t.Fatalf("duplicate answered %v / %v, want %v", *dup.MessageId, *dup.SequenceNumber, *first.MessageId)
	}
	wantCounts(t, c, url, "1", "0", "0")
	// Deleting the message does not end the 5-minute window.
	del(t, c, url, receive(t, c, url, 1)[0])
	sendFIFO(t, c, url, "one", "g", "d1")
	wantCounts(t, c, url, "0", "0", "0")
	s.Clock.Advance(5*time.Minute + time.Second)
	sendFIFO(t, c, url, "one", "g", "d1")
	wantCounts(t, c, url, "1", "0", "0")

	// Without ContentBasedDeduplication a deduplication ID is required.
	_, err := c.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"), MessageGroupId: aws.String("g")})
	wantCode(t, err, "InvalidParameterValue")
	_, err = c.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"), MessageDeduplicationId: aws.String("z")})
	wantCode(t, err, "MissingParameter")
	_, err = c.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x"), MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("q"), DelaySeconds: 5})
	wantCode(t, err, "InvalidParameterValue")
	// An explicit DelaySeconds of 0, which some SDKs send with every
	// message, is no per-message delay and is accepted (the SDK for Go
	// leaves a zero out, so the query protocol carries it here).
	if body := postForm(t, s.URL, "Action=SendMessage&QueueUrl="+url+"&MessageBody=zero&MessageGroupId=g&MessageDeduplicationId=zero&DelaySeconds=0"); !strings.Contains(body, "<MessageId>") {
		t.Fatalf("SendMessage with DelaySeconds=0: %s", body)
	}

	// Content-based deduplication hashes the body.
	cb := create(t, c, "content.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	a := sendFIFO(t, c, cb, "same", "g1", "")
	b := sendFIFO(t, c, cb, "same", "g2", "")
	if *a.MessageId != *b.MessageId {
		t.Fatal("content-based duplicate got a new message ID")
	}
	sendFIFO(t, c, cb, "different", "g1", "")
	wantCounts(t, c, cb, "2", "0", "0")

	// DeduplicationScope=messageGroup: the same ID in another group is new.
	mg := create(t, c, "group.fifo", map[string]string{"FifoQueue": "true", "DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"})
	sendFIFO(t, c, mg, "x", "g1", "same")
	sendFIFO(t, c, mg, "x", "g2", "same")
	sendFIFO(t, c, mg, "x", "g2", "same")
	wantCounts(t, c, mg, "2", "0", "0")
	_, err = c.CreateQueue(ctx(t), &sqs.CreateQueueInput{QueueName: aws.String("bad.fifo"), Attributes: map[string]string{"FifoQueue": "true", "FifoThroughputLimit": "perMessageGroupId"}})
	wantCode(t, err, "InvalidAttributeValue")
}

func TestFIFOReceiveRequestAttemptId(t *testing.T) {
	_, c := start(t, true)
	url := create(t, c, "attempt.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	sendFIFO(t, c, url, "a", "g", "")
	sendFIFO(t, c, url, "b", "h", "")
	withAttempt := func(in *sqs.ReceiveMessageInput) { in.ReceiveRequestAttemptId = aws.String("try-1") }
	first := receive(t, c, url, 1, withAttempt)
	again := receive(t, c, url, 1, withAttempt)
	// ReceiveMessage API reference: a retry with the same attempt ID returns
	// the same messages and receipt handles.
	if len(again) != 1 || *again[0].MessageId != *first[0].MessageId || *again[0].ReceiptHandle != *first[0].ReceiptHandle {
		t.Fatalf("retry returned %v", bodies(again))
	}
	other := receive(t, c, url, 1)
	if len(other) != 1 || *other[0].Body != "b" {
		t.Fatalf("new receive %v", bodies(other))
	}
}

// Retries with the same ReceiveRequestAttemptId that arrive together (a
// retry sent while the first request is still being answered) all get
// the first one's messages and receipt handles, and nothing else goes in
// flight ("return the same messages and receipt handles", ReceiveMessage
// API reference, ReceiveRequestAttemptId).
func TestFIFOConcurrentAttemptRetries(t *testing.T) {
	_, c := start(t, false)
	url := create(t, c, "attempt-race.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	for i := 0; i < 40; i++ {
		sendFIFO(t, c, url, fmt.Sprintf("m%d", i), fmt.Sprintf("g%d", i%20), "")
	}
	const n = 8
	got := make([][]types.Message, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			out, err := c.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10,
				VisibilityTimeout: 300, ReceiveRequestAttemptId: aws.String("together")})
			if err != nil {
				t.Error(err)
				return
			}
			got[i] = out.Messages
		}(i)
	}
	wg.Wait()
	handles := func(ms []types.Message) string {
		var hs []string
		for _, m := range ms {
			hs = append(hs, *m.ReceiptHandle)
		}
		return strings.Join(hs, ",")
	}
	for i := 1; i < n; i++ {
		if handles(got[i]) != handles(got[0]) {
			t.Fatalf("retry %d got other messages: %v against %v", i, bodies(got[i]), bodies(got[0]))
		}
	}
	wantCounts(t, c, url, fmt.Sprint(40-len(got[0])), fmt.Sprint(len(got[0])), "0")
}

// A receive whose answer was lost with the server is still replayed when
// the client retries it after the restart, within the five minutes
// ReceiveRequestAttemptId covers ("If a caller of the ReceiveMessage
// action doesn't receive a response ... it can retry using the same
// ReceiveRequestAttemptId", ReceiveMessage API reference).
func TestFIFOAttemptSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := servertest.Start(t, servertest.Options{DataDir: dir, FakeClock: true})
	c := sqs.NewFromConfig(s.Config())
	url := create(t, c, "lost.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	sendFIFO(t, c, url, "a1", "a", "")
	sendFIFO(t, c, url, "b1", "b", "")
	attempt := func(in *sqs.ReceiveMessageInput) {
		in.ReceiveRequestAttemptId, in.VisibilityTimeout = aws.String("lost-answer"), 120
	}
	first := receive(t, c, url, 1, attempt)
	s.Stop(t)

	s2 := servertest.Start(t, servertest.Options{DataDir: dir, FakeClock: true})
	c2 := sqs.NewFromConfig(s2.Config())
	again := receive(t, c2, url, 1, attempt)
	if len(first) != 1 || len(again) != 1 || *again[0].ReceiptHandle != *first[0].ReceiptHandle {
		t.Fatalf("the retry after a restart got %v, the lost answer %v", bodies(again), bodies(first))
	}
	if other := receive(t, c2, url, 10); len(other) != 1 || *other[0].Body == *first[0].Body {
		t.Fatalf("a new receive got %v", bodies(other))
	}
	// A purge ends the attempt with the messages.
	if _, err := c2.PurgeQueue(ctx(t), &sqs.PurgeQueueInput{QueueUrl: aws.String(url)}); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, c2, url, 1, attempt); len(got) != 0 {
		t.Fatalf("after a purge the retry got %v", bodies(got))
	}
}

// A retry with the same ReceiveRequestAttemptId resets the visibility
// timeout, and is no longer a retry once a message of it had its
// visibility changed (ReceiveMessage API reference,
// ReceiveRequestAttemptId).
func TestFIFOAttemptRetryVisibility(t *testing.T) {
	s, c := start(t, true)
	url := create(t, c, "attempt-vt.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "10"})
	sendFIFO(t, c, url, "a", "g", "")
	attempt := func(in *sqs.ReceiveMessageInput) { in.ReceiveRequestAttemptId = aws.String("try-vt") }
	first := receive(t, c, url, 1, attempt)
	s.Clock.Advance(8 * time.Second)
	again := receive(t, c, url, 1, attempt)
	if len(again) != 1 || *again[0].ReceiptHandle != *first[0].ReceiptHandle {
		t.Fatalf("retry returned %v", bodies(again))
	}
	// 8 s after the retry the first deadline has passed, the reset one
	// has not.
	s.Clock.Advance(8 * time.Second)
	wantCounts(t, c, url, "0", "1", "0")
	if _, err := c.ChangeMessageVisibility(ctx(t), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url),
		ReceiptHandle: first[0].ReceiptHandle, VisibilityTimeout: 100}); err != nil {
		t.Fatal(err)
	}
	if after := receive(t, c, url, 1, attempt); len(after) != 0 {
		t.Fatalf("a retry after ChangeMessageVisibility returned %v", bodies(after))
	}
}

// A FIFO batch with an entry lacking its MessageGroupId, or the
// MessageDeduplicationId the queue needs, fails as a whole and enqueues
// nothing (real SQS's answer, recorded in LocalStack's AWS-validated
// snapshots test_send_batch_missing_*_for_fifo_queue).
func TestFIFOBatchMissingIDsFailsWhole(t *testing.T) {
	_, c := start(t, false)
	url := create(t, c, "whole.fifo", map[string]string{"FifoQueue": "true"})
	ok := types.SendMessageBatchRequestEntry{Id: aws.String("ok"), MessageBody: aws.String("a"), MessageGroupId: aws.String("g"),
		MessageDeduplicationId: aws.String("d1")}
	for _, bad := range []types.SendMessageBatchRequestEntry{
		{Id: aws.String("nogroup"), MessageBody: aws.String("b"), MessageDeduplicationId: aws.String("d2")},
		{Id: aws.String("nodedup"), MessageBody: aws.String("b"), MessageGroupId: aws.String("g")},
	} {
		_, err := c.SendMessageBatch(ctx(t), &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.SendMessageBatchRequestEntry{ok, bad}})
		wantCode(t, err, "InvalidParameterValue")
	}
	wantCounts(t, c, url, "0", "0", "0")
}

func TestFIFOBatchOrder(t *testing.T) {
	_, c := start(t, false)
	url := create(t, c, "batch.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	var entries []types.SendMessageBatchRequestEntry
	for i := 0; i < 10; i++ {
		entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("e", i)), MessageBody: aws.String(fmt.Sprint(i)), MessageGroupId: aws.String("g")})
	}
	out, err := c.SendMessageBatch(ctx(t), &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
	if err != nil || len(out.Successful) != 10 {
		t.Fatalf("batch %+v %v", out, err)
	}
	got := bodies(receive(t, c, url, 10))
	if fmt.Sprint(got) != "[0 1 2 3 4 5 6 7 8 9]" {
		t.Fatalf("order %v", got)
	}
}

func TestFIFORetentionCountsExact(t *testing.T) {
	s, c := start(t, true)
	url := create(t, c, "old.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true", "MessageRetentionPeriod": "60"})
	sendFIFO(t, c, url, "a", "g1", "")
	sendFIFO(t, c, url, "b", "g2", "")
	s.Clock.Advance(30 * time.Second)
	sendFIFO(t, c, url, "c", "g2", "")
	s.Clock.Advance(30 * time.Second)
	// Retention ends for a and b; ApproximateNumberOfMessages is exact at once.
	wantCounts(t, c, url, "1", "0", "0")
	if got := bodies(receive(t, c, url, 10)); fmt.Sprint(got) != "[c]" {
		t.Fatalf("received %v", got)
	}
}

// A message moved from a FIFO queue to its FIFO dead-letter queue carries
// the original message's MessageId as its deduplication ID there (SQS
// developer guide, "Configure a dead-letter queue redrive").
func TestFIFODeadLetterDeduplicationID(t *testing.T) {
	s, c := start(t, true)
	dlq := create(t, c, "dlq.fifo", map[string]string{"FifoQueue": "true"})
	src := create(t, c, "src.fifo", map[string]string{"FifoQueue": "true", "VisibilityTimeout": "1",
		"RedrivePolicy": redrive(attrs(t, c, dlq)["QueueArn"], 1)})
	out := sendFIFO(t, c, src, "poison", "g", "my-dedup-id")
	if got := receive(t, c, src, 1); len(got) != 1 {
		t.Fatalf("first receive: %d messages", len(got))
	}
	s.Clock.Advance(time.Second)
	if got := receive(t, c, src, 1); len(got) != 0 {
		t.Fatalf("the receive past maxReceiveCount delivered %d messages", len(got))
	}
	moved := receive(t, c, dlq, 1)
	if len(moved) != 1 || *moved[0].MessageId != *out.MessageId || moved[0].Attributes["MessageDeduplicationId"] != *out.MessageId ||
		moved[0].Attributes["MessageGroupId"] != "g" {
		t.Fatalf("dead-letter copy: %+v", moved)
	}
}

// A FIFO queue's receipt handle expires with its visibility timeout: a
// consumer slower than the timeout cannot delete the message, which stays
// for the group's next consumer (API reference, ReceiveMessage,
// ReceiveRequestAttemptId: the delete "fails with an error"; AWS Knowledge
// Center, sqs-receipt-handle-error: "The receipt handle has expired").
func TestFIFOExpiredReceiptHandle(t *testing.T) {
	s, c := start(t, true)
	url := create(t, c, "slow.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "30"})
	sendFIFO(t, c, url, "m1", "g", "")
	first := receive(t, c, url, 1)
	s.Clock.Advance(31 * time.Second)
	_, err := c.DeleteMessage(ctx(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: first[0].ReceiptHandle})
	wantCode(t, err, "InvalidParameterValue")
	wantCounts(t, c, url, "1", "0", "0")
	// Received again: the first handle stays expired, in a batch too.
	second := receive(t, c, url, 1)
	if len(second) != 1 || second[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("second receive: %v", second)
	}
	out, err := c.DeleteMessageBatch(ctx(t), &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.DeleteMessageBatchRequestEntry{
		{Id: aws.String("old"), ReceiptHandle: first[0].ReceiptHandle}}})
	if err != nil || len(out.Failed) != 1 || *out.Failed[0].Code != "InvalidParameterValue" || !out.Failed[0].SenderFault {
		t.Fatalf("batch delete with the expired handle: %+v, %v", out, err)
	}
	wantCounts(t, c, url, "0", "1", "0")
	del(t, c, url, second[0])
	wantCounts(t, c, url, "0", "0", "0")
}

// A purge ends the deduplication window of what the FIFO queue held: the
// same deduplication ID sent again is a new message. (Not in AWS's
// documentation; LocalStack's test_purge_queue_clears_fifo_deduplication_cache,
// recorded against AWS, shows it.)
func TestFIFOPurgeClearsDeduplication(t *testing.T) {
	_, c := start(t, true)
	url := create(t, c, "purged.fifo", map[string]string{"FifoQueue": "true"})
	first := sendFIFO(t, c, url, "one", "g", "d1")
	if _, err := c.PurgeQueue(ctx(t), &sqs.PurgeQueueInput{QueueUrl: aws.String(url)}); err != nil {
		t.Fatal(err)
	}
	again := sendFIFO(t, c, url, "one", "g", "d1")
	if *again.MessageId == *first.MessageId {
		t.Fatal("the send after the purge was taken for a duplicate")
	}
	if got := receive(t, c, url, 10); len(got) != 1 || *got[0].MessageId != *again.MessageId {
		t.Fatalf("after the purge: %v", bodies(got))
	}
}

// "For FIFO queues, the per-queue delay setting is retroactive—changing the
// setting affects the delay of messages already in the queue" (SQS
// developer guide, "Amazon SQS delay queues"), across a restart too;
// messages already received keep their state.
func TestFIFODelayIsRetroactive(t *testing.T) {
	dir := t.TempDir()
	s := servertest.Start(t, servertest.Options{DataDir: dir, FakeClock: true})
	c := sqs.NewFromConfig(s.Config())
	url := create(t, c, "late.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true", "DelaySeconds": "300"})
	setDelay := func(c *sqs.Client, d string) {
		t.Helper()
		if _, err := c.SetQueueAttributes(ctx(t), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: map[string]string{"DelaySeconds": d}}); err != nil {
			t.Fatal(err)
		}
	}
	sendFIFO(t, c, url, "m1", "g", "")
	wantCounts(t, c, url, "0", "0", "1")
	setDelay(c, "0")
	wantCounts(t, c, url, "1", "0", "0")
	setDelay(c, "120") // m1, sent just now, is delayed again
	wantCounts(t, c, url, "0", "0", "1")
	s.Clock.Advance(121 * time.Second)
	if got := receive(t, c, url, 1); len(got) != 1 || *got[0].Body != "m1" {
		t.Fatalf("after the delay: %v", bodies(got))
	}
	setDelay(c, "600") // m1 is in flight: unchanged
	wantCounts(t, c, url, "0", "1", "0")
	sendFIFO(t, c, url, "m2", "h", "") // sent at 121 s, visible at 721 s
	setDelay(c, "60")                  // now visible at 181 s
	wantCounts(t, c, url, "0", "1", "1")
	s.Stop(t)

	// The restarted server's clock starts again at 0 s.
	s2 := servertest.Start(t, servertest.Options{DataDir: dir, FakeClock: true})
	c2 := sqs.NewFromConfig(s2.Config())
	wantCounts(t, c2, url, "0", "1", "1")
	s2.Clock.Advance(182 * time.Second)
	got := receive(t, c2, url, 10)
	if fmt.Sprint(bodies(got)) != "[m1 m2]" && fmt.Sprint(bodies(got)) != "[m2 m1]" {
		t.Fatalf("after the restart and 182 s: %v", bodies(got))
	}
}
