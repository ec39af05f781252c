package workflow

import (
	"context"

	"github.com/forkline/forkline/internal/workflow/asl"
)

// TestState runs one state on its own (Step Functions developer guide,
// "Using TestState API to test a state"): its data processing, its task
// (for real, through the integrations), and its Retry and Catch rules,
// which decide the status instead of running again.

// Inspection is the data of each processing step, as TestState's DEBUG
// inspection level shows it.
type Inspection struct {
	Input, AfterInputPath, AfterParameters, Result, AfterResultSelector, AfterResultPath string
}

// TestResult is what TestState answers.
type TestResult struct {
	Status            string // SUCCEEDED, FAILED, RETRIABLE or CAUGHT_ERROR
	Output, NextState string
	HasOutput         bool
	Error, Cause      string
	Inspection        Inspection
}

// TestState runs the state definition on input.
func (s *Service) TestState(ctx context.Context, definition, input string) (TestResult, error) {
	v, err := asl.Decode(definition)
	if err != nil {
		return TestResult{}, errorf(ErrInvalidDefinition, "Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: %v'", err)
	}
	raw, ok := v.(map[string]any)
	if !ok {
		return TestResult{}, errorf(ErrInvalidDefinition, "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The state must be a JSON object'")
	}
	st, err := parseState("TestState", raw, "", "JSONPath")
	if err != nil {
		return TestResult{}, errorf(ErrInvalidDefinition, "Invalid State Machine Definition: '%s'", err.Error())
	}
	switch st.Type {
	case "Parallel", "Map":
		return TestResult{}, errorf(ErrValidation, "The TestState API does not support %s states", st.Type)
	}
	if input == "" {
		input = "{}"
	}
	in, err := asl.Decode(input)
	if err != nil {
		return TestResult{}, errorf(ErrInvalidExecutionInput, "Invalid State Machine Execution Input: '%v'", err)
	}
	e := &execution{s: s, ephemeral: true, done: make(chan struct{}),
		rec: execRec{Arn: s.execArn("TestState", "test"), Name: "test", Status: "RUNNING", Start: s.clock.Now().UnixMilli()}}
	insp := &Inspection{Input: asl.Encode(in)}
	r := &run{s: s, exec: e, inspect: insp, usesContext: true, ctx: map[string]any{
		"Execution":    map[string]any{"Id": e.rec.Arn, "Input": in, "Name": "test", "StartTime": s.clock.Now().UTC().Format("2006-01-02T15:04:05.000Z")},
		"StateMachine": map[string]any{"Id": s.machineArn("TestState"), "Name": "TestState"},
	}}
	r.setState("TestState", 0)
	// A Wait state is not waited for.
	if st.Type == "Wait" {
		st.Seconds, st.Timestamp, st.SecondsPath, st.TimestampPath = new(float64), "", "", ""
	}
	out, next, err := r.runState(ctx, st, in, nil)
	res := TestResult{Inspection: *insp}
	if err == nil {
		res.Status, res.Output, res.HasOutput, res.NextState = "SUCCEEDED", asl.Encode(out), true, next
		return res, nil
	}
	if ctx.Err() != nil {
		return TestResult{}, ctx.Err()
	}
	f := asFailure(err)
	res.Error, res.Cause = f.name, f.cause
	if f.name != "States.Runtime" {
		if _, ok := retryDelay(st.Retry, f.name, 0); ok {
			res.Status, res.NextState = "RETRIABLE", "TestState"
			return res, nil
		}
		if c := findCatcher(st.Catch, f.name); c != nil {
			rp := c.ResultPath
			if rp == nil {
				all := "$"
				rp = &all
			}
			caught, perr := asl.ApplyResultPath(rp, in, map[string]any{"Error": f.name, "Cause": f.cause})
			if perr == nil {
				res.Status, res.Output, res.HasOutput, res.NextState = "CAUGHT_ERROR", asl.Encode(caught), true, c.Next
				return res, nil
			}
		}
	}
	res.Status = "FAILED"
	return res, nil
}
