// Command forkload measures events per second through a checkout topic
// with the three Event Fork Pipelines attached (storage and backup, search
// and analytics, replay, deployed from the application repository by
// their application IDs), beside the same topic with only the worker queue,
// in the same run on the same server (issue 7's target: a ratio ≥ 0.5).
// It also reports how long the pipelines take to drain what was published.
//
//	go run ./bench/forkload [-duration 10s]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/forkline/forkline/bench/internal/load"
)

var (
	duration = flag.Duration("duration", 10*time.Second, "length of each measurement")
	rounds   = flag.Int("rounds", 3, "rounds of baseline then forked measurement")
	binFlag  = flag.String("forkline", "", "forkline binary (default: build ./cmd/forkline)")
)

func cfg(u string) aws.Config {
	return aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDBENCH", "secret", ""),
		BaseEndpoint: aws.String(u), HTTPClient: load.HTTPClient(), RetryMaxAttempts: 1}
}

const workerOnly = `Resources:
  Topic: {Type: AWS::SNS::Topic}
  Worker: {Type: AWS::SQS::Queue}
  WorkerSubscription:
    Type: AWS::SNS::Subscription
    Properties: {TopicArn: !Ref Topic, Protocol: sqs, Endpoint: !GetAtt Worker.Arn, RawMessageDelivery: true}
Outputs:
  TopicArn: {Value: !Ref Topic}
`

func forked(prefix string) string {
	app := func(name string) string {
		return "arn:aws:serverlessrepo:us-east-1:077246666028:applications/" + name
	}
	return `Transform: AWS::Serverless-2016-10-31
Resources:
  Topic: {Type: AWS::SNS::Topic}
  Worker: {Type: AWS::SQS::Queue, Properties: {QueueName: ` + prefix + `-worker}}
  WorkerSubscription:
    Type: AWS::SNS::Subscription
    Properties: {TopicArn: !Ref Topic, Protocol: sqs, Endpoint: !GetAtt Worker.Arn, RawMessageDelivery: true}
  Backup:
    Type: AWS::Serverless::Application
    Properties:
      Location: {ApplicationId: ` + app("fork-event-storage-backup-pipeline") + `, SemanticVersion: 1.0.0}
      Parameters: {TopicArn: !Ref Topic, StreamCompressionFormat: GZIP, StreamBufferingIntervalInSeconds: 60}
  Analytics:
    Type: AWS::Serverless::Application
    Properties:
      Location: {ApplicationId: ` + app("fork-event-search-analytics-pipeline") + `, SemanticVersion: 1.0.0}
      Parameters: {TopicArn: !Ref Topic, SearchIndexName: checkout, SearchTypeName: order, StreamBufferingIntervalInSeconds: 60}
  Replay:
    Type: AWS::Serverless::Application
    Properties:
      Location: {ApplicationId: ` + app("fork-event-replay-pipeline") + `, SemanticVersion: 1.0.0}
      Parameters: {TopicArn: !Ref Topic, DestinationQueueName: !GetAtt Worker.QueueName}
Outputs:
  TopicArn: {Value: !Ref Topic}
  SearchEndpoint: {Value: !GetAtt Analytics.Outputs.AnalyticsDomainEndpoint}
`
}

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "forkload:", err)
		os.Exit(1)
	}
}

// deploy creates a stack and returns its outputs.
func deploy(ctx context.Context, c *cloudformation.Client, name, body string) (map[string]string, error) {
	if _, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(name), TemplateBody: aws.String(body),
		Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam, cfntypes.CapabilityCapabilityAutoExpand}}); err != nil {
		return nil, err
	}
	for {
		ds, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
		if err != nil {
			return nil, err
		}
		st := ds.Stacks[0]
		if !strings.HasSuffix(string(st.StackStatus), "_IN_PROGRESS") {
			if st.StackStatus != cfntypes.StackStatusCreateComplete {
				return nil, fmt.Errorf("stack %s: %s %s", name, st.StackStatus, aws.ToString(st.StackStatusReason))
			}
			outs := map[string]string{}
			for _, o := range st.Outputs {
				outs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
			}
			return outs, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pipelineQueues lists the queues the pipelines consume (their backlog).
func pipelineQueues(ctx context.Context, q *sqs.Client) ([]string, error) {
	out, err := q.ListQueues(ctx, &sqs.ListQueuesInput{MaxResults: aws.Int32(1000)})
	if err != nil {
		return nil, err
	}
	var list []string
	for _, u := range out.QueueUrls {
		if strings.Contains(u, "BackupQueue") || strings.Contains(u, "AnalyticsQueue") {
			list = append(list, u)
		}
	}
	return list, nil
}

func backlog(ctx context.Context, q *sqs.Client, urls []string) int {
	n := 0
	for _, u := range urls {
		a, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(u),
			AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}})
		if err != nil {
			continue
		}
		var v, inflight int
		fmt.Sscan(a.Attributes["ApproximateNumberOfMessages"], &v)
		fmt.Sscan(a.Attributes["ApproximateNumberOfMessagesNotVisible"], &inflight)
		n += v + inflight
	}
	return n
}

