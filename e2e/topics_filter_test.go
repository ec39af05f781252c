package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
)

// Every filter operator, in both scopes, through real subscriptions (SNS
// developer guide, "Amazon SNS message filtering": string, numeric, key
// and AND/OR matching pages). Attributes are "name=Type:value" triples.
func TestFilterPoliciesEndToEnd(t *testing.T) {
	_, c, q := startSNS(t, false)
	cases := []struct {
		name, scope, policy string
		attrs               []string
		body                string
		want                bool
	}{
		{"exact string", "", `{"store":["example_corp"]}`, []string{"store=String:example_corp"}, "x", true},
		{"exact string miss", "", `{"store":["example_corp"]}`, []string{"store=String:other"}, "x", false},
		{"exact number", "", `{"price":[301.5]}`, []string{"price=Number:3.015e2"}, "x", true},
		{"string array any element", "", `{"interests":["rugby"]}`, []string{`interests=String.Array:["soccer","rugby"]`}, "x", true},
		{"anything-but list", "", `{"sport":[{"anything-but":["rugby","tennis"]}]}`, []string{"sport=String:baseball"}, "x", true},
		{"anything-but numbers", "", `{"price":[{"anything-but":[100,500]}]}`, []string{"price=Number:100"}, "x", false},
		{"anything-but prefix", "", `{"event":[{"anything-but":{"prefix":"order-"}}]}`, []string{"event=String:order-cancelled"}, "x", false},
		{"anything-but suffix", "body", `{"sport":[{"anything-but":{"suffix":"ball"}}]}`, nil, `{"sport":"hockey"}`, true},
		{"anything-but wildcard", "body", `{"sport":[{"anything-but":{"wildcard":"*ball"}}]}`, nil, `{"sport":["baseball","basketball"]}`, false},
		{"prefix", "", `{"sport":[{"prefix":"bas"}]}`, []string{"sport=String:basketball"}, "x", true},
		{"suffix", "body", `{"sport":[{"suffix":"ball"}]}`, nil, `{"sport":"rugby"}`, false},
		{"equals-ignore-case", "", `{"sport":[{"equals-ignore-case":"tennis"}]}`, []string{"sport=String:TeNnIs"}, "x", true},
		{"wildcard", "body", `{"file":[{"wildcard":"log-*.txt"}]}`, nil, `{"file":"log-2026.txt"}`, true},
		{"numeric range", "", `{"price":[{"numeric":[">",0,"<=",150]}]}`, []string{"price=Number:150"}, "x", true},
		{"numeric range miss", "body", `{"price":[{"numeric":[">",0,"<=",150]}]}`, nil, `{"price":150.5}`, false},
		{"exists true", "", `{"store":[{"exists":true}]}`, []string{"store=String:x"}, "x", true},
		{"exists false", "", `{"store":[{"exists":false}]}`, []string{"other=String:x"}, "x", true},
		{"exists false present", "body", `{"store":[{"exists":false}]}`, nil, `{"store":"x"}`, false},
		{"cidr", "", `{"ip":[{"cidr":"10.0.0.0/24"}]}`, []string{"ip=String:10.0.0.255"}, "x", true},
		{"cidr miss", "body", `{"ip":[{"cidr":"10.0.0.0/24"}]}`, nil, `{"ip":"10.1.1.0"}`, false},
		{"$or", "", `{"source":["aws.cloudwatch"],"$or":[{"metricName":["CPU"]},{"namespace":["AWS/EC2"]}]}`,
			[]string{"source=String:aws.cloudwatch", "namespace=String:AWS/EC2"}, "x", true},
		{"nested body", "body", `{"detail":{"scope":["Service"],"$or":[{"source":["aws.cloudwatch"]},{"type":["Alarm"]}]}}`, nil,
			`{"detail":{"scope":"Service","type":"Alarm"}}`, true},
		{"body array of objects", "body", `{"Records":{"s3":{"object":{"key":[{"prefix":"auto-"}]}}}}`, nil,
			`{"Records":[{"s3":{"object":{"key":"auto-1.xml"}}}]}`, true},
		{"body not JSON", "body", `{"a":["b"]}`, nil, `a=b`, false},
		{"attributes AND", "", `{"a":["1"],"b":["2"]}`, []string{"a=String:1"}, "x", false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			arn := createTopic(t, c, fmt.Sprintf("filter-%d", i), nil)
			attrs := map[string]string{"FilterPolicy": tc.policy}
			if tc.scope == "body" {
				attrs["FilterPolicyScope"] = "MessageBody"
			}
			url, _ := subscribeQueue(t, c, q, arn, fmt.Sprintf("filter-q-%d", i), attrs)
			in := &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String(tc.body),
				MessageAttributes: map[string]snstypes.MessageAttributeValue{}}
			for _, a := range tc.attrs {
				name, rest, _ := strings.Cut(a, "=")
				typ, val, _ := strings.Cut(rest, ":")
				in.MessageAttributes[name] = snstypes.MessageAttributeValue{DataType: aws.String(typ), StringValue: aws.String(val)}
			}
			publish(t, c, in)
			// Delivery into queues is part of Publish's own write: the
			// answer is final as soon as Publish returns.
			got := len(receive(t, q, url, 10)) == 1
			if got != tc.want {
				t.Fatalf("delivered = %v, want %v", got, tc.want)
			}
		})
	}

	// Invalid policies are refused with SNS's messages.
	arn := createTopic(t, c, "filter-invalid", nil)
	for _, bad := range []struct{ policy, msg string }{
		{`{"key":[["value"]]}`, "Invalid parameter: Attributes Reason: FilterPolicy: Match value must be String, number, true, false, or null"},
		{`{"a":["1"],"b":["1"],"c":["1"],"d":["1"],"e":["1"],"f":["1"]}`, "Invalid parameter: Attributes Reason: FilterPolicy: Filter policy can not have more than 5 keys"},
		{`{"key":[{"numeric":[">",3,"<",1]}]}`, "Invalid parameter: Attributes Reason: FilterPolicy: Bottom must be less than top"},
	} {
		_, err := c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("sqs"),
			Endpoint: aws.String(queueArn("filter-q-0")), Attributes: map[string]string{"FilterPolicy": bad.policy}})
		wantCode(t, err, "InvalidParameter")
		if !strings.Contains(err.Error(), bad.msg) {
			t.Errorf("error for %s = %v, want %q", bad.policy, err, bad.msg)
		}
	}
}

