package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/forkline/forkline/internal/server/servertest"
)

const pipelineTemplate = `AWSTemplateFormatVersion: "2010-09-09"
Description: An order pipeline
Parameters:
  Stage: {Type: String, Default: dev, AllowedValues: [dev, prod]}
  Visibility: {Type: Number, Default: 30}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Resources:
  DeadLetters:
    Type: AWS::SQS::Queue
  Orders:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-${Stage}-orders"
      VisibilityTimeout: !Ref Visibility
      RedrivePolicy: {deadLetterTargetArn: !GetAtt DeadLetters.Arn, maxReceiveCount: 3}
  Checkout:
    Type: AWS::SNS::Topic
  BigOrders:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Checkout
      Protocol: sqs
      Endpoint: !GetAtt Orders.Arn
      RawMessageDelivery: true
      FilterPolicyScope: MessageBody
      FilterPolicy: {total: [{numeric: [">=", 100]}]}
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Version: "2012-10-17", Statement: []}
  Greeter:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt Role.Arn
      Code:
        ZipFile: |
          def handler(event, context):
              return {"hello": event.get("name", "world")}
  Flow:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      RoleArn: !GetAtt Role.Arn
      DefinitionString: !Sub |
        {"StartAt": "Greet", "States": {"Greet": {"Type": "Task", "Resource": "${Greeter.Arn}", "End": true}}}
  ProdOnly:
    Type: AWS::SQS::Queue
    Condition: IsProd
  Artifacts:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
Outputs:
  OrdersUrl:
    Value: !Ref Orders
    Export: {Name: !Sub "${AWS::StackName}-orders-url"}
  TopicArn:
    Value: !Ref Checkout
  FlowArn:
    Value: !Ref Flow
`

func outputs(s *cloudformation.DescribeStacksOutput) map[string]string {
	out := map[string]string{}
	for _, o := range s.Stacks[0].Outputs {
		out[*o.OutputKey] = *o.OutputValue
	}
	return out
}

