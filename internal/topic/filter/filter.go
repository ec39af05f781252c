// Package filter implements Amazon SNS subscription filter policies: Parse
// validates a policy document as SNS does (operators, limits and SNS's
// error messages) and compiles it; a Policy then decides, for either
// FilterPolicyScope, whether a message is delivered.
//
// A policy is compiled into its disjunctive form: a list of alternatives
// ($or branches multiplied out), each a conjunction of keys, each key a
// list of conditions of which one must hold. Body-scoped keys are dotted
// paths: SNS matches a body through a flattened view in which nested keys
// are joined with ".", so the policy key "a.b" and the nesting {"a":{"b":…}}
// are the same key, on either side.
//
// Policies are immutable once parsed and safe for concurrent use.
package filter

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// Scope is a FilterPolicyScope value.
type Scope string

// The two scopes.
const (
	ScopeAttributes Scope = "MessageAttributes"
	ScopeBody       Scope = "MessageBody"
)

// Documented limits (SNS developer guide, "Filter policy constraints").
const (
	// MaxPolicyBytes bounds the policy document.
	MaxPolicyBytes = 256 * 1024
	// MaxKeys bounds the top-level keys of a policy.
	MaxKeys = 5
	// MaxCombinations bounds the policy's complexity: the sum over $or
	// branches of the product, over the branch's keys, of the number of
	// conditions times the key's nesting depth.
	MaxCombinations = 150
	// maxWildcards bounds the * of one wildcard pattern.
	maxWildcards = 3
	// maxNumeric bounds numeric operands (the matching engine's range).
	maxNumeric = 5e9
)

// Error is a policy that SNS would refuse. Message is SNS's reason, which
// follows "FilterPolicy: " in the client's error unless Bare is set (SNS
// reports a few errors without that prefix).
type Error struct {
	Message string
	Bare    bool
}

func (e *Error) Error() string { return "FilterPolicy: " + e.Message }

func invalid(format string, args ...any) error {
	return &Error{Message: fmt.Sprintf(format, args...)}
}

// Policy is a compiled filter policy.
type Policy struct {
	scope Scope
	alts  []alternative
}

// alternative is one conjunction of keys.
type alternative []key

// key is one (dotted) key with the conditions one of which must hold.
type key struct {
	path  string
	depth int // 1 at the top level
	conds []cond
}

type condKind uint8

const (
	condExact condKind = iota + 1
	condPrefix
	condSuffix
	condEqualsIgnoreCase
	condWildcard
	condAnythingBut
	condNumeric
	condExists
	condCIDR
)

// cond is one condition on a value.
type cond struct {
	kind condKind
	// Exact: a string (kind of value vString), a number (vNumber) or a
	// literal true/false/null (vLiteral, text in str).
	vkind valueKind
	str   string
	num   float64
	// Numeric range bounds.
	lo, hi       float64
	loInc, hiInc bool
	// Exists.
	exists bool
	// CIDR.
	prefix netip.Prefix
	// Wildcard: the literal parts between the wildcards.
	parts []string
	// Anything-but: the negated conditions.
	not []cond
}

// Parse validates and compiles a policy for scope ("" means
// MessageAttributes). The caller treats an empty document and "{}" as no
// policy and does not call Parse for them.
func Parse(doc string, scope Scope) (*Policy, error) {
	if scope == "" {
		scope = ScopeAttributes
	}
	if len(doc) > MaxPolicyBytes {
		return nil, invalid("Filter policy is too long")
	}
	root, err := decode(doc)
	if err != nil {
		return nil, invalid("failed to parse JSON. %s", err.Error())
	}
	if root.kind != jObject {
		return nil, invalid("Filter is not an object")
	}
	if len(root.obj) > MaxKeys {
		return nil, invalid("Filter policy can not have more than %d keys", MaxKeys)
	}
	p := &Policy{scope: scope}
	nested := false
	alts, err := p.expand(&root, "", 1, &nested)
	if err != nil {
		return nil, err
	}
	if nested && scope == ScopeAttributes {
		return nil, &Error{Message: "Filter policy scope MessageAttributes does not support nested filter policy", Bare: true}
	}
	total := 0.0
	for _, a := range alts {
		prod := 1.0
		for _, k := range a {
			prod *= float64(len(k.conds) * k.depth)
		}
		total += prod
	}
	if total > MaxCombinations {
		return nil, invalid("Filter policy is too complex")
	}
	p.alts = alts
	return p, nil
}

