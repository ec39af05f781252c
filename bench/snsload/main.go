// Command snsload measures forkline's SNS publish throughput and latency
// with 1, 10 and 100 SQS subscriptions (with and without a filter policy on
// every subscription), through aws-sdk-go-v2 and through a raw keep-alive
// HTTP client, against plain SQS SendMessage measured in the same run on
// the same server. Each SDK row runs in -rounds rounds, each right after a
// SendMessage baseline of its own, into queues subscribed for that round
// only; rows report the median round. See docs/benchmarks.md.
//
//	go run ./bench/snsload [-duration 10s] [-rounds 3] [-only t1,t10]
package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/forkline/forkline/bench/internal/load"
)

var (
	duration   = flag.Duration("duration", 10*time.Second, "length of each measurement")
	binFlag    = flag.String("forkline", "", "forkline binary (default: build ./cmd/forkline)")
	rounds     = flag.Int("rounds", 3, "rounds of the SDK measurements (baseline, then each topic); rows report the median round")
	only       = flag.String("only", "", "comma-separated topics to measure (t1,t10,t100,f10,f100,fifo10.fifo), and \"null\" for the SDK clients against a null server; default all, with the raw rows; \"lag\" runs only -lagging")
	nullMode   = flag.String("null-listen", "", "internal: run as the null server on this address")
	clientProf = flag.String("client-profile", "", "write a CPU profile of this load generator (the SDK clients) to this file")
	lagging    = flag.Int("lagging", 0, "notifications for the lagging-reader figures (0 skips them): published to two queues, each then read to its end, one after the other; use it with -only lag, so that the other figures run on a store without its data")
)

var body1K = strings.Repeat("x", 1024)

const acct = "000000000000"

func main() {
	flag.Parse()
	if *nullMode != "" {
		runNull(*nullMode)
		return
	}
	stop := func() {}
	if *clientProf != "" {
		f, err := os.Create(*clientProf)
		if err == nil {
			if err = pprof.StartCPUProfile(f); err != nil {
				f.Close()
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "snsload:", err)
			os.Exit(1)
		}
		stop = func() { pprof.StopCPUProfile(); f.Close() }
	}
	defer stop()
	if err := run(); err != nil {
		stop()
		fmt.Fprintln(os.Stderr, "snsload:", err)
		os.Exit(1)
	}
}

func cfg(u string) aws.Config {
	return aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDBENCH", "secret", ""),
		BaseEndpoint: aws.String(u), HTTPClient: load.HTTPClient(), RetryMaxAttempts: 1}
}

// topicSpec is one topic of the run.
type topicSpec struct {
	name   string
	subs   int
	filter bool
	fifo   bool
}

