// Package runtimeapi serves the AWS Lambda Runtime API (2018-06-01) to one
// sandbox process: the process long-polls GET /runtime/invocation/next for
// an event, and answers with POST /runtime/invocation/{id}/response or
// /error, or reports a failed initialization with POST /runtime/init/error.
//
// An Endpoint listens on its own loopback port (AWS_LAMBDA_RUNTIME_API is a
// bare host:port, so a sandbox is told apart by its port). The function
// service hands it one invocation at a time with Invoke.
//
// The Runtime API is on the path of every invocation, so the endpoint
// serves HTTP/1.1 itself rather than through net/http's server: a
// connection on which the runtime waits for its next event is parked, and
// the goroutine that invokes takes it, writes the event, reads the answer
// and acknowledges it, with no goroutine hand-off between the caller and
// the runtime. A runtime that answers on another connection (curl in a
// shell bootstrap opens one per request) is served by that connection's
// goroutine, which hands the answer over.
package runtimeapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
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

var (
	errBusy   = errors.New("runtimeapi: sandbox busy")
	errExited = errors.New("runtimeapi: runtime exited")
	errClosed = errors.New("runtimeapi: endpoint closed")
)

var _ function.Endpoint = (*Endpoint)(nil)

// Endpoint is the Runtime API of one sandbox. It is safe for concurrent
// use, but the sandbox handles one invocation at a time.
type Endpoint struct {
	ln net.Listener

	mu       sync.Mutex // guards the fields below
	conns    map[*conn]struct{}
	parked   []*conn // connections waiting for an event, owned by no goroutine
	cur      *call   // the invocation in progress
	busy     bool    // an Invoke is running
	wake     chan struct{}
	initErr  []byte // body of /runtime/init/error
	initType string
	ready    chan struct{} // closed at the first /next (initialization done)
	readyOK  bool
	unasked  *conn           // the invoker waits for this one's GET /next
	watched  <-chan struct{} // the died channel being watched
	closed   bool
	done     chan struct{} // closed by Close
}

// call is an invocation handed to the runtime.
type call struct {
	id   string
	done chan Result // receives an answer that came on another connection
	on   *conn       // the connection the invoker reads, if any
}

// conn is one connection from the runtime. It is owned by one goroutine at
// a time: its serving goroutine, the invoker, or nobody while parked.
type conn struct {
	c  net.Conn
	br *bufio.Reader
	// asked is set when a GET /next has been read and not yet answered;
	// askClose when that request wants the connection closed after.
	asked, askClose bool
}

// Listen starts an endpoint on a free loopback port.
func Listen() (*Endpoint, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e := &Endpoint{ln: ln, conns: map[*conn]struct{}{}, wake: make(chan struct{}, 1),
		ready: make(chan struct{}), done: make(chan struct{})}
	go e.accept()
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

// Close stops the endpoint; an invocation in progress ends with an error
// in Invoke.
func (e *Endpoint) Close() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.closed = true
	close(e.done)
	conns := e.conns
	e.conns, e.parked = nil, nil
	e.mu.Unlock()
	e.ln.Close()
	for c := range conns {
		c.c.Close()
	}
}

func (e *Endpoint) accept() {
	for {
		nc, err := e.ln.Accept()
		if err != nil {
			return
		}
		if tc, ok := nc.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
		}
		c := &conn{c: nc, br: bufio.NewReaderSize(nc, 8<<10)}
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			nc.Close()
			return
		}
		e.conns[c] = struct{}{}
		e.mu.Unlock()
		go e.serve(c)
	}
}

// drop closes a connection and forgets it.
func (e *Endpoint) drop(c *conn) {
	c.c.Close()
	e.mu.Lock()
	delete(e.conns, c)
	e.mu.Unlock()
}

// serve reads requests from a connection until it asks for an event,
// then parks it for the invoker.
func (e *Endpoint) serve(c *conn) {
	for {
		req, err := http.ReadRequest(c.br)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isTimeout(err) {
				c.c.Write(errorResponse(http.StatusBadRequest, "InvalidRequest", "Malformed request.", true))
			}
			e.drop(c)
			return
		}
		if isNext(req) {
			discard(req)
			c.asked, c.askClose = true, req.Close
			e.park(c)
			return
		}
		if !e.handle(c, req, nil) {
			return
		}
	}
}

