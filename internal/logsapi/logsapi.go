// Package logsapi is the CloudWatch Logs wire adapter: AWS JSON 1.1, with
// X-Amz-Target "Logs_20140328.Operation".
package logsapi

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/forkline/forkline/internal/logs"
	"github.com/forkline/forkline/internal/wire/awserr"
	"github.com/forkline/forkline/internal/wire/awsjson"
)

// TargetPrefix is the X-Amz-Target prefix of Logs requests.
const TargetPrefix = "Logs_20140328"

const contentType = "application/x-amz-json-1.1"

// Handler serves CloudWatch Logs. It is safe for concurrent use.
type Handler struct {
	svc *logs.Service
	log *slog.Logger
}

// New returns the adapter over svc.
func New(svc *logs.Service, log *slog.Logger) *Handler { return &Handler{svc: svc, log: log} }

// WriteError writes e in the Logs JSON error shape.
func WriteError(w http.ResponseWriter, requestID string, e *awserr.Error) {
	awsjson.WriteError(w, contentType, requestID, "", false, e)
}

var statuses = map[string]int{"ResourceNotFoundException": 400, "ResourceAlreadyExistsException": 400, "InvalidParameterException": 400}

// Serve serves one request for action.
func (h *Handler) Serve(ctx context.Context, w http.ResponseWriter, requestID, action string, body []byte) {
	out, err := h.run(ctx, action, body)
	if err != nil {
		var ae *awserr.Error
		var le *logs.Error
		switch {
		case errors.As(err, &ae):
		case errors.As(err, &le):
			ae = &awserr.Error{Entry: awserr.Entry{Code: le.Kind.Error(), Status: statuses[le.Kind.Error()], Sender: true}, Message: le.Message}
		default:
			h.log.Error("internal error", "requestId", requestID, "err", err)
			ae = &awserr.Error{Entry: awserr.Entry{Code: "ServiceUnavailableException", Status: 500}, Message: "An internal error occurred."}
		}
		WriteError(w, requestID, ae)
		return
	}
	awsjson.Write(w, contentType, requestID, out)
}

type groupJSON struct {
	LogGroupName      string `json:"logGroupName"`
	CreationTime      int64  `json:"creationTime"`
	MetricFilterCount int    `json:"metricFilterCount"`
	Arn               string `json:"arn"`
	LogGroupArn       string `json:"logGroupArn"`
	StoredBytes       int64  `json:"storedBytes"`
}

type streamJSON struct {
	LogStreamName       string `json:"logStreamName"`
	CreationTime        int64  `json:"creationTime"`
	FirstEventTimestamp int64  `json:"firstEventTimestamp,omitempty"`
	LastEventTimestamp  int64  `json:"lastEventTimestamp,omitempty"`
	LastIngestionTime   int64  `json:"lastIngestionTime,omitempty"`
	Arn                 string `json:"arn"`
	StoredBytes         int64  `json:"storedBytes"`
}

// page cuts items by an offset token.
func page[T any](items []T, token string, limit int) ([]T, string, error) {
	start := 0
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		n, err2 := strconv.Atoi(string(raw))
		if err != nil || err2 != nil || n < 0 || n > len(items) {
			return nil, "", &logs.Error{Kind: logs.ErrInvalidParameter, Message: "The specified nextToken is invalid."}
		}
		start = n
	}
	if limit <= 0 {
		limit = 50
	}
	end := start + limit
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	} else {
		end = len(items)
	}
	return items[start:end], next, nil
}

