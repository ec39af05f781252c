package asl

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/forkline/forkline/internal/uuid"
)

// Render evaluates a payload template (Parameters, ResultSelector,
// ItemSelector, Result): a key ending in ".$" takes the value of a path
// into input, of a context path ($$...) or of an intrinsic function, and
// loses its suffix; other values are copied, objects and arrays rendered
// recursively.
func Render(tmpl any, input, context any, field string) (any, error) {
	switch t := tmpl.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, v := range t {
			if strings.HasSuffix(k, ".$") {
				expr, ok := v.(string)
				if !ok {
					return nil, runtimeError("The value for the field '%s' must be a STRING that contains a JSONPath or an intrinsic function", k)
				}
				val, err := evalExpr(expr, input, context, k)
				if err != nil {
					return nil, err
				}
				out[strings.TrimSuffix(k, ".$")] = val
				continue
			}
			r, err := Render(v, input, context, field)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, v := range t {
			r, err := Render(v, input, context, field)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return tmpl, nil // literals are shared, never changed
}

func evalExpr(expr string, input, context any, field string) (any, error) {
	e := strings.TrimSpace(expr)
	if strings.HasPrefix(e, "States.") {
		call, err := parseIntrinsic(e)
		if err != nil {
			return nil, &Error{Name: "States.IntrinsicFailure", Cause: err.Error()}
		}
		return call.eval(input, context)
	}
	v, err := Select(e, input, context, field)
	if err != nil {
		var ae *Error
		if asErr(err, &ae) {
			ae.Name = "States.Runtime"
			ae.Cause = fmt.Sprintf("The JSONPath '%s' specified for the field '%s' could not be found in the input '%s'", e, field, Encode(pick(e, input, context)))
		}
		return nil, err
	}
	return v, nil
}

func pick(expr string, input, context any) any {
	if p, err := ParsePath(expr); err == nil {
		if src, ok := p.Root(input, context); ok {
			return src
		}
	}
	return input
}

func asErr(err error, target **Error) bool {
	e, ok := err.(*Error)
	if ok {
		*target = e
	}
	return ok
}

// ------------------------------------------------------------ intrinsics

// call is a parsed intrinsic function call.
type call struct {
	name string
	args []arg
}

// arg is a literal, a path, or a nested call.
type arg struct {
	lit  any
	path string
	call *call
	// raw is a string literal as written, escapes kept, for the template
	// of States.Format, where \{ and \} are literal braces.
	raw string
}

type parser struct {
	s   string
	pos int
}

func parseIntrinsic(s string) (*call, error) {
	return intrinsics.get(s, parseCall)
}

func parseCall(s string) (*call, error) {
	p := &parser{s: s}
	c, err := p.call()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos != len(p.s) {
		return nil, fmt.Errorf("unexpected %q after the intrinsic function", p.s[p.pos:])
	}
	return c, nil
}

func (p *parser) space() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

func (p *parser) call() (*call, error) {
	start := p.pos
	for p.pos < len(p.s) && p.s[p.pos] != '(' {
		p.pos++
	}
	if p.pos == len(p.s) {
		return nil, fmt.Errorf("expected '(' in %q", p.s[start:])
	}
	c := &call{name: strings.TrimSpace(p.s[start:p.pos])}
	p.pos++ // (
	p.space()
	if p.pos < len(p.s) && p.s[p.pos] == ')' {
		p.pos++
		return c, nil
	}
	for {
		p.space()
		a, err := p.arg()
		if err != nil {
			return nil, err
		}
		c.args = append(c.args, a)
		p.space()
		if p.pos >= len(p.s) {
			return nil, fmt.Errorf("unterminated call to %s", c.name)
		}
		if p.s[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.s[p.pos] == ')' {
			p.pos++
			return c, nil
		}
		return nil, fmt.Errorf("unexpected %q in the arguments of %s", p.s[p.pos], c.name)
	}
}

func (p *parser) arg() (arg, error) {
	if p.pos >= len(p.s) {
		return arg{}, fmt.Errorf("missing argument")
	}
	switch ch := p.s[p.pos]; {
	case ch == '\'':
		p.pos++
		start := p.pos
		var b strings.Builder
		for p.pos < len(p.s) {
			c := p.s[p.pos]
			if c == '\\' && p.pos+1 < len(p.s) {
				b.WriteByte(p.s[p.pos+1])
				p.pos += 2
				continue
			}
			if c == '\'' {
				p.pos++
				return arg{lit: b.String(), raw: p.s[start : p.pos-1]}, nil
			}
			b.WriteByte(c)
			p.pos++
		}
		return arg{}, fmt.Errorf("unterminated string literal")
	case ch == '$':
		start := p.pos
		depth := 0
		for p.pos < len(p.s) {
			c := p.s[p.pos]
			if c == '[' {
				depth++
			} else if c == ']' {
				depth--
			} else if depth == 0 && (c == ',' || c == ')' || c == ' ') {
				break
			}
			p.pos++
		}
		return arg{path: p.s[start:p.pos]}, nil
	case strings.HasPrefix(p.s[p.pos:], "States."):
		c, err := p.call()
		return arg{call: c}, err
	default:
		start := p.pos
		for p.pos < len(p.s) && p.s[p.pos] != ',' && p.s[p.pos] != ')' && p.s[p.pos] != ' ' {
			p.pos++
		}
		tok := p.s[start:p.pos]
		switch tok {
		case "true":
			return arg{lit: true}, nil
		case "false":
			return arg{lit: false}, nil
		case "null":
			return arg{lit: nil}, nil
		}
		if _, err := strconv.ParseFloat(tok, 64); err == nil {
			return arg{lit: json.Number(tok)}, nil
		}
		return arg{}, fmt.Errorf("unexpected argument %q", tok)
	}
}

func intrinsicErr(format string, args ...any) error {
	return &Error{Name: "States.IntrinsicFailure", Cause: fmt.Sprintf(format, args...)}
}

func (c *call) eval(input, context any) (any, error) {
	vals := make([]any, len(c.args))
	for i, a := range c.args {
		switch {
		case a.call != nil:
			v, err := a.call.eval(input, context)
			if err != nil {
				return nil, err
			}
			vals[i] = v
		case a.path != "":
			v, err := Select(a.path, input, context, c.name)
			if err != nil {
				return nil, intrinsicErr("The JSONPath '%s' for the argument of %s could not be found", a.path, c.name)
			}
			vals[i] = v
		default:
			vals[i] = a.lit
		}
	}
	n := len(vals)
	want := func(min, max int) error {
		if n < min || (max >= 0 && n > max) {
			return intrinsicErr("Invalid number of arguments in the call to %s: %d", c.name, n)
		}
		return nil
	}
	str := func(i int) (string, error) {
		s, ok := vals[i].(string)
		if !ok {
			return "", intrinsicErr("Invalid type for argument %d in the call to %s: expected a string", i+1, c.name)
		}
		return s, nil
	}
	num := func(i int) (float64, error) {
		switch x := vals[i].(type) {
		case json.Number:
			return x.Float64()
		case float64:
			return x, nil
		}
		return 0, intrinsicErr("Invalid type for argument %d in the call to %s: expected a number", i+1, c.name)
	}
	integer := func(i int) (int, error) {
		f, err := num(i)
		if err != nil {
			return 0, err
		}
		if f != math.Trunc(f) {
			return 0, intrinsicErr("Invalid type for argument %d in the call to %s: expected an integer", i+1, c.name)
		}
		return int(f), nil
	}
	arr := func(i int) ([]any, error) {
		a, ok := vals[i].([]any)
		if !ok {
			return nil, intrinsicErr("Invalid type for argument %d in the call to %s: expected an array", i+1, c.name)
		}
		return a, nil
	}
	switch c.name {
	case "States.Format":
		if err := want(1, -1); err != nil {
			return nil, err
		}
		tmpl, err := str(0)
		if err != nil {
			return nil, err
		}
		// A literal template keeps its escapes: \{ and \} are braces,
		// \\ a backslash, \' a quote (Step Functions developer guide,
		// "Reserved characters in intrinsic functions").
		if c.args[0].call == nil && c.args[0].path == "" {
			tmpl = c.args[0].raw
		}
		var b strings.Builder
		next := 1
		for i := 0; i < len(tmpl); i++ {
			ch := tmpl[i]
			switch {
			case ch == '\\' && i+1 < len(tmpl):
				b.WriteByte(tmpl[i+1])
				i++
			case ch == '{' && i+1 < len(tmpl) && tmpl[i+1] == '}':
				if next >= n {
					return nil, intrinsicErr("Number of arguments in the call to States.Format does not match the number of placeholders")
				}
				switch v := vals[next].(type) {
				case string:
					b.WriteString(v)
				default:
					b.WriteString(Encode(v))
				}
				next++
				i++
			default:
				b.WriteByte(ch)
			}
		}
		if next != n {
			return nil, intrinsicErr("Number of arguments in the call to States.Format does not match the number of placeholders")
		}
		return b.String(), nil
	case "States.StringToJson":
		if err := want(1, 1); err != nil {
			return nil, err
		}
		s, err := str(0)
		if err != nil {
			return nil, err
		}
		v, err := Decode(s)
		if err != nil {
			return nil, intrinsicErr("The argument of States.StringToJson is not valid JSON: %v", err)
		}
		return v, nil
	case "States.JsonToString":
		if err := want(1, 1); err != nil {
			return nil, err
		}
		return Encode(vals[0]), nil
	case "States.Array":
		return append([]any{}, vals...), nil
	case "States.ArrayPartition":
		if err := want(2, 2); err != nil {
			return nil, err
		}
		a, err := arr(0)
		if err != nil {
			return nil, err
		}
		size, err := integer(1)
		if err != nil || size <= 0 {
			return nil, intrinsicErr("The chunk size of States.ArrayPartition must be a positive integer")
		}
		out := []any{}
		for i := 0; i < len(a); i += size {
			end := i + size
			if end > len(a) {
				end = len(a)
			}
			out = append(out, append([]any{}, a[i:end]...))
		}
		return out, nil
	case "States.ArrayContains":
		if err := want(2, 2); err != nil {
			return nil, err
		}
		a, err := arr(0)
		if err != nil {
			return nil, err
		}
		needle := Encode(vals[1])
		for _, e := range a {
			if Encode(e) == needle {
				return true, nil
			}
		}
		return false, nil
	case "States.ArrayRange":
		if err := want(3, 3); err != nil {
			return nil, err
		}
		start, err1 := integer(0)
		end, err2 := integer(1)
		stepN, err3 := integer(2)
		if err1 != nil || err2 != nil || err3 != nil || stepN == 0 {
			return nil, intrinsicErr("The arguments of States.ArrayRange must be integers with a non-zero step")
		}
		out := []any{}
		for i := start; (stepN > 0 && i <= end) || (stepN < 0 && i >= end); i += stepN {
			out = append(out, json.Number(strconv.Itoa(i)))
			if len(out) > 1000 {
				return nil, intrinsicErr("States.ArrayRange cannot make more than 1000 items")
			}
		}
		return out, nil
	case "States.ArrayGetItem":
		if err := want(2, 2); err != nil {
			return nil, err
		}
		a, err := arr(0)
		if err != nil {
			return nil, err
		}
		i, err := integer(1)
		if err != nil || i < 0 || i >= len(a) {
			return nil, intrinsicErr("The index %v is out of the bounds of the array in States.ArrayGetItem", vals[1])
		}
		return a[i], nil
	case "States.ArrayLength":
		if err := want(1, 1); err != nil {
			return nil, err
		}
		a, err := arr(0)
		if err != nil {
			return nil, err
		}
		return json.Number(strconv.Itoa(len(a))), nil
	case "States.ArrayUnique":
		if err := want(1, 1); err != nil {
			return nil, err
		}
		a, err := arr(0)
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		out := []any{}
		for _, e := range a {
			k := Encode(e)
			if !seen[k] {
				seen[k] = true
				out = append(out, e)
			}
		}
		return out, nil
	case "States.Base64Encode":
		if err := want(1, 1); err != nil {
			return nil, err
		}
		s, err := str(0)
		if err != nil {
			return nil, err
		}
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	case "States.Base64Decode":
		if err := want(1, 1); err != nil {
			return nil, err
		}
		s, err := str(0)
		if err != nil {
			return nil, err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, intrinsicErr("The argument of States.Base64Decode is not valid base64")
		}
		return string(b), nil
	case "States.Hash":
		if err := want(2, 2); err != nil {
			return nil, err
		}
		algo, err := str(1)
		if err != nil {
			return nil, err
		}
		data := vals[0]
		text, ok := data.(string)
		if !ok {
			text = Encode(data)
		}
		var h hash.Hash
		switch algo {
		case "MD5":
			h = md5.New()
		case "SHA-1":
			h = sha1.New()
		case "SHA-256":
			h = sha256.New()
		case "SHA-384":
			h = sha512.New384()
		case "SHA-512":
			h = sha512.New()
		default:
			return nil, intrinsicErr("The hash algorithm %s is not supported: use MD5, SHA-1, SHA-256, SHA-384 or SHA-512", algo)
		}
		h.Write([]byte(text))
		return hex.EncodeToString(h.Sum(nil)), nil
	case "States.JsonMerge":
		if err := want(3, 3); err != nil {
			return nil, err
		}
		a, ok1 := vals[0].(map[string]any)
		b, ok2 := vals[1].(map[string]any)
		if !ok1 || !ok2 {
			return nil, intrinsicErr("The first two arguments of States.JsonMerge must be JSON objects")
		}
		if deep, _ := vals[2].(bool); deep {
			return nil, intrinsicErr("States.JsonMerge only supports a shallow merge: its third argument must be false")
		}
		out := Clone(a).(map[string]any)
		for k, v := range b {
			out[k] = Clone(v)
		}
		return out, nil
	case "States.MathRandom":
		if err := want(2, 3); err != nil {
			return nil, err
		}
		lo, err1 := integer(0)
		hi, err2 := integer(1)
		if err1 != nil || err2 != nil || hi < lo {
			return nil, intrinsicErr("The arguments of States.MathRandom must be integers, the start not above the end")
		}
		return json.Number(strconv.Itoa(lo + rand.IntN(hi-lo+1))), nil
	case "States.MathAdd":
		if err := want(2, 2); err != nil {
			return nil, err
		}
		a, err1 := num(0)
		b, err2 := num(1)
		if err1 != nil || err2 != nil {
			return nil, intrinsicErr("The arguments of States.MathAdd must be numbers")
		}
		sum := new(big.Float).Add(big.NewFloat(a), big.NewFloat(b))
		if f, _ := sum.Float64(); f == math.Trunc(f) && math.Abs(f) < 1e15 {
			return json.Number(strconv.FormatInt(int64(f), 10)), nil
		}
		f, _ := sum.Float64()
		return json.Number(strconv.FormatFloat(f, 'f', -1, 64)), nil
	case "States.StringSplit":
		if err := want(2, 2); err != nil {
			return nil, err
		}
		s, err := str(0)
		if err != nil {
			return nil, err
		}
		sep, err := str(1)
		if err != nil {
			return nil, err
		}
		out := []any{}
		for _, part := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(sep, r) }) {
			out = append(out, part)
		}
		return out, nil
	case "States.UUID":
		if err := want(0, 0); err != nil {
			return nil, err
		}
		return uuid.New(), nil
	}
	return nil, intrinsicErr("The intrinsic function %s is not supported", c.name)
}

// Eval evaluates a field that holds a reference path or an intrinsic
// function call, as the ".$" template keys and the Fail state's ErrorPath
// and CausePath do.
func Eval(expr string, input, context any, field string) (any, error) {
	return evalExpr(expr, input, context, field)
}

// CheckExpr reports whether expr is a valid reference path or intrinsic
// function call, for definition validation.
func CheckExpr(expr string) error {
	e := strings.TrimSpace(expr)
	if strings.HasPrefix(e, "States.") {
		_, err := parseIntrinsic(e)
		return err
	}
	_, err := ParsePath(e)
	return err
}
