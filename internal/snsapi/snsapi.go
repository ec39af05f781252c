// Package snsapi is the SNS wire adapter: it serves every SNS action over
// the AWS query protocol (form-encoded parameters, XML responses in the
// 2010-03-31 namespace), as the SDKs and the AWS CLI speak it, decoding
// each request, calling the topic service and encoding the result or the
// error in SNS's shapes.
package snsapi

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/forkline/forkline/internal/store"
	"github.com/forkline/forkline/internal/topic"
	"github.com/forkline/forkline/internal/wire/awserr"
	"github.com/forkline/forkline/internal/wire/awsquery"
)

// XMLNS is the namespace of SNS responses.
const XMLNS = "http://sns.amazonaws.com/doc/2010-03-31/"

// Request is what the adapter needs to know of an HTTP request beyond its
// parameters.
type Request struct {
	Ctx       context.Context
	RequestID string
	// Authenticated tells whether the request carried a signature (the
	// SubscribeURL and UnsubscribeURL links are followed unsigned).
	Authenticated bool
	// TraceHeader is the caller's X-Amzn-Trace-Id.
	TraceHeader string
}

// Handler serves SNS. It is safe for concurrent use.
type Handler struct {
	svc *topic.Service
	log *slog.Logger
	ops map[string]func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error)
}

// New returns the SNS adapter over svc.
func New(svc *topic.Service, log *slog.Logger) *Handler {
	h := &Handler{svc: svc, log: log}
	h.ops = operations()
	return h
}

// Has reports whether action is an SNS action.
func (h *Handler) Has(action string) bool { return h.ops[action] != nil }

// Serve serves one query-protocol request.
func (h *Handler) Serve(w http.ResponseWriter, r *Request, action string, p awsquery.Params) {
	op := h.ops[action]
	if op == nil {
		h.WriteError(w, r, &awserr.Error{Entry: awserr.InService("sns", "InvalidAction"), Message: "The action " + action + " is not valid for this endpoint."})
		return
	}
	result, err := op(h, r, p)
	if err != nil {
		h.WriteError(w, r, h.toAWS(r, err))
		return
	}
	awsquery.Write(w, action, XMLNS, r.RequestID, result)
}

// WriteError writes e in SNS's error shape.
func (h *Handler) WriteError(w http.ResponseWriter, r *Request, e *awserr.Error) {
	awsquery.WriteError(w, XMLNS, r.RequestID, e)
}

// ServeCertificate answers a GET of SigningCertURL; it reports false for
// any other path.
func (h *Handler) ServeCertificate(w http.ResponseWriter, path string) bool {
	if strings.TrimPrefix(path, "/") != h.svc.CertName() {
		return false
	}
	w.Header().Set("Content-Type", "application/x-x509-ca-cert")
	w.Write(h.svc.CertPEM())
	return true
}

func (h *Handler) toAWS(r *Request, err error) *awserr.Error {
	var ae *awserr.Error
	if errors.As(err, &ae) {
		return ae
	}
	var te *topic.Error
	if errors.As(err, &te) {
		return &awserr.Error{Entry: awserr.InService("sns", te.Kind.Error()), Message: te.Message, Extra: te.Extra}
	}
	if errors.Is(err, context.Canceled) {
		return &awserr.Error{Entry: awserr.Lookup(awserr.ServiceUnavailable), Message: "The request was cancelled."}
	}
	h.log.Error("internal error", "requestId", r.RequestID, "err", err)
	return &awserr.Error{Entry: awserr.InService("sns", "InternalError"), Message: "An internal error occurred."}
}

// emptyResult writes an empty <ActionResult> element.
func emptyResult(*awsquery.XML) {}

func required(p awsquery.Params, name string) (string, error) {
	v, ok := p[name]
	if !ok || v == "" {
		return "", &topic.Error{Kind: topic.ErrInvalidParameter, Message: "Invalid parameter: " + name + " Reason: no value for required parameter"}
	}
	return v, nil
}

func boolParam(p awsquery.Params, name string) bool {
	return strings.EqualFold(p[name], "true")
}

// attributes reads Attributes.entry.N.key/value.
func attributes(p awsquery.Params) map[string]string {
	m := p.Map("Attributes.entry", "key", "value")
	if m == nil {
		m = map[string]string{}
	}
	return m
}

