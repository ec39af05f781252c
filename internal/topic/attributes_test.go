package topic

import (
	"fmt"
	"strings"
	"testing"
)

// TestCheckArchivePolicy: a FIFO topic's ArchivePolicy keeps messages 1 to
// 365 days (SNS developer guide, "FIFO topic message archiving and
// replay").
func TestCheckArchivePolicy(t *testing.T) {
	for doc, ok := range map[string]bool{
		`{"MessageRetentionPeriod":"30"}`: true, `{"MessageRetentionPeriod":365}`: true, `{"MessageRetentionPeriod":"1"}`: true,
		`{"MessageRetentionPeriod":"0"}`: false, `{"MessageRetentionPeriod":366}`: false, `{"MessageRetentionPeriod":"x"}`: false,
		`{}`: false, `{"Other":1}`: false, `[]`: false, `{`: false,
	} {
		if err := checkArchivePolicy(doc); (err == nil) != ok {
			t.Errorf("%s: %v", doc, err)
		}
	}
}

func TestIsIAMRoleArn(t *testing.T) {
	for arn, ok := range map[string]bool{
		"arn:aws:iam::123456789012:role/sns-firehose": true, "arn:aws:iam::123456789012:role/path/r": true,
		"arn:aws:iam::123456789012:user/u": false, "arn:aws:iam::12345:role/r": false, "role": false,
		"arn:aws:iam::123456789012:role/": false, "arn:aws:sts::123456789012:role/r": false,
	} {
		if isIAMRoleArn(arn) != ok {
			t.Errorf("%s: want %v", arn, ok)
		}
	}
}

// FuzzCheckArchivePolicy: any document is judged without a panic.
func FuzzCheckArchivePolicy(f *testing.F) {
	for _, s := range []string{`{"MessageRetentionPeriod":"30"}`, `{"MessageRetentionPeriod":1e3}`, `{"MessageRetentionPeriod":null}`, `""`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		// A policy the check accepts archives for its whole retention.
		if checkArchivePolicy(doc) == nil {
			rec := topicRec{Attributes: map[string]string{"ArchivePolicy": doc}}
			if d := archiveDays(&rec); d < 1 || d > 365 {
				t.Fatalf("%s: accepted, but archives for %d days", doc, d)
			}
		}
	})
}

// TestParseReplayPolicy: PointType Timestamp, a StartingPoint and an
// optional EndingPoint (SNS developer guide, "Amazon SNS message replay for
// FIFO topic subscribers").
func TestParseReplayPolicy(t *testing.T) {
	for doc, ok := range map[string]bool{
		`{"PointType":"Timestamp","StartingPoint":"2023-10-01T10:00:00.000Z"}`:                                          true,
		`{"PointType":"Timestamp","StartingPoint":"2023-10-01T10:00:00Z","EndingPoint":"2023-10-01T11:00:00.000Z"}`:     true,
		`{"PointType":"Timestamp","StartingPoint":"2023-10-01T10:00:00.000+02:00"}`:                                     true,
		`{"PointType":"Timestamp","StartingPoint":"2023-10-01T10:00:00.000Z","EndingPoint":"2023-10-01T09:00:00.000Z"}`: false,
		`{"PointType":"Timestamp","StartingPoint":1696154400000}`:                                                       false,
		`{"PointType":"Timestamp"}`: false, `{"StartingPoint":"2023-10-01T10:00:00.000Z"}`: false,
		`{"PointType":"Timestamp","StartingPoint":"2023-10-01T10:00:00.000Z","Other":1}`: false,
		`null`: false, `[]`: false, `{`: false,
	} {
		if _, _, err := parseReplayPolicy(doc); (err == nil) != ok {
			t.Errorf("%s: %v", doc, err)
		}
	}
}

