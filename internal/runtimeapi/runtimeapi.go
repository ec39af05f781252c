// Package runtimeapi serves the AWS Lambda Runtime API (2018-06-01) to one
// sandbox process: the process long-polls GET /runtime/invocation/next for
// an event, and answers with POST /runtime/invocation/{id}/response or
// /error, or reports a failed initialization with POST /runtime/init/error.
//
// An Endpoint listens on its own loopback port (AWS_LAMBDA_RUNTIME_API is a
// bare host:port, so a sandbox is told apart by its port). The function
// service hands it one invocation at a time with Invoke.
package runtimeapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/forkline/forkline/internal/function"
)

// MaxPayload is the largest synchronous response (Lambda quotas: 6 MB).
const MaxPayload = 6 * 1024 * 1024

// Invocation and Result are the function service's.
type (
	Invocation = function.Invocation
	Result     = function.Result
)

// ErrInitFailed is returned by Invoke when the runtime reported an
// initialization error; InitError returns its body.
var ErrInitFailed = function.ErrInitFailed

var _ function.Endpoint = (*Endpoint)(nil)

// Endpoint is the Runtime API of one sandbox. It is safe for concurrent
// use, but the sandbox handles one invocation at a time.
type Endpoint struct {
	ln  net.Listener
	srv *http.Server

	mu       sync.Mutex // guards the fields below
	pending  *call      // the invocation waiting to be fetched, or in progress
	fetched  bool       // pending was handed out by /next
	initErr  []byte     // body of /runtime/init/error
	initType string
	ready    chan struct{} // closed at the first /next (initialization done)
	readyOK  bool
	wake     chan struct{} // signalled when pending is set
	closed   bool
}

type call struct {
	inv  Invocation
	done chan Result
}

// Listen starts an endpoint on a free loopback port.
func Listen() (*Endpoint, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e := &Endpoint{ln: ln, ready: make(chan struct{}), wake: make(chan struct{}, 1)}
	e.srv = &http.Server{Handler: e, ReadHeaderTimeout: 30 * time.Second}
	go e.srv.Serve(ln)
	return e, nil
}

// Addr is the value of AWS_LAMBDA_RUNTIME_API.
func (e *Endpoint) Addr() string { return e.ln.Addr().String() }

// Ready is closed when the runtime first asks for an event, that is, when
// its initialization is over.
func (e *Endpoint) Ready() <-chan struct{} { return e.ready }

// InitError returns what the runtime posted to /runtime/init/error, if
// anything.
func (e *Endpoint) InitError() (errorType string, body []byte, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.initType, e.initErr, e.initErr != nil
}

// Close stops the endpoint; an invocation in progress ends with ctx's
// error in Invoke.
func (e *Endpoint) Close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.srv.Close()
}

// Invoke hands inv to the sandbox and waits for its answer, for ctx's end,
// or for died to be closed (the process exited).
func (e *Endpoint) Invoke(ctx context.Context, inv Invocation, died <-chan struct{}) (Result, error) {
	c := &call{inv: inv, done: make(chan Result, 1)}
	e.mu.Lock()
	if e.pending != nil {
		e.mu.Unlock()
		return Result{}, errors.New("runtimeapi: sandbox busy")
	}
	e.pending, e.fetched = c, false
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
	defer func() {
		e.mu.Lock()
		if e.pending == c {
			e.pending = nil
		}
		e.mu.Unlock()
	}()
	select {
	case r := <-c.done:
		return r, nil
	case <-ctx.Done():
		return Result{}, ctx.Err()
	case <-died:
		// The answer may have arrived just before the exit.
		select {
		case r := <-c.done:
			return r, nil
		default:
		}
		if _, _, ok := e.InitError(); ok {
			return Result{}, ErrInitFailed
		}
		return Result{}, errors.New("runtimeapi: runtime exited")
	}
}

const prefix = "/2018-06-01/runtime/"

