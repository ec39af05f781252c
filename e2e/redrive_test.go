package e2e

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/forkline/forkline/internal/server/servertest"
)

func redrive(dlqArn string, max int) string {
	return fmt.Sprintf(`{"deadLetterTargetArn":"%s","maxReceiveCount":"%d"}`, dlqArn, max)
}

func TestDeadLetterQueue(t *testing.T) {
	s, c := start(t, true)
	dlq := create(t, c, "dlq", nil)
	dlqArn := attrs(t, c, dlq)["QueueArn"]
	src := create(t, c, "src", map[string]string{"VisibilityTimeout": "10", "RedrivePolicy": redrive(dlqArn, 2)})
	// The policy is reported in canonical form, with a numeric count.
	if got := attrs(t, c, src)["RedrivePolicy"]; got != `{"deadLetterTargetArn":"`+dlqArn+`","maxReceiveCount":2}` {
		t.Fatalf("RedrivePolicy = %s", got)
	}
	out := send(t, c, src, "poison")
	for i := 1; i <= 2; i++ {
		got := receive(t, c, src, 1)
		if len(got) != 1 || got[0].Attributes["ApproximateReceiveCount"] != fmt.Sprint(i) {
			t.Fatalf("receive %d: %v", i, got)
		}
		s.Clock.Advance(10 * time.Second)
	}
	// SQS developer guide: the receive that exceeds maxReceiveCount moves
	// the message to the dead-letter queue instead of delivering it.
	if got := receive(t, c, src, 1); len(got) != 0 {
		t.Fatalf("third receive delivered %v", bodies(got))
	}
	wantCounts(t, c, src, "0", "0", "0")
	moved := receive(t, c, dlq, 1)
	if len(moved) != 1 || *moved[0].MessageId != *out.MessageId || moved[0].Attributes["DeadLetterQueueSourceArn"] != attrs(t, c, src)["QueueArn"] {
		t.Fatalf("dead-letter queue holds %+v", moved)
	}
	// ApproximateReceiveCount counts receives "across all queues" (API
	// reference, ReceiveMessage): two from the source, this one.
	if got := moved[0].Attributes["ApproximateReceiveCount"]; got != "3" {
		t.Fatalf("ApproximateReceiveCount in the dead-letter queue = %s, want 3", got)
	}

	srcs, err := c.ListDeadLetterSourceQueues(ctx(t), &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: aws.String(dlq)})
	if err != nil || len(srcs.QueueUrls) != 1 || !strings.HasSuffix(srcs.QueueUrls[0], "/src") {
		t.Fatalf("ListDeadLetterSourceQueues = %v, %v", srcs, err)
	}

	// RedriveAllowPolicy denyAll refuses new sources.
	_, err = c.SetQueueAttributes(ctx(t), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(dlq), Attributes: map[string]string{"RedriveAllowPolicy": `{"redrivePermission":"denyAll"}`}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateQueue(ctx(t), &sqs.CreateQueueInput{QueueName: aws.String("src2"), Attributes: map[string]string{"RedrivePolicy": redrive(dlqArn, 3)}})
	wantCode(t, err, "InvalidParameterValue")
	_, err = c.SetQueueAttributes(ctx(t), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(dlq), Attributes: map[string]string{"RedriveAllowPolicy": `{"redrivePermission":"byQueue"}`}})
	wantCode(t, err, "InvalidParameterValue")

	// A FIFO queue cannot use a standard dead-letter queue.
	_, err = c.CreateQueue(ctx(t), &sqs.CreateQueueInput{QueueName: aws.String("f.fifo"), Attributes: map[string]string{"FifoQueue": "true", "RedrivePolicy": redrive(dlqArn, 3)}})
	wantCode(t, err, "InvalidParameterValue")

	// Removing the policy with an empty value.
	if _, err := c.SetQueueAttributes(ctx(t), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(src), Attributes: map[string]string{"RedrivePolicy": ""}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := attrs(t, c, src)["RedrivePolicy"]; ok {
		t.Fatal("RedrivePolicy still set")
	}
}

