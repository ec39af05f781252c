package sqsapi

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/forkline/forkline/internal/clock"
	"github.com/forkline/forkline/internal/queue"
	"github.com/forkline/forkline/internal/store/pebblestore"
	"github.com/forkline/forkline/internal/wire/awsquery"
)

func newHandler(t testing.TB) *Handler {
	t.Helper()
	st, err := pebblestore.Open(t.TempDir(), pebblestore.Options{CacheBytes: 1 << 20, MemTableBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := queue.New(context.Background(), st, queue.Config{Region: "us-east-1", AccountID: "000000000000",
		Clock: clock.NewFake(clock.Real{}.Now()), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close(); st.Close() })
	h := New(svc, "000000000000", log)
	for _, q := range []string{"q", "f.fifo"} {
		attrs := map[string]string{}
		if q == "f.fifo" {
			attrs["FifoQueue"] = "true"
		}
		if _, err := svc.CreateQueue(context.Background(), q, attrs, nil); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func request() *Request {
	return &Request{Ctx: context.Background(), RequestID: "req", AccessKey: "AKID", BaseURL: "http://localhost", Path: "/"}
}

var fuzzActions = []string{"CreateQueue", "GetQueueUrl", "ListQueues", "GetQueueAttributes", "SetQueueAttributes",
	"SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch", "ChangeMessageVisibility",
	"ChangeMessageVisibilityBatch", "TagQueue", "UntagQueue", "ListQueueTags", "ListDeadLetterSourceQueues",
	"AddPermission", "RemovePermission", "StartMessageMoveTask", "ListMessageMoveTasks", "CancelMessageMoveTask"}

// FuzzJSON: no JSON request makes the adapter fail internally or answer
// anything but a well-formed JSON document.
func FuzzJSON(f *testing.F) {
	f.Add(uint8(5), []byte(`{"QueueUrl":"http://localhost/000000000000/q","MessageBody":"hi","MessageAttributes":{"a":{"DataType":"String","StringValue":"x"}}}`))
	f.Add(uint8(6), []byte(`{"QueueUrl":"/000000000000/f.fifo","Entries":[{"Id":"a","MessageBody":"x","MessageGroupId":"g","MessageDeduplicationId":"d"}]}`))
	f.Add(uint8(7), []byte(`{"QueueUrl":"q","MaxNumberOfMessages":10,"WaitTimeSeconds":0,"MessageSystemAttributeNames":["All"]}`))
	f.Add(uint8(0), []byte(`{"QueueName":"new","Attributes":{"RedrivePolicy":"{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:000000000000:q\",\"maxReceiveCount\":\"2\"}"}}`))
	f.Add(uint8(8), []byte(`{"QueueUrl":"q","ReceiptHandle":"AQAAAAAAAAABAAAAAAAAAAEhqM9iM5nqgw"}`))
	f.Add(uint8(3), []byte(`{"QueueUrl":"q","AttributeNames":[1,2]}`))
	h := newHandler(f)
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		action := fuzzActions[int(op)%len(fuzzActions)]
		if action == "ReceiveMessage" {
			body = clampWait(body)
		}
		w := httptest.NewRecorder()
		h.ServeJSON(w, request(), action, body)
		if w.Code >= 500 {
			t.Fatalf("%s %s: status %d %s", action, body, w.Code, w.Body)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%s: invalid JSON response %s", action, w.Body)
		}
	})
}

// clampWait removes long polls so that a fuzz input never blocks.
func clampWait(body []byte) []byte {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return body
	}
	m["WaitTimeSeconds"] = 0
	out, _ := json.Marshal(m)
	return out
}

// FuzzQuery: the same for the query protocol and its XML answers.
func FuzzQuery(f *testing.F) {
	f.Add(uint8(5), "QueueUrl=q&MessageBody=hi&MessageAttribute.1.Name=a&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=x")
	f.Add(uint8(6), "QueueUrl=f.fifo&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=x&SendMessageBatchRequestEntry.1.MessageGroupId=g&SendMessageBatchRequestEntry.1.MessageDeduplicationId=d")
	f.Add(uint8(7), "QueueUrl=q&MaxNumberOfMessages=10&AttributeName.1=All&MessageAttributeName.1=All")
	f.Add(uint8(0), "QueueName=n&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=5&Tag.1.Key=k&Tag.1.Value=v")
	f.Add(uint8(16), "QueueUrl=q&Label=l&AWSAccountId.1=111122223333&ActionName.1=SendMessage")
	h := newHandler(f)
	f.Fuzz(func(t *testing.T, op uint8, form string) {
		action := fuzzActions[int(op)%len(fuzzActions)]
		v, err := awsquery.ParseForm(form, nil)
		if err != nil {
			return
		}
		p := awsquery.FromValues(v)
		if action == "ReceiveMessage" {
			p["WaitTimeSeconds"] = "0"
		}
		w := httptest.NewRecorder()
		h.ServeQuery(w, request(), action, p)
		if w.Code >= 500 {
			t.Fatalf("%s %s: status %d %s", action, form, w.Code, w.Body)
		}
		d := xml.NewDecoder(w.Body)
		for {
			_, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: malformed XML: %v", action, err)
			}
		}
	})
}