// A stack from a template through the CloudFormation API: created in
// dependency order, messages flow through it, an update changes it, a
// failing template rolls back, delete removes it (CloudFormation user
// guide, "Stack lifecycle").
func TestStacksLifecycle(t *testing.T) {
	requireClient(t, "python3", "--version")
	s := servertest.Start(t, servertest.Options{})
	c := cloudformation.NewFromConfig(s.Config())
	q := sqs.NewFromConfig(s.Config())
	_, err := c.CreateStack(ctx(t), &cloudformation.CreateStackInput{StackName: aws.String("shop"), TemplateBody: aws.String(pipelineTemplate)})
	wantCode(t, err, "InsufficientCapabilitiesException")
	if _, err := c.CreateStack(ctx(t), &cloudformation.CreateStackInput{StackName: aws.String("shop"), TemplateBody: aws.String(pipelineTemplate),
		Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam}}); err != nil {
		t.Fatal(err)
	}
	if err := cloudformation.NewStackCreateCompleteWaiter(c).Wait(ctx(t), &cloudformation.DescribeStacksInput{StackName: aws.String("shop")}, time.Minute,
		func(o *cloudformation.StackCreateCompleteWaiterOptions) {
			o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
		}); err != nil {
		ev, _ := c.DescribeStackEvents(ctx(t), &cloudformation.DescribeStackEventsInput{StackName: aws.String("shop")})
		for _, e := range ev.StackEvents {
			t.Logf("%s %s %s", aws.ToString(e.LogicalResourceId), e.ResourceStatus, aws.ToString(e.ResourceStatusReason))
		}
		t.Fatal(err)
	}
	ds, _ := c.DescribeStacks(ctx(t), &cloudformation.DescribeStacksInput{StackName: aws.String("shop")})
	outs := outputs(ds)
	if !strings.HasSuffix(outs["OrdersUrl"], "/shop-dev-orders") || outs["TopicArn"] == "" {
		t.Fatalf("outputs: %v", outs)
	}
	res, _ := c.DescribeStackResources(ctx(t), &cloudformation.DescribeStackResourcesInput{StackName: aws.String("shop")})
	if len(res.StackResources) != 8 { // ProdOnly's condition is false
		t.Fatalf("%d resources", len(res.StackResources))
	}
	// Messages flow through what was deployed.
	sc := sns.NewFromConfig(s.Config())
	sc.Publish(ctx(t), &sns.PublishInput{TopicArn: aws.String(outs["TopicArn"]), Message: aws.String(`{"total": 250}`)})
	sc.Publish(ctx(t), &sns.PublishInput{TopicArn: aws.String(outs["TopicArn"]), Message: aws.String(`{"total": 5}`)})
	msgs := receive(t, q, outs["OrdersUrl"], 10)
	if len(msgs) != 1 || *msgs[0].Body != `{"total": 250}` {
		t.Fatalf("filtered raw delivery: %d messages", len(msgs))
	}
	sf := startAndWait(t, s, outs["FlowArn"], `{"name":"stack"}`)
	if sf != `{"hello":"stack"}` {
		t.Fatalf("state machine output %s", sf)
	}
	ex, _ := c.ListExports(ctx(t), &cloudformation.ListExportsInput{})
	if len(ex.Exports) != 1 || *ex.Exports[0].Name != "shop-orders-url" {
		t.Fatalf("exports: %+v", ex.Exports)
	}

	// An update changes a property in place and adds the prod-only queue.
	_, err = c.UpdateStack(ctx(t), &cloudformation.UpdateStackInput{StackName: aws.String("shop"), UsePreviousTemplate: aws.Bool(true),
		Parameters:   []cfntypes.Parameter{{ParameterKey: aws.String("Stage"), UsePreviousValue: aws.Bool(true)}, {ParameterKey: aws.String("Visibility"), ParameterValue: aws.String("45")}},
		Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam}})
	if err != nil {
		t.Fatal(err)
	}
	if err := cloudformation.NewStackUpdateCompleteWaiter(c).Wait(ctx(t), &cloudformation.DescribeStacksInput{StackName: aws.String("shop")}, time.Minute,
		func(o *cloudformation.StackUpdateCompleteWaiterOptions) {
			o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
		}); err != nil {
		t.Fatal(err)
	}
	if v := attrs(t, q, outs["OrdersUrl"])["VisibilityTimeout"]; v != "45" {
		t.Fatalf("VisibilityTimeout after the update: %s", v)
	}
	_, err = c.UpdateStack(ctx(t), &cloudformation.UpdateStackInput{StackName: aws.String("shop"), UsePreviousTemplate: aws.Bool(true),
		Parameters:   []cfntypes.Parameter{{ParameterKey: aws.String("Stage"), UsePreviousValue: aws.Bool(true)}, {ParameterKey: aws.String("Visibility"), UsePreviousValue: aws.Bool(true)}},
		Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam}})
	if err == nil || !strings.Contains(err.Error(), "No updates are to be performed") {
		t.Fatalf("empty update: %v", err)
	}

	// Delete removes everything except what DeletionPolicy Retain keeps.
	deleteStack(t, c, "shop")
	if _, err := q.GetQueueUrl(ctx(t), &sqs.GetQueueUrlInput{QueueName: aws.String("shop-dev-orders")}); err == nil {
		t.Fatal("the queue outlived its stack")
	}
	lc := lambda.NewFromConfig(s.Config())
	fns, _ := lc.ListFunctions(ctx(t), &lambda.ListFunctionsInput{})
	if len(fns.Functions) != 0 {
		t.Fatalf("%d functions outlived their stack", len(fns.Functions))
	}
	bk := s3Client(s)
	bl, _ := bk.ListBuckets(ctx(t), nil)
	var user []string
	for _, b := range bl.Buckets {
		if !strings.HasPrefix(aws.ToString(b.Name), "forkline-") { // forkline's own (the application repository's)
			user = append(user, aws.ToString(b.Name))
		}
	}
	if len(user) != 1 {
		t.Fatalf("the retained bucket: %v", user)
	}
}