func (h *Handler) run(ctx context.Context, action string, body []byte) (any, error) {
	switch action {
	case "CreateLogGroup":
		var in struct{ LogGroupName string }
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		return struct{}{}, h.svc.CreateGroup(ctx, in.LogGroupName)
	case "CreateLogStream":
		var in struct{ LogGroupName, LogStreamName string }
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		return struct{}{}, h.svc.CreateStream(ctx, in.LogGroupName, in.LogStreamName)
	case "DeleteLogGroup":
		var in struct{ LogGroupName string }
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		return struct{}{}, h.svc.DeleteGroup(ctx, in.LogGroupName)
	case "PutLogEvents":
		var in struct {
			LogGroupName, LogStreamName string
			LogEvents                   []struct {
				Timestamp int64
				Message   string
			}
		}
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		evs := make([]logs.Event, len(in.LogEvents))
		for i, e := range in.LogEvents {
			evs[i] = logs.Event{Timestamp: e.Timestamp, Message: e.Message}
		}
		if err := h.svc.Put(ctx, in.LogGroupName, in.LogStreamName, evs); err != nil {
			return nil, err
		}
		return map[string]string{"nextSequenceToken": "0"}, nil
	case "DescribeLogGroups":
		var in struct {
			LogGroupNamePrefix string
			Limit              int
			NextToken          string
		}
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		var out []groupJSON
		for _, g := range h.svc.Groups(in.LogGroupNamePrefix) {
			arn := h.svc.Arn(g.Name)
			out = append(out, groupJSON{LogGroupName: g.Name, CreationTime: g.CreationTime, Arn: arn, LogGroupArn: arn[:len(arn)-2]})
		}
		pg, next, err := page(out, in.NextToken, in.Limit)
		if err != nil {
			return nil, err
		}
		res := map[string]any{"logGroups": nonNil(pg)}
		if next != "" {
			res["nextToken"] = next
		}
		return res, nil
	case "DescribeLogStreams":
		var in struct {
			LogGroupName, LogStreamNamePrefix, OrderBy, NextToken string
			Descending                                            bool
			Limit                                                 int
		}
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		ss, err := h.svc.Streams(in.LogGroupName, in.LogStreamNamePrefix, in.OrderBy == "LastEventTime", in.Descending)
		if err != nil {
			return nil, err
		}
		var out []streamJSON
		for _, x := range ss {
			out = append(out, streamJSON{LogStreamName: x.Name, CreationTime: x.CreationTime, FirstEventTimestamp: x.FirstEvent,
				LastEventTimestamp: x.LastEvent, LastIngestionTime: x.LastIngestion, StoredBytes: x.StoredBytes,
				Arn: h.svc.Arn(x.Group)[:len(h.svc.Arn(x.Group))-1] + "log-stream:" + x.Name})
		}
		pg, next, err := page(out, in.NextToken, in.Limit)
		if err != nil {
			return nil, err
		}
		res := map[string]any{"logStreams": nonNil(pg)}
		if next != "" {
			res["nextToken"] = next
		}
		return res, nil
	case "GetLogEvents":
		var in struct {
			LogGroupName, LogStreamName, NextToken string
			StartTime, EndTime                     int64
			StartFromHead                          bool
			Limit                                  int
		}
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		evs, err := h.svc.Events(ctx, in.LogGroupName, []string{in.LogStreamName}, in.StartTime, in.EndTime, "")
		if err != nil {
			return nil, err
		}
		type ev struct {
			Timestamp     int64  `json:"timestamp"`
			Message       string `json:"message"`
			IngestionTime int64  `json:"ingestionTime"`
		}
		limit := in.Limit
		if limit <= 0 || limit > 10000 {
			limit = 10000
		}
		if !in.StartFromHead && len(evs) > limit {
			evs = evs[len(evs)-limit:]
		} else if len(evs) > limit {
			evs = evs[:limit]
		}
		out := []ev{}
		for _, e := range evs {
			out = append(out, ev{e.Timestamp, e.Message, e.IngestionTime})
		}
		return map[string]any{"events": out, "nextForwardToken": "f/0", "nextBackwardToken": "b/0"}, nil
	case "FilterLogEvents":
		var in struct {
			LogGroupName, FilterPattern, NextToken string
			LogStreamNames                         []string
			StartTime, EndTime                     int64
			Limit                                  int
		}
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		evs, err := h.svc.Events(ctx, in.LogGroupName, in.LogStreamNames, in.StartTime, in.EndTime, in.FilterPattern)
		if err != nil {
			return nil, err
		}
		type ev struct {
			LogStreamName string `json:"logStreamName"`
			Timestamp     int64  `json:"timestamp"`
			Message       string `json:"message"`
			IngestionTime int64  `json:"ingestionTime"`
			EventID       string `json:"eventId"`
		}
		out := []ev{}
		for _, e := range evs {
			out = append(out, ev{e.Stream, e.Timestamp, e.Message, e.IngestionTime, e.ID})
		}
		limit := in.Limit
		if limit <= 0 || limit > 10000 {
			limit = 10000
		}
		pg, next, err := page(out, in.NextToken, limit)
		if err != nil {
			return nil, err
		}
		res := map[string]any{"events": pg, "searchedLogStreams": []any{}}
		if next != "" {
			res["nextToken"] = next
		}
		return res, nil
	}
	return nil, awserr.New(awserr.UnknownOperation, "Unknown operation "+action+".")
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
