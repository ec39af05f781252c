// Command sqsload measures forkline's SQS throughput and latency against a
// null server (a process that answers every request with a fixed valid
// response) in the same run, and reports each figure as a ratio to its
// baseline. See docs/benchmarks.md for the figures and how to rerun them.
//
//	go run ./bench/sqsload [-duration 10s] [-rounds 3] [-queued 1000000] [-ceiling]
//
// With -ceiling, each workload also runs against a durable null server:
// the null server, but each answer waits until the request is written and
// synced to disk, groups of concurrent requests sharing a sync. Its ratio
// to the null server is the most any durable server can reach here.
//
// Both servers run as separate processes on loopback so that the load
// generator's own work is the same for both, and forkline's memory can be
// read from /proc.
package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	_ "net/http/pprof" // served only when NULL_PPROF_LISTEN is set
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/forkline/forkline/bench/internal/load"
)

var (
	duration = flag.Duration("duration", 10*time.Second, "length of each measurement")
	queued   = flag.Int("queued", 1_000_000, "messages queued for the large-queue figures (0 skips them)")
	rounds   = flag.Int("rounds", 3, "rounds of the forkline / null server pairs; rows report the median round")
	nullMode = flag.String("null-listen", "", "internal: run as the null server on this address")
	binFlag  = flag.String("forkline", "", "forkline binary (default: build ./cmd/forkline)")
	only     = flag.String("only", "", "comma-separated workloads to run (send, batch, recv, raw; recv reads what send and batch queued, so run it with one of them); empty runs all")
	ceiling  = flag.Bool("ceiling", false, "also measure each workload against a durable null server (the null server, but every answer waits for a group-committed fdatasync of the request), the ceiling of any durable server on this host")
	nullSync = flag.String("null-sync", "", "internal: with -null-listen, sync each request into a log in this directory before answering")
	window   = flag.Duration("window", 250*time.Microsecond, "with -ceiling, the durable null server's least time between syncs (forkline's --group-commit-window default)")
	dsync    = flag.Bool("dsync", false, "with -ceiling, the durable null server writes its log through O_DSYNC instead of write + fdatasync")
)

var body1K = strings.Repeat("x", 1024)

func main() {
	flag.Parse()
	if *nullMode != "" {
		runNull(*nullMode, *nullSync, *window, *dsync)
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sqsload:", err)
		os.Exit(1)
	}
}

