// Package function is forkline's Lambda: functions stored as records with
// their code kept durably in the data directory, and invocations run in
// sandbox processes that forkline starts and supervises, each talking to
// its own Runtime API endpoint.
//
// Invariants:
//   - A function's code is on disk (fsynced zip, content-addressed by its
//     SHA-256) before the record that names it is committed; unpacked task
//     directories are a cache rebuilt from the zip.
//   - A sandbox runs one invocation at a time; warm sandboxes are reused
//     while their function's code and configuration are unchanged.
//   - A sandbox sees only the environment Lambda defines plus the
//     function's own variables: nothing of forkline's environment leaks in.
package function

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Invocation is one event for a sandbox's runtime.
type Invocation struct {
	RequestID       string
	Deadline        time.Time
	FunctionArn     string
	TraceID         string
	ClientContext   string
	CognitoIdentity string
	Payload         []byte
}

// Result is a runtime's answer: a response payload, or an error the
// function reported.
type Result struct {
	Payload   []byte
	Error     bool
	ErrorType string
}

// ErrInitFailed is what an Endpoint's Invoke returns when the runtime
// reported an initialization error.
var ErrInitFailed = errors.New("runtime reported an initialization error")

// Endpoint is the Runtime API of one sandbox (package runtimeapi).
type Endpoint interface {
	// Addr is the value of AWS_LAMBDA_RUNTIME_API.
	Addr() string
	// Ready is closed when the runtime first asks for an event.
	Ready() <-chan struct{}
	// InitError returns what the runtime posted to /runtime/init/error.
	InitError() (errorType string, body []byte, ok bool)
	// Invoke hands inv to the runtime and waits for its answer, ctx's end
	// or died's closing.
	Invoke(ctx context.Context, inv Invocation, died <-chan struct{}) (Result, error)
	Close()
}

// Sentinel errors; the text is Lambda's error code. Every client error the
// Service returns wraps one of these in an *Error.
var (
	ErrResourceNotFound      = errors.New("ResourceNotFoundException")
	ErrResourceConflict      = errors.New("ResourceConflictException")
	ErrInvalidParameterValue = errors.New("InvalidParameterValueException")
	ErrRequestTooLarge       = errors.New("RequestTooLargeException")
	ErrTooManyRequests       = errors.New("TooManyRequestsException")
	ErrValidation            = errors.New("ValidationException")
	ErrInvalidRuntime        = errors.New("InvalidRuntimeException")
	ErrCodeStorageExceeded   = errors.New("CodeStorageExceededException")
	ErrPreconditionFailed    = errors.New("PreconditionFailedException")
)

// HTTPStatus maps Lambda's error codes to the HTTP status that carries them.
var HTTPStatus = map[string]int{
	"ResourceNotFoundException": 404, "ResourceConflictException": 409, "InvalidParameterValueException": 400,
	"RequestTooLargeException": 413, "TooManyRequestsException": 429, "ValidationException": 400,
	"InvalidRuntimeException": 502, "CodeStorageExceededException": 400, "PreconditionFailedException": 412,
	"InvalidRequestContentException": 400, "UnrecognizedClientException": 403, "ServiceException": 500,
	"RequestEntityTooLargeException": 413,
}

// Error is a client error: a sentinel kind and Lambda's message.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Message }

// Unwrap returns the sentinel kind.
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}