// reserved are the names that stop "$or" from being an OR relationship
// (SNS developer guide, "AND/OR logic").
var reserved = map[string]bool{
	"exactly": true, "equals-ignore-case": true, "prefix": true, "suffix": true, "anything-but": true,
	"exists": true, "wildcard": true, "numeric": true, "cidr": true, "=": true, "<": true, "<=": true,
	">": true, ">=": true,
}

// isOr reports whether a "$or" member is an OR relationship: an array of
// at least two objects none of which has a reserved field name.
func isOr(v *jvalue) bool {
	if v.kind != jArray || len(v.arr) < 2 {
		return false
	}
	for i := range v.arr {
		b := &v.arr[i]
		if b.kind != jObject {
			return false
		}
		for _, m := range b.obj {
			if reserved[m.name] {
				return false
			}
		}
	}
	return true
}

// expand turns one policy object into its alternatives.
func (p *Policy) expand(obj *jvalue, path string, depth int, nested *bool) ([]alternative, error) {
	if len(obj.obj) == 0 {
		return nil, invalid("Empty objects are not allowed")
	}
	alts := []alternative{nil}
	for i := range obj.obj {
		m := &obj.obj[i]
		var sub []alternative
		if m.name == "$or" && isOr(&m.val) {
			for j := range m.val.arr {
				ba, err := p.expand(&m.val.arr[j], path, depth, nested)
				if err != nil {
					return nil, err
				}
				sub = append(sub, ba...)
			}
		} else {
			kp := m.name
			if path != "" {
				kp = path + "." + m.name
			}
			switch m.val.kind {
			case jObject:
				*nested = true
				var err error
				if sub, err = p.expand(&m.val, kp, depth+1, nested); err != nil {
					return nil, err
				}
			case jArray:
				conds, err := parseConds(m.val.arr)
				if err != nil {
					return nil, err
				}
				sub = []alternative{{key{path: kp, depth: depth, conds: conds}}}
			default:
				return nil, invalid("%q must be an object or an array", m.name)
			}
		}
		if len(sub) == 1 {
			// One alternative: extend each existing one in place (each
			// has its own backing array).
			for j := range alts {
				alts[j] = append(alts[j], sub[0]...)
			}
			continue
		}
		// Multiply out: every alternative so far with every one of sub.
		next := make([]alternative, 0, len(alts)*len(sub))
		for _, a := range alts {
			for _, s := range sub {
				na := make(alternative, 0, len(a)+len(s))
				na = append(append(na, a...), s...)
				next = append(next, na)
			}
		}
		if len(next) > MaxCombinations {
			return nil, invalid("Filter policy is too complex")
		}
		alts = next
	}
	return alts, nil
}

