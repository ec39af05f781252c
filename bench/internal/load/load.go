// Package load holds what forkline's load tools share: running a server as
// a child process and reading its CPU and memory from /proc, driving an
// operation from concurrent workers while recording latencies, and a raw
// keep-alive HTTP connection for pre-encoded requests.
package load

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Result is one measurement.
type Result struct {
	Name     string
	Ops      float64 // operations (requests) per second
	Msgs     float64 // messages per second
	P50, P99 time.Duration
	Errors   int
	// FirstErr is the first error's text, if any, so that a run's errors
	// can be told apart.
	FirstErr  string
	Completed int
	// CPUPerReq is the server's CPU time per request during the run.
	CPUPerReq time.Duration
	// ClientCPUPerReq is the load generator's own CPU time per request
	// (the clients: the SDK's or the raw one), and Busy the share of the
	// host's CPU time that was not idle, both during the run. On a host
	// whose cores the clients share with the server, a throughput ratio
	// of two runs is about (client + server CPU per request of the
	// baseline) / (the same of forkline) × (forkline's Busy / the
	// baseline's): see CostRatio.
	ClientCPUPerReq time.Duration
	Busy            float64
}

// CostRatio is the throughput ratio of r to base that their CPU per
// request and host busy shares predict; beside the measured ratio, it
// shows whether a run was bound by CPU (they agree) and which side's
// cost moved it.
func CostRatio(r, base Result) float64 {
	rc, bc := r.ClientCPUPerReq+r.CPUPerReq, base.ClientCPUPerReq+base.CPUPerReq
	if rc == 0 || base.Busy == 0 {
		return 0
	}
	return float64(bc) / float64(rc) * r.Busy / base.Busy
}

func (r Result) String() string {
	s := fmt.Sprintf("%-44s %10.0f req/s %10.0f msg/s  p50 %8s  p99 %8s  server CPU %s/req  client CPU %s/req  host busy %.0f%%  errors %d", r.Name, r.Ops, r.Msgs,
		r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.CPUPerReq.Round(time.Microsecond), r.ClientCPUPerReq.Round(time.Microsecond), 100*r.Busy, r.Errors)
	if r.FirstErr != "" {
		s += " (first: " + r.FirstErr + ")"
	}
	return s
}

// MS formats a duration in milliseconds with two decimals.
func MS(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }

// Proc is a server running as a child process.
type Proc struct {
	Cmd  *exec.Cmd
	URL  string // http://ADDR
	Addr string
	Done chan struct{}
}

var listenRe = regexp.MustCompile(`listen=(\S+)`)

// Start runs cmd and waits until it logs "listen=ADDR".
func Start(cmd *exec.Cmd) (*Proc, error) {
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proc{Cmd: cmd, Done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			if m := listenRe.FindStringSubmatch(line); m != nil && !sent {
				addr <- m[1]
				sent = true
			}
			// The server's warnings and errors go to the tool's stderr:
			// a run's errors are told from their cause.
			if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
				fmt.Fprintln(os.Stderr, "server:", line)
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() { cmd.Wait(); close(p.Done) }()
	select {
	case a := <-addr:
		p.Addr, p.URL = a, "http://"+a
		return p, nil
	case <-p.Done:
		return nil, errors.New("server exited before listening")
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		return nil, errors.New("server did not start")
	}
}

// Binary returns bin, or when it is empty builds ./cmd/forkline into dir
// and returns that.
func Binary(bin, dir string) (string, error) {
	if bin != "" {
		return bin, nil
	}
	bin = filepath.Join(dir, "forkline")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/forkline").CombinedOutput(); err != nil {
		return "", fmt.Errorf("build forkline: %v\n%s", err, out)
	}
	return bin, nil
}

// StartForkline runs `forkline serve` on a free loopback port.
func StartForkline(bin, dir string) (*Proc, error) {
	return Start(exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--data-dir", dir, "--log-level", "info"))
}

// Stop ends the process with SIGTERM (SIGKILL after 30 s).
func (p *Proc) Stop() {
	p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.Done:
	case <-time.After(30 * time.Second):
		p.Cmd.Process.Kill()
		<-p.Done
	}
}

// Kill ends the process with SIGKILL.
func (p *Proc) Kill() {
	p.Cmd.Process.Kill()
	<-p.Done
}

