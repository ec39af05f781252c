package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/forkline/forkline/internal/config"
)

// BenchmarkSendMessage runs durable SendMessage requests, as an SDK signs
// and frames them, through the server's handler without the network:
// sixteen at a time, as bench/sqsload's SDK workload sends them. It
// reports the process's CPU per request, fsyncs included; the gap to
// bench/sqsload's figure is net/http's own work and the client's.
func BenchmarkSendMessage(b *testing.B) {
	s := newBenchServer(b)
	post := func(target, body string) *benchWriter {
		return benchPost(s, "sqs", target, "application/x-amz-json-1.0", body)
	}
	if w := post("AmazonSQS.CreateQueue", `{"QueueName":"bench"}`); w.status != 0 && w.status != 200 {
		b.Fatalf("CreateQueue: %d %s", w.status, w.body.String())
	}
	send := `{"QueueUrl":"http://127.0.0.1:4566/000000000000/bench","MessageBody":"` + strings.Repeat("x", 1024) + `"}`
	runSixteen(b, func() bool {
		if w := post("AmazonSQS.SendMessage", send); w.status != 0 && w.status != 200 {
			b.Errorf("SendMessage: %d %s", w.status, w.body.String())
			return false
		}
		return true
	})
}

// BenchmarkPublish runs SNS Publish requests, as the SDK frames them (query
// protocol, two message attributes, a 1 KiB message), to a topic with ten
// SQS subscriptions, through the handler without the network: sixteen at
// a time, as bench/snsload's t10 workload publishes.
func BenchmarkPublish(b *testing.B) {
	publish := benchTopic(b, 10)
	runSixteen(b, publish)
}

// BenchmarkPublishOne100 runs one publisher's Publish requests to a topic
// with 100 SQS subscriptions, as bench/snsload's one-publisher latency
// row does: each op is one request's whole wall time through the handler.
func BenchmarkPublishOne100(b *testing.B) {
	publish := benchTopic(b, 100)
	b.ReportAllocs()
	cpu0 := processCPU()
	b.ResetTimer()
	for i := 0; i < b.N && publish(); i++ {
	}
	b.StopTimer()
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N)/1e3, "cpu-µs/op")
}

// benchTopic starts a server with a topic of n SQS subscriptions and
// returns a function that publishes to it once.
func benchTopic(b *testing.B, n int) func() bool {
	s := newBenchServer(b)
	post := func(service, target, contentType, body string) bool {
		if w := benchPost(s, service, target, contentType, body); w.status != 0 && w.status != 200 {
			b.Errorf("%s %s: %d %s", service, target, w.status, w.body.String())
			return false
		}
		return true
	}
	const form = "application/x-www-form-urlencoded; charset=utf-8"
	post("sns", "", form, "Action=CreateTopic&Name=bench&Version=2010-03-31")
	arn := "arn:aws:sns:us-east-1:000000000000:bench"
	for i := 0; i < n; i++ {
		post("sqs", "AmazonSQS.CreateQueue", "application/x-amz-json-1.0", fmt.Sprintf(`{"QueueName":"q%d"}`, i))
		post("sns", "", form, "Action=Subscribe&Protocol=sqs&Version=2010-03-31&TopicArn="+url.QueryEscape(arn)+
			"&Endpoint="+url.QueryEscape(fmt.Sprintf("arn:aws:sqs:us-east-1:000000000000:q%d", i)))
	}
	if b.Failed() {
		b.FailNow()
	}
	publish := "Action=Publish&Message=" + strings.Repeat("x", 1024) +
		"&MessageAttributes.entry.1.Name=amount&MessageAttributes.entry.1.Value.DataType=Number&MessageAttributes.entry.1.Value.StringValue=42" +
		"&MessageAttributes.entry.2.Name=kind&MessageAttributes.entry.2.Value.DataType=String&MessageAttributes.entry.2.Value.StringValue=order" +
		"&TopicArn=" + url.QueryEscape(arn) + "&Version=2010-03-31"
	// One publish before the clock starts: the first one makes the
	// signing key (RSA-2048, up to half a second).
	if !post("sns", "", form, publish) {
		b.FailNow()
	}
	return func() bool { return post("sns", "", form, publish) }
}

// runSixteen runs op b.N times from sixteen goroutines, as the load tools'
// SDK workloads call, until op returns false, and reports the process's
// CPU per call.
func runSixteen(b *testing.B, op func() bool) {
	b.SetParallelism((16 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ReportAllocs()
	cpu0 := processCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !op() {
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N)/1e3, "cpu-µs/op")
}

// newBenchServer starts a server on a temporary data directory, with the
// garbage collector set as cmd/forkline sets it, for a benchmark that
// drives its handler directly.
func newBenchServer(b *testing.B) *Server {
	gc, mem := debug.SetGCPercent(400), debug.SetMemoryLimit(160<<20)
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = b.TempDir()
	s, err := New(context.Background(), cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		s.Shutdown(context.Background())
		debug.SetGCPercent(gc)
		debug.SetMemoryLimit(mem)
	})
	return s
}

// benchPost serves one POST signed as an SDK signs it (the signature is
// not checked: the server has no credentials).
func benchPost(s *Server, service, target, contentType, body string) *benchWriter {
	r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:4566/", strings.NewReader(body))
	if target != "" {
		r.Header.Set("X-Amz-Target", target)
	}
	now := time.Now().UTC()
	r.Header.Set("Content-Type", contentType)
	r.Header.Set("X-Amz-Date", now.Format("20060102T150405Z"))
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"+now.Format("20060102")+"/us-east-1/"+service+
		"/aws4_request, SignedHeaders=amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	r.Header.Set("Amz-Sdk-Invocation-Id", "8d5f8a6e-3c1b-4a0e-9d55-7a2b1f0c9e11")
	r.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
	r.Header.Set("User-Agent", "aws-sdk-go-v2/1.48.0 ua/2.1 os/linux lang/go#1.26 md/GOOS#linux md/GOARCH#amd64 api/"+service+" m/E,b")
	r.RemoteAddr = "127.0.0.1:40000"
	w := &benchWriter{h: http.Header{}}
	s.ServeHTTP(w, r)
	return w
}

type benchWriter struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) Write(p []byte) (int, error) { return w.body.Write(p) }
func (w *benchWriter) WriteHeader(status int)      { w.status = status }

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPublish1 is BenchmarkPublish with one subscription: the
// difference to it is the cost of nine more copies.
func BenchmarkPublish1(b *testing.B) {
	publish := benchTopic(b, 1)
	runSixteen(b, publish)
}
