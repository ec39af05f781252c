package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/forkline/forkline/internal/deploy"
	"github.com/forkline/forkline/internal/server/servertest"
)

// replayTemplate forks a checkout topic to a worker queue and to the
// replay pipeline, nested by AWS's application ID, as the Event Fork
// Pipelines guide shows.
const replayTemplate = `AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Checkout:
    Type: AWS::SNS::Topic
  Worker:
    Type: AWS::SQS::Queue
    Properties: {QueueName: checkout-worker}
  WorkerSubscription:
    Type: AWS::SNS::Subscription
    Properties: {TopicArn: !Ref Checkout, Protocol: sqs, Endpoint: !GetAtt Worker.Arn, RawMessageDelivery: true}
  Replay:
    Type: AWS::Serverless::Application
    Properties:
      Location:
        ApplicationId: arn:aws:serverlessrepo:us-east-1:077246666028:applications/fork-event-replay-pipeline
        SemanticVersion: 1.0.0
      Parameters:
        TopicArn: !Ref Checkout
        DestinationQueueName: !GetAtt Worker.QueueName
        SubscriptionFilterPolicy: '{"amount": [{"numeric": [">=", 100]}]}'
Outputs:
  TopicArn:
    Value: !Ref Checkout
  WorkerUrl:
    Value: !Ref Worker
  MappingId:
    Value: !GetAtt Replay.Outputs.ReplayFunctionMappingId
`

// TestReplayPipeline: the replay pipeline buffers what the topic sends
// (through its filter policy); after the worker queue loses its messages,
// enabling the replay mapping restores them, bodies and attributes
// unchanged ("Event Fork Pipelines", SNS developer guide).
func TestReplayPipeline(t *testing.T) {
	requireClient(t, "python3", "--version")
	s := servertest.Start(t, servertest.Options{})
	c := cloudformation.NewFromConfig(s.Config())
	if _, err := c.CreateStack(ctx(t), &cloudformation.CreateStackInput{StackName: aws.String("shop"), TemplateBody: aws.String(replayTemplate),
		Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam, cfntypes.CapabilityCapabilityAutoExpand}}); err != nil {
		t.Fatal(err)
	}
	outs := outputs(waitStack(t, c, "shop", "CREATE_COMPLETE"))
	q := sqs.NewFromConfig(s.Config())
	for _, amount := range []string{"250", "40", "120"} {
		publishAmount(t, s, outs["TopicArn"], `{"order":`+amount+`}`, amount)
	}
	if got := outMessages(t, q, outs["WorkerUrl"], 3); len(got) != 3 {
		t.Fatalf("worker got %v", got)
	}
	// The loss: the worker queue is emptied (outMessages deleted them).
	// The operator enables the replay mapping.
	lc := lambda.NewFromConfig(s.Config())
	if _, err := lc.UpdateEventSourceMapping(ctx(t), &lambda.UpdateEventSourceMappingInput{UUID: aws.String(outs["MappingId"]), Enabled: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	var bodies []string
	var attrs []string
	for len(bodies) < 2 {
		out, err := q.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(outs["WorkerUrl"]), MaxNumberOfMessages: 10, WaitTimeSeconds: 5,
			MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			t.Fatalf("replayed so far: %v", bodies)
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
			a := m.MessageAttributes["amount"]
			attrs = append(attrs, aws.ToString(a.DataType)+"="+aws.ToString(a.StringValue))
			q.DeleteMessage(ctx(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(outs["WorkerUrl"]), ReceiptHandle: m.ReceiptHandle})
		}
	}
	joined := strings.Join(bodies, ",") + " " + strings.Join(attrs, ",")
	// The filter policy kept the 40 out of the replay buffer.
	if len(bodies) != 2 || strings.Contains(joined, "40") || !strings.Contains(joined, `{"order":250}`) || !strings.Contains(joined, "Number=120") {
		t.Fatalf("replayed %s", joined)
	}
}

