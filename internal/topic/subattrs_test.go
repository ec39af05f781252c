package topic

import (
	"context"
	"testing"
)

// A subscription saved by a version that stored attributes given empty
// shows them as unset: no FilterPolicy, and so no FilterPolicyScope
// (recorded AWS behaviour, LocalStack's
// test_create_subscriptions_with_attributes snapshot), and a Subscribe
// naming the default scope matches it (test_subscribe_idempotency).
func TestEmptyAttributesOfEarlierVersions(t *testing.T) {
	arn := "arn:aws:sns:us-east-1:000000000000:t:0f7c"
	rec := subRec{ID: "0f7c", Topic: "t", Protocol: "sqs", Endpoint: "arn:aws:sqs:us-east-1:000000000000:q", Confirmed: true,
		Attributes: map[string]string{"FilterPolicy": "", "FilterPolicyScope": "MessageBody", "RedrivePolicy": "", "RawMessageDelivery": "true"}}
	sub := &subscription{arn: arn, topic: "arn:aws:sns:us-east-1:000000000000:t", rec: rec}
	s := &Service{subs: map[string]*subscription{arn: sub}, topics: map[string]*topic{"t": {name: "t"}}, cfg: Config{AccountID: "000000000000"}}
	out, err := s.GetSubscriptionAttributes(context.Background(), arn)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"FilterPolicy", "FilterPolicyScope", "RedrivePolicy"} {
		if v, ok := out[k]; ok {
			t.Errorf("%s shown as %q", k, v)
		}
	}
	if out["RawMessageDelivery"] != "true" {
		t.Errorf("RawMessageDelivery = %q", out["RawMessageDelivery"])
	}
	if got := effectiveSubAttr(rec.Attributes, "FilterPolicyScope"); got != "MessageAttributes" {
		t.Errorf("effective FilterPolicyScope without a policy = %q, want the default", got)
	}
}
