package jsonata

import (
	"encoding/json"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"
)

// undefinedType is the type of Undefined.
type undefinedType struct{}

// Undefined is the result of an expression that selects nothing; it is not
// JSON null.
var Undefined any = undefinedType{}

// Expr is a compiled expression; it is safe for concurrent use.
type Expr struct {
	root *node
	src  string
}

// Limits bound an evaluation.
const (
	maxDepth   = 500
	maxRuntime = 5 * time.Second
)

// Evaluate runs the expression on input with the variables given (names
// without the $) and the extra functions.
func (e *Expr) Evaluate(input any, vars map[string]any, funcs map[string]Function) (any, error) {
	ev := &evaluator{root: input, deadline: time.Now().Add(maxRuntime), extra: funcs}
	env := &frame{vars: map[string]any{}}
	for k, v := range vars {
		env.vars[k] = v
	}
	v, err := ev.eval(e.root, input, env)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// Function is a function the caller adds: its arguments are evaluated
// values (Undefined where absent or undefined).
type Function func(args []any) (any, error)

type frame struct {
	vars   map[string]any
	parent *frame
}

func (f *frame) lookup(name string) (any, bool) {
	for ; f != nil; f = f.parent {
		if v, ok := f.vars[name]; ok {
			return v, true
		}
	}
	return nil, false
}

type evaluator struct {
	root     any
	depth    int
	steps    int
	deadline time.Time
	extra    map[string]Function
}

// lambda is a function defined in an expression.
type lambda struct {
	params []string
	body   *node
	env    *frame
	input  any
}

// builtin is a library function.
type builtin struct {
	name string
	// context: called with fewer than min arguments, the context value
	// comes first.
	context bool
	min     int
	fn      func(ev *evaluator, args []any) (any, error)
}

// partial is a function with some arguments fixed.
type partial struct {
	fn   any
	args []any // nil entries (placeholder) are filled by the call
	hole []bool
}

// regexValue is a regular expression used as a function or argument.
type regexValue struct{ re *regexp.Regexp }

func isFunction(v any) bool {
	switch v.(type) {
	case *lambda, *builtin, *partial, *regexValue, Function:
		return true
	}
	return false
}

func collapse(seq []any, keep bool) any {
	switch {
	case len(seq) == 0:
		return Undefined
	case len(seq) == 1 && !keep:
		return seq[0]
	}
	return seq
}

func (ev *evaluator) check(n *node) error {
	ev.steps++
	if ev.steps&255 == 0 && time.Now().After(ev.deadline) {
		return errorAt("U1001", n.pos, "The expression took longer than %s to evaluate", maxRuntime)
	}
	if ev.depth > maxDepth {
		return errorAt("U1001", n.pos, "Stack overflow error: check for non-terminating recursive function; consider rewriting as tail-recursive")
	}
	return nil
}

func (ev *evaluator) eval(n *node, input any, env *frame) (any, error) {
	v, err := ev.eval0(n, input, env)
	if err == nil && n.keep && n.kind != nPath && v != Undefined {
		if _, ok := v.([]any); !ok {
			v = []any{v}
		}
	}
	return v, err
}

func (ev *evaluator) eval0(n *node, input any, env *frame) (any, error) {
	if err := ev.check(n); err != nil {
		return nil, err
	}
	ev.depth++
	defer func() { ev.depth-- }()
	switch n.kind {
	case nNumber:
		return n.num, nil
	case nString:
		return n.str, nil
	case nValue:
		switch n.str {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, nil
	case nRegex:
		return &regexValue{n.re}, nil
	case nName:
		return lookup(input, n.str), nil
	case nWildcard:
		return wildcard(input), nil
	case nDescendant:
		var out []any
		descendants(input, &out)
		return collapse(out, false), nil
	case nVariable:
		switch n.str {
		case "":
			return input, nil
		case "$":
			return ev.root, nil
		}
		if v, ok := env.lookup(n.str); ok {
			return v, nil
		}
		if b := library[n.str]; b != nil {
			return b, nil
		}
		if f, ok := ev.extra[n.str]; ok {
			return f, nil
		}
		return Undefined, nil
	case nPath:
		return ev.path(n, input, env)
	case nFilter:
		v, err := ev.eval(n.lhs, input, env)
		if err != nil || v == Undefined {
			return v, err
		}
		return ev.filter(n.rhs, v, env, n.keep || n.lhs.keep)
	case nBinary:
		return ev.binary(n, input, env)
	case nNegate:
		v, err := ev.eval(n.lhs, input, env)
		if err != nil || v == Undefined {
			return v, err
		}
		f, ok := toNumber(v)
		if !ok {
			return nil, errorAt("D1002", n.pos, "Cannot negate a non-numeric value: %s", show(v))
		}
		return -f, nil
	case nArray:
		out := []any{}
		for _, item := range n.items {
			if item.kind == nRange {
				r, err := ev.rangeOf(item, input, env)
				if err != nil {
					return nil, err
				}
				out = append(out, r...)
				continue
			}
			v, err := ev.eval(item, input, env)
			if err != nil {
				return nil, err
			}
			if v == Undefined {
				continue
			}
			if arr, ok := v.([]any); ok && item.kind != nArray {
				out = append(out, arr...)
				continue
			}
			out = append(out, v)
		}
		return out, nil
	case nObject:
		return ev.object(n.pairs, input, env)
	case nGroup:
		v, err := ev.eval(n.lhs, input, env)
		if err != nil {
			return nil, err
		}
		if v == Undefined {
			return Undefined, nil
		}
		return ev.object(n.pairs, v, env)
	case nCall:
		return ev.callNode(n, input, env, nil)
	case nLambda:
		return &lambda{params: n.params, body: n.body, env: env, input: input}, nil
	case nCondition:
		c, err := ev.eval(n.cond, input, env)
		if err != nil {
			return nil, err
		}
		if truthy(c) {
			return ev.eval(n.then, input, env)
		}
		if n.els == nil {
			return Undefined, nil
		}
		return ev.eval(n.els, input, env)
	case nCoalesce:
		v, err := ev.eval(n.lhs, input, env)
		if err != nil {
			return nil, err
		}
		if v != Undefined && v != nil {
			return v, nil
		}
		return ev.eval(n.rhs, input, env)
	case nElvis:
		v, err := ev.eval(n.lhs, input, env)
		if err != nil {
			return nil, err
		}
		if truthy(v) {
			return v, nil
		}
		return ev.eval(n.rhs, input, env)
	case nBind:
		v, err := ev.eval(n.rhs, input, env)
		if err != nil {
			return nil, err
		}
		env.vars[n.lhs.str] = v
		return v, nil
	case nBlock:
		inner := &frame{vars: map[string]any{}, parent: env}
		var v any = Undefined
		for _, item := range n.items {
			var err error
			if v, err = ev.eval(item, input, inner); err != nil {
				return nil, err
			}
		}
		return v, nil
	case nApply:
		return ev.apply(n, input, env)
	case nSort:
		return ev.sort(n, input, env)
	case nRange:
		r, err := ev.rangeOf(n, input, env)
		return r, err
	case nTransform:
		return &builtin{name: "transform", min: 1, fn: func(ev2 *evaluator, args []any) (any, error) {
			return ev.transform(n, args[0], env)
		}}, nil
	case nPlaceholder:
		return nil, errorAt("S0201", n.pos, "Syntax error: ?")
	case nParent:
		return nil, errorAt("S0217", n.pos, "The parent operator %% is not supported by forkline")
	}
	return nil, errorAt("S0201", n.pos, "Syntax error")
}

// lookup finds a field in an object, or in each object of an array.
func lookup(input any, name string) any {
	switch x := input.(type) {
	case map[string]any:
		if v, ok := x[name]; ok {
			return v
		}
	case []any:
		var out []any
		for _, e := range x {
			v := lookup(e, name)
			if v == Undefined {
				continue
			}
			if arr, ok := v.([]any); ok {
				out = append(out, arr...)
			} else {
				out = append(out, v)
			}
		}
		return collapse(out, false)
	}
	return Undefined
}

func wildcard(input any) any {
	var out []any
	add := func(v any) {
		if arr, ok := v.([]any); ok {
			out = append(out, flattenAll(arr)...)
		} else {
			out = append(out, v)
		}
	}
	switch x := input.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			add(x[k])
		}
	case []any:
		for _, e := range x {
			if v := wildcard(e); v != Undefined {
				add(v)
			}
		}
	}
	return collapse(out, false)
}

