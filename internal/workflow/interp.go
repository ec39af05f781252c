package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/forkline/forkline/internal/workflow/asl"
)

// Tasks runs the resources of Task states.
type Tasks interface {
	// InvokeFunction runs a Lambda function synchronously. An error that
	// the function raised is a result, not err; err is the Lambda service
	// refusing the call, with its error code as ServiceError.Code.
	InvokeFunction(ctx context.Context, function string, payload []byte) (Invocation, error)
	// SendMessage sends to an SQS queue (by URL) and returns the SendMessage
	// result.
	SendMessage(ctx context.Context, queueURL, body string, groupID, dedupID string) (map[string]any, error)
	// Publish publishes to an SNS topic and returns the Publish result.
	Publish(ctx context.Context, topicArn, message, subject string) (map[string]any, error)
}

// Invocation is the outcome of a synchronous Lambda invocation.
type Invocation struct {
	// Payload is what the function returned, or its error document when
	// ErrorType is set.
	Payload         []byte
	ErrorType       string
	ExecutedVersion string
}

// ServiceError is a service refusing a task's call, such as Lambda's
// ResourceNotFoundException.
type ServiceError struct {
	Code, Message string
	Status        int
}

func (e *ServiceError) Error() string { return e.Code + ": " + e.Message }

// failure is a States error raised while running a state.
type failure struct {
	name, cause string
}

func (f *failure) Error() string { return f.name + ": " + f.cause }

func asFailure(err error) *failure {
	var f *failure
	if errors.As(err, &f) {
		return f
	}
	var ae *asl.Error
	if errors.As(err, &ae) {
		return &failure{ae.Name, ae.Cause}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &failure{"States.Timeout", "The state timed out"}
	}
	return &failure{"States.Runtime", err.Error()}
}

// run is one execution (or branch) being interpreted.
type run struct {
	s    *Service
	exec *execution
	ctx  map[string]any // the context object (each branch and iteration has its own top level)
	// vars are the workflow variables in scope.
	vars *vars
	// inspect, for TestState, collects the steps of the data processing.
	inspect *Inspection
	// usesContext says whether the definition reads the context object;
	// when not, its State and Map parts are not kept up to date.
	usesContext bool
	branch      bool
}

// jsonText is a JSON value that a history event carries as JSON text,
// encoded only when the event is stored or read: an EXPRESS execution's
// history is mostly never read. Values are never changed in place once
// made (see asl), so encoding later gives what encoding now would.
type jsonText struct{ v any }

// MarshalJSON renders the value as a JSON string holding its JSON text.
func (j jsonText) MarshalJSON() ([]byte, error) {
	return j.AppendJSON(nil), nil
}

// AppendJSON implements asl.Appender.
func (j jsonText) AppendJSON(b []byte) []byte {
	return asl.AppendString(b, asl.Encode(j.v))
}

// stateDetails are the details of the StateEntered and StateExited events.
type stateDetails struct {
	Name   string    `json:"name"`
	Input  *jsonText `json:"input,omitempty"`
	Output *jsonText `json:"output,omitempty"`
}

// AppendJSON implements asl.Appender.
func (d stateDetails) AppendJSON(b []byte) []byte {
	b = append(b, `{"name":`...)
	b = asl.AppendString(b, d.Name)
	if d.Input != nil {
		b = append(b, `,"input":`...)
		b = d.Input.AppendJSON(b)
	}
	if d.Output != nil {
		b = append(b, `,"output":`...)
		b = d.Output.AppendJSON(b)
	}
	return append(b, '}')
}

// MarshalJSON renders the details as AppendJSON does.
func (d stateDetails) MarshalJSON() ([]byte, error) { return d.AppendJSON(nil), nil }

// emit records a history event (durably for top-level executions).
func (r *run) emit(typ string, details map[string]any) {
	r.exec.addEvent(typ, details)
}

// processInput applies InputPath.
func processPath(p *string, v any, ctx any, field string) (any, error) {
	if p == nil {
		return v, nil
	}
	if *p == "null" {
		return map[string]any{}, nil
	}
	return asl.Select(*p, v, ctx, field)
}