// park hands a connection that asked for an event to the next invoker.
func (e *Endpoint) park(c *conn) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		c.c.Close()
		return
	}
	if c.asked && !e.readyOK {
		e.readyOK = true
		close(e.ready)
	}
	e.parked = append(e.parked, c)
	if w := e.unasked; c.asked && w != nil && w != c {
		// The invoker waits for a request on a connection the runtime
		// has left for this one.
		w.c.SetReadDeadline(aLongTimeAgo)
	}
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func isNext(r *http.Request) bool {
	return r.Method == http.MethodGet && r.URL.Path == prefix+"invocation/next"
}

const prefix = "/2018-06-01/runtime/"

// handle answers a request other than GET /next on c. For an answer to
// the invocation the caller is reading c for (mine), it returns the
// result in *got instead of handing it over. It reports whether c is still
// open.
func (e *Endpoint) handle(c *conn, req *http.Request, mine *answer) bool {
	path := req.URL.Path
	var resp []byte
	switch {
	case req.Method == http.MethodPost && path == prefix+"init/error":
		body, ok := readBody(c, req)
		if !ok {
			e.drop(c)
			return false
		}
		e.mu.Lock()
		e.initErr, e.initType = body, req.Header.Get("Lambda-Runtime-Function-Error-Type")
		if e.initErr == nil {
			e.initErr = []byte{}
		}
		e.mu.Unlock()
		resp = acceptedResponse(req.Close)
	case req.Method == http.MethodPost && strings.HasPrefix(path, prefix+"invocation/"):
		id, kind, ok := strings.Cut(strings.TrimPrefix(path, prefix+"invocation/"), "/")
		if !ok || (kind != "response" && kind != "error") {
			discard(req)
			resp = errorResponse(http.StatusNotFound, "InvalidRequest", "Unknown path "+path, req.Close)
			break
		}
		body, ok := readBody(c, req)
		if !ok {
			e.drop(c)
			return false
		}
		resp = e.answerCall(req, id, kind == "error", body, mine)
	default:
		discard(req)
		resp = errorResponse(http.StatusNotFound, "InvalidRequest", "Unknown path "+path, req.Close)
	}
	if _, err := c.c.Write(resp); err != nil || req.Close {
		e.drop(c)
		return false
	}
	return true
}

// answer is what the runtime sent for an invocation.
type answer struct {
	id  string
	res Result
	ok  bool
}

// answerCall records the runtime's answer for the invocation id: into
// mine when it is the one its reader waits for, else handed to the
// invoker. It returns the response for the runtime.
func (e *Endpoint) answerCall(req *http.Request, id string, isErr bool, body []byte, mine *answer) []byte {
	var res Result
	if len(body) > MaxPayload {
		res = Result{Error: true, ErrorType: "Function.ResponseSizeTooLarge",
			Payload: errorBody("Function.ResponseSizeTooLarge", "Response payload size exceeded maximum allowed payload size (6291556 bytes).")}
	} else {
		res = Result{Payload: body, Error: isErr}
		if isErr {
			res.ErrorType = req.Header.Get("Lambda-Runtime-Function-Error-Type")
			var m struct {
				ErrorType string `json:"errorType"`
			}
			if res.ErrorType == "" && json.Unmarshal(body, &m) == nil {
				res.ErrorType = m.ErrorType
			}
		}
	}
	if mine != nil && mine.id == id && !mine.ok {
		mine.res, mine.ok = res, true
	} else {
		e.mu.Lock()
		c := e.cur
		if c == nil || c.id != id {
			e.mu.Unlock()
			return errorResponse(http.StatusBadRequest, "InvalidRequestID", "Invalid request ID", req.Close)
		}
		e.cur = nil
		on := c.on
		e.mu.Unlock()
		c.done <- res
		if on != nil {
			on.c.SetReadDeadline(aLongTimeAgo) // stop the invoker's read
		}
	}
	if len(body) > MaxPayload {
		return errorResponse(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "Payload too large", req.Close)
	}
	return acceptedResponse(req.Close)
}

