package function

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/forkline/forkline/internal/queue"
	"github.com/forkline/forkline/internal/store"
)

// sqsEventByReflection is the event as encoding/json writes it from the
// shape Lambda documents (the SQS event), the oracle for appendSQSEvent.
func sqsEventByReflection(arn, region string, batch []queue.ReceivedMessage) []byte {
	type attr struct {
		StringValue      *string  `json:"stringValue,omitempty"`
		BinaryValue      *string  `json:"binaryValue,omitempty"`
		StringListValues []string `json:"stringListValues"`
		BinaryListValues []string `json:"binaryListValues"`
		DataType         string   `json:"dataType"`
	}
	type record struct {
		MessageID         string            `json:"messageId"`
		ReceiptHandle     string            `json:"receiptHandle"`
		Body              string            `json:"body"`
		Attributes        map[string]string `json:"attributes"`
		MessageAttributes map[string]attr   `json:"messageAttributes"`
		MD5OfBody         string            `json:"md5OfBody"`
		MD5OfMessageAttrs string            `json:"md5OfMessageAttributes,omitempty"`
		EventSource       string            `json:"eventSource"`
		EventSourceARN    string            `json:"eventSourceARN"`
		AWSRegion         string            `json:"awsRegion"`
	}
	recs := make([]record, len(batch))
	for i, msg := range batch {
		r := record{MessageID: msg.MessageID, ReceiptHandle: msg.ReceiptHandle, Body: msg.Body, Attributes: msg.Attributes,
			MessageAttributes: map[string]attr{}, MD5OfBody: msg.MD5Body, MD5OfMessageAttrs: msg.MD5Attr,
			EventSource: "aws:sqs", EventSourceARN: arn, AWSRegion: region}
		for _, a := range msg.MessageAttrs {
			v := attr{StringListValues: []string{}, BinaryListValues: []string{}, DataType: a.DataType}
			if len(a.BinaryValue) > 0 {
				b := base64.StdEncoding.EncodeToString(a.BinaryValue)
				v.BinaryValue = &b
			} else {
				sv := a.StringValue
				v.StringValue = &sv
			}
			r.MessageAttributes[a.Name] = v
		}
		recs[i] = r
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.Encode(map[string][]record{"Records": recs})
	return bytes.TrimSuffix(out.Bytes(), []byte("\n"))
}

// FuzzSQSEvent: the event the pollers write is encoding/json's.
func FuzzSQSEvent(f *testing.F) {
	f.Add("id", "handle", `{"a":"<b>&"}`, "md5", "", "n", "v", []byte(nil), true)
	f.Add("", "", "\xff\u2028", "", "m", "", "", []byte{1, 2}, false)
	f.Fuzz(func(t *testing.T, id, handle, body, md5, md5a, name, value string, bin []byte, attrs bool) {
		msgs := []queue.ReceivedMessage{
			{MessageID: id, ReceiptHandle: handle, Body: body, MD5Body: md5, MD5Attr: md5a,
				MessageAttrs: []store.MessageAttribute{{Name: name, DataType: "String", StringValue: value}, {Name: "b", DataType: "Binary", BinaryValue: bin}, {Name: name, DataType: "Number", StringValue: "1"}}},
			{MessageID: handle, Body: id},
		}
		if attrs {
			msgs[0].Attributes = map[string]string{"SentTimestamp": "1", name: value, "ApproximateReceiveCount": id}
		}
		got := appendSQSEvent(nil, "arn:aws:sqs:us-east-1:000000000000:q", "us-east-1", msgs)
		want := sqsEventByReflection("arn:aws:sqs:us-east-1:000000000000:q", "us-east-1", msgs)
		if !bytes.Equal(got, want) {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
		// Invoke does not check an event it built.
		if !json.Valid(got) {
			t.Fatalf("invalid JSON: %s", got)
		}
	})
}
