package jsonata

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// library holds the built-in functions (JSONata 2.0 "Function library"),
// except $eval, which Step Functions leaves out.
var library = map[string]*builtin{}

func def(name string, context bool, arity int, fn func(ev *evaluator, args []any) (any, error)) {
	library[name] = &builtin{name: name, context: context, min: arity, fn: fn}
}

func argErr(fn string, i int, want string) error {
	return errorAt("T0410", 0, "Argument %d of function $%s does not match function signature: expected %s", i+1, fn, want)
}

func strArg(fn string, args []any, i int) (string, bool, error) {
	if i >= len(args) || args[i] == Undefined {
		return "", false, nil
	}
	s, ok := args[i].(string)
	if !ok {
		return "", false, argErr(fn, i, "a string")
	}
	return s, true, nil
}

func numArg(fn string, args []any, i int) (float64, bool, error) {
	if i >= len(args) || args[i] == Undefined {
		return 0, false, nil
	}
	f, ok := toNumber(args[i])
	if !ok || isBool(args[i]) {
		return 0, false, argErr(fn, i, "a number")
	}
	return f, true, nil
}

// toArray treats a single value as an array of one.
func toArray(v any) []any {
	switch x := v.(type) {
	case undefinedType:
		return nil
	case []any:
		return x
	}
	return []any{v}
}

// formatNumber renders a number as JSONata does: 15 significant digits,
// JavaScript's notation.
func formatNumber(f float64) string {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'g', 15, 64), 64)
	a := math.Abs(r)
	if a == 0 || a >= 1e-6 && a < 1e21 {
		return strconv.FormatFloat(r, 'f', -1, 64)
	}
	s := strconv.FormatFloat(r, 'e', -1, 64)
	mant, exp, _ := strings.Cut(s, "e")
	sign := exp[0]
	exp = strings.TrimLeft(exp[1:], "0")
	return mant + "e" + string(sign) + exp
}

// stringify is $string without the undefined case: numbers formatted,
// other non-strings as JSON.
func stringify(v any) (string, error) {
	switch x := v.(type) {
	case undefinedType:
		return "", nil
	case string:
		return x, nil
	}
	if isFunction(v) {
		return "", nil
	}
	if f, ok := toNumber(v); ok && !isBool(v) {
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return "", errorAt("D3001", 0, "Attempting to invoke string function on Infinity or NaN")
		}
		return formatNumber(f), nil
	}
	return encodeJSON(v, false), nil
}

// encodeJSON writes v as JSON with JSONata's number formatting.
func encodeJSON(v any, pretty bool) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(normalize(v))
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if pretty {
		var out bytes.Buffer
		json.Indent(&out, b, "", "  ")
		return out.String()
	}
	return string(b)
}

// normalize prepares a result for JSON: numbers as JSONata prints them,
// functions as "", undefined members dropped.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			if e == Undefined {
				continue
			}
			m[k] = normalize(e)
		}
		return m
	case []any:
		a := make([]any, 0, len(x))
		for _, e := range x {
			if e == Undefined {
				continue
			}
			a = append(a, normalize(e))
		}
		return a
	case float64:
		return json.Number(formatNumber(x))
	case undefinedType:
		return nil
	}
	if isFunction(v) {
		return ""
	}
	return v
}

// Normalize turns a result into a JSON value of asl's kind (numbers as
// json.Number), dropping what JSON cannot hold.
func Normalize(v any) any { return normalize(v) }

func show(v any) string {
	if v == Undefined {
		return "undefined"
	}
	return encodeJSON(v, false)
}

// hofArgs passes a higher-order function as many of (value, index, array)
// as it takes.
func hofArgs(fn any, all ...any) []any {
	n := len(all)
	switch f := fn.(type) {
	case *lambda:
		n = len(f.params)
	case *builtin:
		if f.min > 0 {
			n = f.min
		}
	}
	if n > len(all) {
		n = len(all)
	}
	return all[:n]
}