func parseConds(vals []jvalue) ([]cond, error) {
	if len(vals) == 0 {
		return nil, invalid("Empty arrays are not allowed")
	}
	out := make([]cond, 0, len(vals))
	for i := range vals {
		c, err := parseCond(&vals[i])
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func parseCond(v *jvalue) (cond, error) {
	switch v.kind {
	case jString:
		return cond{kind: condExact, vkind: vString, str: v.str}, nil
	case jNumber:
		f, err := strconv.ParseFloat(v.str, 64)
		if err != nil {
			return cond{}, invalid("Match value must be String, number, true, false, or null")
		}
		return cond{kind: condExact, vkind: vNumber, num: f}, nil
	case jTrue, jFalse, jNull:
		return cond{kind: condExact, vkind: vLiteral, str: v.str}, nil
	case jObject:
		if len(v.obj) == 0 {
			return cond{}, invalid("Empty objects are not allowed")
		}
		if len(v.obj) > 1 {
			return cond{}, invalid("Only one key allowed in match expression")
		}
		return parseOperator(v.obj[0].name, &v.obj[0].val)
	}
	return cond{}, invalid("Match value must be String, number, true, false, or null")
}

func parseOperator(op string, arg *jvalue) (cond, error) {
	switch op {
	case "prefix", "suffix", "equals-ignore-case":
		if arg.kind != jString {
			return cond{}, invalid("%s match pattern must be a string", op)
		}
		kind := map[string]condKind{"prefix": condPrefix, "suffix": condSuffix, "equals-ignore-case": condEqualsIgnoreCase}[op]
		return cond{kind: kind, str: arg.str}, nil
	case "wildcard":
		if arg.kind != jString {
			return cond{}, invalid("wildcard match pattern must be a string")
		}
		parts, err := parseWildcard(arg.str)
		if err != nil {
			return cond{}, err
		}
		return cond{kind: condWildcard, str: arg.str, parts: parts}, nil
	case "exists":
		if arg.kind != jTrue && arg.kind != jFalse {
			return cond{}, invalid("exists match pattern must be either true or false.")
		}
		return cond{kind: condExists, exists: arg.kind == jTrue}, nil
	case "cidr":
		if arg.kind != jString {
			return cond{}, invalid("prefix match pattern must be a string")
		}
		pfx, err := parseCIDR(arg.str)
		if err != nil {
			return cond{}, err
		}
		return cond{kind: condCIDR, prefix: pfx}, nil
	case "numeric":
		return parseNumeric(arg)
	case "anything-but":
		return parseAnythingBut(arg)
	}
	return cond{}, invalid("Unrecognized match type %s", op)
}

// parseWildcard checks a wildcard pattern and returns its literal parts:
// the text before the first *, between the *s, and after the last, with
// the escapes \* and \\ resolved.
func parseWildcard(s string) ([]string, error) {
	var parts []string
	var b strings.Builder
	prevStar := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 >= len(s) || (s[i+1] != '*' && s[i+1] != '\\') {
				return nil, invalid("Invalid escape character at pos %d", i+1)
			}
			i++
			b.WriteByte(s[i])
			prevStar = false
		case c == '*':
			if prevStar {
				return nil, invalid("Consecutive wildcard characters at pos %d", i)
			}
			parts = append(parts, b.String())
			b.Reset()
			prevStar = true
		default:
			prevStar = false
			b.WriteByte(c)
		}
	}
	parts = append(parts, b.String())
	if len(parts)-1 > maxWildcards {
		return nil, invalid("Filter policy is too complex")
	}
	return parts, nil
}

func parseCIDR(s string) (netip.Prefix, error) {
	addr, bits, ok := strings.Cut(s, "/")
	if !ok || strings.Contains(bits, "/") {
		return netip.Prefix{}, invalid("Malformed CIDR, one '/' required")
	}
	n, err := strconv.Atoi(bits)
	if err != nil {
		return netip.Prefix{}, invalid("Malformed CIDR, mask bits must be an integer")
	}
	if n < 0 {
		return netip.Prefix{}, invalid("Malformed CIDR, mask bits must not be negative")
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return netip.Prefix{}, invalid("Invalid IP address: %s", addr)
	}
	if ip.Zone() != "" {
		return netip.Prefix{}, invalid("Nonstandard IP address: %s", addr)
	}
	if ip.Is4() && n >= 32 {
		return netip.Prefix{}, invalid("IPv4 mask bits must be < 32")
	}
	if ip.Is6() && n >= 128 {
		return netip.Prefix{}, invalid("IPv6 mask bits must be < 128")
	}
	return netip.PrefixFrom(ip, n).Masked(), nil
}

func numericOperand(op string, v *jvalue) (float64, error) {
	name := op
	if op == "=" {
		name = "equals"
	}
	if v == nil || v.kind != jNumber {
		return 0, invalid("Value of %s must be numeric", name)
	}
	f, err := strconv.ParseFloat(v.str, 64)
	if err != nil || f < -maxNumeric || f > maxNumeric {
		return 0, invalid("Value must be between -5.0E9 and 5.0E9, inclusive")
	}
	return f, nil
}