var aLongTimeAgo = time.Unix(1, 0)

// readBody reads a request body up to one byte over MaxPayload (and
// discards the rest), answering Expect: 100-continue first.
func readBody(c *conn, req *http.Request) ([]byte, bool) {
	if req.ContentLength != 0 && strings.EqualFold(req.Header.Get("Expect"), "100-continue") {
		if _, err := io.WriteString(c.c, "HTTP/1.1 100 Continue\r\n\r\n"); err != nil {
			return nil, false
		}
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, MaxPayload+1))
	if err != nil {
		return nil, false
	}
	if len(body) > MaxPayload {
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return nil, false
		}
	}
	return body, true
}

func discard(req *http.Request) { io.Copy(io.Discard, req.Body) }

// Invoke hands inv to the sandbox and waits for its answer, for ctx's end,
// or for died to be closed (the process exited).
func (e *Endpoint) Invoke(ctx context.Context, inv Invocation, died <-chan struct{}) (Result, error) {
	e.mu.Lock()
	if e.busy {
		e.mu.Unlock()
		return Result{}, errBusy
	}
	e.busy = true
	if e.watched != died {
		e.watched = died
		go e.watch(died)
	}
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.busy, e.cur = false, nil
		e.mu.Unlock()
	}()
	// Interrupt the connection being read when ctx ends.
	var reading struct {
		sync.Mutex
		c *conn
	}
	stop := context.AfterFunc(ctx, func() {
		reading.Lock()
		if reading.c != nil {
			reading.c.c.SetReadDeadline(aLongTimeAgo)
		}
		reading.Unlock()
		e.signal()
	})
	defer stop()
	setReading := func(c *conn) {
		reading.Lock()
		reading.c = c
		reading.Unlock()
	}
	cl := &call{id: inv.RequestID, done: make(chan Result, 1)}
	for {
		c, err := e.take(ctx, died)
		if err != nil {
			return e.failed(ctx, died, err)
		}
		setReading(c)
		res, delivered, err := e.exchange(ctx, c, cl, inv, died)
		setReading(nil)
		if err == nil {
			return res, nil
		}
		if delivered {
			// The runtime has the event: its answer can only come on
			// another connection now.
			return e.await(ctx, cl, died)
		}
		if ctx.Err() != nil || isClosed(died) {
			return e.failed(ctx, died, err)
		}
		// The connection broke before the event was written: wait for
		// another.
	}
}

// take waits for a connection that asked, or will ask, for an event.
func (e *Endpoint) take(ctx context.Context, died <-chan struct{}) (*conn, error) {
	for {
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			return nil, errClosed
		}
		if n := len(e.parked); n > 0 {
			// The newest connection that asked; else the newest, whose
			// runtime will ask on it.
			i := n - 1
			for j := n - 1; j >= 0; j-- {
				if e.parked[j].asked {
					i = j
					break
				}
			}
			c := e.parked[i]
			e.parked = append(e.parked[:i], e.parked[i+1:]...)
			if !c.asked {
				e.unasked = c
			}
			e.mu.Unlock()
			return c, nil
		}
		e.mu.Unlock()
		select {
		case <-e.wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-died:
			return nil, errExited
		case <-e.done:
			return nil, errClosed
		}
	}
}

func (e *Endpoint) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// watch interrupts the reads of an invocation when the process dies.
func (e *Endpoint) watch(died <-chan struct{}) {
	select {
	case <-died:
	case <-e.done:
		return
	}
	e.mu.Lock()
	for c := range e.conns {
		c.c.SetReadDeadline(aLongTimeAgo)
	}
	e.mu.Unlock()
	e.signal()
}

