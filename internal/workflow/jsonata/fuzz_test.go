package jsonata

import (
	"testing"
)

// FuzzEvaluate: no expression makes the parser or the evaluator panic or
// run away; failures are *Error values.
func FuzzEvaluate(f *testing.F) {
	for _, s := range []string{`Account.Order.Product[Price > 30].SKU`, `$map([1..3], function($v) { $v * 2 })`, `a{b: c[]}`,
		`($f := function($n) { $n < 1 ? 0 : $f($n - 1) }; $f(10))`, `$replace("abc", /b/, "x")`, `**.x ~> $count()`, `[1,2]^(>$)`,
		`$ ~> |a|{"b": 1}|`, `"x" & 1 & true & null`, `$sort($keys($))`} {
		f.Add(s)
	}
	input := map[string]any{"a": []any{map[string]any{"b": "k", "c": 1.0}}, "x": "y"}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Compile(src)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("%q: compile error %T", src, err)
			}
			return
		}
		if _, err := e.Evaluate(input, nil, nil); err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("%q: error %T: %v", src, err, err)
			}
		}
	})
}