// runMachine interprets m from its start state with input, returning the
// output. Top-level executions resume from their cursor.
func (r *run) runMachine(ctx context.Context, m *Machine, input any, cur *cursor) (any, error) {
	name := m.StartAt
	attempt := 0
	if cur != nil && cur.State != "" {
		name, attempt = cur.State, cur.Attempt
		if v, err := asl.Decode(cur.Input); err == nil {
			input = v
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		st := m.States[name]
		if cur == nil || !cur.Entered { // branch and iteration states too
			r.emit(st.Type+"StateEntered", map[string]any{"stateEnteredEventDetails": stateDetails{Name: name, Input: &jsonText{input}}})
		}
		if r.usesContext {
			r.setState(name, attempt)
		}
		if cur != nil {
			cur.State, cur.Entered, cur.Input, cur.Attempt = name, true, "", attempt
			// Recorded before an effectful state acts; a pure state's
			// events ride with the next commit (see the package invariants).
			if st.Effectful {
				cur.Input = asl.Encode(input)
				if r.vars != nil {
					cur.Vars = maps.Clone(r.vars.m)
				}
				if err := r.exec.persist(cur); err != nil {
					return nil, err
				}
			}
		}
		out, next, err := r.runState(ctx, st, input, cur)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			f := asFailure(err)
			// Retry, then Catch (States Language, "Error Handling").
			if f.name != "States.Runtime" {
				if delay, ok := retryDelay(st.Retry, f.name, attempt); ok {
					attempt++
					if cur != nil {
						cur.Attempt = attempt
						cur.WaitUntil = r.s.clock.Now().Add(delay).UnixNano()
						if err := r.exec.persist(cur); err != nil {
							return nil, err
						}
					}
					if err := r.s.sleep(ctx, delay); err != nil {
						return nil, err
					}
					continue
				}
				if c := findCatcher(st.Catch, f.name); c != nil {
					errOut := map[string]any{"Error": f.name, "Cause": f.cause}
					var out any
					var perr error
					if st.JSONata {
						out, perr = r.catchJSONata(st, catcherIndex(st.Catch, c), input, errOut)
					} else {
						rp := c.ResultPath
						if rp == nil {
							s := "$"
							rp = &s
						}
						out, perr = asl.ApplyResultPath(rp, input, errOut)
					}
					if perr != nil {
						return nil, perr
					}
					r.emit(st.Type+"StateExited", map[string]any{"stateExitedEventDetails": stateDetails{Name: name, Output: &jsonText{out}}})
					name, input, attempt = c.Next, out, 0
					if cur != nil {
						cur.Entered = false
					}
					continue
				}
			}
			if cur != nil {
				// A redrive starts again here, with this input.
				*cur = cursor{State: name, Input: asl.Encode(input)}
				r.exec.mu.Lock()
				r.exec.rec.Cursor = *cur
				r.exec.mu.Unlock()
			}
			return nil, f
		}
		r.emit(st.Type+"StateExited", map[string]any{"stateExitedEventDetails": stateDetails{Name: name, Output: &jsonText{out}}})
		if next == "" {
			return out, nil
		}
		name, input, attempt = next, out, 0
		if cur != nil {
			cur.Entered, cur.WaitUntil = false, 0
		}
	}
}

func catcherIndex(cs []Catcher, c *Catcher) int {
	for i := range cs {
		if &cs[i] == c {
			return i
		}
	}
	return -1
}

// setState records the current state in the context object.
func (r *run) setState(name string, attempt int) {
	r.ctx["State"] = map[string]any{"Name": name, "EnteredTime": r.s.clock.Now().UTC().Format(time.RFC3339Nano), "RetryCount": json.Number(strconv.Itoa(attempt))}
}

// retryDelay returns the wait before the next attempt of a retrier that
// matches errName, or false.
func retryDelay(rs []Retrier, errName string, attempt int) (time.Duration, bool) {
	for _, rr := range rs {
		if !matches(rr.ErrorEquals, errName) {
			continue
		}
		if attempt >= rr.MaxAttempts {
			return 0, false
		}
		d := rr.IntervalSeconds * math.Pow(rr.BackoffRate, float64(attempt))
		if rr.MaxDelaySeconds > 0 && d > rr.MaxDelaySeconds {
			d = rr.MaxDelaySeconds
		}
		if rr.JitterStrategy == "FULL" {
			d = rand.Float64() * d
		}
		return time.Duration(d * float64(time.Second)), true
	}
	return 0, false
}

func findCatcher(cs []Catcher, errName string) *Catcher {
	for i := range cs {
		if matches(cs[i].ErrorEquals, errName) {
			return &cs[i]
		}
	}
	return nil
}

