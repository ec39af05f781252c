package server

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/forkline/forkline/internal/events"
	"github.com/forkline/forkline/internal/lambdaapi"
	"github.com/forkline/forkline/internal/stack"
	"github.com/forkline/forkline/internal/topic"
	"github.com/forkline/forkline/internal/workflow"
)

// CloudFormation resource providers: each resource type maps its
// properties (CloudFormation user guide, "AWS resource and property types
// reference") to the API calls of the service that serves it.

func (s *Server) stackProviders() map[string]stack.Provider {
	t := tasks{fs: s.funcs, qs: s.queues, ts: s.topics, srv: s}
	accept := acceptProvider{}
	return map[string]stack.Provider{
		"AWS::SQS::Queue":                          sqsQueue{t},
		"AWS::SQS::QueuePolicy":                    accept,
		"AWS::SQS::QueueInlinePolicy":              accept,
		"AWS::SNS::Topic":                          snsTopic{t},
		"AWS::SNS::Subscription":                   snsSubscription{t},
		"AWS::SNS::TopicPolicy":                    snsTopicPolicy{t},
		"AWS::SNS::TopicInlinePolicy":              snsTopicPolicy{t},
		"AWS::Lambda::Function":                    lambdaFunction{s},
		"AWS::Lambda::Permission":                  lambdaPermission{s},
		"AWS::Lambda::EventSourceMapping":          eventSourceMapping{s},
		"AWS::Lambda::Version":                     lambdaVersion{s},
		"AWS::Lambda::Alias":                       lambdaAlias{s},
		"AWS::Lambda::LayerVersion":                layerVersion{s},
		"AWS::Lambda::EventInvokeConfig":           accept,
		"AWS::StepFunctions::StateMachine":         stateMachine{t, s},
		"AWS::S3::Bucket":                          bucket{s},
		"AWS::S3::BucketPolicy":                    accept,
		"AWS::IAM::Role":                           iamRole{s},
		"AWS::IAM::Policy":                         accept,
		"AWS::IAM::ManagedPolicy":                  iamManagedPolicy{s},
		"AWS::IAM::InstanceProfile":                accept,
		"AWS::Logs::LogGroup":                      logGroup{s},
		"AWS::Events::Rule":                        eventRule{s},
		"AWS::KinesisFirehose::DeliveryStream":     deliveryStream{s},
		"AWS::OpenSearchService::Domain":           searchDomain{s},
		"AWS::Elasticsearch::Domain":               searchDomain{s},
		"AWS::CloudFormation::CustomResource":      customResource{s},
		"AWS::Scheduler::Schedule":                 schedule{s},
		"AWS::Scheduler::ScheduleGroup":            accept,
		"AWS::StepFunctions::StateMachineVersion":  machineVersion{s},
		"AWS::StepFunctions::StateMachineAlias":    machineAlias{s},
		"AWS::CodeDeploy::Application":             accept,
		"AWS::CodeDeploy::DeploymentGroup":         accept,
		"AWS::CloudFormation::WaitConditionHandle": accept,
	}
}

// physicalName is the name CloudFormation gives an unnamed resource:
// stack name, logical ID and a random suffix, within max characters.
func physicalName(r *stack.Resource, max int, lower bool) string {
	if r.Suffix == "" {
		r.Suffix = stack.NewSuffix()
	}
	suffix := "-" + r.Suffix
	prefix := r.StackName + "-" + r.LogicalID
	if room := max - len(suffix); len(prefix) > room {
		prefix = prefix[:room]
	}
	name := prefix + suffix
	if lower {
		name = strings.ToLower(name)
	}
	return name
}

