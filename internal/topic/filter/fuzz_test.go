package filter_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/forkline/forkline/internal/topic/filter"
)

// scopeOf maps a fuzzed byte to a scope, "" (the default) included.
func scopeOf(b byte) filter.Scope {
	switch b % 3 {
	case 0:
		return scopeA
	case 1:
		return scopeB
	}
	return ""
}

// fuzzMessages are fixed messages that a fuzzed policy is matched against:
// none, each attribute type, and bodies of each JSON shape.
var fuzzMessages = []*filter.Message{
	filter.NewMessage(nil, "", true),
	filter.NewMessage(attrsEx, bodyEx, true),
	filter.NewMessage(attrs{
		"key": str("value"), "k": num("5"), "a": arr(`["x", 1, true, null, {"o":1}, [2]]`),
		"b": {DataType: "Binary", Value: "AAEC"}, "n": {DataType: "Number.float", Value: "1e2"},
		"bad": arr("[not json"),
	}, `{"key":"value","a":{"b":[1,"x",null,true,{"c":[[]]}]},"a.b":-0.5}`, true),
	filter.NewMessage(nil, `[1,2]`, true),
	filter.NewMessage(nil, `null`, true),
	filter.NewMessage(nil, bodyB5b, true),
	filter.NewMessage(attrs{"key": str("")}, `{"key":""}`, false),
}

// FuzzParse checks that Parse never panics, that it only fails with a
// *filter.Error, and that a policy it
// accepts can be matched.
func FuzzParse(f *testing.F) {
	seen := map[string]bool{}
	add := func(doc string, scope filter.Scope) {
		if !seen[doc] {
			seen[doc] = true
			f.Add(doc, map[filter.Scope]byte{scopeA: 0, scopeB: 1, "": 2}[scope])
		}
	}
	for _, c := range matchCases {
		add(c.policy, c.scope)
	}
	for _, c := range invalidCases {
		add(c.policy, c.scope)
	}
	for _, c := range validCases {
		add(c.policy, c.scope)
	}
	f.Add(`{"k":[{"wildcard":"a\\*b*c\\\\"}]}`, byte(0))
	f.Add(`{"k":[{"cidr":"2001:db8::/32"},{"cidr":"fe80::1%eth0/64"}]}`, byte(1))
	f.Add(`{"k":[{"anything-but":{"wildcard":"*"}},{"anything-but":{"prefix":""}}]}`, byte(0))
	f.Add(`{"k":[{"numeric":[">=",-5e9,"<",5e9]},{"numeric":["=",5000000001]}]}`, byte(0))
	f.Add(`{"$or":[{"numeric":123},{"prefix":"abc"}]}`, byte(0))
	f.Add(`{"$or":[{"a":["x"]},{"$or":[{"b":["y"]},{"c":{"d":["z"]}}]}]}`, byte(1))
	f.Add(`{"a":{}}`, byte(1))
	f.Add(`{"a":["x"]} {}`, byte(2))
	f.Add(strings.Repeat(`{"a":`, 70)+`["x"]`+strings.Repeat(`}`, 70), byte(1))

	f.Fuzz(func(t *testing.T, doc string, sb byte) {
		scope := scopeOf(sb)
		p, err := filter.Parse(doc, scope)
		if err != nil {
			fe, ok := err.(*filter.Error) // the topic service asserts this type
			if !ok {
				t.Fatalf("Parse(%q, %q): error %T (%v), want *filter.Error", doc, scope, err, err)
			}
			if fe.Message == "" {
				t.Fatalf("Parse(%q, %q): empty error message", doc, scope)
			}
			return
		}
		if p == nil {
			t.Fatalf("Parse(%q, %q) = nil, nil", doc, scope)
		}
		want := scope
		if want == "" {
			want = scopeA
		}
		if p.Scope() != want {
			t.Fatalf("Parse(%q, %q).Scope() = %q", doc, scope, p.Scope())
		}
		for _, m := range fuzzMessages {
			p.Match(m)
		}
	})
}

