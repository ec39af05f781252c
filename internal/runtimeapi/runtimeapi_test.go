package runtimeapi

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// client is a runtime's side of one connection.
type client struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, e *Endpoint) *client {
	t.Helper()
	c, err := net.Dial("tcp", e.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, c: c, br: bufio.NewReader(c)}
}

// do sends a raw request and reads the response.
func (c *client) do(raw string) (*http.Response, string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, raw); err != nil {
		c.t.Fatal(err)
	}
	return c.response()
}

func (c *client) response() (*http.Response, string) {
	c.t.Helper()
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp, string(b)
}

const nextReq = "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n"

func post(path, body string, extra ...string) string {
	return fmt.Sprintf("POST /2018-06-01/runtime/%s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n%s",
		path, strings.Join(extra, ""), len(body), body)
}

type outcome struct {
	res Result
	err error
}

func invoke(e *Endpoint, ctx context.Context, id, payload string, died <-chan struct{}) chan outcome {
	ch := make(chan outcome, 1)
	go func() {
		r, err := e.Invoke(ctx, Invocation{RequestID: id, Deadline: time.Unix(1700000000, 0), FunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:f",
			TraceID: "Root=1-a-b", Payload: []byte(payload)}, died)
		ch <- outcome{r, err}
	}()
	return ch
}

