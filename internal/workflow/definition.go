package workflow

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"sort"
	"strings"

	"github.com/forkline/forkline/internal/workflow/asl"
)

// Machine is a parsed and validated state machine (or a Parallel branch,
// or a Map item processor).
type Machine struct {
	StartAt        string
	States         map[string]*State
	TimeoutSeconds int
	// UsesContext is false when no expression of the definition reads the
	// context object ($$), which then need not be kept up to date.
	UsesContext bool
}

// State is one state of a machine.
type State struct {
	Name    string
	Type    string
	Next    string
	End     bool
	Comment string

	InputPath, OutputPath *string // nil: "$"; "null" is kept as the string
	ResultPath            *string
	Parameters            any
	ResultSelector        any
	Result                any
	HasResult             bool

	// Task
	Resource         string
	TimeoutSeconds   int
	TimeoutPath      string
	HeartbeatPath    string
	HeartbeatSeconds int
	Retry            []Retrier
	Catch            []Catcher

	// Choice
	Choices []*asl.Rule
	Default string

	// Wait
	Seconds       *float64
	Timestamp     string
	SecondsPath   string
	TimestampPath string

	// Fail
	Error, Cause         string
	ErrorPath, CausePath string

	// Parallel and Map
	Branches       []*Machine
	Iterator       *Machine
	ItemsPath      *string
	ItemSelector   any
	MaxConcurrency int
	ToleratedCount *int
	ToleratedPct   *float64

	// JSONata is true for a state in the JSONata query language, whose
	// fields are in J (jsonata.go). Assign is the state's Assign (both
	// languages); ChoiceAssign a JSONPath Choice's per-rule Assign.
	JSONata      bool
	J            *jsonataFields
	Assign       any
	ChoiceAssign []any

	// Effectful is true for a state that acts outside the execution or
	// takes time: a Task, a Wait, or a Parallel or Map holding one. The
	// others are pure functions of their input, which a restart can run
	// again unseen, so an execution's position is committed only before
	// effectful states (and at its end).
	Effectful bool
}

// effectful reports whether any state of m is effectful.
func (m *Machine) effectful() bool {
	for _, st := range m.States {
		if st.Effectful {
			return true
		}
	}
	return false
}

// Retrier is one Retry rule.
type Retrier struct {
	ErrorEquals     []string
	IntervalSeconds float64
	MaxAttempts     int
	BackoffRate     float64
	MaxDelaySeconds float64
	JitterStrategy  string
}

// Catcher is one Catch rule.
type Catcher struct {
	ErrorEquals []string
	Next        string
	ResultPath  *string
}

// definitionError is an InvalidDefinition problem: a code and where.
func definitionError(code, msg, where string) error {
	return fmt.Errorf("%s: %s at %s", code, msg, where)
}