func run() error {
	tmp, err := os.MkdirTemp("", "sqsload")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin, err := load.Binary(*binFlag, tmp)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}

	fmt.Printf("# sqsload: %d rounds of %s per measurement, GOMAXPROCS of each process = %d cores\n\n", *rounds, *duration, numCPU())
	var report, costs []string
	// row reports a workload's median round: each round measures forkline
	// and then the null server, back to back, so that the machine's
	// drifting speed affects both alike.
	row := func(name string, fls, nus []load.Result, target string) {
		ratios := make([]float64, len(fls))
		order := make([]int, len(fls))
		var each []string
		for i := range fls {
			ratios[i], order[i] = fls[i].Ops/nus[i].Ops, i
			each = append(each, fmt.Sprintf("%.2f", ratios[i]))
		}
		sort.Slice(order, func(a, b int) bool { return ratios[order[a]] < ratios[order[b]] })
		m := order[len(order)/2]
		fl, nu := fls[m], nus[m]
		report = append(report, fmt.Sprintf("| %s | %.0f | %s / %s | %d µs | %.0f | %s / %s | %d µs | **%.2f** | %s | %s |", name,
			fl.Ops, load.MS(fl.P50), load.MS(fl.P99), fl.CPUPerReq.Microseconds(), nu.Ops, load.MS(nu.P50), load.MS(nu.P99), nu.CPUPerReq.Microseconds(), ratios[m], strings.Join(each, ", "), target))
		costs = append(costs, fmt.Sprintf("| %s | %d + %d µs | %.0f %% | %d + %d µs | %.0f %% | %.2f | %.2f |", name,
			fl.ClientCPUPerReq.Microseconds(), fl.CPUPerReq.Microseconds(), 100*fl.Busy,
			nu.ClientCPUPerReq.Microseconds(), nu.CPUPerReq.Microseconds(), 100*nu.Busy, load.CostRatio(fl, nu), ratios[m]))
	}

	// (a) and (b): forkline (durable, on disk) and the null server.
	fk, err := load.StartForkline(bin, filepath.Join(tmp, "data"))
	if err != nil {
		return err
	}
	nl, err := load.Start(exec.Command(self, "-null-listen", "127.0.0.1:0"))
	if err != nil {
		fk.Stop()
		return err
	}
	defer nl.Stop()

	fkURL := fk.URL + "/000000000000/bench"
	if err := createQueue(fk.URL, "bench"); err != nil {
		return err
	}
	fc, nc := sdkClient(fk.URL), sdkClient(nl.URL)
	nullQueue := nl.URL + "/000000000000/bench"

	var dn *load.Proc
	var dc *sqs.Client
	var dnQueue string
	if *ceiling {
		dir := filepath.Join(tmp, "durable-null")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if dn, err = load.Start(exec.Command(self, "-null-listen", "127.0.0.1:0", "-null-sync", dir, "-window", window.String(), fmt.Sprintf("-dsync=%t", *dsync))); err != nil {
			return err
		}
		defer dn.Stop()
		dc, dnQueue = sdkClient(dn.URL), dn.URL+"/000000000000/bench"
	}

	type workload struct {
		key, name, target string
		run               func(c *sqs.Client, addr, url string) load.Result
	}
	workloads := []workload{
		{"send", "SDK SendMessage, c=16", "≥ 0.9", func(c *sqs.Client, _, url string) load.Result { return sdkSend(c, url, 16) }},
		{"batch", "SDK SendMessageBatch (10 × 1 KiB), c=16", "≥ 0.9", func(c *sqs.Client, _, url string) load.Result { return sdkBatch(c, url, 16) }},
		// The sends before it keep the queue well ahead of the receives.
		{"recv", "SDK ReceiveMessage(10) + DeleteMessageBatch, c=16", "≥ 0.8", func(c *sqs.Client, _, url string) load.Result { return sdkRecvDelete(c, url, 16) }},
		{"raw", "raw HTTP SendMessage, c=64, keep-alive", "≥ 0.6", func(_ *sqs.Client, addr, url string) load.Result { return rawSend(addr, url, 64, *duration) }},
	}
	if *only != "" {
		var kept []workload
		for _, w := range workloads {
			if slices.Contains(strings.Split(*only, ","), w.key) {
				kept = append(kept, w)
			}
		}
		workloads = kept
	}
	fls := make([][]load.Result, len(workloads))
	nus := make([][]load.Result, len(workloads))
	dns := make([][]load.Result, len(workloads))
	for r := 1; r <= *rounds; r++ {
		for i, w := range workloads {
			fl := fk.WithCPU(func() load.Result { return w.run(fc, fk.Addr, fkURL) })
			nu := nl.WithCPU(func() load.Result { return w.run(nc, nl.Addr, nullQueue) })
			fmt.Printf("round %d: %s\n%s\n  ratio %.2f (target %s)\n", r, fl, nu, fl.Ops/nu.Ops, w.target)
			fls[i], nus[i] = append(fls[i], fl), append(nus[i], nu)
			if dn != nil {
				d := dn.WithCPU(func() load.Result { return w.run(dc, dn.Addr, dnQueue) })
				fmt.Printf("%s (durable null)\n  durable null / null %.2f, forkline / durable null %.2f\n", d, d.Ops/nu.Ops, fl.Ops/d.Ops)
				dns[i] = append(dns[i], d)
			}
			fmt.Println()
		}
	}
	var ceilings []string
	for i, w := range workloads {
		row(w.name, fls[i], nus[i], w.target)
		if dn != nil {
			ceilings = append(ceilings, ceilingRow(w.name, fls[i], nus[i], dns[i], w.target))
		}
	}
	fk.Stop()

	var extra []string
	if *queued > 0 {
		// Large queue: preload, then send rate, RSS and restart time.
		dir := filepath.Join(tmp, "large")
		fk, err := load.StartForkline(bin, dir)
		if err != nil {
			return err
		}
		if err := createQueue(fk.URL, "large"); err != nil {
			return err
		}
		if err := createQueue(fk.URL, "probe"); err != nil {
			return err
		}
		probe := fk.WithCPU(func() load.Result { return rawSend(fk.Addr, fk.URL+"/000000000000/probe", 64, *duration) })
		start := time.Now()
		if err := preload(fk.Addr, fk.URL+"/000000000000/large", *queued); err != nil {
			return err
		}
		loadTime := time.Since(start)
		fmt.Printf("preloaded %d × 1 KiB messages in %s (%.0f msg/s)\n", *queued, loadTime.Round(time.Millisecond), float64(*queued)/loadTime.Seconds())
		full := fk.WithCPU(func() load.Result { return rawSend(fk.Addr, fk.URL+"/000000000000/large", 64, *duration) })
		fmt.Printf("%s\n%s\n  ratio %.2f (target ≥ 0.9)\n", full, probe, full.Ops/probe.Ops)
		report = append(report, fmt.Sprintf("| raw SendMessage with %d queued, c=64 (baseline: empty queue, same process) | %.0f | %s / %s | %d µs | %.0f | %s / %s | %d µs | **%.2f** | (one round) | ≥ 0.9 |",
			*queued, full.Ops, load.MS(full.P50), load.MS(full.P99), full.CPUPerReq.Microseconds(), probe.Ops, load.MS(probe.P50), load.MS(probe.P99), probe.CPUPerReq.Microseconds(), full.Ops/probe.Ops))
		rss := fk.RSSMiB()
		depth, _ := queueDepth(fk.URL, "large")
		fmt.Printf("RSS with %s queued: %.1f MiB\n", depth, rss)
		extra = append(extra, fmt.Sprintf("| RSS of forkline with %s × 1 KiB messages queued | %.1f MiB | ≤ 256 MiB |", depth, rss))
		fk.Kill()
		t0 := time.Now()
		fk2, err := load.StartForkline(bin, dir)
		if err != nil {
			return err
		}
		if err := firstReceive(fk2.URL, "large"); err != nil {
			fk2.Stop()
			return err
		}
		restart := time.Since(t0)
		fmt.Printf("kill -9, restart to first receive with %s queued: %s\n", depth, restart.Round(time.Millisecond))
		extra = append(extra, fmt.Sprintf("| kill -9, then process start to first message received, %s queued | %s | ≤ 2 s |", depth, restart.Round(time.Millisecond)))
		fk2.Stop()
	}

	fmt.Println("\n| workload (median round) | forkline req/s | forkline p50 / p99 | forkline CPU/req | baseline req/s | baseline p50 / p99 | baseline CPU/req | ratio | rounds | target |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, r := range report {
		fmt.Println(r)
	}
	// Where each median round's CPU went: the clients share the host's
	// cores with the server, so a ratio is bounded by both sides' costs.
	fmt.Println("\n| workload (median round) | forkline: client + server CPU per request | host busy | null server: client + server CPU per request | host busy | ratio these predict | measured ratio |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- |")
	for _, c := range costs {
		fmt.Println(c)
	}
	if len(ceilings) > 0 {
		// What a durable server could reach at best: the null server's
		// work plus one shared sync per group of requests.
		fmt.Println("\n| workload (median of each column's rounds) | durable null / null: the ceiling | forkline / null | target | forkline / durable null | durable null: client + server CPU per request | host busy |")
		fmt.Println("| --- | --- | --- | --- | --- | --- | --- |")
		for _, c := range ceilings {
			fmt.Println(c)
		}
	}
	if len(extra) > 0 {
		fmt.Println("\n| figure | measured | target |")
		fmt.Println("| --- | --- | --- |")
		for _, r := range extra {
			fmt.Println(r)
		}
	}
	return nil
}

