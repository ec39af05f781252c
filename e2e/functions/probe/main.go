// Command probe is a Lambda function built with github.com/aws/aws-lambda-go
// for forkline's end-to-end tests: it echoes, reports its environment,
// fails, sleeps past its timeout or exits, as its event asks.
package main

import (
	"context"
	"errors"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Event selects what the function does.
type Event struct {
	Action  string `json:"action"`
	Message string `json:"message"`
	Millis  int    `json:"millis"`
}

// Reply is what it answers.
type Reply struct {
	Message     string            `json:"message,omitempty"`
	RequestID   string            `json:"requestId,omitempty"`
	FunctionArn string            `json:"functionArn,omitempty"`
	Env         map[string]string `json:"env,omitempty"`
	EnvNames    []string          `json:"envNames,omitempty"`
	RemainingMs int64             `json:"remainingMs,omitempty"`
}

func handle(ctx context.Context, e Event) (Reply, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	r := Reply{RequestID: lc.AwsRequestID, FunctionArn: lc.InvokedFunctionArn}
	if dl, ok := ctx.Deadline(); ok {
		r.RemainingMs = time.Until(dl).Milliseconds()
	}
	switch e.Action {
	case "echo":
		r.Message = e.Message
	case "env":
		r.Env = map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			r.EnvNames = append(r.EnvNames, k)
			if !strings.Contains(k, "SECRET") {
				r.Env[k] = v
			}
		}
		sort.Strings(r.EnvNames)
	case "fail":
		return r, errors.New(e.Message)
	case "sleep":
		time.Sleep(time.Duration(e.Millis) * time.Millisecond)
	case "exit":
		os.Exit(3)
	}
	return r, nil
}

func main() { lambda.Start(handle) }