func TestMessageMoveTask(t *testing.T) {
	s, c := start(t, true)
	dlq := create(t, c, "dlq", nil)
	dlqArn := attrs(t, c, dlq)["QueueArn"]
	src := create(t, c, "src", map[string]string{"VisibilityTimeout": "1", "RedrivePolicy": redrive(dlqArn, 1)})
	original := map[string]bool{}
	for i := 0; i < 5; i++ {
		original[*send(t, c, src, fmt.Sprint(i)).MessageId] = true
	}
	receive(t, c, src, 10)
	s.Clock.Advance(time.Second)
	receive(t, c, src, 10) // moves all five
	wantCounts(t, c, dlq, "5", "0", "0")

	_, err := c.StartMessageMoveTask(ctx(t), &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(attrs(t, c, src)["QueueArn"])})
	wantCode(t, err, "InvalidParameterValue") // not a dead-letter queue
	_, err = c.StartMessageMoveTask(ctx(t), &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqArn + "x")})
	wantCode(t, err, "ResourceNotFoundException")
	_, err = c.StartMessageMoveTask(ctx(t), &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqArn), MaxNumberOfMessagesPerSecond: aws.Int32(501)})
	wantCode(t, err, "InvalidParameterValue")

	start, err := c.StartMessageMoveTask(ctx(t), &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqArn), MaxNumberOfMessagesPerSecond: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	// Rate 2/s: two messages move at once, then the task waits a second.
	waitPending(t, s, 1)
	tasks, err := c.ListMessageMoveTasks(ctx(t), &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqArn)})
	if err != nil || len(tasks.Results) != 1 || *tasks.Results[0].Status != "RUNNING" || *tasks.Results[0].TaskHandle != *start.TaskHandle ||
		tasks.Results[0].ApproximateNumberOfMessagesMoved != 2 || tasks.Results[0].ApproximateNumberOfMessagesToMove == nil || *tasks.Results[0].ApproximateNumberOfMessagesToMove != 5 {
		t.Fatalf("running task %+v %v", tasks, err)
	}
	_, err = c.StartMessageMoveTask(ctx(t), &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqArn)})
	wantCode(t, err, "InvalidParameterValue") // one active task per source
	for i := 0; i < 2; i++ {
		s.Clock.Advance(time.Second)
		waitPending(t, s, 1)
	}
	s.Clock.Advance(time.Second)
	waitFor(t, func() bool {
		r, err := c.ListMessageMoveTasks(ctx(t), &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqArn)})
		return err == nil && *r.Results[0].Status == "COMPLETED"
	})
	wantCounts(t, c, dlq, "0", "0", "0")
	wantCounts(t, c, src, "5", "0", "0")
	// Redriven messages are new messages: a new MessageId and send time,
	// never received (SQS developer guide, "Configure a dead-letter queue
	// redrive").
	sentBefore := servertest.Epoch.UnixMilli()
	for _, m := range receiveAll(t, c, src, 5) {
		sent, _ := strconv.ParseInt(m.Attributes["SentTimestamp"], 10, 64)
		if original[*m.MessageId] || m.Attributes["ApproximateReceiveCount"] != "1" || sent <= sentBefore {
			t.Fatalf("redriven message %s: original ID %v, attributes %v", *m.MessageId, original[*m.MessageId], m.Attributes)
		}
	}
	s.Clock.Advance(time.Second) // visible again
	_, err = c.CancelMessageMoveTask(ctx(t), &sqs.CancelMessageMoveTaskInput{TaskHandle: start.TaskHandle})
	wantCode(t, err, "AWS.SimpleQueueService.UnsupportedOperation")
	// A malformed handle is an invalid value; a handle of an unknown task
	// or source queue names a missing resource (real SQS, as recorded in
	// LocalStack's AWS-validated move task snapshots).
	_, err = c.CancelMessageMoveTask(ctx(t), &sqs.CancelMessageMoveTaskInput{TaskHandle: aws.String("not-a-handle")})
	wantCode(t, err, "InvalidParameterValue")
	for _, h := range []string{`{"taskId":"x","sourceArn":"` + dlqArn + `"}`, `{"taskId":"x","sourceArn":"arn:aws:sqs:us-east-1:000000000000:nope"}`} {
		_, err = c.CancelMessageMoveTask(ctx(t), &sqs.CancelMessageMoveTaskInput{TaskHandle: aws.String(base64.StdEncoding.EncodeToString([]byte(h)))})
		wantCode(t, err, "ResourceNotFoundException")
	}

	// Moving to an explicit destination, and cancelling.
	other := create(t, c, "other", nil)
	receive(t, c, src, 10)
	s.Clock.Advance(time.Second)
	receive(t, c, src, 10)
	wantCounts(t, c, dlq, "5", "0", "0")
	st, err := c.StartMessageMoveTask(ctx(t), &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqArn),
		DestinationArn: aws.String(attrs(t, c, other)["QueueArn"]), MaxNumberOfMessagesPerSecond: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	waitPending(t, s, 1)
	cancel, err := c.CancelMessageMoveTask(ctx(t), &sqs.CancelMessageMoveTaskInput{TaskHandle: st.TaskHandle})
	if err != nil || cancel.ApproximateNumberOfMessagesMoved != 1 {
		t.Fatalf("cancel = %+v, %v", cancel, err)
	}
	s.Clock.Advance(time.Second)
	waitFor(t, func() bool {
		r, err := c.ListMessageMoveTasks(ctx(t), &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqArn), MaxResults: aws.Int32(10)})
		return err == nil && len(r.Results) == 2 && *r.Results[0].Status == "CANCELLED"
	})
	wantCounts(t, c, other, "1", "0", "0")
}