func numCPU() int { return runtimeNumCPU() }

// ceilingRow reports, for one workload, the durable null server's ratio to
// the null server (the best any durable server can do here) beside
// forkline's, each the median of its rounds' ratios.
func ceilingRow(name string, fls, nus, dns []load.Result, target string) string {
	median := func(f func(i int) float64) (float64, int) {
		order := make([]int, len(fls))
		for i := range order {
			order[i] = i
		}
		sort.Slice(order, func(a, b int) bool { return f(order[a]) < f(order[b]) })
		m := order[len(order)/2]
		return f(m), m
	}
	ceil, m := median(func(i int) float64 { return dns[i].Ops / nus[i].Ops })
	ours, _ := median(func(i int) float64 { return fls[i].Ops / nus[i].Ops })
	vsCeil, _ := median(func(i int) float64 { return fls[i].Ops / dns[i].Ops })
	d := dns[m]
	return fmt.Sprintf("| %s | **%.2f** | %.2f | %s | %.2f | %d + %d µs | %.0f %% |", name, ceil, ours, target, vsCeil,
		d.ClientCPUPerReq.Microseconds(), d.CPUPerReq.Microseconds(), 100*d.Busy)
}

// ---------------------------------------------------------------- processes

// ---------------------------------------------------------------- SDK load

