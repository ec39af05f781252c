// Package sfnapi is the Step Functions wire adapter: AWS JSON 1.0 with
// X-Amz-Target "AWSStepFunctions.Operation".
package sfnapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/forkline/forkline/internal/wire/awserr"
	"github.com/forkline/forkline/internal/wire/awsjson"
	"github.com/forkline/forkline/internal/workflow"
)

// TargetPrefix is the X-Amz-Target prefix of Step Functions requests.
const TargetPrefix = "AWSStepFunctions"

// Handler serves Step Functions. It is safe for concurrent use.
type Handler struct {
	svc *workflow.Service
	log *slog.Logger
}

// New returns the adapter over svc.
func New(svc *workflow.Service, log *slog.Logger) *Handler { return &Handler{svc: svc, log: log} }

// WriteError writes e in the Step Functions JSON error shape.
func WriteError(w http.ResponseWriter, requestID string, e *awserr.Error) {
	awsjson.WriteError(w, awsjson.ContentType10, requestID, "", false, e)
}

// Serve serves one request for action.
func (h *Handler) Serve(ctx context.Context, w http.ResponseWriter, requestID, action string, body []byte) {
	out, err := h.run(ctx, action, body)
	if err != nil {
		var ae *awserr.Error
		var we *workflow.Error
		switch {
		case errors.As(err, &ae):
		case errors.As(err, &we):
			ae = &awserr.Error{Entry: awserr.Entry{Code: we.Kind.Error(), Status: 400, Sender: true}, Message: we.Message}
		default:
			h.log.Error("internal error", "requestId", requestID, "err", err)
			ae = &awserr.Error{Entry: awserr.Entry{Code: "InternalFailure", Status: 500}, Message: "An internal error occurred."}
		}
		WriteError(w, requestID, ae)
		return
	}
	awsjson.Write(w, awsjson.ContentType10, requestID, out)
}

func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func execJSON(e workflow.ExecutionInfo, withData bool) map[string]any {
	m := map[string]any{"executionArn": e.Arn, "stateMachineArn": e.StateMachineArn, "name": e.Name, "status": e.Status,
		"startDate": epoch(e.StartDate)}
	if !e.StopDate.IsZero() {
		m["stopDate"] = epoch(e.StopDate)
	}
	if e.VersionArn != "" {
		m["stateMachineVersionArn"] = e.VersionArn
	}
	if e.AliasArn != "" {
		m["stateMachineAliasArn"] = e.AliasArn
	}
	if e.RedriveCount > 0 || withData {
		m["redriveCount"] = e.RedriveCount
	}
	if !e.RedriveDate.IsZero() {
		m["redriveDate"] = epoch(e.RedriveDate)
	}
	if withData {
		m["redriveStatus"] = e.RedriveStatus
		if e.RedriveStatusReason != "" {
			m["redriveStatusReason"] = e.RedriveStatusReason
		}
		m["input"] = e.Input
		m["inputDetails"] = map[string]bool{"included": true}
		if e.HasOutput {
			m["output"] = e.Output
			m["outputDetails"] = map[string]bool{"included": true}
		}
		if e.Error != "" {
			m["error"] = e.Error
		}
		if e.Cause != "" {
			m["cause"] = e.Cause
		}
	}
	return m
}