func tags(p awsquery.Params) (map[string]string, error) {
	ms := p.Members("Tags.member")
	out := make(map[string]string, len(ms))
	for _, m := range ms {
		// A tag's Key and Value are both required (SNS API reference,
		// Tag).
		k, hasKey := m["Key"]
		v, hasValue := m["Value"]
		if !hasKey {
			return nil, &topic.Error{Kind: topic.ErrInvalidParameter, Message: "Invalid parameter: Tags.member.Key Reason: no value for required parameter"}
		}
		if !hasValue {
			return nil, &topic.Error{Kind: topic.ErrInvalidParameter, Message: "Invalid parameter: Tags.member.Value Reason: no value for required parameter"}
		}
		if _, dup := out[k]; dup {
			return nil, &topic.Error{Kind: topic.ErrInvalidParameter, Message: "Invalid parameter: Duplicated keys are not allowed."}
		}
		out[k] = v
	}
	return out, nil
}

// messageAttributes reads MessageAttributes.entry.N.Name/Value.*.
func messageAttributes(p awsquery.Params) ([]store.MessageAttribute, error) {
	ms := p.Members("MessageAttributes.entry")
	out := make([]store.MessageAttribute, 0, len(ms))
	for _, m := range ms {
		a := store.MessageAttribute{Name: m["Name"], DataType: m["Value.DataType"], StringValue: m["Value.StringValue"]}
		if b, ok := m["Value.BinaryValue"]; ok {
			raw, err := base64.StdEncoding.DecodeString(b)
			if err != nil {
				return nil, &topic.Error{Kind: topic.ErrParameterValueInvalid, Message: "The message attribute '" + a.Name + "' has an invalid binary value: it must be base64-encoded."}
			}
			a.BinaryValue = raw
		}
		out = append(out, a)
	}
	return out, nil
}

func publishInput(p awsquery.Params) (topic.PublishInput, error) {
	in := topic.PublishInput{
		ID: p["Id"], TopicArn: p["TopicArn"], TargetArn: p["TargetArn"], PhoneNumber: p["PhoneNumber"],
		Message: p["Message"], MessageStructure: p["MessageStructure"],
	}
	in.Subject, in.HasSubject = p.Get("Subject")
	in.GroupID, in.HasGroupID = p.Get("MessageGroupId")
	in.DedupID, in.HasDedupID = p.Get("MessageDeduplicationId")
	var err error
	in.Attributes, err = messageAttributes(p)
	return in, err
}

func xmlMap(x *awsquery.XML, name string, m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	x.Open(name)
	for _, k := range keys {
		x.Open("entry")
		x.Elem("key", k)
		x.Elem("value", m[k])
		x.Close("entry")
	}
	x.Close(name)
}

// xmlPushItems writes a page of platform applications or endpoints.
func xmlPushItems(x *awsquery.XML, list, arnName string, items []topic.PushItem, next string) {
	x.Open(list)
	for _, it := range items {
		x.Open("member")
		x.Elem(arnName, it.Arn)
		xmlMap(x, "Attributes", it.Attributes)
		x.Close("member")
	}
	x.Close(list)
	if next != "" {
		x.Elem("NextToken", next)
	}
}

// missingMember is the framework's answer to a required member left out.
func missingMember(name string) error {
	return &topic.Error{Kind: topic.ErrValidationError, Message: "1 validation error detected: Value null at '" + name + "' failed to satisfy constraint: Member must not be null"}
}

func xmlSubscriptions(x *awsquery.XML, subs []topic.SubscriptionInfo, next string) {
	x.Open("Subscriptions")
	for _, s := range subs {
		x.Open("member")
		x.Elem("SubscriptionArn", s.SubscriptionArn)
		x.Elem("Owner", s.Owner)
		x.Elem("Protocol", s.Protocol)
		x.Elem("Endpoint", s.Endpoint)
		x.Elem("TopicArn", s.TopicArn)
		x.Close("member")
	}
	x.Close("Subscriptions")
	if next != "" {
		x.Elem("NextToken", next)
	}
}