func sdkClient(url string) *sqs.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 128
	return sqs.NewFromConfig(aws.Config{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDBENCH", "secret", ""),
		BaseEndpoint: aws.String(url), HTTPClient: &http.Client{Transport: tr}, RetryMaxAttempts: 1,
	})
}

func sdkSend(c *sqs.Client, url string, conc int) load.Result {
	return load.Measure("SendMessage "+host(url), conc, *duration, func(ctx context.Context) (int, error) {
		_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body1K)})
		return 1, err
	})
}

func batchEntries() []types.SendMessageBatchRequestEntry {
	var e []types.SendMessageBatchRequestEntry
	for i := 0; i < 10; i++ {
		e = append(e, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(body1K)})
	}
	return e
}

func sdkBatch(c *sqs.Client, url string, conc int) load.Result {
	entries := batchEntries()
	return load.Measure("SendMessageBatch "+host(url), conc, *duration, func(ctx context.Context) (int, error) {
		out, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
		if err == nil && len(out.Failed) > 0 {
			err = errors.New(*out.Failed[0].Message)
		}
		return 10, err
	})
}

func sdkRecvDelete(c *sqs.Client, url string, conc int) load.Result {
	return load.Measure("Receive+DeleteBatch "+host(url), conc, *duration, func(ctx context.Context) (int, error) {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 60})
		if err != nil || len(out.Messages) == 0 {
			if err == nil {
				err = errors.New("queue ran dry")
			}
			return 0, err
		}
		var e []types.DeleteMessageBatchRequestEntry
		for i, m := range out.Messages {
			e = append(e, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
		_, err = c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: e})
		return len(out.Messages), err
	})
}

func host(url string) string { return url }

// ---------------------------------------------------------------- raw HTTP

func encode(addr, target string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: AmazonSQS.%s\r\nContent-Length: %d\r\n\r\n", addr, target, len(body))
	b.Write(body)
	return b.Bytes()
}

func sendReq(addr, queueURL string) []byte {
	body, _ := json.Marshal(map[string]string{"QueueUrl": queueURL, "MessageBody": body1K})
	return encode(addr, "SendMessage", body)
}

func rawSend(addr, queueURL string, conc int, d time.Duration) load.Result {
	if d == 0 {
		return load.Result{}
	}
	req := sendReq(addr, queueURL)
	conns := make(chan *load.RawConn, conc)
	for i := 0; i < conc; i++ {
		c, err := load.Dial(addr)
		if err != nil {
			return load.Result{Name: err.Error()}
		}
		conns <- c
	}
	defer func() {
		close(conns)
		for c := range conns {
			c.C.Close()
		}
	}()
	return load.Measure("raw SendMessage "+addr, conc, d, func(ctx context.Context) (int, error) {
		c := <-conns
		defer func() { conns <- c }()
		status, err := c.Do(req)
		if err == nil && status != 200 {
			err = fmt.Errorf("status %d", status)
		}
		return 1, err
	})
}

