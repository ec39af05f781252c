package server

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/forkline/forkline/internal/lambdaapi"
	"github.com/forkline/forkline/internal/snsapi"
	"github.com/forkline/forkline/internal/sqsapi"
	"github.com/forkline/forkline/internal/wire/awsquery"
	"github.com/forkline/forkline/internal/workflow"
)

// CallAWS implements workflow.SDKCaller: a Step Functions aws-sdk task
// calls forkline's own API handlers in process, as the SDKs would over
// HTTP, already authorized as the state machine's role.
func (t tasks) CallAWS(ctx context.Context, service, action string, params any) (any, error) {
	s := t.srv
	reqID := NewRequestID()
	w := httptest.NewRecorder()
	switch service {
	case "sqs":
		if !s.sqs.Has(action) {
			return nil, unknownAction(service, action)
		}
		body, _ := json.Marshal(params)
		s.sqs.ServeJSON(w, &sqsapi.Request{Ctx: ctx, RequestID: reqID, BaseURL: s.publicURL.Load().(string), Path: "/", AccessKey: s.cfg.AccountID}, action, body)
		return jsonResult(w, false)
	case "sfn":
		body, _ := json.Marshal(workflow.RecaseKeys(params, false))
		s.sfn.Serve(ctx, w, reqID, action, body)
		return jsonResult(w, true)
	case "sns":
		if !s.sns.Has(action) {
			return nil, unknownAction(service, action)
		}
		form := awsquery.Params{"Action": action}
		camel := snsCamelWire[action]
		if camel {
			params = lowerTopKeys(params)
		}
		flattenQuery(form, "", params)
		s.sns.Serve(w, &snsapi.Request{Ctx: ctx, RequestID: reqID, Authenticated: true}, action, form)
		out, err := xmlResult(w, action)
		if camel && err == nil {
			out = workflow.RecaseKeys(out, true)
		}
		return out, err
	case "lambda":
		return t.lambdaCall(ctx, w, reqID, action, params)
	}
	return nil, unknownAction(service, action)
}

// snsCamelWire holds the SNS actions whose wire names are camelCase
// (attributes, phoneNumber, nextToken; isOptedOut, phoneNumbers in the
// answer), where a task's parameters and results are PascalCase, as the
// SDKs name the members.
var snsCamelWire = map[string]bool{
	"SetSMSAttributes": true, "GetSMSAttributes": true, "CheckIfPhoneNumberIsOptedOut": true,
	"ListPhoneNumbersOptedOut": true, "OptInPhoneNumber": true,
}

// lowerTopKeys lowers the first letter of a parameter object's own keys,
// not of the maps inside it (attribute names keep their case).
func lowerTopKeys(params any) any {
	m, ok := params.(map[string]any)
	if !ok {
		return params
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		if k != "" {
			k = strings.ToLower(k[:1]) + k[1:]
		}
		out[k] = v
	}
	return out
}

func unknownAction(service, action string) error {
	return &workflow.ServiceError{Code: "UnknownOperationException", Message: fmt.Sprintf("forkline does not serve %s:%s", service, action), Status: 400}
}

// jsonResult reads a JSON protocol answer: the result (PascalCase keys
// when recase), or the error as a ServiceError.
func jsonResult(w *httptest.ResponseRecorder, recase bool) (any, error) {
	var v any
	if w.Body.Len() > 0 {
		dec := json.NewDecoder(w.Body)
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("reading the answer: %v", err)
		}
	}
	if w.Code >= 300 {
		m, _ := v.(map[string]any)
		code, _ := m["__type"].(string)
		if code == "" {
			code = w.Header().Get("X-Amzn-ErrorType") // REST-JSON services
		}
		code = code[strings.LastIndexAny(code, "#.")+1:]
		msg, _ := m["message"].(string)
		if msg == "" {
			msg, _ = m["Message"].(string)
		}
		return nil, &workflow.ServiceError{Code: code, Message: msg, Status: w.Code}
	}
	if v == nil {
		v = map[string]any{}
	}
	if recase {
		v = workflow.RecaseKeys(v, true)
	}
	return v, nil
}

// flattenQuery writes a JSON value as query-protocol parameters: lists as
// Name.member.N, the attribute maps of SNS as Name.entry.N.key/value, and
// MessageAttributes as Name.entry.N.Name/Value.
func flattenQuery(form awsquery.Params, prefix string, v any) {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			e := x[k]
			if m, ok := e.(map[string]any); ok && (k == "attributes" || k == "MessageAttributes" || strings.HasSuffix(k, "Attributes")) {
				names := make([]string, 0, len(m))
				for n := range m {
					names = append(names, n)
				}
				sort.Strings(names)
				for i, n := range names {
					entry := fmt.Sprintf("%s.entry.%d", join(k), i+1)
					if k == "MessageAttributes" {
						form[entry+".Name"] = n
						flattenQuery(form, entry+".Value", m[n])
					} else {
						form[entry+".key"] = n
						flattenQuery(form, entry+".value", m[n])
					}
				}
				continue
			}
			flattenQuery(form, join(k), e)
		}
	case []any:
		for i, e := range x {
			flattenQuery(form, fmt.Sprintf("%s.member.%d", prefix, i+1), e)
		}
	case string:
		form[prefix] = x
	case json.Number:
		form[prefix] = x.String()
	case bool:
		form[prefix] = strconv.FormatBool(x)
	case nil:
	default:
		b, _ := json.Marshal(x)
		form[prefix] = string(b)
	}
}

