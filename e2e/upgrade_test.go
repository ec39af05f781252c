package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/forkline/forkline/internal/server/servertest"
)

// TestUpgradeFromFormat1 starts forkline on a data directory written by
// the build before store format 2 (d7c1b0a, states under their own key
// range; ADR 0001, addendum of session 14): queue "upgraded" with three
// messages sent through the AWS CLI at about 07:34 UTC on 2026-11-28,
// "first" with a message attribute and received once. The store moves the
// states at Open; the messages must read as they were written.
func TestUpgradeFromFormat1(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join("testdata", "format1", "store")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "store"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "store", e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The messages' times are the fixture's; the fake clock is moved to
	// just after them, within the queue's retention.
	written := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	s := servertest.Start(t, servertest.Options{FakeClock: true, DataDir: dir})
	s.Clock.Advance(written.Sub(servertest.Epoch))
	q := sqs.NewFromConfig(s.Config())
	out, err := q.GetQueueUrl(ctx(t), &sqs.GetQueueUrlInput{QueueName: aws.String("upgraded")})
	if err != nil {
		t.Fatalf("GetQueueUrl: %v", err)
	}
	url := aws.ToString(out.QueueUrl)
	if a := attrs(t, q, url); a["ApproximateNumberOfMessages"] != "3" || a["ApproximateNumberOfMessagesNotVisible"] != "0" {
		t.Fatalf("queue attributes after the upgrade: %v", a)
	}
	got := receiveAll(t, q, url, 3)
	var bodies []string
	for _, m := range got {
		body := aws.ToString(m.Body)
		bodies = append(bodies, body)
		if body != "first" {
			continue
		}
		if a := m.MessageAttributes["kind"]; aws.ToString(a.StringValue) != "order" {
			t.Errorf("first's attribute: %+v", m.MessageAttributes)
		}
		if n := m.Attributes["ApproximateReceiveCount"]; n != "2" {
			t.Errorf("first's receive count %s, want 2 (received once before the upgrade)", n)
		}
	}
	slices.Sort(bodies)
	if !slices.Equal(bodies, []string{"first", "second", "third"}) {
		t.Fatalf("bodies after the upgrade: %v", bodies)
	}
	for _, m := range got {
		if _, err := q.DeleteMessage(ctx(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
			t.Fatalf("DeleteMessage: %v", err)
		}
	}
	s.Stop(t)

	// The upgraded directory opens again, in format 2, with nothing left.
	s = servertest.Start(t, servertest.Options{FakeClock: true, DataDir: dir})
	s.Clock.Advance(written.Sub(servertest.Epoch))
	q = sqs.NewFromConfig(s.Config())
	if a := attrs(t, q, url); a["ApproximateNumberOfMessages"] != "0" || a["ApproximateNumberOfMessagesNotVisible"] != "0" {
		t.Fatalf("queue attributes after the deletes and a restart: %v", a)
	}
}
