package sqsapi

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/forkline/forkline/internal/wire/awsjson"
	"github.com/forkline/forkline/internal/wire/jsonread"
)

// commonRequests are bodies as the SDKs send them; the fast decoders must
// take every one of them (TestFastDecodeTakesCommonInput) and they seed
// FuzzFastDecode.
var commonRequests = []string{
	// aws-sdk-go-v2 SendMessage with attributes.
	`{"MessageAttributes":{"n":{"DataType":"Number","StringValue":"1"},"b":{"BinaryValue":"AAEC","DataType":"Binary"}},"MessageBody":"hello","QueueUrl":"http://127.0.0.1:4566/000000000000/q"}`,
	// botocore: ensure_ascii escapes, a surrogate pair, a quoted JSON body.
	`{"QueueUrl": "http://localhost:4566/000000000000/q", "MessageBody": "{\"order\": 1, \"note\": \"caf\u00e9 \ud83d\ude00\"}", "DelaySeconds": 5}`,
	`{"QueueUrl":"q","MessageBody":"x","MessageGroupId":"g","MessageDeduplicationId":"d","MessageSystemAttributes":{"AWSTraceHeader":{"DataType":"String","StringValue":"Root=1-5759e988-bd862e3fe1be46a994272793"}}}`,
	`{"Entries":[{"Id":"0","MessageBody":"a"},{"Id":"1","MessageBody":"b","DelaySeconds":0}],"QueueUrl":"q"}`,
	`{"AttributeNames":["All"],"MaxNumberOfMessages":10,"MessageAttributeNames":["All"],"MessageSystemAttributeNames":["SentTimestamp"],"QueueUrl":"q","VisibilityTimeout":30,"WaitTimeSeconds":20,"ReceiveRequestAttemptId":"r"}`,
	`{"QueueUrl":"q","ReceiptHandle":"AQAAAAAAAAABAAAAAAAAAAEhqM9iM5nqgw","VisibilityTimeout":0}`,
	`{"Entries":[{"Id":"a","ReceiptHandle":"h1"},{"Id":"b","ReceiptHandle":"h2","VisibilityTimeout":10}],"QueueUrl":"q"}`,
	// Whitespace, unknown fields, nulls, keys in other cases, lists.
	"\n { \"queueurl\" : \"q\" , \"Unknown\" : {\"a\":[1,-2.5e3,true,false,null,\"\\u0000\"]}, \"MessageBody\" : null, \"DelaySeconds\": null } \t",
	`{"QueueUrl":"q","MessageBody":"b","MessageAttributes":{"l":{"DataType":"String.Array","StringListValues":["a",null],"BinaryListValues":["AA==",null]},"e":{"DataType":"Binary","BinaryValue":""}}}`,
	`{"QueueUrl":"q","MessageBody":"\u00e9\t\n\"\\\/\b\f\r é","MessageAttributes":null,"MessageSystemAttributes":{}}`,
	`{"QueueUrl":"q","Entries":[],"AttributeNames":null}`,
	`{"QueueUrl":"q","Entries":[null,{"Id":"x","ReceiptHandle":null}]}`,
}

// oddRequests are left to encoding/json; they seed the fuzz test too.
var oddRequests = []string{
	`{"QueueUrl":"q","QueueUrl":"r"}`,                      // repeated field
	`{"QueueUrl":"q","MessageBody":"\ud800"}`,              // lone surrogate
	`{"QueueUrl":"q","MessageBody":"bad \xff utf8"}`,       // invalid UTF-8
	`{"Queue\u0055rl":"q"}`,                                // escaped key
	`{"QueueUrl":"q","MeſſageBody":"x"}`,                   // non-ASCII key folding to a field
	`{"QueueUrl":"q","DelaySeconds":1.0}`,                  // a fraction
	`{"QueueUrl":"q","DelaySeconds":99999999999999999999}`, // too large
	`{"QueueUrl":"q","MessageAttributes":{"a":{},"a":{}}}`, // repeated map key
	`{"QueueUrl":"q","MessageBody":"x"} trailing`,          // after the value
	`{"QueueUrl":5}`,                // wrong type
	`{"QueueUrl":"q","Entries":{}}`, // wrong type
	`{"QueueUrl":"q","MessageAttributes":{"b":{"BinaryValue":"!!"}}}`, // bad base64
	`null`, `[]`, `"s"`, `{`, `{"a":}`, `{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":1e}`, `{"a":tru}`,
}

