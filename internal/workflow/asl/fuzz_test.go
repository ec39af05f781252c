package asl

import (
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// FuzzPath: no path text makes the parser or Get panic.
func FuzzPath(f *testing.F) {
	for _, s := range []string{"$", "$.a.b[0]", "$$.Execution.Id", "$['a b'][2]", "$.a[", "$..x", "$.a[*]"} {
		f.Add(s)
	}
	in := map[string]any{"a": map[string]any{"b": []any{"x"}}}
	f.Fuzz(func(t *testing.T, s string) {
		if p, err := ParsePath(s); err == nil {
			p.Get(in)
			rp := s
			ApplyResultPath(&rp, in, 1)
		}
	})
}

// FuzzIntrinsic: no intrinsic expression makes the parser or evaluator
// panic; failures are States errors.
func FuzzIntrinsic(f *testing.F) {
	for _, s := range []string{"States.Format('a {}', $.x)", "States.Array(1, 'b', States.UUID())", "States.ArrayRange(1, 10, 3)",
		"States.JsonMerge($.o, $.o, false)", "States.Hash($.x, 'MD5')", "States.StringSplit('a,b', ',')", "States.MathAdd(1, 2.5)"} {
		f.Add(s)
	}
	in := map[string]any{"x": "v", "o": map[string]any{"k": 1.0}}
	f.Fuzz(func(t *testing.T, s string) {
		_, err := Render(map[string]any{"v.$": s}, in, in, "Parameters")
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("%q: error %T is not a States error", s, err)
			}
		}
	})
}

// FuzzEncode: the hand-written encoder writes what encoding/json writes
// (without HTML escaping) for every JSON document.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{`{"b":[1,2.5e10,"x\u2028y"],"a":null,"c":{"<&>":true}}`, `"\u0001\t\"\\"`, `[]`, `{}`, `-0.0`, "\"\xff\"", `"é😀"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Decode(s)
		if err != nil {
			return
		}
		var w strings.Builder
		enc := json.NewEncoder(&w)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return
		}
		if got, want := Encode(v), strings.TrimSuffix(w.String(), "\n"); got != want {
			t.Fatalf("Encode(%q) = %s, encoding/json %s", s, got, want)
		}
	})
}

// FuzzDecode: the hand-written decoder accepts what encoding/json accepts
// and gives the same value.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"a":[1,-2.5e+3,"x\u00e9\ud83d\ude00"],"b":{"c":null,"d":true}}`, `"\ud800x"`, `"\ud800\u0041"`, "\"\xff\"", ` [ ] `, `{}x`, `01`, `1.`, `-`, `"\/"`, `[1,]`, `{"a" 1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Decode(s)
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var want any
		werr := dec.Decode(&want)
		if werr == nil && dec.More() {
			werr = errors.New("trailing data")
		}
		if werr == nil {
			// encoding/json accepts trailing whitespace only.
			if _, terr := dec.Token(); terr != io.EOF {
				werr = errors.New("trailing data")
			}
		}
		if (err == nil) != (werr == nil) {
			t.Fatalf("Decode(%q): err %v, encoding/json %v", s, err, werr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("Decode(%q) = %#v, encoding/json %#v", s, got, want)
		}
	})
}

// FuzzJSONPath: no JSONPath (filters included) makes the parser or the
// evaluator panic.
func FuzzJSONPath(f *testing.F) {
	for _, s := range []string{"$..price", "$.a[?(@.b > 1 && @.c =~ /x/i)]", "$.a[-2:]", "$.a[1,2]", "$['x','y']", "$.a[?(@.t in ['a', 1])]", "$.*", "$..[0]"} {
		f.Add(s)
	}
	in := map[string]any{"a": []any{map[string]any{"b": json.Number("2"), "c": "x", "t": "a"}, json.Number("1")}, "x": "y"}
	f.Fuzz(func(t *testing.T, s string) {
		if p, err := ParsePath(s); err == nil {
			p.Get(in)
		}
	})
}