func flattenAll(arr []any) []any {
	var out []any
	for _, e := range arr {
		if a, ok := e.([]any); ok {
			out = append(out, flattenAll(a)...)
		} else {
			out = append(out, e)
		}
	}
	return out
}

func descendants(v any, out *[]any) {
	switch x := v.(type) {
	case map[string]any:
		*out = append(*out, x)
		for _, k := range sortedKeys(x) {
			descendants(x[k], out)
		}
	case []any:
		for _, e := range x {
			descendants(e, out)
		}
	default:
		if v != Undefined {
			*out = append(*out, v)
		}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (ev *evaluator) path(n *node, input any, env *frame) (any, error) {
	var seq []any
	if arr, ok := input.([]any); ok && n.items[0].kind != nVariable {
		seq = arr
	} else {
		seq = []any{input}
	}
	for i, step := range n.items {
		last := i == len(n.items)-1
		// Named bindings (@ and #) are not supported: they need the
		// tuple streams of JSONata's path evaluation.
		if step.focus != "" || step.index != "" {
			return nil, errorAt("S0217", step.pos, "The @ and # bindings are not supported by forkline")
		}
		var out []any
		for _, item := range seq {
			v, err := ev.eval(step, item, env)
			if err != nil {
				return nil, err
			}
			if v != Undefined {
				out = append(out, v)
			}
		}
		var next []any
		if last && len(out) == 1 && step.kind == nArray {
			next, _ = out[0].([]any)
			if next == nil {
				next = out
			}
		} else {
			for _, v := range out {
				if arr, ok := v.([]any); ok && step.kind != nArray {
					next = append(next, arr...)
				} else {
					next = append(next, v)
				}
			}
		}
		seq = next
		if len(seq) == 0 {
			break
		}
	}
	return collapse(seq, n.keep), nil
}

// filter applies a predicate: a number selects by index (negative from
// the end), anything else keeps the items for which it is true.
func (ev *evaluator) filter(pred *node, v any, env *frame, keep bool) (any, error) {
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	if pred.kind == nNumber {
		i := int(math.Floor(pred.num))
		if i < 0 {
			i += len(items)
		}
		if i < 0 || i >= len(items) {
			return Undefined, nil
		}
		return collapse([]any{items[i]}, keep), nil
	}
	var out []any
	for i, item := range items {
		r, err := ev.eval(pred, item, env)
		if err != nil {
			return nil, err
		}
		if f, ok := toNumber(r); ok && !isBool(r) {
			idx := int(math.Floor(f))
			if idx < 0 {
				idx += len(items)
			}
			if idx == i {
				out = append(out, item)
			}
			continue
		}
		if arr, ok := r.([]any); ok && len(arr) > 0 && allNumbers(arr) {
			for _, x := range arr {
				f, _ := toNumber(x)
				idx := int(math.Floor(f))
				if idx < 0 {
					idx += len(items)
				}
				if idx == i {
					out = append(out, item)
					break
				}
			}
			continue
		}
		if truthy(r) {
			out = append(out, item)
		}
	}
	return collapse(out, keep), nil
}

func isBool(v any) bool { _, ok := v.(bool); return ok }

func allNumbers(arr []any) bool {
	for _, x := range arr {
		if _, ok := toNumber(x); !ok || isBool(x) {
			return false
		}
	}
	return true
}

func (ev *evaluator) rangeOf(n *node, input any, env *frame) ([]any, error) {
	l, err := ev.eval(n.lhs, input, env)
	if err != nil {
		return nil, err
	}
	r, err := ev.eval(n.rhs, input, env)
	if err != nil {
		return nil, err
	}
	if l == Undefined || r == Undefined {
		return nil, nil
	}
	a, aok := toNumber(l)
	b, bok := toNumber(r)
	if !aok || a != math.Trunc(a) {
		return nil, errorAt("T2003", n.pos, "The left side of the range operator (..) must evaluate to an integer")
	}
	if !bok || b != math.Trunc(b) {
		return nil, errorAt("T2004", n.pos, "The right side of the range operator (..) must evaluate to an integer")
	}
	if b-a >= 1e7 {
		return nil, errorAt("D2014", n.pos, "The size of the sequence allocated by the range operator (..) must not exceed 1e7")
	}
	var out []any
	for i := a; i <= b; i++ {
		out = append(out, i)
	}
	return out, nil
}

// object builds an object; over an array, items are grouped by their key
// and each value is evaluated on its group.
func (ev *evaluator) object(pairs [][2]*node, input any, env *frame) (any, error) {
	items, ok := input.([]any)
	if !ok {
		items = []any{input}
	}
	type group struct {
		items []any
		pair  int
	}
	groups := map[string]*group{}
	var order []string
	for _, item := range items {
		for i, p := range pairs {
			k, err := ev.eval(p[0], item, env)
			if err != nil {
				return nil, err
			}
			if k == Undefined {
				continue
			}
			key, ok := k.(string)
			if !ok {
				return nil, errorAt("T1003", p[0].pos, "Key in object structure must evaluate to a string; got: %s", show(k))
			}
			g := groups[key]
			if g == nil {
				g = &group{pair: i}
				groups[key] = g
				order = append(order, key)
			} else if g.pair != i {
				return nil, errorAt("D1009", p[0].pos, "Multiple key definitions evaluate to same key: %q", key)
			}
			g.items = append(g.items, item)
		}
	}
	out := map[string]any{}
	for _, key := range order {
		g := groups[key]
		ctx := collapse(g.items, false)
		v, err := ev.eval(pairs[g.pair][1], ctx, env)
		if err != nil {
			return nil, err
		}
		if v != Undefined {
			out[key] = v
		}
	}
	return out, nil
}

func (ev *evaluator) sort(n *node, input any, env *frame) (any, error) {
	v, err := ev.eval(n.lhs, input, env)
	if err != nil || v == Undefined {
		return v, err
	}
	items, ok := v.([]any)
	if !ok {
		return v, nil
	}
	type keyed struct {
		item any
		keys []any
	}
	ks := make([]keyed, len(items))
	for i, item := range items {
		ks[i].item = item
		for _, t := range n.terms {
			k, err := ev.eval(t.expr, item, env)
			if err != nil {
				return nil, err
			}
			ks[i].keys = append(ks[i].keys, k)
		}
	}
	var sortErr error
	sort.SliceStable(ks, func(a, b int) bool {
		for i, t := range n.terms {
			x, y := ks[a].keys[i], ks[b].keys[i]
			if x == Undefined || y == Undefined {
				if x == y {
					continue
				}
				return y == Undefined // undefined sorts last
			}
			c, err := compareValues(x, y)
			if err != nil {
				sortErr = errorAt("T2008", t.expr.pos, "The expressions within an order-by clause must evaluate to numeric or string values")
				return false
			}
			if c == 0 {
				continue
			}
			if t.desc {
				return c > 0
			}
			return c < 0
		}
		return false
	})
	if sortErr != nil {
		return nil, sortErr
	}
	out := make([]any, len(ks))
	for i := range ks {
		out[i] = ks[i].item
	}
	return out, nil
}

func compareValues(x, y any) (int, error) {
	if a, ok := toNumber(x); ok && !isBool(x) {
		if b, ok := toNumber(y); ok && !isBool(y) {
			switch {
			case a < b:
				return -1, nil
			case a > b:
				return 1, nil
			}
			return 0, nil
		}
	}
	if a, ok := x.(string); ok {
		if b, ok := y.(string); ok {
			return strings.Compare(a, b), nil
		}
	}
	return 0, errorAt("T2008", 0, "not comparable")
}

func (ev *evaluator) binary(n *node, input any, env *frame) (any, error) {
	switch n.op {
	case "and", "or":
		l, err := ev.eval(n.lhs, input, env)
		if err != nil {
			return nil, err
		}
		lt := truthy(l)
		if n.op == "and" && !lt {
			return false, nil
		}
		if n.op == "or" && lt {
			return true, nil
		}
		r, err := ev.eval(n.rhs, input, env)
		if err != nil {
			return nil, err
		}
		return truthy(r), nil
	}
	l, err := ev.eval(n.lhs, input, env)
	if err != nil {
		return nil, err
	}
	r, err := ev.eval(n.rhs, input, env)
	if err != nil {
		return nil, err
	}
	switch n.op {
	case "+", "-", "*", "/", "%":
		if l == Undefined || r == Undefined {
			if l != Undefined {
				if _, ok := toNumber(l); !ok || isBool(l) {
					return nil, errorAt("T2001", n.lhs.pos, "The left side of the %q operator must evaluate to a number", n.op)
				}
			}
			if r != Undefined {
				if _, ok := toNumber(r); !ok || isBool(r) {
					return nil, errorAt("T2002", n.rhs.pos, "The right side of the %q operator must evaluate to a number", n.op)
				}
			}
			return Undefined, nil
		}
		a, ok := toNumber(l)
		if !ok || isBool(l) {
			return nil, errorAt("T2001", n.lhs.pos, "The left side of the %q operator must evaluate to a number", n.op)
		}
		b, ok := toNumber(r)
		if !ok || isBool(r) {
			return nil, errorAt("T2002", n.rhs.pos, "The right side of the %q operator must evaluate to a number", n.op)
		}
		var v float64
		switch n.op {
		case "+":
			v = a + b
		case "-":
			v = a - b
		case "*":
			v = a * b
		case "/":
			v = a / b
		case "%":
			v = math.Mod(a, b)
		}
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, errorAt("D1001", n.pos, "Number out of range: %v", v)
		}
		return v, nil
	case "&":
		ls, err := stringify(l)
		if err != nil {
			return nil, err
		}
		rs, err := stringify(r)
		if err != nil {
			return nil, err
		}
		return ls + rs, nil
	case "=":
		if l == Undefined || r == Undefined {
			return false, nil
		}
		return deepEqual(l, r), nil
	case "!=":
		if l == Undefined || r == Undefined {
			return false, nil
		}
		return !deepEqual(l, r), nil
	case "<", "<=", ">", ">=":
		if l == Undefined || r == Undefined {
			return false, nil
		}
		lok := isString(l) || isNum(l)
		rok := isString(r) || isNum(r)
		if !lok || !rok || isString(l) != isString(r) {
			return nil, errorAt("T2010", n.pos, "The expressions either side of operator %q must evaluate to numeric or string values", n.op)
		}
		c, _ := compareValues(l, r)
		switch n.op {
		case "<":
			return c < 0, nil
		case "<=":
			return c <= 0, nil
		case ">":
			return c > 0, nil
		}
		return c >= 0, nil
	case "in":
		if l == Undefined || r == Undefined {
			return false, nil
		}
		arr, ok := r.([]any)
		if !ok {
			arr = []any{r}
		}
		for _, x := range arr {
			if deepEqual(l, x) {
				return true, nil
			}
		}
		return false, nil
	}
	return nil, errorAt("S0201", n.pos, "Unknown operator %q", n.op)
}

func isString(v any) bool { _, ok := v.(string); return ok }
func isNum(v any) bool    { _, ok := toNumber(v); return ok && !isBool(v) }

func toNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

// truthy is JSONata's $boolean.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case undefinedType:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case []any:
		for _, e := range x {
			if truthy(e) {
				return true
			}
		}
		return false
	case map[string]any:
		return len(x) > 0
	}
	if f, ok := toNumber(v); ok {
		return f != 0
	}
	return false
}

