// Package asl implements the data handling of the Amazon States Language:
// reference paths ($.a.b[0], $$ for the context object), the payload
// templates of Parameters, ResultSelector and ItemSelector (keys ending in
// ".$"), the intrinsic functions, ResultPath merging, and Choice rules.
//
// JSON values are those of encoding/json decoded with UseNumber: nil,
// bool, json.Number, string, []any and map[string]any.
package asl

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Error is a States error: Name is the error name States.* (Catch and Retry
// match on it), Cause its explanation.
type Error struct {
	Name  string
	Cause string
}

func (e *Error) Error() string { return e.Name + ": " + e.Cause }

func runtimeError(format string, args ...any) error {
	return &Error{Name: "States.Runtime", Cause: fmt.Sprintf(format, args...)}
}

// step is one element of a path: a field name or an array index.
type step struct {
	field string
	index int
	isIdx bool
}

// Path is a parsed reference path.
type Path struct {
	text    string
	context bool // $$: the context object
	steps   []step
}

// String returns the path as written.
func (p Path) String() string { return p.text }

// Context reports whether the path addresses the context object ($$).
func (p Path) Context() bool { return p.context }

// ParsePath parses a reference path: $ or $$, then .field, ['field'] or
// [index] steps.
func ParsePath(s string) (Path, error) {
	p := Path{text: s}
	rest := s
	switch {
	case strings.HasPrefix(rest, "$$"):
		p.context = true
		rest = rest[2:]
	case strings.HasPrefix(rest, "$"):
		rest = rest[1:]
	default:
		return Path{}, fmt.Errorf("path %q must begin with '$'", s)
	}
	for rest != "" {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			name := rest[:end]
			if name == "" {
				return Path{}, fmt.Errorf("path %q has an empty field name", s)
			}
			if strings.ContainsAny(name, "*@?()") {
				return Path{}, fmt.Errorf("path %q is not a reference path", s)
			}
			p.steps = append(p.steps, step{field: name})
			rest = rest[end:]
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return Path{}, fmt.Errorf("path %q has an unclosed '['", s)
			}
			inner := strings.TrimSpace(rest[1:end])
			rest = rest[end+1:]
			if len(inner) >= 2 && (inner[0] == '\'' && inner[len(inner)-1] == '\'' || inner[0] == '"' && inner[len(inner)-1] == '"') {
				p.steps = append(p.steps, step{field: inner[1 : len(inner)-1]})
				continue
			}
			n, err := strconv.Atoi(inner)
			if err != nil || n < 0 {
				return Path{}, fmt.Errorf("path %q is not a reference path", s)
			}
			p.steps = append(p.steps, step{index: n, isIdx: true})
		default:
			return Path{}, fmt.Errorf("path %q is malformed near %q", s, rest)
		}
	}
	return p, nil
}

// MustPath parses a path known to be valid.
func MustPath(s string) Path {
	p, err := ParsePath(s)
	if err != nil {
		panic(err)
	}
	return p
}

// Get returns the value the path selects in v.
func (p Path) Get(v any) (any, bool) {
	cur := v
	for _, st := range p.steps {
		if st.isIdx {
			arr, ok := cur.([]any)
			if !ok || st.index >= len(arr) {
				return nil, false
			}
			cur = arr[st.index]
			continue
		}
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[st.field]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// Select applies a path to input (or to the context object for $$),
// failing as Step Functions does when it selects nothing.
func Select(path string, input, context any, field string) (any, error) {
	p, err := ParsePath(path)
	if err != nil {
		return nil, runtimeError("Invalid path '%s' for the field '%s': %v", path, field, err)
	}
	src := input
	if p.context {
		src = context
	}
	v, ok := p.Get(src)
	if !ok {
		return nil, runtimeError("The JSONPath '%s' specified for the field '%s' could not be found in the input '%s'", path, field, Encode(src))
	}
	return v, nil
}

// ApplyResultPath places result into input as ResultPath says: absent ($)
// replaces the input, null discards the result, a path sets it, creating
// objects along the way.
func ApplyResultPath(resultPath *string, input, result any) (any, error) {
	if resultPath == nil || *resultPath == "$" {
		return result, nil
	}
	if *resultPath == "null" {
		return input, nil
	}
	p, err := ParsePath(*resultPath)
	if err != nil || p.context {
		return nil, &Error{Name: "States.ResultPathMatchFailure", Cause: fmt.Sprintf("Invalid ResultPath '%s'", *resultPath)}
	}
	root := Clone(input)
	if len(p.steps) == 0 {
		return result, nil
	}
	obj, ok := root.(map[string]any)
	if !ok {
		return nil, &Error{Name: "States.ResultPathMatchFailure", Cause: fmt.Sprintf("Unable to apply step \"%s\" to input %s", p.steps[0].field, Encode(input))}
	}
	cur := obj
	for i, st := range p.steps {
		if st.isIdx {
			return nil, &Error{Name: "States.ResultPathMatchFailure", Cause: fmt.Sprintf("Unable to apply ResultPath '%s': array indexes are not supported", *resultPath)}
		}
		if i == len(p.steps)-1 {
			cur[st.field] = result
			break
		}
		next, exists := cur[st.field]
		if !exists {
			m := map[string]any{}
			cur[st.field] = m
			cur = m
			continue
		}
		m, ok := next.(map[string]any)
		if !ok {
			return nil, &Error{Name: "States.ResultPathMatchFailure", Cause: fmt.Sprintf("Unable to apply step \"%s\" to input %s", p.steps[i+1].field, Encode(next))}
		}
		cur = m
	}
	return root, nil
}

// Clone deep-copies a JSON value.
func Clone(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = Clone(e)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = Clone(e)
		}
		return a
	}
	return v
}

// Decode parses JSON text into a value (numbers as json.Number).
func Decode(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("unexpected content after the JSON value")
	}
	return v, nil
}

// Encode renders a value as compact JSON, as Step Functions writes it.
func Encode(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "null"
	}
	return strings.TrimSuffix(b.String(), "\n")
}
