package asl

import (
	"strings"
	"testing"
)

func mustDecode(t *testing.T, s string) any {
	t.Helper()
	v, err := Decode(s)
	if err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

// Reference paths (States Language specification, "Paths").
func TestPaths(t *testing.T) {
	in := mustDecode(t, `{"foo":123,"bar":["a","b","c"],"car":{"cdr":true},"a b":{"c":1}}`)
	for _, tc := range []struct{ path, want string }{
		{"$", `{"a b":{"c":1},"bar":["a","b","c"],"car":{"cdr":true},"foo":123}`},
		{"$.foo", `123`},
		{"$.bar", `["a","b","c"]`},
		{"$.bar[1]", `"b"`},
		{"$.car.cdr", `true`},
		{"$['a b'].c", `1`},
	} {
		v, err := Select(tc.path, in, nil, "InputPath")
		if err != nil || Encode(v) != tc.want {
			t.Errorf("%s = %s, %v; want %s", tc.path, Encode(v), err, tc.want)
		}
	}
	_, err := Select("$.missing", in, nil, "InputPath")
	if e, ok := err.(*Error); !ok || e.Name != "States.Runtime" || !strings.Contains(e.Cause, "The JSONPath '$.missing' specified for the field 'InputPath' could not be found in the input") {
		t.Fatalf("missing path error = %v", err)
	}
	for _, bad := range []string{"foo", "$.a[", "$.a[1:2:0]", "$.a[?(@.b]", "$.", "$.a[x]"} {
		if _, err := ParsePath(bad); err == nil {
			t.Errorf("ParsePath(%q) accepted", bad)
		}
	}
	for _, s := range []string{"$..a", "$.a[*]", "$.a[?(@.b)]", "$.a[-1]", "$.a[0:2]"} {
		if p, err := ParsePath(s); err != nil || p.Reference() {
			t.Errorf("ParsePath(%q) = reference %v, %v; want a path that is not a reference path", s, p.Reference(), err)
		}
	}
}

// Paths beyond reference paths, as Jayway JsonPath (which Step Functions
// uses) evaluates them: the Step Functions developer guide's InputPath
// example selects "$.a[0:2]"; the States Language payload template example
// uses "$.vals[-3:]".
func TestJSONPaths(t *testing.T) {
	in := mustDecode(t, `{"a":[1,2,3],"vals":[10,20,30,40,50],"store":{"book":[{"title":"A","price":8,"tags":["x"]},{"title":"B","price":22},{"title":"C","price":12.5,"isbn":"1"}],"bike":{"price":19}},"limit":10}`)
	for _, tc := range []struct{ path, want string }{
		{"$.a[0:2]", `[1,2]`},
		{"$.vals[-3:]", `[30,40,50]`},
		{"$.vals[-1]", `50`},
		{"$.vals[::2]", `[10,30,50]`},
		{"$.vals[1,3]", `[20,40]`},
		{"$.a[*]", `[1,2,3]`},
		{"$.store.book[*].title", `["A","B","C"]`},
		{"$.store.*.price", `[19]`},
		{"$..price", `[19,8,22,12.5]`},
		{"$.store.book[?(@.price < 10)].title", `["A"]`},
		{"$.store.book[?(@.price > $.limit && @.price < 20)].title", `["C"]`},
		{"$.store.book[?(@.isbn)].title", `["C"]`},
		{"$.store.book[?(!@.isbn)].title", `["A","B"]`},
		{"$.store.book[?(@.title == 'B' || @.title =~ /c/i)].price", `[22,12.5]`},
		{"$.store.book[?(@.title in ['A','C'])].title", `["A","C"]`},
		{"$.store.book[?(@.price > 100)]", `[]`},
		{"$['store']['bike','x']", `[{"price":19}]`},
	} {
		v, err := Select(tc.path, in, nil, "InputPath")
		if err != nil || Encode(v) != tc.want {
			t.Errorf("%s = %s, %v; want %s", tc.path, Encode(v), err, tc.want)
		}
	}
	rp := "$.a[*]"
	if _, err := ApplyResultPath(&rp, in, 1); err == nil {
		t.Error("ResultPath took a path that is not a reference path")
	}
}

// ResultPath (specification, "Using paths": ResultPath examples).
func TestResultPath(t *testing.T) {
	in := mustDecode(t, `{"master":{"detail":[1,2,3]}}`)
	rp := "$.master.detail"
	out, err := ApplyResultPath(&rp, in, "hello")
	if err != nil || Encode(out) != `{"master":{"detail":"hello"}}` {
		t.Fatalf("ResultPath = %s, %v", Encode(out), err)
	}
	rp = "$.new.deep"
	out, _ = ApplyResultPath(&rp, in, 1)
	if Encode(out) != `{"master":{"detail":[1,2,3]},"new":{"deep":1}}` {
		t.Fatalf("created path = %s", Encode(out))
	}
	null := "null"
	if out, _ = ApplyResultPath(&null, in, 1); Encode(out) != Encode(in) {
		t.Fatalf("null ResultPath = %s", Encode(out))
	}
	if out, _ = ApplyResultPath(nil, in, 7); Encode(out) != "7" {
		t.Fatalf("default ResultPath = %s", Encode(out))
	}
	rp = "$.master.detail.x"
	if _, err := ApplyResultPath(&rp, in, 1); err == nil || err.(*Error).Name != "States.ResultPathMatchFailure" {
		t.Fatalf("ResultPath into an array: %v", err)
	}
}

// Payload templates and intrinsic functions (Developer Guide, "Intrinsic
// functions").
func TestRender(t *testing.T) {
	in := mustDecode(t, `{"name":"Ann","n":3,"list":[1,2,2,3],"obj":{"a":1},"s":"a,b;c","b64":"aGVsbG8="}`)
	ctx := mustDecode(t, `{"Execution":{"Name":"run-1"}}`)
	for _, tc := range []struct{ expr, want string }{
		{`$.name`, `"Ann"`},
		{`$$.Execution.Name`, `"run-1"`},
		{`States.Format('Hello, {}! You have {} items.', $.name, $.n)`, `"Hello, Ann! You have 3 items."`},
		{`States.Format('brace \{} and {}', 'x')`, `"brace {} and x"`},
		{`States.Format('back\\slash {}', 'x')`, `"back\\slash x"`},
		{`States.Format('it\'s {}', 'x')`, `"it's x"`},
		{`States.StringToJson('{"k":1}')`, `{"k":1}`},
		{`States.JsonToString($.obj)`, `"{\"a\":1}"`},
		{`States.Array('a', 1, true, $.n)`, `["a",1,true,3]`},
		{`States.ArrayPartition($.list, 3)`, `[[1,2,2],[3]]`},
		{`States.ArrayContains($.list, 2)`, `true`},
		{`States.ArrayRange(1, 9, 2)`, `[1,3,5,7,9]`},
		{`States.ArrayGetItem($.list, 3)`, `3`},
		{`States.ArrayLength($.list)`, `4`},
		{`States.ArrayUnique($.list)`, `[1,2,3]`},
		{`States.Base64Encode('hello')`, `"aGVsbG8="`},
		{`States.Base64Decode($.b64)`, `"hello"`},
		{`States.Hash('hello', 'SHA-256')`, `"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"`},
		{`States.JsonMerge($.obj, States.StringToJson('{"b":2}'), false)`, `{"a":1,"b":2}`},
		{`States.MathAdd($.n, -1)`, `2`},
		{`States.StringSplit($.s, ',;')`, `["a","b","c"]`},
	} {
		out, err := Render(map[string]any{"v.$": tc.expr}, in, ctx, "Parameters")
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if got := Encode(out.(map[string]any)["v"]); got != tc.want {
			t.Errorf("%s = %s, want %s", tc.expr, got, tc.want)
		}
	}
	id, err := Render(map[string]any{"id.$": "States.UUID()", "r.$": "States.MathRandom(1, 3)", "static": []any{"x"}}, in, ctx, "Parameters")
	if err != nil || len(id.(map[string]any)["id"].(string)) != 36 || Encode(id.(map[string]any)["static"]) != `["x"]` {
		t.Fatalf("UUID / static = %v, %v", id, err)
	}
	for _, bad := range []string{`States.Format('{} {}', 'one')`, `States.ArrayGetItem($.list, 9)`, `States.Hash('x', 'CRC32')`,
		`States.JsonMerge($.obj, $.obj, true)`, `States.Nope()`, `States.Array('unterminated)`} {
		_, err := Render(map[string]any{"v.$": bad}, in, ctx, "Parameters")
		if e, ok := err.(*Error); !ok || e.Name != "States.IntrinsicFailure" {
			t.Errorf("%s: error %v, want States.IntrinsicFailure", bad, err)
		}
	}
}

// Choice rules (specification, "Choice Rules").
func TestChoice(t *testing.T) {
	in := mustDecode(t, `{"type":"Private","value":22,"rating":{"x":1},"flag":true,"when":"2026-01-01T00:00:00Z","nothing":null,"name":"file.txt","other":22}`)
	for _, tc := range []struct {
		rule string
		want bool
	}{
		{`{"Variable":"$.type","StringEquals":"Private"}`, true},
		{`{"Variable":"$.type","StringLessThan":"Q"}`, true},
		{`{"Variable":"$.value","NumericGreaterThanEquals":20}`, true},
		{`{"Variable":"$.value","NumericLessThan":20}`, false},
		{`{"Variable":"$.value","NumericEqualsPath":"$.other"}`, true},
		{`{"Variable":"$.type","NumericEquals":1}`, false},
		{`{"Variable":"$.flag","BooleanEquals":true}`, true},
		{`{"Variable":"$.when","TimestampLessThan":"2026-06-01T00:00:00Z"}`, true},
		{`{"Variable":"$.when","IsTimestamp":true}`, true},
		{`{"Variable":"$.name","StringMatches":"*.txt"}`, true},
		{`{"Variable":"$.name","StringMatches":"file\\*"}`, false},
		{`{"Variable":"$.nothing","IsNull":true}`, true},
		{`{"Variable":"$.missing","IsPresent":false}`, true},
		{`{"Variable":"$.missing","StringEquals":"x"}`, false},
		{`{"Variable":"$.value","IsNumeric":true}`, true},
		{`{"Variable":"$.type","IsString":true}`, true},
		{`{"And":[{"Variable":"$.value","NumericGreaterThan":10},{"Variable":"$.value","NumericLessThan":30}]}`, true},
		{`{"Or":[{"Variable":"$.value","NumericGreaterThan":100},{"Variable":"$.type","StringEquals":"Private"}]}`, true},
		{`{"Not":{"Variable":"$.type","StringEquals":"Private"}}`, false},
	} {
		m := mustDecode(t, tc.rule).(map[string]any)
		r, err := ParseRule(m, false, "/States/C/Choices[0]")
		if err != nil {
			t.Errorf("%s: %v", tc.rule, err)
			continue
		}
		if got := r.Eval(in, nil); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.rule, got, tc.want)
		}
	}
	if _, err := ParseRule(mustDecode(t, `{"Variable":"$.a","StringEquals":"x"}`).(map[string]any), true, "/States/C/Choices[0]"); err == nil ||
		!strings.HasPrefix(err.Error(), "MISSING_TRANSITION_TARGET") {
		t.Fatalf("top-level rule without Next: %v", err)
	}
}