// FuzzParseReplayPolicy: any document is judged without a panic, and an
// accepted window never ends before it starts.
func FuzzParseReplayPolicy(f *testing.F) {
	for _, s := range []string{
		`{"PointType":"Timestamp","StartingPoint":"2023-10-01T10:00:00.000Z"}`,
		`{"PointType":"Timestamp","StartingPoint":"1970-01-01T00:00:00Z","EndingPoint":"1970-01-01T00:00:00Z"}`,
		`{"PointType":"Timestamp","StartingPoint":"2023-10-01T10:00:00.000Z","EndingPoint":null}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		start, end, err := parseReplayPolicy(doc)
		if err == nil && end != 0 && end < start && end != -1 {
			t.Fatalf("%s: window %d to %d", doc, start, end)
		}
	})
}

// TestDeliveryPolicyLimits: retries may not run past 3,600 seconds in all
// (SNS developer guide, "Amazon SNS message delivery retries"), and the
// request policy's content type is a text or application media type (the
// guide's delivery policy JSON formats name text/plain, application/json
// and application/xml).
func TestDeliveryPolicyLimits(t *testing.T) {
	for doc, ok := range map[string]bool{
		`{"healthyRetryPolicy":{"minDelayTarget":600,"maxDelayTarget":600,"numRetries":6}}`:                                true,
		`{"healthyRetryPolicy":{"minDelayTarget":600,"maxDelayTarget":600,"numRetries":7}}`:                                false,
		`{"healthyRetryPolicy":{"minDelayTarget":1,"maxDelayTarget":3600,"numRetries":3,"backoffFunction":"exponential"}}`: false,
		`{"healthyRetryPolicy":{"minDelayTarget":1,"maxDelayTarget":60,"numRetries":100,"numNoDelayRetries":50}}`:          true,
		`{"healthyRetryPolicy":{"numRetries":100}}`:                                                                        true, // 100 × 20 s
		`{"requestPolicy":{"headerContentType":"application/json"}}`:                                                       true,
		`{"requestPolicy":{"headerContentType":"text/plain; charset=UTF-8"}}`:                                              true,
		`{"requestPolicy":{"headerContentType":"application/xml"}}`:                                                        true,
		`{"requestPolicy":{"headerContentType":"foo/bar; nonsense"}}`:                                                      false,
		`{"requestPolicy":{"headerContentType":"image/png"}}`:                                                              false,
		`{"requestPolicy":{"headerContentType":""}}`:                                                                       false,
	} {
		if _, err := parseSubDeliveryPolicy(doc); (err == nil) != ok {
			t.Errorf("%s: %v", doc, err)
		}
	}
	for doc, ok := range map[string]bool{
		`{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":40,"maxDelayTarget":40,"numRetries":90}}}`:  true,
		`{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":40,"maxDelayTarget":40,"numRetries":100}}}`: false,
		`{"http":{"defaultRequestPolicy":{"headerContentType":"application/json"}}}`:                        true,
		`{"http":{"defaultRequestPolicy":{"headerContentType":"json"}}}`:                                    false,
	} {
		if _, err := parseTopicDeliveryPolicy(doc); (err == nil) != ok {
			t.Errorf("%s: %v", doc, err)
		}
	}
}

// TestDeliveryPolicyMessages pins the wording of two refusals to AWS's
// recorded answers: "...numRetries must be less than or equal to 100" (a
// public connector's tests run against SNS) and "Unexpected JSON member:
// throttlePolicy" (an SNS error quoted in a public test).
func TestDeliveryPolicyMessages(t *testing.T) {
	_, err := parseSubDeliveryPolicy(`{"healthyRetryPolicy":{"minDelayTarget":1,"maxDelayTarget":1,"numRetries":101}}`)
	if err == nil || !strings.HasSuffix(err.Error(), "healthyRetryPolicy.numRetries must be less than or equal to 100") {
		t.Errorf("numRetries 101: %v", err)
	}
	_, err = parseTopicDeliveryPolicy(`{"throttlePolicy":{"maxReceivesPerSecond":1}}`)
	if err == nil || !strings.HasSuffix(err.Error(), "Unexpected JSON member: throttlePolicy") {
		t.Errorf("throttlePolicy at the top of a topic's policy: %v", err)
	}
}

// TestFilterPolicyQuotas: 200 filter policies per topic, 10,000 in the
// account (SNS developer guide, "Amazon SNS subscription filter policy
// constraints"); the subscription that would get the policy is not counted.
func TestFilterPolicyQuotas(t *testing.T) {
	s := &Service{subs: map[string]*subscription{}}
	filtered := func(i int) *subscription {
		return &subscription{arn: fmt.Sprint("sub-", i), rec: subRec{Attributes: map[string]string{"FilterPolicy": `{"k":["v"]}`}}}
	}
	topics := make([]*topic, 50)
	for i := range topics {
		topics[i] = &topic{name: fmt.Sprint("t", i)}
	}
	// 199 on the first topic: one more fits.
	for i := 0; i < 199; i++ {
		sub := filtered(i)
		topics[0].subs = append(topics[0].subs, sub)
		s.subs[sub.arn] = sub
	}
	if s.filterPolicyLimited(topics[0], nil) {
		t.Fatal("the 200th filter policy of a topic refused")
	}
	extra := filtered(199)
	topics[0].subs = append(topics[0].subs, extra)
	s.subs[extra.arn] = extra
	if !s.filterPolicyLimited(topics[0], nil) {
		t.Fatal("the 201st filter policy of a topic accepted")
	}
	if s.filterPolicyLimited(topics[0], extra) {
		t.Fatal("the subscription that gets the policy was counted")
	}
	// 10,000 across the account: the next one fails on any topic.
	for i := 200; i < 10_000; i++ {
		sub := filtered(i)
		tp := topics[1+i%49]
		tp.subs = append(tp.subs, sub)
		s.subs[sub.arn] = sub
	}
	if !s.filterPolicyLimited(&topic{name: "new"}, nil) {
		t.Fatal("the account's 10,001st filter policy accepted")
	}
}

// FuzzDeliveryPolicy: any pair of topic and subscription delivery policies
// that the checks accept, combined as delivery combines them, waits
// between 0 and an hour before each retry, and never more retries than
// the 100 a policy may ask for (SNS developer guide, "Amazon SNS message
// delivery retries").
func FuzzDeliveryPolicy(f *testing.F) {
	for _, s := range [][2]string{
		{`{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":1,"maxDelayTarget":60,"numRetries":50,"numNoDelayRetries":3,"numMinDelayRetries":2,"numMaxDelayRetries":35,"backoffFunction":"exponential"}}}`, ``},
		{`{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":30,"maxDelayTarget":30,"numRetries":3}}}`, `{"healthyRetryPolicy":{"maxDelayTarget":5,"minDelayTarget":1,"numRetries":10,"backoffFunction":"geometric"}}`},
		{`{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":100,"maxDelayTarget":3600,"numRetries":1}}}`, `{"healthyRetryPolicy":{"maxDelayTarget":20,"numRetries":20,"backoffFunction":"geometric"}}`},
		{``, `{"healthyRetryPolicy":{"minDelayTarget":1,"maxDelayTarget":20,"numRetries":100,"backoffFunction":"arithmetic"},"throttlePolicy":{"maxReceivesPerSecond":1}}`},
		{`{"http":{"disableSubscriptionOverrides":true,"defaultRequestPolicy":{"headerContentType":"application/json"}}}`, `{"requestPolicy":{"headerContentType":"text/xml; charset=UTF-8"}}`},
		{`{"http":{}}`, `{}`}, {`null`, `null`}, {`{"http":1}`, `[]`},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, topicDoc, subDoc string) {
		if topicDoc != "" {
			if _, err := parseTopicDeliveryPolicy(topicDoc); err != nil {
				return
			}
		}
		if subDoc != "" {
			if _, err := parseSubDeliveryPolicy(subDoc); err != nil {
				return
			}
		}
		p := effectiveDeliveryPolicy(topicDoc, subDoc, "http")
		if p.NumRetries > 100 {
			t.Fatalf("%d retries", p.NumRetries)
		}
		for n := 1; n <= p.NumRetries; n++ {
			d, ok := p.delay(n)
			if !ok || d < 0 || d > maxHTTPRetryTime {
				t.Fatalf("retry %d of %+v: wait %v, %v", n, p, d, ok)
			}
		}
		if _, ok := p.delay(p.NumRetries + 1); ok {
			t.Fatalf("%+v: a retry beyond numRetries", p)
		}
	})
}

