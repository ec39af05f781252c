// Package sqsapi is the SQS wire adapter: it serves every SQS action over
// both of SQS's protocols, AWS JSON 1.0 (X-Amz-Target "AmazonSQS.Action",
// as current SDKs send) and the AWS query protocol with XML responses (as
// older SDKs and tools send), decoding each request into one shape, calling
// the queue service and encoding the result or the error in the caller's
// protocol.
package sqsapi

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/forkline/forkline/internal/queue"
	"github.com/forkline/forkline/internal/store"
	"github.com/forkline/forkline/internal/wire/awserr"
	"github.com/forkline/forkline/internal/wire/awsjson"
	"github.com/forkline/forkline/internal/wire/awsquery"
)

// XMLNS is the namespace of SQS query responses.
const XMLNS = "http://queue.amazonaws.com/doc/2012-11-05/"

// JSONNamespace prefixes __type in JSON errors.
const JSONNamespace = "com.amazonaws.sqs#"

// TargetPrefix is the X-Amz-Target prefix of SQS JSON requests.
const TargetPrefix = "AmazonSQS"

// Request is what the adapter needs to know of an HTTP request beyond its
// parameters.
type Request struct {
	Ctx       context.Context
	RequestID string
	// AccessKey is the caller's access key, reported as SenderId.
	AccessKey string
	// BaseURL is scheme://host of the request, for queue URLs.
	BaseURL string
	// Path is the request path; query clients may post to a queue URL.
	Path string
}

// Handler serves SQS. It is safe for concurrent use.
type Handler struct {
	svc     *queue.Service
	account string
	log     *slog.Logger
	ops     map[string]*operation
}

type operation struct {
	json  func(h *Handler, r *Request, body []byte) (any, error)
	query func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error)
}

// New returns the SQS adapter over svc.
func New(svc *queue.Service, account string, log *slog.Logger) *Handler {
	h := &Handler{svc: svc, account: account, log: log, ops: map[string]*operation{}}
	h.register()
	return h
}

// Has reports whether action is an SQS action.
func (h *Handler) Has(action string) bool { return h.ops[action] != nil }

// reg registers an action: decodeQuery fills In from query parameters, run
// executes it, xmlOut writes Out's query result (nil for actions without
// output).
func reg[In, Out any](h *Handler, name string,
	decodeQuery func(awsquery.Params, *In) error,
	run func(h *Handler, r *Request, in *In) (*Out, error),
	xmlOut func(x *awsquery.XML, out *Out)) {
	h.ops[name] = &operation{
		json: func(h *Handler, r *Request, body []byte) (any, error) {
			in := new(In)
			if err := awsjson.DecodeExact(body, in); err != nil {
				return nil, err
			}
			return run(h, r, in)
		},
		query: func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			in := new(In)
			if err := decodeQuery(p, in); err != nil {
				return nil, err
			}
			out, err := run(h, r, in)
			if err != nil {
				return nil, err
			}
			if xmlOut == nil {
				return nil, nil
			}
			return func(x *awsquery.XML) { xmlOut(x, out) }, nil
		},
	}
}

// ServeJSON serves a JSON-protocol request for action.
func (h *Handler) ServeJSON(w http.ResponseWriter, r *Request, action string, body []byte) {
	op := h.ops[action]
	if op == nil {
		h.WriteJSONError(w, r, awserr.New(awserr.UnknownOperation, "Unknown operation "+action+"."))
		return
	}
	out, err := op.json(h, r, body)
	if err != nil {
		h.WriteJSONError(w, r, h.toAWS(r, err))
		return
	}
	awsjson.Write(w, awsjson.ContentType10, r.RequestID, out)
}

// ServeQuery serves a query-protocol request.
func (h *Handler) ServeQuery(w http.ResponseWriter, r *Request, action string, p awsquery.Params) {
	op := h.ops[action]
	if op == nil {
		h.WriteQueryError(w, r, awserr.New(awserr.InvalidAction, "The action "+action+" is not valid for this endpoint."))
		return
	}
	result, err := op.query(h, r, p)
	if err != nil {
		h.WriteQueryError(w, r, h.toAWS(r, err))
		return
	}
	awsquery.Write(w, action, XMLNS, r.RequestID, result)
}

