// Command lambdaload measures forkline's Lambda: cold start (new sandbox
// to first response) of a Go function built with aws-lambda-go, beside the
// same binary started directly against a minimal Runtime API; and warm
// invocations at concurrency 1 and 16 through aws-sdk-go-v2 and a raw
// keep-alive client, beside HTTP round trips to a null server in the same
// run. See docs/benchmarks.md.
//
//	go run ./bench/lambdaload [-duration 10s] [-cold 30] [-rounds 3]
package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/forkline/forkline/bench/internal/load"
	"github.com/forkline/forkline/internal/function"
	"github.com/forkline/forkline/internal/runtimeapi"
)

var (
	duration = flag.Duration("duration", 10*time.Second, "length of each warm measurement")
	colds    = flag.Int("cold", 30, "cold starts to measure")
	rounds   = flag.Int("rounds", 3, "paired rounds measuring the latency forkline adds at c=1")
	nullMode = flag.String("null-listen", "", "internal: run as the null server on this address")
)

func main() {
	flag.Parse()
	if *nullMode != "" {
		runNull(*nullMode)
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "lambdaload:", err)
		os.Exit(1)
	}
}

func run() error {
	tmp, err := os.MkdirTemp("", "lambdaload")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "forkline")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/forkline").CombinedOutput(); err != nil {
		return fmt.Errorf("build forkline: %v\n%s", err, out)
	}
	probe := filepath.Join(tmp, "bootstrap")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", probe, "./e2e/functions/probe")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build probe: %v\n%s", err, out)
	}
	code, err := zipBootstrap(probe)
	if err != nil {
		return err
	}
	fk, err := load.StartForkline(bin, filepath.Join(tmp, "data"))
	if err != nil {
		return err
	}
	defer fk.Stop()
	self, _ := os.Executable()
	nl, err := load.Start(exec.Command(self, "-null-listen", "127.0.0.1:0"))
	if err != nil {
		return err
	}
	defer nl.Stop()

	c := lambda.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDBENCH", "secret", ""),
		BaseEndpoint: aws.String(fk.URL), HTTPClient: load.HTTPClient(), RetryMaxAttempts: 1})
	ctx := context.Background()
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("probe"), Runtime: lambdatypes.RuntimeProvidedal2023,
		Role: aws.String("arn:aws:iam::000000000000:role/bench"), Handler: aws.String("bootstrap"),
		Code: &lambdatypes.FunctionCode{ZipFile: code}, Timeout: aws.Int32(10)}); err != nil {
		return err
	}
	echo := []byte(`{"action":"echo","message":"hi"}`)
	fmt.Printf("# lambdaload: %d cold starts, %s per warm measurement\n\n", *colds, *duration)

	// Cold starts: a configuration change retires the sandboxes, so the
	// next invocation starts a new one.
	var cold []time.Duration
	for i := 0; i < *colds; i++ {
		if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("probe"),
			Description: aws.String(fmt.Sprint("cold ", i))}); err != nil {
			return err
		}
		t := time.Now()
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("probe"), Payload: echo})
		if err != nil || out.FunctionError != nil {
			return fmt.Errorf("cold invoke: %v %v", err, out)
		}
		cold = append(cold, time.Since(t))
	}
	direct, err := directStarts(probe, *colds)
	if err != nil {
		return err
	}
	// A warm invocation, then the warm measurements.
	c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("probe"), Payload: echo})
	// What forkline adds at c=1: in each round, the function alone (the
	// same binary, warm, driven by a minimal Runtime API in this process,
	// no forkline), a raw Invoke through forkline and a null round trip,
	// back to back, so that the machine's drifting speed affects all
	// three alike.
	var added []string
	var ratios []float64
	for r := 1; r <= *rounds; r++ {
		alone, err := functionAlone(fmt.Sprintf("round %d function alone c=1", r), probe, echo, *duration/2)
		if err != nil {
			return err
		}
		raw := load.RawLoad(fmt.Sprintf("round %d raw Invoke c=1", r), fk.Addr, 1, *duration/2, 1, func(int) []byte { return rawInvoke(fk.Addr, echo) })
		null := load.RawLoad(fmt.Sprintf("round %d raw null round trip c=1", r), nl.Addr, 1, *duration/2, 1, func(int) []byte { return rawInvoke(nl.Addr, echo) })
		fmt.Println(alone)
		fmt.Println(raw)
		fmt.Println(null)
		ratio := float64(raw.P50-alone.P50) / float64(null.P50)
		ratios = append(ratios, ratio)
		added = append(added, fmt.Sprintf("| %d | %s | %s | %s | %s | %.2f× | %.2f× |", r, us(raw.P50), us(alone.P50), us(raw.P50-alone.P50),
			us(null.P50), ratio, float64(raw.P50)/float64(null.P50)))
	}
	var rows []string
	for _, conc := range []int{1, 16} {
		conc := conc
		sdk := fk.WithCPU(func() load.Result {
			return load.Measure(fmt.Sprintf("SDK Invoke c=%d", conc), conc, *duration, func(ctx context.Context) (int, error) {
				out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("probe"), Payload: echo})
				if err == nil && out.FunctionError != nil {
					err = fmt.Errorf("function error %s", out.Payload)
				}
				return 1, err
			})
		})
		req := rawInvoke(fk.Addr, echo)
		raw := fk.WithCPU(func() load.Result {
			return load.RawLoad(fmt.Sprintf("raw Invoke c=%d", conc), fk.Addr, conc, *duration, 1, func(int) []byte { return req })
		})
		nreq := rawInvoke(nl.Addr, echo)
		null := nl.WithCPU(func() load.Result {
			return load.RawLoad(fmt.Sprintf("raw null round trip c=%d", conc), nl.Addr, conc, *duration, 1, func(int) []byte { return nreq })
		})
		fmt.Println(sdk)
		fmt.Println(raw)
		fmt.Println(null)
		rows = append(rows,
			fmt.Sprintf("| SDK Invoke (warm), c=%d | %.0f | %s / %s | %d µs | | |", conc, sdk.Ops, load.MS(sdk.P50), load.MS(sdk.P99), sdk.CPUPerReq.Microseconds()),
			fmt.Sprintf("| raw Invoke (warm), c=%d | %.0f | %s / %s | %d µs | null round trip: %.0f req/s, p50 %s | **%.1f×** p50 |", conc, raw.Ops,
				load.MS(raw.P50), load.MS(raw.P99), raw.CPUPerReq.Microseconds(), null.Ops, load.MS(null.P50), float64(raw.P50)/float64(null.P50)))
	}
	fmt.Println("\n| measurement | value | baseline | ratio | target |")
	fmt.Println("| --- | --- | --- | --- | --- |")
	cp50, cp99 := pct(cold, 50), pct(cold, 99)
	dp50, dp99 := pct(direct, 50), pct(direct, 99)
	fmt.Printf("| Go cold start (UpdateFunctionConfiguration, then Invoke through the SDK), p50 / p99 | %s / %s | same binary started directly against a minimal Runtime API: %s / %s | %.1f× | p50 ≤ 50 ms |\n",
		load.MS(cp50), load.MS(cp99), load.MS(dp50), load.MS(dp99), float64(cp50)/float64(dp50))
	fmt.Println("\n| workload | req/s | p50 / p99 | server CPU/req | baseline | overhead |")
	fmt.Println("| --- | --- | --- | --- | --- | --- |")
	for _, r := range rows {
		fmt.Println(r)
	}
	fmt.Println("\n| round (c=1, p50) | raw Invoke through forkline | the function alone | latency forkline adds | null round trip | added / null | whole invocation / null |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- |")
	for _, r := range added {
		fmt.Println(r)
	}
	sort.Float64s(ratios)
	fmt.Printf("\nmedian added latency / null round trip: **%.2f×** (target ≤ 2×)\n", ratios[len(ratios)/2])
	return nil
}

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }

// functionAlone starts the function binary against a minimal Runtime API
// served inline by the measuring goroutine, and measures warm invocations
// one at a time: GET /next answered with the event, the POST of the
// answer read and acknowledged.
func functionAlone(name, bin string, payload []byte, d time.Duration) (load.Result, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return load.Result{}, err
	}
	defer ln.Close()
	cmd := exec.Command(bin)
	cmd.Env = []string{"AWS_LAMBDA_RUNTIME_API=" + ln.Addr().String(), "PATH=/usr/bin:/bin"}
	if err := cmd.Start(); err != nil {
		return load.Result{}, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	nc, err := ln.Accept()
	if err != nil {
		return load.Result{}, err
	}
	defer nc.Close()
	nc.(*net.TCPConn).SetNoDelay(true)
	br := bufio.NewReader(nc)
	read := func() (*http.Request, error) {
		req, err := http.ReadRequest(br)
		if err == nil {
			_, err = io.Copy(io.Discard, req.Body)
		}
		return req, err
	}
	n := 0
	deadline := time.Now().Add(time.Hour).UnixMilli()
	return load.Measure(name, 1, d, func(context.Context) (int, error) {
		// The runtime's GET /next, sent after the previous answer was
		// acknowledged (forkline, too, reads it when the next invocation
		// comes).
		if _, err := read(); err != nil {
			return 0, err
		}
		n++
		id := fmt.Sprintf("alone-%d", n)
		if _, err := fmt.Fprintf(nc, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: %s\r\n"+
			"Lambda-Runtime-Deadline-Ms: %d\r\nLambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:000000000000:function:probe\r\n"+
			"Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\nContent-Length: %d\r\n\r\n%s", id, deadline, len(payload), payload); err != nil {
			return 0, err
		}
		if _, err := read(); err != nil { // POST .../response
			return 0, err
		}
		if _, err := io.WriteString(nc, "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"status\":\"OK\"}"); err != nil {
			return 0, err
		}
		return 1, nil
	}), nil
}