// FuzzParseRedrivePolicy: a subscription RedrivePolicy that parses names
// an SQS queue ARN.
func FuzzParseRedrivePolicy(f *testing.F) {
	for _, s := range []string{`{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq"}`, `{"deadLetterTargetArn":1}`, `{"x":1}`, `{}`, `null`, `[]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		arn, err := parseRedrivePolicy(doc)
		if err == nil && (len(strings.Split(arn, ":")) != 6 || !strings.HasPrefix(arn, "arn:")) {
			t.Fatalf("%s: accepted %q", doc, arn)
		}
	})
}

// TestShownSubDeliveryPolicy: a subscription's DeliveryPolicy is shown
// back as SNS shows it (the Terraform AWS provider's
// TestSuppressEquivalentTopicSubscriptionDeliveryPolicy records SNS's
// answer for the first case).
func TestShownSubDeliveryPolicy(t *testing.T) {
	for in, want := range map[string]string{
		`{"healthyRetryPolicy":{"maxDelayTarget":20,"minDelayTarget":5,"numRetries":5}}`:                         `{"healthyRetryPolicy":{"minDelayTarget":5,"maxDelayTarget":20,"numRetries":5,"numMaxDelayRetries":null,"numNoDelayRetries":null,"numMinDelayRetries":null,"backoffFunction":null},"sicklyRetryPolicy":null,"throttlePolicy":null,"guaranteed":false}`,
		`{"throttlePolicy":{"maxReceivesPerSecond":3},"requestPolicy":{"headerContentType":"application/json"}}`: `{"healthyRetryPolicy":null,"sicklyRetryPolicy":null,"throttlePolicy":{"maxReceivesPerSecond":3},"requestPolicy":{"headerContentType":"application/json"},"guaranteed":false}`,
	} {
		if got := shownSubDeliveryPolicy(in); got != want {
			t.Errorf("%s:\n got %s\nwant %s", in, got, want)
		}
	}
}

// TestRedactEndpoint: an HTTP endpoint's password never reaches a log.
func TestRedactEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"https://sns:s3cr%40t@hooks.example.com/in": "https://sns:****@hooks.example.com/in",
		"http://u:s3cret@ho st/a":                   "http://u:****@ho st/a", // does not parse
		"https://only-user@hooks.example.com/":      "https://only-user@hooks.example.com/",
		"https://hooks.example.com/in?a=b@c":        "https://hooks.example.com/in?a=b@c",
		"dev@example.com":                           "dev@example.com",
		"arn:aws:sqs:us-east-1:000000000000:q":      "arn:aws:sqs:us-east-1:000000000000:q",
	} {
		if got := ShownEndpoint(in); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}