// A topic holds up to 200 filter policies: Subscribe and
// SetSubscriptionAttributes fail beyond, while subscriptions without a
// policy are still created ("By default, you can have up to 200 filter
// policies per topic": SNS developer guide, "Amazon SNS subscription filter
// policy constraints").
func TestFilterPolicyLimitPerTopic(t *testing.T) {
	_, c, _ := startSNS(t, false)
	arn := createTopic(t, c, "filter-limit", nil)
	policy := map[string]string{"FilterPolicy": `{"k":["v"]}`}
	subscribe := func(i int, attrs map[string]string) (*sns.SubscribeOutput, error) {
		return c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("sqs"),
			Endpoint: aws.String(queueArn(fmt.Sprintf("limit-%d", i))), Attributes: attrs})
	}
	for i := range 200 {
		if _, err := subscribe(i, policy); err != nil {
			t.Fatalf("subscription %d: %v", i, err)
		}
	}
	_, err := subscribe(200, policy)
	wantCode(t, err, "FilterPolicyLimitExceeded")
	plain, err := subscribe(200, nil)
	if err != nil {
		t.Fatalf("a subscription without a filter policy: %v", err)
	}
	_, err = c.SetSubscriptionAttributes(ctx(t), &sns.SetSubscriptionAttributesInput{SubscriptionArn: plain.SubscriptionArn,
		AttributeName: aws.String("FilterPolicy"), AttributeValue: aws.String(`{"k":["w"]}`)})
	wantCode(t, err, "FilterPolicyLimitExceeded")
	// Another topic counts its own.
	if _, err := c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(createTopic(t, c, "filter-limit-2", nil)), Protocol: aws.String("sqs"),
		Endpoint: aws.String(queueArn("limit-0")), Attributes: policy}); err != nil {
		t.Fatal(err)
	}
}