func run() error {
	tmp, err := os.MkdirTemp("", "forkload")
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
	c, s, q := cloudformation.NewFromConfig(cfg(fk.URL)), sns.NewFromConfig(cfg(fk.URL)), sqs.NewFromConfig(cfg(fk.URL))
	baseOuts, err := deploy(ctx, c, "worker-only", workerOnly)
	if err != nil {
		return err
	}
	forkOuts, err := deploy(ctx, c, "forked", forked("forked"))
	if err != nil {
		return err
	}
	baseTopic, forkTopic, searchEndpoint := baseOuts["TopicArn"], forkOuts["TopicArn"], forkOuts["SearchEndpoint"]
	event := `{"id":"order-1","amount":250,"customer":"Ada Lovelace","time":"2026-11-27T07:00:00Z","payment":{"type":"card"}}`
	publish := func(topic string) func(context.Context) (int, error) {
		return func(ctx context.Context) (int, error) {
			_, err := s.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String(event),
				MessageAttributes: map[string]snstypes.MessageAttributeValue{"amount": {DataType: aws.String("Number"), StringValue: aws.String("250")}}})
			return 1, err
		}
	}
	fmt.Printf("# forkload: %d rounds of %s per measurement, %d-byte checkout events, SDK Publish c=16\n\n", *rounds, *duration, len(event))
	urls, err := pipelineQueues(ctx, q)
	if err != nil {
		return err
	}
	// Rounds alternate the two topics, and each forked measurement waits
	// for the pipelines to consume everything, so that no round's
	// baseline shares the machine with the previous round's pipelines.
	var rs []round
	indexed := 0 // events the search index should hold
	for i := 0; i < *rounds; i++ {
		var r round
		r.base = fk.WithCPU(func() load.Result { return load.Measure("worker queue only", 16, *duration, publish(baseTopic)) })
		fmt.Println(r.base)
		if addr := os.Getenv("FORKLINE_PPROF_LISTEN"); addr != "" {
			// A CPU profile of each forked measurement, for finding its
			// costs.
			go profile(addr, *duration, fmt.Sprintf("forkload.%d.cpu.prof", i+1))
		}
		cpu0, fn0 := fk.CPU(), fk.ChildrenCPU()
		r.fork = fk.WithCPU(func() load.Result {
			return load.Measure("worker + backup + search + replay", 16, *duration, publish(forkTopic))
		})
		fmt.Println(r.fork)
		// How long the pipelines' functions take to consume what was
		// published.
		start := time.Now()
		left := backlog(ctx, q, urls)
		for left > 0 && time.Since(start) < 10*time.Minute {
			time.Sleep(200 * time.Millisecond)
			left = backlog(ctx, q, urls)
		}
		r.drain = time.Since(start)
		r.endToEnd = float64(r.fork.Completed) / (duration.Seconds() + r.drain.Seconds())
		// Then until the search index holds every event, so that no
		// indexing falls into the next round's measurements. Firehose
		// flushes a buffer at 5 MB or after 60 s: measurements long
		// enough to fill buffers index within themselves, as a steady
		// load does; the last partial buffer is indexed here, outside
		// any measurement.
		indexed += r.fork.Completed
		wait := time.Now()
		n := searchCount(searchEndpoint)
		for n < indexed && time.Since(wait) < 5*time.Minute {
			time.Sleep(500 * time.Millisecond)
			n = searchCount(searchEndpoint)
		}
		if r.fork.Completed > 0 {
			r.cpu = (fk.CPU() - cpu0) / time.Duration(r.fork.Completed)
			r.fnCPU = (fk.ChildrenCPU() - fn0) / time.Duration(r.fork.Completed)
		}
		fmt.Printf("the pipelines' queues drained in %s (%d left); the search index held every event %s later (%d of %d)\n",
			r.drain.Round(time.Millisecond), left, time.Since(wait).Round(time.Millisecond), n, indexed)
		fmt.Printf("CPU per forked event from its publish to its indexing: forkline %d µs, the pipelines' functions %d µs\n\n", r.cpu.Microseconds(), r.fnCPU.Microseconds())
		// Every round starts from the same state: the two worker queues,
		// which nothing consumes here, and the replay buffer are emptied,
		// so that rounds do not measure a server holding ever more queued
		// messages.
		if err := purgeKept(ctx, q); err != nil {
			return err
		}
		rs = append(rs, r)
	}
	fmt.Println("| round | topic → worker queue (baseline) | topic → worker + 3 pipelines, publish rate | ratio | end-to-end (until the pipelines have consumed every event), ratio | CPU per forked event, publish to index: forkline, functions |")
	fmt.Println("| --- | --- | --- | --- | --- | --- |")
	for i, r := range rs {
		fmt.Printf("| %d | %.0f events/s (p50 %s, %d µs server CPU each) | %.0f events/s (p50 %s, %d µs) | **%.2f** | %.0f events/s, %.2f | %d µs, %d µs |\n", i+1,
			r.base.Ops, load.MS(r.base.P50), r.base.CPUPerReq.Microseconds(), r.fork.Ops, load.MS(r.fork.P50), r.fork.CPUPerReq.Microseconds(),
			r.fork.Ops/r.base.Ops, r.endToEnd, r.endToEnd/r.base.Ops, r.cpu.Microseconds(), r.fnCPU.Microseconds())
	}
	ratios := make([]float64, len(rs))
	e2e := make([]float64, len(rs))
	for i, r := range rs {
		ratios[i], e2e[i] = r.fork.Ops/r.base.Ops, r.endToEnd/r.base.Ops
	}
	fmt.Printf("\nmedian publish-rate ratio %.2f (target ≥ 0.5), median end-to-end ratio %.2f\n", median(ratios), median(e2e))
	return nil
}

