package workflow

import (
	"context"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/forkline/forkline/internal/workflow/asl"
)

// AWS SDK integrations, arn:aws:states:::aws-sdk:SERVICE:ACTION (Step
// Functions developer guide, "Learning to use AWS service SDK
// integrations"): parameters and results in PascalCase, errors named
// ServiceName.ErrorName with an Exception suffix. forkline serves them for
// its own services.

// sdkServices maps the services forkline serves to the PascalCase names
// that their errors carry.
var sdkServices = map[string]string{"sqs": "Sqs", "sns": "Sns", "sfn": "Sfn", "lambda": "Lambda"}

var sdkResourceRE = regexp.MustCompile(`^arn:aws:states:::aws-sdk:([a-z0-9]+):([a-z][a-zA-Z0-9]*)$`)

// sdkResource splits an aws-sdk resource (without its .waitForTaskToken
// suffix) into service and action.
func sdkResource(r string) (service, action string, ok bool) {
	m := sdkResourceRE.FindStringSubmatch(r)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// SDKCaller is the part of Tasks that calls forkline's own APIs. action
// is the API action in PascalCase; params and the result are JSON values
// with PascalCase member names. A refusal is a *ServiceError whose Code is
// the API's error code.
type SDKCaller interface {
	CallAWS(ctx context.Context, service, action string, params any) (any, error)
}

// sdkTask runs an aws-sdk Task.
func (r *run) sdkTask(ctx context.Context, res string, params any) (any, error) {
	service, action, _ := sdkResource(strings.TrimSuffix(res, ".waitForTaskToken"))
	caller, ok := r.s.cfg.Tasks.(SDKCaller)
	if !ok {
		return nil, &failure{"States.Runtime", "AWS SDK integrations are not configured"}
	}
	details := func(m map[string]any) map[string]any {
		m["resourceType"], m["resource"] = "aws-sdk:"+service, action
		return m
	}
	r.emit("TaskScheduled", map[string]any{"taskScheduledEventDetails": details(map[string]any{"region": r.s.cfg.Region, "parameters": jsonText{params}})})
	r.emit("TaskStarted", map[string]any{"taskStartedEventDetails": details(map[string]any{})})
	if params == nil {
		params = map[string]any{}
	}
	out, err := caller.CallAWS(ctx, service, upperFirst(action), params)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		name, cause := sdkServices[service]+".SdkClientException", err.Error()
		if se, ok := err.(*ServiceError); ok {
			code := se.Code
			if !strings.HasSuffix(code, "Exception") {
				code += "Exception"
			}
			name = sdkServices[service] + "." + code
			cause = se.Message + " (Service: " + sdkServices[service] + ", Status Code: " + itoa(se.Status) + ", Error Code: " + se.Code + ")"
		}
		r.emit("TaskFailed", map[string]any{"taskFailedEventDetails": details(map[string]any{"error": name, "cause": cause})})
		return nil, &failure{name, cause}
	}
	r.emit("TaskSucceeded", map[string]any{"taskSucceededEventDetails": details(map[string]any{"output": jsonText{out}})})
	return out, nil
}

func itoa(n int) string { return asl.Encode(n) }

func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

// RecaseKeys copies a JSON value with every object key passed through f:
// the Step Functions API itself is camelCase, its aws-sdk form PascalCase.
func RecaseKeys(v any, upper bool) any {
	f := lowerFirst
	if upper {
		f = upperFirst
	}
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[f(k)] = RecaseKeys(e, upper)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = RecaseKeys(e, upper)
		}
		return a
	}
	return v
}
