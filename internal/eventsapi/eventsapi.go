// Package eventsapi is the EventBridge wire adapter: AWS JSON 1.1 with
// X-Amz-Target "AWSEvents.Operation".
package eventsapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/forkline/forkline/internal/events"
	"github.com/forkline/forkline/internal/wire/awserr"
	"github.com/forkline/forkline/internal/wire/awsjson"
)

// TargetPrefix is the X-Amz-Target prefix of EventBridge requests.
const TargetPrefix = "AWSEvents"

const contentType = "application/x-amz-json-1.1"

// Handler serves EventBridge. It is safe for concurrent use.
type Handler struct {
	svc *events.Service
	log *slog.Logger
}

// New returns the adapter over svc.
func New(svc *events.Service, log *slog.Logger) *Handler { return &Handler{svc: svc, log: log} }

// WriteError writes e in the EventBridge JSON error shape.
func WriteError(w http.ResponseWriter, requestID string, e *awserr.Error) {
	awsjson.WriteError(w, contentType, requestID, "", false, e)
}

// Serve serves one request for action.
func (h *Handler) Serve(ctx context.Context, w http.ResponseWriter, requestID, action string, body []byte) {
	out, err := h.run(ctx, action, body)
	awsjson.Respond(w, contentType, requestID, out, err, "InternalException", h.log.Error)
}

func bad(msg string) error {
	return &awserr.Error{Entry: awserr.Entry{Code: "ValidationException", Status: 400, Sender: true}, Message: msg}
}

type tag struct{ Key, Value string }

type targetJSON struct {
	ID            string `json:"Id"`
	Arn           string `json:"Arn"`
	Input         string `json:"Input,omitempty"`
	InputPath     string `json:"InputPath,omitempty"`
	RoleArn       string `json:"RoleArn,omitempty"`
	SqsParameters *struct {
		MessageGroupID string `json:"MessageGroupId,omitempty"`
	} `json:"SqsParameters,omitempty"`
}