// receiveAll receives until it has n messages (a receive may return fewer
// than are there).
func receiveAll(t *testing.T, c *sqs.Client, url string, n int) []types.Message {
	t.Helper()
	var out []types.Message
	for tries := 0; len(out) < n && tries < 20; tries++ {
		out = append(out, receive(t, c, url, 10)...)
	}
	if len(out) != n {
		t.Fatalf("received %d messages, want %d", len(out), n)
	}
	return out
}

// waitFor polls cond until it holds: it waits for background work that the
// test cannot observe otherwise, with a generous deadline.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestListDeadLetterSourceQueuesPagination(t *testing.T) {
	_, c := start(t, false)
	dlq := create(t, c, "dlq", nil)
	arn := attrs(t, c, dlq)["QueueArn"]
	for i := 0; i < 5; i++ {
		create(t, c, fmt.Sprint("src-", i), map[string]string{"RedrivePolicy": redrive(arn, 3)})
	}
	create(t, c, "unrelated", nil)
	var got []string
	p := sqs.NewListDeadLetterSourceQueuesPaginator(c, &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: aws.String(dlq), MaxResults: aws.Int32(2)})
	for p.HasMorePages() {
		pg, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, pg.QueueUrls...)
	}
	if len(got) != 5 {
		t.Fatalf("sources %v", got)
	}
}

// A move task running when the server stops resumes when it starts again.
func TestMoveTaskResumesAfterRestart(t *testing.T) {
	dir := t.TempDir()
	s := servertest.Start(t, servertest.Options{DataDir: dir})
	c := sqs.NewFromConfig(s.Config())
	dlq := create(t, c, "dlq", nil)
	dlqArn := attrs(t, c, dlq)["QueueArn"]
	dest := create(t, c, "dest", nil)
	for i := 0; i < 3; i++ {
		send(t, c, dlq, fmt.Sprint(i))
	}
	create(t, c, "src", map[string]string{"RedrivePolicy": redrive(dlqArn, 3)})
	// One message a second: the task is still running when we stop.
	if _, err := c.StartMessageMoveTask(ctx(t), &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqArn),
		DestinationArn: aws.String(attrs(t, c, dest)["QueueArn"]), MaxNumberOfMessagesPerSecond: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	s.Stop(t)
	s2 := servertest.Start(t, servertest.Options{DataDir: dir})
	c2 := sqs.NewFromConfig(s2.Config())
	waitFor(t, func() bool {
		r, err := c2.ListMessageMoveTasks(ctx(t), &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqArn)})
		return err == nil && len(r.Results) == 1 && *r.Results[0].Status == "COMPLETED"
	})
	wantCounts(t, c2, dest, "3", "0", "0")
	wantCounts(t, c2, dlq, "0", "0", "0")
}

