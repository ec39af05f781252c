package asl

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Rule is one Choice rule: a comparison on Variable, or And / Or / Not of
// rules. Next is set on top-level rules only.
type Rule struct {
	Variable string
	Op       string // the comparison operator's field name
	Operand  any
	And, Or  []*Rule
	Not      *Rule
	Next     string
}

// comparisons lists every comparison operator (the States Language
// specification, "Choice Rules"), with whether its operand is a path.
var comparisons = map[string]bool{}

func init() {
	for _, base := range []string{"StringEquals", "StringLessThan", "StringGreaterThan", "StringLessThanEquals", "StringGreaterThanEquals",
		"NumericEquals", "NumericLessThan", "NumericGreaterThan", "NumericLessThanEquals", "NumericGreaterThanEquals",
		"BooleanEquals", "TimestampEquals", "TimestampLessThan", "TimestampGreaterThan", "TimestampLessThanEquals", "TimestampGreaterThanEquals"} {
		comparisons[base] = false
		comparisons[base+"Path"] = true
	}
	for _, op := range []string{"StringMatches", "IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"} {
		comparisons[op] = false
	}
}

// ParseRule reads a rule from its JSON object; top reports whether it is
// a top-level rule (which needs Next).
func ParseRule(m map[string]any, top bool, where string) (*Rule, error) {
	r := &Rule{}
	if next, ok := m["Next"].(string); ok {
		r.Next = next
	}
	if top && r.Next == "" {
		return nil, fmt.Errorf("MISSING_TRANSITION_TARGET: Missing 'Next' target at %s", where)
	}
	parseList := func(key string) ([]*Rule, error) {
		list, ok := m[key].([]any)
		if !ok || len(list) == 0 {
			return nil, fmt.Errorf("SCHEMA_VALIDATION_FAILED: %s must be a non-empty array at %s", key, where)
		}
		var out []*Rule
		for i, e := range list {
			sub, ok := e.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("SCHEMA_VALIDATION_FAILED: %s[%d] must be an object at %s", key, i, where)
			}
			rule, err := ParseRule(sub, false, fmt.Sprintf("%s/%s[%d]", where, key, i))
			if err != nil {
				return nil, err
			}
			out = append(out, rule)
		}
		return out, nil
	}
	var err error
	switch {
	case m["And"] != nil:
		r.And, err = parseList("And")
	case m["Or"] != nil:
		r.Or, err = parseList("Or")
	case m["Not"] != nil:
		sub, ok := m["Not"].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("SCHEMA_VALIDATION_FAILED: Not must be an object at %s", where)
		}
		r.Not, err = ParseRule(sub, false, where+"/Not")
	default:
		v, ok := m["Variable"].(string)
		if !ok {
			return nil, fmt.Errorf("SCHEMA_VALIDATION_FAILED: The field 'Variable' is required at %s", where)
		}
		if _, err := ParsePath(v); err != nil {
			return nil, fmt.Errorf("SCHEMA_VALIDATION_FAILED: The value for the field 'Variable' must be a valid JSONPath at %s", where)
		}
		r.Variable = v
		for k, val := range m {
			if _, ok := comparisons[k]; ok {
				if r.Op != "" {
					return nil, fmt.Errorf("SCHEMA_VALIDATION_FAILED: More than one comparison operator at %s", where)
				}
				r.Op, r.Operand = k, val
			}
		}
		if r.Op == "" {
			return nil, fmt.Errorf("SCHEMA_VALIDATION_FAILED: A comparison operator is required at %s", where)
		}
		if comparisons[r.Op] {
			p, ok := val(r.Operand)
			if !ok {
				return nil, fmt.Errorf("SCHEMA_VALIDATION_FAILED: The value for the field '%s' must be a valid JSONPath at %s", r.Op, where)
			}
			if _, err := ParsePath(p); err != nil {
				return nil, fmt.Errorf("SCHEMA_VALIDATION_FAILED: The value for the field '%s' must be a valid JSONPath at %s", r.Op, where)
			}
		}
	}
	return r, err
}

func val(v any) (string, bool) { s, ok := v.(string); return s, ok }