const backupTemplate = `AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Checkout:
    Type: AWS::SNS::Topic
  Scrub:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      InlineCode: |
        import base64, json
        def handler(event, context):
            out = []
            for r in event["records"]:
                doc = json.loads(base64.b64decode(r["data"]))
                doc.pop("card", None)
                data = base64.b64encode((json.dumps(doc, sort_keys=True) + "\n").encode()).decode()
                out.append({"recordId": r["recordId"], "result": "Ok", "data": data})
            return {"records": out}
  Backup:
    Type: AWS::Serverless::Application
    Properties:
      Location:
        ApplicationId: arn:aws:serverlessrepo:us-east-1:077246666028:applications/fork-event-storage-backup-pipeline
        SemanticVersion: 1.0.0
      Parameters:
        TopicArn: !Ref Checkout
        StreamPrefix: checkout/
        StreamCompressionFormat: GZIP
        StreamBufferingIntervalInSeconds: 60
        SubscriptionFilterPolicy: '{"amount": [{"numeric": [">=", 100]}]}'
        DataTransformationFunctionArn: !GetAtt Scrub.Arn
Outputs:
  TopicArn:
    Value: !Ref Checkout
  Bucket:
    Value: !GetAtt Backup.Outputs.BackupBucketName
`

// TestStorageBackupPipeline: events published to the topic reach the
// backup bucket after the buffering interval, through the filter policy
// and the transformation function, gzipped under the prefix and the
// YYYY/MM/dd/HH time partition (Firehose developer guide, "Amazon S3 object
// name format"). The interval is Firehose's minimum, 60 s, on the real clock.
func TestStorageBackupPipeline(t *testing.T) {
	t.Parallel()
	requireClient(t, "python3", "--version")
	s := servertest.Start(t, servertest.Options{})
	c := cloudformation.NewFromConfig(s.Config())
	if _, err := c.CreateStack(ctx(t), &cloudformation.CreateStackInput{StackName: aws.String("backup"), TemplateBody: aws.String(backupTemplate),
		Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam, cfntypes.CapabilityCapabilityAutoExpand}}); err != nil {
		t.Fatal(err)
	}
	outs := outputs(waitStack(t, c, "backup", "CREATE_COMPLETE"))
	start := time.Now().UTC()
	for _, amount := range []string{"250", "40", "120"} {
		publishAmount(t, s, outs["TopicArn"], `{"order":`+amount+`,"card":"4111-1111"}`, amount)
	}
	b := s3.NewFromConfig(s.Config(), func(o *s3.Options) { o.UsePathStyle = true })
	deadline := time.Now().Add(4 * time.Minute)
	var keys []string
	for len(keys) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("nothing in the backup bucket")
		}
		time.Sleep(500 * time.Millisecond)
		list, err := b.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(outs["Bucket"]), Prefix: aws.String("checkout/")})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range list.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	var lines []string
	for _, k := range keys {
		if !strings.HasPrefix(k, "checkout/"+start.Format("2006/01/02/")) || !strings.HasSuffix(k, ".gz") {
			t.Fatalf("object key %s", k)
		}
		obj, err := b.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String(outs["Bucket"]), Key: aws.String(k)})
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(obj.Body)
		if err != nil {
			t.Fatal(err)
		}
		text, _ := io.ReadAll(zr)
		obj.Body.Close()
		lines = append(lines, strings.Split(strings.TrimSpace(string(text)), "\n")...)
	}
	sort.Strings(lines)
	if strings.Join(lines, " ") != `{"order": 120} {"order": 250}` {
		t.Fatalf("backed up %q", lines)
	}
}

const searchTemplate = `AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Checkout:
    Type: AWS::SNS::Topic
  Analytics:
    Type: AWS::Serverless::Application
    Properties:
      Location:
        ApplicationId: arn:aws:serverlessrepo:us-east-1:077246666028:applications/fork-event-search-analytics-pipeline
        SemanticVersion: 1.0.0
      Parameters:
        TopicArn: !Ref Checkout
        SearchIndexName: checkout_events
        SearchTypeName: checkout
        SearchIndexRotationPeriod: OneDay
        StreamBufferingIntervalInSeconds: 60
        SubscriptionFilterPolicy: '{"amount": [{"numeric": [">=", 100]}]}'
Outputs:
  TopicArn:
    Value: !Ref Checkout
  Endpoint:
    Value: !GetAtt Analytics.Outputs.AnalyticsDomainEndpoint
`