// xmlNode is an element of a query-protocol answer.
type xmlNode struct {
	XMLName  xml.Name
	Text     string    `xml:",chardata"`
	Children []xmlNode `xml:",any"`
}

// xmlResult reads a query-protocol answer: ActionResult as a JSON value,
// or the error as a ServiceError.
func xmlResult(w *httptest.ResponseRecorder, action string) (any, error) {
	var root xmlNode
	if err := xml.NewDecoder(bytes.NewReader(w.Body.Bytes())).Decode(&root); err != nil && err != io.EOF {
		return nil, fmt.Errorf("reading the answer: %v", err)
	}
	if w.Code >= 300 {
		var code, msg string
		var walk func(n xmlNode)
		walk = func(n xmlNode) {
			switch n.XMLName.Local {
			case "Code":
				code = strings.TrimSpace(n.Text)
			case "Message":
				msg = strings.TrimSpace(n.Text)
			}
			for _, c := range n.Children {
				walk(c)
			}
		}
		walk(root)
		return nil, &workflow.ServiceError{Code: code, Message: msg, Status: w.Code}
	}
	for _, c := range root.Children {
		if c.XMLName.Local == action+"Result" {
			if len(c.Children) == 0 {
				return map[string]any{}, nil
			}
			return xmlValue(c), nil
		}
	}
	return map[string]any{}, nil
}

// xmlBools are the boolean members of SNS's answers, which an SDK (and
// so a task's result) gives as JSON booleans.
var xmlBools = map[string]bool{"isOptedOut": true, "IsInSandbox": true, "SenderFault": true}

// xmlLists are the list members of SNS's answers.
var xmlLists = map[string]bool{
	"Topics": true, "Subscriptions": true, "Endpoints": true, "PlatformApplications": true,
	"phoneNumbers": true, "PhoneNumbers": true, "NumberCapabilities": true, "Tags": true, "Successful": true, "Failed": true,
}

// xmlValue turns an element into a JSON value: text, a list (member
// children), a map (entry children with key and value), or an object.
func xmlValue(n xmlNode) any {
	if len(n.Children) == 0 {
		// An empty element of a map or a list shape is an empty map or
		// list, as the SDKs read it, not an empty string.
		switch name := n.XMLName.Local; {
		case xmlBools[name]:
			return strings.TrimSpace(n.Text) == "true"
		case n.Text != "":
		case strings.HasSuffix(strings.ToLower(name), "attributes"):
			return map[string]any{}
		case xmlLists[name]:
			return []any{}
		}
		return n.Text
	}
	switch n.Children[0].XMLName.Local {
	case "member":
		list := make([]any, 0, len(n.Children))
		for _, c := range n.Children {
			list = append(list, xmlValue(c))
		}
		return list
	case "entry":
		m := map[string]any{}
		for _, c := range n.Children {
			var k string
			var v any
			for _, kv := range c.Children {
				switch kv.XMLName.Local {
				case "key", "Name":
					k = kv.Text
				case "value", "Value":
					v = xmlValue(kv)
				}
			}
			m[k] = v
		}
		return m
	}
	m := map[string]any{}
	for _, c := range n.Children {
		m[c.XMLName.Local] = xmlValue(c)
	}
	return m
}

// lambdaCall maps the Lambda actions that workflows use to the REST API.
func (t tasks) lambdaCall(ctx context.Context, w *httptest.ResponseRecorder, reqID, action string, params any) (any, error) {
	s := t.srv
	p, _ := params.(map[string]any)
	str := func(k string) string { v, _ := p[k].(string); return v }
	fn := url.PathEscape(str("FunctionName"))
	req := &lambdaapi.Request{Ctx: ctx, RequestID: reqID, Header: http.Header{}, Query: url.Values{}}
	switch action {
	case "Invoke":
		req.Method, req.Path = http.MethodPost, "/2015-03-31/functions/"+fn+"/invocations"
		switch pl := p["Payload"].(type) {
		case string:
			req.Body = []byte(pl)
		case nil:
			req.Body = []byte("{}")
		default:
			req.Body, _ = json.Marshal(pl)
		}
		if q := str("Qualifier"); q != "" {
			req.Query.Set("Qualifier", q)
		}
		if it := str("InvocationType"); it != "" {
			req.Header.Set("X-Amz-Invocation-Type", it)
		}
		s.lambda.Serve(w, req)
		if w.Code >= 300 {
			return jsonResult(w, false)
		}
		out := map[string]any{"StatusCode": json.Number(strconv.Itoa(w.Code)), "Payload": w.Body.String()}
		if v := w.Header().Get("X-Amz-Executed-Version"); v != "" {
			out["ExecutedVersion"] = v
		}
		if v := w.Header().Get("X-Amz-Function-Error"); v != "" {
			out["FunctionError"] = v
		}
		return out, nil
	case "GetFunction", "GetFunctionConfiguration":
		req.Method, req.Path = http.MethodGet, "/2015-03-31/functions/"+fn
		if action == "GetFunctionConfiguration" {
			req.Path += "/configuration"
		}
		if q := str("Qualifier"); q != "" {
			req.Query.Set("Qualifier", q)
		}
	case "ListFunctions":
		req.Method, req.Path = http.MethodGet, "/2015-03-31/functions/"
	default:
		return nil, unknownAction("lambda", action)
	}
	s.lambda.Serve(w, req)
	return jsonResult(w, false)
}