func listen(t *testing.T) *Endpoint {
	t.Helper()
	e, err := Listen()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func wait(t *testing.T, ch chan outcome) outcome {
	t.Helper()
	select {
	case o := <-ch:
		return o
	case <-time.After(20 * time.Second):
		t.Fatal("Invoke did not return")
		return outcome{}
	}
}

// A runtime on one keep-alive connection, as aws-lambda-go and the
// bundled bootstraps run: the event carries the documented headers
// (Lambda developer guide, "Using the Lambda runtime API for custom
// runtimes": Lambda-Runtime-Aws-Request-Id, -Deadline-Ms,
// -Invoked-Function-Arn, -Trace-Id).
func TestKeepAliveRuntime(t *testing.T) {
	e := listen(t)
	died := make(chan struct{})
	rt := dial(t, e)
	if _, err := io.WriteString(rt.c, nextReq); err != nil {
		t.Fatal(err)
	}
	<-e.Ready()
	for i := 0; i < 3; i++ {
		id := fmt.Sprint("req-", i)
		ch := invoke(e, context.Background(), id, `{"n":1}`, died)
		resp, body := rt.response()
		h := resp.Header
		if resp.StatusCode != 200 || body != `{"n":1}` || h.Get("Lambda-Runtime-Aws-Request-Id") != id ||
			h.Get("Lambda-Runtime-Deadline-Ms") != "1700000000000" || h.Get("Lambda-Runtime-Invoked-Function-Arn") == "" ||
			h.Get("Lambda-Runtime-Trace-Id") != "Root=1-a-b" {
			t.Fatalf("event %d: %d %v %q", i, resp.StatusCode, h, body)
		}
		ack, _ := rt.do(post("invocation/"+id+"/response", `"done"`))
		if ack.StatusCode != http.StatusAccepted {
			t.Fatalf("ack %d", ack.StatusCode)
		}
		if o := wait(t, ch); o.err != nil || string(o.res.Payload) != `"done"` || o.res.Error {
			t.Fatalf("invoke %d: %+v", i, o)
		}
		io.WriteString(rt.c, nextReq)
	}
}

// curl in a shell bootstrap: one connection per request, answered on a
// different connection from the one that fetched the event.
func TestConnectionPerRequestRuntime(t *testing.T) {
	e := listen(t)
	died := make(chan struct{})
	for i := 0; i < 3; i++ {
		rt := dial(t, e)
		io.WriteString(rt.c, nextReq)
		id := fmt.Sprint("req-", i)
		ch := invoke(e, context.Background(), id, `{}`, died)
		resp, _ := rt.response()
		if resp.Header.Get("Lambda-Runtime-Aws-Request-Id") != id {
			t.Fatalf("event %v", resp.Header)
		}
		if i == 1 {
			rt.c.Close() // curl exits before the answer is sent
		}
		ans := dial(t, e)
		ack, _ := ans.do(post("invocation/"+id+"/response", `{"i":1}`))
		if ack.StatusCode != http.StatusAccepted {
			t.Fatalf("ack %d", ack.StatusCode)
		}
		if o := wait(t, ch); o.err != nil || string(o.res.Payload) != `{"i":1}` {
			t.Fatalf("invoke: %+v", o)
		}
		rt.c.Close()
		ans.c.Close()
	}
}

// A runtime that asks with Connection: close, posts with Expect:
// 100-continue and a chunked body, and reports a function error.
func TestCloseExpectChunkedAndErrors(t *testing.T) {
	e := listen(t)
	died := make(chan struct{})
	rt := dial(t, e)
	io.WriteString(rt.c, "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	ch := invoke(e, context.Background(), "r1", `{}`, died)
	resp, _ := rt.response()
	if !resp.Close {
		t.Fatalf("want Connection: close, got %v", resp.Header)
	}
	ans := dial(t, e)
	io.WriteString(ans.c, "POST /2018-06-01/runtime/invocation/r1/error HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n")
	cont, err := ans.br.ReadString('\n')
	if err != nil || !strings.Contains(cont, "100 Continue") {
		t.Fatalf("no 100 Continue: %q %v", cont, err)
	}
	ans.br.ReadString('\n')
	doc := `{"errorType":"MyError","errorMessage":"boom"}`
	fmt.Fprintf(ans.c, "%x\r\n%s\r\n0\r\n\r\n", len(doc), doc)
	ack, _ := ans.response()
	if ack.StatusCode != http.StatusAccepted {
		t.Fatalf("ack %d", ack.StatusCode)
	}
	o := wait(t, ch)
	if o.err != nil || !o.res.Error || o.res.ErrorType != "MyError" || string(o.res.Payload) != doc {
		t.Fatalf("invoke: %+v", o)
	}
	// An answer for an invocation that is not in progress.
	bad, body := ans.do(post("invocation/r1/response", `{}`))
	if bad.StatusCode != http.StatusBadRequest || !strings.Contains(body, "InvalidRequestID") {
		t.Fatalf("stale answer: %d %s", bad.StatusCode, body)
	}
	unknown, _ := ans.do(post("invocation/r1/other", `{}`))
	if unknown.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown path: %d", unknown.StatusCode)
	}
	// The error type header wins over the document's.
	io.WriteString(ans.c, nextReq)
	ch = invoke(e, context.Background(), "r2", `{}`, died)
	ans.response()
	ans.do(post("invocation/r2/error", doc, "Lambda-Runtime-Function-Error-Type: Runtime.Custom\r\n"))
	if o := wait(t, ch); o.res.ErrorType != "Runtime.Custom" {
		t.Fatalf("error type: %+v", o)
	}
}

// Lambda quotas: a synchronous response is at most 6 MB.
func TestOversizedResponse(t *testing.T) {
	e := listen(t)
	rt := dial(t, e)
	io.WriteString(rt.c, nextReq)
	ch := invoke(e, context.Background(), "big", `{}`, make(chan struct{}))
	rt.response()
	big := strings.Repeat("x", MaxPayload+10)
	ack, _ := rt.do(post("invocation/big/response", big))
	if ack.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("ack %d", ack.StatusCode)
	}
	if o := wait(t, ch); !o.res.Error || o.res.ErrorType != "Function.ResponseSizeTooLarge" {
		t.Fatalf("invoke: %+v", o)
	}
	// The connection is still usable.
	io.WriteString(rt.c, nextReq)
	ch = invoke(e, context.Background(), "small", `{}`, make(chan struct{}))
	rt.response()
	rt.do(post("invocation/small/response", `1`))
	if o := wait(t, ch); string(o.res.Payload) != "1" {
		t.Fatalf("invoke: %+v", o)
	}
}