// runState runs one state: its output and the next state ("" to end).
func (r *run) runState(ctx context.Context, st *State, raw any, cur *cursor) (any, string, error) {
	if st.JSONata {
		return r.runJSONata(ctx, st, raw, cur)
	}
	next := st.Next
	input, err := processPath(st.InputPath, raw, r.scope(), "InputPath")
	if err != nil {
		return nil, "", err
	}
	r.note("AfterInputPath", input)
	var result any
	switch st.Type {
	case "Succeed":
		out, err := processPath(st.OutputPath, input, r.scope(), "OutputPath")
		return out, "", err
	case "Fail":
		name, cause := st.Error, st.Cause
		if st.ErrorPath != "" {
			v, err := asl.Eval(st.ErrorPath, input, r.scope(), "ErrorPath")
			if err != nil {
				return nil, "", err
			}
			name, _ = v.(string)
		}
		if st.CausePath != "" {
			v, err := asl.Eval(st.CausePath, input, r.scope(), "CausePath")
			if err != nil {
				return nil, "", err
			}
			cause, _ = v.(string)
		}
		return nil, "", &failure{name, cause}
	case "Choice":
		for i, rule := range st.Choices {
			if rule.Eval(input, r.scope()) {
				out, err := processPath(st.OutputPath, input, r.scope(), "OutputPath")
				if err == nil && i < len(st.ChoiceAssign) {
					err = r.assign(st.ChoiceAssign[i], false, nil, input)
				}
				return out, rule.Next, err
			}
		}
		if st.Default != "" {
			out, err := processPath(st.OutputPath, input, r.scope(), "OutputPath")
			if err == nil {
				err = r.assign(st.Assign, false, nil, input)
			}
			return out, st.Default, err
		}
		// Step Functions developer guide, "Error handling": States.NoChoiceMatched
		// when no Choice rule matches and there is no Default.
		return nil, "", &failure{"States.NoChoiceMatched", fmt.Sprintf("No Choice rule of the state '%s' matched the input, and the state has no Default", st.Name)}
	case "Wait":
		until, err := r.waitUntil(st, input, cur)
		if err != nil {
			return nil, "", err
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
		if err := r.assign(st.Assign, false, nil, input); err != nil {
			return nil, "", err
		}
		out, err := processPath(st.OutputPath, input, r.scope(), "OutputPath")
		return out, next, err
	case "Pass":
		result = input
		if st.HasResult {
			result = st.Result // shared, never changed
		} else if st.Parameters != nil {
			if result, err = asl.Render(st.Parameters, input, r.scope(), "Parameters"); err != nil {
				return nil, "", err
			}
			r.note("AfterParameters", result)
		}
	case "Task":
		if st.TimeoutPath != "" || st.HeartbeatPath != "" {
			// TimeoutSecondsPath and HeartbeatSecondsPath read the limits
			// from the input (States Language, "Task State").
			own := *st
			for _, f := range []struct {
				path, field string
				dst         *int
			}{{st.TimeoutPath, "TimeoutSecondsPath", &own.TimeoutSeconds}, {st.HeartbeatPath, "HeartbeatSecondsPath", &own.HeartbeatSeconds}} {
				if f.path == "" {
					continue
				}
				v, err := asl.Select(f.path, input, r.scope(), f.field)
				if err != nil {
					return nil, "", err
				}
				n, ok := toFloat(v)
				if !ok || n < 1 || n != float64(int(n)) {
					return nil, "", &failure{"States.Runtime", fmt.Sprintf("The value of the field '%s' must be a positive integer: %s", f.field, asl.Encode(v))}
				}
				*f.dst = int(n)
			}
			st = &own
		}
		if strings.HasSuffix(st.Resource, ".waitForTaskToken") {
			if result, err = r.callback(ctx, st, input, cur); err != nil {
				return nil, "", err
			}
			break
		}
		params := input
		if st.Parameters != nil {
			if params, err = asl.Render(st.Parameters, input, r.scope(), "Parameters"); err != nil {
				return nil, "", err
			}
		}
		r.note("AfterParameters", params)
		tctx := ctx
		if st.TimeoutSeconds > 0 {
			var cancel context.CancelFunc
			tctx, cancel = context.WithTimeout(ctx, time.Duration(st.TimeoutSeconds)*time.Second)
			defer cancel()
		}
		if result, err = r.task(tctx, st, params); err != nil {
			if tctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
				return nil, "", &failure{"States.Timeout", fmt.Sprintf("The state '%s' timed out after %d seconds", st.Name, st.TimeoutSeconds)}
			}
			return nil, "", err
		}
		r.note("Result", result)
		if st.ResultSelector != nil {
			if result, err = asl.Render(st.ResultSelector, result, r.scope(), "ResultSelector"); err != nil {
				return nil, "", err
			}
			r.note("AfterResultSelector", result)
		}
	case "Parallel":
		params := input
		if st.Parameters != nil {
			if params, err = asl.Render(st.Parameters, input, r.scope(), "Parameters"); err != nil {
				return nil, "", err
			}
		}
		if result, err = r.runBranches(ctx, st, params); err != nil {
			return nil, "", err
		}
		if st.ResultSelector != nil {
			if result, err = asl.Render(st.ResultSelector, result, r.scope(), "ResultSelector"); err != nil {
				return nil, "", err
			}
		}
	case "Map":
		if result, err = r.runMap(ctx, st, input); err != nil {
			return nil, "", err
		}
		if st.ResultSelector != nil {
			if result, err = asl.Render(st.ResultSelector, result, r.scope(), "ResultSelector"); err != nil {
				return nil, "", err
			}
		}
	}
	// Assign sees the state's result (after ResultSelector).
	if err := r.assign(st.Assign, false, nil, result); err != nil {
		return nil, "", err
	}
	// ResultPath places the result into the state's raw input (States
	// Language, "Input and Output Processing").
	out, err := asl.ApplyResultPath(st.ResultPath, raw, result)
	if err != nil {
		return nil, "", err
	}
	r.note("AfterResultPath", out)
	out, err = processPath(st.OutputPath, out, r.scope(), "OutputPath")
	return out, next, err
}

