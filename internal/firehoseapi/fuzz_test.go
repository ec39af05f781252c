package firehoseapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/forkline/forkline/internal/clock"
	"github.com/forkline/forkline/internal/firehose"
	"github.com/forkline/forkline/internal/store/pebblestore"
)

type nopSink struct{}

func (nopSink) PutObject(context.Context, string, string, []byte) error { return nil }
func (nopSink) Transform(_ context.Context, _ string, e []byte) ([]byte, error) {
	return []byte(`{"records":[]}`), nil
}
func (nopSink) Index(context.Context, string, string, [][]byte) (map[int]string, error) {
	return nil, nil
}

// FuzzServe: any action and body gets a JSON answer or a JSON error with a
// client code, never an internal error.
func FuzzServe(f *testing.F) {
	st, err := pebblestore.Open(f.TempDir(), pebblestore.Options{CacheBytes: 1 << 20, MemTableBytes: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}
	svc, err := firehose.New(context.Background(), st, firehose.Config{Region: "us-east-1", AccountID: "000000000000",
		Clock: clock.NewFake(clock.Real{}.Now()), Sink: nopSink{}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { svc.Close(); st.Close() })
	h := New(svc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	seeds := [][2]string{
		{"CreateDeliveryStream", `{"DeliveryStreamName":"s","ExtendedS3DestinationConfiguration":{"BucketARN":"arn:aws:s3:::b","BufferingHints":{"SizeInMBs":1,"IntervalInSeconds":60},"CompressionFormat":"GZIP","ProcessingConfiguration":{"Enabled":true,"Processors":[{"Type":"Lambda","Parameters":[{"ParameterName":"LambdaArn","ParameterValue":"arn:aws:lambda:us-east-1:000000000000:function:f"}]}]}}}`},
		{"PutRecordBatch", `{"DeliveryStreamName":"s","Records":[{"Data":"aGVsbG8K"},{"Data":"!!"}]}`},
		{"PutRecord", `{"DeliveryStreamName":"s","Record":{"Data":"aGVsbG8K"}}`},
		{"DescribeDeliveryStream", `{"DeliveryStreamName":"s"}`},
		{"CreateDeliveryStream", `{"DeliveryStreamName":"e","ElasticsearchDestinationConfiguration":{"DomainARN":"arn:aws:es:us-east-1:000000000000:domain/d","IndexName":"i","S3Configuration":{"BucketARN":"arn:aws:s3:::b"}}}`},
		{"ListDeliveryStreams", `{}`},
		{"DeleteDeliveryStream", `{"DeliveryStreamName":"e"}`},
		{"Nope", `[]`},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, action, body string) {
		w := httptest.NewRecorder()
		h.Serve(context.Background(), w, "r", action, []byte(body))
		if w.Code >= 500 {
			t.Fatalf("%s %q: %d %s", action, body, w.Code, w.Body.String())
		}
		if w.Code >= 400 {
			var e map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e["__type"] == nil {
				t.Fatalf("%s: error body %q", action, w.Body.String())
			}
		}
	})
}

// generalBatch decodes a PutRecordBatch body as the general path does.
func generalBatch(body []byte) (string, [][]byte, bool) {
	var raw map[string]any
	if json.Unmarshal(body, &raw) != nil {
		return "", nil, false
	}
	name, _ := raw["DeliveryStreamName"].(string)
	recs, _ := raw["Records"].([]any)
	data := [][]byte{}
	for _, r := range recs {
		m, _ := r.(map[string]any)
		s, ok := m["Data"].(string)
		if !ok {
			return "", nil, false
		}
		d, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return "", nil, false
		}
		data = append(data, d)
	}
	return name, data, true
}

// FuzzFastBatch: whatever fastBatch decodes, the general path decodes to
// the same stream name and records.
func FuzzFastBatch(f *testing.F) {
	for _, s := range []string{
		`{"DeliveryStreamName":"s","Records":[{"Data":"aGVsbG8K"},{"Data":""}]}`,
		` {"Records":[{"Data":"YQ==","Other":1}],"DeliveryStreamName":"s\u00e9","x":[null]} `,
		`{"DeliveryStreamName":"s","Records":[{"Data":"!!"}]}`,
		`{"DeliveryStreamName":"s","records":[{"Data":"YQ=="}]}`,
		`{"DeliveryStreamName":"s","Records":[{"data":"YQ=="}]}`,
		`{"DeliveryStreamName":"s","Records":[null]}`,
		`{"DeliveryStreamName":"a","DeliveryStreamName":"b","Records":[]}`,
		"\v{\"DeliveryStreamName\":\"s\",\"Records\":[]}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		name, data, ok := fastBatch(body)
		if !ok {
			return
		}
		gname, gdata, gok := generalBatch(body)
		if !gok || name != gname || !reflect.DeepEqual(data, gdata) {
			t.Fatalf("%q: fast %q %q, general %v %q %q", body, name, data, gok, gname, gdata)
		}
	})
}

func TestBatchAnswerIsTheMapEncoding(t *testing.T) {
	res := batchAnswer{{RecordID: "a"}, {RecordID: "b<&>"}}
	list := []map[string]string{{"RecordId": "a"}, {"RecordId": "b<&>"}}
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	enc.Encode(map[string]any{"FailedPutCount": 0, "Encrypted": false, "RequestResponses": list})
	if got := res.AppendJSON(nil); string(got) != strings.TrimSpace(want.String()) {
		t.Fatalf("got %s, want %s", got, want.String())
	}
}