func init() {
	// Strings.
	def("string", true, 1, func(ev *evaluator, a []any) (any, error) {
		if a[0] == Undefined {
			return Undefined, nil
		}
		if len(a) > 1 && truthy(a[1]) {
			if _, ok := a[0].(string); !ok && !isNum(a[0]) {
				return encodeJSON(a[0], true), nil
			}
		}
		return stringify(a[0])
	})
	def("length", true, 1, func(ev *evaluator, a []any) (any, error) {
		s, ok, err := strArg("length", a, 0)
		if !ok || err != nil {
			return Undefined, err
		}
		return float64(utf8.RuneCountInString(s)), nil
	})
	def("substring", true, 2, func(ev *evaluator, a []any) (any, error) {
		s, ok, err := strArg("substring", a, 0)
		if !ok || err != nil {
			return Undefined, err
		}
		start, _, err := numArg("substring", a, 1)
		if err != nil {
			return nil, err
		}
		r := []rune(s)
		st := int(start)
		if st < 0 {
			st = max(len(r)+st, 0)
		}
		if st > len(r) {
			return "", nil
		}
		end := len(r)
		if n, ok, err := numArg("substring", a, 2); err != nil {
			return nil, err
		} else if ok {
			if n <= 0 {
				return "", nil
			}
			end = min(st+int(n), len(r))
		}
		return string(r[st:end]), nil
	})
	def("substringBefore", true, 2, func(ev *evaluator, a []any) (any, error) {
		s, ok, err := strArg("substringBefore", a, 0)
		if !ok || err != nil {
			return Undefined, err
		}
		c, _, err := strArg("substringBefore", a, 1)
		if err != nil {
			return nil, err
		}
		if i := strings.Index(s, c); i >= 0 {
			return s[:i], nil
		}
		return s, nil
	})
	def("substringAfter", true, 2, func(ev *evaluator, a []any) (any, error) {
		s, ok, err := strArg("substringAfter", a, 0)
		if !ok || err != nil {
			return Undefined, err
		}
		c, _, err := strArg("substringAfter", a, 1)
		if err != nil {
			return nil, err
		}
		if i := strings.Index(s, c); i >= 0 {
			return s[i+len(c):], nil
		}
		return s, nil
	})
	for name, f := range map[string]func(string) string{"uppercase": strings.ToUpper, "lowercase": strings.ToLower,
		"trim": func(s string) string { return strings.Join(strings.Fields(s), " ") }} {
		f, name := f, name
		def(name, true, 1, func(ev *evaluator, a []any) (any, error) {
			s, ok, err := strArg(name, a, 0)
			if !ok || err != nil {
				return Undefined, err
			}
			return f(s), nil
		})
	}
	def("pad", true, 2, func(ev *evaluator, a []any) (any, error) {
		s, ok, err := strArg("pad", a, 0)
		if !ok || err != nil {
			return Undefined, err
		}
		w, _, err := numArg("pad", a, 1)
		if err != nil {
			return nil, err
		}
		ch := " "
		if c, ok, _ := strArg("pad", a, 2); ok && c != "" {
			ch = c
		}
		n := int(math.Abs(w)) - utf8.RuneCountInString(s)
		if n <= 0 {
			return s, nil
		}
		fill := []rune(strings.Repeat(ch, n))[:n]
		if w < 0 {
			return string(fill) + s, nil
		}
		return s + string(fill), nil
	})
	def("contains", true, 2, func(ev *evaluator, a []any) (any, error) {
		s, ok, err := strArg("contains", a, 0)
		if !ok || err != nil {
			return Undefined, err
		}
		switch p := a[1].(type) {
		case string:
			return strings.Contains(s, p), nil
		case *regexValue:
			return p.re.MatchString(s), nil
		}
		return nil, argErr("contains", 1, "a string or a regular expression")
	})
	def("split", true, 2, func(ev *evaluator, a []any) (any, error) {
		s, ok, err := strArg("split", a, 0)
		if !ok || err != nil {
			return Undefined, err
		}
		limit := -1
		if n, ok, err := numArg("split", a, 2); err != nil {
			return nil, err
		} else if ok {
			if n < 0 {
				return nil, errorAt("D3020", 0, "Third argument of split function must evaluate to a positive number")
			}
			limit = int(n)
		}
		var parts []string
		switch p := a[1].(type) {
		case string:
			parts = strings.Split(s, p)
			if p == "" {
				parts = nil
				for _, r := range s {
					parts = append(parts, string(r))
				}
			}
		case *regexValue:
			parts = p.re.Split(s, -1)
		default:
			return nil, argErr("split", 1, "a string or a regular expression")
		}
		out := []any{}
		for _, p := range parts {
			if limit >= 0 && len(out) >= limit {
				break
			}
			out = append(out, p)
		}
		return out, nil
	})
	def("join", false, 1, func(ev *evaluator, a []any) (any, error) {
		if a[0] == Undefined {
			return Undefined, nil
		}
		sep := ""
		if s, ok, err := strArg("join", a, 1); err != nil {
			return nil, err
		} else if ok {
			sep = s
		}
		var parts []string
		for _, e := range toArray(a[0]) {
			s, ok := e.(string)
			if !ok {
				return nil, argErr("join", 0, "an array of strings")
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, sep), nil
	})
	def("match", true, 2, func(ev *evaluator, a []any) (any, error) {
		s, ok, err := strArg("match", a, 0)
		if !ok || err != nil {
			return Undefined, err
		}
		re, ok := a[1].(*regexValue)
		if !ok {
			return nil, argErr("match", 1, "a regular expression")
		}
		limit := -1
		if n, ok, _ := numArg("match", a, 2); ok {
			limit = int(n)
		}
		out := []any{}
		for _, m := range re.re.FindAllStringSubmatchIndex(s, limit) {
			out = append(out, matchObject(s, m))
		}
		return out, nil
	})
	def("replace", true, 3, func(ev *evaluator, a []any) (any, error) {
		s, ok, err := strArg("replace", a, 0)
		if !ok || err != nil {
			return Undefined, err
		}
		limit := -1
		if n, ok, err := numArg("replace", a, 3); err != nil {
			return nil, err
		} else if ok {
			if n < 0 {
				return nil, errorAt("D3011", 0, "Fourth argument of replace function must evaluate to a positive number")
			}
			limit = int(n)
		}
		var re *regexp.Regexp
		switch p := a[1].(type) {
		case string:
			if p == "" {
				return nil, errorAt("D3010", 0, "Second argument of replace function cannot be an empty string")
			}
			re = regexp.MustCompile(regexp.QuoteMeta(p))
		case *regexValue:
			re = p.re
		default:
			return nil, argErr("replace", 1, "a string or a regular expression")
		}
		var b strings.Builder
		last, count := 0, 0
		for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
			if limit >= 0 && count >= limit {
				break
			}
			b.WriteString(s[last:m[0]])
			switch r := a[2].(type) {
			case string:
				b.WriteString(expandReplacement(r, s, m))
			default:
				if !isFunction(r) {
					return nil, argErr("replace", 2, "a string or a function")
				}
				v, err := ev.call(r, []any{matchObject(s, m)}, 0)
				if err != nil {
					return nil, err
				}
				rs, ok := v.(string)
				if !ok {
					return nil, errorAt("D3012", 0, "Attempted to replace a matched string with a non-string value")
				}
				b.WriteString(rs)
			}
			last = m[1]
			count++
		}
		b.WriteString(s[last:])
		return b.String(), nil
	})
	def("base64encode", true, 1, func(ev *evaluator, a []any) (any, error) {
		s, ok, err := strArg("base64encode", a, 0)
		if !ok || err != nil {
			return Undefined, err
		}
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	})
	def("base64decode", true, 1, func(ev *evaluator, a []any) (any, error) {
		s, ok, err := strArg("base64decode", a, 0)
		if !ok || err != nil {
			return Undefined, err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, errorAt("D3137", 0, "The argument of $base64decode is not base64: %v", err)
		}
		return string(b), nil
	})
	def("encodeUrlComponent", true, 1, func(ev *evaluator, a []any) (any, error) {
		s, ok, err := strArg("encodeUrlComponent", a, 0)
		if !ok || err != nil {
			return Undefined, err
		}
		return strings.ReplaceAll(url.QueryEscape(s), "+", "%20"), nil
	})
	def("encodeUrl", true, 1, func(ev *evaluator, a []any) (any, error) {
		s, ok, err := strArg("encodeUrl", a, 0)
		if !ok || err != nil {
			return Undefined, err
		}
		return (&url.URL{Path: s}).EscapedPath(), nil
	})
	for _, name := range []string{"decodeUrlComponent", "decodeUrl"} {
		name := name
		def(name, true, 1, func(ev *evaluator, a []any) (any, error) {
			s, ok, err := strArg(name, a, 0)
			if !ok || err != nil {
				return Undefined, err
			}
			d, err := url.PathUnescape(s)
			if err != nil {
				return nil, errorAt("D3140", 0, "Malformed URL passed to $%s(): %q", name, s)
			}
			return d, nil
		})
	}
	def("formatBase", false, 1, func(ev *evaluator, a []any) (any, error) {
		f, ok, err := numArg("formatBase", a, 0)
		if !ok || err != nil {
			return Undefined, err
		}
		radix := 10.0
		if r, ok, _ := numArg("formatBase", a, 1); ok {
			radix = r
		}
		if radix < 2 || radix > 36 {
			return nil, errorAt("D3100", 0, "The radix of the formatBase function must be between 2 and 36.  It was given %v", radix)
		}
		return strconv.FormatInt(int64(math.RoundToEven(f)), int(radix)), nil
	})
	def("formatNumber", false, 2, func(ev *evaluator, a []any) (any, error) {
		f, ok, err := numArg("formatNumber", a, 0)
		if !ok || err != nil {
			return Undefined, err
		}
		pic, _, err := strArg("formatNumber", a, 1)
		if err != nil {
			return nil, err
		}
		return formatPicture(f, pic), nil
	})

	// Numbers.
	def("number", true, 1, func(ev *evaluator, a []any) (any, error) {
		switch x := a[0].(type) {
		case undefinedType:
			return Undefined, nil
		case bool:
			if x {
				return 1.0, nil
			}
			return 0.0, nil
		case string:
			s := strings.TrimSpace(x)
			for prefix, base := range map[string]int{"0x": 16, "0X": 16, "0b": 2, "0B": 2, "0o": 8, "0O": 8} {
				if strings.HasPrefix(s, prefix) {
					n, err := strconv.ParseInt(s[2:], base, 64)
					if err != nil {
						return nil, errorAt("D3030", 0, "Unable to cast value to a number: %q", x)
					}
					return float64(n), nil
				}
			}
			var v any
			dec := json.NewDecoder(strings.NewReader(s))
			dec.UseNumber()
			if err := dec.Decode(&v); err != nil || dec.More() {
				return nil, errorAt("D3030", 0, "Unable to cast value to a number: %q", x)
			}
			if f, ok := toNumber(v); ok {
				return f, nil
			}
			return nil, errorAt("D3030", 0, "Unable to cast value to a number: %q", x)
		}
		if f, ok := toNumber(a[0]); ok {
			return f, nil
		}
		return nil, errorAt("D3030", 0, "Unable to cast value to a number: %s", show(a[0]))
	})
	for name, f := range map[string]func(float64) float64{"abs": math.Abs, "floor": math.Floor, "ceil": math.Ceil, "sqrt": math.Sqrt} {
		f, name := f, name
		def(name, true, 1, func(ev *evaluator, a []any) (any, error) {
			x, ok, err := numArg(name, a, 0)
			if !ok || err != nil {
				return Undefined, err
			}
			if name == "sqrt" && x < 0 {
				return nil, errorAt("D3060", 0, "The sqrt function cannot be applied to a negative number: %v", x)
			}
			return f(x), nil
		})
	}
	def("round", true, 1, func(ev *evaluator, a []any) (any, error) {
		x, ok, err := numArg("round", a, 0)
		if !ok || err != nil {
			return Undefined, err
		}
		p := 0.0
		if n, ok, _ := numArg("round", a, 1); ok {
			p = n
		}
		scale := math.Pow(10, p)
		return math.RoundToEven(x*scale) / scale, nil
	})
	def("power", false, 2, func(ev *evaluator, a []any) (any, error) {
		x, ok, err := numArg("power", a, 0)
		if !ok || err != nil {
			return Undefined, err
		}
		y, _, err := numArg("power", a, 1)
		if err != nil {
			return nil, err
		}
		r := math.Pow(x, y)
		if math.IsNaN(r) || math.IsInf(r, 0) {
			return nil, errorAt("D3061", 0, "The power function has resulted in a value that cannot be represented as a JSON number: base=%v, exponent=%v", x, y)
		}
		return r, nil
	})
	def("random", false, 0, func(ev *evaluator, a []any) (any, error) { return rand.Float64(), nil })
	aggregate := func(name string, f func([]float64) any) {
		def(name, false, 1, func(ev *evaluator, a []any) (any, error) {
			if a[0] == Undefined {
				return Undefined, nil
			}
			var xs []float64
			for _, e := range toArray(a[0]) {
				x, ok := toNumber(e)
				if !ok || isBool(e) {
					return nil, argErr(name, 0, "an array of numbers")
				}
				xs = append(xs, x)
			}
			return f(xs), nil
		})
	}
	aggregate("sum", func(xs []float64) any {
		s := 0.0
		for _, x := range xs {
			s += x
		}
		return s
	})
	aggregate("max", func(xs []float64) any {
		if len(xs) == 0 {
			return Undefined
		}
		m := xs[0]
		for _, x := range xs {
			m = math.Max(m, x)
		}
		return m
	})
	aggregate("min", func(xs []float64) any {
		if len(xs) == 0 {
			return Undefined
		}
		m := xs[0]
		for _, x := range xs {
			m = math.Min(m, x)
		}
		return m
	})
	aggregate("average", func(xs []float64) any {
		if len(xs) == 0 {
			return Undefined
		}
		s := 0.0
		for _, x := range xs {
			s += x
		}
		return s / float64(len(xs))
	})

	// Booleans.
	def("boolean", true, 1, func(ev *evaluator, a []any) (any, error) {
		if a[0] == Undefined {
			return Undefined, nil
		}
		return truthy(a[0]), nil
	})
	def("not", true, 1, func(ev *evaluator, a []any) (any, error) {
		if a[0] == Undefined {
			return Undefined, nil
		}
		return !truthy(a[0]), nil
	})
	def("exists", false, 1, func(ev *evaluator, a []any) (any, error) { return a[0] != Undefined, nil })

	// Arrays.
	def("count", false, 1, func(ev *evaluator, a []any) (any, error) { return float64(len(toArray(a[0]))), nil })
	def("append", false, 2, func(ev *evaluator, a []any) (any, error) {
		if a[1] == Undefined {
			return a[0], nil
		}
		if a[0] == Undefined {
			return a[1], nil
		}
		return append(append([]any{}, toArray(a[0])...), toArray(a[1])...), nil
	})
	def("reverse", false, 1, func(ev *evaluator, a []any) (any, error) {
		if a[0] == Undefined {
			return Undefined, nil
		}
		in := toArray(a[0])
		out := make([]any, len(in))
		for i, e := range in {
			out[len(in)-1-i] = e
		}
		return out, nil
	})
	def("shuffle", false, 1, func(ev *evaluator, a []any) (any, error) {
		if a[0] == Undefined {
			return Undefined, nil
		}
		out := append([]any{}, toArray(a[0])...)
		rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
		return out, nil
	})
	def("distinct", false, 1, func(ev *evaluator, a []any) (any, error) {
		if _, ok := a[0].([]any); !ok {
			return a[0], nil
		}
		var out []any
		for _, e := range toArray(a[0]) {
			dup := false
			for _, o := range out {
				if deepEqual(e, o) {
					dup = true
					break
				}
			}
			if !dup {
				out = append(out, e)
			}
		}
		return out, nil
	})
	def("zip", false, 1, func(ev *evaluator, a []any) (any, error) {
		n := -1
		var lists [][]any
		for _, x := range a {
			l := toArray(x)
			lists = append(lists, l)
			if n < 0 || len(l) < n {
				n = len(l)
			}
		}
		out := []any{}
		for i := 0; i < n; i++ {
			var t []any
			for _, l := range lists {
				t = append(t, l[i])
			}
			out = append(out, t)
		}
		return out, nil
	})
	def("sort", false, 1, func(ev *evaluator, a []any) (any, error) {
		if a[0] == Undefined {
			return Undefined, nil
		}
		out := append([]any{}, toArray(a[0])...)
		var sortErr error
		if len(a) > 1 && isFunction(a[1]) {
			fn := a[1]
			sort.SliceStable(out, func(i, j int) bool {
				// The function says whether its first argument comes
				// after its second.
				v, err := ev.call(fn, []any{out[j], out[i]}, 0)
				if err != nil {
					sortErr = err
				}
				return truthy(v)
			})
		} else {
			sort.SliceStable(out, func(i, j int) bool {
				c, err := compareValues(out[i], out[j])
				if err != nil || isString(out[i]) != isString(out[j]) {
					sortErr = errorAt("D3070", 0, "The single argument form of the sort function can only be applied to an array of strings or an array of numbers.  Use the second argument to specify a comparison function")
				}
				return c < 0
			})
		}
		return out, sortErr
	})

	// Objects.
	def("keys", true, 1, func(ev *evaluator, a []any) (any, error) {
		seen := map[string]bool{}
		out := []any{}
		for _, e := range toArray(a[0]) {
			if m, ok := e.(map[string]any); ok {
				for _, k := range sortedKeys(m) {
					if !seen[k] {
						seen[k] = true
						out = append(out, k)
					}
				}
			}
		}
		return collapse(out, false), nil
	})
	def("lookup", false, 2, func(ev *evaluator, a []any) (any, error) {
		k, _, err := strArg("lookup", a, 1)
		if err != nil {
			return nil, err
		}
		return lookup(a[0], k), nil
	})
	def("spread", false, 1, func(ev *evaluator, a []any) (any, error) {
		if a[0] == Undefined {
			return Undefined, nil
		}
		out := []any{}
		for _, e := range toArray(a[0]) {
			m, ok := e.(map[string]any)
			if !ok {
				out = append(out, e)
				continue
			}
			for _, k := range sortedKeys(m) {
				out = append(out, map[string]any{k: m[k]})
			}
		}
		return out, nil
	})
	def("merge", false, 1, func(ev *evaluator, a []any) (any, error) {
		if a[0] == Undefined {
			return Undefined, nil
		}
		out := map[string]any{}
		for _, e := range toArray(a[0]) {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, argErr("merge", 0, "an array of objects")
			}
			for k, v := range m {
				out[k] = v
			}
		}
		return out, nil
	})
	def("sift", false, 2, func(ev *evaluator, a []any) (any, error) {
		m, ok := a[0].(map[string]any)
		if !ok {
			return Undefined, nil
		}
		out := map[string]any{}
		for _, k := range sortedKeys(m) {
			v, err := ev.call(a[1], hofArgs(a[1], m[k], k, m), 0)
			if err != nil {
				return nil, err
			}
			if truthy(v) {
				out[k] = m[k]
			}
		}
		if len(out) == 0 {
			return Undefined, nil
		}
		return out, nil
	})
	def("each", false, 2, func(ev *evaluator, a []any) (any, error) {
		m, ok := a[0].(map[string]any)
		if !ok {
			return Undefined, nil
		}
		out := []any{}
		for _, k := range sortedKeys(m) {
			v, err := ev.call(a[1], hofArgs(a[1], m[k], k, m), 0)
			if err != nil {
				return nil, err
			}
			if v != Undefined {
				out = append(out, v)
			}
		}
		return out, nil
	})
	def("error", false, 0, func(ev *evaluator, a []any) (any, error) {
		msg := "$error() function evaluated"
		if len(a) > 0 {
			if s, ok := a[0].(string); ok {
				msg = s
			}
		}
		return nil, errorAt("D3137", 0, "%s", msg)
	})
	def("assert", false, 1, func(ev *evaluator, a []any) (any, error) {
		b, ok := a[0].(bool)
		if !ok {
			return nil, errorAt("T0410", 0, "Argument 1 of function $assert does not match function signature")
		}
		if !b {
			msg := "$assert() statement failed"
			if len(a) > 1 {
				if s, ok := a[1].(string); ok {
					msg = s
				}
			}
			return nil, errorAt("D3141", 0, "%s", msg)
		}
		return Undefined, nil
	})
	def("type", false, 1, func(ev *evaluator, a []any) (any, error) {
		switch x := a[0].(type) {
		case undefinedType:
			return Undefined, nil
		case nil:
			return "null", nil
		case bool:
			return "boolean", nil
		case string:
			return "string", nil
		case []any:
			return "array", nil
		case map[string]any:
			return "object", nil
		default:
			_ = x
		}
		if isFunction(a[0]) {
			return "function", nil
		}
		return "number", nil
	})

	// Higher-order functions.
	def("map", false, 2, func(ev *evaluator, a []any) (any, error) {
		if a[0] == Undefined {
			return Undefined, nil
		}
		in := toArray(a[0])
		out := []any{}
		for i, e := range in {
			v, err := ev.call(a[1], hofArgs(a[1], e, float64(i), in), 0)
			if err != nil {
				return nil, err
			}
			if v != Undefined {
				out = append(out, v)
			}
		}
		return collapse(out, false), nil
	})
	def("filter", false, 2, func(ev *evaluator, a []any) (any, error) {
		if a[0] == Undefined {
			return Undefined, nil
		}
		in := toArray(a[0])
		out := []any{}
		for i, e := range in {
			v, err := ev.call(a[1], hofArgs(a[1], e, float64(i), in), 0)
			if err != nil {
				return nil, err
			}
			if truthy(v) {
				out = append(out, e)
			}
		}
		return collapse(out, false), nil
	})
	def("single", false, 1, func(ev *evaluator, a []any) (any, error) {
		if a[0] == Undefined {
			return Undefined, nil
		}
		in := toArray(a[0])
		var found any = Undefined
		n := 0
		for i, e := range in {
			ok := true
			if len(a) > 1 && isFunction(a[1]) {
				v, err := ev.call(a[1], hofArgs(a[1], e, float64(i), in), 0)
				if err != nil {
					return nil, err
				}
				ok = truthy(v)
			}
			if ok {
				n++
				found = e
			}
		}
		switch {
		case n > 1:
			return nil, errorAt("D3138", 0, "The $single() function expected exactly 1 matching result.  Instead it matched more.")
		case n == 0:
			return nil, errorAt("D3139", 0, "The $single() function expected exactly 1 matching result.  Instead it matched 0.")
		}
		return found, nil
	})
	def("reduce", false, 2, func(ev *evaluator, a []any) (any, error) {
		if a[0] == Undefined {
			return Undefined, nil
		}
		in := toArray(a[0])
		if l, ok := a[1].(*lambda); ok && len(l.params) < 2 {
			return nil, errorAt("D3050", 0, "The second argument of reduce function must be a function with at least two arguments")
		}
		var acc any
		start := 0
		if len(a) > 2 && a[2] != Undefined {
			acc = a[2]
		} else {
			if len(in) == 0 {
				return Undefined, nil
			}
			acc, start = in[0], 1
		}
		for i := start; i < len(in); i++ {
			v, err := ev.call(a[1], hofArgs(a[1], acc, in[i], float64(i), in), 0)
			if err != nil {
				return nil, err
			}
			acc = v
		}
		return acc, nil
	})

	// Dates and times.
	def("now", false, 0, func(ev *evaluator, a []any) (any, error) {
		return time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), nil
	})
	def("millis", false, 0, func(ev *evaluator, a []any) (any, error) { return float64(time.Now().UnixMilli()), nil })
	def("fromMillis", false, 1, func(ev *evaluator, a []any) (any, error) {
		ms, ok, err := numArg("fromMillis", a, 0)
		if !ok || err != nil {
			return Undefined, err
		}
		return time.UnixMilli(int64(ms)).UTC().Format("2006-01-02T15:04:05.000Z"), nil
	})
	def("toMillis", false, 1, func(ev *evaluator, a []any) (any, error) {
		s, ok, err := strArg("toMillis", a, 0)
		if !ok || err != nil {
			return Undefined, err
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05", "2006-01-02"} {
			if t, err := time.Parse(layout, s); err == nil {
				return float64(t.UnixMilli()), nil
			}
		}
		return nil, errorAt("D3110", 0, "Failed to parse the timestamp %q as ISO 8601", s)
	})
}