func deepEqual(a, b any) bool {
	if x, ok := toNumber(a); ok && !isBool(a) {
		y, ok := toNumber(b)
		return ok && !isBool(b) && x == y
	}
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case nil:
		return b == nil
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !deepEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !deepEqual(v, w) {
				return false
			}
		}
		return true
	}
	return false
}

// apply is the ~> operator.
func (ev *evaluator) apply(n *node, input any, env *frame) (any, error) {
	l, err := ev.eval(n.lhs, input, env)
	if err != nil {
		return nil, err
	}
	if n.rhs.kind == nCall {
		return ev.callNode(n.rhs, input, env, []any{l})
	}
	r, err := ev.eval(n.rhs, input, env)
	if err != nil {
		return nil, err
	}
	if !isFunction(r) {
		return nil, errorAt("T2006", n.rhs.pos, "The right side of the function application operator ~> must be a function")
	}
	if isFunction(l) {
		// Composition: a new function applying l then r.
		f, g := l, r
		return &builtin{name: "composition", min: 1, fn: func(ev2 *evaluator, args []any) (any, error) {
			v, err := ev2.call(f, args, n.pos)
			if err != nil {
				return nil, err
			}
			return ev2.call(g, []any{v}, n.pos)
		}}, nil
	}
	return ev.call(r, []any{l}, n.pos)
}