// searchCall posts a query to a search domain endpoint (the OpenSearch
// REST API) and decodes the answer.
func searchCall(t *testing.T, endpoint, path, body string) map[string]any {
	t.Helper()
	resp, err := http.Post("http://"+endpoint+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %v", path, resp.StatusCode, out)
	}
	return out
}

// TestSearchAnalyticsPipeline: events through the filter are indexed after
// the buffering interval into the daily index, and found by content and by
// time, with aggregations (OpenSearch query DSL and aggregations).
func TestSearchAnalyticsPipeline(t *testing.T) {
	t.Parallel()
	requireClient(t, "python3", "--version")
	s := servertest.Start(t, servertest.Options{})
	c := cloudformation.NewFromConfig(s.Config())
	if _, err := c.CreateStack(ctx(t), &cloudformation.CreateStackInput{StackName: aws.String("analytics"), TemplateBody: aws.String(searchTemplate),
		Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam, cfntypes.CapabilityCapabilityAutoExpand}}); err != nil {
		t.Fatal(err)
	}
	outs := outputs(waitStack(t, c, "analytics", "CREATE_COMPLETE"))
	published := time.Now().UTC()
	for _, o := range []struct{ amount, customer string }{{"250", "Ada Lovelace"}, {"40", "Alan Turing"}, {"120", "Grace Hopper"}} {
		publishAmount(t, s, outs["TopicArn"], fmt.Sprintf(`{"amount":%s,"customer":%q,"time":%q}`, o.amount, o.customer, published.Format(time.RFC3339)), o.amount)
	}
	endpoint := outs["Endpoint"]
	waitIndexed(t, endpoint, "/checkout_events-*", 2)
	byContent := searchCall(t, endpoint, "/checkout_events-*/_search", `{"query":{"match":{"customer":"grace"}}}`)
	hits := byContent["hits"].(map[string]any)["hits"].([]any)
	if len(hits) != 1 || !strings.HasPrefix(hits[0].(map[string]any)["_index"].(string), "checkout_events-"+published.Format("2006-01-02")) {
		t.Fatalf("by content: %v", hits)
	}
	byTime := searchCall(t, endpoint, "/checkout_events-*/_search", fmt.Sprintf(`{"size":0,"query":{"range":{"time":{"gte":%q,"lte":"now+1h"}}},
		"aggs":{"per_hour":{"date_histogram":{"field":"time","calendar_interval":"hour"}},"total":{"sum":{"field":"amount"}}}}`,
		published.Add(-time.Minute).Format(time.RFC3339)))
	aggs := byTime["aggregations"].(map[string]any)
	if total := aggs["total"].(map[string]any)["value"]; total != 370.0 {
		t.Fatalf("by time: %v", aggs)
	}
	cat := searchCall(t, endpoint, "/_search", `{"query":{"term":{"customer.keyword":"Alan Turing"}}}`)
	if n := cat["hits"].(map[string]any)["total"].(map[string]any)["value"]; n != 0.0 {
		t.Fatalf("the filter let the 40 through: %v", cat)
	}
}

