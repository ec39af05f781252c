package awsjson

import "testing"

// TestDecodeExactNames: with DecodeExact, members are named exactly, as in AWS's JSON
// protocols; a name that differs in case is an unknown member, ignored
// (map keys are data and keep their case).
func TestDecodeExactNames(t *testing.T) {
	type entry struct {
		Id   string
		Body *string `json:"MessageBody"`
	}
	var v struct {
		QueueUrl   string
		Attributes map[string]string
		Entries    []entry
		Tags       map[string]string `json:"tags"`
	}
	body := `{"queueurl":"x","Attributes":{"visibilitytimeout":"1"},"Entries":[{"id":"a","MessageBody":"b"},{"Id":"c"}],"Tags":{"k":"v"}}`
	if err := DecodeExact([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	if v.QueueUrl != "" || v.Attributes["visibilitytimeout"] != "1" || len(v.Entries) != 2 || v.Entries[0].Id != "" ||
		v.Entries[0].Body == nil || *v.Entries[0].Body != "b" || v.Entries[1].Id != "c" || v.Tags != nil {
		t.Fatalf("decoded %+v", v)
	}
	// Large integers keep their value through the rewrite.
	var n struct {
		N int64
		X string
	}
	if err := DecodeExact([]byte(`{"N":9007199254740993,"x":"dropped"}`), &n); err != nil || n.N != 9007199254740993 || n.X != "" {
		t.Fatalf("decoded %+v, %v", n, err)
	}
}