func ruleJSON(r events.Rule) map[string]any {
	m := map[string]any{"Name": r.Name, "Arn": r.Arn, "State": r.State, "EventBusName": "default"}
	for k, v := range map[string]string{"ScheduleExpression": r.ScheduleExpression, "EventPattern": r.EventPattern,
		"Description": r.Description, "RoleArn": r.RoleArn} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

func failedJSON(failed []events.FailedEntry) map[string]any {
	list := []map[string]string{}
	for _, f := range failed {
		list = append(list, map[string]string{"TargetId": f.TargetID, "ErrorCode": f.Code, "ErrorMessage": f.Message})
	}
	return map[string]any{"FailedEntryCount": len(list), "FailedEntries": list}
}

func (h *Handler) run(ctx context.Context, action string, body []byte) (any, error) {
	var in struct {
		Name, NamePrefix, Rule, EventBusName, ScheduleExpression, EventPattern, State, Description, RoleArn, NextToken string
		Event                                                                                                          string
		Force                                                                                                          bool
		Limit                                                                                                          int
		Tags                                                                                                           []tag
		Targets                                                                                                        []targetJSON
		Ids                                                                                                            []string
		Entries                                                                                                        []struct {
			Source, DetailType, Detail, EventBusName string
			Resources                                []string
			Time                                     *float64
		}
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	switch action {
	case "PutRule":
		tags := map[string]string{}
		for _, t := range in.Tags {
			tags[t.Key] = t.Value
		}
		arn, err := h.svc.PutRule(ctx, events.PutRuleInput{Name: in.Name, ScheduleExpression: in.ScheduleExpression,
			EventPattern: in.EventPattern, State: in.State, Description: in.Description, RoleArn: in.RoleArn,
			EventBusName: in.EventBusName, Tags: tags})
		if err != nil {
			return nil, err
		}
		return map[string]string{"RuleArn": arn}, nil
	case "DescribeRule":
		r, err := h.svc.DescribeRule(ctx, in.Name, in.EventBusName)
		if err != nil {
			return nil, err
		}
		return ruleJSON(r), nil
	case "ListRules":
		rules, err := h.svc.ListRules(ctx, in.NamePrefix, in.EventBusName)
		if err != nil {
			return nil, err
		}
		start := 0
		if in.NextToken != "" {
			n, err := strconv.Atoi(in.NextToken)
			if err != nil || n < 0 || n > len(rules) {
				return nil, bad("The NextToken provided is not valid.")
			}
			start = n
		}
		limit := in.Limit
		if limit <= 0 || limit > 100 {
			limit = 100
		}
		list := []map[string]any{}
		end := start + limit
		if end > len(rules) {
			end = len(rules)
		}
		for _, r := range rules[start:end] {
			list = append(list, ruleJSON(r))
		}
		out := map[string]any{"Rules": list}
		if end < len(rules) {
			out["NextToken"] = strconv.Itoa(end)
		}
		return out, nil
	case "DeleteRule":
		return map[string]any{}, h.svc.DeleteRule(ctx, in.Name, in.EventBusName, in.Force)
	case "EnableRule", "DisableRule":
		return map[string]any{}, h.svc.SetState(ctx, in.Name, in.EventBusName, action == "EnableRule")
	case "PutTargets":
		if len(in.Targets) == 0 || len(in.Targets) > 10 {
			return nil, bad("1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length between 1 and 10")
		}
		var ts []events.Target
		for _, t := range in.Targets {
			et := events.Target{ID: t.ID, Arn: t.Arn, Input: t.Input, InputPath: t.InputPath, RoleArn: t.RoleArn}
			if t.SqsParameters != nil {
				et.MessageGroupID = t.SqsParameters.MessageGroupID
			}
			ts = append(ts, et)
		}
		failed, err := h.svc.PutTargets(ctx, in.Rule, in.EventBusName, ts)
		if err != nil {
			return nil, err
		}
		return failedJSON(failed), nil
	case "RemoveTargets":
		failed, err := h.svc.RemoveTargets(ctx, in.Rule, in.EventBusName, in.Ids)
		if err != nil {
			return nil, err
		}
		return failedJSON(failed), nil
	case "ListTargetsByRule":
		r, err := h.svc.DescribeRule(ctx, in.Rule, in.EventBusName)
		if err != nil {
			return nil, err
		}
		list := []map[string]any{}
		for _, t := range r.Targets {
			m := map[string]any{"Id": t.ID, "Arn": t.Arn}
			if t.Input != "" {
				m["Input"] = t.Input
			}
			if t.InputPath != "" {
				m["InputPath"] = t.InputPath
			}
			if t.RoleArn != "" {
				m["RoleArn"] = t.RoleArn
			}
			if t.MessageGroupID != "" {
				m["SqsParameters"] = map[string]string{"MessageGroupId": t.MessageGroupID}
			}
			list = append(list, m)
		}
		return map[string]any{"Targets": list}, nil
	case "ListTagsForResource":
		var arg struct{ ResourceARN string }
		_ = json.Unmarshal(body, &arg)
		rules, err := h.svc.ListRules(ctx, "", "")
		if err != nil {
			return nil, err
		}
		for _, r := range rules {
			if r.Arn == arg.ResourceARN {
				list := []tag{}
				for k, v := range r.Tags {
					list = append(list, tag{k, v})
				}
				sort.Slice(list, func(i, j int) bool { return list[i].Key < list[j].Key })
				return map[string]any{"Tags": list}, nil
			}
		}
		return nil, &events.Error{Kind: events.ErrNotFound, Message: "Rule " + arg.ResourceARN + " does not exist."}
	case "PutEvents":
		var entries []events.Entry
		for _, e := range in.Entries {
			ee := events.Entry{Source: e.Source, DetailType: e.DetailType, Detail: e.Detail, EventBusName: e.EventBusName, Resources: e.Resources}
			if e.Time != nil {
				ee.Time = time.UnixMilli(int64(*e.Time * 1000))
			}
			entries = append(entries, ee)
		}
		res, err := h.svc.PutEvents(ctx, entries)
		if err != nil {
			return nil, err
		}
		failed := 0
		list := []map[string]string{}
		for _, r := range res {
			if r.ErrorCode != "" {
				failed++
				list = append(list, map[string]string{"ErrorCode": r.ErrorCode, "ErrorMessage": r.ErrorMessage})
			} else {
				list = append(list, map[string]string{"EventId": r.EventID})
			}
		}
		return map[string]any{"FailedEntryCount": failed, "Entries": list}, nil
	case "TestEventPattern":
		ok, err := events.TestEventPattern(in.EventPattern, in.Event)
		if err != nil {
			return nil, err
		}
		return map[string]bool{"Result": ok}, nil
	}
	return nil, &awserr.Error{Entry: awserr.Entry{Code: "UnknownOperationException", Status: 400, Sender: true}, Message: "The action " + action + " is not valid for this web service."}
}
