package workflow

import (
	"encoding/json"
	"testing"
)

// appendEvents writes what json.Marshal writes, so both kinds of history
// records read back the same.
func TestAppendEventsMatchesEncodingJSON(t *testing.T) {
	in := map[string]any{"a": []any{json.Number("1"), "x<y", nil}, "b": map[string]any{"c": true}}
	evs := []Event{
		{ID: 1, Timestamp: 1700000000123, Type: "ExecutionStarted", Details: map[string]any{"executionStartedEventDetails": map[string]any{"input": `{"a":1}`, "roleArn": "arn:aws:iam::000000000000:role/r"}}},
		{ID: 2, PreviousEventID: 1, Timestamp: 1700000000124, Type: "PassStateEntered", Details: map[string]any{"stateEnteredEventDetails": stateDetails{Name: "P\"1", Input: &jsonText{in}}}},
		{ID: 3, PreviousEventID: 2, Timestamp: 1700000000125, Type: "TaskScheduled", Details: map[string]any{"taskScheduledEventDetails": map[string]any{"parameters": jsonText{in}, "length": 3}}},
		{ID: 4, PreviousEventID: 3, Timestamp: 1700000000126, Type: "ParallelStateStarted"},
	}
	want, err := json.Marshal(evs)
	if err != nil {
		t.Fatal(err)
	}
	var a, b []any
	if err := json.Unmarshal(appendEvents(nil, evs), &a); err != nil {
		t.Fatalf("appendEvents wrote invalid JSON: %v\n%s", err, appendEvents(nil, evs))
	}
	json.Unmarshal(want, &b)
	ga, _ := json.Marshal(a)
	gb, _ := json.Marshal(b)
	if string(ga) != string(gb) {
		t.Fatalf("appendEvents:\n%s\njson.Marshal:\n%s", ga, gb)
	}
}
