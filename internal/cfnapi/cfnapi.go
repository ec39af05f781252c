// Package cfnapi is the CloudFormation adapter: the query protocol with
// XML responses, as the SDKs and the AWS CLI (package, deploy and their
// waiters) use it.
package cfnapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/forkline/forkline/internal/stack"
	"github.com/forkline/forkline/internal/wire/awserr"
	"github.com/forkline/forkline/internal/wire/awsquery"
)

const xmlns = "http://cloudformation.amazonaws.com/doc/2010-05-15/"

// Handler serves CloudFormation.
type Handler struct {
	svc *stack.Service
	log *slog.Logger
	ops map[string]func(w http.ResponseWriter, r *Request, p awsquery.Params) error
}

// Request is one request.
type Request struct {
	HTTP      *http.Request
	RequestID string
}

// New returns the adapter.
func New(svc *stack.Service, log *slog.Logger) *Handler {
	h := &Handler{svc: svc, log: log}
	h.ops = map[string]func(http.ResponseWriter, *Request, awsquery.Params) error{
		"CreateStack": h.createStack, "UpdateStack": h.updateStack, "DeleteStack": h.deleteStack,
		"DescribeStacks": h.describeStacks, "DescribeStackEvents": h.describeEvents, "DescribeStackResource": h.describeResource,
		"DescribeStackResources": h.describeResources, "ListStackResources": h.listResources, "ListStacks": h.listStacks,
		"GetTemplate": h.getTemplate, "GetTemplateSummary": h.getTemplateSummary, "ValidateTemplate": h.validateTemplate,
		"CreateChangeSet": h.createChangeSet, "DescribeChangeSet": h.describeChangeSet, "ExecuteChangeSet": h.executeChangeSet,
		"DeleteChangeSet": h.deleteChangeSet, "ListChangeSets": h.listChangeSets, "ListExports": h.listExports,
	}
	return h
}

// Has reports whether the action is served.
func (h *Handler) Has(action string) bool { return h.ops[action] != nil }

// Serve handles one action.
func (h *Handler) Serve(w http.ResponseWriter, r *Request, action string, p awsquery.Params) {
	op := h.ops[action]
	if op == nil {
		h.WriteError(w, r.RequestID, awserr.New(awserr.InvalidAction, "The action "+action+" is not valid for this endpoint."))
		return
	}
	if err := op(w, r, p); err != nil {
		var se *stack.Error
		var ae *awserr.Error
		switch {
		case errors.As(err, &se):
			status := 400
			if se.Kind == stack.ErrChangeSetNF {
				status = 404
			}
			ae = &awserr.Error{Entry: awserr.Entry{Code: se.Kind.Error(), Status: status, Sender: true}, Message: se.Message}
		case errors.As(err, &ae):
		default:
			h.log.Error("internal error", "requestId", r.RequestID, "err", err)
			ae = awserr.New(awserr.InternalFailure, "The request processing has failed because of an unknown error.")
		}
		h.WriteError(w, r.RequestID, ae)
	}
}

// WriteError writes an error in CloudFormation's shape.
func (h *Handler) WriteError(w http.ResponseWriter, requestID string, e *awserr.Error) {
	awsquery.WriteError(w, xmlns, requestID, e)
}