// An invocation handed over before the runtime first asks waits for it.
func TestInvokeBeforeTheRuntimeAsks(t *testing.T) {
	e := listen(t)
	ch := invoke(e, context.Background(), "early", `{"a":1}`, make(chan struct{}))
	rt := dial(t, e)
	resp, body := rt.do(nextReq)
	if resp.Header.Get("Lambda-Runtime-Aws-Request-Id") != "early" || body != `{"a":1}` {
		t.Fatalf("event: %v %s", resp.Header, body)
	}
	rt.do(post("invocation/early/response", `2`))
	if o := wait(t, ch); string(o.res.Payload) != "2" {
		t.Fatalf("invoke: %+v", o)
	}
}

// A runtime that answered on one connection and asks for the next event
// on another still gets it.
func TestRuntimeMovesToAnotherConnection(t *testing.T) {
	e := listen(t)
	died := make(chan struct{})
	a := dial(t, e)
	io.WriteString(a.c, nextReq)
	ch := invoke(e, context.Background(), "one", `{}`, died)
	a.response()
	a.do(post("invocation/one/response", `1`))
	wait(t, ch)
	// a stays open and silent; b asks.
	b := dial(t, e)
	ch = invoke(e, context.Background(), "two", `{}`, died)
	resp, _ := b.do(nextReq)
	if resp.Header.Get("Lambda-Runtime-Aws-Request-Id") != "two" {
		t.Fatalf("event: %v", resp.Header)
	}
	b.do(post("invocation/two/response", `2`))
	if o := wait(t, ch); string(o.res.Payload) != "2" {
		t.Fatalf("invoke: %+v", o)
	}
}

func TestInitErrorTimeoutDeathAndBusy(t *testing.T) {
	e := listen(t)
	died := make(chan struct{})
	rt := dial(t, e)
	ack, _ := rt.do(post("init/error", `{"errorType":"X","errorMessage":"bad"}`, "Lambda-Runtime-Function-Error-Type: Runtime.ConfigError\r\n"))
	if ack.StatusCode != http.StatusAccepted {
		t.Fatalf("ack %d", ack.StatusCode)
	}
	if typ, body, ok := e.InitError(); !ok || typ != "Runtime.ConfigError" || !strings.Contains(string(body), "bad") {
		t.Fatalf("init error: %q %q %v", typ, body, ok)
	}
	ch := invoke(e, context.Background(), "x", `{}`, died)
	close(died)
	if o := wait(t, ch); !errors.Is(o.err, ErrInitFailed) {
		t.Fatalf("want init failure, got %+v", o)
	}

	e2 := listen(t)
	died2 := make(chan struct{})
	rt2 := dial(t, e2)
	io.WriteString(rt2.c, nextReq)
	ctx, cancel := context.WithCancel(context.Background())
	ch = invoke(e2, ctx, "slow", `{}`, died2)
	rt2.response()
	if o := invoke(e2, context.Background(), "second", `{}`, died2); !errors.Is(wait(t, o).err, errBusy) {
		t.Fatal("a second invocation must be refused while one runs")
	}
	cancel() // the function's timeout
	if o := wait(t, ch); !errors.Is(o.err, context.Canceled) {
		t.Fatalf("want cancellation, got %+v", o)
	}

	e3 := listen(t)
	died3 := make(chan struct{})
	rt3 := dial(t, e3)
	io.WriteString(rt3.c, nextReq)
	ch = invoke(e3, context.Background(), "dies", `{}`, died3)
	rt3.response()
	close(died3)
	if o := wait(t, ch); !errors.Is(o.err, errExited) {
		t.Fatalf("want exit, got %+v", o)
	}
}

