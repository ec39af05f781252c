// Package e2e drives a real forkline server over HTTP with real AWS
// clients: aws-sdk-go-v2, and (query protocol) Debian's python3-boto3 and
// the AWS CLI.
package e2e

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/forkline/forkline/internal/server/servertest"
)

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func start(t *testing.T, fake bool) (*servertest.Server, *sqs.Client) {
	t.Helper()
	s := servertest.Start(t, servertest.Options{FakeClock: fake})
	return s, sqs.NewFromConfig(s.Config())
}

func create(t *testing.T, c *sqs.Client, name string, attrs map[string]string) string {
	t.Helper()
	out, err := c.CreateQueue(ctx(t), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("CreateQueue %s: %v", name, err)
	}
	return *out.QueueUrl
}

func send(t *testing.T, c *sqs.Client, url, body string) *sqs.SendMessageOutput {
	t.Helper()
	out, err := c.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	return out
}

func receive(t *testing.T, c *sqs.Client, url string, max int32, mod ...func(*sqs.ReceiveMessageInput)) []types.Message {
	t.Helper()
	in := &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: max,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"}}
	for _, m := range mod {
		m(in)
	}
	out, err := c.ReceiveMessage(ctx(t), in)
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	return out.Messages
}

func attrs(t *testing.T, c *sqs.Client, url string) map[string]string {
	t.Helper()
	out, err := c.GetQueueAttributes(ctx(t), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	return out.Attributes
}

// counts returns visible, in flight and delayed.
func counts(t *testing.T, c *sqs.Client, url string) [3]string {
	t.Helper()
	a := attrs(t, c, url)
	return [3]string{a["ApproximateNumberOfMessages"], a["ApproximateNumberOfMessagesNotVisible"], a["ApproximateNumberOfMessagesDelayed"]}
}

func wantCounts(t *testing.T, c *sqs.Client, url string, visible, inflight, delayed string) {
	t.Helper()
	if got, want := counts(t, c, url), [3]string{visible, inflight, delayed}; got != want {
		t.Fatalf("counts (visible, not visible, delayed) = %v, want %v", got, want)
	}
}

// code returns the error code the SDK reports, or "" for nil.
func code(err error) string {
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return "non-API error: " + err.Error()
}

func wantCode(t *testing.T, err error, want string) {
	t.Helper()
	if got := code(err); got != want {
		t.Fatalf("error code = %q, want %q (err: %v)", got, want, err)
	}
}

// waitPending blocks until the fake clock has at least n timers, i.e. a
// long poll has reached its wait.
func waitPending(t *testing.T, s *servertest.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for s.Clock.Pending() < n {
		if time.Now().After(deadline) {
			t.Fatalf("no goroutine reached its timer")
		}
		time.Sleep(time.Millisecond)
	}
}

func asType[T any](err error, target *T) bool { return errors.As(err, target) }