// searchCount counts the documents in the search pipeline's indexes.
func searchCount(endpoint string) int {
	resp, err := http.Post("http://"+endpoint+"/checkout/_count", "application/json", strings.NewReader(`{}`))
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var out struct {
		Count int `json:"count"`
	}
	if json.NewDecoder(resp.Body).Decode(&out) != nil {
		return -1
	}
	return out.Count
}

// round is one baseline and one forked measurement, back to back.
type round struct {
	base, fork load.Result
	drain      time.Duration
	endToEnd   float64
	// cpu and fnCPU are forkline's and its functions' CPU time per
	// forked event, from the measurement's start until the pipelines have
	// consumed and indexed everything: the whole cost of an event, wherever
	// its buffered parts happened to fall.
	cpu, fnCPU time.Duration
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// profile saves a CPU profile of the next d of the server in file.
func profile(addr string, d time.Duration, file string) {
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, int(d.Seconds())-1))
	if err != nil {
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		return
	}
	io.Copy(f, resp.Body)
	f.Close()
}

// purgeKept purges the queues that keep every event (the worker queues and
// the replay buffer), waiting out SQS's one purge per 60 seconds.
func purgeKept(ctx context.Context, q *sqs.Client) error {
	out, err := q.ListQueues(ctx, &sqs.ListQueuesInput{MaxResults: aws.Int32(1000)})
	if err != nil {
		return err
	}
	for _, u := range out.QueueUrls {
		if !strings.Contains(u, "Worker") && !strings.Contains(u, "worker") && !strings.Contains(u, "ReplayQueue") {
			continue
		}
		for {
			_, err := q.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(u)})
			if err == nil {
				break
			}
			if !strings.Contains(err.Error(), "PurgeQueueInProgress") {
				return err
			}
			time.Sleep(5 * time.Second)
		}
	}
	return nil
}