// fastShapes decodes body into every shape with a fast decoder, both ways,
// and fails the test when the fast decoder accepted what encoding/json
// refuses or decoded a different value. It reports how many shapes the
// fast decoder took.
func fastShapes(t *testing.T, body []byte) int {
	took := 0
	took += checkFast[sendMessageInput](t, body)
	took += checkFast[sendMessageBatchInput](t, body)
	took += checkFast[receiveMessageInput](t, body)
	took += checkFast[receiptInput](t, body)
	took += checkFast[batchInput](t, body)
	return took
}

func checkFast[T any](t *testing.T, body []byte) int {
	t.Helper()
	var fast T
	r := jsonread.New(body)
	any(&fast).(awsjson.FastDecoder).DecodeJSON(&r)
	if !r.End() {
		return 0
	}
	var slow T
	if err := awsjson.UnmarshalExact(body, &slow); err != nil {
		t.Fatalf("%T: the fast decoder took %q, which encoding/json refuses: %v", fast, body, err)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("%T from %q:\nfast %#v\njson %#v", fast, body, fast, slow)
	}
	return 1
}

func TestFastDecodeTakesCommonInput(t *testing.T) {
	for _, body := range commonRequests {
		if took := fastShapes(t, []byte(body)); took != 5 {
			t.Errorf("the fast decoders took %d of 5 shapes for %s", took, body)
		}
	}
	for _, body := range oddRequests {
		fastShapes(t, []byte(body))
	}
}

// FuzzFastDecode: whatever the fast decoders take, encoding/json takes and
// decodes to the same value.
func FuzzFastDecode(f *testing.F) {
	for _, s := range append(append([]string{}, commonRequests...), oddRequests...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fastShapes(t, bytes.TrimSpace(body))
	})
}

// FuzzFastEncode: the response encoders write encoding/json's bytes.
func FuzzFastEncode(f *testing.F) {
	f.Add("id", "body <&> \"q\" \u2028", "k", "\xff", true, []byte{0, 1, 2})
	f.Add("", "", "", "", false, []byte(nil))
	f.Fuzz(func(t *testing.T, a, b, c, d string, flag bool, bin []byte) {
		sv := &d
		if flag {
			sv = nil
		}
		send := sendMessageOutput{MD5OfMessageBody: a, MD5OfMessageAttributes: b, MD5OfMessageSystemAttributes: c, MessageId: d, SequenceNumber: a + b}
		errs := []batchResultError{{Id: a, SenderFault: flag, Code: b, Message: c}, {Id: d}}
		if flag {
			errs = nil
		}
		attrs := map[string]msgAttrValue{
			a: {DataType: b, StringValue: sv, BinaryValue: bin},
			c: {DataType: d, StringListValues: []string{a, b}, BinaryListValues: [][]byte{bin, nil}},
		}
		msgs := []message{{MessageId: a, ReceiptHandle: b, MD5OfBody: c, Body: d,
			Attributes: map[string]string{a: b, c: d, "SentTimestamp": "1"}, MD5OfMessageAttributes: a, MessageAttributes: attrs}, {}}
		if flag {
			msgs = nil
		}
		for _, v := range []awsjson.Appender{
			&send,
			&sendMessageBatchOutput{Successful: []sendBatchResultEntry{{Id: a, sendMessageOutput: send}, {Id: b}}, Failed: errs},
			&sendMessageBatchOutput{},
			&batchOutput{Successful: []idEntry{{a}, {b}}, Failed: errs},
			&batchOutput{Failed: []batchResultError{}},
			&receiveMessageOutput{Messages: msgs},
		} {
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(v); err != nil {
				t.Fatal(err)
			}
			got := v.AppendJSON(nil)
			if !bytes.Equal(got, bytes.TrimSuffix(want.Bytes(), []byte("\n"))) {
				t.Fatalf("%T:\ngot  %s\nwant %s", v, got, want.Bytes())
			}
		}
	})
}
