package workflow

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/forkline/forkline/internal/uuid"
	"github.com/forkline/forkline/internal/workflow/asl"
	"github.com/forkline/forkline/internal/workflow/jsonata"
)

// JSONata states (Step Functions developer guide, "Transforming data with
// JSONata in Step Functions"): Arguments and Output instead of the five
// JSONPath fields, Condition in Choice rules, Items in Map, expressions in
// "{% %}" strings anywhere in those fields, the $states variable
// (input, result, errorOutput, context) and workflow variables.

// jsonataFields are a JSONata state's fields; each may hold "{% %}"
// expressions.
type jsonataFields struct {
	Arguments, Output         any
	HasArguments, HasOutput   bool
	Items, ItemSelector       any
	HasItems, HasItemSelector bool
	Seconds, Timestamp        any
	Timeout, Heartbeat        any
	MaxConcurrency            any
	Error, Cause              any
	Rules                     []jsonataRule
	Catch                     []jsonataCatch
}

type jsonataRule struct {
	Condition any
	Next      string
	Output    any
	HasOutput bool
	Assign    any
}

type jsonataCatch struct {
	Output    any
	HasOutput bool
	Assign    any
}

var jsonataStateFields = map[string][]string{
	"Pass":     {"Output", "Assign"},
	"Task":     {"Resource", "Arguments", "Output", "Assign", "Retry", "Catch", "TimeoutSeconds", "HeartbeatSeconds", "Credentials"},
	"Choice":   {"Choices", "Default", "Output", "Assign"},
	"Wait":     {"Seconds", "Timestamp", "Output", "Assign"},
	"Succeed":  {"Output"},
	"Fail":     {"Error", "Cause"},
	"Parallel": {"Branches", "Arguments", "Output", "Assign", "Retry", "Catch"},
	"Map":      {"ItemProcessor", "Iterator", "Items", "ItemSelector", "MaxConcurrency", "Output", "Assign", "Retry", "Catch", "ToleratedFailurePercentage", "ToleratedFailureCount", "Label"},
}

// isExpr reports whether a string is a JSONata expression, "{% ... %}".
func isExpr(s string) (string, bool) {
	if strings.HasPrefix(s, "{%") && strings.HasSuffix(s, "%}") && len(s) >= 4 {
		return strings.TrimSpace(s[2 : len(s)-2]), true
	}
	return "", false
}

// compiled memoizes compiled expressions by their text.
var compiled sync.Map

func compile(src string) (*jsonata.Expr, error) {
	if e, ok := compiled.Load(src); ok {
		return e.(*jsonata.Expr), nil
	}
	e, err := jsonata.Compile(src)
	if err != nil {
		return nil, err
	}
	compiled.Store(src, e)
	return e, nil
}