func operations() map[string]func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
	type op = func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error)
	return map[string]op{
		"CreateTopic": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			name, ok := p["Name"]
			if !ok {
				return nil, &topic.Error{Kind: topic.ErrInvalidParameter, Message: "Invalid parameter: Name Reason: no value for required parameter"}
			}
			tg, err := tags(p)
			if err != nil {
				return nil, err
			}
			arn, err := h.svc.CreateTopic(r.Ctx, name, attributes(p), tg, p["DataProtectionPolicy"])
			if err != nil {
				return nil, err
			}
			return func(x *awsquery.XML) { x.Elem("TopicArn", arn) }, nil
		},
		"DeleteTopic": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			arn, err := required(p, "TopicArn")
			if err != nil {
				return nil, err
			}
			return nil, h.svc.DeleteTopic(r.Ctx, arn)
		},
		"ListTopics": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			arns, next, err := h.svc.ListTopics(r.Ctx, p["NextToken"])
			if err != nil {
				return nil, err
			}
			return func(x *awsquery.XML) {
				x.Open("Topics")
				for _, a := range arns {
					x.Open("member")
					x.Elem("TopicArn", a)
					x.Close("member")
				}
				x.Close("Topics")
				if next != "" {
					x.Elem("NextToken", next)
				}
			}, nil
		},
		"GetTopicAttributes": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			arn, err := required(p, "TopicArn")
			if err != nil {
				return nil, err
			}
			attrs, err := h.svc.GetTopicAttributes(r.Ctx, arn)
			if err != nil {
				return nil, err
			}
			return func(x *awsquery.XML) { xmlMap(x, "Attributes", attrs) }, nil
		},
		"SetTopicAttributes": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			arn, err := required(p, "TopicArn")
			if err != nil {
				return nil, err
			}
			name, err := required(p, "AttributeName")
			if err != nil {
				return nil, err
			}
			return nil, h.svc.SetTopicAttributes(r.Ctx, arn, name, p["AttributeValue"])
		},
		"Subscribe": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			arn, err := required(p, "TopicArn")
			if err != nil {
				return nil, err
			}
			sub, err := h.svc.Subscribe(r.Ctx, topic.SubscribeInput{
				TopicArn: arn, Protocol: p["Protocol"], Endpoint: p["Endpoint"], Attributes: attributes(p),
				ReturnSubscriptionArn: boolParam(p, "ReturnSubscriptionArn"),
			})
			if err != nil {
				return nil, err
			}
			return func(x *awsquery.XML) { x.Elem("SubscriptionArn", sub) }, nil
		},
		"ConfirmSubscription": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			arn, err := required(p, "TopicArn")
			if err != nil {
				return nil, err
			}
			sub, err := h.svc.ConfirmSubscription(r.Ctx, arn, p["Token"], boolParam(p, "AuthenticateOnUnsubscribe"), r.Authenticated)
			if err != nil {
				return nil, err
			}
			return func(x *awsquery.XML) { x.Elem("SubscriptionArn", sub) }, nil
		},
		"Unsubscribe": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			arn, err := required(p, "SubscriptionArn")
			if err != nil {
				return nil, err
			}
			return nil, h.svc.Unsubscribe(r.Ctx, arn, r.Authenticated)
		},
		"ListSubscriptions": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			subs, next, err := h.svc.ListSubscriptions(r.Ctx, "", p["NextToken"])
			if err != nil {
				return nil, err
			}
			return func(x *awsquery.XML) { xmlSubscriptions(x, subs, next) }, nil
		},
		"ListSubscriptionsByTopic": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			arn, err := required(p, "TopicArn")
			if err != nil {
				return nil, err
			}
			subs, next, err := h.svc.ListSubscriptions(r.Ctx, arn, p["NextToken"])
			if err != nil {
				return nil, err
			}
			return func(x *awsquery.XML) { xmlSubscriptions(x, subs, next) }, nil
		},
		"GetSubscriptionAttributes": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			arn, err := required(p, "SubscriptionArn")
			if err != nil {
				return nil, err
			}
			attrs, err := h.svc.GetSubscriptionAttributes(r.Ctx, arn)
			if err != nil {
				return nil, err
			}
			return func(x *awsquery.XML) { xmlMap(x, "Attributes", attrs) }, nil
		},
		"SetSubscriptionAttributes": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			arn, err := required(p, "SubscriptionArn")
			if err != nil {
				return nil, err
			}
			name, err := required(p, "AttributeName")
			if err != nil {
				return nil, err
			}
			return nil, h.svc.SetSubscriptionAttributes(r.Ctx, arn, name, p["AttributeValue"])
		},
		"Publish": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			in, err := publishInput(p)
			if err != nil {
				return nil, err
			}
			in.TraceHeader = r.TraceHeader
			res, err := h.svc.Publish(r.Ctx, in)
			if err != nil {
				return nil, err
			}
			return func(x *awsquery.XML) {
				x.Elem("MessageId", res.MessageID)
				if res.SequenceNumber != "" {
					x.Elem("SequenceNumber", res.SequenceNumber)
				}
			}, nil
		},
		"PublishBatch": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			arn, err := required(p, "TopicArn")
			if err != nil {
				return nil, err
			}
			ms := p.Members("PublishBatchRequestEntries.member")
			ins := make([]topic.PublishInput, len(ms))
			for i, m := range ms {
				if ins[i], err = publishInput(m); err != nil {
					return nil, err
				}
				ins[i].TraceHeader = r.TraceHeader
			}
			res, err := h.svc.PublishBatch(r.Ctx, arn, ins)
			if err != nil {
				return nil, err
			}
			return func(x *awsquery.XML) {
				x.Open("Successful")
				for _, e := range res {
					if e.Err != nil {
						continue
					}
					x.Open("member")
					x.Elem("Id", e.ID)
					x.Elem("MessageId", e.MessageID)
					if e.SequenceNumber != "" {
						x.Elem("SequenceNumber", e.SequenceNumber)
					}
					x.Close("member")
				}
				x.Close("Successful")
				x.Open("Failed")
				for _, e := range res {
					if e.Err == nil {
						continue
					}
					x.Open("member")
					x.Elem("Id", e.ID)
					x.Elem("Code", e.Err.Kind.Error())
					x.Elem("Message", e.Err.Message)
					x.Elem("SenderFault", "true")
					x.Close("member")
				}
				x.Close("Failed")
			}, nil
		},
		"TagResource": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			arn, err := required(p, "ResourceArn")
			if err != nil {
				return nil, err
			}
			tg, err := tags(p)
			if err != nil {
				return nil, err
			}
			if len(tg) == 0 {
				// Tags is required (SNS API reference, TagResource).
				return nil, &topic.Error{Kind: topic.ErrInvalidParameter, Message: "Invalid parameter: Tags Reason: no value for required parameter"}
			}
			if err := h.svc.TagResource(r.Ctx, arn, tg); err != nil {
				return nil, err
			}
			return func(*awsquery.XML) {}, nil
		},
		"UntagResource": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			arn, err := required(p, "ResourceArn")
			if err != nil {
				return nil, err
			}
			if err := h.svc.UntagResource(r.Ctx, arn, p.List("TagKeys.member")); err != nil {
				return nil, err
			}
			return func(*awsquery.XML) {}, nil
		},
		"GetDataProtectionPolicy": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			arn, err := required(p, "ResourceArn")
			if err != nil {
				return nil, err
			}
			doc, err := h.svc.GetDataProtectionPolicy(r.Ctx, arn)
			if err != nil {
				return nil, err
			}
			return func(x *awsquery.XML) {
				if doc != "" {
					x.Elem("DataProtectionPolicy", doc)
				}
			}, nil
		},
		"PutDataProtectionPolicy": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			arn, err := required(p, "ResourceArn")
			if err != nil {
				return nil, err
			}
			// "" deletes the policy (SNS developer guide, "Deleting data
			// protection policies"): the parameter is required, not its
			// value.
			doc, ok := p["DataProtectionPolicy"]
			if !ok {
				return nil, &topic.Error{Kind: topic.ErrInvalidParameter, Message: "Invalid parameter: DataProtectionPolicy Reason: no value for required parameter"}
			}
			return nil, h.svc.PutDataProtectionPolicy(r.Ctx, arn, doc)
		},
		"SetSMSAttributes": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			// An empty SetSMSAttributesResult, as its output shape has
			// one (SNS API reference).
			return emptyResult, h.svc.SetSMSAttributes(r.Ctx, p.Map("attributes.entry", "key", "value"))
		},
		"GetSMSAttributes": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			attrs, err := h.svc.GetSMSAttributes(r.Ctx, p.List("attributes.member"))
			if err != nil {
				return nil, err
			}
			return func(x *awsquery.XML) { xmlMap(x, "attributes", attrs) }, nil
		},
		"CheckIfPhoneNumberIsOptedOut": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			number, err := required(p, "phoneNumber")
			if err != nil {
				return nil, err
			}
			out, err := h.svc.CheckIfPhoneNumberIsOptedOut(r.Ctx, number)
			if err != nil {
				return nil, err
			}
			return func(x *awsquery.XML) { x.Elem("isOptedOut", strconv.FormatBool(out)) }, nil
		},
		"ListPhoneNumbersOptedOut": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			// No number is ever opted out in forkline: an empty list,
			// which SNS writes as an empty element and no nextToken
			// (LocalStack's AWS-validated test_list_opted_out snapshot).
			return func(x *awsquery.XML) {
				x.Open("phoneNumbers")
				x.Close("phoneNumbers")
			}, nil
		},
		"OptInPhoneNumber": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			number, err := required(p, "phoneNumber")
			if err != nil {
				return nil, err
			}
			return emptyResult, h.svc.OptInPhoneNumber(r.Ctx, number)
		},
		"GetSMSSandboxAccountStatus": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			// forkline sends no SMS, so it keeps no sandbox of verified
			// destinations: the account is reported out of it.
			return func(x *awsquery.XML) { x.Elem("IsInSandbox", "false") }, nil
		},
		"CreateSMSSandboxPhoneNumber": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			number, ok := p["PhoneNumber"]
			if !ok {
				return nil, missingMember("phoneNumber")
			}
			return emptyResult, h.svc.CreateSMSSandboxPhoneNumber(r.Ctx, number, p["LanguageCode"])
		},
		"VerifySMSSandboxPhoneNumber": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			number, ok := p["PhoneNumber"]
			if !ok {
				return nil, missingMember("phoneNumber")
			}
			password, ok := p["OneTimePassword"]
			if !ok {
				return nil, missingMember("oneTimePassword")
			}
			return emptyResult, h.svc.VerifySMSSandboxPhoneNumber(r.Ctx, number, password)
		},
		"DeleteSMSSandboxPhoneNumber": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			number, ok := p["PhoneNumber"]
			if !ok {
				return nil, missingMember("phoneNumber")
			}
			return emptyResult, h.svc.DeleteSMSSandboxPhoneNumber(r.Ctx, number)
		},
		"ListSMSSandboxPhoneNumbers": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			numbers, next, err := h.svc.ListSMSSandboxPhoneNumbers(r.Ctx, p["NextToken"], p["MaxResults"])
			if err != nil {
				return nil, err
			}
			return func(x *awsquery.XML) {
				// PhoneNumbers is required in the result: present when empty.
				x.Open("PhoneNumbers")
				for _, n := range numbers {
					x.Open("member")
					x.Elem("PhoneNumber", n.PhoneNumber)
					x.Elem("Status", n.Status)
					x.Close("member")
				}
				x.Close("PhoneNumbers")
				if next != "" {
					x.Elem("NextToken", next)
				}
			}, nil
		},
		"ListOriginationNumbers": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			// forkline rents no origination numbers: an empty list.
			if err := h.svc.ListOriginationNumbers(r.Ctx, p["NextToken"], p["MaxResults"]); err != nil {
				return nil, err
			}
			return func(x *awsquery.XML) {
				x.Open("PhoneNumbers")
				x.Close("PhoneNumbers")
			}, nil
		},
		"CreatePlatformApplication": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			name, ok := p["Name"]
			if !ok {
				return nil, missingMember("name")
			}
			platform, ok := p["Platform"]
			if !ok {
				return nil, missingMember("platform")
			}
			arn, err := h.svc.CreatePlatformApplication(r.Ctx, name, platform, attributes(p))
			if err != nil {
				return nil, err
			}
			return func(x *awsquery.XML) { x.Elem("PlatformApplicationArn", arn) }, nil
		},
		"GetPlatformApplicationAttributes": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			arn, err := required(p, "PlatformApplicationArn")
			if err != nil {
				return nil, err
			}
			attrs, err := h.svc.GetPlatformApplicationAttributes(r.Ctx, arn)
			if err != nil {
				return nil, err
			}
			return func(x *awsquery.XML) { xmlMap(x, "Attributes", attrs) }, nil
		},
		"SetPlatformApplicationAttributes": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			arn, err := required(p, "PlatformApplicationArn")
			if err != nil {
				return nil, err
			}
			return nil, h.svc.SetPlatformApplicationAttributes(r.Ctx, arn, attributes(p))
		},
		"ListPlatformApplications": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			items, next, err := h.svc.ListPlatformApplications(r.Ctx, p["NextToken"])
			if err != nil {
				return nil, err
			}
			return func(x *awsquery.XML) { xmlPushItems(x, "PlatformApplications", "PlatformApplicationArn", items, next) }, nil
		},
		"DeletePlatformApplication": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			arn, err := required(p, "PlatformApplicationArn")
			if err != nil {
				return nil, err
			}
			return nil, h.svc.DeletePlatformApplication(r.Ctx, arn)
		},
		"CreatePlatformEndpoint": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			app, err := required(p, "PlatformApplicationArn")
			if err != nil {
				return nil, err
			}
			token, err := required(p, "Token")
			if err != nil {
				return nil, err
			}
			arn, err := h.svc.CreatePlatformEndpoint(r.Ctx, app, token, p["CustomUserData"], p.Map("Attributes.entry", "key", "value"))
			if err != nil {
				return nil, err
			}
			return func(x *awsquery.XML) { x.Elem("EndpointArn", arn) }, nil
		},
		"GetEndpointAttributes": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			arn, err := required(p, "EndpointArn")
			if err != nil {
				return nil, err
			}
			attrs, err := h.svc.GetEndpointAttributes(r.Ctx, arn)
			if err != nil {
				return nil, err
			}
			return func(x *awsquery.XML) { xmlMap(x, "Attributes", attrs) }, nil
		},
		"SetEndpointAttributes": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			arn, err := required(p, "EndpointArn")
			if err != nil {
				return nil, err
			}
			return nil, h.svc.SetEndpointAttributes(r.Ctx, arn, attributes(p))
		},
		"ListEndpointsByPlatformApplication": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			arn, err := required(p, "PlatformApplicationArn")
			if err != nil {
				return nil, err
			}
			items, next, err := h.svc.ListEndpointsByPlatformApplication(r.Ctx, arn, p["NextToken"])
			if err != nil {
				return nil, err
			}
			return func(x *awsquery.XML) { xmlPushItems(x, "Endpoints", "EndpointArn", items, next) }, nil
		},
		"DeleteEndpoint": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			arn, err := required(p, "EndpointArn")
			if err != nil {
				return nil, err
			}
			return nil, h.svc.DeleteEndpoint(r.Ctx, arn)
		},
		"ListTagsForResource": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			arn, err := required(p, "ResourceArn")
			if err != nil {
				return nil, err
			}
			tg, err := h.svc.ListTagsForResource(r.Ctx, arn)
			if err != nil {
				return nil, err
			}
			return func(x *awsquery.XML) {
				keys := make([]string, 0, len(tg))
				for k := range tg {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				x.Open("Tags")
				for _, k := range keys {
					x.Open("member")
					x.Elem("Key", k)
					x.Elem("Value", tg[k])
					x.Close("member")
				}
				x.Close("Tags")
			}, nil
		},
		"AddPermission": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			arn, err := required(p, "TopicArn")
			if err != nil {
				return nil, err
			}
			label, err := required(p, "Label")
			if err != nil {
				return nil, err
			}
			return nil, h.svc.AddPermission(r.Ctx, arn, label, p.List("AWSAccountId.member"), p.List("ActionName.member"))
		},
		"RemovePermission": func(h *Handler, r *Request, p awsquery.Params) (func(*awsquery.XML), error) {
			arn, err := required(p, "TopicArn")
			if err != nil {
				return nil, err
			}
			label, err := required(p, "Label")
			if err != nil {
				return nil, err
			}
			return nil, h.svc.RemovePermission(r.Ctx, arn, label)
		},
	}
}