func run() error {
	tmp, err := os.MkdirTemp("", "snsload")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin, err := load.Binary(*binFlag, tmp)
	if err != nil {
		return err
	}
	fk, err := load.StartForkline(bin, filepath.Join(tmp, "data"))
	if err != nil {
		return err
	}
	defer fk.Stop()
	ctx := context.Background()
	q, s := sqs.NewFromConfig(cfg(fk.URL)), sns.NewFromConfig(cfg(fk.URL))
	if *only == "lag" && *lagging <= 0 {
		return fmt.Errorf("-only lag needs -lagging N")
	}
	if *lagging > 0 {
		if err := laggingReaders(ctx, fk, q, s, *lagging); err != nil {
			return err
		}
		if *only == "lag" {
			return nil
		}
	}

	if _, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("base")}); err != nil {
		return err
	}
	specs := []topicSpec{{"t1", 1, false, false}, {"t10", 10, false, false}, {"t100", 100, false, false},
		{"f10", 10, true, false}, {"f100", 100, true, false}, {"fifo10.fifo", 10, false, true}}
	arns := map[string]string{}
	for _, sp := range specs {
		attrs := map[string]string{}
		if sp.fifo {
			attrs = map[string]string{"FifoTopic": "true", "ContentBasedDeduplication": "false"}
		}
		out, err := s.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(sp.name), Attributes: attrs})
		if err != nil {
			return err
		}
		arns[sp.name] = *out.TopicArn
	}
	// attach subscribes fresh queues to a topic, named after the round, so
	// that no round publishes into the backlog of an earlier one (nothing
	// consumes these queues); detach deletes them again.
	type attached struct {
		queues, subs []string
	}
	attach := func(sp topicSpec, round int) (attached, error) {
		var a attached
		for i := 0; i < sp.subs; i++ {
			qn := fmt.Sprintf("%s-r%d-q%d", strings.TrimSuffix(sp.name, ".fifo"), round, i)
			qattrs := map[string]string{}
			if sp.fifo {
				qn += ".fifo"
				qattrs["FifoQueue"] = "true"
			}
			if _, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(qn), Attributes: qattrs}); err != nil {
				return a, err
			}
			sattrs := map[string]string{}
			if sp.filter {
				sattrs["FilterPolicy"] = `{"kind":["order"],"amount":[{"numeric":[">",10]}]}`
			}
			out, err := s.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(arns[sp.name]), Protocol: aws.String("sqs"),
				Endpoint: aws.String("arn:aws:sqs:us-east-1:" + acct + ":" + qn), Attributes: sattrs, ReturnSubscriptionArn: true})
			if err != nil {
				return a, err
			}
			a.queues = append(a.queues, qn)
			a.subs = append(a.subs, *out.SubscriptionArn)
		}
		return a, nil
	}
	detach := func(a attached) error {
		for i := range a.queues {
			if _, err := s.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: aws.String(a.subs[i])}); err != nil {
				return err
			}
			if _, err := q.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(fk.URL + "/" + acct + "/" + a.queues[i])}); err != nil {
				return err
			}
		}
		return nil
	}

	fmt.Printf("# snsload: %d rounds of %s per measurement, 1 KiB messages\n\n", *rounds, *duration)
	// The SDK rows run in rounds, each measuring the baseline and then
	// every topic, so that a machine whose speed drifts (a shared host)
	// affects both sides of each ratio alike; each row reports its median
	// round.
	var measured []topicSpec
	for _, sp := range specs {
		if *only == "" || slices.Contains(strings.Split(*only, ","), sp.name) {
			measured = append(measured, sp)
		}
	}
	bases := make([]load.Result, *rounds)
	pairs := make([][]load.Result, len(measured)) // each topic's own baseline, measured just before it
	pubs := make([][]load.Result, len(measured))
	solo := make([][]load.Result, len(measured)) // one publisher (c=1), t1 and t100
	for i := range pubs {
		pairs[i] = make([]load.Result, *rounds)
		pubs[i] = make([]load.Result, *rounds)
		solo[i] = make([]load.Result, *rounds)
	}
	var keep attached // the last round's t10 queues, for the receive rows
	sendBase := func() load.Result {
		return fk.WithCPU(func() load.Result {
			qurl := fk.URL + "/" + acct + "/base"
			return load.Measure("SDK SendMessage c=16", 16, *duration, func(ctx context.Context) (int, error) {
				_, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(qurl), MessageBody: aws.String(body1K)})
				return 1, err
			})
		})
	}
	for round := 0; round < *rounds; round++ {
		for i, sp := range measured {
			sp := sp
			a, err := attach(sp, round)
			if err != nil {
				return err
			}
			// The baseline runs right before each topic's measurement, so
			// that the host's drift (this machine's speed wanders by a
			// third within a minute) touches both sides of the ratio alike.
			pairs[i][round] = sendBase()
			fmt.Printf("round %d: %s\n", round+1, pairs[i][round])
			if i == 0 {
				bases[round] = pairs[i][round]
			}
			publish := func(c int) load.Result {
				return fk.WithCPU(func() load.Result {
					n := 0
					return load.Measure(fmt.Sprintf("SDK Publish %s c=%d", sp.name, c), c, *duration, func(ctx context.Context) (int, error) {
						in := &sns.PublishInput{TopicArn: aws.String(arns[sp.name]), Message: aws.String(body1K),
							MessageAttributes: map[string]snstypes.MessageAttributeValue{
								"kind":   {DataType: aws.String("String"), StringValue: aws.String("order")},
								"amount": {DataType: aws.String("Number"), StringValue: aws.String("42")},
							}}
						if sp.fifo {
							n++
							in.MessageGroupId = aws.String(fmt.Sprint("g", n%16))
							in.MessageDeduplicationId = aws.String(fmt.Sprint(time.Now().UnixNano(), "-", n))
						}
						_, err := s.Publish(ctx, in)
						return sp.subs, err
					})
				})
			}
			// One publisher first, on a server otherwise idle: after the
			// sixteen publishers' run, a 100-subscription topic left
			// about a million queued copies for the store to compact
			// while the one publisher was timed.
			if sp.name == "t1" || sp.name == "t100" {
				solo[i][round] = publish(1)
				fmt.Printf("round %d: %s\n", round+1, solo[i][round])
			}
			pubs[i][round] = publish(16)
			fmt.Printf("round %d: %s  ratio %.2f\n", round+1, pubs[i][round], pubs[i][round].Ops/pairs[i][round].Ops)
			if sp.name == "t10" && round == *rounds-1 {
				keep = a
			} else if err := detach(a); err != nil {
				return err
			}
		}
	}
	// The SDK clients' own cost: SendMessage and Publish against a null
	// server that answers each with a fixed valid response, paired in
	// each round. Publish's client (query protocol: a form-encoded
	// request, an XML answer) costs more per call than SendMessage's
	// (JSON), which bounds the Publish rows' ratios whatever forkline
	// spends.
	var nullPairs [][2]load.Result
	if *only == "" || slices.Contains(strings.Split(*only, ","), "null") {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		nl, err := load.Start(exec.Command(self, "-null-listen", "127.0.0.1:0"))
		if err != nil {
			return err
		}
		nq, ns := sqs.NewFromConfig(cfg(nl.URL)), sns.NewFromConfig(cfg(nl.URL))
		for round := 0; round < *rounds; round++ {
			send := nl.WithCPU(func() load.Result {
				return load.Measure("null server: SDK SendMessage c=16", 16, *duration, func(ctx context.Context) (int, error) {
					_, err := nq.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(nl.URL + "/" + acct + "/base"), MessageBody: aws.String(body1K)})
					return 1, err
				})
			})
			pub := nl.WithCPU(func() load.Result {
				return load.Measure("null server: SDK Publish c=16", 16, *duration, func(ctx context.Context) (int, error) {
					_, err := ns.Publish(ctx, &sns.PublishInput{TopicArn: aws.String("arn:aws:sns:us-east-1:" + acct + ":t10"), Message: aws.String(body1K),
						MessageAttributes: map[string]snstypes.MessageAttributeValue{
							"kind":   {DataType: aws.String("String"), StringValue: aws.String("order")},
							"amount": {DataType: aws.String("Number"), StringValue: aws.String("42")},
						}})
					return 1, err
				})
			})
			fmt.Printf("round %d: %s\nround %d: %s  ratio %.2f\n", round+1, send, round+1, pub, pub.Ops/send.Ops)
			nullPairs = append(nullPairs, [2]load.Result{send, pub})
		}
		nl.Stop()
	}

	var rows, costs []string
	mb := medianRound(len(bases), func(r int) float64 { return bases[r].Ops })
	rows = append(rows, row("SDK SendMessage (baseline), c=16", bases[mb], bases[mb], ""))
	oneIdx := slices.IndexFunc(measured, func(sp topicSpec) bool { return sp.name == "t1" })
	for i, sp := range measured {
		m := medianRound(*rounds, func(r int) float64 { return pubs[i][r].Ops / pairs[i][r].Ops })
		target := ""
		switch sp.name {
		case "t10":
			target = "≥ 0.8"
		case "t100":
			if oneIdx >= 0 {
				lat := medianRound(*rounds, func(r int) float64 { return float64(pubs[i][r].P50) / float64(pubs[oneIdx][r].P50) })
				target = fmt.Sprintf("p50 ≤ 2× that of 1 subscription: %.1f× (median round)", float64(pubs[i][lat].P50)/float64(pubs[oneIdx][lat].P50))
			}
		}
		rows = append(rows, row(fmt.Sprintf("SDK Publish, %d subscriptions%s, c=16", sp.subs, variant(sp)), pubs[i][m], pairs[i][m], target))
		p, b := pubs[i][m], pairs[i][m]
		costs = append(costs, fmt.Sprintf("| SDK Publish, %d subscriptions%s, c=16 | %d + %d µs | %.0f %% | %d + %d µs | %.0f %% | %.2f | %.2f |", sp.subs, variant(sp),
			p.ClientCPUPerReq.Microseconds(), p.CPUPerReq.Microseconds(), 100*p.Busy, b.ClientCPUPerReq.Microseconds(), b.CPUPerReq.Microseconds(), 100*b.Busy,
			load.CostRatio(p, b), p.Ops/b.Ops))
	}
	if len(nullPairs) > 0 {
		m := medianRound(len(nullPairs), func(r int) float64 { return nullPairs[r][1].Ops / nullPairs[r][0].Ops })
		send, pub := nullPairs[m][0], nullPairs[m][1]
		rows = append(rows, row("null server: SDK SendMessage, c=16 (the SDK clients' own cost)", send, send, ""),
			row("null server: SDK Publish, c=16", pub, send, ""))
		costs = append(costs, fmt.Sprintf("| null server: SDK Publish against SDK SendMessage, c=16 | %d + %d µs | %.0f %% | %d + %d µs | %.0f %% | %.2f | %.2f |",
			pub.ClientCPUPerReq.Microseconds(), pub.CPUPerReq.Microseconds(), 100*pub.Busy, send.ClientCPUPerReq.Microseconds(), send.CPUPerReq.Microseconds(), 100*send.Busy,
			load.CostRatio(pub, send), pub.Ops/send.Ops))
	}
	// The latency one publisher sees, with the server otherwise idle.
	for i, sp := range measured {
		if sp.name != "t1" && sp.name != "t100" {
			continue
		}
		m := medianRound(*rounds, func(r int) float64 { return float64(solo[i][r].P50) })
		target := ""
		if sp.name == "t100" && oneIdx >= 0 {
			lat := medianRound(*rounds, func(r int) float64 { return float64(solo[i][r].P50) / float64(solo[oneIdx][r].P50) })
			target = fmt.Sprintf("p50 ≤ 2× that of 1 subscription: %.1f× (median round)", float64(solo[i][lat].P50)/float64(solo[oneIdx][lat].P50))
		}
		rows = append(rows, row(fmt.Sprintf("SDK Publish, %d subscription(s), c=1 (one publisher)", sp.subs), solo[i][m], bases[m], target))
	}

	// Notifications are signed when first read, so the signature's cost
	// moved from Publish to the first receive of each message: receive +
	// delete of t10's envelopes from two of its queues, the first signing
	// and the second finding the signatures cached, beside the same of
	// plain SQS messages from the baseline queue.
	if len(keep.queues) >= 2 {
		recv := func(name, queueName string) load.Result {
			qurl := fk.URL + "/" + acct + "/" + queueName
			return fk.WithCPU(func() load.Result {
				return load.Measure(name, 16, *duration, func(ctx context.Context) (int, error) {
					out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(qurl), MaxNumberOfMessages: 10})
					if err != nil || len(out.Messages) == 0 {
						return 0, err
					}
					var entries []sqstypes.DeleteMessageBatchRequestEntry
					for i, m := range out.Messages {
						entries = append(entries, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: m.ReceiptHandle})
					}
					_, err = q.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(qurl), Entries: entries})
					return len(out.Messages), err
				})
			})
		}
		rb := recv("receive+delete SendMessage bodies", "base")
		fmt.Println(rb)
		r1 := recv("receive+delete t10 notifications, first queue", keep.queues[0])
		fmt.Println(r1)
		r2 := recv("receive+delete t10 notifications, second queue", keep.queues[1])
		fmt.Println(r2)
		rows = append(rows, recvRow("SDK ReceiveMessage(10) + DeleteMessageBatch of 1 KiB SendMessage bodies (baseline), c=16", rb, rb),
			recvRow("the same of t10's notifications, first queue read (signs them)", r1, rb),
			recvRow("the same, a second queue read after it (signatures cached while recent)", r2, rb))
	}
	if *only != "" {
		printRows(rows)
		printCosts(costs)
		return nil
	}
	rawBase := fk.WithCPU(func() load.Result {
		body, _ := json.Marshal(map[string]string{"QueueUrl": fk.URL + "/" + acct + "/base", "MessageBody": body1K})
		req := rawRequest(fk.Addr, "application/x-amz-json-1.0", "AmazonSQS.SendMessage", body)
		return load.RawLoad("raw SendMessage c=64", fk.Addr, 64, *duration, 1, func(int) []byte { return req })
	})
	fmt.Println(rawBase)
	rows = append(rows, row("raw SendMessage (baseline), c=64", rawBase, rawBase, ""))
	for _, sp := range specs[:3] {
		a, err := attach(sp, 99)
		if err != nil {
			return err
		}
		form := url.Values{"Action": {"Publish"}, "Version": {"2010-03-31"}, "TopicArn": {arns[sp.name]}, "Message": {body1K}}
		req := rawRequest(fk.Addr, "application/x-www-form-urlencoded", "", []byte(form.Encode()))
		r := fk.WithCPU(func() load.Result {
			return load.RawLoad("raw Publish "+sp.name, fk.Addr, 64, *duration, sp.subs, func(int) []byte { return req })
		})
		fmt.Println(r)
		rows = append(rows, row(fmt.Sprintf("raw Publish, %d subscriptions, c=64", sp.subs), r, rawBase, ""))
		if err := detach(a); err != nil {
			return err
		}
	}

	printRows(rows)
	printCosts(costs)
	return nil
}