// Parse validates a definition document (States Language) and returns the
// machine, or an error whose text is the InvalidDefinition reason.
func Parse(doc string) (*Machine, error) {
	v, err := asl.Decode(doc)
	if err != nil {
		return nil, fmt.Errorf("INVALID_JSON_DESCRIPTION: %v", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, definitionError("SCHEMA_VALIDATION_FAILED", "The definition must be a JSON object", "/")
	}
	ql := "JSONPath"
	if v, present := obj["QueryLanguage"]; present {
		if ql, _ = v.(string); ql != "JSONPath" && ql != "JSONata" {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", "QueryLanguage must be JSONPath or JSONata", "/QueryLanguage")
		}
	}
	m, err := parseMachine(obj, "", ql)
	if err != nil {
		return nil, err
	}
	m.UsesContext = strings.Contains(doc, "$$") || strings.Contains(doc, "$states")
	if err := checkScopes(m, nil, ""); err != nil {
		return nil, err
	}
	return m, nil
}

var varNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,79}$`)

// assigned lists the variables a state assigns.
func (st *State) assigned() []string {
	var names []string
	add := func(a any) {
		if m, ok := a.(map[string]any); ok {
			for k := range m {
				names = append(names, strings.TrimSuffix(k, ".$"))
			}
		}
	}
	add(st.Assign)
	for _, a := range st.ChoiceAssign {
		add(a)
	}
	if st.J != nil {
		for _, r := range st.J.Rules {
			add(r.Assign)
		}
		for _, c := range st.J.Catch {
			add(c.Assign)
		}
	}
	return names
}

// checkScopes applies the rules of variable names and scopes (Step
// Functions developer guide, "Passing data between states with
// variables"): names are identifiers other than states, and a Parallel
// branch or Map iteration cannot assign a variable of an outer scope.
func checkScopes(m *Machine, outer map[string]bool, base string) error {
	own := map[string]bool{}
	for name, st := range m.States {
		for _, v := range st.assigned() {
			where := base + "/States/" + name + "/Assign"
			if !varNameRE.MatchString(v) || v == "states" {
				return definitionError("SCHEMA_VALIDATION_FAILED", fmt.Sprintf("The variable name '%s' is not valid: names are letters, digits and _, not starting with a digit, and not 'states'", v), where)
			}
			if outer[v] {
				return definitionError("SCHEMA_VALIDATION_FAILED", fmt.Sprintf("The variable '%s' belongs to an outer scope and cannot be assigned in a Parallel branch or Map iteration", v), where)
			}
			own[v] = true
		}
	}
	inner := map[string]bool{}
	for k := range outer {
		inner[k] = true
	}
	for k := range own {
		inner[k] = true
	}
	for name, st := range m.States {
		for i, b := range st.Branches {
			if err := checkScopes(b, inner, fmt.Sprintf("%s/States/%s/Branches[%d]", base, name, i)); err != nil {
				return err
			}
		}
		if st.Iterator != nil {
			if err := checkScopes(st.Iterator, inner, base+"/States/"+name+"/ItemProcessor"); err != nil {
				return err
			}
		}
	}
	return nil
}

func parseMachine(obj map[string]any, base, ql string) (*Machine, error) {
	if own, ok := obj["QueryLanguage"].(string); ok && (own == "JSONata" || own == "JSONPath" && ql != "JSONata") {
		ql = own
	}
	m := &Machine{States: map[string]*State{}}
	start, ok := obj["StartAt"].(string)
	if !ok || start == "" {
		return nil, definitionError("SCHEMA_VALIDATION_FAILED", "The field 'StartAt' is required", base+"/StartAt")
	}
	m.StartAt = start
	if ts, ok := obj["TimeoutSeconds"].(json.Number); ok {
		n, err := ts.Int64()
		if err != nil || n <= 0 {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", "TimeoutSeconds must be a positive integer", base+"/TimeoutSeconds")
		}
		m.TimeoutSeconds = int(n)
	}
	states, ok := obj["States"].(map[string]any)
	if !ok || len(states) == 0 {
		return nil, definitionError("SCHEMA_VALIDATION_FAILED", "The field 'States' is required and must not be empty", base+"/States")
	}
	names := make([]string, 0, len(states))
	for n := range states {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		raw, ok := states[name].(map[string]any)
		where := base + "/States/" + name
		if !ok {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", "A state must be a JSON object", where)
		}
		if len(name) > 80 {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", "State names must be at most 80 characters", where)
		}
		st, err := parseState(name, raw, where, ql)
		if err != nil {
			return nil, err
		}
		switch st.Type {
		case "Task", "Wait":
			st.Effectful = true
		case "Parallel":
			for _, b := range st.Branches {
				st.Effectful = st.Effectful || b.effectful()
			}
		case "Map":
			st.Effectful = st.Iterator.effectful()
		}
		m.States[name] = st
	}
	if m.States[start] == nil {
		return nil, definitionError("MISSING_TRANSITION_TARGET", "Missing 'Next' target: "+start, base+"/StartAt")
	}
	// Every transition names a state; every state is reachable.
	for _, name := range names {
		st := m.States[name]
		where := base + "/States/" + name
		check := func(target, field string) error {
			if target != "" && m.States[target] == nil {
				return definitionError("MISSING_TRANSITION_TARGET", "Missing 'Next' target: "+target, where+"/"+field)
			}
			return nil
		}
		if err := check(st.Next, "Next"); err != nil {
			return nil, err
		}
		if err := check(st.Default, "Default"); err != nil {
			return nil, err
		}
		for i, c := range st.Choices {
			if err := check(c.Next, fmt.Sprintf("Choices[%d]/Next", i)); err != nil {
				return nil, err
			}
		}
		if st.J != nil {
			for i, rule := range st.J.Rules {
				if err := check(rule.Next, fmt.Sprintf("Choices[%d]/Next", i)); err != nil {
					return nil, err
				}
			}
		}
		for i, c := range st.Catch {
			if err := check(c.Next, fmt.Sprintf("Catch[%d]/Next", i)); err != nil {
				return nil, err
			}
		}
	}
	reached := map[string]bool{}
	var walk func(string)
	walk = func(n string) {
		if n == "" || reached[n] {
			return
		}
		reached[n] = true
		st := m.States[n]
		walk(st.Next)
		walk(st.Default)
		for _, c := range st.Choices {
			walk(c.Next)
		}
		if st.J != nil {
			for _, rule := range st.J.Rules {
				walk(rule.Next)
			}
		}
		for _, c := range st.Catch {
			walk(c.Next)
		}
	}
	walk(start)
	for _, name := range names {
		if !reached[name] {
			return nil, definitionError("MISSING_TRANSITION_TARGET", "State \""+name+"\" is not reachable.", base+"/States/"+name)
		}
	}
	return m, nil
}

func optString(raw map[string]any, key string) (*string, error) {
	v, present := raw[key]
	if !present {
		return nil, nil
	}
	if v == nil {
		s := "null"
		return &s, nil
	}
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("%s must be a string or null", key)
	}
	p, err := asl.ParsePath(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", key, err)
	}
	// ResultPath places a value, so it must be a reference path (States
	// Language, "Reference Paths"); the other paths select.
	if key == "ResultPath" && (!p.Reference() || p.Context()) {
		return nil, fmt.Errorf("ResultPath: %q is not a reference path", s)
	}
	return &s, nil
}

func intField(raw map[string]any, key string) (int, bool, error) {
	v, ok := raw[key]
	if !ok {
		return 0, false, nil
	}
	n, isNum := v.(json.Number)
	if !isNum {
		return 0, true, fmt.Errorf("%s must be an integer", key)
	}
	i, err := n.Int64()
	if err != nil {
		return 0, true, fmt.Errorf("%s must be an integer", key)
	}
	return int(i), true, nil
}

var stateFields = map[string][]string{
	"Pass":     {"Result", "ResultPath", "Parameters", "InputPath", "OutputPath"},
	"Task":     {"Resource", "Parameters", "ResultSelector", "ResultPath", "InputPath", "OutputPath", "Retry", "Catch", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath", "Credentials"},
	"Choice":   {"Choices", "Default", "InputPath", "OutputPath"},
	"Wait":     {"Seconds", "Timestamp", "SecondsPath", "TimestampPath", "InputPath", "OutputPath"},
	"Succeed":  {"InputPath", "OutputPath"},
	"Fail":     {"Error", "Cause", "ErrorPath", "CausePath"},
	"Parallel": {"Branches", "Parameters", "ResultSelector", "ResultPath", "InputPath", "OutputPath", "Retry", "Catch"},
	"Map":      {"Iterator", "ItemProcessor", "ItemsPath", "ItemSelector", "Parameters", "MaxConcurrency", "MaxConcurrencyPath", "ResultSelector", "ResultPath", "InputPath", "OutputPath", "Retry", "Catch", "ToleratedFailurePercentage", "ToleratedFailureCount", "Label", "ItemReader", "ResultWriter", "ItemBatcher"},
}

func parseState(name string, raw map[string]any, where, ql string) (*State, error) {
	typ, _ := raw["Type"].(string)
	if v, present := raw["QueryLanguage"]; present {
		own, _ := v.(string)
		switch {
		case own != "JSONPath" && own != "JSONata":
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", "QueryLanguage must be JSONPath or JSONata", where+"/QueryLanguage")
		case own == "JSONPath" && ql == "JSONata":
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", "A state cannot use JSONPath in a state machine whose QueryLanguage is JSONata", where+"/QueryLanguage")
		}
		ql = own
	}
	if ql == "JSONata" {
		return parseJSONataState(name, raw, where)
	}
	fields, ok := stateFields[typ]
	if !ok {
		return nil, definitionError("SCHEMA_VALIDATION_FAILED", fmt.Sprintf("The field 'Type' must be one of Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map (got %q)", typ), where+"/Type")
	}
	allowed := map[string]bool{"Type": true, "Comment": true, "Next": true, "End": true, "QueryLanguage": true}
	if typ != "Succeed" && typ != "Fail" {
		allowed["Assign"] = true
	}
	for _, f := range fields {
		allowed[f] = true
	}
	for k := range raw {
		if !allowed[k] {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", fmt.Sprintf("Field '%s' is not supported by %s states", k, typ), where+"/"+k)
		}
	}
	st := &State{Name: name, Type: typ}
	if a, ok := raw["Assign"]; ok {
		if _, isObj := a.(map[string]any); !isObj {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", "Assign must be an object", where+"/Assign")
		}
		if err := checkTemplate(a); err != nil {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", err.Error(), where+"/Assign")
		}
		st.Assign = a
	}
	st.Comment, _ = raw["Comment"].(string)
	st.Next, _ = raw["Next"].(string)
	st.End, _ = raw["End"].(bool)
	terminal := typ == "Succeed" || typ == "Fail" || typ == "Choice"
	if !terminal {
		if st.Next == "" && !st.End {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", "A state must have either 'Next' or 'End': true", where)
		}
		if st.Next != "" && st.End {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", "A state cannot have both 'Next' and 'End'", where)
		}
	} else if st.Next != "" || st.End {
		return nil, definitionError("SCHEMA_VALIDATION_FAILED", typ+" states cannot have 'Next' or 'End'", where)
	}
	var err error
	for _, f := range []struct {
		key string
		dst **string
	}{{"InputPath", &st.InputPath}, {"OutputPath", &st.OutputPath}, {"ResultPath", &st.ResultPath}, {"ItemsPath", &st.ItemsPath}} {
		if *f.dst, err = optString(raw, f.key); err != nil {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", err.Error(), where+"/"+f.key)
		}
	}
	st.Parameters = raw["Parameters"]
	st.ResultSelector = raw["ResultSelector"]
	st.Result, st.HasResult = raw["Result"]
	for _, tmpl := range []struct {
		key string
		v   any
	}{{"Parameters", st.Parameters}, {"ResultSelector", st.ResultSelector}} {
		if err := checkTemplate(tmpl.v); err != nil {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", err.Error(), where+"/"+tmpl.key)
		}
	}
	switch typ {
	case "Task":
		st.Resource, _ = raw["Resource"].(string)
		if st.Resource == "" || !strings.HasPrefix(st.Resource, "arn:") {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", "The field 'Resource' must be an ARN", where+"/Resource")
		}
		if !supportedResource(st.Resource) {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", "The resource '"+st.Resource+"' is not supported by forkline", where+"/Resource")
		}
		if n, ok, err := intField(raw, "TimeoutSeconds"); err != nil || (ok && n <= 0) {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", "TimeoutSeconds must be a positive integer", where+"/TimeoutSeconds")
		} else {
			st.TimeoutSeconds = n
		}
		if n, ok, err := intField(raw, "HeartbeatSeconds"); err != nil || (ok && n <= 0) {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", "HeartbeatSeconds must be a positive integer", where+"/HeartbeatSeconds")
		} else {
			st.HeartbeatSeconds = n
		}
		st.TimeoutPath, _ = raw["TimeoutSecondsPath"].(string)
		st.HeartbeatPath, _ = raw["HeartbeatSecondsPath"].(string)
		for _, f := range [][2]string{{"TimeoutSeconds", "TimeoutSecondsPath"}, {"HeartbeatSeconds", "HeartbeatSecondsPath"}} {
			_, a := raw[f[0]]
			_, b := raw[f[1]]
			if a && b {
				return nil, definitionError("SCHEMA_VALIDATION_FAILED", fmt.Sprintf("The fields '%s' and '%s' are mutually exclusive", f[0], f[1]), where)
			}
			if p, ok := raw[f[1]].(string); b && (!ok || asl.CheckExpr(p) != nil) {
				return nil, definitionError("SCHEMA_VALIDATION_FAILED", fmt.Sprintf("The field '%s' must be a reference path", f[1]), where+"/"+f[1])
			}
		}
	case "Choice":
		list, ok := raw["Choices"].([]any)
		if !ok || len(list) == 0 {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", "Choices must be a non-empty array", where+"/Choices")
		}
		for i, e := range list {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, definitionError("SCHEMA_VALIDATION_FAILED", "A choice rule must be an object", fmt.Sprintf("%s/Choices[%d]", where, i))
			}
			var assign any
			if a, ok := m["Assign"]; ok {
				assign = a
				m = maps.Clone(m)
				delete(m, "Assign")
			}
			st.ChoiceAssign = append(st.ChoiceAssign, assign)
			r, err := asl.ParseRule(m, true, fmt.Sprintf("%s/Choices[%d]", where, i))
			if err != nil {
				return nil, fmt.Errorf("%v", err)
			}
			st.Choices = append(st.Choices, r)
		}
		st.Default, _ = raw["Default"].(string)
	case "Wait":
		count := 0
		if v, ok := raw["Seconds"].(json.Number); ok {
			f, err := v.Float64()
			if err != nil || f < 0 {
				return nil, definitionError("SCHEMA_VALIDATION_FAILED", "Seconds must be a non-negative number", where+"/Seconds")
			}
			st.Seconds = &f
			count++
		}
		if v, ok := raw["Timestamp"].(string); ok {
			if _, err := asl.ParseTimestamp(v); err != nil {
				return nil, definitionError("SCHEMA_VALIDATION_FAILED", "Timestamp must be an RFC 3339 timestamp", where+"/Timestamp")
			}
			st.Timestamp = v
			count++
		}
		if v, ok := raw["SecondsPath"].(string); ok {
			st.SecondsPath = v
			count++
		}
		if v, ok := raw["TimestampPath"].(string); ok {
			st.TimestampPath = v
			count++
		}
		if count != 1 {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", "A Wait state needs exactly one of Seconds, Timestamp, SecondsPath, TimestampPath", where)
		}
	case "Fail":
		st.Error, _ = raw["Error"].(string)
		st.Cause, _ = raw["Cause"].(string)
		st.ErrorPath, _ = raw["ErrorPath"].(string)
		st.CausePath, _ = raw["CausePath"].(string)
		// Each of ErrorPath and CausePath holds a reference path or an
		// intrinsic function, and excludes its static twin (Step Functions
		// developer guide, "Fail workflow state").
		for _, f := range [][3]string{{"Error", "ErrorPath", st.ErrorPath}, {"Cause", "CausePath", st.CausePath}} {
			if _, static := raw[f[0]]; static && f[2] != "" {
				return nil, definitionError("SCHEMA_VALIDATION_FAILED", fmt.Sprintf("The fields '%s' and '%s' are mutually exclusive", f[0], f[1]), where)
			}
			if f[2] == "" {
				continue
			}
			if err := asl.CheckExpr(f[2]); err != nil {
				return nil, definitionError("SCHEMA_VALIDATION_FAILED", fmt.Sprintf("The value for the field '%s' must be a valid JSONPath or a valid intrinsic function call: %v", f[1], err), where+"/"+f[1])
			}
		}
	case "Parallel":
		list, ok := raw["Branches"].([]any)
		if !ok || len(list) == 0 {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", "Branches must be a non-empty array", where+"/Branches")
		}
		for i, e := range list {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, definitionError("SCHEMA_VALIDATION_FAILED", "A branch must be an object", fmt.Sprintf("%s/Branches[%d]", where, i))
			}
			b, err := parseMachine(m, fmt.Sprintf("%s/Branches[%d]", where, i), "JSONPath")
			if err != nil {
				return nil, err
			}
			st.Branches = append(st.Branches, b)
		}
	case "Map":
		proc, ok := raw["ItemProcessor"].(map[string]any)
		if !ok {
			proc, ok = raw["Iterator"].(map[string]any)
		}
		if !ok {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", "The field 'ItemProcessor' is required", where+"/ItemProcessor")
		}
		if cfg, ok := proc["ProcessorConfig"].(map[string]any); ok {
			if mode, _ := cfg["Mode"].(string); mode == "DISTRIBUTED" {
				return nil, definitionError("SCHEMA_VALIDATION_FAILED", "Distributed Map is not supported by forkline yet", where+"/ItemProcessor/ProcessorConfig")
			}
		}
		delete(proc, "ProcessorConfig")
		it, err := parseMachine(proc, where+"/ItemProcessor", "JSONPath")
		if err != nil {
			return nil, err
		}
		st.Iterator = it
		st.ItemSelector = raw["ItemSelector"]
		if st.ItemSelector == nil {
			st.ItemSelector = raw["Parameters"] // the legacy name
			st.Parameters = nil
		}
		if n, ok, err := intField(raw, "MaxConcurrency"); err != nil || (ok && n < 0) {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", "MaxConcurrency must be a non-negative integer", where+"/MaxConcurrency")
		} else {
			st.MaxConcurrency = n
		}
		if n, ok, err := intField(raw, "ToleratedFailureCount"); err != nil || (ok && n < 0) {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", "ToleratedFailureCount must be a non-negative integer", where+"/ToleratedFailureCount")
		} else if ok {
			st.ToleratedCount = &n
		}
		if v, ok := raw["ToleratedFailurePercentage"].(json.Number); ok {
			f, err := v.Float64()
			if err != nil || f < 0 || f > 100 {
				return nil, definitionError("SCHEMA_VALIDATION_FAILED", "ToleratedFailurePercentage must be between 0 and 100", where+"/ToleratedFailurePercentage")
			}
			st.ToleratedPct = &f
		}
	}
	if st.Retry, err = parseRetry(raw["Retry"], where); err != nil {
		return nil, err
	}
	if st.Catch, err = parseCatch(raw["Catch"], where); err != nil {
		return nil, err
	}
	return st, nil
}

// checkTemplate checks that every ".$" key of a payload template holds a
// string (a path or an intrinsic function).
func checkTemplate(v any) error {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if strings.HasSuffix(k, ".$") {
				s, ok := e.(string)
				if !ok {
					return fmt.Errorf("The value for the field '%s' must be a STRING that contains a JSONPath or an intrinsic function", k)
				}
				if err := asl.CheckExpr(s); err != nil {
					return fmt.Errorf("The value for the field '%s' must be a valid JSONPath or a valid intrinsic function call: %v", k, err)
				}
				continue
			}
			if err := checkTemplate(e); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range t {
			if err := checkTemplate(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func errorNames(v any, where string) ([]string, error) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, definitionError("SCHEMA_VALIDATION_FAILED", "ErrorEquals must be a non-empty array of strings", where+"/ErrorEquals")
	}
	var out []string
	for i, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", "ErrorEquals must be a non-empty array of strings", where+"/ErrorEquals")
		}
		if s == "States.ALL" && (len(list) != 1 || i != 0) {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", "States.ALL must appear alone in ErrorEquals", where+"/ErrorEquals")
		}
		out = append(out, s)
	}
	return out, nil
}

func parseRetry(v any, where string) ([]Retrier, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, definitionError("SCHEMA_VALIDATION_FAILED", "Retry must be an array", where+"/Retry")
	}
	var out []Retrier
	for i, e := range list {
		w := fmt.Sprintf("%s/Retry[%d]", where, i)
		m, ok := e.(map[string]any)
		if !ok {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", "A retrier must be an object", w)
		}
		names, err := errorNames(m["ErrorEquals"], w)
		if err != nil {
			return nil, err
		}
		if names[0] == "States.ALL" && i != len(list)-1 {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", "A retrier with States.ALL must be the last one", w)
		}
		r := Retrier{ErrorEquals: names, IntervalSeconds: 1, MaxAttempts: 3, BackoffRate: 2, JitterStrategy: "NONE"}
		if n, ok := m["IntervalSeconds"].(json.Number); ok {
			f, _ := n.Float64()
			if f < 1 {
				return nil, definitionError("SCHEMA_VALIDATION_FAILED", "IntervalSeconds must be at least 1", w+"/IntervalSeconds")
			}
			r.IntervalSeconds = f
		}
		if n, ok := m["MaxAttempts"].(json.Number); ok {
			x, err := n.Int64()
			if err != nil || x < 0 {
				return nil, definitionError("SCHEMA_VALIDATION_FAILED", "MaxAttempts must be a non-negative integer", w+"/MaxAttempts")
			}
			r.MaxAttempts = int(x)
		}
		if n, ok := m["BackoffRate"].(json.Number); ok {
			f, _ := n.Float64()
			if f < 1 {
				return nil, definitionError("SCHEMA_VALIDATION_FAILED", "BackoffRate must be at least 1.0", w+"/BackoffRate")
			}
			r.BackoffRate = f
		}
		if n, ok := m["MaxDelaySeconds"].(json.Number); ok {
			r.MaxDelaySeconds, _ = n.Float64()
		}
		if s, ok := m["JitterStrategy"].(string); ok {
			if s != "FULL" && s != "NONE" {
				return nil, definitionError("SCHEMA_VALIDATION_FAILED", "JitterStrategy must be FULL or NONE", w+"/JitterStrategy")
			}
			r.JitterStrategy = s
		}
		out = append(out, r)
	}
	return out, nil
}

func parseCatch(v any, where string) ([]Catcher, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, definitionError("SCHEMA_VALIDATION_FAILED", "Catch must be an array", where+"/Catch")
	}
	var out []Catcher
	for i, e := range list {
		w := fmt.Sprintf("%s/Catch[%d]", where, i)
		m, ok := e.(map[string]any)
		if !ok {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", "A catcher must be an object", w)
		}
		names, err := errorNames(m["ErrorEquals"], w)
		if err != nil {
			return nil, err
		}
		if names[0] == "States.ALL" && i != len(list)-1 {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", "A catcher with States.ALL must be the last one", w)
		}
		c := Catcher{ErrorEquals: names}
		if c.Next, _ = m["Next"].(string); c.Next == "" {
			return nil, definitionError("MISSING_TRANSITION_TARGET", "Missing 'Next' target", w+"/Next")
		}
		if c.ResultPath, err = optString(m, "ResultPath"); err != nil {
			return nil, definitionError("SCHEMA_VALIDATION_FAILED", err.Error(), w+"/ResultPath")
		}
		out = append(out, c)
	}
	return out, nil
}

// supportedResource reports whether forkline runs a Task resource.
func supportedResource(r string) bool {
	r = strings.TrimSuffix(r, ".waitForTaskToken")
	switch {
	case strings.HasPrefix(r, "arn:aws:lambda:"):
		return true
	case strings.HasPrefix(r, "arn:aws:states:::aws-sdk:"):
		service, _, ok := sdkResource(r)
		return ok && sdkServices[service] != ""
	case strings.HasPrefix(r, "arn:aws:states:::lambda:invoke"),
		strings.HasPrefix(r, "arn:aws:states:::sqs:sendMessage"),
		strings.HasPrefix(r, "arn:aws:states:::sns:publish"),
		r == "arn:aws:states:::states:startExecution", r == "arn:aws:states:::states:startExecution.sync",
		r == "arn:aws:states:::states:startExecution.sync:2":
		return true
	}
	return false
}

// matches reports whether an error name matches a rule's ErrorEquals.
func matches(names []string, errName string) bool {
	for _, n := range names {
		if n == errName || n == "States.ALL" && errName != "States.Runtime" {
			return true
		}
		if n == "States.TaskFailed" && !strings.HasPrefix(errName, "States.") {
			return true
		}
	}
	return false
}
