package asl

import "testing"

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