// medianRound returns the round whose value is the median of n rounds
// (the lower middle one for an even n).
func medianRound(n int, value func(round int) float64) int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(value(a), value(b)) })
	return idx[(n-1)/2]
}

func printRows(rows []string) {
	fmt.Println("\n| workload | req/s | messages/s | p50 / p99 | server CPU/req | ratio to SendMessage | target |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- |")
	for _, r := range rows {
		fmt.Println(r)
	}
}

// printCosts shows where each median round's CPU went: the SDK clients
// share the host's cores with forkline, so a ratio is bounded by both
// sides' costs (load.CostRatio).
func printCosts(costs []string) {
	if len(costs) == 0 {
		return
	}
	fmt.Println("\n| workload (median round) | Publish: client + server CPU per request | host busy | its SendMessage baseline: client + server CPU per request | host busy | ratio these predict | measured ratio |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- |")
	for _, c := range costs {
		fmt.Println(c)
	}
}

func variant(sp topicSpec) string {
	switch {
	case sp.filter:
		return " with a filter policy each"
	case sp.fifo:
		return " (FIFO topic and queues, unsigned)"
	}
	return ""
}

func row(name string, r, base load.Result, target string) string {
	return fmt.Sprintf("| %s | %.0f | %.0f | %s / %s | %d µs | **%.2f** | %s |", name, r.Ops, r.Msgs, load.MS(r.P50), load.MS(r.P99),
		r.CPUPerReq.Microseconds(), r.Ops/base.Ops, target)
}

