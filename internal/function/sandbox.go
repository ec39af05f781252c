package function

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// initTimeout bounds a runtime's initialization (Lambda: 10 seconds).
const initTimeout = 10 * time.Second

// maxPayload bounds synchronous request and response payloads (6 MB).
const maxPayload = 6 * 1024 * 1024

// pool holds the sandboxes of one function configuration.
type pool struct {
	s *Service

	mu     sync.Mutex // guards the fields below
	idle   []*sandbox
	count  int // sandboxes alive, idle or busy
	closed bool
	// changed is closed (and replaced) whenever a sandbox is released or
	// ends or the pool closes: every waiter wakes and looks again.
	changed chan struct{}
}

func (s *Service) newPool() *pool { return &pool{s: s, changed: make(chan struct{})} }

// errPoolClosed tells Invoke that the function changed while it waited:
// it looks the function up again.
var errPoolClosed = errors.New("function changed")

// broadcast wakes every waiter. Requires p.mu.
func (p *pool) broadcast() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// sandbox is one runtime process with its Runtime API endpoint.
type sandbox struct {
	ep      Endpoint
	cmd     *exec.Cmd
	died    chan struct{}
	stream  string
	log     *logSink
	initDur time.Duration
	used    bool // has served an invocation (its init duration is reported once)
	// rssMB and rssAt cache the process's peak memory, read from /proc at
	// most once a second.
	rssMB int64
	rssAt time.Time
	// idleSince is when the sandbox was last released.
	idleSince time.Time
	out       *outputReader
}

// outputReader copies a sandbox's output pipe into its log sink and can
// tell when everything written so far has been copied.
type outputReader struct {
	r       *os.File
	sink    *logSink
	reading atomic.Bool   // blocked in (or entering) Read
	copies  atomic.Uint64 // completed copies
}

func (o *outputReader) run() {
	buf := make([]byte, 32<<10)
	for {
		o.reading.Store(true)
		n, err := o.r.Read(buf)
		o.reading.Store(false)
		if n > 0 {
			o.sink.Write(buf[:n])
		}
		o.copies.Add(1)
		if err != nil {
			o.r.Close()
			return
		}
	}
}

// pending returns the bytes waiting in the pipe.
func (o *outputReader) pending() int {
	n := 0
	if rc, err := o.r.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
		})
	}
	return n
}

// drain waits (briefly) until output written before now has reached the
// sink: the pipe is empty and the reader idle in Read, twice in a row with
// no copy in between. The function wrote its output before it answered,
// so the bytes are already in the pipe or past it.
func (o *outputReader) drain() {
	idle := func() bool { return o.reading.Load() && o.pending() == 0 }
	deadline := time.Now().Add(50 * time.Millisecond)
	for {
		c := o.copies.Load()
		if idle() {
			runtime.Gosched()
			if idle() && o.copies.Load() == c {
				return
			}
		}
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// idleTimeout is how long a warm sandbox waits for work before it is
// ended, as Lambda recycles idle execution environments.
const idleTimeout = 10 * time.Minute

// reap ends the sandboxes idle since before cutoff.
func (p *pool) reap(cutoff time.Time) {
	p.mu.Lock()
	var old []*sandbox
	kept := p.idle[:0]
	for _, sb := range p.idle {
		if sb.idleSince.Before(cutoff) {
			old = append(old, sb)
		} else {
			kept = append(kept, sb)
		}
	}
	p.idle = kept
	p.mu.Unlock()
	for _, sb := range old {
		sb.kill()
		p.gone()
	}
}

// reaper ends idle sandboxes every minute until ctx ends. It wakes on the
// wall clock: reaping is housekeeping that no API result depends on, and a
// timer on the injected clock would count among the ones tests wait for.
// Idleness itself is measured on the injected clock.
func (s *Service) reaper(ctx context.Context) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		cutoff := s.clock.Now().Add(-idleTimeout)
		s.mu.RLock()
		var pools []*pool
		for _, f := range s.funcs {
			pools = append(pools, f.pool)
			for _, v := range f.versions {
				pools = append(pools, v.pool)
			}
		}
		s.mu.RUnlock()
		for _, p := range pools {
			p.reap(cutoff)
		}
	}
}