// A template that fails half way rolls back cleanly: what was made is
// removed and the stack is ROLLBACK_COMPLETE.
func TestStackRollback(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := cloudformation.NewFromConfig(s.Config())
	q := sqs.NewFromConfig(s.Config())
	body := `Resources:
  First: {Type: AWS::SQS::Queue, Properties: {QueueName: first}}
  Second: {Type: AWS::SQS::Queue, DependsOn: First, Properties: {QueueName: second, DelaySeconds: 9999}}
`
	if _, err := c.CreateStack(ctx(t), &cloudformation.CreateStackInput{StackName: aws.String("broken"), TemplateBody: aws.String(body)}); err != nil {
		t.Fatal(err)
	}
	err := cloudformation.NewStackCreateCompleteWaiter(c).Wait(ctx(t), &cloudformation.DescribeStacksInput{StackName: aws.String("broken")}, time.Minute,
		func(o *cloudformation.StackCreateCompleteWaiterOptions) {
			o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
		})
	if err == nil {
		t.Fatal("a failing template completed")
	}
	ds, _ := c.DescribeStacks(ctx(t), &cloudformation.DescribeStacksInput{StackName: aws.String("broken")})
	if ds.Stacks[0].StackStatus != cfntypes.StackStatusRollbackComplete {
		t.Fatalf("status %s", ds.Stacks[0].StackStatus)
	}
	ev, _ := c.DescribeStackEvents(ctx(t), &cloudformation.DescribeStackEventsInput{StackName: aws.String("broken")})
	failed := false
	for _, e := range ev.StackEvents {
		if aws.ToString(e.LogicalResourceId) == "Second" && e.ResourceStatus == cfntypes.ResourceStatusCreateFailed {
			failed = strings.Contains(aws.ToString(e.ResourceStatusReason), "DelaySeconds")
		}
	}
	if !failed {
		t.Fatal("no CREATE_FAILED event naming the bad property")
	}
	if _, err := q.GetQueueUrl(ctx(t), &sqs.GetQueueUrlInput{QueueName: aws.String("first")}); err == nil {
		t.Fatal("the rollback left the first queue")
	}
	_, err = c.CreateStack(ctx(t), &cloudformation.CreateStackInput{StackName: aws.String("bad"), TemplateBody: aws.String("Resources:\n  X: {Type: AWS::EC2::Instance}\n")})
	wantCode(t, err, "ValidationError")
}

// startAndWait runs a state machine and returns its output.
func startAndWait(t *testing.T, s *servertest.Server, arn, input string) string {
	t.Helper()
	c := sfn.NewFromConfig(s.Config())
	ex, err := c.StartExecution(ctx(t), &sfn.StartExecutionInput{StateMachineArn: aws.String(arn), Input: aws.String(input)})
	if err != nil {
		t.Fatal(err)
	}
	out := waitExecution(t, c, *ex.ExecutionArn)
	if out.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("execution %s: %s %s", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
	}
	return aws.ToString(out.Output)
}