func (h *Handler) run(ctx context.Context, action string, body []byte) (any, error) {
	switch action {
	case "CreateStateMachine":
		var in struct {
			Name, Definition, RoleArn, Type string
			Tags                            []struct{ Key, Value string }
			Publish                         bool
			VersionDescription              string
		}
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		m, err := h.svc.CreateStateMachineWith(ctx, workflow.CreateInput{Name: in.Name, Definition: in.Definition, RoleArn: in.RoleArn, Type: in.Type,
			Publish: in.Publish, VersionDescription: in.VersionDescription})
		if err != nil {
			return nil, err
		}
		if len(in.Tags) > 0 {
			tags := map[string]string{}
			for _, t := range in.Tags {
				tags[t.Key] = t.Value
			}
			if err := h.svc.Tag(ctx, m.Arn, tags, nil); err != nil {
				return nil, err
			}
		}
		out := map[string]any{"stateMachineArn": m.Arn, "creationDate": epoch(m.CreationDate)}
		if m.VersionArn != "" {
			out["stateMachineVersionArn"] = m.VersionArn
		}
		return out, nil
	case "DescribeStateMachine":
		var in struct{ StateMachineArn string }
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		m, err := h.svc.DescribeStateMachine(ctx, in.StateMachineArn)
		if err != nil {
			return nil, err
		}
		out := map[string]any{"stateMachineArn": m.Arn, "name": m.Name, "status": "ACTIVE", "definition": m.Definition,
			"roleArn": m.RoleArn, "type": m.Type, "creationDate": epoch(m.CreationDate), "revisionId": m.RevisionID,
			"loggingConfiguration": map[string]any{"level": "OFF", "includeExecutionData": false},
			"tracingConfiguration": map[string]any{"enabled": false}}
		if m.Description != "" {
			out["description"] = m.Description
		}
		return out, nil
	case "UpdateStateMachine":
		var in struct {
			StateMachineArn     string
			Definition, RoleArn *string
			Publish             bool
			VersionDescription  string
		}
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		r, err := h.svc.UpdateStateMachineWith(ctx, workflow.UpdateInput{Arn: in.StateMachineArn, Definition: in.Definition, RoleArn: in.RoleArn,
			Publish: in.Publish, VersionDescription: in.VersionDescription})
		if err != nil {
			return nil, err
		}
		out := map[string]any{"updateDate": epoch(r.UpdateDate), "revisionId": r.RevisionID}
		if r.VersionArn != "" {
			out["stateMachineVersionArn"] = r.VersionArn
		}
		return out, nil
	case "PublishStateMachineVersion":
		var in struct{ StateMachineArn, RevisionId, Description string }
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		v, err := h.svc.PublishVersion(ctx, in.StateMachineArn, in.RevisionId, in.Description)
		if err != nil {
			return nil, err
		}
		return map[string]any{"stateMachineVersionArn": v.Arn, "creationDate": epoch(v.CreationDate)}, nil
	case "ListStateMachineVersions":
		var in struct {
			StateMachineArn, NextToken string
			MaxResults                 int
		}
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		vs, err := h.svc.ListVersions(ctx, in.StateMachineArn)
		if err != nil {
			return nil, err
		}
		page, next := paginate(len(vs), in.NextToken, in.MaxResults)
		out := []map[string]any{}
		for _, v := range vs[page[0]:page[1]] {
			out = append(out, map[string]any{"stateMachineVersionArn": v.Arn, "creationDate": epoch(v.CreationDate)})
		}
		res := map[string]any{"stateMachineVersions": out}
		if next != "" {
			res["nextToken"] = next
		}
		return res, nil
	case "DeleteStateMachineVersion":
		var in struct{ StateMachineVersionArn string }
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		return map[string]any{}, h.svc.DeleteVersion(ctx, in.StateMachineVersionArn)
	case "CreateStateMachineAlias":
		var in struct {
			Name, Description    string
			RoutingConfiguration []workflow.Route
		}
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		a, err := h.svc.CreateAlias(ctx, in.Name, in.Description, in.RoutingConfiguration)
		if err != nil {
			return nil, err
		}
		return map[string]any{"stateMachineAliasArn": a.Arn, "creationDate": epoch(a.CreationDate)}, nil
	case "DescribeStateMachineAlias":
		var in struct{ StateMachineAliasArn string }
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		a, err := h.svc.DescribeAlias(ctx, in.StateMachineAliasArn)
		if err != nil {
			return nil, err
		}
		out := map[string]any{"stateMachineAliasArn": a.Arn, "name": a.Name, "routingConfiguration": a.Routes,
			"creationDate": epoch(a.CreationDate), "updateDate": epoch(a.UpdateDate)}
		if a.Description != "" {
			out["description"] = a.Description
		}
		return out, nil
	case "UpdateStateMachineAlias":
		var in struct {
			StateMachineAliasArn string
			Description          *string
			RoutingConfiguration []workflow.Route
		}
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		t, err := h.svc.UpdateAlias(ctx, in.StateMachineAliasArn, in.Description, in.RoutingConfiguration)
		if err != nil {
			return nil, err
		}
		return map[string]any{"updateDate": epoch(t)}, nil
	case "DeleteStateMachineAlias":
		var in struct{ StateMachineAliasArn string }
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		return map[string]any{}, h.svc.DeleteAlias(ctx, in.StateMachineAliasArn)
	case "ListStateMachineAliases":
		var in struct {
			StateMachineArn, NextToken string
			MaxResults                 int
		}
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		as, err := h.svc.ListAliases(ctx, in.StateMachineArn)
		if err != nil {
			return nil, err
		}
		page, next := paginate(len(as), in.NextToken, in.MaxResults)
		out := []map[string]any{}
		for _, a := range as[page[0]:page[1]] {
			out = append(out, map[string]any{"stateMachineAliasArn": a.Arn, "creationDate": epoch(a.CreationDate)})
		}
		res := map[string]any{"stateMachineAliases": out}
		if next != "" {
			res["nextToken"] = next
		}
		return res, nil
	case "ListStateMachines":
		var out []map[string]any
		for _, m := range h.svc.ListStateMachines(ctx) {
			out = append(out, map[string]any{"stateMachineArn": m.Arn, "name": m.Name, "type": m.Type, "creationDate": epoch(m.CreationDate)})
		}
		if out == nil {
			out = []map[string]any{}
		}
		return map[string]any{"stateMachines": out}, nil
	case "DeleteStateMachine":
		var in struct{ StateMachineArn string }
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		return map[string]any{}, h.svc.DeleteStateMachine(ctx, in.StateMachineArn)
	case "StartExecution":
		var in struct{ StateMachineArn, Name, Input string }
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		e, err := h.svc.StartExecution(ctx, in.StateMachineArn, in.Name, in.Input)
		if err != nil {
			return nil, err
		}
		return map[string]any{"executionArn": e.Arn, "startDate": epoch(e.StartDate)}, nil
	case "DescribeExecution":
		var in struct{ ExecutionArn string }
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		e, err := h.svc.DescribeExecution(ctx, in.ExecutionArn)
		if err != nil {
			return nil, err
		}
		return execJSON(e, true), nil
	case "ListExecutions":
		var in struct {
			StateMachineArn, StatusFilter, NextToken string
			MaxResults                               int
		}
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		es, err := h.svc.ListExecutions(ctx, in.StateMachineArn, in.StatusFilter)
		if err != nil {
			return nil, err
		}
		page, next := paginate(len(es), in.NextToken, in.MaxResults)
		out := []map[string]any{}
		for _, e := range es[page[0]:page[1]] {
			out = append(out, execJSON(e, false))
		}
		res := map[string]any{"executions": out}
		if next != "" {
			res["nextToken"] = next
		}
		return res, nil
	case "GetExecutionHistory":
		var in struct {
			ExecutionArn, NextToken string
			ReverseOrder            bool
			MaxResults              int
			IncludeExecutionData    *bool
		}
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		evs, err := h.svc.History(ctx, in.ExecutionArn, in.ReverseOrder)
		if err != nil {
			return nil, err
		}
		page, next := paginate(len(evs), in.NextToken, in.MaxResults)
		out := []map[string]any{}
		for _, ev := range evs[page[0]:page[1]] {
			m := map[string]any{"id": ev.ID, "previousEventId": ev.PreviousEventID, "timestamp": float64(ev.Timestamp) / 1000, "type": ev.Type}
			for k, v := range ev.Details {
				if in.IncludeExecutionData != nil && !*in.IncludeExecutionData {
					v = stripData(v)
				}
				m[k] = v
			}
			out = append(out, m)
		}
		res := map[string]any{"events": out}
		if next != "" {
			res["nextToken"] = next
		}
		return res, nil
	case "TestState":
		var in struct {
			Definition, RoleArn, Input, InspectionLevel string
			RevealSecrets                               bool
		}
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		switch in.InspectionLevel {
		case "", "INFO", "DEBUG", "TRACE":
		default:
			return nil, &workflow.Error{Kind: workflow.ErrValidation, Message: fmt.Sprintf("1 validation error detected: Value '%s' at 'inspectionLevel' failed to satisfy constraint: Member must satisfy enum value set: [INFO, DEBUG, TRACE]", in.InspectionLevel)}
		}
		r, err := h.svc.TestState(ctx, in.Definition, in.Input)
		if err != nil {
			return nil, err
		}
		out := map[string]any{"status": r.Status}
		if r.HasOutput {
			out["output"] = r.Output
		}
		if r.NextState != "" {
			out["nextState"] = r.NextState
		}
		if r.Error != "" {
			out["error"] = r.Error
			out["cause"] = r.Cause
		}
		if in.InspectionLevel == "DEBUG" || in.InspectionLevel == "TRACE" {
			d := map[string]any{}
			for k, v := range map[string]string{"input": r.Inspection.Input, "afterInputPath": r.Inspection.AfterInputPath,
				"afterParameters": r.Inspection.AfterParameters, "result": r.Inspection.Result,
				"afterResultSelector": r.Inspection.AfterResultSelector, "afterResultPath": r.Inspection.AfterResultPath} {
				if v != "" {
					d[k] = v
				}
			}
			out["inspectionData"] = d
		}
		return out, nil
	case "RedriveExecution":
		var in struct{ ExecutionArn, ClientToken string }
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		t, err := h.svc.RedriveExecution(ctx, in.ExecutionArn)
		if err != nil {
			return nil, err
		}
		return map[string]any{"redriveDate": epoch(t)}, nil
	case "StopExecution":
		var in struct{ ExecutionArn, Error, Cause string }
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		t, err := h.svc.StopExecution(ctx, in.ExecutionArn, in.Error, in.Cause)
		if err != nil {
			return nil, err
		}
		return map[string]any{"stopDate": epoch(t)}, nil
	case "DescribeStateMachineForExecution":
		var in struct{ ExecutionArn string }
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		e, err := h.svc.DescribeExecution(ctx, in.ExecutionArn)
		if err != nil {
			return nil, err
		}
		def, err := h.svc.ExecutionDefinition(ctx, in.ExecutionArn)
		if err != nil {
			return nil, err
		}
		m, _ := h.svc.DescribeStateMachine(ctx, e.StateMachineArn)
		return map[string]any{"stateMachineArn": e.StateMachineArn, "name": m.Name, "definition": def, "roleArn": m.RoleArn,
			"updateDate": epoch(e.StartDate)}, nil
	case "StartSyncExecution":
		var in struct{ StateMachineArn, Name, Input string }
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		m, err := h.svc.DescribeStateMachine(ctx, in.StateMachineArn)
		if err != nil {
			return nil, err
		}
		if m.Type != "EXPRESS" {
			return nil, &workflow.Error{Kind: workflow.ErrStateMachineTypeNotSupported, Message: "This operation is not supported by this type of state machine"}
		}
		e, err := h.svc.StartSyncExecution(ctx, in.StateMachineArn, in.Name, in.Input)
		if err != nil {
			return nil, err
		}
		out := execJSON(e, true)
		for _, k := range []string{"inputDetails", "outputDetails", "redriveCount", "redriveStatus", "redriveStatusReason"} {
			delete(out, k)
		}
		out["billingDetails"] = map[string]any{"billedDurationInMilliseconds": e.StopDate.Sub(e.StartDate).Milliseconds(), "billedMemoryUsedInMB": 64}
		return out, nil
	case "TagResource":
		var in struct {
			ResourceArn string
			Tags        []struct{ Key, Value string }
		}
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		tags := map[string]string{}
		for _, t := range in.Tags {
			tags[t.Key] = t.Value
		}
		return map[string]any{}, h.svc.Tag(ctx, in.ResourceArn, tags, nil)
	case "UntagResource":
		var in struct {
			ResourceArn string
			TagKeys     []string
		}
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		return map[string]any{}, h.svc.Tag(ctx, in.ResourceArn, nil, in.TagKeys)
	case "ListTagsForResource":
		var in struct{ ResourceArn string }
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		tags, err := h.svc.Tags(ctx, in.ResourceArn)
		if err != nil {
			return nil, err
		}
		list := []map[string]string{}
		for k, v := range tags {
			list = append(list, map[string]string{"key": k, "value": v})
		}
		return map[string]any{"tags": list}, nil
	case "SendTaskSuccess":
		var in struct{ TaskToken, Output string }
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		return map[string]any{}, h.svc.SendTaskSuccess(ctx, in.TaskToken, in.Output)
	case "SendTaskFailure":
		var in struct{ TaskToken, Error, Cause string }
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		return map[string]any{}, h.svc.SendTaskFailure(ctx, in.TaskToken, in.Error, in.Cause)
	case "SendTaskHeartbeat":
		var in struct{ TaskToken string }
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		return map[string]any{}, h.svc.SendTaskHeartbeat(ctx, in.TaskToken)
	case "ValidateStateMachineDefinition":
		var in struct{ Definition string }
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		if _, err := workflow.Parse(in.Definition); err != nil {
			return map[string]any{"result": "FAIL", "diagnostics": []map[string]any{{"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": err.Error()}}}, nil
		}
		return map[string]any{"result": "OK", "diagnostics": []any{}}, nil
	}
	return nil, awserr.New(awserr.UnknownOperation, "Unknown operation "+action+".")
}

// stripData removes the input and output strings of an event's details.
func stripData(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		// Typed details: strip their JSON form.
		b, err := json.Marshal(v)
		if err != nil || json.Unmarshal(b, &m) != nil || m == nil {
			return v
		}
	}
	out := map[string]any{}
	for k, x := range m {
		if k == "input" || k == "output" {
			continue
		}
		out[k] = x
	}
	return out
}

// paginate cuts n items by an offset token (default page 100).
func paginate(n int, token string, max int) ([2]int, string) {
	start := 0
	if raw, err := base64.RawURLEncoding.DecodeString(token); err == nil && token != "" {
		if i, err := strconv.Atoi(string(raw)); err == nil && i >= 0 && i <= n {
			start = i
		}
	}
	if max <= 0 || max > 1000 {
		max = 100
	}
	end := start + max
	if end >= n {
		return [2]int{start, n}, ""
	}
	return [2]int{start, end}, base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
}