// logSink collects a sandbox's output: the current invocation's copy for
// LogType Tail, and the function's log.
type logSink struct {
	mu  sync.Mutex // guards cur
	cur *bytes.Buffer
	out func(line string)
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	if l.cur != nil {
		l.cur.Write(p)
		// Tail returns the last 4 KB: keep no more than twice that.
		if l.cur.Len() > 2*tailBytes {
			keep := append([]byte(nil), l.cur.Bytes()[l.cur.Len()-tailBytes:]...)
			l.cur.Reset()
			l.cur.Write(keep)
		}
	}
	l.mu.Unlock()
	if l.out != nil {
		for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
			l.out(line)
		}
	}
	return len(p), nil
}

// tailBytes is what LogType Tail returns (Lambda: the last 4 KB).
const tailBytes = 4096

// begin starts keeping the current invocation's output (for Tail).
func (l *logSink) begin() {
	l.mu.Lock()
	l.cur = new(bytes.Buffer)
	l.mu.Unlock()
}

func (l *logSink) line(s string) { l.Write([]byte(s + "\n")) }

func (l *logSink) end() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur == nil {
		return nil
	}
	b := l.cur.Bytes()
	l.cur = nil
	return b
}

// acquire returns an idle sandbox, or starts one while the pool has room
// (limit), or waits for one to be freed.
func (p *pool) acquire(ctx context.Context, rec funcRec, limit int) (*sandbox, bool, error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, false, errPoolClosed
		}
		if n := len(p.idle); n > 0 {
			sb := p.idle[n-1]
			p.idle = p.idle[:n-1]
			p.mu.Unlock()
			select {
			case <-sb.died:
				sb.ep.Close() // died while idle
				p.gone()
				continue
			default:
			}
			return sb, false, nil
		}
		if p.count < limit {
			p.count++
			p.mu.Unlock()
			sb, err := p.s.start(rec)
			if err != nil {
				p.gone()
				return nil, true, err
			}
			return sb, true, nil
		}
		wait := p.changed
		p.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, false, errorf(ErrTooManyRequests, "Rate Exceeded.")
		}
	}
}

// release returns a healthy sandbox to the pool, or ends a broken one.
func (p *pool) release(sb *sandbox, healthy bool) {
	p.mu.Lock()
	if healthy && !p.closed {
		sb.idleSince = p.s.clock.Now()
		p.idle = append(p.idle, sb)
		p.broadcast()
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	sb.kill()
	p.gone()
}

func (p *pool) gone() {
	p.mu.Lock()
	p.count--
	p.broadcast()
	p.mu.Unlock()
}

// close ends the idle sandboxes and wakes the waiters; busy sandboxes end
// when released.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.broadcast()
	p.mu.Unlock()
	for _, sb := range idle {
		sb.kill()
		p.gone()
	}
}

func (sb *sandbox) kill() {
	if sb.cmd.Process != nil {
		syscall.Kill(-sb.cmd.Process.Pid, syscall.SIGKILL) // the process group
		sb.cmd.Process.Kill()
	}
	<-sb.died
	sb.ep.Close()
}

// functionError is an invocation failure reported as Lambda reports it:
// X-Amz-Function-Error with an error document as the payload.
type functionError struct {
	errorType string
	message   string
}

func (e *functionError) Error() string { return e.errorType + ": " + e.message }

func (e *functionError) payload() []byte {
	b, _ := json.Marshal(map[string]string{"errorType": e.errorType, "errorMessage": e.message})
	return b
}

// entrypoint returns the command that runs a function's runtime.
func (s *Service) entrypoint(root, opt, runtime string) ([]string, error) {
	if strings.HasPrefix(runtime, "provided") {
		candidates := []string{filepath.Join(root, "bootstrap")}
		if opt != "" {
			candidates = append(candidates, filepath.Join(opt, "bootstrap"))
		}
		for _, b := range candidates {
			if st, err := os.Stat(b); err == nil && !st.IsDir() {
				return []string{b}, nil
			}
		}
		return nil, &functionError{"Runtime.InvalidEntrypoint", "Couldn't find valid bootstrap(s): [" + filepath.Join(root, "bootstrap") + " /opt/bootstrap]"}
	}
	interp, err := s.interpreter(runtime)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(s.cfg.DataDir, "lambda", "runtimes")
	if strings.HasPrefix(runtime, "python") {
		return []string{interp, "-u", filepath.Join(dir, "python", "bootstrap.py")}, nil
	}
	return []string{interp, filepath.Join(dir, "nodejs", "bootstrap.js")}, nil
}