// WriteJSONError writes e in SQS's JSON error shape.
func (h *Handler) WriteJSONError(w http.ResponseWriter, r *Request, e *awserr.Error) {
	awsjson.WriteError(w, awsjson.ContentType10, r.RequestID, JSONNamespace, true, e)
}

// WriteQueryError writes e in SQS's query error shape.
func (h *Handler) WriteQueryError(w http.ResponseWriter, r *Request, e *awserr.Error) {
	awsquery.WriteError(w, XMLNS, r.RequestID, e)
}

// toAWS maps a Go error to its catalogue entry; anything unmapped is an
// internal failure, logged with its cause.
func (h *Handler) toAWS(r *Request, err error) *awserr.Error {
	var ae *awserr.Error
	if errors.As(err, &ae) {
		return ae
	}
	var qe *queue.Error
	if errors.As(err, &qe) {
		return &awserr.Error{Entry: awserr.Lookup(qe.Kind.Error()), Message: qe.Message}
	}
	if errors.Is(err, context.Canceled) {
		return awserr.New(awserr.ServiceUnavailable, "The request was cancelled.")
	}
	h.log.Error("internal error", "requestId", r.RequestID, "err", err)
	return awserr.New(awserr.InternalFailure, "The request processing has failed because of an unknown error, exception or failure.")
}

// ------------------------------------------------------------ queue URLs

func (h *Handler) queueURL(r *Request, name string) string {
	return r.BaseURL + "/" + h.account + "/" + name
}

// queueName extracts the queue name from a queue URL in any of the forms
// clients build: scheme://host/ACCOUNT/NAME (AWS's and forkline's),
// scheme://host/queue/NAME, or a path from the root. A query request may
// instead address the queue in its path. A queue name where the URL
// belongs is refused as SQS refuses it (InvalidAddress, "The address q is
// not valid for this endpoint.", as boto3 users have recorded it), so
// that the mistake shows here and not first on AWS.
func (h *Handler) queueName(r *Request, queueURL string) (string, error) {
	path := queueURL
	if queueURL == "" {
		if r.Path == "" || r.Path == "/" {
			return "", awserr.New(awserr.MissingParameter, "The request must contain the parameter QueueUrl.")
		}
		path = r.Path
	} else if u, err := url.Parse(queueURL); err == nil && u.Host != "" {
		path = u.Path
	} else if !strings.HasPrefix(queueURL, "/") {
		return "", awserr.New("InvalidAddress", "The address "+queueURL+" is not valid for this endpoint.")
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) == 0 || parts[len(parts)-1] == "" {
		return "", &queue.Error{Kind: queue.ErrQueueDoesNotExist, Message: "The specified queue does not exist."}
	}
	if len(parts) >= 2 {
		acct := parts[len(parts)-2]
		if queue.IsAccountID(acct) && acct != h.account {
			return "", &queue.Error{Kind: queue.ErrQueueDoesNotExist, Message: "The specified queue does not exist."}
		}
	}
	return parts[len(parts)-1], nil
}

// ------------------------------------------------------- conversions

func toStoreAttrs(m map[string]msgAttrValue) ([]store.MessageAttribute, error) {
	if len(m) == 0 {
		return nil, nil
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]store.MessageAttribute, 0, len(m))
	for _, n := range names {
		v := m[n]
		if len(v.StringListValues) > 0 || len(v.BinaryListValues) > 0 {
			return nil, awserr.New(awserr.InvalidParameterValue, "Message attribute list values in SendMessage operation are not supported.")
		}
		a := store.MessageAttribute{Name: n, DataType: v.DataType, BinaryValue: v.BinaryValue}
		if v.StringValue != nil {
			a.StringValue = *v.StringValue
		}
		out = append(out, a)
	}
	return out, nil
}