// TestEventForkPipelinesExample follows examples/event-fork-pipelines: the
// template deployed with forkline deploy, three checkouts, the backup, the
// search, a loss and its replay.
func TestEventForkPipelinesExample(t *testing.T) {
	t.Parallel()
	requireClient(t, "python3", "--version")
	s := servertest.Start(t, servertest.Options{})
	var log bytes.Buffer
	dc := deploy.NewClient(s.URL, "us-east-1", "AKIDFORKLINETEST", "forkline-test-secret", &log)
	dc.Poll = 20 * time.Millisecond
	dctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := dc.Deploy(dctx, deploy.Input{TemplateFile: "../examples/event-fork-pipelines/template.yaml", StackName: "checkout"}); err != nil {
		t.Fatalf("deploy: %v\n%s", err, log.String())
	}
	c := cloudformation.NewFromConfig(s.Config())
	ds, _ := c.DescribeStacks(ctx(t), &cloudformation.DescribeStacksInput{StackName: aws.String("checkout")})
	outs := outputs(ds)
	for _, o := range []struct{ id, amount string }{{"order-1", "250"}, {"order-2", "40"}, {"order-3", "120"}} {
		publishAmount(t, s, outs["CheckoutEventsTopicArn"], fmt.Sprintf(`{"id":%q,"amount":%s,"time":%q,"payment":{"type":"card","card-number":"4111111111111111","card-expiry":"12/29"}}`,
			o.id, o.amount, time.Now().UTC().Format(time.RFC3339)), o.amount)
	}
	q := sqs.NewFromConfig(s.Config())
	// The worker's queue holds the three checkouts; the loss: it is purged.
	for {
		a, err := q.GetQueueAttributes(ctx(t), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(outs["CheckoutQueueUrl"]),
			AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages"}})
		if err != nil {
			t.Fatal(err)
		}
		if a.Attributes["ApproximateNumberOfMessages"] == "3" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := q.PurgeQueue(ctx(t), &sqs.PurgeQueueInput{QueueUrl: aws.String(outs["CheckoutQueueUrl"])}); err != nil {
		t.Fatal(err)
	}
	// The replay.
	lc := lambda.NewFromConfig(s.Config())
	if _, err := lc.UpdateEventSourceMapping(ctx(t), &lambda.UpdateEventSourceMappingInput{UUID: aws.String(outs["ReplayMappingId"]), Enabled: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if got := outMessages(t, q, outs["CheckoutQueueUrl"], 3); len(got) != 3 || !strings.Contains(strings.Join(got, ""), "order-2") {
		t.Fatalf("replayed: %v", got)
	}
	// The backup and the search, after the 60 s interval.
	b := s3.NewFromConfig(s.Config(), func(o *s3.Options) { o.UsePathStyle = true })
	deadline := time.Now().Add(4 * time.Minute)
	for {
		list, err := b.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(outs["BackupBucketName"]), Prefix: aws.String("checkout/")})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Contents) > 0 {
			obj, _ := b.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String(outs["BackupBucketName"]), Key: list.Contents[0].Key})
			zr, err := gzip.NewReader(obj.Body)
			if err != nil {
				t.Fatal(err)
			}
			text, _ := io.ReadAll(zr)
			obj.Body.Close()
			if strings.Count(string(text), "\n") != 3 || strings.Contains(string(text), "card-number") || !strings.Contains(string(text), `"type": "card"`) {
				t.Fatalf("backup: %s", text)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no backup")
		}
		time.Sleep(500 * time.Millisecond)
	}
	waitIndexed(t, outs["SearchEndpoint"], "/checkout_events-*", 2)
	found := searchCall(t, outs["SearchEndpoint"], "/checkout_events-*/_search", `{"query":{"range":{"amount":{"gte":200}}}}`)
	hits := found["hits"].(map[string]any)["hits"].([]any)
	if len(hits) != 1 || hits[0].(map[string]any)["_source"].(map[string]any)["id"] != "order-1" {
		t.Fatalf("search: %v", hits)
	}
	// CloudFormation does not delete a bucket that holds objects ("The
	// bucket you tried to delete is not empty"): empty the backup first.
	list, _ := b.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(outs["BackupBucketName"])})
	for _, o := range list.Contents {
		b.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: aws.String(outs["BackupBucketName"]), Key: o.Key})
	}
	log.Reset()
	if err := dc.Delete(dctx, "checkout"); err != nil {
		t.Fatalf("delete: %v\n%s", err, log.String())
	}
}

// publishAmount publishes a checkout event with its amount as a Number
// message attribute, which the pipelines' filter policies read.
func publishAmount(t *testing.T, s *servertest.Server, topic, message, amount string) {
	t.Helper()
	if _, err := sns.NewFromConfig(s.Config()).Publish(ctx(t), &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String(message),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{"amount": {DataType: aws.String("Number"), StringValue: aws.String(amount)}}}); err != nil {
		t.Fatal(err)
	}
}

// waitIndexed waits up to 4 minutes (past Firehose's 60 s buffering) for an
// index expression to count n documents.
func waitIndexed(t *testing.T, endpoint, indexes string, n int) {
	t.Helper()
	deadline := time.Now().Add(4 * time.Minute)
	for {
		resp, err := http.Post("http://"+endpoint+indexes+"/_count", "application/json", strings.NewReader(`{}`))
		if err == nil {
			var out map[string]any
			json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if c, _ := out["count"].(float64); int(c) == n {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not reach %d documents", indexes, n)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
