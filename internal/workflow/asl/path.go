// Package asl implements the data handling of the Amazon States Language:
// reference paths ($.a.b[0], $$ for the context object), the payload
// templates of Parameters, ResultSelector and ItemSelector (keys ending in
// ".$"), the intrinsic functions, ResultPath merging, and Choice rules.
//
// JSON values are those of encoding/json decoded with UseNumber: nil,
// bool, json.Number, string, []any and map[string]any. A value is never
// changed in place once made: operations build new values, sharing the
// parts they do not change (ResultPath copies only the objects along its
// path), so values may be shared freely, with the definition's literals
// too.
package asl

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/forkline/forkline/internal/wire/jsontext"
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

// Path is a parsed JSONPath: $ or $$ (the context object), then steps.
// A reference path has only field and index steps and selects one value;
// the others (wildcards, slices, unions, recursive descent and filters,
// as Jayway JsonPath, which Step Functions uses, takes them) select a
// list of values.
type Path struct {
	text     string
	context  bool   // $$: the context object
	variable string // $name: a workflow variable
	steps    []step
	definite bool
}

// Scope is what the context arguments of this package may be instead of
// the bare context object: the context object with the workflow variables
// that $name paths read.
type Scope struct {
	Context any
	Vars    func(name string) (any, bool)
}

func unwrap(context any) (any, func(string) (any, bool)) {
	if s, ok := context.(Scope); ok {
		return s.Context, s.Vars
	}
	return context, nil
}

// Root returns what the path applies to: the input, the context object
// ($$) or a workflow variable ($name); ok is false for an unknown variable.
func (p Path) Root(input, context any) (any, bool) {
	ctx, vars := unwrap(context)
	switch {
	case p.context:
		return ctx, true
	case p.variable != "":
		if vars == nil {
			return nil, false
		}
		return vars(p.variable)
	}
	return input, true
}

// Variable returns the workflow variable the path reads, or "".
func (p Path) Variable() string { return p.variable }

// String returns the path as written.
func (p Path) String() string { return p.text }

// Context reports whether the path addresses the context object ($$).
func (p Path) Context() bool { return p.context }

// Reference reports whether the path is a reference path (States
// Language: only field names and array indexes), which ResultPath needs.
func (p Path) Reference() bool {
	if !p.definite {
		return false
	}
	for _, st := range p.steps {
		if st.isIdx && st.index < 0 {
			return false
		}
	}
	return true
}

// ParsePath parses a JSONPath.
func ParsePath(s string) (Path, error) {
	return paths.get(s, parsePath)
}

// MustPath parses a path known to be valid.
func MustPath(s string) Path {
	p, err := ParsePath(s)
	if err != nil {
		panic(err)
	}
	return p
}

// Get returns the value the path selects in v: the value itself for a
// definite path (false when it is not there), the list of matches
// (possibly empty) for the others.
func (p Path) Get(v any) (any, bool) {
	if !p.definite {
		nodes := []any{v}
		for i := range p.steps {
			nodes = p.steps[i].apply(nodes, v)
		}
		if nodes == nil {
			nodes = []any{}
		}
		return nodes, true
	}
	return getDefinite(p.steps, v)
}

func getDefinite(steps []step, v any) (any, bool) {
	cur := v
	for _, st := range steps {
		if st.isIdx {
			arr, ok := cur.([]any)
			if !ok {
				return nil, false
			}
			i := st.index
			if i < 0 {
				i += len(arr)
			}
			if i < 0 || i >= len(arr) {
				return nil, false
			}
			cur = arr[i]
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
	src, ok := p.Root(input, context)
	if !ok {
		return nil, runtimeError("The variable '$%s' specified for the field '%s' is not defined", p.variable, field)
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
	if err != nil || p.context || p.variable != "" || !p.Reference() {
		return nil, &Error{Name: "States.ResultPathMatchFailure", Cause: fmt.Sprintf("Invalid ResultPath '%s'", *resultPath)}
	}
	if len(p.steps) == 0 {
		return result, nil
	}
	obj, ok := input.(map[string]any)
	if !ok {
		return nil, &Error{Name: "States.ResultPathMatchFailure", Cause: fmt.Sprintf("Unable to apply step \"%s\" to input %s", p.steps[0].field, Encode(input))}
	}
	// Copy the objects along the path; share the rest.
	root := maps.Clone(obj)
	cur := root
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
		m = maps.Clone(m)
		cur[st.field] = m
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

// Encode renders a value as compact JSON, as Step Functions writes it:
// object keys sorted, no HTML escaping. It is a hand-written encoder for
// the value trees of this package (the interpreter encodes every state's
// input and output for the history), with encoding/json's output.
func Encode(v any) string {
	return string(AppendJSON(make([]byte, 0, 256), v))
}

// Appender is a value that writes its own JSON.
type Appender interface {
	AppendJSON(b []byte) []byte
}

// AppendString appends s as a JSON string.
func AppendString(b []byte, s string) []byte { return jsontext.AppendString(b, s) }

// AppendJSON appends the compact JSON of v to b (see Encode).
func AppendJSON(b []byte, v any) []byte {
	switch x := v.(type) {
	case Appender:
		return x.AppendJSON(b)
	case nil:
		return append(b, "null"...)
	case bool:
		if x {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case string:
		return jsontext.AppendString(b, x)
	case json.Number:
		if x == "" {
			return append(b, '0')
		}
		return append(b, x...)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsontext.AppendString(b, k)
			b = append(b, ':')
			b = AppendJSON(b, x[k])
		}
		return append(b, '}')
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSON(b, e)
		}
		return append(b, ']')
	}
	var w strings.Builder
	enc := json.NewEncoder(&w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return append(b, "null"...)
	}
	return append(b, strings.TrimSuffix(w.String(), "\n")...)
}

// memo keeps parsed paths and intrinsic calls by their text, since
// definitions evaluate the same few expressions again and again. It stops
// growing at memoMax entries; what it holds is never changed.
type memo[T any] struct {
	m sync.Map
	n atomic.Int64
}

const memoMax = 10000

var (
	paths      memo[Path]
	intrinsics memo[*call]
)

func (c *memo[T]) get(s string, parse func(string) (T, error)) (T, error) {
	if v, ok := c.m.Load(s); ok {
		return v.(T), nil
	}
	v, err := parse(s)
	if err == nil && c.n.Load() < memoMax {
		c.m.Store(s, v)
		c.n.Add(1)
	}
	return v, err
}