func parseNumeric(arg *jvalue) (cond, error) {
	if arg.kind != jArray {
		return cond{}, invalid("Value of numeric must be an array.")
	}
	list := arg.arr
	if len(list) == 0 {
		return cond{}, invalid("Invalid member in numeric match: ]")
	}
	at := func(i int) *jvalue {
		if i < len(list) {
			return &list[i]
		}
		return nil
	}
	if list[0].kind != jString {
		return cond{}, invalid("Invalid member in numeric match: %s", list[0].text())
	}
	c := cond{kind: condNumeric, lo: math.Inf(-1), hi: math.Inf(1)}
	op := list[0].str
	f, ferr := 0.0, error(nil)
	switch op {
	case "=", "<", "<=", ">", ">=":
		f, ferr = numericOperand(op, at(1))
		if ferr != nil {
			return cond{}, ferr
		}
	default:
		return cond{}, invalid("Unrecognized numeric range operator: %s", op)
	}
	switch op {
	case "=":
		c.lo, c.hi, c.loInc, c.hiInc = f, f, true, true
	case "<", "<=":
		c.hi, c.hiInc = f, op == "<="
	case ">", ">=":
		c.lo, c.loInc = f, op == ">="
	}
	if len(list) == 2 {
		return c, nil
	}
	if op == "=" || op == "<" || op == "<=" {
		return cond{}, invalid("Too many elements in numeric expression")
	}
	if list[2].kind != jString {
		return cond{}, invalid("Bad value in numeric range: %s", list[2].text())
	}
	op2 := list[2].str
	if op2 != "<" && op2 != "<=" {
		return cond{}, invalid("Bad numeric range operator: %s", op2)
	}
	top, err := numericOperand(op2, at(3))
	if err != nil {
		return cond{}, err
	}
	if len(list) > 4 {
		return cond{}, invalid("Too many terms in numeric range expression")
	}
	if c.lo >= top {
		return cond{}, invalid("Bottom must be less than top")
	}
	c.hi, c.hiInc = top, op2 == "<="
	return c, nil
}

func parseAnythingBut(arg *jvalue) (cond, error) {
	c := cond{kind: condAnythingBut}
	switch arg.kind {
	case jString:
		c.not = []cond{{kind: condExact, vkind: vString, str: arg.str}}
	case jNumber:
		f, err := strconv.ParseFloat(arg.str, 64)
		if err != nil {
			return cond{}, invalid("Value of anything-but must be an array or single string/number value.")
		}
		c.not = []cond{{kind: condExact, vkind: vNumber, num: f}}
	case jArray:
		if len(arg.arr) == 0 {
			return cond{}, invalid("Empty arrays are not allowed")
		}
		var kind jkind
		for i := range arg.arr {
			e := &arg.arr[i]
			switch e.kind {
			case jString:
				c.not = append(c.not, cond{kind: condExact, vkind: vString, str: e.str})
			case jNumber:
				f, err := strconv.ParseFloat(e.str, 64)
				if err != nil {
					return cond{}, invalid("Value of anything-but must be an array or single string/number value.")
				}
				c.not = append(c.not, cond{kind: condExact, vkind: vNumber, num: f})
			default:
				return cond{}, invalid("Inside anything but list, start|null|boolean is not supported.")
			}
			if i > 0 && e.kind != kind {
				return cond{}, invalid("Inside anything but list, either all values are number or string, mixed type is not supported")
			}
			kind = e.kind
		}
	case jObject:
		if len(arg.obj) == 0 {
			return cond{}, invalid("Anything-But expression name not found")
		}
		if len(arg.obj) > 1 {
			return cond{}, invalid("Only one key allowed in match expression")
		}
		op, v := arg.obj[0].name, &arg.obj[0].val
		switch op {
		case "prefix", "suffix", "wildcard":
			inner, err := parseOperator(op, v)
			if err != nil {
				return cond{}, err
			}
			if inner.str == "" && op != "wildcard" {
				return cond{}, invalid("Null prefix/suffix not allowed")
			}
			c.not = []cond{inner}
		default:
			return cond{}, invalid("Unsupported anything-but pattern: %s", op)
		}
	default:
		return cond{}, invalid("Value of anything-but must be an array or single string/number value.")
	}
	return c, nil
}

// ------------------------------------------------------------ JSON reading

// jvalue is a decoded JSON value that keeps object member order, so that
// validation reports the first error in document order as SNS does.
type jvalue struct {
	kind jkind
	str  string // string contents, number text, or true/false/null
	arr  []jvalue
	obj  []member
}