// The redrive policies' refusals in SQS's words. The type mismatch's two
// periods are SQS's own (a real SQS answer logged in a public repository:
// "Reason: Dead-letter queue must be same type of queue as the source..");
// the others as the serverless-aws-lambda emulator's tests record them.
// A value SQS could read is echoed as the request gave it.
func TestRedrivePolicyMessages(t *testing.T) {
	_, c := start(t, false)
	create(t, c, "words-dlq.fifo", map[string]string{"FifoQueue": "true"})
	create(t, c, "words-dlq", nil)
	spaced := `{"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:words-dlq.fifo", "maxReceiveCount": 3}`
	cases := []struct{ name, attr, value, want string }{
		{"type mismatch", "RedrivePolicy", spaced,
			"Value " + spaced + " for parameter RedrivePolicy is invalid. Reason: Dead-letter queue must be same type of queue as the source.."},
		{"not a map", "RedrivePolicy", `[1]`, "Invalid value for the parameter RedrivePolicy. Reason: Redrive policy is not a valid JSON map."},
		{"not JSON", "RedrivePolicy", `{bad`, "Invalid value for the parameter RedrivePolicy. Reason: Redrive policy is not a valid JSON map."},
		{"trailing brace", "RedrivePolicy", `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:words-dlq","maxReceiveCount":3}}`,
			"Invalid value for the parameter RedrivePolicy. Reason: Redrive policy is not a valid JSON map."},
		{"allow policy with a trailing bracket", "RedriveAllowPolicy", `{"redrivePermission":"allowAll"}]`,
			"Invalid value for the parameter RedriveAllowPolicy. Reason: Amazon SQS can't create the redrive allow policy, as it\u2019s in an unsupported format."},
		{"short ARN", "RedrivePolicy", `{"deadLetterTargetArn":"words-dlq","maxReceiveCount":3}`,
			`Value {"deadLetterTargetArn":"words-dlq","maxReceiveCount":3} for parameter RedrivePolicy is invalid. Reason: Dead-letter target ARN should be fully qualified ARN.`},
		{"byQueue without sources", "RedriveAllowPolicy", `{"redrivePermission":"byQueue"}`,
			`Value {"redrivePermission":"byQueue"} for parameter RedriveAllowPolicy is invalid. Reason: Amazon SQS can't create the redrive allow policy. When you specify the byQueue permission type, you must also specify one or more sourceQueueArns values.`},
		{"sources without byQueue", "RedriveAllowPolicy", `{"redrivePermission":"allowAll","sourceQueueArns":["arn:aws:sqs:us-east-1:000000000000:a"]}`,
			`Value {"redrivePermission":"allowAll","sourceQueueArns":["arn:aws:sqs:us-east-1:000000000000:a"]} for parameter RedriveAllowPolicy is invalid. Reason: Amazon SQS can't create the redrive allow policy. To specify one or more source queue ARNs, you must set redrivePermission to byQueue.`},
		{"unknown permission", "RedriveAllowPolicy", `{"redrivePermission":"some"}`,
			"Invalid value for the parameter RedriveAllowPolicy. Reason: Amazon SQS can't create the redrive allow policy, as it\u2019s in an unsupported format."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CreateQueue(ctx(t), &sqs.CreateQueueInput{QueueName: aws.String("words-src"), Attributes: map[string]string{tc.attr: tc.value}})
			wantCode(t, err, "InvalidParameterValue")
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorMessage() != tc.want {
				t.Fatalf("message %q\nwant    %q", ae.ErrorMessage(), tc.want)
			}
		})
	}
	var sources []string
	for i := range 11 {
		sources = append(sources, fmt.Sprintf(`"arn:aws:sqs:us-east-1:000000000000:s%d"`, i))
	}
	_, err := c.CreateQueue(ctx(t), &sqs.CreateQueueInput{QueueName: aws.String("words-src"),
		Attributes: map[string]string{"RedriveAllowPolicy": `{"redrivePermission":"byQueue","sourceQueueArns":[` + strings.Join(sources, ",") + `]}`}})
	var ae smithy.APIError
	if !errors.As(err, &ae) || !strings.HasSuffix(ae.ErrorMessage(), "Amazon SQS can't create the redrive allow policy. The maximum number of source queue ARNs you can specify is 10.") {
		t.Fatalf("eleven sources: %v", err)
	}
}