func rawRequest(addr, contentType, target string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\n", addr, contentType)
	if target != "" {
		fmt.Fprintf(&b, "X-Amz-Target: %s\r\n", target)
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
	b.Write(body)
	return b.Bytes()
}

// recvRow is a table row of a receive measurement, its ratio in messages
// per second.
func recvRow(name string, r, base load.Result) string {
	return fmt.Sprintf("| %s | %.0f | %.0f | %s / %s | %d µs | **%.2f** | |", name, r.Ops, r.Msgs, load.MS(r.P50), load.MS(r.P99),
		r.CPUPerReq.Microseconds(), r.Msgs/base.Msgs)
}

// laggingReaders measures what reading notifications costs a queue that
// lags far behind another subscribed to the same topic: n notifications
// (1 KiB, PublishBatch of ten, sixteen publishers) go to two queues; the
// first is read to its end (receive ten + DeleteMessageBatch, sixteen
// readers), then the second. Each notification is signed when first read
// (ADR 0006); the second queue's reads find the signatures in the signer's
// memory cache only for the last 16,384 messages, and in the signature
// records (ADR 0006, session 14) for all of them.
func laggingReaders(ctx context.Context, fk *load.Proc, q *sqs.Client, s *sns.Client, n int) error {
	t, err := s.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("lag")})
	if err != nil {
		return err
	}
	var urls []string
	for _, name := range []string{"lag-a", "lag-b"} {
		out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
		if err != nil {
			return err
		}
		urls = append(urls, *out.QueueUrl)
		if _, err := s.Subscribe(ctx, &sns.SubscribeInput{TopicArn: t.TopicArn, Protocol: aws.String("sqs"),
			Endpoint: aws.String("arn:aws:sqs:us-east-1:" + acct + ":" + name)}); err != nil {
			return err
		}
	}
	var next atomic.Int64
	if err := parallel(16, func() error {
		for {
			first := int(next.Add(10)) - 10
			if first >= n {
				return nil
			}
			var entries []snstypes.PublishBatchRequestEntry
			for i := first; i < min(first+10, n); i++ {
				entries = append(entries, snstypes.PublishBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), Message: aws.String(body1K)})
			}
			out, err := s.PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: t.TopicArn, PublishBatchRequestEntries: entries})
			if err != nil {
				return err
			}
			if len(out.Failed) > 0 {
				return fmt.Errorf("PublishBatch: %d failed, first %s", len(out.Failed), aws.ToString(out.Failed[0].Code))
			}
		}
	}); err != nil {
		return err
	}
	fmt.Println("\n| lagging readers | notifications read | server CPU per notification | wall time |")
	fmt.Println("| --- | --- | --- | --- |")
	for i, u := range urls {
		var read atomic.Int64
		cpu0, t0 := fk.CPU(), time.Now()
		if err := parallel(16, func() error {
			// Two empty receives in a row end a reader.
			for empty := 0; empty < 2; {
				out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(u), MaxNumberOfMessages: 10})
				if err != nil {
					return err
				}
				if len(out.Messages) == 0 {
					empty++
					continue
				}
				empty = 0
				var del []sqstypes.DeleteMessageBatchRequestEntry
				for j, m := range out.Messages {
					del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(j)), ReceiptHandle: m.ReceiptHandle})
				}
				d, err := q.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(u), Entries: del})
				if err != nil {
					return err
				}
				if len(d.Failed) > 0 {
					return fmt.Errorf("DeleteMessageBatch: %d failed, first %s", len(d.Failed), aws.ToString(d.Failed[0].Code))
				}
				read.Add(int64(len(out.Messages)))
			}
			return nil
		}); err != nil {
			return err
		}
		cpu, wall := fk.CPU()-cpu0, time.Since(t0)
		which := "first queue, read first (signs)"
		if i == 1 {
			which = "second queue, read after the first"
		}
		fmt.Printf("| %s | %d | %d µs | %s |\n", which, read.Load(), (cpu / time.Duration(max(read.Load(), 1))).Microseconds(), wall.Round(time.Millisecond))
	}
	return nil
}

// parallel runs fn on c goroutines and returns the first error.
func parallel(c int, fn func() error) error {
	errs := make(chan error, c)
	for range c {
		go func() { errs <- fn() }()
	}
	var first error
	for range c {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// runNull answers SQS SendMessage (JSON) and SNS Publish (query) with
// fixed valid responses, after reading each request's body.
func runNull(addr string) {
	sum := md5.Sum([]byte(body1K))
	send := []byte(`{"MD5OfMessageBody":"` + hex.EncodeToString(sum[:]) + `","MessageId":"5fea7756-0ea4-451a-a703-a558b933e274"}`)
	pub := []byte(`<?xml version="1.0"?><PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>5fea7756-0ea4-451a-a703-a558b933e274</MessageId></PublishResult><ResponseMetadata><RequestId>00000000-0000-4000-8000-000000000000</RequestId></ResponseMetadata></PublishResponse>`)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "null server listen=%s\n", l.Addr())
	http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		b, ct := pub, "text/xml"
		if r.Header.Get("X-Amz-Target") != "" {
			b, ct = send, "application/x-amz-json-1.0"
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("x-amzn-RequestId", "00000000-0000-4000-8000-000000000000")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b)
	}))
}