func iso(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// parameters reads Parameters.member.N.{ParameterKey,ParameterValue,UsePreviousValue}.
func parameters(p awsquery.Params) map[string]*string {
	out := map[string]*string{}
	for _, m := range p.Members("Parameters.member") {
		k, _ := m.Get("ParameterKey")
		if use, _ := m.Get("UsePreviousValue"); use == "true" {
			out[k] = nil
			continue
		}
		v, _ := m.Get("ParameterValue")
		out[k] = &v
	}
	return out
}

func given(m map[string]*string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

func tags(p awsquery.Params) map[string]string {
	out := map[string]string{}
	for _, m := range p.Members("Tags.member") {
		k, _ := m.Get("Key")
		v, _ := m.Get("Value")
		out[k] = v
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func get(p awsquery.Params, k string) string { v, _ := p.Get(k); return v }

func (h *Handler) createStack(w http.ResponseWriter, r *Request, p awsquery.Params) error {
	id, err := h.svc.CreateStack(r.HTTP.Context(), stack.CreateInput{Name: get(p, "StackName"), TemplateBody: get(p, "TemplateBody"),
		TemplateURL: get(p, "TemplateURL"), Parameters: given(parameters(p)), Capabilities: p.List("Capabilities.member"),
		Tags: tags(p), DisableRollback: get(p, "DisableRollback") == "true" || get(p, "OnFailure") == "DO_NOTHING"})
	if err != nil {
		return err
	}
	awsquery.Write(w, "CreateStack", xmlns, r.RequestID, func(x *awsquery.XML) { x.Elem("StackId", id) })
	return nil
}

func (h *Handler) updateStack(w http.ResponseWriter, r *Request, p awsquery.Params) error {
	id, err := h.svc.UpdateStack(r.HTTP.Context(), stack.UpdateInput{Name: get(p, "StackName"), TemplateBody: get(p, "TemplateBody"),
		TemplateURL: get(p, "TemplateURL"), UsePreviousTemplate: get(p, "UsePreviousTemplate") == "true", Parameters: parameters(p),
		Capabilities: p.List("Capabilities.member"), Tags: tags(p)})
	if err != nil {
		return err
	}
	awsquery.Write(w, "UpdateStack", xmlns, r.RequestID, func(x *awsquery.XML) { x.Elem("StackId", id) })
	return nil
}

func (h *Handler) deleteStack(w http.ResponseWriter, r *Request, p awsquery.Params) error {
	if err := h.svc.DeleteStack(r.HTTP.Context(), get(p, "StackName"), p.List("RetainResources.member")); err != nil {
		return err
	}
	awsquery.Write(w, "DeleteStack", xmlns, r.RequestID, nil)
	return nil
}

func writeStack(x *awsquery.XML, s stack.Stack) {
	x.Elem("StackId", s.ID)
	x.Elem("StackName", s.Name)
	if s.Description != "" {
		x.Elem("Description", s.Description)
	}
	x.Open("Parameters")
	for _, prm := range s.Parameters {
		x.Open("member")
		x.Elem("ParameterKey", prm.Key)
		v := prm.Value
		if prm.NoEcho {
			v = "****"
		}
		x.Elem("ParameterValue", v)
		x.Close("member")
	}
	x.Close("Parameters")
	x.Elem("CreationTime", iso(s.Created))
	if !s.Updated.IsZero() {
		x.Elem("LastUpdatedTime", iso(s.Updated))
	}
	if !s.Deleted.IsZero() {
		x.Elem("DeletionTime", iso(s.Deleted))
	}
	x.Elem("StackStatus", s.Status)
	if s.Reason != "" {
		x.Elem("StackStatusReason", s.Reason)
	}
	x.Elem("DisableRollback", strconv.FormatBool(s.DisableRollback))
	if s.ParentID != "" {
		x.Elem("ParentId", s.ParentID)
		x.Elem("RootId", s.RootID)
	}
	x.Open("NotificationARNs")
	x.Close("NotificationARNs")
	x.Open("Capabilities")
	for _, c := range s.Capabilities {
		x.Elem("member", c)
	}
	x.Close("Capabilities")
	x.Open("Outputs")
	for _, o := range s.Outputs {
		x.Open("member")
		x.Elem("OutputKey", o.Key)
		x.Elem("OutputValue", o.Value)
		if o.Description != "" {
			x.Elem("Description", o.Description)
		}
		if o.ExportName != "" {
			x.Elem("ExportName", o.ExportName)
		}
		x.Close("member")
	}
	x.Close("Outputs")
	x.Open("Tags")
	keys := make([]string, 0, len(s.Tags))
	for k := range s.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		x.Open("member")
		x.Elem("Key", k)
		x.Elem("Value", s.Tags[k])
		x.Close("member")
	}
	x.Close("Tags")
	x.Elem("EnableTerminationProtection", "false")
	x.Open("DriftInformation")
	x.Elem("StackDriftStatus", "NOT_CHECKED")
	x.Close("DriftInformation")
}

func (h *Handler) describeStacks(w http.ResponseWriter, r *Request, p awsquery.Params) error {
	stacks, err := h.svc.DescribeStacks(r.HTTP.Context(), get(p, "StackName"))
	if err != nil {
		return err
	}
	awsquery.Write(w, "DescribeStacks", xmlns, r.RequestID, func(x *awsquery.XML) {
		x.Open("Stacks")
		for _, s := range stacks {
			x.Open("member")
			writeStack(x, s)
			x.Close("member")
		}
		x.Close("Stacks")
	})
	return nil
}

func (h *Handler) describeEvents(w http.ResponseWriter, r *Request, p awsquery.Params) error {
	evs, err := h.svc.Events(r.HTTP.Context(), get(p, "StackName"))
	if err != nil {
		return err
	}
	start, next := page(len(evs), get(p, "NextToken"), 100)
	awsquery.Write(w, "DescribeStackEvents", xmlns, r.RequestID, func(x *awsquery.XML) {
		x.Open("StackEvents")
		for _, e := range evs[start:next] {
			x.Open("member")
			x.Elem("StackId", e.StackID)
			x.Elem("EventId", e.ID)
			x.Elem("StackName", e.StackName)
			x.Elem("LogicalResourceId", e.LogicalID)
			if e.PhysicalID != "" {
				x.Elem("PhysicalResourceId", e.PhysicalID)
			}
			x.Elem("ResourceType", e.Type)
			x.Elem("Timestamp", iso(time.UnixMilli(e.Timestamp)))
			x.Elem("ResourceStatus", e.Status)
			if e.Reason != "" {
				x.Elem("ResourceStatusReason", e.Reason)
			}
			if e.Properties != "" {
				x.Elem("ResourceProperties", e.Properties)
			}
			x.Close("member")
		}
		x.Close("StackEvents")
		if next < len(evs) {
			x.Elem("NextToken", strconv.Itoa(next))
		}
	})
	return nil
}

// page cuts n items at an offset token.
func page(n int, token string, size int) (int, int) {
	start, _ := strconv.Atoi(token)
	if start < 0 || start > n {
		start = 0
	}
	end := start + size
	if end > n {
		end = n
	}
	return start, end
}

func writeResource(x *awsquery.XML, res stack.Resource, s stack.Stack, detail bool) {
	if !detail {
		x.Elem("StackId", s.ID)
		x.Elem("StackName", s.Name)
	}
	x.Elem("LogicalResourceId", res.LogicalID)
	if res.PhysicalID != "" {
		x.Elem("PhysicalResourceId", res.PhysicalID)
	}
	x.Elem("ResourceType", res.Type)
	name := "Timestamp"
	if detail {
		name = "LastUpdatedTimestamp"
	}
	x.Elem(name, iso(time.UnixMilli(res.Updated)))
	x.Elem("ResourceStatus", res.Status)
	if res.Reason != "" {
		x.Elem("ResourceStatusReason", res.Reason)
	}
	x.Open("DriftInformation")
	x.Elem("StackResourceDriftStatus", "NOT_CHECKED")
	x.Close("DriftInformation")
}

func (h *Handler) describeResources(w http.ResponseWriter, r *Request, p awsquery.Params) error {
	res, s, err := h.svc.Resources(r.HTTP.Context(), get(p, "StackName"))
	if err != nil {
		return err
	}
	logical := get(p, "LogicalResourceId")
	awsquery.Write(w, "DescribeStackResources", xmlns, r.RequestID, func(x *awsquery.XML) {
		x.Open("StackResources")
		for _, rr := range res {
			if logical != "" && rr.LogicalID != logical {
				continue
			}
			x.Open("member")
			writeResource(x, rr, s, false)
			x.Close("member")
		}
		x.Close("StackResources")
	})
	return nil
}

func (h *Handler) describeResource(w http.ResponseWriter, r *Request, p awsquery.Params) error {
	res, s, err := h.svc.Resources(r.HTTP.Context(), get(p, "StackName"))
	if err != nil {
		return err
	}
	logical := get(p, "LogicalResourceId")
	for _, rr := range res {
		if rr.LogicalID == logical {
			awsquery.Write(w, "DescribeStackResource", xmlns, r.RequestID, func(x *awsquery.XML) {
				x.Open("StackResourceDetail")
				x.Elem("StackId", s.ID)
				x.Elem("StackName", s.Name)
				writeResource(x, rr, s, true)
				x.Elem("Metadata", "{}")
				x.Close("StackResourceDetail")
			})
			return nil
		}
	}
	return &stack.Error{Kind: stack.ErrValidation, Message: fmt.Sprintf("Resource %s does not exist for stack %s", logical, get(p, "StackName"))}
}

func (h *Handler) listResources(w http.ResponseWriter, r *Request, p awsquery.Params) error {
	res, _, err := h.svc.Resources(r.HTTP.Context(), get(p, "StackName"))
	if err != nil {
		return err
	}
	awsquery.Write(w, "ListStackResources", xmlns, r.RequestID, func(x *awsquery.XML) {
		x.Open("StackResourceSummaries")
		for _, rr := range res {
			x.Open("member")
			x.Elem("LogicalResourceId", rr.LogicalID)
			if rr.PhysicalID != "" {
				x.Elem("PhysicalResourceId", rr.PhysicalID)
			}
			x.Elem("ResourceType", rr.Type)
			x.Elem("LastUpdatedTimestamp", iso(time.UnixMilli(rr.Updated)))
			x.Elem("ResourceStatus", rr.Status)
			if rr.Reason != "" {
				x.Elem("ResourceStatusReason", rr.Reason)
			}
			x.Open("DriftInformation")
			x.Elem("StackResourceDriftStatus", "NOT_CHECKED")
			x.Close("DriftInformation")
			x.Close("member")
		}
		x.Close("StackResourceSummaries")
	})
	return nil
}

func (h *Handler) listStacks(w http.ResponseWriter, r *Request, p awsquery.Params) error {
	stacks, err := h.svc.ListStacks(r.HTTP.Context(), p.List("StackStatusFilter.member"))
	if err != nil {
		return err
	}
	awsquery.Write(w, "ListStacks", xmlns, r.RequestID, func(x *awsquery.XML) {
		x.Open("StackSummaries")
		for _, s := range stacks {
			x.Open("member")
			x.Elem("StackId", s.ID)
			x.Elem("StackName", s.Name)
			if s.Description != "" {
				x.Elem("TemplateDescription", s.Description)
			}
			x.Elem("CreationTime", iso(s.Created))
			if !s.Updated.IsZero() {
				x.Elem("LastUpdatedTime", iso(s.Updated))
			}
			if !s.Deleted.IsZero() {
				x.Elem("DeletionTime", iso(s.Deleted))
			}
			x.Elem("StackStatus", s.Status)
			if s.Reason != "" {
				x.Elem("StackStatusReason", s.Reason)
			}
			if s.ParentID != "" {
				x.Elem("ParentId", s.ParentID)
				x.Elem("RootId", s.RootID)
			}
			x.Close("member")
		}
		x.Close("StackSummaries")
	})
	return nil
}

func (h *Handler) getTemplate(w http.ResponseWriter, r *Request, p awsquery.Params) error {
	stage := get(p, "TemplateStage")
	if stage != "" && stage != "Original" && stage != "Processed" {
		return &awserr.Error{Entry: awserr.Entry{Code: "ValidationError", Status: 400, Sender: true},
			Message: "1 validation error detected: Value '" + stage + "' at 'templateStage' failed to satisfy constraint: Member must satisfy enum value set: [Original, Processed]"}
	}
	body, err := h.svc.Template(r.HTTP.Context(), get(p, "StackName"), stage == "Processed")
	if err != nil {
		return err
	}
	awsquery.Write(w, "GetTemplate", xmlns, r.RequestID, func(x *awsquery.XML) {
		x.Elem("TemplateBody", body)
		x.Open("StagesAvailable")
		x.Elem("member", "Original")
		x.Elem("member", "Processed")
		x.Close("StagesAvailable")
	})
	return nil
}

func (h *Handler) validateTemplate(w http.ResponseWriter, r *Request, p awsquery.Params) error {
	params, desc, caps, err := h.svc.ValidateTemplate(r.HTTP.Context(), get(p, "TemplateBody"), get(p, "TemplateURL"))
	if err != nil {
		return err
	}
	awsquery.Write(w, "ValidateTemplate", xmlns, r.RequestID, func(x *awsquery.XML) {
		x.Open("Parameters")
		for _, prm := range params {
			x.Open("member")
			x.Elem("ParameterKey", prm.Name)
			if prm.Default != nil {
				x.Elem("DefaultValue", *prm.Default)
			}
			x.Elem("NoEcho", strconv.FormatBool(prm.NoEcho))
			if prm.Description != "" {
				x.Elem("Description", prm.Description)
			}
			x.Close("member")
		}
		x.Close("Parameters")
		if desc != "" {
			x.Elem("Description", desc)
		}
		x.Open("Capabilities")
		for _, c := range caps {
			x.Elem("member", c)
		}
		x.Close("Capabilities")
		if len(caps) > 0 {
			x.Elem("CapabilitiesReason", "The following resource(s) require capabilities: "+strings.Join(caps, ", "))
		}
	})
	return nil
}

func (h *Handler) getTemplateSummary(w http.ResponseWriter, r *Request, p awsquery.Params) error {
	body := get(p, "TemplateBody")
	url := get(p, "TemplateURL")
	if name := get(p, "StackName"); name != "" {
		b, err := h.svc.Template(r.HTTP.Context(), name, false)
		if err != nil {
			return err
		}
		body, url = b, ""
	}
	params, desc, caps, err := h.svc.ValidateTemplate(r.HTTP.Context(), body, url)
	if err != nil {
		return err
	}
	types, version, err := h.svc.TemplateSummary(r.HTTP.Context(), body, url)
	if err != nil {
		return err
	}
	awsquery.Write(w, "GetTemplateSummary", xmlns, r.RequestID, func(x *awsquery.XML) {
		x.Open("Parameters")
		for _, prm := range params {
			x.Open("member")
			x.Elem("ParameterKey", prm.Name)
			if prm.Default != nil {
				x.Elem("DefaultValue", *prm.Default)
			}
			x.Elem("ParameterType", prm.Type)
			x.Elem("NoEcho", strconv.FormatBool(prm.NoEcho))
			if prm.Description != "" {
				x.Elem("Description", prm.Description)
			}
			x.Open("ParameterConstraints")
			x.Open("AllowedValues")
			for _, v := range prm.AllowedValues {
				x.Elem("member", v)
			}
			x.Close("AllowedValues")
			x.Close("ParameterConstraints")
			x.Close("member")
		}
		x.Close("Parameters")
		if desc != "" {
			x.Elem("Description", desc)
		}
		x.Open("Capabilities")
		for _, c := range caps {
			x.Elem("member", c)
		}
		x.Close("Capabilities")
		x.Open("ResourceTypes")
		for _, t := range types {
			x.Elem("member", t)
		}
		x.Close("ResourceTypes")
		if version != "" {
			x.Elem("Version", version)
		}
	})
	return nil
}

func (h *Handler) createChangeSet(w http.ResponseWriter, r *Request, p awsquery.Params) error {
	id, stackID, err := h.svc.CreateChangeSet(r.HTTP.Context(), stack.ChangeSetInput{StackName: get(p, "StackName"), Name: get(p, "ChangeSetName"),
		Type: get(p, "ChangeSetType"), Description: get(p, "Description"), TemplateBody: get(p, "TemplateBody"), TemplateURL: get(p, "TemplateURL"),
		UsePreviousTemplate: get(p, "UsePreviousTemplate") == "true", Parameters: parameters(p), Capabilities: p.List("Capabilities.member"), Tags: tags(p)})
	if err != nil {
		return err
	}
	awsquery.Write(w, "CreateChangeSet", xmlns, r.RequestID, func(x *awsquery.XML) {
		x.Elem("Id", id)
		x.Elem("StackId", stackID)
	})
	return nil
}

func (h *Handler) describeChangeSet(w http.ResponseWriter, r *Request, p awsquery.Params) error {
	cs, err := h.svc.DescribeChangeSet(r.HTTP.Context(), get(p, "StackName"), get(p, "ChangeSetName"))
	if err != nil {
		return err
	}
	awsquery.Write(w, "DescribeChangeSet", xmlns, r.RequestID, func(x *awsquery.XML) {
		x.Elem("ChangeSetName", cs.Name)
		x.Elem("ChangeSetId", cs.ID)
		x.Elem("StackId", cs.StackID)
		x.Elem("StackName", cs.StackName)
		if cs.Description != "" {
			x.Elem("Description", cs.Description)
		}
		x.Open("Parameters")
		for _, prm := range cs.Parameters {
			x.Open("member")
			x.Elem("ParameterKey", prm.Key)
			x.Elem("ParameterValue", prm.Value)
			x.Close("member")
		}
		x.Close("Parameters")
		x.Elem("CreationTime", iso(cs.Created))
		x.Elem("ExecutionStatus", cs.ExecutionStatus)
		x.Elem("Status", cs.Status)
		if cs.Reason != "" {
			x.Elem("StatusReason", cs.Reason)
		}
		x.Open("Capabilities")
		for _, c := range cs.Capabilities {
			x.Elem("member", c)
		}
		x.Close("Capabilities")
		x.Open("Changes")
		for _, c := range cs.Changes {
			x.Open("member")
			x.Elem("Type", "Resource")
			x.Open("ResourceChange")
			x.Elem("Action", c.Action)
			x.Elem("LogicalResourceId", c.LogicalID)
			if c.PhysicalID != "" {
				x.Elem("PhysicalResourceId", c.PhysicalID)
			}
			x.Elem("ResourceType", c.Type)
			if c.Replacement != "" {
				x.Elem("Replacement", c.Replacement)
			}
			x.Open("Scope")
			if len(c.Details) > 0 {
				x.Elem("member", "Properties")
			}
			x.Close("Scope")
			x.Open("Details")
			for _, d := range c.Details {
				x.Open("member")
				x.Open("Target")
				x.Elem("Attribute", "Properties")
				x.Elem("Name", d.Name)
				x.Elem("RequiresRecreation", d.RequiresRecreation)
				x.Close("Target")
				x.Elem("Evaluation", "Static")
				x.Elem("ChangeSource", "DirectModification")
				x.Close("member")
			}
			x.Close("Details")
			x.Close("ResourceChange")
			x.Close("member")
		}
		x.Close("Changes")
		x.Elem("IncludeNestedStacks", "false")
	})
	return nil
}

func (h *Handler) executeChangeSet(w http.ResponseWriter, r *Request, p awsquery.Params) error {
	if err := h.svc.ExecuteChangeSet(r.HTTP.Context(), get(p, "StackName"), get(p, "ChangeSetName"), get(p, "DisableRollback") == "true"); err != nil {
		return err
	}
	awsquery.Write(w, "ExecuteChangeSet", xmlns, r.RequestID, func(*awsquery.XML) {})
	return nil
}

func (h *Handler) deleteChangeSet(w http.ResponseWriter, r *Request, p awsquery.Params) error {
	if err := h.svc.DeleteChangeSet(r.HTTP.Context(), get(p, "StackName"), get(p, "ChangeSetName")); err != nil {
		return err
	}
	awsquery.Write(w, "DeleteChangeSet", xmlns, r.RequestID, func(*awsquery.XML) {})
	return nil
}

func (h *Handler) listChangeSets(w http.ResponseWriter, r *Request, p awsquery.Params) error {
	list, err := h.svc.ListChangeSets(r.HTTP.Context(), get(p, "StackName"))
	if err != nil {
		return err
	}
	awsquery.Write(w, "ListChangeSets", xmlns, r.RequestID, func(x *awsquery.XML) {
		x.Open("Summaries")
		for _, cs := range list {
			x.Open("member")
			x.Elem("StackId", cs.StackID)
			x.Elem("StackName", cs.StackName)
			x.Elem("ChangeSetId", cs.ID)
			x.Elem("ChangeSetName", cs.Name)
			x.Elem("ExecutionStatus", cs.ExecutionStatus)
			x.Elem("Status", cs.Status)
			if cs.Reason != "" {
				x.Elem("StatusReason", cs.Reason)
			}
			x.Elem("CreationTime", iso(cs.Created))
			x.Close("member")
		}
		x.Close("Summaries")
	})
	return nil
}

func (h *Handler) listExports(w http.ResponseWriter, r *Request, p awsquery.Params) error {
	ex, err := h.svc.ExportList(r.HTTP.Context())
	if err != nil {
		return err
	}
	awsquery.Write(w, "ListExports", xmlns, r.RequestID, func(x *awsquery.XML) {
		x.Open("Exports")
		for _, e := range ex {
			x.Open("member")
			x.Elem("ExportingStackId", e.StackID)
			x.Elem("Name", e.Name)
			x.Elem("Value", e.Value)
			x.Close("member")
		}
		x.Close("Exports")
	})
	return nil
}
