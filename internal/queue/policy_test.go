package queue

import (
	"strings"
	"testing"
)

// TestCheckPolicy pins the policy quotas (SQS developer guide, "Amazon SQS
// policy quotas": 8,192 bytes, 10 conditions, 50 principals, 20
// statements, 7 actions per statement).
func TestCheckPolicy(t *testing.T) {
	stmt := func(principals, actions string, conds int) string {
		c := ""
		if conds > 0 {
			var keys []string
			for i := 0; i < conds; i++ {
				keys = append(keys, `"aws:SourceArn`+strings.Repeat("x", i)+`":"a"`)
			}
			c = `,"Condition":{"ArnEquals":{` + strings.Join(keys, ",") + `}}`
		}
		return `{"Effect":"Allow","Principal":` + principals + `,"Action":` + actions + `,"Resource":"*"` + c + `}`
	}
	doc := func(stmts ...string) string {
		return `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
	}
	many := func(n int) string {
		var s []string
		for i := 0; i < n; i++ {
			s = append(s, `"arn:aws:iam::111122223333:root"`)
		}
		return "[" + strings.Join(s, ",") + "]"
	}
	for _, tc := range []struct {
		name, doc string
		over, bad bool
	}{
		{"one statement", doc(stmt(`"*"`, `"SQS:SendMessage"`, 0)), false, false},
		{"single statement object", `{"Statement":` + stmt(`{"AWS":"*"}`, `"SQS:*"`, 0) + `}`, false, false},
		{"not an object", `[]`, false, true},
		{"no statement", `{"Version":"2012-10-17"}`, false, true},
		{"statement a string", `{"Statement":"x"}`, false, true},
		{"21 statements", doc(strings.Split(strings.Repeat(stmt(`"*"`, `"SQS:SendMessage"`, 0)+"\x00", 21), "\x00")[:21]...), true, false},
		{"51 principals", doc(stmt(`{"AWS":`+many(51)+`}`, `"SQS:SendMessage"`, 0)), true, false},
		{"50 principals", doc(stmt(`{"AWS":`+many(50)+`}`, `"SQS:SendMessage"`, 0)), false, false},
		{"8 actions", doc(stmt(`"*"`, `["a","b","c","d","e","f","g","h"]`, 0)), true, false},
		{"11 conditions", doc(stmt(`"*"`, `"SQS:SendMessage"`, 11)), true, false},
		{"too long", doc(stmt(`"*"`, `"SQS:SendMessage"`, 0)) + strings.Repeat(" ", maxPolicyBytes), true, false},
	} {
		over, err := checkPolicy(tc.doc)
		if (over != "") != tc.over || (err != nil) != tc.bad {
			t.Errorf("%s: over %q, err %v", tc.name, over, err)
		}
	}
}

// FuzzCheckPolicy: any document is judged without a panic, and one found
// within the quotas is JSON.
func FuzzCheckPolicy(f *testing.F) {
	for _, s := range []string{`{"Statement":[]}`, `{"Statement":{"Principal":{"AWS":["a","b"]},"Action":["x"],"Condition":{"A":{"b":"c"}}}}`,
		`[]`, `{"Statement":[1,2]}`, `{"Statement":[{"Principal":{"AWS":{"nested":["x"]}}}]}`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		over, err := checkPolicy(doc)
		if err == nil && over == "" && len(doc) > maxPolicyBytes {
			t.Fatalf("a %d-byte policy passed", len(doc))
		}
	})
}

// FuzzCanonicalAttributes: whatever CreateQueue or SetQueueAttributes
// accepts is stored in a canonical form that the same check accepts again
// unchanged, so a restart or a repeated CreateQueue sees the same queue.
func FuzzCanonicalAttributes(f *testing.F) {
	names := []string{AttrDelaySeconds, AttrMaximumMessageSize, AttrMessageRetentionPeriod, AttrPolicy,
		AttrReceiveMessageWaitTime, AttrVisibilityTimeout, AttrRedrivePolicy, AttrRedriveAllowPolicy,
		AttrKmsMasterKeyID, AttrKmsDataKeyReusePeriodSeconds, AttrSqsManagedSseEnabled, AttrFifoQueue,
		AttrContentBasedDeduplication, AttrDeduplicationScope, AttrFifoThroughputLimit, AttrQueueArn}
	for _, s := range []struct {
		fifo bool
		name uint8
		v    string
	}{
		{false, 6, `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":"5"}`},
		{false, 6, `{"maxReceiveCount":5,"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq"}`},
		{false, 7, `{"redrivePermission":"byQueue","sourceQueueArns":["arn:aws:sqs:us-east-1:000000000000:a"]}`},
		{false, 0, " 900"}, {true, 12, "TRUE"}, {true, 13, "messageGroup"}, {false, 10, "False"}, {false, 3, `{"Statement":[]}`},
	} {
		f.Add(s.fifo, s.name, s.v)
	}
	f.Fuzz(func(t *testing.T, fifo bool, name uint8, v string) {
		in := map[string]string{names[int(name)%len(names)]: v}
		out, err := canonicalAttributes(fifo, in)
		if err != nil {
			return
		}
		again, err := canonicalAttributes(fifo, out)
		if err != nil {
			t.Fatalf("%v accepted as %v, which is refused: %v", in, out, err)
		}
		for k, v := range out {
			if again[k] != v {
				t.Fatalf("%v accepted as %v, then as %v", in, out, again)
			}
		}
	})
}

// TestAttributesAreUTF8: an attribute value that is not UTF-8 is refused,
// where it would have been stored and answered changed.
func TestAttributesAreUTF8(t *testing.T) {
	for _, name := range []string{AttrPolicy, AttrKmsMasterKeyID, AttrRedrivePolicy} {
		if _, err := canonicalAttributes(false, map[string]string{name: "{\"Sid\":\"a\xffb\"}"}); err == nil {
			t.Errorf("%s: invalid UTF-8 accepted", name)
		}
	}
}