// failed turns an invocation's failure into Invoke's answer.
func (e *Endpoint) failed(ctx context.Context, died <-chan struct{}, err error) (Result, error) {
	if ctx.Err() != nil {
		return Result{}, ctx.Err()
	}
	if isClosed(died) {
		if _, _, ok := e.InitError(); ok {
			return Result{}, ErrInitFailed
		}
		return Result{}, errExited
	}
	return Result{}, err
}

// await waits for an answer that comes on another connection.
func (e *Endpoint) await(ctx context.Context, cl *call, died <-chan struct{}) (Result, error) {
	select {
	case r := <-cl.done:
		return r, nil
	case <-ctx.Done():
		return Result{}, ctx.Err()
	case <-died:
		// The answer may have arrived just before the exit.
		select {
		case r := <-cl.done:
			return r, nil
		default:
		}
		return e.failed(ctx, died, errExited)
	case <-e.done:
		return Result{}, errClosed
	}
}

// exchange gives the invocation to the runtime on c and reads its answer
// there. delivered reports whether the event was written, after which a
// failure leaves the answer to another connection.
func (e *Endpoint) exchange(ctx context.Context, c *conn, cl *call, inv Invocation, died <-chan struct{}) (res Result, delivered bool, err error) {
	// A deadline left by an earlier interruption must not stop this one.
	c.c.SetReadDeadline(time.Time{})
	// A runtime that gave up its long poll closed the connection: the
	// event would go nowhere.
	if c.asked && closedByPeer(c.c) {
		e.drop(c)
		return Result{}, false, io.EOF
	}
	// A parked connection whose runtime has not asked yet: wait for its
	// GET /next (answering anything else it sends first).
	for !c.asked {
		req, err := e.read(ctx, c, died)
		if err == nil && isNext(req) {
			discard(req)
			c.asked, c.askClose = true, req.Close
			break
		}
		if err != nil || !e.handle(c, req, nil) {
			e.mu.Lock()
			e.unasked = nil
			e.mu.Unlock()
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return Result{}, false, err
		}
	}
	e.mu.Lock()
	e.unasked = nil
	cl.on = c
	if c.askClose {
		cl.on = nil
	}
	e.cur = cl
	e.mu.Unlock()
	c.asked = false
	if err := writeEvent(c.c, inv, c.askClose); err != nil {
		e.drop(c)
		e.mu.Lock()
		e.cur = nil
		e.mu.Unlock()
		return Result{}, false, err
	}
	if c.askClose {
		e.drop(c)
		return Result{}, true, errors.New("runtimeapi: connection closed after the event")
	}
	mine := &answer{id: inv.RequestID}
	for first := true; ; first = false {
		req, err := e.read(ctx, c, died)
		if err != nil {
			if first && errors.Is(err, syscall.ECONNRESET) {
				// The runtime had closed the connection (a client that
				// gave up its long poll): the event reached a closed
				// socket, which answered with a reset. Hand it out again.
				e.mu.Lock()
				if e.cur == cl {
					e.cur = nil
				}
				e.mu.Unlock()
				return Result{}, false, err
			}
			// Stopped by an answer on another connection, by ctx or by
			// the process's end; or the runtime closed the connection
			// after reading the event (curl does), leaving the answer
			// to another connection.
			return Result{}, true, err
		}
		if isNext(req) {
			discard(req)
			// The runtime asks for the next event without answering
			// this one: keep the connection for the next invocation.
			c.asked, c.askClose = true, req.Close
			e.park(c)
			return Result{}, true, errors.New("runtimeapi: no answer on the connection")
		}
		// The answer is acknowledged before the caller sees it; the
		// runtime's next request waits in the socket until the next
		// invocation takes the connection.
		if !e.handle(c, req, mine) {
			if mine.ok {
				return mine.res, true, nil
			}
			return Result{}, true, io.ErrUnexpectedEOF
		}
		if mine.ok {
			e.mu.Lock()
			e.cur = nil
			e.mu.Unlock()
			e.park(c)
			return mine.res, true, nil
		}
	}
}