func fromStoreAttrs(attrs []store.MessageAttribute) map[string]msgAttrValue {
	if len(attrs) == 0 {
		return nil
	}
	out := make(map[string]msgAttrValue, len(attrs))
	for _, a := range attrs {
		v := msgAttrValue{DataType: a.DataType}
		if len(a.BinaryValue) > 0 {
			v.BinaryValue = a.BinaryValue
		} else {
			s := a.StringValue
			v.StringValue = &s
		}
		out[a.Name] = v
	}
	return out
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (h *Handler) sendInput(r *Request, id string, body *string, delay *int, attrs, sys map[string]msgAttrValue, dedup, group *string) (queue.SendInput, error) {
	ua, err := toStoreAttrs(attrs)
	if err != nil {
		return queue.SendInput{}, err
	}
	sa, err := toStoreAttrs(sys)
	if err != nil {
		return queue.SendInput{}, err
	}
	return queue.SendInput{
		ID: id, Body: str(body), DelaySeconds: delay, Attributes: ua, SystemAttributes: sa,
		GroupID: str(group), HasGroupID: group != nil, DedupID: str(dedup), HasDedupID: dedup != nil,
		SenderID: r.AccessKey,
	}, nil
}

func batchError(id string, err error, h *Handler, r *Request) batchResultError {
	e := h.toAWS(r, err)
	return batchResultError{Id: id, SenderFault: e.Sender, Code: e.Query(), Message: e.Message}
}

// ------------------------------------------------------------ query XML

func xmlAttributes(x *awsquery.XML, m map[string]string) {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		x.Open("Attribute")
		x.Elem("Name", n)
		x.Elem("Value", m[n])
		x.Close("Attribute")
	}
}

func xmlBatchErrors(x *awsquery.XML, failed []batchResultError) {
	for _, f := range failed {
		x.Open("BatchResultErrorEntry")
		x.Elem("Id", f.Id)
		x.Elem("SenderFault", strconv.FormatBool(f.SenderFault))
		x.Elem("Code", f.Code)
		x.Elem("Message", f.Message)
		x.Close("BatchResultErrorEntry")
	}
}

func xmlSendResult(x *awsquery.XML, o *sendMessageOutput) {
	x.Elem("MessageId", o.MessageId)
	x.Elem("MD5OfMessageBody", o.MD5OfMessageBody)
	if o.MD5OfMessageAttributes != "" {
		x.Elem("MD5OfMessageAttributes", o.MD5OfMessageAttributes)
	}
	if o.MD5OfMessageSystemAttributes != "" {
		x.Elem("MD5OfMessageSystemAttributes", o.MD5OfMessageSystemAttributes)
	}
	if o.SequenceNumber != "" {
		x.Elem("SequenceNumber", o.SequenceNumber)
	}
}

// queryAttrs decodes MessageAttribute.N.{Name,Value.StringValue,
// Value.BinaryValue,Value.DataType}.
func queryAttrs(p awsquery.Params, prefix string) (map[string]msgAttrValue, error) {
	ms := p.Members(prefix)
	if len(ms) == 0 {
		return nil, nil
	}
	out := make(map[string]msgAttrValue, len(ms))
	for _, m := range ms {
		v := msgAttrValue{DataType: m["Value.DataType"]}
		if s, ok := m["Value.StringValue"]; ok {
			v.StringValue = &s
		}
		if b, ok := m["Value.BinaryValue"]; ok {
			raw, err := base64.StdEncoding.DecodeString(b)
			if err != nil {
				return nil, awserr.New(awserr.InvalidParameterValue, "The message attribute '"+m["Name"]+"' has an invalid base64 BinaryValue.")
			}
			v.BinaryValue = raw
		}
		for k := range m {
			if strings.HasPrefix(k, "Value.StringListValue.") || strings.HasPrefix(k, "Value.BinaryListValue.") {
				v.StringListValues = append(v.StringListValues, m[k])
			}
		}
		if _, dup := out[m["Name"]]; dup {
			return nil, awserr.New(awserr.InvalidParameterValue, "Message (user) attribute name '"+m["Name"]+"' already exists.")
		}
		out[m["Name"]] = v
	}
	return out, nil
}

func optString(p awsquery.Params, name string) *string {
	if v, ok := p[name]; ok {
		return &v
	}
	return nil
}

// queueAddressed is an input that names its queue by URL.
type queueAddressed interface{ queueURL() string }

// onQueue adapts run to receive the queue name resolved from the input's
// QueueUrl (or, for a query request posted to a queue's URL, its path).
func onQueue[In queueAddressed, Out any](run func(h *Handler, r *Request, name string, in In) (*Out, error)) func(h *Handler, r *Request, in In) (*Out, error) {
	return func(h *Handler, r *Request, in In) (*Out, error) {
		name, err := h.queueName(r, in.queueURL())
		if err != nil {
			return nil, err
		}
		return run(h, r, name, in)
	}
}