func (ev *evaluator) callNode(n *node, input any, env *frame, first []any) (any, error) {
	fn, err := ev.eval(n.lhs, input, env)
	if err != nil {
		return nil, err
	}
	if !isFunction(fn) {
		name := ""
		if n.lhs.kind == nVariable {
			name = "$" + n.lhs.str
		}
		return nil, errorAt("T1006", n.pos, "Attempted to invoke a non-function %s", name)
	}
	args := append([]any(nil), first...)
	var holes []bool
	if n.partial {
		holes = make([]bool, len(first))
	}
	for _, a := range n.items {
		if a.kind == nPlaceholder {
			args = append(args, nil)
			holes = append(holes, true)
			continue
		}
		v, err := ev.eval(a, input, env)
		if err != nil {
			return nil, err
		}
		args = append(args, v)
		if n.partial {
			holes = append(holes, false)
		}
	}
	if n.partial {
		return &partial{fn: fn, args: args, hole: holes}, nil
	}
	if b, ok := fn.(*builtin); ok && b.context && len(args) < b.min {
		args = append([]any{input}, args...)
	}
	return ev.call(fn, args, n.pos)
}

// call invokes a function value.
func (ev *evaluator) call(fn any, args []any, pos int) (any, error) {
	ev.depth++
	defer func() { ev.depth-- }()
	if ev.depth > maxDepth {
		return nil, errorAt("U1001", pos, "Stack overflow error: check for non-terminating recursive function; consider rewriting as tail-recursive")
	}
	switch f := fn.(type) {
	case *lambda:
		env := &frame{vars: map[string]any{}, parent: f.env}
		for i, p := range f.params {
			if i < len(args) {
				env.vars[p] = args[i]
			} else {
				env.vars[p] = Undefined
			}
		}
		return ev.eval(f.body, f.input, env)
	case *builtin:
		for len(args) < f.min {
			args = append(args, Undefined)
		}
		v, err := f.fn(ev, args)
		if e, ok := err.(*Error); ok && e.Position == 0 {
			e.Position = pos
		}
		return v, err
	case *partial:
		full := make([]any, len(f.args))
		j := 0
		for i := range f.args {
			if f.hole[i] {
				if j < len(args) {
					full[i] = args[j]
				} else {
					full[i] = Undefined
				}
				j++
			} else {
				full[i] = f.args[i]
			}
		}
		return ev.call(f.fn, full, pos)
	case *regexValue:
		if len(args) == 0 {
			return Undefined, nil
		}
		s, ok := args[0].(string)
		if !ok {
			return Undefined, nil
		}
		m := f.re.FindStringSubmatchIndex(s)
		if m == nil {
			return Undefined, nil
		}
		return matchObject(s, m), nil
	case Function:
		for i := range args {
			if args[i] == nil {
				continue
			}
		}
		return f(args)
	}
	return nil, errorAt("T1006", pos, "Attempted to invoke a non-function")
}