// read reads the next request from a connection the invoker owns. A read
// stopped by an answer on another connection, by ctx or by the process's
// end, leaves a connection that had not started a request in the parked
// list; any other failure closes it.
func (e *Endpoint) read(ctx context.Context, c *conn, died <-chan struct{}) (*http.Request, error) {
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if _, err := c.br.Peek(1); err != nil {
		if isTimeout(err) && !isClosed(died) {
			c.c.SetReadDeadline(time.Time{})
			if c.br.Buffered() == 0 {
				e.park(c)
				return nil, err
			}
		}
		e.drop(c)
		return nil, err
	}
	req, err := http.ReadRequest(c.br)
	if err != nil {
		if !isTimeout(err) {
			c.c.Write(errorResponse(http.StatusBadRequest, "InvalidRequest", "Malformed request.", true))
		}
		e.drop(c)
		return nil, err
	}
	return req, nil
}

// closedByPeer reports whether the other end has closed c: a peek that
// does not wait finds the end of the stream or a reset.
func closedByPeer(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	closed := false
	rc.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		closed = n == 0 && err == nil || errors.Is(err, syscall.ECONNRESET)
		return true
	})
	return closed
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// writeEvent answers GET /next with inv.
func writeEvent(w net.Conn, inv Invocation, closeAfter bool) error {
	h := make([]byte, 0, 320+len(inv.FunctionArn)+len(inv.ClientContext)+len(inv.CognitoIdentity))
	h = append(h, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: "...)
	h = appendValue(h, inv.RequestID)
	h = append(h, "\r\nLambda-Runtime-Deadline-Ms: "...)
	h = strconv.AppendInt(h, inv.Deadline.UnixMilli(), 10)
	h = append(h, "\r\nLambda-Runtime-Invoked-Function-Arn: "...)
	h = appendValue(h, inv.FunctionArn)
	h = append(h, "\r\nLambda-Runtime-Trace-Id: "...)
	h = appendValue(h, inv.TraceID)
	if inv.ClientContext != "" {
		h = append(h, "\r\nLambda-Runtime-Client-Context: "...)
		h = appendValue(h, inv.ClientContext)
	}
	if inv.CognitoIdentity != "" {
		h = append(h, "\r\nLambda-Runtime-Cognito-Identity: "...)
		h = appendValue(h, inv.CognitoIdentity)
	}
	if closeAfter {
		h = append(h, "\r\nConnection: close"...)
	}
	h = append(h, "\r\nContent-Length: "...)
	h = strconv.AppendInt(h, int64(len(inv.Payload)), 10)
	h = append(h, "\r\n\r\n"...)
	var err error
	if len(inv.Payload) <= 16<<10 {
		_, err = w.Write(append(h, inv.Payload...))
	} else {
		bufs := net.Buffers{h, inv.Payload}
		_, err = bufs.WriteTo(w)
	}
	return err
}

// appendValue appends a header value with its line breaks and other
// control characters made spaces, so that no value can end the header.
func appendValue(h []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		b := v[i]
		if b < ' ' && b != '\t' || b == 0x7f {
			b = ' '
		}
		h = append(h, b)
	}
	return h
}

func acceptedResponse(closeAfter bool) []byte {
	return response(http.StatusAccepted, []byte(`{"status":"OK"}`), closeAfter)
}

func errorResponse(status int, typ, msg string, closeAfter bool) []byte {
	return response(status, errorBody(typ, msg), closeAfter)
}

func response(status int, body []byte, closeAfter bool) []byte {
	h := make([]byte, 0, 128+len(body))
	h = append(h, "HTTP/1.1 "...)
	h = strconv.AppendInt(h, int64(status), 10)
	h = append(h, ' ')
	h = append(h, http.StatusText(status)...)
	h = append(h, "\r\nContent-Type: application/json\r\n"...)
	if closeAfter {
		h = append(h, "Connection: close\r\n"...)
	}
	h = append(h, "Content-Length: "...)
	h = strconv.AppendInt(h, int64(len(body)), 10)
	h = append(h, "\r\n\r\n"...)
	return append(h, body...)
}

func errorBody(typ, msg string) []byte {
	b, _ := json.Marshal(map[string]string{"errorType": typ, "errorMessage": msg})
	return b
}
