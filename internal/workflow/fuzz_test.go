package workflow

import (
	"strings"
	"testing"
)

// FuzzParse: no definition makes the validator panic, and every refusal
// names its problem with a code.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`,
		`{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.x","NumericEquals":1,"Next":"D"}],"Default":"D"},"D":{"Type":"Succeed"}}}`,
		`{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[{"StartAt":"X","States":{"X":{"Type":"Pass","End":true}}}],"End":true}}}`,
		`{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"StartAt":"X","States":{"X":{"Type":"Pass","End":true}}},"End":true}}}`,
		`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:000000000000:function:f","Retry":[{"ErrorEquals":["States.ALL"]}],"End":true}}}`,
		`{"StartAt":"W","States":{"W":{"Type":"Wait","SecondsPath":"$.s","End":true}}}`,
		`{}`, `[]`, `{"StartAt":1}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		if _, err := Parse(doc); err != nil && !strings.Contains(err.Error(), ":") {
			t.Fatalf("refusal without a code: %v", err)
		}
	})
}