func preload(addr, queueURL string, n int) error {
	var entries []map[string]string
	for i := 0; i < 10; i++ {
		entries = append(entries, map[string]string{"Id": strconv.Itoa(i), "MessageBody": body1K})
	}
	body, _ := json.Marshal(map[string]any{"QueueUrl": queueURL, "Entries": entries})
	req := encode(addr, "SendMessageBatch", body)
	const conc = 32
	var wg sync.WaitGroup
	errc := make(chan error, conc)
	per := n / 10 / conc
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c, err := load.Dial(addr)
			if err != nil {
				errc <- err
				return
			}
			defer c.C.Close()
			count := per
			if w == 0 {
				count += n/10 - per*conc
			}
			for i := 0; i < count; i++ {
				status, err := c.Do(req)
				if err == nil && status != 200 {
					err = fmt.Errorf("preload status %d", status)
				}
				if err != nil {
					errc <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errc)
	return <-errc
}

func createQueue(url, name string) error {
	_, err := sdkClient(url).CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name)})
	return err
}

func queueDepth(url, name string) (string, error) {
	out, err := sdkClient(url).GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url + "/000000000000/" + name), AttributeNames: []types.QueueAttributeName{"ApproximateNumberOfMessages"}})
	if err != nil {
		return "", err
	}
	return out.Attributes["ApproximateNumberOfMessages"], nil
}

func firstReceive(url, name string) error {
	out, err := sdkClient(url).ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url + "/000000000000/" + name)})
	if err != nil {
		return err
	}
	if len(out.Messages) == 0 {
		return errors.New("no message after restart")
	}
	return nil
}

// ---------------------------------------------------------------- null server

// runNull answers every SQS JSON request with a fixed valid response: the
// MD5s match the bench's fixed body, batch results name the bench's Ids.
// With syncDir, it first appends the request's body to a log there and
// syncs it (groupLog).
func runNull(addr, syncDir string, window time.Duration, dsync bool) {
	var log *groupLog
	if syncDir != "" {
		var err error
		if log, err = openGroupLog(syncDir, window, 256<<20, dsync); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	sum := md5.Sum([]byte(body1K))
	md := hex.EncodeToString(sum[:])
	send := []byte(`{"MD5OfMessageBody":"` + md + `","MessageId":"5fea7756-0ea4-451a-a703-a558b933e274"}`)
	var ok, msgs []string
	for i := 0; i < 10; i++ {
		ok = append(ok, fmt.Sprintf(`{"Id":"%d","MessageId":"5fea7756-0ea4-451a-a703-a558b933e27%d","MD5OfMessageBody":"%s"}`, i, i, md))
		msgs = append(msgs, fmt.Sprintf(`{"MessageId":"5fea7756-0ea4-451a-a703-a558b933e27%d","ReceiptHandle":"AQEBnullhandle%d","MD5OfBody":"%s","Body":"%s"}`, i, i, md, body1K))
	}
	batch := []byte(`{"Successful":[` + strings.Join(ok, ",") + `],"Failed":[]}`)
	recv := []byte(`{"Messages":[` + strings.Join(msgs, ",") + `]}`)
	var ids []string
	for i := 0; i < 10; i++ {
		ids = append(ids, fmt.Sprintf(`{"Id":"%d"}`, i))
	}
	del := []byte(`{"Successful":[` + strings.Join(ids, ",") + `],"Failed":[]}`)
	fixed := map[string][]byte{
		"AmazonSQS.SendMessage": send, "AmazonSQS.SendMessageBatch": batch,
		"AmazonSQS.ReceiveMessage": recv, "AmazonSQS.DeleteMessageBatch": del,
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "null server listen=%s\n", l.Addr())
	if a := os.Getenv("NULL_PPROF_LISTEN"); a != "" {
		// Profiles of the baseline, for comparing where each spends.
		go http.ListenAndServe(a, nil)
	}
	http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if log != nil {
			req, err := io.ReadAll(r.Body)
			if err == nil {
				err = log.append(req)
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		} else {
			io.Copy(io.Discard, r.Body)
		}
		b, ok := fixed[r.Header.Get("X-Amz-Target")]
		if !ok {
			b = []byte("{}")
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("x-amzn-RequestId", "00000000-0000-4000-8000-000000000000")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b)
	}))
}
