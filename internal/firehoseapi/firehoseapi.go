// Package firehoseapi is the Data Firehose wire adapter: AWS JSON 1.1
// with X-Amz-Target "Firehose_20150804.Operation".
package firehoseapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/forkline/forkline/internal/firehose"
	"github.com/forkline/forkline/internal/wire/awserr"
	"github.com/forkline/forkline/internal/wire/awsjson"
	"github.com/forkline/forkline/internal/wire/jsonread"
	"github.com/forkline/forkline/internal/wire/jsontext"
)

// TargetPrefix is the X-Amz-Target prefix of Firehose requests.
const TargetPrefix = "Firehose_20150804"

const contentType = "application/x-amz-json-1.1"

// Handler serves Firehose. It is safe for concurrent use.
type Handler struct {
	svc *firehose.Service
	log *slog.Logger
}

// New returns the adapter over svc.
func New(svc *firehose.Service, log *slog.Logger) *Handler { return &Handler{svc: svc, log: log} }

// WriteError writes e in the Firehose JSON error shape.
func WriteError(w http.ResponseWriter, requestID string, e *awserr.Error) {
	awsjson.WriteError(w, contentType, requestID, "", false, e)
}

// Serve serves one request for action.
func (h *Handler) Serve(ctx context.Context, w http.ResponseWriter, requestID, action string, body []byte) {
	out, err := h.run(ctx, action, body)
	awsjson.Respond(w, contentType, requestID, out, err, "ServiceUnavailableException", h.log.Error)
}

func bad(msg string) error {
	return &awserr.Error{Entry: awserr.Entry{Code: "InvalidArgumentException", Status: 400, Sender: true}, Message: msg}
}

func (h *Handler) run(ctx context.Context, action string, body []byte) (any, error) {
	if action == "PutRecordBatch" {
		// The pipelines' hot path: decoded without reflection when the
		// body is plain, by the general path below otherwise.
		if name, data, ok := fastBatch(body); ok {
			res, err := h.svc.Put(ctx, name, data)
			if err != nil {
				return nil, err
			}
			return batchAnswer(res), nil
		}
	}
	var raw map[string]any
	if len(body) > 0 {
		if err := json.Unmarshal(body, &raw); err != nil {
			return nil, &awserr.Error{Entry: awserr.Entry{Code: "SerializationException", Status: 400, Sender: true}, Message: "Could not parse the request."}
		}
	}
	name, _ := raw["DeliveryStreamName"].(string)
	switch action {
	case "CreateDeliveryStream":
		typ, _ := raw["DeliveryStreamType"].(string)
		sm, err := firehose.FromConfig(name, typ, raw)
		if err != nil {
			return nil, err
		}
		arn, err := h.svc.Create(ctx, sm)
		if err != nil {
			return nil, err
		}
		return map[string]string{"DeliveryStreamARN": arn}, nil
	case "DescribeDeliveryStream":
		sm, err := h.svc.Describe(ctx, name)
		if err != nil {
			return nil, err
		}
		return map[string]any{"DeliveryStreamDescription": sm.Description()}, nil
	case "ListDeliveryStreams":
		names := h.svc.List(ctx)
		if names == nil {
			names = []string{}
		}
		return map[string]any{"DeliveryStreamNames": names, "HasMoreDeliveryStreams": false}, nil
	case "DeleteDeliveryStream":
		return map[string]any{}, h.svc.Delete(ctx, name)
	case "PutRecord", "PutRecordBatch":
		var recs []any
		if action == "PutRecord" {
			recs = []any{raw["Record"]}
		} else {
			recs, _ = raw["Records"].([]any)
		}
		var data [][]byte
		for _, r := range recs {
			m, _ := r.(map[string]any)
			s, ok := m["Data"].(string)
			if !ok {
				return nil, bad("1 validation error detected: Value null at 'record.data' failed to satisfy constraint: Member must not be null")
			}
			d, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return nil, &awserr.Error{Entry: awserr.Entry{Code: "SerializationException", Status: 400, Sender: true}, Message: "Record.Data is not valid base64."}
			}
			data = append(data, d)
		}
		res, err := h.svc.Put(ctx, name, data)
		if err != nil {
			return nil, err
		}
		if action == "PutRecord" {
			return map[string]any{"RecordId": res[0].RecordID, "Encrypted": false}, nil
		}
		return batchAnswer(res), nil
	}
	return nil, &awserr.Error{Entry: awserr.Entry{Code: "UnknownOperationException", Status: 400, Sender: true}, Message: "The action " + action + " is not valid for this web service."}
}

// fastBatch decodes a PutRecordBatch body whose every record has base64
// Data, as the general path would (its keys are matched exactly, as a
// map's are); anything else is left to it.
func fastBatch(body []byte) (name string, data [][]byte, ok bool) {
	r := jsonread.New(body)
	var seenName, seenRecords bool
	r.Object(func(k []byte) {
		switch string(k) {
		case "DeliveryStreamName":
			if seenName || r.Null() {
				r.Fail()
				return
			}
			seenName = true
			name = r.String()
		case "Records":
			if seenRecords || r.Null() {
				r.Fail()
				return
			}
			seenRecords = true
			data = [][]byte{}
			r.Array(func() {
				var d []byte
				seen := false
				r.Object(func(k []byte) {
					if string(k) != "Data" {
						r.Skip()
						return
					}
					if seen || r.Null() {
						r.Fail()
						return
					}
					seen = true
					d = r.Bytes()
				})
				if !seen {
					r.Fail()
				}
				data = append(data, d)
			})
		default:
			r.Skip()
		}
	})
	return name, data, r.End() && seenRecords
}

// batchAnswer is PutRecordBatch's answer.
type batchAnswer []firehose.PutResult

// AppendJSON implements awsjson.Appender, with the keys in the order
// encoding/json writes a map's.
func (a batchAnswer) AppendJSON(b []byte) []byte {
	b = append(b, `{"Encrypted":false,"FailedPutCount":0,"RequestResponses":[`...)
	for i, r := range a {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"RecordId":`...)
		b = jsontext.AppendString(b, r.RecordID)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}
