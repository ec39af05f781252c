package template

import (
	"encoding/json"
	"strings"
	"testing"
)

func mustParse(t *testing.T, body string) *Template {
	t.Helper()
	tpl, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// Parameters with their types and constraints (user guide,
// "Parameters": the properties and their error messages).
func TestParameters(t *testing.T) {
	tpl := mustParse(t, `Parameters:
  Env: {Type: String, AllowedValues: [dev, prod], Default: dev}
  Size: {Type: Number, MinValue: 1, MaxValue: 10}
  Name: {Type: String, AllowedPattern: "[a-z]+", MinLength: 2, MaxLength: 5, ConstraintDescription: lowercase letters}
  Subnets: {Type: CommaDelimitedList, Default: "a, b"}
Resources: {Q: {Type: AWS::SQS::Queue}}
`)
	got, err := tpl.ResolveParameters(map[string]string{"Size": "3", "Name": "abc"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	if string(b) != `{"Env":"dev","Name":"abc","Size":"3","Subnets":["a","b"]}` {
		t.Fatalf("parameters: %s", b)
	}
	for given, want := range map[string]string{
		"Size=3":                  "Parameters: [Name] must have values",
		"Size=3,Name=abc,Env=qa":  "Parameter 'Env' must be one of AllowedValues",
		"Size=30,Name=abc":        "Parameter 'Size' must be a number not greater than 10",
		"Size=x,Name=abc":         "Parameter 'Size' must be a number.",
		"Size=3,Name=ABC":         "Parameter 'Name' failed to satisfy constraint: lowercase letters",
		"Size=3,Name=abc,Other=1": "Parameters: [Other] do not exist in the template",
	} {
		m := map[string]string{}
		for _, kv := range strings.Split(given, ",") {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = v
		}
		if _, err := tpl.ResolveParameters(m); err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", given, err, want)
		}
	}
}

// Conditions and the intrinsic functions (user guide, "Intrinsic
// function reference"; the examples of each function's page).
func TestIntrinsics(t *testing.T) {
	tpl := mustParse(t, `Parameters:
  Env: {Type: String, Default: prod}
Mappings:
  Sizes: {prod: {Count: 3}, dev: {Count: 1}}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
  Both: !And [!Condition IsProd, !Equals [1, "1"]]
Resources: {Q: {Type: AWS::SQS::Queue}}
`)
	params, _ := tpl.ResolveParameters(nil)
	e := &Env{Params: params, Region: "us-east-1", Mappings: tpl.Doc["Mappings"].(map[string]any),
		Pseudo: map[string]any{"AWS::Region": "us-east-1", "AWS::AccountId": "000000000000", "AWS::StackName": "s"},
		Ref:    func(r string) (any, error) { return "phys-" + r, nil },
		GetAtt: func(r, a string) (any, error) { return r + "/" + a, nil },
		Import: func(n string) (string, error) { return "imported-" + n, nil }}
	if err := tpl.EvaluateConditions(e); err != nil {
		t.Fatal(err)
	}
	if !e.Conditions["IsProd"] || e.Conditions["IsDev"] || !e.Conditions["Both"] {
		t.Fatalf("conditions: %v", e.Conditions)
	}
	for expr, want := range map[string]string{
		`{"Ref": "Env"}`:               `"prod"`,
		`{"Ref": "Q"}`:                 `"phys-Q"`,
		`{"Fn::GetAtt": ["Q", "Arn"]}`: `"Q/Arn"`,
		`{"Fn::Sub": "${AWS::StackName}-${Env}-${Q.Arn}-${!Literal}"}`:       `"s-prod-Q/Arn-${Literal}"`,
		`{"Fn::Sub": ["${A}-${Env}", {"A": {"Ref": "Q"}}]}`:                  `"phys-Q-prod"`,
		`{"Fn::Join": [":", ["a", {"Ref": "Env"}, "c"]]}`:                    `"a:prod:c"`,
		`{"Fn::Select": ["1", {"Fn::Split": [",", "x,y,z"]}]}`:               `"y"`,
		`{"Fn::If": ["IsProd", "big", "small"]}`:                             `"big"`,
		`{"A": {"Fn::If": ["IsDev", "x", {"Ref": "AWS::NoValue"}]}, "B": 1}`: `{"B":1}`,
		`{"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "Count"]}`:              `3`,
		`{"Fn::FindInMap": ["Sizes", "qa", "Count", {"DefaultValue": 0}]}`:   `0`,
		`{"Fn::GetAZs": ""}`:                      `["us-east-1a","us-east-1b","us-east-1c"]`,
		`{"Fn::Base64": "hello"}`:                 `"aGVsbG8="`,
		`{"Fn::Cidr": ["10.0.0.0/16", "3", "8"]}`: `["10.0.0.0/24","10.0.1.0/24","10.0.2.0/24"]`,
		`{"Fn::ImportValue": "shared"}`:           `"imported-shared"`,
		`{"Fn::Length": [1, 2, 3]}`:               `3`,
		`{"Fn::ToJsonString": {"a": [1]}}`:        `"{\"a\":[1]}"`,
		`["a", {"Ref": "AWS::NoValue"}, "b"]`:     `["a","b"]`,
	} {
		var v any
		dec := json.NewDecoder(strings.NewReader(expr))
		dec.UseNumber()
		dec.Decode(&v)
		got, err := e.Resolve(v)
		if err != nil {
			t.Errorf("%s: %v", expr, err)
			continue
		}
		b, _ := json.Marshal(got)
		if string(b) != want {
			t.Errorf("%s = %s, want %s", expr, b, want)
		}
	}
	for _, bad := range []string{`{"Fn::Select": ["5", ["a"]]}`, `{"Fn::FindInMap": ["Sizes", "qa", "Count"]}`, `{"Ref": "AWS::Nope"}`, `{"Fn::Bogus": 1}`} {
		var v any
		json.Unmarshal([]byte(bad), &v)
		if _, err := e.Resolve(v); err == nil {
			t.Errorf("%s resolved", bad)
		}
	}
}

func TestOrder(t *testing.T) {
	tpl := mustParse(t, `Resources:
  Sub: {Type: AWS::SNS::Subscription, Properties: {TopicArn: !Ref Topic, Endpoint: !GetAtt Queue.Arn}}
  Topic: {Type: AWS::SNS::Topic}
  Queue: {Type: AWS::SQS::Queue, DependsOn: Topic}
`)
	order, err := tpl.Order()
	if err != nil || strings.Join(order, ",") != "Topic,Queue,Sub" {
		t.Fatalf("order %v, %v", order, err)
	}
	cyc := mustParse(t, "Resources:\n  A: {Type: X, Properties: {P: !Ref B}}\n  B: {Type: X, Properties: {P: !GetAtt A.Arn}}\n")
	if _, err := cyc.Order(); err == nil || !strings.Contains(err.Error(), "Circular dependency") {
		t.Fatalf("cycle: %v", err)
	}
	missing := mustParse(t, "Resources:\n  A: {Type: X, Properties: {P: !Ref Nope}}\n")
	if _, err := missing.Order(); err == nil || !strings.Contains(err.Error(), "Unresolved resource dependencies [Nope]") {
		t.Fatalf("missing: %v", err)
	}
}

// FuzzResolve: no value makes the intrinsic evaluator panic; failures are
// *Error.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{`{"Fn::Sub": "${A}-${B.C}-${!D}"}`, `{"Fn::Select": ["0", {"Fn::Split": [",", "a,b"]}]}`,
		`{"Fn::If": ["C", {"Ref": "AWS::NoValue"}, [1]]}`, `{"Fn::Cidr": ["10.0.0.0/8", "4", "4"]}`, `{"Fn::FindInMap": ["M", "a", "b", {"DefaultValue": 1}]}`,
		`{"Fn::Join": ["", [{"Fn::Base64": "x"}, {"Fn::Length": [1]}]]}`, `{"Fn::Equals": [1, {"Fn::Not": [{"Condition": "C"}]}]}`} {
		f.Add(s)
	}
	e := &Env{Params: map[string]any{"A": "a", "L": []any{"x"}}, Pseudo: map[string]any{"AWS::Region": "r"}, Conditions: map[string]bool{"C": true},
		Mappings: map[string]any{"M": map[string]any{"a": map[string]any{"b": "v"}}}, Region: "r",
		Ref: func(string) (any, error) { return "p", nil }, GetAtt: func(string, string) (any, error) { return "g", nil },
		Import: func(string) (string, error) { return "i", nil }}
	f.Fuzz(func(t *testing.T, s string) {
		var v any
		if json.Unmarshal([]byte(s), &v) != nil {
			return
		}
		if _, err := e.Resolve(v); err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("%s: error %T", s, err)
			}
		}
	})
}