// runBranches runs a Parallel state's branches on params; each branch has
// its own variable scope.
func (r *run) runBranches(ctx context.Context, st *State, params any) (any, error) {
	r.emit("ParallelStateStarted", nil)
	results := make([]any, len(st.Branches))
	errs := make([]error, len(st.Branches))
	bctx, cancel := context.WithCancel(ctx)
	branch := func(i int) {
		sub := &run{s: r.s, exec: r.exec, ctx: maps.Clone(r.ctx), usesContext: r.usesContext, branch: true, vars: &vars{m: map[string]any{}, parent: r.vars}}
		results[i], errs[i] = sub.runMachine(bctx, st.Branches[i], params, nil)
		if errs[i] != nil {
			cancel() // one failed branch stops the others
		}
	}
	if st.Effectful {
		var wg sync.WaitGroup
		for i := range st.Branches {
			wg.Add(1)
			go func() {
				defer wg.Done()
				branch(i)
			}()
		}
		wg.Wait()
	} else {
		// Pure branches cannot tell concurrency from sequence; one
		// goroutine runs them faster.
		for i := range st.Branches {
			if branch(i); errs[i] != nil {
				break
			}
		}
	}
	cancel()
	for _, e := range errs {
		if e != nil && !errors.Is(e, context.Canceled) {
			r.emit("ParallelStateFailed", nil)
			return nil, asFailure(e)
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	r.emit("ParallelStateSucceeded", nil)
	return results, nil
}

// note records a step of a state's data processing for TestState.
func (r *run) note(step string, v any) {
	if r.inspect == nil {
		return
	}
	text := asl.Encode(v)
	switch step {
	case "AfterInputPath":
		r.inspect.AfterInputPath = text
	case "AfterParameters":
		r.inspect.AfterParameters = text
	case "Result":
		r.inspect.Result = text
	case "AfterResultSelector":
		r.inspect.AfterResultSelector = text
	case "AfterResultPath":
		r.inspect.AfterResultPath = text
	}
}

func (r *run) waitUntil(st *State, input any, cur *cursor) (time.Time, error) {
	if cur != nil && cur.WaitUntil != 0 {
		return time.Unix(0, cur.WaitUntil), nil // the deadline survives restarts
	}
	now := r.s.clock.Now()
	switch {
	case st.Seconds != nil:
		return now.Add(time.Duration(*st.Seconds * float64(time.Second))), nil
	case st.Timestamp != "":
		return asl.ParseTimestamp(st.Timestamp)
	case st.SecondsPath != "":
		v, err := asl.Select(st.SecondsPath, input, r.scope(), "SecondsPath")
		if err != nil {
			return time.Time{}, err
		}
		n, ok := v.(json.Number)
		f, ferr := n.Float64()
		if !ok || ferr != nil || f < 0 {
			return time.Time{}, &failure{"States.Runtime", fmt.Sprintf("The SecondsPath parameter does not reference a valid positive integer: %s", asl.Encode(v))}
		}
		return now.Add(time.Duration(f * float64(time.Second))), nil
	default:
		v, err := asl.Select(st.TimestampPath, input, r.scope(), "TimestampPath")
		if err != nil {
			return time.Time{}, err
		}
		s, _ := v.(string)
		t, perr := asl.ParseTimestamp(s)
		if perr != nil {
			return time.Time{}, &failure{"States.Runtime", fmt.Sprintf("The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: %s", asl.Encode(v))}
		}
		return t, nil
	}
}

func (r *run) runMap(ctx context.Context, st *State, input any) (any, error) {
	items := input
	if st.ItemsPath != nil {
		v, err := processPath(st.ItemsPath, input, r.scope(), "ItemsPath")
		if err != nil {
			return nil, err
		}
		items = v
	}
	return r.mapItems(ctx, st, items, func(ictx map[string]any, item any, i int) (any, error) {
		if st.ItemSelector == nil {
			return item, nil
		}
		return asl.Render(st.ItemSelector, input, asl.Scope{Context: ictx, Vars: r.scope2()}, "ItemSelector")
	})
}

// mapItems runs a Map state's item processor on each item, as selector
// makes it; each iteration has its own variable scope.
func (r *run) mapItems(ctx context.Context, st *State, items any, selector func(ictx map[string]any, item any, index int) (any, error)) (any, error) {
	list, ok := items.([]any)
	if !ok {
		return nil, &failure{"States.Runtime", fmt.Sprintf("Map state input must be an array: %s", asl.Encode(items))}
	}
	r.emit("MapStateStarted", map[string]any{"mapStateStartedEventDetails": map[string]any{"length": len(list)}})
	conc := st.MaxConcurrency
	if conc <= 0 || conc > 40 {
		conc = 40
	}
	results := make([]any, len(list))
	errs := make([]error, len(list))
	sem := make(chan struct{}, conc)
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	tolerated := func() bool {
		if st.ToleratedCount != nil && failed <= *st.ToleratedCount {
			return true
		}
		if st.ToleratedPct != nil && len(list) > 0 && float64(failed)*100/float64(len(list)) <= *st.ToleratedPct {
			return true
		}
		return false
	}
	iteration := func(i int, item any) {
		ictx := maps.Clone(r.ctx)
		if r.usesContext {
			ictx["Map"] = map[string]any{"Item": map[string]any{"Index": json.Number(strconv.Itoa(i)), "Value": item}}
		}
		in, err := selector(ictx, item, i)
		if err != nil {
			errs[i] = err
			mu.Lock()
			failed++
			if !tolerated() {
				cancel()
			}
			mu.Unlock()
			return
		}
		iter := map[string]any{"mapIterationStartedEventDetails": map[string]any{"name": st.Name, "index": i}}
		r.emit("MapIterationStarted", iter)
		sub := &run{s: r.s, exec: r.exec, ctx: ictx, usesContext: r.usesContext, branch: true, vars: &vars{m: map[string]any{}, parent: r.vars}}
		results[i], errs[i] = sub.runMachine(mctx, st.Iterator, in, nil)
		detail := map[string]any{"name": st.Name, "index": i}
		switch {
		case errs[i] == nil:
			r.emit("MapIterationSucceeded", map[string]any{"mapIterationSucceededEventDetails": detail})
		case errors.Is(errs[i], context.Canceled):
			r.emit("MapIterationAborted", map[string]any{"mapIterationAbortedEventDetails": detail})
		default:
			r.emit("MapIterationFailed", map[string]any{"mapIterationFailedEventDetails": detail})
		}
		if errs[i] != nil && !errors.Is(errs[i], context.Canceled) {
			mu.Lock()
			failed++
			if !tolerated() {
				cancel()
			}
			mu.Unlock()
		}
	}
	if st.Effectful {
		for i, item := range list {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				iteration(i, item)
			}()
		}
		wg.Wait()
	} else {
		// Pure iterations run one after the other in this goroutine.
		for i, item := range list {
			if mctx.Err() != nil {
				break
			}
			iteration(i, item)
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if failed > 0 && !tolerated() {
		r.emit("MapStateFailed", nil)
		if st.ToleratedCount != nil || st.ToleratedPct != nil {
			return nil, &failure{"States.ExceedToleratedFailureThreshold", "The specified tolerated failure threshold was exceeded"}
		}
		for _, e := range errs {
			if e != nil && !errors.Is(e, context.Canceled) {
				return nil, asFailure(e)
			}
		}
	}
	r.emit("MapStateSucceeded", nil)
	return results, nil
}

// callback runs a .waitForTaskToken task: it sends the task with a token
// in $$.Task.Token and waits for SendTaskSuccess or SendTaskFailure, the
// heartbeat and timeout limits on the injected clock. The token is
// recorded before the task is sent, so after a restart the execution
// keeps waiting for it instead of sending again.
func (r *run) callback(ctx context.Context, st *State, input any, cur *cursor) (any, error) {
	return r.callbackWith(ctx, st, cur, func() (any, error) {
		if st.Parameters == nil {
			return input, nil
		}
		return asl.Render(st.Parameters, input, r.scope(), "Parameters")
	})
}

// callbackWith runs a .waitForTaskToken task whose parameters params
// renders once the token is in the context object.
func (r *run) callbackWith(ctx context.Context, st *State, cur *cursor, params func() (any, error)) (any, error) {
	s := r.s
	token := ""
	resumed := false
	if cur != nil && cur.Token != "" && cur.State == st.Name {
		token, resumed = cur.Token, true
	} else {
		token = newToken(r.exec.rec.Arn)
	}
	r.ctx["Task"] = map[string]any{"Token": token}
	w := &tokenWait{exec: r.exec, result: make(chan tokenResult, 1), heartbeat: make(chan struct{}, 1)}
	// Registering the waiter and looking for an answer that arrived while
	// nothing waited happen under s.mu, as SendTaskResult's choice between
	// the two does, so no answer falls between them.
	s.mu.Lock()
	s.tokens[token] = w
	r.exec.mu.Lock()
	if kept := r.exec.rec.Cursor.Result; kept != nil && r.exec.rec.Cursor.Token == token {
		w.result <- *kept
	} else if cur != nil && cur.Result != nil && cur.Token == token {
		w.result <- *cur.Result
	}
	r.exec.mu.Unlock()
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.tokens, token)
		s.mu.Unlock()
	}()
	if !resumed {
		if cur != nil {
			cur.Token = token
			if err := r.exec.persist(cur); err != nil {
				return nil, err
			}
		}
		p, err := params()
		if err != nil {
			return nil, err
		}
		base := *st
		base.Resource = strings.TrimSuffix(st.Resource, ".waitForTaskToken")
		if _, err := r.task(ctx, &base, p); err != nil {
			return nil, err
		}
	}
	var timeout, heartbeat <-chan time.Time
	if st.TimeoutSeconds > 0 {
		t := s.clock.NewTimer(time.Duration(st.TimeoutSeconds) * time.Second)
		defer t.Stop()
		timeout = t.C()
	}
	var hb interface{ Stop() bool }
	resetHeartbeat := func() {
		if st.HeartbeatSeconds > 0 {
			if hb != nil {
				hb.Stop()
			}
			t := s.clock.NewTimer(time.Duration(st.HeartbeatSeconds) * time.Second)
			hb, heartbeat = t, t.C()
		}
	}
	resetHeartbeat()
	defer func() {
		if hb != nil {
			hb.Stop()
		}
	}()
	for {
		select {
		case res := <-w.result:
			if cur != nil {
				cur.Token, cur.Result = "", nil
			}
			if res.Failed {
				r.emit("TaskFailed", map[string]any{"taskFailedEventDetails": map[string]any{"error": res.Error, "cause": res.Cause}})
				return nil, &failure{res.Error, res.Cause}
			}
			out, err := asl.Decode(res.Output)
			if err != nil {
				return nil, &failure{"States.Runtime", err.Error()}
			}
			r.emit("TaskSucceeded", map[string]any{"taskSucceededEventDetails": map[string]any{"output": res.Output}})
			if st.ResultSelector != nil {
				return asl.Render(st.ResultSelector, out, r.scope(), "ResultSelector")
			}
			return out, nil
		case <-w.heartbeat:
			resetHeartbeat()
		case <-heartbeat:
			r.emit("TaskTimedOut", map[string]any{"taskTimedOutEventDetails": map[string]any{"error": "States.HeartbeatTimeout"}})
			return nil, &failure{"States.HeartbeatTimeout", "No heartbeat was received within " + strconv.Itoa(st.HeartbeatSeconds) + " seconds"}
		case <-timeout:
			r.emit("TaskTimedOut", map[string]any{"taskTimedOutEventDetails": map[string]any{"error": "States.Timeout"}})
			return nil, &failure{"States.Timeout", "The task timed out after " + strconv.Itoa(st.TimeoutSeconds) + " seconds"}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// task runs a Task state's resource with its parameters.
func (r *run) task(ctx context.Context, st *State, params any) (any, error) {
	res := st.Resource
	if strings.HasPrefix(res, "arn:aws:states:::states:startExecution") {
		return r.startChild(ctx, res, params)
	}
	if strings.HasPrefix(res, "arn:aws:states:::aws-sdk:") {
		return r.sdkTask(ctx, res, params)
	}
	tasks := r.s.cfg.Tasks
	if tasks == nil {
		return nil, &failure{"States.Runtime", "no task integrations are configured"}
	}
	switch {
	case strings.HasPrefix(res, "arn:aws:lambda:"), strings.HasPrefix(res, "arn:aws:states:::lambda:invoke"):
		fn, payload := res, params
		optimized := strings.HasPrefix(res, "arn:aws:states:::lambda:invoke")
		if optimized {
			m, ok := params.(map[string]any)
			if !ok {
				return nil, &failure{"States.Runtime", "The Parameters of lambda:invoke must be an object with FunctionName"}
			}
			fn, _ = m["FunctionName"].(string)
			payload = m["Payload"]
			if payload == nil {
				payload = map[string]any{}
			}
		}
		// A function ARN as Resource is the original integration, with
		// LambdaFunction* events and the function's result as it is;
		// lambda:invoke is an optimized integration, with Task* events and
		// the Invoke response (Step Functions developer guide, "Invoke an
		// AWS Lambda function with Step Functions").
		if optimized {
			r.emit("TaskScheduled", map[string]any{"taskScheduledEventDetails": map[string]any{"resourceType": "lambda", "resource": "invoke", "region": r.s.cfg.Region, "parameters": jsonText{params}}})
			r.emit("TaskStarted", map[string]any{"taskStartedEventDetails": map[string]any{"resourceType": "lambda", "resource": "invoke"}})
		} else {
			r.emit("LambdaFunctionScheduled", map[string]any{"lambdaFunctionScheduledEventDetails": map[string]any{"resource": fn, "input": jsonText{payload}}})
			r.emit("LambdaFunctionStarted", nil)
		}
		fail := func(name, cause string) (any, error) {
			if optimized {
				r.emit("TaskFailed", map[string]any{"taskFailedEventDetails": map[string]any{"resourceType": "lambda", "resource": "invoke", "error": name, "cause": cause}})
			} else {
				r.emit("LambdaFunctionFailed", map[string]any{"lambdaFunctionFailedEventDetails": map[string]any{"error": name, "cause": cause}})
			}
			return nil, &failure{name, cause}
		}
		inv, err := tasks.InvokeFunction(ctx, fn, []byte(asl.Encode(payload)))
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			var se *ServiceError
			if errors.As(err, &se) {
				return fail("Lambda."+se.Code, fmt.Sprintf("%s (Service: Lambda, Status Code: %d, Error Code: %s)", se.Message, se.Status, se.Code))
			}
			return fail("Lambda.ServiceException", err.Error())
		}
		if inv.ErrorType != "" {
			return fail(inv.ErrorType, string(inv.Payload))
		}
		var result any = nil
		if len(inv.Payload) > 0 {
			v, err := asl.Decode(string(inv.Payload))
			if err != nil {
				v = string(inv.Payload)
			}
			result = v
		}
		if !optimized {
			r.emit("LambdaFunctionSucceeded", map[string]any{"lambdaFunctionSucceededEventDetails": map[string]any{"output": jsonText{result}}})
			return result, nil
		}
		version := inv.ExecutedVersion
		if version == "" {
			version = "$LATEST"
		}
		out := map[string]any{"ExecutedVersion": version, "Payload": result, "StatusCode": json.Number("200"),
			"SdkHttpMetadata": map[string]any{"HttpStatusCode": json.Number("200")}}
		r.emit("TaskSucceeded", map[string]any{"taskSucceededEventDetails": map[string]any{"resourceType": "lambda", "resource": "invoke", "output": jsonText{out}}})
		return out, nil
	case strings.HasPrefix(res, "arn:aws:states:::sqs:sendMessage"):
		m, _ := params.(map[string]any)
		url, _ := m["QueueUrl"].(string)
		body, ok := m["MessageBody"].(string)
		if !ok {
			body = asl.Encode(m["MessageBody"])
		}
		group, _ := m["MessageGroupId"].(string)
		dedup, _ := m["MessageDeduplicationId"].(string)
		r.emit("TaskScheduled", map[string]any{"taskScheduledEventDetails": map[string]any{"resourceType": "sqs", "resource": "sendMessage", "region": r.s.cfg.Region, "parameters": jsonText{params}}})
		out, err := tasks.SendMessage(ctx, url, body, group, dedup)
		if err != nil {
			r.emit("TaskFailed", map[string]any{"taskFailedEventDetails": map[string]any{"resourceType": "sqs", "resource": "sendMessage", "error": "SQS.SdkClientException", "cause": err.Error()}})
			return nil, &failure{"SQS.SdkClientException", err.Error()}
		}
		r.emit("TaskSucceeded", map[string]any{"taskSucceededEventDetails": map[string]any{"resourceType": "sqs", "resource": "sendMessage", "output": jsonText{out}}})
		return toJSONValue(out), nil
	case strings.HasPrefix(res, "arn:aws:states:::sns:publish"):
		m, _ := params.(map[string]any)
		topic, _ := m["TopicArn"].(string)
		msg, ok := m["Message"].(string)
		if !ok {
			msg = asl.Encode(m["Message"])
		}
		subject, _ := m["Subject"].(string)
		r.emit("TaskScheduled", map[string]any{"taskScheduledEventDetails": map[string]any{"resourceType": "sns", "resource": "publish", "region": r.s.cfg.Region, "parameters": jsonText{params}}})
		out, err := tasks.Publish(ctx, topic, msg, subject)
		if err != nil {
			r.emit("TaskFailed", map[string]any{"taskFailedEventDetails": map[string]any{"resourceType": "sns", "resource": "publish", "error": "SNS.SdkClientException", "cause": err.Error()}})
			return nil, &failure{"SNS.SdkClientException", err.Error()}
		}
		r.emit("TaskSucceeded", map[string]any{"taskSucceededEventDetails": map[string]any{"resourceType": "sns", "resource": "publish", "output": jsonText{out}}})
		return toJSONValue(out), nil
	}
	return nil, &failure{"States.Runtime", "The resource " + res + " is not supported"}
}

// startChild starts another execution (states:startExecution), waiting
// for it with .sync (its output as a string) and .sync:2 (as JSON).
func (r *run) startChild(ctx context.Context, res string, params any) (any, error) {
	m, _ := params.(map[string]any)
	machine, _ := m["StateMachineArn"].(string)
	name, _ := m["Name"].(string)
	input := "{}"
	switch v := m["Input"].(type) {
	case nil:
	case string:
		input = v
	default:
		input = asl.Encode(v)
	}
	r.emit("TaskScheduled", map[string]any{"taskScheduledEventDetails": map[string]any{"resourceType": "states", "resource": strings.TrimPrefix(res, "arn:aws:states:::states:"),
		"region": r.s.cfg.Region, "parameters": asl.Encode(params)}})
	child, err := r.s.startExecution(ctx, machine, name, input)
	if err != nil {
		var we *Error
		if errors.As(err, &we) {
			return nil, &failure{"StepFunctions." + we.Kind.Error() + "Exception", we.Message}
		}
		return nil, err
	}
	info := child.info()
	if !strings.HasSuffix(res, ".sync") && !strings.HasSuffix(res, ".sync:2") {
		out := map[string]any{"ExecutionArn": info.Arn, "StartDate": info.StartDate.UTC().Format(time.RFC3339Nano)}
		r.emit("TaskSucceeded", map[string]any{"taskSucceededEventDetails": map[string]any{"output": jsonText{out}}})
		return toJSONValue(out), nil
	}
	done, err := child.wait(ctx)
	if err != nil {
		if ctx.Err() != nil {
			// The parent stopped waiting: stop the child too.
			r.s.StopExecution(context.Background(), info.Arn, "States.Runtime", "The parent execution stopped")
		}
		return nil, err
	}
	out := map[string]any{"ExecutionArn": done.Arn, "StateMachineArn": done.StateMachineArn, "Name": done.Name,
		"Status": done.Status, "StartDate": done.StartDate.UTC().Format(time.RFC3339Nano), "StopDate": done.StopDate.UTC().Format(time.RFC3339Nano),
		"Input": done.Input}
	if done.Status != "SUCCEEDED" {
		cause, _ := json.Marshal(out)
		return nil, &failure{"States.TaskFailed", string(cause)}
	}
	if strings.HasSuffix(res, ".sync:2") {
		v, _ := asl.Decode(done.Output)
		out["Output"] = v
		in, _ := asl.Decode(done.Input)
		out["Input"] = in
	} else {
		out["Output"] = done.Output
	}
	r.emit("TaskSucceeded", map[string]any{"taskSucceededEventDetails": map[string]any{"output": jsonText{out}}})
	return toJSONValue(out), nil
}

func toJSONValue(m map[string]any) any {
	v, err := asl.Decode(asl.Encode(m))
	if err != nil {
		return m
	}
	return v
}
