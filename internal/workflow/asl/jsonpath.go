package asl

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The JSONPath grammar of Step Functions' paths (Jayway JsonPath): .name,
// ['name'], [n] (negative from the end), .* and [*], [start:end:step],
// unions [a,b] and ['a','b'], recursive descent ..name, ..* and ..[...],
// and filters [?(...)] over @ (the current element) and $ (the root).

type stepKind uint8

const (
	stepField stepKind = iota
	stepIndex
	stepWildcard
	stepSlice
	stepNames
	stepIndexes
	stepDeep
	stepFilter
)

// step is one element of a path.
type step struct {
	kind  stepKind
	field string
	index int
	isIdx bool // kind == stepIndex

	names            []string
	indexes          []int
	start, end, by   int
	hasStart, hasEnd bool
	inner            *step // stepDeep: what is selected at every depth
	filter           *filterExpr
}

func parsePath(s string) (Path, error) {
	p := Path{text: s, definite: true}
	rest := s
	switch {
	case strings.HasPrefix(rest, "$$"):
		p.context = true
		rest = rest[2:]
	case strings.HasPrefix(rest, "$"):
		rest = rest[1:]
		// $name: a workflow variable.
		end := 0
		for end < len(rest) && (rest[end] == '_' || rest[end] >= 'a' && rest[end] <= 'z' || rest[end] >= 'A' && rest[end] <= 'Z' || end > 0 && rest[end] >= '0' && rest[end] <= '9') {
			end++
		}
		p.variable, rest = rest[:end], rest[end:]
	default:
		return Path{}, fmt.Errorf("path %q must begin with '$'", s)
	}
	for rest != "" {
		var st step
		var err error
		switch {
		case strings.HasPrefix(rest, ".."):
			rest = rest[2:]
			var inner step
			if strings.HasPrefix(rest, "[") {
				inner, rest, err = parseBracket(rest)
			} else {
				inner, rest, err = parseDotName(rest)
			}
			if err != nil {
				return Path{}, fmt.Errorf("path %q: %v", s, err)
			}
			st = step{kind: stepDeep, inner: &inner}
		case rest[0] == '.':
			st, rest, err = parseDotName(rest[1:])
		case rest[0] == '[':
			st, rest, err = parseBracket(rest)
		default:
			return Path{}, fmt.Errorf("path %q is malformed near %q", s, rest)
		}
		if err != nil {
			return Path{}, fmt.Errorf("path %q: %v", s, err)
		}
		if st.kind != stepField && st.kind != stepIndex {
			p.definite = false
		}
		p.steps = append(p.steps, st)
	}
	return p, nil
}

func parseDotName(rest string) (step, string, error) {
	end := strings.IndexAny(rest, ".[")
	if end < 0 {
		end = len(rest)
	}
	name := rest[:end]
	switch {
	case name == "":
		return step{}, "", fmt.Errorf("empty field name")
	case name == "*":
		return step{kind: stepWildcard}, rest[end:], nil
	case strings.ContainsAny(name, "*@?()'\" "):
		return step{}, "", fmt.Errorf("invalid field name %q", name)
	}
	return step{kind: stepField, field: name}, rest[end:], nil
}

