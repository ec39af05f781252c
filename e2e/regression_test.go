package e2e

import (
	"encoding/base64"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/forkline/forkline/internal/server/servertest"
)

// A long poll wakes when deleting a FIFO message unlocks its group.
func TestLongPollWakesWhenGroupUnlocks(t *testing.T) {
	s, c := start(t, true)
	url := create(t, c, "wake.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	sendFIFO(t, c, url, "a", "g", "")
	sendFIFO(t, c, url, "b", "g", "")
	first := receive(t, c, url, 1)
	var wg sync.WaitGroup
	var got []types.Message
	wg.Add(1)
	go func() {
		defer wg.Done()
		got = receive(t, c, url, 1, func(in *sqs.ReceiveMessageInput) { in.WaitTimeSeconds = 20 })
	}()
	waitPending(t, s, 1)
	del(t, c, url, first[0])
	wg.Wait()
	if len(got) != 1 || *got[0].Body != "b" {
		t.Fatalf("poll got %v", bodies(got))
	}
}

// A forged handle with a zero nonce is invalid and changes nothing.
func TestForgedHandleRejected(t *testing.T) {
	_, c := start(t, true)
	url := create(t, c, "forged", map[string]string{"DelaySeconds": "60"})
	send(t, c, url, "delayed")
	var b [25]byte
	b[0] = 1
	binary.BigEndian.PutUint64(b[1:], 1)  // first queue
	binary.BigEndian.PutUint64(b[9:], 1)  // first message
	binary.BigEndian.PutUint64(b[17:], 0) // never received
	_, err := c.DeleteMessage(ctx(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String(base64.RawURLEncoding.EncodeToString(b[:]))})
	wantCode(t, err, "ReceiptHandleIsInvalid")
	wantCounts(t, c, url, "0", "0", "1")
}

// Receive counts, receipt handles and visibility survive a restart after
// visibility changes.
func TestStateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := servertest.Start(t, servertest.Options{DataDir: dir})
	c := sqs.NewFromConfig(s.Config())
	url := create(t, c, "restart", nil)
	send(t, c, url, "m")
	first := receive(t, c, url, 1)
	if _, err := c.ChangeMessageVisibility(ctx(t), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: first[0].ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}
	second := receive(t, c, url, 1, func(in *sqs.ReceiveMessageInput) { in.VisibilityTimeout = 3600 })
	if len(second) != 1 || second[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("second receive %+v", second)
	}
	s.Stop(t)

	s2 := servertest.Start(t, servertest.Options{DataDir: dir})
	c2 := sqs.NewFromConfig(s2.Config())
	wantCounts(t, c2, url, "0", "1", "0")
	// The first handle is stale; the second still deletes.
	del(t, c2, url, first[0])
	wantCounts(t, c2, url, "0", "1", "0")
	del(t, c2, url, second[0])
	wantCounts(t, c2, url, "0", "0", "0")
}

// With its dead-letter queue deleted, a message past maxReceiveCount
// neither spins long polls nor blocks the messages behind it.
func TestRedriveWithDeletedDeadLetterQueue(t *testing.T) {
	s, c := start(t, true)
	dlq := create(t, c, "gone-dlq", nil)
	src := create(t, c, "src", map[string]string{"VisibilityTimeout": "5", "RedrivePolicy": redrive(attrs(t, c, dlq)["QueueArn"], 1)})
	send(t, c, src, "poison")
	receive(t, c, src, 1)
	s.Clock.Advance(5 * time.Second)
	if _, err := c.DeleteQueue(ctx(t), &sqs.DeleteQueueInput{QueueUrl: aws.String(dlq)}); err != nil {
		t.Fatal(err)
	}
	send(t, c, src, "fresh")
	got := receive(t, c, src, 1, func(in *sqs.ReceiveMessageInput) { in.WaitTimeSeconds = 20 })
	if len(got) != 1 || *got[0].Body != "fresh" {
		t.Fatalf("received %v, want the fresh message", bodies(got))
	}
	// The poisoned message stays in the source queue.
	s.Clock.Advance(2 * time.Second)
	wantCounts(t, c, src, "1", "1", "0")
}