// The AWS CLI's own flow: aws cloudformation deploy (a change set, its
// waiters, then the stack's), with parameter overrides, twice (create,
// then update), and a no-op deploy; then delete-stack.
func TestStacksWithAWSCLIDeploy(t *testing.T) {
	requireClient(t, "aws", "--version")
	requireClient(t, "python3", "--version")
	s := servertest.Start(t, servertest.Options{})
	dir := t.TempDir()
	file := filepath.Join(dir, "template.yaml")
	os.WriteFile(file, []byte(pipelineTemplate), 0o644)
	run := func(args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command("aws", append([]string{"--endpoint-url", s.URL, "--region", "us-east-1"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDFORKLINETEST", "AWS_SECRET_ACCESS_KEY=forkline-test-secret", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run("cloudformation", "deploy", "--template-file", file, "--stack-name", "cli-shop", "--capabilities", "CAPABILITY_IAM",
		"--parameter-overrides", "Stage=prod"); err != nil {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	c := cloudformation.NewFromConfig(s.Config())
	res, err := c.DescribeStackResources(ctx(t), &cloudformation.DescribeStackResourcesInput{StackName: aws.String("cli-shop")})
	if err != nil || len(res.StackResources) != 9 { // ProdOnly exists with Stage=prod
		t.Fatalf("resources after deploy: %d, %v", len(res.StackResources), err)
	}
	if out, err := run("cloudformation", "deploy", "--template-file", file, "--stack-name", "cli-shop", "--capabilities", "CAPABILITY_IAM",
		"--parameter-overrides", "Stage=dev", "Visibility=60"); err != nil {
		t.Fatalf("update deploy: %v\n%s", err, out)
	}
	res, _ = c.DescribeStackResources(ctx(t), &cloudformation.DescribeStackResourcesInput{StackName: aws.String("cli-shop")})
	if len(res.StackResources) != 8 {
		t.Fatalf("resources after the update: %d", len(res.StackResources))
	}
	out, err := run("cloudformation", "deploy", "--template-file", file, "--stack-name", "cli-shop", "--capabilities", "CAPABILITY_IAM",
		"--parameter-overrides", "Stage=dev", "Visibility=60", "--no-fail-on-empty-changeset")
	if err != nil || !strings.Contains(out, "No changes to deploy") {
		t.Fatalf("no-op deploy: %v\n%s", err, out)
	}
	if out, err := run("cloudformation", "delete-stack", "--stack-name", "cli-shop"); err != nil {
		t.Fatalf("delete-stack: %v\n%s", err, out)
	}
	if out, err := run("cloudformation", "wait", "stack-delete-complete", "--stack-name", "cli-shop"); err != nil {
		t.Fatalf("wait stack-delete-complete: %v\n%s", err, out)
	}
}

// customTemplate has a custom resource backed by an inline function that
// answers with the cfnresponse module CloudFormation provides, and records
// each request type in a queue.
const customTemplate = `AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Name: {Type: String, Default: world}
  Fail: {Type: String, Default: "no"}
Resources:
  Requests:
    Type: AWS::SQS::Queue
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Version: "2012-10-17", Statement: []}
  Greeter:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt Role.Arn
      Environment:
        Variables: {QUEUE: !Ref Requests}
      Code:
        ZipFile: |
          import os, urllib.parse, urllib.request
          import cfnresponse
          def handler(event, context):
              data = urllib.parse.urlencode({"Action": "SendMessage", "QueueUrl": os.environ["QUEUE"],
                                             "MessageBody": event["RequestType"]}).encode()
              urllib.request.urlopen(os.environ["AWS_ENDPOINT_URL"], data=data).read()
              props = event["ResourceProperties"]
              if props.get("Fail") == "yes" and event["RequestType"] != "Delete":
                  cfnresponse.send(event, context, cfnresponse.FAILED, {}, reason="asked to fail")
                  return
              cfnresponse.send(event, context, cfnresponse.SUCCESS, {"Message": "hello " + props["Name"]}, "greeting-" + props["Name"])
  Greeting:
    Type: Custom::Greeting
    Properties:
      ServiceToken: !GetAtt Greeter.Arn
      Name: !Ref Name
      Fail: !Ref Fail
Outputs:
  Message:
    Value: !GetAtt Greeting.Message
  Id:
    Value: !Ref Greeting
`

// TestCustomResource: the custom resource protocol of the CloudFormation
// user guide ("Custom resources"): requests with a presigned ResponseURL,
// answered by the cfn-response module, for create, update (a new physical
// ID deletes the old resource) and delete; a FAILED answer fails the
// resource with its reason and rolls back.
func TestCustomResource(t *testing.T) {
	requireClient(t, "python3", "--version")
	s := servertest.Start(t, servertest.Options{})
	c := cloudformation.NewFromConfig(s.Config())
	q := sqs.NewFromConfig(s.Config())
	caps := []cfntypes.Capability{cfntypes.CapabilityCapabilityIam}
	if _, err := c.CreateStack(ctx(t), &cloudformation.CreateStackInput{StackName: aws.String("custom"), TemplateBody: aws.String(customTemplate), Capabilities: caps}); err != nil {
		t.Fatal(err)
	}
	ds := waitStack(t, c, "custom", "CREATE_COMPLETE")
	if o := outputs(ds); o["Message"] != "hello world" || o["Id"] != "greeting-world" {
		t.Fatalf("outputs: %v", o)
	}
	requests := func() string {
		r, _ := c.DescribeStackResource(ctx(t), &cloudformation.DescribeStackResourceInput{StackName: aws.String("custom"), LogicalResourceId: aws.String("Requests")})
		if r == nil {
			return ""
		}
		url := aws.ToString(r.StackResourceDetail.PhysicalResourceId)
		return url
	}()
	if _, err := c.UpdateStack(ctx(t), &cloudformation.UpdateStackInput{StackName: aws.String("custom"), UsePreviousTemplate: aws.Bool(true), Capabilities: caps,
		Parameters: []cfntypes.Parameter{{ParameterKey: aws.String("Name"), ParameterValue: aws.String("ada")}}}); err != nil {
		t.Fatal(err)
	}
	ds = waitStack(t, c, "custom", "UPDATE_COMPLETE")
	if o := outputs(ds); o["Message"] != "hello ada" || o["Id"] != "greeting-ada" {
		t.Fatalf("outputs after the update: %v", o)
	}
	// A FAILED answer fails the update, which rolls back.
	if _, err := c.UpdateStack(ctx(t), &cloudformation.UpdateStackInput{StackName: aws.String("custom"), UsePreviousTemplate: aws.Bool(true), Capabilities: caps,
		Parameters: []cfntypes.Parameter{{ParameterKey: aws.String("Name"), UsePreviousValue: aws.Bool(true)}, {ParameterKey: aws.String("Fail"), ParameterValue: aws.String("yes")}}}); err != nil {
		t.Fatal(err)
	}
	waitStack(t, c, "custom", "UPDATE_ROLLBACK_COMPLETE")
	ev, _ := c.DescribeStackEvents(ctx(t), &cloudformation.DescribeStackEventsInput{StackName: aws.String("custom")})
	found := false
	for _, e := range ev.StackEvents {
		if aws.ToString(e.LogicalResourceId) == "Greeting" && e.ResourceStatus == cfntypes.ResourceStatusUpdateFailed &&
			strings.Contains(aws.ToString(e.ResourceStatusReason), "asked to fail") {
			found = true
		}
	}
	if !found {
		t.Fatal("no UPDATE_FAILED event with the function's reason")
	}
	got := outMessages(t, q, requests, 5)
	// Create, Update (to ada; the old greeting-world is deleted), the
	// failing Update, and the rollback's Update back to ada.
	if strings.Join(got, ",") != "Create,Delete,Update,Update,Update" {
		t.Fatalf("requests: %v", got)
	}
}

// A stack whose email subscription was never confirmed still deletes:
// SNS cannot delete a pending subscription (it expires after 48 hours),
// so the stack lets it go.
func TestStackWithPendingSubscriptionDeletes(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := cloudformation.NewFromConfig(s.Config())
	tmpl := `Resources:
  Alerts:
    Type: AWS::SNS::Topic
  Mail:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Alerts
      Protocol: email
      Endpoint: ops@example.com
`
	if _, err := c.CreateStack(ctx(t), &cloudformation.CreateStackInput{StackName: aws.String("mail"), TemplateBody: aws.String(tmpl)}); err != nil {
		t.Fatal(err)
	}
	waitStack(t, c, "mail", "CREATE_COMPLETE")
	deleteStack(t, c, "mail")
}

// deleteStack deletes a stack and waits until its deletion is complete.
func deleteStack(t *testing.T, c *cloudformation.Client, name string) {
	t.Helper()
	if _, err := c.DeleteStack(ctx(t), &cloudformation.DeleteStackInput{StackName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if err := cloudformation.NewStackDeleteCompleteWaiter(c).Wait(ctx(t), &cloudformation.DescribeStacksInput{StackName: aws.String(name)}, time.Minute,
		func(o *cloudformation.StackDeleteCompleteWaiterOptions) {
			o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
		}); err != nil {
		t.Fatal(err)
	}
}

// A stack's FIFO topic archives (AWS::SNS::Topic ArchivePolicy) and its
// subscription replays (AWS::SNS::Subscription ReplayPolicy); deleting
// the stack turns archiving off first, since SNS refuses to delete a topic
// that archives.
func TestStackWithArchivedTopic(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := cloudformation.NewFromConfig(s.Config())
	tmpl := `Resources:
  Ledger:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: ledger.fifo
      FifoTopic: true
      ContentBasedDeduplication: true
      ArchivePolicy:
        MessageRetentionPeriod: 30
  Copy:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: copy.fifo
      FifoQueue: true
  Replay:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Ledger
      Protocol: sqs
      Endpoint: !GetAtt Copy.Arn
      ReplayPolicy:
        PointType: Timestamp
        StartingPoint: "2020-01-01T00:00:00.000Z"
`
	if _, err := c.CreateStack(ctx(t), &cloudformation.CreateStackInput{StackName: aws.String("ledger"), TemplateBody: aws.String(tmpl)}); err != nil {
		t.Fatal(err)
	}
	waitStack(t, c, "ledger", "CREATE_COMPLETE")
	sc := sns.NewFromConfig(s.Config())
	arn := "arn:aws:sns:us-east-1:000000000000:ledger.fifo"
	ta, err := sc.GetTopicAttributes(ctx(t), &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if ta.Attributes["BeginningArchiveTime"] == "" || !strings.Contains(ta.Attributes["ArchivePolicy"], "30") {
		t.Fatalf("topic attributes %v", ta.Attributes)
	}
	subs, err := sc.ListSubscriptionsByTopic(ctx(t), &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(arn)})
	if err != nil || len(subs.Subscriptions) != 1 {
		t.Fatalf("subscriptions %v, %v", subs, err)
	}
	waitReplayStatus(t, sc, aws.ToString(subs.Subscriptions[0].SubscriptionArn), "Completed")
	deleteStack(t, c, "ledger")
}

// A stack update that turns a subscription's flat attribute filter into a
// nested body filter changes both in one update (the scope goes first, as
// SNS takes a scope before its policy), and one that drops the scope from
// the template goes back to the default, MessageAttributes.
func TestStackUpdateFilterPolicyScope(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := cloudformation.NewFromConfig(s.Config())
	tmpl := func(props string) string {
		return `Resources:
  Orders:
    Type: AWS::SNS::Topic
    Properties: {TopicName: scoped}
  Big:
    Type: AWS::SQS::Queue
    Properties: {QueueName: scoped-big}
  Sub:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Orders
      Protocol: sqs
      Endpoint: !GetAtt Big.Arn
` + props
	}
	update := func(body string) {
		t.Helper()
		if _, err := c.UpdateStack(ctx(t), &cloudformation.UpdateStackInput{StackName: aws.String("scoped"), TemplateBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
		waitStack(t, c, "scoped", "UPDATE_COMPLETE")
	}
	if _, err := c.CreateStack(ctx(t), &cloudformation.CreateStackInput{StackName: aws.String("scoped"),
		TemplateBody: aws.String(tmpl(`      FilterPolicy: {kind: [order]}` + "\n"))}); err != nil {
		t.Fatal(err)
	}
	waitStack(t, c, "scoped", "CREATE_COMPLETE")
	sc := sns.NewFromConfig(s.Config())
	subAttrs := func() map[string]string {
		t.Helper()
		subs, err := sc.ListSubscriptionsByTopic(ctx(t), &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String("arn:aws:sns:us-east-1:000000000000:scoped")})
		if err != nil || len(subs.Subscriptions) != 1 {
			t.Fatalf("subscriptions %v, %v", subs, err)
		}
		a, err := sc.GetSubscriptionAttributes(ctx(t), &sns.GetSubscriptionAttributesInput{SubscriptionArn: subs.Subscriptions[0].SubscriptionArn})
		if err != nil {
			t.Fatal(err)
		}
		return a.Attributes
	}
	update(tmpl(`      FilterPolicyScope: MessageBody
      FilterPolicy: {order: {total: [{numeric: [">=", 100]}]}}
`))
	if a := subAttrs(); a["FilterPolicyScope"] != "MessageBody" || !strings.Contains(a["FilterPolicy"], "total") {
		t.Fatalf("after the update to a body filter: %v", a)
	}
	update(tmpl(`      FilterPolicy: {kind: [refund]}` + "\n"))
	if a := subAttrs(); a["FilterPolicyScope"] != "MessageAttributes" || !strings.Contains(a["FilterPolicy"], "refund") {
		t.Fatalf("after the update back to an attribute filter: %v", a)
	}
	deleteStack(t, c, "scoped")
}

// A topic's DeliveryStatusLogging (AWS::SNS::Topic LoggingConfig items:
// Protocol http/s, sqs, lambda, firehose or application) becomes its
// <Protocol>SuccessFeedbackRoleArn, ...SampleRate and
// ...FailureFeedbackRoleArn attributes; an update removes what the
// template no longer has.
func TestStackTopicDeliveryStatusLogging(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := cloudformation.NewFromConfig(s.Config())
	tmpl := func(logging string) string {
		return `Resources:
  Audited:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: audited
      DeliveryStatusLogging:
` + logging
	}
	if _, err := c.CreateStack(ctx(t), &cloudformation.CreateStackInput{StackName: aws.String("audit"), TemplateBody: aws.String(tmpl(`        - Protocol: sqs
          SuccessFeedbackSampleRate: 45
          SuccessFeedbackRoleArn: arn:aws:iam::000000000000:role/ok
          FailureFeedbackRoleArn: arn:aws:iam::000000000000:role/failed
`))}); err != nil {
		t.Fatal(err)
	}
	waitStack(t, c, "audit", "CREATE_COMPLETE")
	sc := sns.NewFromConfig(s.Config())
	arn := "arn:aws:sns:us-east-1:000000000000:audited"
	attrs := func() map[string]string { t.Helper(); return topicAttributes(t, sc, arn) }
	if a := attrs(); a["SQSSuccessFeedbackSampleRate"] != "45" || a["SQSSuccessFeedbackRoleArn"] != "arn:aws:iam::000000000000:role/ok" ||
		a["SQSFailureFeedbackRoleArn"] != "arn:aws:iam::000000000000:role/failed" {
		t.Fatalf("after create: %v", a)
	}
	if _, err := c.UpdateStack(ctx(t), &cloudformation.UpdateStackInput{StackName: aws.String("audit"), TemplateBody: aws.String(tmpl(`        - Protocol: http/s
          FailureFeedbackRoleArn: arn:aws:iam::000000000000:role/failed
`))}); err != nil {
		t.Fatal(err)
	}
	waitStack(t, c, "audit", "UPDATE_COMPLETE")
	if a := attrs(); a["HTTPFailureFeedbackRoleArn"] != "arn:aws:iam::000000000000:role/failed" || a["SQSSuccessFeedbackRoleArn"] != "" ||
		a["SQSFailureFeedbackRoleArn"] != "" || a["SQSSuccessFeedbackSampleRate"] != "" {
		t.Fatalf("after update: %v", a)
	}
	deleteStack(t, c, "audit")
}

// An AWS::SNS::Topic's properties update in place ("Update requires: No
// interruption", CloudFormation user guide, AWS::SNS::Topic): a changed
// one is set, a removed one goes back to its default, and
// DataProtectionPolicy is put or deleted.
func TestStackTopicPropertiesUpdate(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := cloudformation.NewFromConfig(s.Config())
	const head = `Resources:
  News:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: news
`
	first := head + `      DisplayName: A
      SignatureVersion: "2"
      TracingConfig: Active
      KmsMasterKeyId: alias/aws/sns
      DataProtectionPolicy:
        Name: basic
        Version: "2021-06-01"
        Statement: []
`
	if _, err := c.CreateStack(ctx(t), &cloudformation.CreateStackInput{StackName: aws.String("news"), TemplateBody: aws.String(first)}); err != nil {
		t.Fatal(err)
	}
	waitStack(t, c, "news", "CREATE_COMPLETE")
	sc := sns.NewFromConfig(s.Config())
	arn := "arn:aws:sns:us-east-1:000000000000:news"
	attrs := func() map[string]string { t.Helper(); return topicAttributes(t, sc, arn) }
	policy := func() string {
		t.Helper()
		out, err := sc.GetDataProtectionPolicy(ctx(t), &sns.GetDataProtectionPolicyInput{ResourceArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.DataProtectionPolicy)
	}
	if a := attrs(); a["DisplayName"] != "A" || a["SignatureVersion"] != "2" || a["TracingConfig"] != "Active" || a["KmsMasterKeyId"] != "alias/aws/sns" || !strings.Contains(policy(), "basic") {
		t.Fatalf("after create: %v, policy %q", a, policy())
	}
	if _, err := c.UpdateStack(ctx(t), &cloudformation.UpdateStackInput{StackName: aws.String("news"), TemplateBody: aws.String(head + "      DisplayName: B\n")}); err != nil {
		t.Fatal(err)
	}
	waitStack(t, c, "news", "UPDATE_COMPLETE")
	if a := attrs(); a["DisplayName"] != "B" || a["SignatureVersion"] != "1" || a["TracingConfig"] != "PassThrough" || a["KmsMasterKeyId"] != "" || policy() != "" {
		t.Fatalf("after update: %v, policy %q", a, policy())
	}
	deleteStack(t, c, "news")
}

// AWS::SNS::TopicPolicy and AWS::SNS::TopicInlinePolicy set the topics'
// Policy attribute (CloudFormation user guide); removing a topic from the
// resource restores its default policy.
func TestStackTopicPolicies(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := cloudformation.NewFromConfig(s.Config())
	tmpl := func(topics, sid string) string {
		return `Resources:
  One:
    Type: AWS::SNS::Topic
    Properties: {TopicName: one}
  Two:
    Type: AWS::SNS::Topic
    Properties: {TopicName: two}
  Three:
    Type: AWS::SNS::Topic
    Properties: {TopicName: three}
  Shared:
    Type: AWS::SNS::TopicPolicy
    Properties:
      Topics: [` + topics + `]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Sid: ` + sid + `
            Effect: Allow
            Principal: {Service: events.amazonaws.com}
            Action: sns:Publish
            Resource: "*"
  Inline:
    Type: AWS::SNS::TopicInlinePolicy
    Properties:
      TopicArn: !Ref Three
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Sid: inline
            Effect: Allow
            Principal: {Service: s3.amazonaws.com}
            Action: sns:Publish
            Resource: !Ref Three
`
	}
	if _, err := c.CreateStack(ctx(t), &cloudformation.CreateStackInput{StackName: aws.String("policies"), TemplateBody: aws.String(tmpl("!Ref One, !Ref Two", "events"))}); err != nil {
		t.Fatal(err)
	}
	waitStack(t, c, "policies", "CREATE_COMPLETE")
	sc := sns.NewFromConfig(s.Config())
	policy := func(name string) string {
		t.Helper()
		return topicAttributes(t, sc, "arn:aws:sns:us-east-1:000000000000:"+name)["Policy"]
	}
	if !strings.Contains(policy("one"), `"events"`) || !strings.Contains(policy("two"), `"events"`) || !strings.Contains(policy("three"), `"inline"`) {
		t.Fatalf("after create: %s / %s / %s", policy("one"), policy("two"), policy("three"))
	}
	if _, err := c.UpdateStack(ctx(t), &cloudformation.UpdateStackInput{StackName: aws.String("policies"), TemplateBody: aws.String(tmpl("!Ref Two", "events2"))}); err != nil {
		t.Fatal(err)
	}
	waitStack(t, c, "policies", "UPDATE_COMPLETE")
	if p := policy("one"); !strings.Contains(p, "__default_policy_ID") {
		t.Fatalf("a topic dropped from the policy kept %s", p)
	}
	if !strings.Contains(policy("two"), `"events2"`) {
		t.Fatalf("after update: %s", policy("two"))
	}
	deleteStack(t, c, "policies")
}

// A topic's inline Subscription list updates in place (CloudFormation
// user guide, AWS::SNS::Topic: "Update requires: No interruption"): added
// endpoints are subscribed, removed ones unsubscribed.
func TestStackTopicInlineSubscriptionsUpdate(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := cloudformation.NewFromConfig(s.Config())
	tmpl := func(queues ...string) string {
		out := `Resources:
  A:
    Type: AWS::SQS::Queue
    Properties: {QueueName: inline-a}
  B:
    Type: AWS::SQS::Queue
    Properties: {QueueName: inline-b}
  Feed:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: feed
      Subscription:
`
		for _, q := range queues {
			out += "        - Protocol: sqs\n          Endpoint: !GetAtt " + q + ".Arn\n"
		}
		return out
	}
	endpoints := func() []string {
		t.Helper()
		out, err := sns.NewFromConfig(s.Config()).ListSubscriptionsByTopic(ctx(t), &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String("arn:aws:sns:us-east-1:000000000000:feed")})
		if err != nil {
			t.Fatal(err)
		}
		var eps []string
		for _, x := range out.Subscriptions {
			eps = append(eps, aws.ToString(x.Endpoint))
		}
		slices.Sort(eps)
		return eps
	}
	if _, err := c.CreateStack(ctx(t), &cloudformation.CreateStackInput{StackName: aws.String("feed"), TemplateBody: aws.String(tmpl("A"))}); err != nil {
		t.Fatal(err)
	}
	waitStack(t, c, "feed", "CREATE_COMPLETE")
	if eps := endpoints(); !slices.Equal(eps, []string{queueArn("inline-a")}) {
		t.Fatalf("after create: %v", eps)
	}
	if _, err := c.UpdateStack(ctx(t), &cloudformation.UpdateStackInput{StackName: aws.String("feed"), TemplateBody: aws.String(tmpl("B"))}); err != nil {
		t.Fatal(err)
	}
	waitStack(t, c, "feed", "UPDATE_COMPLETE")
	if eps := endpoints(); !slices.Equal(eps, []string{queueArn("inline-b")}) {
		t.Fatalf("after update: %v", eps)
	}
	deleteStack(t, c, "feed")
}

// topicAttributes is GetTopicAttributes's answer for arn.
func topicAttributes(t *testing.T, c *sns.Client, arn string) map[string]string {
	t.Helper()
	ta, err := c.GetTopicAttributes(ctx(t), &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	return ta.Attributes
}