// closing finds the ']' that closes the bracket at rest[0], skipping quoted
// strings, regular expressions and parentheses.
func closing(rest string) int {
	depth := 0
	for i := 1; i < len(rest); i++ {
		switch c := rest[i]; c {
		case '\'', '"':
			for i++; i < len(rest) && rest[i] != c; i++ {
				if rest[i] == '\\' {
					i++
				}
			}
		case '(':
			depth++
		case ')':
			depth--
		case ']':
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

func parseBracket(rest string) (step, string, error) {
	end := closing(rest)
	if end < 0 {
		return step{}, "", fmt.Errorf("unclosed '['")
	}
	inner := strings.TrimSpace(rest[1:end])
	rest = rest[end+1:]
	switch {
	case inner == "*":
		return step{kind: stepWildcard}, rest, nil
	case strings.HasPrefix(inner, "?"):
		f := strings.TrimSpace(inner[1:])
		if !strings.HasPrefix(f, "(") || !strings.HasSuffix(f, ")") {
			return step{}, "", fmt.Errorf("a filter is written [?(...)]")
		}
		expr, err := parseFilter(f[1 : len(f)-1])
		if err != nil {
			return step{}, "", err
		}
		return step{kind: stepFilter, filter: expr}, rest, nil
	case inner == "":
		return step{}, "", fmt.Errorf("empty brackets")
	case inner[0] == '\'' || inner[0] == '"':
		var names []string
		for _, part := range splitTop(inner, ',') {
			part = strings.TrimSpace(part)
			if len(part) < 2 || part[0] != part[len(part)-1] || part[0] != '\'' && part[0] != '"' {
				return step{}, "", fmt.Errorf("invalid name %s in brackets", part)
			}
			names = append(names, part[1:len(part)-1])
		}
		if len(names) == 1 {
			return step{kind: stepField, field: names[0]}, rest, nil
		}
		return step{kind: stepNames, names: names}, rest, nil
	case strings.Contains(inner, ":"):
		parts := strings.Split(inner, ":")
		if len(parts) > 3 {
			return step{}, "", fmt.Errorf("invalid slice [%s]", inner)
		}
		st := step{kind: stepSlice, by: 1}
		num := func(s string) (int, bool, error) {
			s = strings.TrimSpace(s)
			if s == "" {
				return 0, false, nil
			}
			n, err := strconv.Atoi(s)
			if err != nil {
				return 0, false, fmt.Errorf("invalid slice [%s]", inner)
			}
			return n, true, nil
		}
		var err error
		if st.start, st.hasStart, err = num(parts[0]); err != nil {
			return step{}, "", err
		}
		if st.end, st.hasEnd, err = num(parts[1]); err != nil {
			return step{}, "", err
		}
		if len(parts) == 3 {
			if by, ok, err := num(parts[2]); err != nil || ok && by <= 0 {
				return step{}, "", fmt.Errorf("invalid slice step in [%s]", inner)
			} else if ok {
				st.by = by
			}
		}
		return st, rest, nil
	}
	var idx []int
	for _, part := range strings.Split(inner, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil {
			return step{}, "", fmt.Errorf("invalid index [%s]", inner)
		}
		idx = append(idx, n)
	}
	if len(idx) == 1 {
		return step{kind: stepIndex, index: idx[0], isIdx: true}, rest, nil
	}
	return step{kind: stepIndexes, indexes: idx}, rest, nil
}

// splitTop splits s at sep outside quotes.
func splitTop(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'' || c == '"':
			for i++; i < len(s) && s[i] != c; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		case c == sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// apply selects from each node; root is the document, for filters' $.
func (st *step) apply(nodes []any, root any) []any {
	var out []any
	for _, n := range nodes {
		out = st.selectFrom(n, root, out)
	}
	return out
}

func (st *step) selectFrom(n, root any, out []any) []any {
	switch st.kind {
	case stepField:
		if m, ok := n.(map[string]any); ok {
			if v, ok := m[st.field]; ok {
				out = append(out, v)
			}
		}
	case stepIndex:
		if v, ok := getDefinite([]step{*st}, n); ok {
			out = append(out, v)
		}
	case stepWildcard:
		switch x := n.(type) {
		case map[string]any:
			for _, k := range sortedKeys(x) {
				out = append(out, x[k])
			}
		case []any:
			out = append(out, x...)
		}
	case stepNames:
		if m, ok := n.(map[string]any); ok {
			for _, k := range st.names {
				if v, ok := m[k]; ok {
					out = append(out, v)
				}
			}
		}
	case stepIndexes:
		for _, i := range st.indexes {
			if v, ok := getDefinite([]step{{kind: stepIndex, index: i, isIdx: true}}, n); ok {
				out = append(out, v)
			}
		}
	case stepSlice:
		arr, ok := n.([]any)
		if !ok {
			break
		}
		norm := func(i int) int {
			if i < 0 {
				i += len(arr)
			}
			return max(0, min(i, len(arr)))
		}
		from, to := 0, len(arr)
		if st.hasStart {
			from = norm(st.start)
		}
		if st.hasEnd {
			to = norm(st.end)
		}
		for i := from; i < to; i += st.by {
			out = append(out, arr[i])
		}
	case stepDeep:
		var walk func(v any)
		walk = func(v any) {
			out = st.inner.selectFrom(v, root, out)
			switch x := v.(type) {
			case map[string]any:
				for _, k := range sortedKeys(x) {
					walk(x[k])
				}
			case []any:
				for _, e := range x {
					walk(e)
				}
			}
		}
		walk(n)
	case stepFilter:
		switch x := n.(type) {
		case []any:
			for _, e := range x {
				if st.filter.test(e, root) {
					out = append(out, e)
				}
			}
		case map[string]any:
			if st.filter.test(x, root) {
				out = append(out, x)
			}
		}
	}
	return out
}

// filterExpr is a filter's expression tree.
type filterExpr struct {
	op          string // "||", "&&", "!", a comparison, or "" for an operand's existence / truth
	left, right *filterExpr
	val         operand
}

type operand struct {
	path    *Path // @... or $...
	current bool  // @
	lit     any
	isLit   bool
	re      *regexp.Regexp
}

type filterParser struct {
	s   string
	pos int
}

func parseFilter(s string) (*filterExpr, error) {
	p := &filterParser{s: s}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos != len(p.s) {
		return nil, fmt.Errorf("unexpected %q in filter", p.s[p.pos:])
	}
	return e, nil
}

func (p *filterParser) space() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

func (p *filterParser) eat(tok string) bool {
	p.space()
	if strings.HasPrefix(p.s[p.pos:], tok) {
		p.pos += len(tok)
		return true
	}
	return false
}

func (p *filterParser) or() (*filterExpr, error) {
	l, err := p.and()
	for err == nil && p.eat("||") {
		var r *filterExpr
		if r, err = p.and(); err == nil {
			l = &filterExpr{op: "||", left: l, right: r}
		}
	}
	return l, err
}

func (p *filterParser) and() (*filterExpr, error) {
	l, err := p.unary()
	for err == nil && p.eat("&&") {
		var r *filterExpr
		if r, err = p.unary(); err == nil {
			l = &filterExpr{op: "&&", left: l, right: r}
		}
	}
	return l, err
}

func (p *filterParser) unary() (*filterExpr, error) {
	if p.eat("!") && !strings.HasPrefix(p.s[p.pos:], "=") {
		e, err := p.unary()
		return &filterExpr{op: "!", left: e}, err
	}
	if p.eat("(") {
		e, err := p.or()
		if err == nil && !p.eat(")") {
			err = fmt.Errorf("missing ')' in filter")
		}
		return e, err
	}
	l, err := p.operand()
	if err != nil {
		return nil, err
	}
	for _, op := range []string{"==", "!=", "<=", ">=", "=~", "<", ">", " nin ", " in "} {
		if p.eat(strings.TrimLeft(op, " ")) || op[0] == ' ' && p.eat(op) {
			r, err := p.operand()
			if err != nil {
				return nil, err
			}
			return &filterExpr{op: strings.TrimSpace(op), left: &filterExpr{val: l}, right: &filterExpr{val: r}}, nil
		}
	}
	return &filterExpr{val: l}, nil
}

func (p *filterParser) operand() (operand, error) {
	p.space()
	if p.pos >= len(p.s) {
		return operand{}, fmt.Errorf("filter ends early")
	}
	rest := p.s[p.pos:]
	switch c := rest[0]; {
	case c == '@' || c == '$':
		end := 1
		for end < len(rest) {
			ch := rest[end]
			if ch == '[' {
				j := closing(rest[end:])
				if j < 0 {
					return operand{}, fmt.Errorf("unclosed '[' in filter")
				}
				end += j + 1
				continue
			}
			if ch == ' ' || ch == ')' || ch == '=' || ch == '!' || ch == '<' || ch == '>' || ch == '&' || ch == '|' {
				break
			}
			end++
		}
		text := rest[:end]
		p.pos += end
		pathText := "$" + text[1:]
		path, err := parsePath(pathText)
		if err != nil {
			return operand{}, err
		}
		return operand{path: &path, current: c == '@'}, nil
	case c == '\'' || c == '"':
		i := 1
		var b strings.Builder
		for ; i < len(rest) && rest[i] != c; i++ {
			if rest[i] == '\\' && i+1 < len(rest) {
				i++
			}
			b.WriteByte(rest[i])
		}
		if i >= len(rest) {
			return operand{}, fmt.Errorf("unclosed string in filter")
		}
		p.pos += i + 1
		return operand{lit: b.String(), isLit: true}, nil
	case c == '[':
		end := closing(rest)
		if end < 0 {
			return operand{}, fmt.Errorf("unclosed '[' in filter")
		}
		var list []any
		for _, part := range splitTop(rest[1:end], ',') {
			if strings.TrimSpace(part) == "" {
				continue
			}
			sub := &filterParser{s: part}
			o, err := sub.operand()
			if err != nil || !o.isLit {
				return operand{}, fmt.Errorf("invalid list in filter: %s", rest[:end+1])
			}
			list = append(list, o.lit)
		}
		p.pos += end + 1
		return operand{lit: list, isLit: true}, nil
	case c == '/':
		end := strings.LastIndexByte(rest, '/')
		if end <= 0 {
			return operand{}, fmt.Errorf("unclosed regular expression in filter")
		}
		pattern := rest[1:end]
		flags := ""
		j := end + 1
		for j < len(rest) && strings.IndexByte("imsx", rest[j]) >= 0 {
			if rest[j] != 'x' {
				flags += string(rest[j])
			}
			j++
		}
		if flags != "" {
			pattern = "(?" + flags + ")" + pattern
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			return operand{}, fmt.Errorf("invalid regular expression in filter: %v", err)
		}
		p.pos += j
		return operand{re: re}, nil
	}
	for _, w := range []struct {
		s string
		v any
	}{{"true", true}, {"false", false}, {"null", nil}} {
		if strings.HasPrefix(rest, w.s) {
			p.pos += len(w.s)
			return operand{lit: w.v, isLit: true}, nil
		}
	}
	end := 0
	for end < len(rest) && strings.IndexByte("+-.0123456789eE", rest[end]) >= 0 {
		end++
	}
	if end == 0 {
		return operand{}, fmt.Errorf("unexpected %q in filter", rest)
	}
	f, err := strconv.ParseFloat(rest[:end], 64)
	if err != nil {
		return operand{}, fmt.Errorf("invalid number %q in filter", rest[:end])
	}
	p.pos += end
	return operand{lit: f, isLit: true}, nil
}

// value evaluates an operand; ok is false when its path selects nothing.
func (o operand) value(cur, root any) (any, bool) {
	if o.path == nil {
		return o.lit, true
	}
	src := root
	if o.current {
		src = cur
	}
	return o.path.Get(src)
}

func (e *filterExpr) test(cur, root any) bool {
	switch e.op {
	case "||":
		return e.left.test(cur, root) || e.right.test(cur, root)
	case "&&":
		return e.left.test(cur, root) && e.right.test(cur, root)
	case "!":
		return !e.left.test(cur, root)
	case "":
		v, ok := e.val.value(cur, root)
		if !ok {
			return false
		}
		if b, isBool := v.(bool); isBool && e.val.isLit {
			return b
		}
		return true
	}
	l, lok := e.left.val.value(cur, root)
	if e.op == "=~" {
		s, isStr := l.(string)
		return lok && isStr && e.right.val.re != nil && e.right.val.re.MatchString(s)
	}
	r, rok := e.right.val.value(cur, root)
	if !lok || !rok {
		return e.op == "!="
	}
	switch e.op {
	case "in", "nin":
		list, _ := r.([]any)
		found := slices.ContainsFunc(list, func(x any) bool { return equalJSON(l, x) })
		return found == (e.op == "in")
	case "==":
		return equalJSON(l, r)
	case "!=":
		return !equalJSON(l, r)
	}
	if a, ok := number(l); ok {
		if b, ok := number(r); ok {
			return compareOrdered(e.op, cmpFloat(a, b))
		}
		return false
	}
	if a, ok := l.(string); ok {
		if b, ok := r.(string); ok {
			return compareOrdered(e.op, strings.Compare(a, b))
		}
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func compareOrdered(op string, c int) bool {
	switch op {
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	}
	return false
}

// equalJSON compares JSON values, numbers by value.
func equalJSON(a, b any) bool {
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y && !math.IsNaN(x)
	}
	return Encode(a) == Encode(b)
}