func matchObject(s string, m []int) map[string]any {
	groups := []any{}
	for i := 2; i+1 < len(m); i += 2 {
		if m[i] < 0 {
			groups = append(groups, "")
		} else {
			groups = append(groups, s[m[i]:m[i+1]])
		}
	}
	return map[string]any{"match": s[m[0]:m[1]], "index": float64(m[0]), "groups": groups}
}

// transform is the |pattern|update,delete| operator applied to v.
func (ev *evaluator) transform(n *node, v any, env *frame) (any, error) {
	if v == Undefined {
		return Undefined, nil
	}
	cp := deepCopy(v)
	matches, err := ev.eval(n.lhs, cp, env)
	if err != nil {
		return nil, err
	}
	list, ok := matches.([]any)
	if !ok {
		list = []any{matches}
	}
	for _, m := range list {
		obj, ok := m.(map[string]any)
		if !ok {
			continue
		}
		upd, err := ev.eval(n.update, obj, env)
		if err != nil {
			return nil, err
		}
		if u, ok := upd.(map[string]any); ok {
			for k, x := range u {
				obj[k] = x
			}
		} else if upd != Undefined {
			return nil, errorAt("T2011", n.update.pos, "The insert/update clause of the transform expression must evaluate to an object")
		}
		if n.delete != nil {
			del, err := ev.eval(n.delete, obj, env)
			if err != nil {
				return nil, err
			}
			keys, ok := del.([]any)
			if !ok {
				keys = []any{del}
			}
			for _, k := range keys {
				if s, ok := k.(string); ok {
					delete(obj, s)
				}
			}
		}
	}
	return cp, nil
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = deepCopy(e)
		}
		return a
	}
	return v
}