func pct(ds []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)*p/100]
}

// directStarts runs the function binary n times against an in-process
// Runtime API and times process start to first response: the part of a
// cold start that is not forkline's.
func directStarts(bin string, n int) ([]time.Duration, error) {
	var out []time.Duration
	for i := 0; i < n; i++ {
		ep, err := runtimeapi.Listen()
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(bin)
		cmd.Env = []string{"AWS_LAMBDA_RUNTIME_API=" + ep.Addr(), "PATH=/usr/bin:/bin"}
		died := make(chan struct{})
		t := time.Now()
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		go func() { cmd.Wait(); close(died) }()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err = ep.Invoke(ctx, function.Invocation{RequestID: fmt.Sprint("r", i), Deadline: time.Now().Add(10 * time.Second),
			FunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:direct", Payload: []byte(`{"action":"echo"}`)}, died)
		cancel()
		out = append(out, time.Since(t))
		cmd.Process.Kill()
		<-died
		ep.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func rawInvoke(addr string, payload []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST /2015-03-31/functions/probe/invocations HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", addr, len(payload))
	b.Write(payload)
	return b.Bytes()
}

func zipBootstrap(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return nil, err
	}
	w.Write(data)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// runNull answers every request with the probe's echo answer.
func runNull(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	resp, _ := json.Marshal(map[string]string{"message": "hi", "requestId": "00000000-0000-0000-0000-000000000000"})
	fmt.Fprintf(os.Stderr, "null server listen=%s\n", ln.Addr())
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf [4096]byte
		for {
			if _, err := r.Body.Read(buf[:]); err != nil {
				break
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amz-Executed-Version", "$LATEST")
		w.Write(resp)
	}))
}