// checkJSONata compiles every expression of a field's value.
func checkJSONata(v any, where string) error {
	switch x := v.(type) {
	case string:
		if src, ok := isExpr(x); ok {
			if _, err := compile(src); err != nil {
				return definitionError("SCHEMA_VALIDATION_FAILED", fmt.Sprintf("The JSONata expression '%s' is not valid: %v", src, err), where)
			}
		}
	case map[string]any:
		for k, e := range x {
			if err := checkJSONata(e, where+"/"+k); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range x {
			if err := checkJSONata(e, fmt.Sprintf("%s[%d]", where, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func parseJSONataState(name string, raw map[string]any, where string) (*State, error) {
	typ, _ := raw["Type"].(string)
	fields, ok := jsonataStateFields[typ]
	if !ok {
		return nil, definitionError("SCHEMA_VALIDATION_FAILED", fmt.Sprintf("The field 'Type' must be one of Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map (got %q)", typ), where+"/Type")
	}
	allowed := map[string]bool{"Type": true, "Comment": true, "Next": true, "End": true, "QueryLanguage": true}
	for _, f := range fields {
		allowed[f] = true
	}
	for k := range raw {
		if !allowed[k] {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", fmt.Sprintf("Field '%s' is not supported by %s states that use JSONata", k, typ), where+"/"+k)
		}
		if k != "Type" && k != "Comment" && k != "Next" && k != "Resource" && k != "QueryLanguage" {
			if err := checkJSONata(raw[k], where+"/"+k); err != nil {
				return nil, err
			}
		}
	}
	// The JSONPath parser reads the fields the two languages share (Next,
	// End, Resource, Retry, Catch, Branches, ItemProcessor, Default, the
	// numeric limits); it sees the others removed.
	shared := map[string]any{}
	for k, v := range raw {
		switch k {
		case "Output", "Arguments", "Assign", "Items", "ItemSelector", "Choices", "Seconds", "Timestamp", "Error", "Cause", "QueryLanguage":
			continue
		case "TimeoutSeconds", "HeartbeatSeconds", "MaxConcurrency":
			if _, isNum := v.(json.Number); !isNum {
				continue // an expression, evaluated when the state runs
			}
		}
		shared[k] = v
	}
	switch typ {
	case "Choice":
		shared["Choices"] = []any{map[string]any{"Variable": "$", "IsPresent": true, "Next": "_"}}
	case "Wait":
		shared["Seconds"] = json.Number("0")
	case "Map":
		// The item processor inherits JSONata.
		if p, ok := shared["ItemProcessor"].(map[string]any); ok {
			shared["ItemProcessor"] = withLanguage(p)
		}
		if p, ok := shared["Iterator"].(map[string]any); ok {
			shared["Iterator"] = withLanguage(p)
		}
	case "Parallel":
		if list, ok := shared["Branches"].([]any); ok {
			out := make([]any, len(list))
			for i, b := range list {
				if m, ok := b.(map[string]any); ok {
					out[i] = withLanguage(m)
				} else {
					out[i] = b
				}
			}
			shared["Branches"] = out
		}
	}
	st, err := parseState(name, shared, where, "JSONPath")
	if err != nil {
		return nil, err
	}
	st.JSONata = true
	st.Choices, st.ChoiceAssign = nil, nil
	st.Seconds = nil
	st.Assign = raw["Assign"]
	if st.Assign != nil {
		if _, ok := st.Assign.(map[string]any); !ok {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", "Assign must be an object", where+"/Assign")
		}
	}
	j := &jsonataFields{}
	j.Arguments, j.HasArguments = raw["Arguments"]
	j.Output, j.HasOutput = raw["Output"]
	j.Items, j.HasItems = raw["Items"]
	j.ItemSelector, j.HasItemSelector = raw["ItemSelector"]
	j.Seconds, j.Timestamp = raw["Seconds"], raw["Timestamp"]
	j.Error, j.Cause = raw["Error"], raw["Cause"]
	for _, f := range []struct {
		key string
		dst *any
	}{{"TimeoutSeconds", &j.Timeout}, {"HeartbeatSeconds", &j.Heartbeat}, {"MaxConcurrency", &j.MaxConcurrency}} {
		if v, ok := raw[f.key].(string); ok {
			*f.dst = v
		}
	}
	if typ == "Wait" && (j.Seconds == nil) == (j.Timestamp == nil) {
		return nil, definitionError("SCHEMA_VALIDATION_FAILED", "A Wait state needs exactly one of Seconds and Timestamp", where)
	}
	if typ == "Choice" {
		list, ok := raw["Choices"].([]any)
		if !ok || len(list) == 0 {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", "Choices must be a non-empty array", where+"/Choices")
		}
		for i, e := range list {
			m, ok := e.(map[string]any)
			w := fmt.Sprintf("%s/Choices[%d]", where, i)
			if !ok {
				return nil, definitionError("SCHEMA_VALIDATION_FAILED", "A choice rule must be an object", w)
			}
			for k := range m {
				if k != "Condition" && k != "Next" && k != "Output" && k != "Assign" && k != "Comment" {
					return nil, definitionError("SCHEMA_VALIDATION_FAILED", fmt.Sprintf("Field '%s' is not supported by Choice rules that use JSONata", k), w+"/"+k)
				}
			}
			r := jsonataRule{Condition: m["Condition"], Assign: m["Assign"]}
			r.Output, r.HasOutput = m["Output"]
			if r.Next, _ = m["Next"].(string); r.Next == "" {
				return nil, definitionError("MISSING_TRANSITION_TARGET", "Missing 'Next' target", w+"/Next")
			}
			if r.Condition == nil {
				return nil, definitionError("SCHEMA_VALIDATION_FAILED", "A Choice rule needs a Condition", w)
			}
			j.Rules = append(j.Rules, r)
		}
	}
	if list, ok := raw["Catch"].([]any); ok {
		for _, e := range list {
			m, _ := e.(map[string]any)
			c := jsonataCatch{Assign: m["Assign"]}
			c.Output, c.HasOutput = m["Output"]
			j.Catch = append(j.Catch, c)
		}
	}
	st.J = j
	return st, nil
}

func withLanguage(m map[string]any) map[string]any {
	if _, ok := m["QueryLanguage"]; ok {
		return m
	}
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	out["QueryLanguage"] = "JSONata"
	return out
}

// vars is a scope of workflow variables: a workflow's own, or a Parallel
// branch's or Map iteration's, which reads its parent's.
type vars struct {
	m      map[string]any
	parent *vars
}

func (v *vars) lookup(name string) (any, bool) {
	for s := v; s != nil; s = s.parent {
		if x, ok := s.m[name]; ok {
			return x, true
		}
	}
	return nil, false
}

func (v *vars) all() map[string]any {
	out := map[string]any{}
	var chain []*vars
	for s := v; s != nil; s = s.parent {
		chain = append(chain, s)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		for k, x := range chain[i].m {
			out[k] = x
		}
	}
	return out
}

// scope2 is the variable lookup of the asl functions (nil without
// variables).
func (r *run) scope2() func(string) (any, bool) {
	if r.vars == nil {
		return nil
	}
	return r.vars.lookup
}

// scope is the context argument of the asl functions: the context object
// with the variables.
func (r *run) scope() any {
	if r.vars == nil || len(r.vars.m) == 0 && r.vars.parent == nil {
		return r.ctx
	}
	return asl.Scope{Context: r.ctx, Vars: r.vars.lookup}
}

// queryError is States.QueryEvaluationError.
func queryError(field string, err error) error {
	return &failure{"States.QueryEvaluationError", fmt.Sprintf("An error occurred while evaluating the JSONata expression in the field '%s': %v", field, err)}
}

// render evaluates the expressions in a JSONata field's value.
func (r *run) render(v any, field string, states map[string]any) (any, error) {
	switch x := v.(type) {
	case string:
		src, ok := isExpr(x)
		if !ok {
			return x, nil
		}
		e, err := compile(src)
		if err != nil {
			return nil, queryError(field, err)
		}
		env := map[string]any{}
		if r.vars != nil {
			env = r.vars.all()
		}
		env["states"] = states
		out, err := e.Evaluate(nil, env, sfnFunctions)
		if err != nil {
			return nil, queryError(field, err)
		}
		if out == jsonata.Undefined {
			return nil, &failure{"States.QueryEvaluationError", fmt.Sprintf("The JSONata expression '%s' specified for the field '%s' returned nothing (undefined)", src, field)}
		}
		return jsonata.Normalize(out), nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			val, err := r.render(e, field, states)
			if err != nil {
				return nil, err
			}
			out[k] = val
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			val, err := r.render(e, field, states)
			if err != nil {
				return nil, err
			}
			out[i] = val
		}
		return out, nil
	}
	return v, nil
}

// assign evaluates a state's Assign and sets the variables (all values
// are computed before any is set, so they see the variables as they were
// when the state began). JSONPath states render Assign as a payload
// template over input.
func (r *run) assign(a any, jsonataMode bool, states map[string]any, input any) error {
	m, ok := a.(map[string]any)
	if !ok || len(m) == 0 {
		return nil
	}
	var vals map[string]any
	if jsonataMode {
		v, err := r.render(m, "Assign", states)
		if err != nil {
			return err
		}
		vals = v.(map[string]any)
	} else {
		v, err := asl.Render(m, input, r.scope(), "Assign")
		if err != nil {
			return err
		}
		vals = v.(map[string]any)
	}
	if r.vars == nil {
		r.vars = &vars{m: map[string]any{}}
	}
	for k, v := range vals {
		r.vars.m[k] = v
	}
	return nil
}

// runJSONata runs a state that uses JSONata.
func (r *run) runJSONata(ctx context.Context, st *State, raw any, cur *cursor) (any, string, error) {
	j := st.J
	states := map[string]any{"input": raw, "context": r.ctx}
	output := func(def any) (any, error) {
		if j.HasOutput {
			return r.render(j.Output, "Output", states)
		}
		return def, nil
	}
	finish := func(def any, next string) (any, string, error) {
		out, err := output(def)
		if err != nil {
			return nil, "", err
		}
		if err := r.assign(st.Assign, true, states, nil); err != nil {
			return nil, "", err
		}
		return out, next, nil
	}
	number := func(v any, field string) (float64, bool, error) {
		if v == nil {
			return 0, false, nil
		}
		x, err := r.render(v, field, states)
		if err != nil {
			return 0, false, err
		}
		f, ok := toFloat(x)
		if !ok {
			return 0, false, &failure{"States.QueryEvaluationError", fmt.Sprintf("The value of the field '%s' must be a number: %s", field, asl.Encode(x))}
		}
		return f, true, nil
	}
	switch st.Type {
	case "Pass":
		return finish(raw, st.Next)
	case "Succeed":
		out, err := output(raw)
		return out, "", err
	case "Fail":
		name, cause := "", ""
		for _, f := range []struct {
			v   any
			dst *string
			key string
		}{{j.Error, &name, "Error"}, {j.Cause, &cause, "Cause"}} {
			if f.v == nil {
				continue
			}
			x, err := r.render(f.v, f.key, states)
			if err != nil {
				return nil, "", err
			}
			s, ok := x.(string)
			if !ok {
				return nil, "", &failure{"States.QueryEvaluationError", fmt.Sprintf("The value of the field '%s' must be a string", f.key)}
			}
			*f.dst = s
		}
		return nil, "", &failure{name, cause}
	case "Choice":
		for i, rule := range j.Rules {
			c, err := r.render(rule.Condition, fmt.Sprintf("Choices[%d].Condition", i), states)
			if err != nil {
				return nil, "", err
			}
			b, ok := c.(bool)
			if !ok {
				return nil, "", &failure{"States.QueryEvaluationError", fmt.Sprintf("The Condition of Choices[%d] must evaluate to a boolean, not %s", i, asl.Encode(c))}
			}
			if !b {
				continue
			}
			out := raw
			if rule.HasOutput {
				if out, err = r.render(rule.Output, "Output", states); err != nil {
					return nil, "", err
				}
			} else if j.HasOutput {
				if out, err = output(raw); err != nil {
					return nil, "", err
				}
			}
			if err := r.assign(rule.Assign, true, states, nil); err != nil {
				return nil, "", err
			}
			return out, rule.Next, nil
		}
		if st.Default != "" {
			return finish(raw, st.Default)
		}
		return nil, "", &failure{"States.NoChoiceMatched", fmt.Sprintf("No Choice rule of the state '%s' matched the input, and the state has no Default", st.Name)}
	case "Wait":
		var until time.Time
		if cur != nil && cur.WaitUntil != 0 {
			until = time.Unix(0, cur.WaitUntil)
		} else if j.Seconds != nil {
			secs, _, err := number(j.Seconds, "Seconds")
			if err != nil {
				return nil, "", err
			}
			until = r.s.clock.Now().Add(time.Duration(secs * float64(time.Second)))
		} else {
			x, err := r.render(j.Timestamp, "Timestamp", states)
			if err != nil {
				return nil, "", err
			}
			s, _ := x.(string)
			t, err := asl.ParseTimestamp(s)
			if err != nil {
				return nil, "", &failure{"States.QueryEvaluationError", fmt.Sprintf("The Timestamp must be an ISO-8601 timestamp: %s", asl.Encode(x))}
			}
			until = t
		}
		if cur != nil && cur.WaitUntil == 0 {
			cur.WaitUntil = until.UnixNano()
			if err := r.exec.persist(cur); err != nil {
				return nil, "", err
			}
		}
		if err := r.s.sleep(ctx, until.Sub(r.s.clock.Now())); err != nil {
			return nil, "", err
		}
		return finish(raw, st.Next)
	}
	// Task, Parallel and Map have a result.
	args := raw
	if j.HasArguments && !strings.HasSuffix(st.Resource, ".waitForTaskToken") {
		var err error
		if args, err = r.render(j.Arguments, "Arguments", states); err != nil {
			return nil, "", err
		}
	}
	r.note("AfterParameters", args)
	var result any
	var err error
	switch st.Type {
	case "Task":
		tctx := ctx
		timeout := st.TimeoutSeconds
		if f, ok, err := number(j.Timeout, "TimeoutSeconds"); err != nil {
			return nil, "", err
		} else if ok {
			timeout = int(f)
		}
		if timeout > 0 {
			var cancel context.CancelFunc
			tctx, cancel = context.WithTimeout(ctx, time.Duration(timeout)*time.Second)
			defer cancel()
		}
		if strings.HasSuffix(st.Resource, ".waitForTaskToken") {
			// Arguments see $states.context.Task.Token.
			result, err = r.callbackWith(ctx, st, cur, func() (any, error) {
				if !j.HasArguments {
					return raw, nil
				}
				return r.render(j.Arguments, "Arguments", states)
			})
		} else {
			result, err = r.task(tctx, st, args)
		}
		if err != nil {
			if tctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
				return nil, "", &failure{"States.Timeout", fmt.Sprintf("The state '%s' timed out after %d seconds", st.Name, timeout)}
			}
			return nil, "", err
		}
	case "Parallel":
		result, err = r.runBranches(ctx, st, args)
	case "Map":
		items := args
		if j.HasItems {
			if items, err = r.render(j.Items, "Items", states); err != nil {
				return nil, "", err
			}
		}
		result, err = r.mapItems(ctx, st, items, func(ictx map[string]any, item any, index int) (any, error) {
			if !j.HasItemSelector {
				return item, nil
			}
			ictx["Map"] = map[string]any{"Item": map[string]any{"Index": json.Number(fmt.Sprint(index)), "Value": item}}
			return r.render(j.ItemSelector, "ItemSelector", map[string]any{"input": raw, "context": ictx})
		})
	}
	if err != nil {
		return nil, "", err
	}
	r.note("Result", result)
	states["result"] = result
	return finish(result, st.Next)
}

// catchJSONata is a JSONata state's catcher: its Output (default the error
// output) and Assign, with $states.errorOutput.
func (r *run) catchJSONata(st *State, i int, raw any, errOut map[string]any) (any, error) {
	states := map[string]any{"input": raw, "context": r.ctx, "errorOutput": errOut}
	var out any = errOut
	if i < len(st.J.Catch) {
		c := st.J.Catch[i]
		if c.HasOutput {
			var err error
			if out, err = r.render(c.Output, "Output", states); err != nil {
				return nil, err
			}
		}
		if err := r.assign(c.Assign, true, states, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	}
	return 0, false
}

// sfnFunctions are the JSONata functions Step Functions adds ("JSONata
// functions provided by Step Functions").
var sfnFunctions = map[string]jsonata.Function{
	"partition": func(a []any) (any, error) {
		arr, ok := a[0].([]any)
		size, sok := toFloat(arg(a, 1))
		if !ok || !sok || size < 1 || size != math.Trunc(size) {
			return nil, &jsonata.Error{Code: "T0410", Message: "$partition takes an array and a positive integer"}
		}
		out := []any{}
		for i := 0; i < len(arr); i += int(size) {
			out = append(out, append([]any{}, arr[i:min(i+int(size), len(arr))]...))
		}
		return out, nil
	},
	"range": func(a []any) (any, error) {
		start, ok1 := toFloat(arg(a, 0))
		end, ok2 := toFloat(arg(a, 1))
		step, ok3 := toFloat(arg(a, 2))
		if !ok1 || !ok2 || !ok3 || step == 0 {
			return nil, &jsonata.Error{Code: "T0410", Message: "$range takes a start, an end and a non-zero step"}
		}
		out := []any{}
		for x := start; (step > 0 && x <= end) || (step < 0 && x >= end); x += step {
			if len(out) >= 1000 {
				return nil, &jsonata.Error{Code: "D3001", Message: "$range produced more than 1000 items"}
			}
			out = append(out, x)
		}
		return out, nil
	},
	"hash": func(a []any) (any, error) {
		s, ok := arg(a, 0).(string)
		alg, _ := arg(a, 1).(string)
		if !ok {
			return nil, &jsonata.Error{Code: "T0410", Message: "$hash takes a string"}
		}
		var h hash.Hash
		switch alg {
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
			return nil, &jsonata.Error{Code: "T0410", Message: "$hash algorithms are MD5, SHA-1, SHA-256, SHA-384 and SHA-512"}
		}
		h.Write([]byte(s))
		return hex.EncodeToString(h.Sum(nil)), nil
	},
	"random": func(a []any) (any, error) {
		if seed, ok := toFloat(arg(a, 0)); ok {
			return rand.New(rand.NewPCG(uint64(int64(seed)), 0)).Float64(), nil
		}
		return rand.Float64(), nil
	},
	"uuid": func(a []any) (any, error) { return uuid.New(), nil },
	"parse": func(a []any) (any, error) {
		s, ok := arg(a, 0).(string)
		if !ok {
			return nil, &jsonata.Error{Code: "T0410", Message: "$parse takes a string"}
		}
		v, err := asl.Decode(s)
		if err != nil {
			return nil, &jsonata.Error{Code: "D3030", Message: "$parse: " + err.Error()}
		}
		return v, nil
	},
	"eval": func(a []any) (any, error) {
		return nil, &jsonata.Error{Code: "T1006", Message: "$eval is not available in Step Functions; use $parse"}
	},
}

func arg(a []any, i int) any {
	if i < len(a) {
		return a[i]
	}
	return nil
}
