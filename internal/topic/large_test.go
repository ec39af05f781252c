package topic

import (
	"fmt"
	"testing"
)

// A topic above 256 KiB takes at most 100 subscriptions, each sqs, lambda
// or firehose (SNS developer guide, "Publishing large messages with
// Amazon SNS").
func TestCheckLargeTopic(t *testing.T) {
	subs := func(n int, proto string) []*subscription {
		var out []*subscription
		for i := 0; i < n; i++ {
			out = append(out, &subscription{rec: subRec{Protocol: proto, Endpoint: fmt.Sprint(i)}})
		}
		return out
	}
	cases := []struct {
		max   int
		subs  []*subscription
		proto string
		ok    bool
	}{
		{MaxMessageBytes, subs(500, "http"), "email", true},
		{MaxMessageBytes + 1, subs(99, "sqs"), "lambda", true},
		{MaxMessageBytes + 1, subs(100, "sqs"), "sqs", false},
		{MaxMessageBytes + 1, subs(100, "firehose"), "", true},
		{MaxMessageBytes + 1, subs(101, "sqs"), "", false},
		{LargeMessageBytes, subs(3, "sqs"), "https", false},
		{LargeMessageBytes, append(subs(3, "sqs"), subs(1, "http")...), "", false},
	}
	for i, tc := range cases {
		if err := checkLargeTopic(tc.max, tc.subs, tc.proto); (err == nil) != tc.ok {
			t.Errorf("case %d: err = %v, want ok %v", i, err, tc.ok)
		}
	}
}