// CPU returns the process's user+system CPU time.
func (p *Proc) CPU() time.Duration {
	f := statFields(strconv.Itoa(p.Cmd.Process.Pid))
	if f == nil {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// ChildrenCPU returns the user+system CPU time of the process's children:
// those running now, and those it has waited for.
func (p *Proc) ChildrenCPU() time.Duration {
	var total int64
	pid := strconv.Itoa(p.Cmd.Process.Pid)
	if f := statFields(pid); f != nil {
		cut, _ := strconv.ParseInt(f[13], 10, 64)
		cst, _ := strconv.ParseInt(f[14], 10, 64)
		total += cut + cst
	}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		f := statFields(d.Name())
		if f == nil || f[1] != pid {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		total += ut + st
	}
	return time.Duration(total) * time.Second / 100 // USER_HZ
}

// statFields returns the fields of /proc/PID/stat after the command name
// (f[0] is the state, f[1] the parent's PID), or nil.
func statFields(pid string) []string {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 > len(s) {
		return nil
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 15 {
		return nil
	}
	return f
}

// WithCPU runs fn and sets the server CPU time per request of its result.
func (p *Proc) WithCPU(fn func() Result) Result {
	before, self, busy, total := p.CPU(), selfCPU(), 0.0, 0.0
	b0, t0 := hostCPU()
	r := fn()
	b1, t1 := hostCPU()
	if busy, total = b1-b0, t1-t0; total > 0 {
		r.Busy = busy / total
	}
	if r.Completed > 0 {
		r.CPUPerReq = (p.CPU() - before) / time.Duration(r.Completed)
		r.ClientCPUPerReq = (selfCPU() - self) / time.Duration(r.Completed)
	}
	return r
}

// selfCPU is the load generator's own user and system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// hostCPU returns the host's busy and total CPU time in ticks from
// /proc/stat; idle and iowait count as not busy.
func hostCPU() (busy, total float64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:] {
		n, _ := strconv.ParseFloat(v, 64)
		if i >= 8 { // guest time is already counted in user time
			break
		}
		total += n
		if i != 3 && i != 4 && i != 7 { // idle, iowait, steal
			busy += n
		}
	}
	return busy, total
}

// RSSMiB returns the process's resident memory.
func (p *Proc) RSSMiB() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Cmd.Process.Pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.Atoi(f[1])
			return float64(kb) / 1024
		}
	}
	return -1
}

// HTTPClient is a client for SDKs with enough idle connections for the
// benchmarks' concurrency.
func HTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 128
	return &http.Client{Transport: tr}
}

// Measure runs op from c workers for the duration d; op returns the number
// of messages it handled.
func Measure(name string, c int, d time.Duration, op func(ctx context.Context) (int, error)) Result {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var mu sync.Mutex
	var lats []time.Duration
	var msgs, errs int
	var firstErr string
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < c; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			m, e := 0, 0
			for ctx.Err() == nil {
				t := time.Now()
				n, err := op(context.Background())
				if err != nil {
					e++
					mu.Lock()
					if firstErr == "" {
						firstErr = err.Error()
					}
					mu.Unlock()
					continue
				}
				local = append(local, time.Since(t))
				m += n
			}
			mu.Lock()
			lats = append(lats, local...)
			msgs += m
			errs += e
			mu.Unlock()
		}()
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	r := Result{Name: name, Ops: float64(len(lats)) / el, Msgs: float64(msgs) / el, Errors: errs, FirstErr: firstErr, Completed: len(lats)}
	if len(lats) > 0 {
		r.P50 = lats[len(lats)/2]
		r.P99 = lats[len(lats)*99/100]
	}
	return r
}

// RawConn sends pre-encoded requests on one keep-alive connection.
type RawConn struct {
	C net.Conn
	r *bufio.Reader
}

// Dial connects to addr.
func Dial(addr string) (*RawConn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &RawConn{C: c, r: bufio.NewReaderSize(c, 64<<10)}, nil
}

// Do sends one request and reads the response, returning its status.
func (rc *RawConn) Do(req []byte) (int, error) {
	if _, err := rc.C.Write(req); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(rc.r, nil)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, err
}

// RawLoad runs pre-encoded requests from conc connections for d.
func RawLoad(name, addr string, conc int, d time.Duration, msgsPerReq int, req func(worker int) []byte) Result {
	conns := make(chan *RawConn, conc)
	for i := 0; i < conc; i++ {
		c, err := Dial(addr)
		if err != nil {
			return Result{Name: err.Error()}
		}
		conns <- c
	}
	defer func() {
		close(conns)
		for c := range conns {
			c.C.Close()
		}
	}()
	var n sync.Mutex
	i := 0
	return Measure(name, conc, d, func(ctx context.Context) (int, error) {
		c := <-conns
		defer func() { conns <- c }()
		n.Lock()
		i++
		w := i
		n.Unlock()
		status, err := c.Do(req(w))
		if err == nil && status != 200 {
			err = fmt.Errorf("status %d", status)
		}
		return msgsPerReq, err
	})
}