type member struct {
	name string
	val  jvalue
}

type jkind uint8

const (
	jString jkind = iota + 1
	jNumber
	jTrue
	jFalse
	jNull
	jArray
	jObject
)

// text renders a scalar as it appeared in the document.
func (v *jvalue) text() string {
	switch v.kind {
	case jArray:
		return "["
	case jObject:
		return "{"
	}
	return v.str
}

// maxJSONDepth bounds nesting so that hostile documents cannot exhaust the
// stack.
const maxJSONDepth = 200

func decode(doc string) (jvalue, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return jvalue{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return jvalue{}, errors.New("Unexpected content after the end of the document")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, depth int) (jvalue, error) {
	if depth > maxJSONDepth {
		return jvalue{}, errors.New("Document nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return jvalue{}, errors.New("Unexpected end of input")
		}
		return jvalue{}, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			v := jvalue{kind: jObject}
			for dec.More() {
				nt, err := dec.Token()
				if err != nil {
					return jvalue{}, err
				}
				name, _ := nt.(string)
				val, err := decodeValue(dec, depth+1)
				if err != nil {
					return jvalue{}, err
				}
				v.obj = append(v.obj, member{name, val})
			}
			if _, err := dec.Token(); err != nil {
				return jvalue{}, err
			}
			return v, nil
		case '[':
			v := jvalue{kind: jArray}
			for dec.More() {
				e, err := decodeValue(dec, depth+1)
				if err != nil {
					return jvalue{}, err
				}
				v.arr = append(v.arr, e)
			}
			if _, err := dec.Token(); err != nil {
				return jvalue{}, err
			}
			return v, nil
		}
		return jvalue{}, fmt.Errorf("Unexpected character %q", rune(t))
	case string:
		return jvalue{kind: jString, str: t}, nil
	case json.Number:
		return jvalue{kind: jNumber, str: string(t)}, nil
	case bool:
		if t {
			return jvalue{kind: jTrue, str: "true"}, nil
		}
		return jvalue{kind: jFalse, str: "false"}, nil
	case nil:
		return jvalue{kind: jNull, str: "null"}, nil
	}
	return jvalue{}, errors.New("Unexpected token")
}

// ---------------------------------------------------------------- matching

type valueKind uint8

const (
	vString valueKind = iota + 1
	vNumber
	vLiteral // true, false or null, text in str
)

// value is one leaf value of a message.
type value struct {
	kind valueKind
	str  string
	num  float64
}

// Attribute is one message attribute as the matcher sees it.
type Attribute struct {
	// DataType is String, String.Array, Number or Binary, optionally
	// followed by ".customLabel".
	DataType string
	Value    string
}

// Message is a message prepared for matching against many policies: its
// attributes and, if the body is a JSON object, its flattened body.
type Message struct {
	attrs map[string][]value
	body  map[string][]value
	isObj bool
}

// NewMessage prepares a message. The body is only parsed if parseBody is
// set (some subscription has a body-scoped policy).
func NewMessage(attrs map[string]Attribute, body string, parseBody bool) *Message {
	m := &Message{attrs: make(map[string][]value, len(attrs))}
	for name, a := range attrs {
		if vals, ok := attributeValues(a); ok {
			m.attrs[name] = vals
		}
	}
	if parseBody {
		m.body, m.isObj = flattenBody(body)
	}
	return m
}

// Scope returns the policy's scope.
func (p *Policy) Scope() Scope { return p.scope }