func prop(r *stack.Resource, key string) string {
	switch v := r.Properties[key].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return ""
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

func boolProp(r *stack.Resource, key string) bool { return prop(r, key) == "true" }

// tagList turns CloudFormation's [{Key, Value}] into a map.
func tagList(v any) map[string]string {
	out := map[string]string{}
	list, _ := v.([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		k, _ := m["Key"].(string)
		val, _ := m["Value"].(string)
		if k != "" {
			out[k] = val
		}
	}
	return out
}

// changed reports whether any of keys differs between r and old.
func changed(r, old *stack.Resource, keys ...string) bool {
	for _, k := range keys {
		if prop(r, k) != prop(old, k) {
			return true
		}
	}
	return false
}

type acceptProvider struct{}

func (acceptProvider) Create(ctx context.Context, r *stack.Resource) error {
	r.PhysicalID = physicalName(r, 128, false)
	r.Ref = r.PhysicalID
	return nil
}
func (acceptProvider) Update(context.Context, *stack.Resource, *stack.Resource) (bool, error) {
	return false, nil
}
func (acceptProvider) Delete(context.Context, *stack.Resource) error { return nil }

// --- SQS

type sqsQueue struct{ t tasks }

var queueAttributes = []string{"DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds",
	"VisibilityTimeout", "RedrivePolicy", "RedriveAllowPolicy", "ContentBasedDeduplication", "DeduplicationScope",
	"FifoThroughputLimit", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled"}

func (q sqsQueue) attributes(r *stack.Resource) map[string]any {
	attrs := map[string]any{}
	for _, k := range queueAttributes {
		if v := prop(r, k); v != "" {
			attrs[k] = v
		}
	}
	return attrs
}

func (q sqsQueue) Create(ctx context.Context, r *stack.Resource) error {
	name := prop(r, "QueueName")
	fifo := boolProp(r, "FifoQueue")
	if name == "" {
		name = physicalName(r, 80, false)
		if fifo {
			name = physicalName(r, 75, false) + ".fifo"
		}
	}
	attrs := q.attributes(r)
	if fifo {
		attrs["FifoQueue"] = "true"
	}
	out, err := q.t.CallAWS(ctx, "sqs", "CreateQueue", map[string]any{"QueueName": name, "Attributes": attrs, "tags": tagList(r.Properties["Tags"])})
	if err != nil {
		return err
	}
	u, _ := out.(map[string]any)["QueueUrl"].(string)
	a, err := q.t.CallAWS(ctx, "sqs", "GetQueueAttributes", map[string]any{"QueueUrl": u, "AttributeNames": []string{"QueueArn"}})
	if err != nil {
		return err
	}
	arn, _ := a.(map[string]any)["Attributes"].(map[string]any)["QueueArn"].(string)
	r.PhysicalID, r.Ref = u, u
	r.Attrs = map[string]any{"Arn": arn, "QueueName": name, "QueueUrl": u}
	return nil
}

func (q sqsQueue) Update(ctx context.Context, r, old *stack.Resource) (bool, error) {
	if changed(r, old, "QueueName", "FifoQueue") {
		return true, nil
	}
	attrs := q.attributes(r)
	if len(attrs) > 0 {
		if _, err := q.t.CallAWS(ctx, "sqs", "SetQueueAttributes", map[string]any{"QueueUrl": r.PhysicalID, "Attributes": attrs}); err != nil {
			return false, err
		}
	}
	return false, nil
}

func (q sqsQueue) Delete(ctx context.Context, r *stack.Resource) error {
	_, err := q.t.CallAWS(ctx, "sqs", "DeleteQueue", map[string]any{"QueueUrl": r.PhysicalID})
	if se, ok := err.(*workflow.ServiceError); ok && strings.Contains(se.Code, "NonExistentQueue") || err != nil && strings.Contains(err.Error(), "QueueDoesNotExist") {
		return nil
	}
	return err
}

// --- SNS

// snsTopicPolicy sets the access policy of topics: AWS::SNS::TopicPolicy
// (PolicyDocument for every ARN in Topics) and AWS::SNS::TopicInlinePolicy
// (one TopicArn). forkline does not enforce the policies (one account);
// they are kept as SNS keeps them, so that GetTopicAttributes shows them.
// Deleting the resource, or dropping a topic from it, restores the
// topic's default policy.
type snsTopicPolicy struct{ t tasks }

func (p snsTopicPolicy) topics(r *stack.Resource) []string {
	if arn := prop(r, "TopicArn"); arn != "" {
		return []string{arn}
	}
	var out []string
	list, _ := r.Properties["Topics"].([]any)
	for _, v := range list {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func (p snsTopicPolicy) set(ctx context.Context, topics []string, doc string) error {
	for _, arn := range topics {
		if _, err := p.t.CallAWS(ctx, "sns", "SetTopicAttributes", map[string]any{"TopicArn": arn, "AttributeName": "Policy", "AttributeValue": doc}); err != nil {
			return err
		}
	}
	return nil
}

func (p snsTopicPolicy) Create(ctx context.Context, r *stack.Resource) error {
	r.PhysicalID = physicalName(r, 128, false)
	r.Ref = r.PhysicalID
	return p.set(ctx, p.topics(r), prop(r, "PolicyDocument"))
}

func (p snsTopicPolicy) Update(ctx context.Context, r, old *stack.Resource) (bool, error) {
	now := p.topics(r)
	var dropped []string
	for _, arn := range p.topics(old) {
		if !slices.Contains(now, arn) {
			dropped = append(dropped, arn)
		}
	}
	if err := p.set(ctx, dropped, ""); err != nil && !strings.Contains(err.Error(), "NotFound") {
		return false, err
	}
	return false, p.set(ctx, now, prop(r, "PolicyDocument"))
}

func (p snsTopicPolicy) Delete(ctx context.Context, r *stack.Resource) error {
	for _, arn := range p.topics(r) {
		// A topic deleted first (in the same stack) has no policy to restore.
		if err := p.set(ctx, []string{arn}, ""); err != nil && !strings.Contains(err.Error(), "NotFound") {
			return err
		}
	}
	return nil
}

type snsTopic struct{ t tasks }

func (p snsTopic) Create(ctx context.Context, r *stack.Resource) error {
	name := prop(r, "TopicName")
	fifo := boolProp(r, "FifoTopic")
	if name == "" {
		name = physicalName(r, 256, false)
		if fifo {
			name = physicalName(r, 251, false) + ".fifo"
		}
	}
	attrs := map[string]any{}
	for _, k := range []string{"DisplayName", "ContentBasedDeduplication", "KmsMasterKeyId", "SignatureVersion", "TracingConfig", "ArchivePolicy", "FifoThroughputScope"} {
		if v := prop(r, k); v != "" {
			attrs[k] = v
		}
	}
	if fifo {
		attrs["FifoTopic"] = "true"
	}
	for k, v := range deliveryStatusLogging(r) {
		attrs[k] = v
	}
	var tags []any
	for k, v := range tagList(r.Properties["Tags"]) {
		tags = append(tags, map[string]any{"Key": k, "Value": v})
	}
	out, err := p.t.CallAWS(ctx, "sns", "CreateTopic", map[string]any{"Name": name, "Attributes": attrs, "Tags": tags})
	if err != nil {
		return err
	}
	arn, _ := out.(map[string]any)["TopicArn"].(string)
	r.PhysicalID, r.Ref = arn, arn
	r.Attrs = map[string]any{"TopicArn": arn, "TopicName": name}
	if doc := prop(r, "DataProtectionPolicy"); doc != "" {
		if _, err := p.t.CallAWS(ctx, "sns", "PutDataProtectionPolicy", map[string]any{"ResourceArn": arn, "DataProtectionPolicy": doc}); err != nil {
			return err
		}
	}
	for _, s := range inlineSubscriptions(r) {
		if _, err := p.t.CallAWS(ctx, "sns", "Subscribe", map[string]any{"TopicArn": arn, "Protocol": s[0], "Endpoint": s[1]}); err != nil {
			return err
		}
	}
	return nil
}

// inlineSubscriptions are a topic's Subscription property: protocol and
// endpoint pairs.
func inlineSubscriptions(r *stack.Resource) [][2]string {
	var out [][2]string
	subs, _ := r.Properties["Subscription"].([]any)
	for _, s := range subs {
		m, _ := s.(map[string]any)
		proto, _ := m["Protocol"].(string)
		endpoint, _ := m["Endpoint"].(string)
		out = append(out, [2]string{proto, endpoint})
	}
	return out
}

// updateInlineSubscriptions subscribes the pairs added to a topic's
// Subscription property and unsubscribes the ones removed from it
// ("Update requires: No interruption", CloudFormation user guide,
// AWS::SNS::Topic).
func (p snsTopic) updateInlineSubscriptions(ctx context.Context, r, old *stack.Resource) error {
	now, was := inlineSubscriptions(r), inlineSubscriptions(old)
	for _, s := range now {
		if !slices.Contains(was, s) {
			if _, err := p.t.CallAWS(ctx, "sns", "Subscribe", map[string]any{"TopicArn": r.PhysicalID, "Protocol": s[0], "Endpoint": s[1]}); err != nil {
				return err
			}
		}
	}
	var gone [][2]string
	for _, s := range was {
		if !slices.Contains(now, s) {
			gone = append(gone, s)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	token := ""
	for {
		in := map[string]any{"TopicArn": r.PhysicalID}
		if token != "" {
			in["NextToken"] = token
		}
		out, err := p.t.CallAWS(ctx, "sns", "ListSubscriptionsByTopic", in)
		if err != nil {
			return err
		}
		m, _ := out.(map[string]any)
		list, _ := m["Subscriptions"].([]any)
		for _, it := range list {
			sub, _ := it.(map[string]any)
			proto, _ := sub["Protocol"].(string)
			endpoint, _ := sub["Endpoint"].(string)
			arn, _ := sub["SubscriptionArn"].(string)
			// Listed endpoints show a password as "****".
			if slices.ContainsFunc(gone, func(g [2]string) bool { return g[0] == proto && topic.ShownEndpoint(g[1]) == endpoint }) && strings.HasPrefix(arn, "arn:") {
				if _, err := p.t.CallAWS(ctx, "sns", "Unsubscribe", map[string]any{"SubscriptionArn": arn}); err != nil {
					return err
				}
			}
		}
		if token, _ = m["NextToken"].(string); token == "" {
			return nil
		}
	}
}

func (p snsTopic) Update(ctx context.Context, r, old *stack.Resource) (bool, error) {
	if changed(r, old, "TopicName", "FifoTopic") {
		return true, nil
	}
	// A property removed from the template goes back to its default
	// (AWS::SNS::Topic's properties all update without interruption).
	defaults := map[string]string{"DisplayName": "", "KmsMasterKeyId": "", "SignatureVersion": "1", "TracingConfig": "PassThrough",
		"ContentBasedDeduplication": "false", "FifoThroughputScope": "Topic", "ArchivePolicy": "{}"}
	fifo := boolProp(r, "FifoTopic")
	for _, k := range []string{"DisplayName", "KmsMasterKeyId", "SignatureVersion", "TracingConfig", "ContentBasedDeduplication", "FifoThroughputScope", "ArchivePolicy"} {
		if !changed(r, old, k) {
			continue
		}
		v := prop(r, k)
		if v == "" {
			if !fifo && (k == "ContentBasedDeduplication" || k == "FifoThroughputScope") {
				continue // FIFO settings: a standard topic has none to reset
			}
			v = defaults[k]
		}
		if _, err := p.t.CallAWS(ctx, "sns", "SetTopicAttributes", map[string]any{"TopicArn": r.PhysicalID, "AttributeName": k, "AttributeValue": v}); err != nil {
			return false, err
		}
	}
	if changed(r, old, "Subscription") {
		if err := p.updateInlineSubscriptions(ctx, r, old); err != nil {
			return false, err
		}
	}
	if changed(r, old, "DataProtectionPolicy") {
		// "" deletes the policy (SNS developer guide, "Deleting data
		// protection policies").
		if _, err := p.t.CallAWS(ctx, "sns", "PutDataProtectionPolicy", map[string]any{"ResourceArn": r.PhysicalID, "DataProtectionPolicy": prop(r, "DataProtectionPolicy")}); err != nil {
			return false, err
		}
	}
	if changed(r, old, "DeliveryStatusLogging") {
		set, was := deliveryStatusLogging(r), deliveryStatusLogging(old)
		for k := range was {
			if _, ok := set[k]; !ok {
				set[k] = "" // a protocol or setting removed from the template
			}
		}
		for _, k := range slices.Sorted(maps.Keys(set)) {
			if _, err := p.t.CallAWS(ctx, "sns", "SetTopicAttributes", map[string]any{"TopicArn": r.PhysicalID, "AttributeName": k, "AttributeValue": set[k]}); err != nil {
				return false, err
			}
		}
	}
	return false, nil
}

// deliveryStatusLogging turns a topic's DeliveryStatusLogging property
// (LoggingConfig items: Protocol http/s, sqs, lambda, firehose or
// application, and its roles and sample rate; CloudFormation user guide,
// AWS::SNS::Topic LoggingConfig) into the topic attributes that hold it.
func deliveryStatusLogging(r *stack.Resource) map[string]string {
	items, _ := r.Properties["DeliveryStatusLogging"].([]any)
	out := map[string]string{}
	for _, it := range items {
		m, _ := it.(map[string]any)
		prefix := map[string]string{"http/s": "HTTP", "sqs": "SQS", "lambda": "Lambda", "firehose": "Firehose", "application": "Application"}[fmt.Sprint(m["Protocol"])]
		if prefix == "" {
			continue
		}
		for _, k := range []string{"SuccessFeedbackRoleArn", "SuccessFeedbackSampleRate", "FailureFeedbackRoleArn"} {
			switch v := m[k].(type) {
			case string:
				out[prefix+k] = v
			case json.Number:
				out[prefix+k] = v.String()
			}
		}
	}
	return out
}

func (p snsTopic) Delete(ctx context.Context, r *stack.Resource) error {
	_, err := p.t.CallAWS(ctx, "sns", "DeleteTopic", map[string]any{"TopicArn": r.PhysicalID})
	if err != nil && strings.Contains(err.Error(), "InvalidState") {
		// SNS refuses to delete a topic that archives; the stack's
		// deletion turns archiving off first.
		if _, err := p.t.CallAWS(ctx, "sns", "SetTopicAttributes", map[string]any{"TopicArn": r.PhysicalID, "AttributeName": "ArchivePolicy", "AttributeValue": "{}"}); err != nil {
			return err
		}
		_, err = p.t.CallAWS(ctx, "sns", "DeleteTopic", map[string]any{"TopicArn": r.PhysicalID})
		return err
	}
	return err
}

type snsSubscription struct{ t tasks }

var subscriptionAttributes = []string{"FilterPolicy", "FilterPolicyScope", "RawMessageDelivery", "RedrivePolicy", "DeliveryPolicy", "SubscriptionRoleArn", "ReplayPolicy"}

func (p snsSubscription) Create(ctx context.Context, r *stack.Resource) error {
	attrs := map[string]any{}
	for _, k := range subscriptionAttributes {
		if v := prop(r, k); v != "" {
			attrs[k] = v
		}
	}
	out, err := p.t.CallAWS(ctx, "sns", "Subscribe", map[string]any{"TopicArn": prop(r, "TopicArn"), "Protocol": prop(r, "Protocol"),
		"Endpoint": prop(r, "Endpoint"), "Attributes": attrs, "ReturnSubscriptionArn": true})
	if err != nil {
		return err
	}
	arn, _ := out.(map[string]any)["SubscriptionArn"].(string)
	r.PhysicalID, r.Ref = arn, arn
	r.Attrs = map[string]any{"Arn": arn}
	return nil
}

func (p snsSubscription) Update(ctx context.Context, r, old *stack.Resource) (bool, error) {
	if changed(r, old, "TopicArn", "Protocol", "Endpoint") {
		return true, nil
	}
	names := subscriptionAttributes
	if prop(r, "FilterPolicyScope") == "MessageBody" {
		// The new policy may nest keys, which only the body scope
		// allows: the scope goes first (a scope may be set before its
		// policy). Toward MessageAttributes the policy goes first, as a
		// flat policy is valid in either scope.
		names = append([]string{"FilterPolicyScope"}, slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == "FilterPolicyScope" })...)
	}
	for _, k := range names {
		if v := prop(r, k); v != prop(old, k) {
			if k == "FilterPolicyScope" && v == "" {
				v = "MessageAttributes" // removed from the template: the default
			}
			if _, err := p.t.CallAWS(ctx, "sns", "SetSubscriptionAttributes", map[string]any{"SubscriptionArn": r.PhysicalID, "AttributeName": k, "AttributeValue": v}); err != nil {
				return false, err
			}
		}
	}
	return false, nil
}

func (p snsSubscription) Delete(ctx context.Context, r *stack.Resource) error {
	_, err := p.t.CallAWS(ctx, "sns", "Unsubscribe", map[string]any{"SubscriptionArn": r.PhysicalID})
	// A subscription still pending confirmation cannot be deleted; SNS
	// deletes it after 48 hours, so the stack lets it go.
	if err != nil && (strings.Contains(err.Error(), "NotFound") || strings.Contains(err.Error(), topic.PendingUnsubscribe)) {
		return nil
	}
	return err
}

// --- Lambda, through its REST API

// lambdaCall sends a Lambda REST request to forkline's own handler.
func (s *Server) lambdaREST(ctx context.Context, method, path string, query url.Values, body any) (map[string]any, error) {
	w := httptest.NewRecorder()
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	if query == nil {
		query = url.Values{}
	}
	s.lambda.Serve(w, &lambdaapi.Request{Ctx: ctx, RequestID: NewRequestID(), Method: method, Path: path, Query: query, Header: http.Header{}, Body: raw})
	out, err := jsonResult(w, false)
	if err != nil {
		return nil, err
	}
	m, _ := out.(map[string]any)
	return m, nil
}

type lambdaFunction struct{ s *Server }

// inlineZip packages CloudFormation's inline ZipFile source as Lambda
// does: index.py, or index.js for Node.js.
func inlineZip(runtime, source string) []byte {
	name := "index.py"
	if strings.HasPrefix(runtime, "nodejs") {
		name = "index.js"
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	f, _ := zw.Create(name)
	f.Write([]byte(source))
	// CloudFormation adds its response module to inline code, for custom
	// resources ("cfn-response module", CloudFormation user guide).
	module := "cfnresponse/cfnresponse.py"
	if name == "index.js" {
		module = "cfnresponse/cfn-response.js"
	}
	if b, err := cfnResponseModules.ReadFile(module); err == nil {
		name := "cfnresponse.py"
		if strings.HasSuffix(module, ".js") {
			name = "node_modules/cfn-response.js" // require('cfn-response')
		}
		m, _ := zw.Create(name)
		m.Write(b)
	}
	zw.Close()
	return buf.Bytes()
}

func (p lambdaFunction) code(r *stack.Resource) (map[string]any, error) {
	c, _ := r.Properties["Code"].(map[string]any)
	switch {
	case c == nil:
		return nil, fmt.Errorf("Properties validation failed for resource %s with message: #: required key [Code] not found", r.LogicalID)
	case c["ZipFile"] != nil:
		src, _ := c["ZipFile"].(string)
		return map[string]any{"ZipFile": base64.StdEncoding.EncodeToString(inlineZip(prop(r, "Runtime"), src))}, nil
	case c["ImageUri"] != nil:
		return nil, fmt.Errorf("forkline runs functions from zip packages; container images are not supported")
	}
	return map[string]any{"S3Bucket": c["S3Bucket"], "S3Key": c["S3Key"]}, nil
}

func (p lambdaFunction) config(r *stack.Resource) map[string]any {
	cfg := map[string]any{}
	for _, k := range []string{"Runtime", "Handler", "Role", "Description", "Timeout", "MemorySize", "Environment", "Layers",
		"TracingConfig", "DeadLetterConfig", "EphemeralStorage", "LoggingConfig"} {
		if v, ok := r.Properties[k]; ok {
			cfg[k] = v
		}
	}
	return cfg
}

func (p lambdaFunction) Create(ctx context.Context, r *stack.Resource) error {
	name := prop(r, "FunctionName")
	if name == "" {
		name = physicalName(r, 64, false)
	}
	code, err := p.code(r)
	if err != nil {
		return err
	}
	body := p.config(r)
	body["FunctionName"], body["Code"] = name, code
	if v, ok := r.Properties["Architectures"]; ok {
		body["Architectures"] = v
	}
	if tags := tagList(r.Properties["Tags"]); len(tags) > 0 {
		body["Tags"] = tags
	}
	out, err := p.s.lambdaREST(ctx, http.MethodPost, "/2015-03-31/functions", nil, body)
	if err != nil && r.Adopt && strings.Contains(err.Error(), "already exist") {
		out, err = p.s.lambdaREST(ctx, http.MethodGet, "/2015-03-31/functions/"+url.PathEscape(name)+"/configuration", nil, nil)
	}
	if err != nil {
		return err
	}
	if n := prop(r, "ReservedConcurrentExecutions"); n != "" {
		c, _ := strconv.Atoi(n)
		if _, err := p.s.lambdaREST(ctx, http.MethodPut, "/2017-10-31/functions/"+name+"/concurrency", nil, map[string]any{"ReservedConcurrentExecutions": c}); err != nil {
			return err
		}
	}
	r.PhysicalID, r.Ref = name, name
	r.Attrs = map[string]any{"Arn": out["FunctionArn"]}
	return nil
}

func (p lambdaFunction) Update(ctx context.Context, r, old *stack.Resource) (bool, error) {
	if changed(r, old, "FunctionName", "PackageType") {
		return true, nil
	}
	if prop(r, "Code") != prop(old, "Code") || prop(r, "Runtime") != prop(old, "Runtime") {
		code, err := p.code(r)
		if err != nil {
			return false, err
		}
		if _, err := p.s.lambdaREST(ctx, http.MethodPut, "/2015-03-31/functions/"+r.PhysicalID+"/code", nil, code); err != nil {
			return false, err
		}
	}
	if _, err := p.s.lambdaREST(ctx, http.MethodPut, "/2015-03-31/functions/"+r.PhysicalID+"/configuration", nil, p.config(r)); err != nil {
		return false, err
	}
	return false, nil
}

func (p lambdaFunction) Delete(ctx context.Context, r *stack.Resource) error {
	_, err := p.s.lambdaREST(ctx, http.MethodDelete, "/2015-03-31/functions/"+url.PathEscape(r.PhysicalID), nil, nil)
	if err != nil && strings.Contains(err.Error(), "ResourceNotFound") {
		return nil
	}
	return err
}

type lambdaPermission struct{ s *Server }

func (p lambdaPermission) Create(ctx context.Context, r *stack.Resource) error {
	sid := physicalName(r, 100, false)
	body := map[string]any{"StatementId": sid, "Action": prop(r, "Action"), "Principal": prop(r, "Principal")}
	for _, k := range []string{"SourceArn", "SourceAccount", "EventSourceToken", "FunctionUrlAuthType", "PrincipalOrgID"} {
		if v := prop(r, k); v != "" {
			body[k] = v
		}
	}
	fn := prop(r, "FunctionName")
	if _, err := p.s.lambdaREST(ctx, http.MethodPost, "/2015-03-31/functions/"+url.PathEscape(fn)+"/policy", nil, body); err != nil {
		return err
	}
	r.PhysicalID, r.Ref = sid, sid
	r.Attrs = map[string]any{"FunctionName": fn}
	return nil
}

func (p lambdaPermission) Update(context.Context, *stack.Resource, *stack.Resource) (bool, error) {
	return true, nil
}

func (p lambdaPermission) Delete(ctx context.Context, r *stack.Resource) error {
	fn := prop(r, "FunctionName")
	_, err := p.s.lambdaREST(ctx, http.MethodDelete, "/2015-03-31/functions/"+url.PathEscape(fn)+"/policy/"+url.PathEscape(r.PhysicalID), nil, nil)
	if err != nil && strings.Contains(err.Error(), "ResourceNotFound") {
		return nil
	}
	return err
}

type eventSourceMapping struct{ s *Server }

var esmProps = []string{"FunctionName", "EventSourceArn", "BatchSize", "Enabled", "MaximumBatchingWindowInSeconds", "FunctionResponseTypes",
	"FilterCriteria", "ScalingConfig", "StartingPosition", "DestinationConfig", "MaximumRetryAttempts"}

func (p eventSourceMapping) body(r *stack.Resource) map[string]any {
	body := map[string]any{}
	for _, k := range esmProps {
		if v, ok := r.Properties[k]; ok {
			body[k] = v
		}
	}
	return body
}

func (p eventSourceMapping) Create(ctx context.Context, r *stack.Resource) error {
	out, err := p.s.lambdaREST(ctx, http.MethodPost, "/2015-03-31/event-source-mappings/", nil, p.body(r))
	if err != nil {
		return err
	}
	id, _ := out["UUID"].(string)
	r.PhysicalID, r.Ref = id, id
	r.Attrs = map[string]any{"Id": id, "EventSourceMappingArn": out["EventSourceMappingArn"]}
	return nil
}

func (p eventSourceMapping) Update(ctx context.Context, r, old *stack.Resource) (bool, error) {
	if changed(r, old, "EventSourceArn") {
		return true, nil
	}
	body := p.body(r)
	delete(body, "EventSourceArn")
	delete(body, "StartingPosition")
	_, err := p.s.lambdaREST(ctx, http.MethodPut, "/2015-03-31/event-source-mappings/"+r.PhysicalID, nil, body)
	return false, err
}

func (p eventSourceMapping) Delete(ctx context.Context, r *stack.Resource) error {
	_, err := p.s.lambdaREST(ctx, http.MethodDelete, "/2015-03-31/event-source-mappings/"+r.PhysicalID, nil, nil)
	if err != nil && strings.Contains(err.Error(), "ResourceNotFound") {
		return nil
	}
	return err
}

type lambdaVersion struct{ s *Server }

func (p lambdaVersion) Create(ctx context.Context, r *stack.Resource) error {
	fn := prop(r, "FunctionName")
	out, err := p.s.lambdaREST(ctx, http.MethodPost, "/2015-03-31/functions/"+url.PathEscape(fn)+"/versions", nil,
		map[string]any{"Description": prop(r, "Description"), "CodeSha256": prop(r, "CodeSha256")})
	if err != nil {
		return err
	}
	arn, _ := out["FunctionArn"].(string)
	r.PhysicalID, r.Ref = arn, arn
	r.Attrs = map[string]any{"Version": out["Version"], "FunctionArn": arn}
	return nil
}

func (p lambdaVersion) Update(context.Context, *stack.Resource, *stack.Resource) (bool, error) {
	return true, nil
}

func (p lambdaVersion) Delete(ctx context.Context, r *stack.Resource) error {
	v, _ := r.Attrs["Version"].(string)
	q := url.Values{"Qualifier": {v}}
	_, err := p.s.lambdaREST(ctx, http.MethodDelete, "/2015-03-31/functions/"+url.PathEscape(prop(r, "FunctionName")), q, nil)
	if err != nil && (strings.Contains(err.Error(), "ResourceNotFound") || strings.Contains(err.Error(), "ResourceConflict")) {
		return nil // the function went first, or an alias still uses it
	}
	return err
}

type lambdaAlias struct{ s *Server }

func (p lambdaAlias) body(r *stack.Resource) map[string]any {
	body := map[string]any{"FunctionVersion": prop(r, "FunctionVersion"), "Description": prop(r, "Description")}
	if rc, ok := r.Properties["RoutingConfig"].(map[string]any); ok {
		weights := map[string]any{}
		list, _ := rc["AdditionalVersionWeights"].([]any)
		for _, e := range list {
			m, _ := e.(map[string]any)
			v, _ := m["FunctionVersion"].(string)
			weights[v] = m["FunctionWeight"]
		}
		body["RoutingConfig"] = map[string]any{"AdditionalVersionWeights": weights}
	}
	return body
}

func (p lambdaAlias) Create(ctx context.Context, r *stack.Resource) error {
	body := p.body(r)
	body["Name"] = prop(r, "Name")
	out, err := p.s.lambdaREST(ctx, http.MethodPost, "/2015-03-31/functions/"+url.PathEscape(prop(r, "FunctionName"))+"/aliases", nil, body)
	if err != nil {
		return err
	}
	arn, _ := out["AliasArn"].(string)
	r.PhysicalID, r.Ref = arn, arn
	r.Attrs = map[string]any{"AliasArn": arn}
	return nil
}

func (p lambdaAlias) Update(ctx context.Context, r, old *stack.Resource) (bool, error) {
	if changed(r, old, "FunctionName", "Name") {
		return true, nil
	}
	_, err := p.s.lambdaREST(ctx, http.MethodPut, "/2015-03-31/functions/"+url.PathEscape(prop(r, "FunctionName"))+"/aliases/"+url.PathEscape(prop(r, "Name")), nil, p.body(r))
	return false, err
}

func (p lambdaAlias) Delete(ctx context.Context, r *stack.Resource) error {
	_, err := p.s.lambdaREST(ctx, http.MethodDelete, "/2015-03-31/functions/"+url.PathEscape(prop(r, "FunctionName"))+"/aliases/"+url.PathEscape(prop(r, "Name")), nil, nil)
	if err != nil && strings.Contains(err.Error(), "ResourceNotFound") {
		return nil
	}
	return err
}

type layerVersion struct{ s *Server }

func (p layerVersion) Create(ctx context.Context, r *stack.Resource) error {
	name := prop(r, "LayerName")
	if name == "" {
		name = physicalName(r, 64, false)
	}
	body := map[string]any{"Content": r.Properties["Content"], "Description": prop(r, "Description"), "LicenseInfo": prop(r, "LicenseInfo")}
	for _, k := range []string{"CompatibleRuntimes", "CompatibleArchitectures"} {
		if v, ok := r.Properties[k]; ok {
			body[k] = v
		}
	}
	out, err := p.s.lambdaREST(ctx, http.MethodPost, "/2018-10-31/layers/"+url.PathEscape(name)+"/versions", nil, body)
	if err != nil {
		return err
	}
	arn, _ := out["LayerVersionArn"].(string)
	r.PhysicalID, r.Ref = arn, arn
	r.Attrs = map[string]any{"LayerVersionArn": arn}
	return nil
}

func (p layerVersion) Update(context.Context, *stack.Resource, *stack.Resource) (bool, error) {
	return true, nil
}

func (p layerVersion) Delete(ctx context.Context, r *stack.Resource) error {
	parts := strings.Split(r.PhysicalID, ":")
	if len(parts) < 8 {
		return nil
	}
	_, err := p.s.lambdaREST(ctx, http.MethodDelete, "/2018-10-31/layers/"+url.PathEscape(parts[6])+"/versions/"+parts[7], nil, nil)
	return err
}

// --- Step Functions

type stateMachine struct {
	t tasks
	s *Server
}

func (p stateMachine) definition(ctx context.Context, r *stack.Resource) (string, error) {
	def := prop(r, "DefinitionString")
	if d, ok := r.Properties["Definition"]; ok {
		b, _ := json.Marshal(d)
		def = string(b)
	}
	if loc, ok := r.Properties["DefinitionS3Location"].(map[string]any); ok {
		b, _ := loc["Bucket"].(string)
		k, _ := loc["Key"].(string)
		data, err := p.s.objects.ReadObject(ctx, b, k, 1<<20)
		if err != nil {
			return "", err
		}
		def = string(data)
	}
	if subs, ok := r.Properties["DefinitionSubstitutions"].(map[string]any); ok {
		keys := make([]string, 0, len(subs))
		for k := range subs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := subs[k]
			text, isStr := v.(string)
			if !isStr {
				b, _ := json.Marshal(v)
				text = string(b)
			}
			def = strings.ReplaceAll(def, "${"+k+"}", text)
		}
	}
	return def, nil
}

func (p stateMachine) Create(ctx context.Context, r *stack.Resource) error {
	name := prop(r, "StateMachineName")
	if name == "" {
		name = physicalName(r, 80, false)
	}
	def, err := p.definition(ctx, r)
	if err != nil {
		return err
	}
	var tags []any
	for k, v := range tagList(r.Properties["Tags"]) {
		tags = append(tags, map[string]any{"Key": k, "Value": v})
	}
	out, err := p.t.CallAWS(ctx, "sfn", "CreateStateMachine", map[string]any{"Name": name, "Definition": def, "RoleArn": prop(r, "RoleArn"),
		"Type": prop(r, "StateMachineType"), "Tags": tags})
	if err != nil && r.Adopt && strings.Contains(err.Error(), "AlreadyExists") {
		arn := fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", p.s.cfg.Region, p.s.cfg.AccountID, name)
		out, err = map[string]any{"StateMachineArn": arn}, nil
	}
	if err != nil {
		return err
	}
	arn, _ := out.(map[string]any)["StateMachineArn"].(string)
	r.PhysicalID, r.Ref = arn, arn
	return p.attrs(ctx, r)
}

// attrs are a state machine's GetAtt attributes.
func (p stateMachine) attrs(ctx context.Context, r *stack.Resource) error {
	m, err := p.s.flows.DescribeStateMachine(ctx, r.PhysicalID)
	if err != nil {
		return err
	}
	r.Attrs = map[string]any{"Arn": m.Arn, "Name": m.Name, "StateMachineRevisionId": m.RevisionID}
	return nil
}

func (p stateMachine) Update(ctx context.Context, r, old *stack.Resource) (bool, error) {
	if changed(r, old, "StateMachineName", "StateMachineType") {
		return true, nil
	}
	def, err := p.definition(ctx, r)
	if err != nil {
		return false, err
	}
	_, err = p.t.CallAWS(ctx, "sfn", "UpdateStateMachine", map[string]any{"StateMachineArn": r.PhysicalID, "Definition": def, "RoleArn": prop(r, "RoleArn")})
	if err != nil {
		return false, err
	}
	return false, p.attrs(ctx, r)
}

func (p stateMachine) Delete(ctx context.Context, r *stack.Resource) error {
	_, err := p.t.CallAWS(ctx, "sfn", "DeleteStateMachine", map[string]any{"StateMachineArn": r.PhysicalID})
	return err
}

// --- S3, IAM, Logs

type bucket struct{ s *Server }

func (p bucket) Create(ctx context.Context, r *stack.Resource) error {
	name := prop(r, "BucketName")
	if name == "" {
		name = physicalName(r, 63, true)
	}
	if err := p.s.objects.CreateBucket(ctx, name, ""); err != nil {
		return err
	}
	r.PhysicalID, r.Ref = name, name
	region := p.s.cfg.Region
	r.Attrs = map[string]any{"Arn": "arn:aws:s3:::" + name, "DomainName": name + ".s3.amazonaws.com",
		"RegionalDomainName": name + ".s3." + region + ".amazonaws.com", "DualStackDomainName": name + ".s3.dualstack." + region + ".amazonaws.com",
		"WebsiteURL": "http://" + name + ".s3-website-" + region + ".amazonaws.com"}
	return nil
}

func (p bucket) Update(ctx context.Context, r, old *stack.Resource) (bool, error) {
	return changed(r, old, "BucketName"), nil
}

func (p bucket) Delete(ctx context.Context, r *stack.Resource) error {
	err := p.s.objects.DeleteBucket(ctx, r.PhysicalID)
	if err != nil && strings.Contains(err.Error(), "NoSuchBucket") {
		return nil
	}
	return err
}

type iamRole struct{ s *Server }

func (p iamRole) Create(ctx context.Context, r *stack.Resource) error {
	name := prop(r, "RoleName")
	if name == "" {
		name = physicalName(r, 64, false)
	}
	path := prop(r, "Path")
	if path == "" {
		path = "/"
	}
	var id [17]byte
	rand.Read(id[:])
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	for i := range id {
		id[i] = alphabet[int(id[i])%len(alphabet)]
	}
	r.PhysicalID, r.Ref = name, name
	r.Attrs = map[string]any{"Arn": "arn:aws:iam::" + p.s.cfg.AccountID + ":role" + path + name, "RoleId": "AROA" + string(id[:])}
	return nil
}

func (p iamRole) Update(ctx context.Context, r, old *stack.Resource) (bool, error) {
	return changed(r, old, "RoleName", "Path"), nil
}

func (p iamRole) Delete(context.Context, *stack.Resource) error { return nil }

type iamManagedPolicy struct{ s *Server }

func (p iamManagedPolicy) Create(ctx context.Context, r *stack.Resource) error {
	name := prop(r, "ManagedPolicyName")
	if name == "" {
		name = physicalName(r, 128, false)
	}
	arn := "arn:aws:iam::" + p.s.cfg.AccountID + ":policy/" + name
	r.PhysicalID, r.Ref = arn, arn
	r.Attrs = map[string]any{"PolicyArn": arn}
	return nil
}

func (p iamManagedPolicy) Update(ctx context.Context, r, old *stack.Resource) (bool, error) {
	return changed(r, old, "ManagedPolicyName"), nil
}

func (p iamManagedPolicy) Delete(context.Context, *stack.Resource) error { return nil }

type logGroup struct{ s *Server }

func (p logGroup) Create(ctx context.Context, r *stack.Resource) error {
	name := prop(r, "LogGroupName")
	if name == "" {
		name = physicalName(r, 512, false)
	}
	if err := p.s.logs.CreateGroup(ctx, name); err != nil && !strings.Contains(err.Error(), "AlreadyExists") {
		return err
	}
	r.PhysicalID, r.Ref = name, name
	r.Attrs = map[string]any{"Arn": p.s.logs.Arn(name)}
	return nil
}

func (p logGroup) Update(ctx context.Context, r, old *stack.Resource) (bool, error) {
	return changed(r, old, "LogGroupName"), nil
}

func (p logGroup) Delete(ctx context.Context, r *stack.Resource) error {
	if err := p.s.logs.DeleteGroup(ctx, r.PhysicalID); err != nil && !strings.Contains(err.Error(), "NotFound") {
		return err
	}
	return nil
}

// --- EventBridge

type eventRule struct{ s *Server }

func (p eventRule) input(r *stack.Resource, name string) events.PutRuleInput {
	in := events.PutRuleInput{Name: name, ScheduleExpression: prop(r, "ScheduleExpression"), State: prop(r, "State"),
		Description: prop(r, "Description"), RoleArn: prop(r, "RoleArn"), EventBusName: prop(r, "EventBusName")}
	if v, ok := r.Properties["EventPattern"]; ok {
		if text, isText := v.(string); isText {
			in.EventPattern = text
		} else {
			b, _ := json.Marshal(v)
			in.EventPattern = string(b)
		}
	}
	return in
}

func (p eventRule) targets(r *stack.Resource) []events.Target {
	var out []events.Target
	list, _ := r.Properties["Targets"].([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		str := func(k string) string { s, _ := m[k].(string); return s }
		t := events.Target{ID: str("Id"), Arn: str("Arn"), Input: str("Input"), InputPath: str("InputPath"), RoleArn: str("RoleArn")}
		if sp, ok := m["SqsParameters"].(map[string]any); ok {
			t.MessageGroupID, _ = sp["MessageGroupId"].(string)
		}
		out = append(out, t)
	}
	return out
}

func (p eventRule) apply(ctx context.Context, r *stack.Resource, name string, old []events.Target) error {
	arn, err := p.s.events.PutRule(ctx, p.input(r, name))
	if err != nil {
		return err
	}
	targets := p.targets(r)
	keep := map[string]bool{}
	for _, t := range targets {
		keep[t.ID] = true
	}
	var drop []string
	for _, t := range old {
		if !keep[t.ID] {
			drop = append(drop, t.ID)
		}
	}
	if len(drop) > 0 {
		if _, err := p.s.events.RemoveTargets(ctx, name, "", drop); err != nil {
			return err
		}
	}
	if len(targets) > 0 {
		failed, err := p.s.events.PutTargets(ctx, name, "", targets)
		if err != nil {
			return err
		}
		if len(failed) > 0 {
			return fmt.Errorf("%s", failed[0].Message)
		}
	}
	r.PhysicalID, r.Ref = name, name
	r.Attrs = map[string]any{"Arn": arn}
	return nil
}

func (p eventRule) Create(ctx context.Context, r *stack.Resource) error {
	name := prop(r, "Name")
	if name == "" {
		name = physicalName(r, 64, false)
	}
	return p.apply(ctx, r, name, nil)
}

func (p eventRule) Update(ctx context.Context, r, old *stack.Resource) (bool, error) {
	if changed(r, old, "Name", "EventBusName") {
		return true, nil
	}
	return false, p.apply(ctx, r, old.PhysicalID, p.targets(old))
}

func (p eventRule) Delete(ctx context.Context, r *stack.Resource) error {
	return p.s.events.DeleteRule(ctx, r.PhysicalID, "", true)
}

// --- EventBridge Scheduler

type schedule struct{ s *Server }

func (p schedule) input(r *stack.Resource, name string) events.ScheduleInput {
	in := events.ScheduleInput{Name: name, Group: prop(r, "GroupName"), Expression: prop(r, "ScheduleExpression"),
		Timezone: prop(r, "ScheduleExpressionTimezone"), State: prop(r, "State")}
	if t, ok := r.Properties["Target"].(map[string]any); ok {
		in.Target.Arn, _ = t["Arn"].(string)
		in.Target.Input, _ = t["Input"].(string)
		in.Target.RoleArn, _ = t["RoleArn"].(string)
		if sp, ok := t["SqsParameters"].(map[string]any); ok {
			in.Target.MessageGroupID, _ = sp["MessageGroupId"].(string)
		}
	}
	return in
}

func (p schedule) Create(ctx context.Context, r *stack.Resource) error {
	name := prop(r, "Name")
	if name == "" {
		name = physicalName(r, 64, false)
	}
	arn, err := p.s.events.PutSchedule(ctx, p.input(r, name))
	if err != nil {
		return err
	}
	r.PhysicalID, r.Ref = name, name
	r.Attrs = map[string]any{"Arn": arn}
	return nil
}

func (p schedule) Update(ctx context.Context, r, old *stack.Resource) (bool, error) {
	if changed(r, old, "Name", "GroupName") {
		return true, nil
	}
	arn, err := p.s.events.PutSchedule(ctx, p.input(r, old.PhysicalID))
	if err != nil {
		return false, err
	}
	r.PhysicalID, r.Ref, r.Attrs = old.PhysicalID, old.PhysicalID, map[string]any{"Arn": arn}
	return false, nil
}

func (p schedule) Delete(ctx context.Context, r *stack.Resource) error {
	return p.s.events.DeleteSchedule(ctx, prop(r, "GroupName"), r.PhysicalID)
}

// --- Step Functions versions and aliases

type machineVersion struct{ s *Server }

func (p machineVersion) Create(ctx context.Context, r *stack.Resource) error {
	v, err := p.s.flows.PublishVersion(ctx, prop(r, "StateMachineArn"), prop(r, "StateMachineRevisionId"), prop(r, "Description"))
	if err != nil {
		return err
	}
	r.PhysicalID, r.Ref = v.Arn, v.Arn
	r.Attrs = map[string]any{"Arn": v.Arn}
	return nil
}

func (p machineVersion) Update(ctx context.Context, r, old *stack.Resource) (bool, error) {
	// Every property of AWS::StepFunctions::StateMachineVersion needs
	// replacement.
	return true, nil
}

func (p machineVersion) Delete(ctx context.Context, r *stack.Resource) error {
	if err := p.s.flows.DeleteVersion(ctx, r.PhysicalID); err != nil && !strings.Contains(err.Error(), "NotFound") && !strings.Contains(err.Error(), "DoesNotExist") {
		return err
	}
	return nil
}

type machineAlias struct{ s *Server }

// routes are an alias's routing: RoutingConfiguration, or the target
// version of its DeploymentPreference (which forkline shifts at once).
func (p machineAlias) routes(r *stack.Resource) []workflow.Route {
	var out []workflow.Route
	if list, ok := r.Properties["RoutingConfiguration"].([]any); ok {
		for _, e := range list {
			m, _ := e.(map[string]any)
			arn, _ := m["StateMachineVersionArn"].(string)
			w, _ := strconv.Atoi(textOfAny(m["Weight"]))
			out = append(out, workflow.Route{VersionArn: arn, Weight: w})
		}
		return out
	}
	if dp, ok := r.Properties["DeploymentPreference"].(map[string]any); ok {
		arn, _ := dp["StateMachineVersionArn"].(string)
		out = append(out, workflow.Route{VersionArn: arn, Weight: 100})
	}
	return out
}

func textOfAny(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	}
	return fmt.Sprint(v)
}

func (p machineAlias) Create(ctx context.Context, r *stack.Resource) error {
	a, err := p.s.flows.CreateAlias(ctx, prop(r, "Name"), prop(r, "Description"), p.routes(r))
	if err != nil {
		return err
	}
	r.PhysicalID, r.Ref = a.Arn, a.Arn
	r.Attrs = map[string]any{"Arn": a.Arn}
	return nil
}

func (p machineAlias) Update(ctx context.Context, r, old *stack.Resource) (bool, error) {
	if changed(r, old, "Name") {
		return true, nil
	}
	desc := prop(r, "Description")
	if _, err := p.s.flows.UpdateAlias(ctx, old.PhysicalID, &desc, p.routes(r)); err != nil {
		return false, err
	}
	r.PhysicalID, r.Ref, r.Attrs = old.PhysicalID, old.PhysicalID, old.Attrs
	return false, nil
}

func (p machineAlias) Delete(ctx context.Context, r *stack.Resource) error {
	return p.s.flows.DeleteAlias(ctx, r.PhysicalID)
}

// ResourceTypes reports whether forkline's CloudFormation serves a
// resource type.
func ResourceTypes() func(typ string) bool {
	types := (&Server{}).stackProviders()
	return func(typ string) bool {
		_, ok := types[typ]
		return ok || typ == "AWS::CloudFormation::Stack" || len(typ) > 8 && typ[:8] == "Custom::"
	}
}