// environment builds a sandbox's whole environment: Lambda's variables and
// the function's own, nothing of forkline's.
func (s *Service) environment(rec funcRec, root, opt, api, stream, tmp string) []string {
	c := rec.Config
	env := map[string]string{
		"PATH":                            "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
		"LD_LIBRARY_PATH":                 "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
		"LANG":                            "en_US.UTF-8",
		"TZ":                              ":UTC",
		"_HANDLER":                        c.Handler,
		"AWS_REGION":                      s.cfg.Region,
		"AWS_DEFAULT_REGION":              s.cfg.Region,
		"AWS_EXECUTION_ENV":               "AWS_Lambda_" + c.Runtime,
		"AWS_LAMBDA_FUNCTION_NAME":        c.FunctionName,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": fmt.Sprint(c.MemorySize),
		"AWS_LAMBDA_FUNCTION_VERSION":     c.Version,
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME":       c.LoggingConfig.LogGroup,
		"AWS_LAMBDA_LOG_STREAM_NAME":      stream,
		"AWS_LAMBDA_RUNTIME_API":          api,
		"LAMBDA_TASK_ROOT":                root,
		"LAMBDA_RUNTIME_DIR":              root,
		"AWS_ACCESS_KEY_ID":               s.cfg.AccessKey,
		"AWS_SECRET_ACCESS_KEY":           s.cfg.SecretKey,
		"AWS_SESSION_TOKEN":               s.cfg.SessionToken,
		"AWS_ENDPOINT_URL":                s.cfg.EndpointURL(),
		// The function's own variables may set another.
		"TMPDIR": tmp,
	}
	if opt == "" {
		opt = "/opt"
	} else {
		env["PATH"] += ":" + opt + "/bin"
		env["LD_LIBRARY_PATH"] += ":" + opt + "/lib"
	}
	if strings.HasPrefix(c.Runtime, "nodejs") {
		major := strings.TrimSuffix(strings.TrimPrefix(c.Runtime, "nodejs"), ".x")
		env["NODE_PATH"] = opt + "/nodejs/node" + major + "/node_modules:" + opt + "/nodejs/node_modules:" + root + "/node_modules:" + root
	}
	if strings.HasPrefix(c.Runtime, "python") {
		ver := strings.TrimPrefix(c.Runtime, "python")
		env["PYTHONPATH"] = root + ":" + opt + "/python:" + opt + "/python/lib/python" + ver + "/site-packages"
	}
	if c.Environment != nil {
		for k, v := range c.Environment.Variables {
			env[k] = v
		}
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		if v == "" && k == "AWS_SESSION_TOKEN" {
			continue
		}
		out = append(out, k+"="+v)
	}
	return out
}