// Match reports whether m passes the policy. A nil policy passes
// everything.
func (p *Policy) Match(m *Message) bool {
	if p == nil {
		return true
	}
	vals := m.attrs
	if p.scope == ScopeBody {
		if !m.isObj {
			return false // a body that is not a JSON object never matches
		}
		vals = m.body
	} else if len(vals) == 0 {
		// "exists": false only matches if at least one attribute is
		// present (SNS developer guide, "Attribute key matching").
		return false
	}
	for _, alt := range p.alts {
		ok := true
		for i := range alt {
			v, present := vals[alt[i].path]
			if !matchKey(alt[i].conds, v, present) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func matchKey(conds []cond, vals []value, present bool) bool {
	for i := range conds {
		c := &conds[i]
		switch c.kind {
		case condExists:
			if !c.exists {
				if !present {
					return true
				}
				continue
			}
			// "The key must have a non-null and non-empty value" (SNS
			// developer guide, "Key matching").
			for _, v := range vals {
				if (v.kind != vLiteral || v.str != "null") && (v.kind != vString || v.str != "") {
					return true
				}
			}
		case condAnythingBut:
			// Matches when some value is excluded by none of the list
			// (the guide's String.Array example).
			for _, v := range vals {
				excluded := false
				for j := range c.not {
					if c.not[j].matches(v) {
						excluded = true
						break
					}
				}
				if !excluded {
					return true
				}
			}
		default:
			for _, v := range vals {
				if c.matches(v) {
					return true
				}
			}
		}
	}
	return false
}

func (c *cond) matches(v value) bool {
	switch c.kind {
	case condExact:
		if v.kind != c.vkind {
			return false
		}
		if v.kind == vNumber {
			return v.num == c.num
		}
		return v.str == c.str
	case condPrefix:
		return v.kind == vString && strings.HasPrefix(v.str, c.str)
	case condSuffix:
		return v.kind == vString && strings.HasSuffix(v.str, c.str)
	case condEqualsIgnoreCase:
		return v.kind == vString && strings.EqualFold(v.str, c.str)
	case condWildcard:
		return v.kind == vString && wildcardMatch(c.parts, v.str)
	case condNumeric:
		if v.kind != vNumber {
			return false
		}
		if v.num < c.lo || (v.num == c.lo && !c.loInc) {
			return false
		}
		return v.num < c.hi || (v.num == c.hi && c.hiInc)
	case condCIDR:
		if v.kind != vString {
			return false
		}
		addr, err := netip.ParseAddr(v.str)
		return err == nil && c.prefix.Contains(addr.Unmap())
	}
	return false
}

// wildcardMatch matches s against a pattern's literal parts, with a
// wildcard between each two.
func wildcardMatch(parts []string, s string) bool {
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

// attributeValues returns the values of an attribute, or false for an
// attribute the matcher ignores (Binary, or malformed).
func attributeValues(a Attribute) ([]value, bool) {
	base, _, _ := strings.Cut(a.DataType, ".")
	switch {
	case a.DataType == "String.Array" || strings.HasPrefix(a.DataType, "String.Array."):
		dec := json.NewDecoder(strings.NewReader(a.Value))
		dec.UseNumber()
		var arr []any
		if err := dec.Decode(&arr); err != nil {
			return nil, false
		}
		out := make([]value, 0, len(arr))
		for _, e := range arr {
			out = appendLeaf(out, e)
		}
		return out, true
	case base == "Number":
		f, err := strconv.ParseFloat(strings.TrimSpace(a.Value), 64)
		if err != nil {
			return nil, false
		}
		return []value{{kind: vNumber, num: f}}, true
	case base == "String":
		return []value{{kind: vString, str: a.Value}}, true
	}
	return nil, false // Binary attributes are ignored
}

func appendLeaf(out []value, e any) []value {
	switch x := e.(type) {
	case string:
		return append(out, value{kind: vString, str: x})
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return out
		}
		return append(out, value{kind: vNumber, num: f})
	case bool:
		return append(out, value{kind: vLiteral, str: strconv.FormatBool(x)})
	case nil:
		return append(out, value{kind: vLiteral, str: "null"})
	}
	return out
}

// flattenBody maps every dotted path of a JSON object body to its leaf
// values, descending through arrays. It reports false for a body that is
// not a JSON object.
func flattenBody(body string) (map[string][]value, bool) {
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	obj, ok := root.(map[string]any)
	if !ok {
		return nil, false
	}
	out := map[string][]value{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				p := k
				if path != "" {
					p = path + "." + k
				}
				walk(p, c)
			}
		case []any:
			if _, ok := out[path]; !ok && len(x) == 0 {
				return // an empty array is like an absent key
			}
			for _, e := range x {
				walk(path, e)
			}
		default:
			out[path] = appendLeaf(out[path], x)
		}
	}
	walk("", obj)
	return out, true
}