// Header values cannot end the header: a client context with line breaks
// arrives as one value.
func TestHeaderValuesAreSanitized(t *testing.T) {
	e := listen(t)
	rt := dial(t, e)
	io.WriteString(rt.c, nextReq)
	ch := make(chan outcome, 1)
	go func() {
		r, err := e.Invoke(context.Background(), Invocation{RequestID: "h", ClientContext: "{\"a\":1}\r\nX-Injected: yes", Payload: []byte("{}")}, make(chan struct{}))
		ch <- outcome{r, err}
	}()
	resp, _ := rt.response()
	if resp.Header.Get("X-Injected") != "" || !strings.Contains(resp.Header.Get("Lambda-Runtime-Client-Context"), "X-Injected") {
		t.Fatalf("headers: %v", resp.Header)
	}
	rt.do(post("invocation/h/response", `{}`))
	wait(t, ch)
}

// FuzzRuntimeRequests sends arbitrary bytes as a runtime's requests; the
// endpoint must stay able to serve a well-behaved runtime afterwards.
func FuzzRuntimeRequests(f *testing.F) {
	f.Add([]byte(nextReq))
	f.Add([]byte(post("invocation/x/response", "{}")))
	f.Add([]byte(post("init/error", "{}")))
	f.Add([]byte("POST /2018-06-01/runtime/invocation/x/response HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"))
	f.Add([]byte("GET / HTTP/1.0\r\n\r\n"))
	f.Add([]byte("\x00\x01garbage\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Listen()
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		bad, err := net.Dial("tcp", e.Addr())
		if err != nil {
			t.Fatal(err)
		}
		bad.Write(data)
		bad.Close()
		rt := dial(t, e)
		io.WriteString(rt.c, nextReq)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ch := invoke(e, ctx, "fz", `{}`, make(chan struct{}))
		// The garbage may have parked a connection that asked: the event
		// goes to whichever asked, so answer from the one that got it.
		rt.c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		resp, err := http.ReadResponse(rt.br, nil)
		if err != nil {
			// The event went to the garbage connection, which is closed:
			// the answer can still come on any connection.
			other := dial(t, e)
			other.do(post("invocation/fz/response", `"ok"`))
		} else {
			io.ReadAll(resp.Body)
			rt.c.SetReadDeadline(time.Time{})
			rt.do(post("invocation/fz/response", `"ok"`))
		}
		if o := wait(t, ch); o.err != nil || string(o.res.Payload) != `"ok"` {
			t.Fatalf("after %q: %+v", data, o)
		}
	})
}

// A runtime that gave up its long poll and closed the connection before
// the event came does not lose the event: the reset hands it to the
// runtime's next GET /next.
func TestEventToAClosedLongPoll(t *testing.T) {
	for _, reset := range []bool{false, true} {
		t.Run(fmt.Sprint("reset=", reset), func(t *testing.T) { closedLongPoll(t, reset) })
	}
}

func closedLongPoll(t *testing.T, reset bool) {
	e := listen(t)
	gone := dial(t, e)
	io.WriteString(gone.c, nextReq)
	<-e.Ready() // parked
	if reset {
		gone.c.(*net.TCPConn).SetLinger(0)
	}
	gone.c.Close()
	// Let the close reach the endpoint's socket; were it later, the
	// event would meet a reset instead, which hands it out again too.
	time.Sleep(20 * time.Millisecond)
	ch := invoke(e, context.Background(), "again", `{}`, make(chan struct{}))
	rt := dial(t, e)
	rt.c.SetReadDeadline(time.Now().Add(20 * time.Second)) // fail, not hang
	resp, _ := rt.do(nextReq)
	if resp.Header.Get("Lambda-Runtime-Aws-Request-Id") != "again" {
		t.Fatalf("event: %v", resp.Header)
	}
	rt.do(post("invocation/again/response", `"ok"`))
	if o := wait(t, ch); o.err != nil || string(o.res.Payload) != `"ok"` {
		t.Fatalf("invoke: %+v", o)
	}
}