// expandReplacement fills $0, $1... in a $replace replacement string.
func expandReplacement(r, s string, m []int) string {
	var b strings.Builder
	for i := 0; i < len(r); i++ {
		if r[i] != '$' || i+1 >= len(r) {
			b.WriteByte(r[i])
			continue
		}
		if r[i+1] == '$' {
			b.WriteByte('$')
			i++
			continue
		}
		j := i + 1
		for j < len(r) && r[j] >= '0' && r[j] <= '9' {
			j++
		}
		if j == i+1 {
			b.WriteByte('$')
			continue
		}
		g, _ := strconv.Atoi(r[i+1 : j])
		// The longest group number that exists.
		for g > len(m)/2-1 && g >= 10 {
			g /= 10
			j--
		}
		if g <= len(m)/2-1 && m[2*g] >= 0 {
			b.WriteString(s[m[2*g]:m[2*g+1]])
		}
		i = j - 1
	}
	return b.String()
}

// formatPicture is $formatNumber for the common decimal pictures:
// grouping separators, minimum integer and fraction digits, optional
// fraction digits, percent and per-mille, and a prefix or suffix.
func formatPicture(f float64, pic string) string {
	start := strings.IndexAny(pic, "#0123456789")
	if start < 0 {
		return formatNumber(f)
	}
	end := strings.LastIndexAny(pic, "#0123456789")
	prefix, body, suffix := pic[:start], pic[start:end+1], pic[end+1:]
	switch {
	case strings.Contains(suffix, "%"):
		f *= 100
	case strings.Contains(suffix, "‰"):
		f *= 1000
	}
	intPart, fracPart, _ := strings.Cut(body, ".")
	minFrac := strings.Count(fracPart, "0")
	maxFrac := minFrac + strings.Count(fracPart, "#")
	minInt := strings.Count(intPart, "0")
	group := 0
	if i := strings.LastIndex(intPart, ","); i >= 0 {
		group = len(intPart) - i - 1
	}
	neg := f < 0
	s := strconv.FormatFloat(math.Abs(f), 'f', maxFrac, 64)
	ip, fp, _ := strings.Cut(s, ".")
	fp = strings.TrimRight(fp, "0")
	for len(fp) < minFrac {
		fp += "0"
	}
	for len(ip) < minInt {
		ip = "0" + ip
	}
	if minInt == 0 && ip == "0" && fp != "" {
		ip = ""
	}
	if group > 0 {
		var g []string
		for len(ip) > group {
			g = append([]string{ip[len(ip)-group:]}, g...)
			ip = ip[:len(ip)-group]
		}
		ip = strings.Join(append([]string{ip}, g...), ",")
	}
	out := ip
	if fp != "" {
		out += "." + fp
	}
	if neg {
		out = "-" + out
	}
	return prefix + out + suffix
}