// Eval decides the rule against the state's input (and context).
func (r *Rule) Eval(input, context any) bool {
	switch {
	case r.And != nil:
		for _, s := range r.And {
			if !s.Eval(input, context) {
				return false
			}
		}
		return true
	case r.Or != nil:
		for _, s := range r.Or {
			if s.Eval(input, context) {
				return true
			}
		}
		return false
	case r.Not != nil:
		return !r.Not.Eval(input, context)
	}
	p, _ := ParsePath(r.Variable)
	src, present := p.Root(input, context)
	var v any
	if present {
		v, present = p.Get(src)
	}
	op, operand := r.Op, r.Operand
	if comparisons[op] {
		path, _ := val(operand)
		pp, _ := ParsePath(path)
		s2, ok := pp.Root(input, context)
		if !ok {
			return false
		}
		o, ok := pp.Get(s2)
		if !ok {
			return false
		}
		op, operand = strings.TrimSuffix(op, "Path"), o
	}
	switch op {
	case "IsPresent":
		b, _ := operand.(bool)
		return present == b
	}
	if !present {
		return false
	}
	switch op {
	case "IsNull":
		b, _ := operand.(bool)
		return (v == nil) == b
	case "IsNumeric":
		_, isNum := v.(json.Number)
		b, _ := operand.(bool)
		return isNum == b
	case "IsString":
		_, isStr := v.(string)
		b, _ := operand.(bool)
		return isStr == b
	case "IsBoolean":
		_, isBool := v.(bool)
		b, _ := operand.(bool)
		return isBool == b
	case "IsTimestamp":
		s, isStr := v.(string)
		_, err := parseTimestamp(s)
		b, _ := operand.(bool)
		return (isStr && err == nil) == b
	case "StringMatches":
		s, ok1 := v.(string)
		pat, ok2 := operand.(string)
		return ok1 && ok2 && matchWildcard(pat, s)
	case "BooleanEquals":
		a, ok1 := v.(bool)
		b, ok2 := operand.(bool)
		return ok1 && ok2 && a == b
	}
	switch {
	case strings.HasPrefix(op, "String"):
		a, ok1 := v.(string)
		b, ok2 := operand.(string)
		if !ok1 || !ok2 {
			return false
		}
		return compare(op[len("String"):], strings.Compare(a, b))
	case strings.HasPrefix(op, "Numeric"):
		a, ok1 := number(v)
		b, ok2 := number(operand)
		if !ok1 || !ok2 {
			return false
		}
		c := 0
		if a < b {
			c = -1
		} else if a > b {
			c = 1
		}
		return compare(op[len("Numeric"):], c)
	case strings.HasPrefix(op, "Timestamp"):
		as, ok1 := v.(string)
		bs, ok2 := operand.(string)
		if !ok1 || !ok2 {
			return false
		}
		a, err1 := parseTimestamp(as)
		b, err2 := parseTimestamp(bs)
		if err1 != nil || err2 != nil {
			return false
		}
		return compare(op[len("Timestamp"):], a.Compare(b))
	}
	return false
}

func compare(kind string, c int) bool {
	switch kind {
	case "Equals":
		return c == 0
	case "LessThan":
		return c < 0
	case "GreaterThan":
		return c > 0
	case "LessThanEquals":
		return c <= 0
	case "GreaterThanEquals":
		return c >= 0
	}
	return false
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	}
	return 0, false
}

// parseTimestamp reads an RFC 3339 timestamp with an upper-case T and Z or
// an offset, as the specification requires.
func parseTimestamp(s string) (time.Time, error) {
	if strings.ContainsAny(s, "tz") {
		return time.Time{}, fmt.Errorf("timestamp %q must use upper-case T and Z", s)
	}
	return time.Parse(time.RFC3339Nano, s)
}

// ParseTimestamp is parseTimestamp for the Wait state.
func ParseTimestamp(s string) (time.Time, error) { return parseTimestamp(s) }

// matchWildcard matches StringMatches patterns: * is any run of
// characters, \* a literal star and \\ a backslash.
func matchWildcard(pattern, s string) bool {
	var parts []string
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c == '\\' && i+1 < len(pattern) {
			b.WriteByte(pattern[i+1])
			i++
			continue
		}
		if c == '*' {
			parts = append(parts, b.String())
			b.Reset()
			continue
		}
		b.WriteByte(c)
	}
	parts = append(parts, b.String())
	if len(parts) == 1 {
		return parts[0] == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return len(s) >= len(last) && strings.HasSuffix(s, last)
}