// ServeHTTP implements the Runtime API.
func (e *Endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case r.Method == http.MethodGet && path == prefix+"invocation/next":
		e.next(w, r)
	case r.Method == http.MethodPost && path == prefix+"init/error":
		body, _ := io.ReadAll(io.LimitReader(r.Body, MaxPayload))
		e.mu.Lock()
		e.initErr, e.initType = body, r.Header.Get("Lambda-Runtime-Function-Error-Type")
		if e.initErr == nil {
			e.initErr = []byte{}
		}
		e.mu.Unlock()
		accepted(w)
	case r.Method == http.MethodPost && strings.HasPrefix(path, prefix+"invocation/"):
		rest := strings.TrimPrefix(path, prefix+"invocation/")
		id, kind, ok := strings.Cut(rest, "/")
		if !ok || (kind != "response" && kind != "error") {
			writeErr(w, http.StatusNotFound, "InvalidRequest", "Unknown path "+path)
			return
		}
		e.answer(w, r, id, kind == "error")
	default:
		writeErr(w, http.StatusNotFound, "InvalidRequest", "Unknown path "+path)
	}
}

func (e *Endpoint) next(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	if !e.readyOK {
		e.readyOK = true
		close(e.ready)
	}
	e.mu.Unlock()
	for {
		e.mu.Lock()
		c := e.pending
		if c != nil && !e.fetched {
			e.fetched = true
			e.mu.Unlock()
			h := w.Header()
			h.Set("Lambda-Runtime-Aws-Request-Id", c.inv.RequestID)
			h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(c.inv.Deadline.UnixMilli(), 10))
			h.Set("Lambda-Runtime-Invoked-Function-Arn", c.inv.FunctionArn)
			h.Set("Lambda-Runtime-Trace-Id", c.inv.TraceID)
			if c.inv.ClientContext != "" {
				h.Set("Lambda-Runtime-Client-Context", c.inv.ClientContext)
			}
			if c.inv.CognitoIdentity != "" {
				h.Set("Lambda-Runtime-Cognito-Identity", c.inv.CognitoIdentity)
			}
			h.Set("Content-Type", "application/json")
			h.Set("Content-Length", strconv.Itoa(len(c.inv.Payload)))
			w.WriteHeader(http.StatusOK)
			w.Write(c.inv.Payload)
			return
		}
		e.mu.Unlock()
		select {
		case <-e.wake:
		case <-r.Context().Done():
			return
		}
	}
}

func (e *Endpoint) answer(w http.ResponseWriter, r *http.Request, id string, isErr bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload+1))
	if err != nil {
		writeErr(w, http.StatusBadRequest, "InvalidRequest", "Could not read the body.")
		return
	}
	e.mu.Lock()
	c := e.pending
	if c == nil || !e.fetched || c.inv.RequestID != id {
		e.mu.Unlock()
		writeErr(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	e.pending = nil
	e.mu.Unlock()
	if len(body) > MaxPayload {
		c.done <- Result{Error: true, ErrorType: "Function.ResponseSizeTooLarge",
			Payload: errorBody("Function.ResponseSizeTooLarge", "Response payload size exceeded maximum allowed payload size (6291556 bytes).")}
		writeErr(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "Payload too large")
		return
	}
	res := Result{Payload: body, Error: isErr}
	if isErr {
		res.ErrorType = r.Header.Get("Lambda-Runtime-Function-Error-Type")
		var m struct {
			ErrorType string `json:"errorType"`
		}
		if json.Unmarshal(body, &m) == nil && m.ErrorType != "" && res.ErrorType == "" {
			res.ErrorType = m.ErrorType
		}
	}
	c.done <- res
	accepted(w)
}

func errorBody(typ, msg string) []byte {
	b, _ := json.Marshal(map[string]string{"errorType": typ, "errorMessage": msg})
	return b
}

func accepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	w.Write([]byte(`{"status":"OK"}`))
}

func writeErr(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"errorType": typ, "errorMessage": msg})
	w.Write(b)
}