// fuzzPolicies are valid policies, each operator in both scopes, over the
// attributes FuzzMatch sends: str (String), num (Number), arr
// (String.Array), bin (Binary); body-scoped ones over a few paths.
var fuzzPolicies = []struct {
	scope  filter.Scope
	policy string
}{
	{scopeA, `{"str":["x","",1,true,null],"num":[0,-1.5,1e9],"arr":["x",1,false,null]}`},
	{scopeA, `{"str":[{"prefix":"a"},{"suffix":"z"},{"equals-ignore-case":"ÄbC"}],"bin":[{"exists":false}]}`},
	{scopeA, `{"str":[{"wildcard":"*a*\\*b\\\\*"},{"wildcard":"*"},{"wildcard":""}]}`},
	{scopeA, `{"str":[{"cidr":"10.0.0.0/8"},{"cidr":"2001:db8::/32"},{"cidr":"0.0.0.0/0"}]}`},
	{scopeA, `{"num":[{"numeric":[">",0,"<=",150]},{"numeric":["=",301.5]},{"numeric":["<",-5e9]}]}`},
	{scopeA, `{"arr":[{"numeric":[">=",-1e9,"<",1e9]},{"anything-but":[100,500]}]}`},
	{scopeA, `{"str":[{"anything-but":"x"},{"anything-but":["a","b"]},{"anything-but":{"prefix":"p"}}]}`},
	{scopeA, `{"arr":[{"anything-but":{"suffix":"s"}},{"anything-but":{"wildcard":"*ball"}}],"num":[{"anything-but":1}]}`},
	{scopeA, `{"str":[{"exists":true}],"num":[{"exists":true}],"arr":[{"exists":true}],"bin":[{"exists":true}]}`},
	{scopeA, `{"$or":[{"str":["x"]},{"num":[{"numeric":[">",0]}]},{"arr":[{"exists":false}]}]}`},
	{scopeB, `{"str":["x",1,true,null],"a":{"b":[{"prefix":""}],"c":{"d":[{"exists":false}]}}}`},
	{scopeB, `{"a.b":[{"numeric":[">",0]},{"cidr":"10.0.0.0/24"},{"wildcard":"*x*"}],"$or":[{"str":[{"exists":true}]},{"a":{"c":[{"anything-but":["q"]}]}}]}`},
	{scopeB, `{"Records":{"s3":{"object":{"key":[{"prefix":"auto-"}]}},"eventName":[{"suffix":":Put"}]}}`},
	{scopeB, `{"k":[{"anything-but":[1,2]},{"equals-ignore-case":"ß"},{"exists":true}]}`},
}

// FuzzMatch checks that matching an arbitrary body and arbitrary attribute
// values never panics, and that the simplest string conditions built from
// the String value match it.
func FuzzMatch(f *testing.F) {
	seen := map[[4]string]bool{}
	add := func(body, s, n, a string) {
		if k := [4]string{body, s, n, a}; !seen[k] {
			seen[k] = true
			f.Add(body, s, n, a, "")
		}
	}
	for _, c := range matchCases {
		if c.scope == scopeB {
			add(c.body, "", "", "")
		}
		for _, a := range c.attrs {
			switch a.DataType {
			case "String":
				add("", a.Value, "", "")
			case "Number":
				add("", "", a.Value, "")
			case "String.Array":
				add("", "", "", a.Value)
			}
		}
	}
	f.Add(`{"str":"x","a":{"b":[1,[2,[3]],{"c":{"d":null}}]},"a.b":"10.0.0.1"}`, "10.1.2.3", "1e2", `["x", 1, true, null]`, "AAEC")
	f.Add(`{"k":[]}`, "2001:db8::1", "-0", `[]`, "")
	f.Add(`{"k":{"":""}}`, "a*b\\", " 150 ", `[{"o":[1]}]`, "\x00")
	f.Add(`{"k":1e400}`, "::ffff:10.0.0.1", "NaN", `[1e400]`, "")

	policies := make([]*filter.Policy, len(fuzzPolicies))
	for i, fp := range fuzzPolicies {
		p, err := filter.Parse(fp.policy, fp.scope)
		if err != nil {
			f.Fatalf("fuzz policy %d (%s): %v", i, fp.policy, err)
		}
		policies[i] = p
	}

	f.Fuzz(func(t *testing.T, body, s, n, a, b string) {
		m := filter.NewMessage(attrs{
			"str": str(s),
			"num": num(n),
			"arr": arr(a),
			"bin": {DataType: "Binary", Value: b},
		}, body, true)
		for _, p := range policies {
			p.Match(m)
		}
		if !utf8.ValidString(s) {
			return // JSON cannot carry it unchanged into a policy
		}
		q, _ := json.Marshal(s)
		wild := strings.NewReplacer(`\`, `\\`, `*`, `\*`).Replace(s)
		w, _ := json.Marshal(wild)
		docs := []string{
			`{"str":[` + string(q) + `]}`,
			`{"str":[{"equals-ignore-case":` + string(q) + `}]}`,
			`{"str":[{"prefix":` + string(q) + `}]}`,
			`{"str":[{"suffix":` + string(q) + `}]}`,
			`{"str":[{"wildcard":` + string(w) + `}]}`,
		}
		if s != "" { // exists needs a non-empty value (SNS developer guide, "Key matching")
			docs = append(docs, `{"str":[{"exists":true}]}`)
		}
		for _, doc := range docs {
			p, err := filter.Parse(doc, scopeA)
			if err != nil {
				t.Fatalf("Parse(%s): %v", doc, err)
			}
			if !p.Match(m) {
				t.Errorf("policy %s does not match String attribute %q", doc, s)
			}
		}
	})
}