// start runs a new sandbox and waits for its runtime to be ready.
func (s *Service) start(rec funcRec) (*sandbox, error) {
	root, err := s.taskRoot(rec.CodeHex)
	if err != nil {
		return nil, err
	}
	opt, err := s.optDir(rec.LayerHexes)
	if err != nil {
		return nil, fmt.Errorf("layers: %w", err)
	}
	argv, err := s.entrypoint(root, opt, rec.Config.Runtime)
	if err != nil {
		return nil, err
	}
	ep, err := s.cfg.Listen()
	if err != nil {
		return nil, fmt.Errorf("runtime API: %w", err)
	}
	var id [16]byte
	randRead(id[:])
	now := s.clock.Now().UTC()
	stream := now.Format("2006/01/02") + "/[" + rec.Config.Version + "]" + hex.EncodeToString(id[:])
	name := rec.Config.FunctionName
	sink := &logSink{}
	debug := s.log.Enabled(context.Background(), slog.LevelDebug)
	group := rec.Config.LoggingConfig.LogGroup
	if s.cfg.Logs != nil || debug {
		sink.out = func(line string) {
			if s.cfg.Logs != nil {
				s.cfg.Logs.Append(group, stream, s.clock.Now(), line)
			}
			if debug {
				s.log.Debug("function output", "function", name, "stream", stream, "line", line)
			}
		}
	}
	// The sandbox's own temporary directory, as a Lambda execution
	// environment has its own /tmp that lives as long as it does (Lambda
	// developer guide, "Configure ephemeral storage"): TMPDIR points
	// there, so that mktemp, tempfile and os.TempDir use it, and it is
	// deleted when the sandbox ends. (A path written as /tmp is still the
	// host's: processes share one file system here.)
	tmp, err := os.MkdirTemp(s.sandboxTmpDir(), "sandbox-")
	if err != nil {
		ep.Close()
		return nil, fmt.Errorf("sandbox temporary directory: %w", err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = root
	cmd.Env = s.environment(rec, root, opt, ep.Addr(), stream, tmp)
	// Output goes through a pipe forkline reads itself, so that the end of
	// an invocation can wait until what the function printed before
	// answering has been collected (see drain).
	pr, pw, err := os.Pipe()
	if err != nil {
		ep.Close()
		os.RemoveAll(tmp)
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	// Its own process group (so a kill reaches its children), and killed
	// if forkline dies, even by kill -9.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		ep.Close()
		pr.Close()
		pw.Close()
		os.RemoveAll(tmp)
		return nil, &functionError{"Runtime.InvalidEntrypoint", fmt.Sprintf("RequestId: %s Error: fork/exec %s: %v", "", argv[0], errors.Unwrap(err))}
	}
	pw.Close() // the child has its copy
	out := &outputReader{r: pr, sink: sink}
	go out.run()
	var release func()
	if s.mem != nil {
		if release, err = s.mem.limit(cmd.Process.Pid, rec.Config.MemorySize, hex.EncodeToString(id[:])); err != nil {
			s.log.Debug("memory limit not applied", "function", name, "err", err)
		}
	}
	sb := &sandbox{ep: ep, cmd: cmd, died: make(chan struct{}), stream: stream, log: sink, out: out}
	go func() {
		cmd.Wait()
		if release != nil {
			release()
		}
		// The process group's other members may still write into it;
		// they are killed with the sandbox (kill), and what they leave
		// goes at the next start.
		os.RemoveAll(tmp)
		close(sb.died)
	}()
	timer := time.NewTimer(initTimeout)
	defer timer.Stop()
	select {
	case <-ep.Ready():
		sb.initDur = time.Since(begin)
		return sb, nil
	case <-sb.died:
		ep.Close()
		if typ, body, ok := ep.InitError(); ok {
			fe := &functionError{errorType: typ}
			var m struct {
				ErrorType    string `json:"errorType"`
				ErrorMessage string `json:"errorMessage"`
			}
			if json.Unmarshal(body, &m) == nil {
				if fe.errorType == "" {
					fe.errorType = m.ErrorType
				}
				fe.message = m.ErrorMessage
			}
			if fe.errorType == "" {
				fe.errorType = "Runtime.Unknown"
			}
			return nil, fe
		}
		return nil, &functionError{"Runtime.ExitError", fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %v", "", cmd.ProcessState)}
	case <-timer.C:
		sb.kill()
		return nil, &functionError{"Sandbox.Timedout", fmt.Sprintf("Init timed out after %.2f seconds", initTimeout.Seconds())}
	}
}

// InvokeInput are the parameters of Invoke.
type InvokeInput struct {
	FunctionName   string
	Qualifier      string
	InvocationType string // RequestResponse (default), Event or DryRun
	LogType        string // None or Tail
	ClientContext  string
	TraceID        string
	Payload        []byte
	// RequestID is the invocation's ID, the function's aws_request_id:
	// the API request's own ID, so that Invoke answers with the ID the
	// function and its log lines see, as Lambda does; a new one when
	// empty.
	RequestID string
	// built marks a payload this package wrote (an event source
	// mapping's event), which is JSON by construction and not checked
	// again.
	built bool
}

// InvokeOutput is an invocation's outcome.
type InvokeOutput struct {
	// RequestID is the invocation's ID (aws_request_id); for an
	// asynchronous invocation, the one it will run with.
	RequestID       string
	StatusCode      int
	Payload         []byte
	FunctionError   string // "Unhandled" when the function failed
	ExecutedVersion string
	LogResult       string // base64 of the last 4 KB of the log, for Tail
}

// Invoke runs a function.
func (s *Service) Invoke(ctx context.Context, in InvokeInput) (InvokeOutput, error) {
	ref := in.FunctionName
	if in.Qualifier != "" {
		ref += ":" + in.Qualifier
	}
	f, q, err := s.lookup(ref)
	if err != nil {
		return InvokeOutput{}, err
	}
	if len(in.Payload) > maxPayload {
		return InvokeOutput{}, errorf(ErrRequestEntityTooLarge, "Request must be smaller than %d bytes for the InvokeFunction operation", maxPayload)
	}
	if len(in.Payload) == 0 {
		in.Payload = []byte("{}")
	}
	if !in.built && !json.Valid(in.Payload) {
		return InvokeOutput{}, errorf(ErrInvalidRequestContent, "Could not parse request body into json: Could not parse payload into json: Unexpected character: was expecting a JSON value")
	}
	switch in.InvocationType {
	case "", "RequestResponse":
	case "DryRun":
		s.mu.RLock()
		_, _, executed, err := s.resolve(f, q, false)
		s.mu.RUnlock()
		if err != nil {
			return InvokeOutput{}, err
		}
		return InvokeOutput{StatusCode: 204, ExecutedVersion: executed}, nil
	case "Event":
		if in.LogType == "Tail" {
			return InvokeOutput{}, errorf(ErrInvalidParameterValue, "LogType must be None for asynchronous invocations")
		}
		s.mu.RLock()
		_, _, _, err := s.resolve(f, q, false)
		s.mu.RUnlock()
		if err != nil {
			return InvokeOutput{}, err
		}
		id, err := s.enqueue(ctx, in)
		if err != nil {
			return InvokeOutput{}, err
		}
		return InvokeOutput{StatusCode: 202, RequestID: id}, nil
	default:
		return InvokeOutput{}, errorf(ErrInvalidParameterValue, "1 validation error detected: Value '%s' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]", in.InvocationType)
	}
	var rec funcRec
	var p *pool
	var executed string
	var sb *sandbox
	var cold bool
	for {
		s.mu.RLock()
		rec, p, executed, err = s.resolve(f, q, true)
		reserved := f.rec.Reserved
		s.mu.RUnlock()
		if err != nil {
			return InvokeOutput{}, err
		}
		limit := s.cfg.MaxSandboxes
		if reserved != nil {
			if *reserved == 0 {
				return InvokeOutput{}, errorf(ErrTooManyRequests, "Rate Exceeded.")
			}
			limit = *reserved
		}
		sb, cold, err = p.acquire(ctx, rec, limit)
		if err != errPoolClosed {
			break
		}
		// The function changed while we waited: run the new one (or
		// report that it is gone).
		if f, q, err = s.lookup(ref); err != nil {
			return InvokeOutput{}, err
		}
	}
	reqID := in.RequestID
	if reqID == "" {
		reqID = newRevision()
	}
	out := InvokeOutput{StatusCode: 200, ExecutedVersion: executed, RequestID: reqID}
	if err != nil {
		var fe *functionError
		if errors.As(err, &fe) {
			// Init failures are reported against the request that met them.
			msg := strings.Replace(fe.message, "RequestId:  Error:", "RequestId: "+reqID+" Error:", 1)
			fe = &functionError{fe.errorType, msg}
			out.FunctionError, out.Payload = "Unhandled", fe.payload()
			return out, nil
		}
		return InvokeOutput{}, err
	}
	if in.LogType == "Tail" {
		sb.log.begin()
	}
	sb.log.line(fmt.Sprintf("START RequestId: %s Version: %s", reqID, rec.Config.Version))
	start := time.Now()
	timeout := time.Duration(rec.Config.Timeout) * time.Second
	deadline := s.clock.Now().Add(timeout)
	ictx, cancel := context.WithTimeout(ctx, timeout)
	trace := in.TraceID
	if trace == "" {
		trace = newTraceID(s.clock.Now())
	}
	// The invoked ARN carries the qualifier the caller gave, version or
	// alias ("Lambda context object": invoked_function_arn).
	invoked := s.functionArn(rec.Config.FunctionName)
	if q != "" {
		invoked += ":" + q
	}
	res, err := sb.ep.Invoke(ictx, Invocation{RequestID: reqID, Deadline: deadline, FunctionArn: invoked,
		TraceID: trace, ClientContext: in.ClientContext, Payload: in.Payload}, sb.died)
	timedOut := ictx.Err() == context.DeadlineExceeded && ctx.Err() == nil
	cancel()
	dur := time.Since(start)
	healthy := err == nil
	status := ""
	switch {
	case err == nil && res.Error:
		out.FunctionError, out.Payload = "Unhandled", res.Payload
	case err == nil:
		out.Payload = res.Payload
	case timedOut:
		sb.log.line(fmt.Sprintf("%s %s Task timed out after %.2f seconds", s.clock.Now().UTC().Format("2006-01-02T15:04:05.000Z"), reqID, timeout.Seconds()))
		status = "\tStatus: timeout"
		msg := fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", reqID, timeout.Seconds())
		out.FunctionError, out.Payload = "Unhandled", (&functionError{"Sandbox.Timedout", msg}).payload()
	case ctx.Err() != nil:
		p.release(sb, false)
		return InvokeOutput{}, ctx.Err()
	default:
		msg := fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %v", reqID, exitStatus(sb))
		sb.log.line(msg)
		status = "\tStatus: error\tError Type: Runtime.ExitError"
		out.FunctionError, out.Payload = "Unhandled", (&functionError{"Runtime.ExitError", msg}).payload()
	}
	sb.out.drain()
	sb.log.line("END RequestId: " + reqID)
	report := fmt.Sprintf("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB\t",
		reqID, float64(dur.Microseconds())/1000, (dur.Milliseconds() + 1), rec.Config.MemorySize, maxRSSMB(sb))
	if cold && !sb.used {
		report += fmt.Sprintf("Init Duration: %.2f ms\t", float64(sb.initDur.Microseconds())/1000)
	}
	report += strings.TrimPrefix(status, "\t")
	sb.used = true
	sb.log.line(report)
	logs := sb.log.end()
	if in.LogType == "Tail" {
		if len(logs) > tailBytes {
			logs = logs[len(logs)-tailBytes:]
		}
		out.LogResult = base64.StdEncoding.EncodeToString(logs)
	}
	p.release(sb, healthy)
	return out, nil
}

// ErrInvalidRequestContent is Lambda's code for a payload that is not JSON;
// ErrRequestEntityTooLarge the code real Lambda gives an oversized Invoke
// payload (its model calls it RequestTooLargeException).
var (
	ErrInvalidRequestContent = errors.New("InvalidRequestContentException")
	ErrRequestEntityTooLarge = errors.New("RequestEntityTooLargeException")
)

func exitStatus(sb *sandbox) string {
	select {
	case <-sb.died:
		if sb.cmd.ProcessState != nil {
			return sb.cmd.ProcessState.String()
		}
	default:
	}
	return "runtime failed"
}

func maxRSSMB(sb *sandbox) int64 {
	if time.Since(sb.rssAt) < time.Second {
		return sb.rssMB
	}
	sb.rssAt = time.Now()
	sb.rssMB = readHWM(sb.cmd.Process.Pid)
	return sb.rssMB
}

func readHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:")), "%d", &kb)
			return kb / 1024
		}
	}
	return 0
}

// newTraceID returns an X-Ray trace header for an invocation.
func newTraceID(now time.Time) string {
	var b [12]byte
	randRead(b[:])
	var p [8]byte
	randRead(p[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", now.Unix(), hex.EncodeToString(b[:]), hex.EncodeToString(p[:]))
}
