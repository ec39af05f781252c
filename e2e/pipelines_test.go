package e2e

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

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
	sc := sns.NewFromConfig(s.Config())
	for _, amount := range []string{"250", "40", "120"} {
		if _, err := sc.Publish(ctx(t), &sns.PublishInput{TopicArn: aws.String(outs["TopicArn"]), Message: aws.String(`{"order":` + amount + `}`),
			MessageAttributes: map[string]snstypes.MessageAttributeValue{"amount": {DataType: aws.String("Number"), StringValue: aws.String(amount)}}}); err != nil {
			t.Fatal(err)
		}
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
