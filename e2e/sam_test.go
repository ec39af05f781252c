package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/forkline/forkline/internal/server/servertest"
)

// samWorker is a function that forwards what it receives to the queue
// OUT_URL, tagged by its layer and the alias it was invoked through; it
// calls forkline's SQS API over plain HTTP (unsigned query requests are
// accepted on loopback), so it needs no SDK.
const samWorker = `import json, os, urllib.parse, urllib.request
from shared import tag

def forward(text, context):
    qualifier = context.invoked_function_arn.split(":")[-1]
    data = urllib.parse.urlencode({"Action": "SendMessage", "QueueUrl": os.environ["OUT_URL"],
                                   "MessageBody": tag(text) + "|" + qualifier}).encode()
    urllib.request.urlopen(os.environ["AWS_ENDPOINT_URL"], data=data).read()

def handler(event, context):
    for r in event.get("Records", []):
        forward(r["body"] if "body" in r else r["Sns"]["Message"], context)
    if event.get("source") == "shop":
        forward(event["detail"]["item"], context)
    if "direct" in event:
        forward(event["direct"], context)
    return {"ok": True}
`

const samTemplate = `AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Description: A SAM pipeline
Parameters:
  CodeKey: {Type: String, Default: worker-v1.zip}
Globals:
  Function:
    Runtime: python3.12
    Timeout: 10
    Environment:
      Variables:
        OUT_URL: !Ref Out
Resources:
  Inbox:
    Type: AWS::SQS::Queue
  Out:
    Type: AWS::SQS::Queue
  Topic:
    Type: AWS::SNS::Topic
  Shared:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: s3://artifacts/layer.zip
      CompatibleRuntimes: [python3.12]
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {Bucket: artifacts, Key: !Ref CodeKey}
      Handler: index.handler
      Layers: [!Ref Shared]
      AutoPublishAlias: live
      DeploymentPreference: {Type: AllAtOnce}
      Policies:
        - SQSSendMessagePolicy: {QueueName: !GetAtt Out.QueueName}
      Events:
        FromInbox:
          Type: SQS
          Properties: {Queue: !GetAtt Inbox.Arn, BatchSize: 1}
        FromTopic:
          Type: SNS
          Properties: {Topic: !Ref Topic}
        Orders:
          Type: EventBridgeRule
          Properties:
            Pattern: {source: [shop]}
        Nightly:
          Type: Schedule
          Properties: {Schedule: "cron(0 3 * * ? *)", Name: nightly-worker}
  Flow:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: Call
        States:
          Call:
            Type: Task
            Resource: arn:aws:states:::lambda:invoke
            Parameters:
              FunctionName: !Ref Worker.Alias
              Payload: {direct: flow}
            End: true
      Policies:
        - LambdaInvokePolicy: {FunctionName: !Ref Worker}
Outputs:
  AliasArn:
    Value: !Ref Worker.Alias
  FlowArn:
    Value: !Ref Flow
`

func samArtifacts(t *testing.T, s *servertest.Server) {
	t.Helper()
	c := s3.NewFromConfig(s.Config(), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := c.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String("artifacts")}); err != nil {
		t.Fatal(err)
	}
	put := func(key string, body []byte) {
		if _, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("artifacts"), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	put("worker-v1.zip", zipFiles(map[string]zipEntry{"index.py": {[]byte(samWorker), 0o644}}))
	put("worker-v2.zip", zipFiles(map[string]zipEntry{"index.py": {[]byte(strings.Replace(samWorker, `tag(text) + "|"`, `"v2:" + tag(text) + "|"`, 1)), 0o644}}))
	put("layer.zip", zipFiles(map[string]zipEntry{"python/shared.py": {[]byte("def tag(text):\n    return 'layer:' + text\n"), 0o644}}))
}

func waitStack(t *testing.T, c *cloudformation.Client, name, want string) *cloudformation.DescribeStacksOutput {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ds, err := c.DescribeStacks(ctx(t), &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
		if err == nil && len(ds.Stacks) == 1 && !strings.HasSuffix(string(ds.Stacks[0].StackStatus), "_IN_PROGRESS") {
			if string(ds.Stacks[0].StackStatus) != want {
				ev, _ := c.DescribeStackEvents(ctx(t), &cloudformation.DescribeStackEventsInput{StackName: aws.String(name)})
				for _, e := range ev.StackEvents {
					t.Logf("%s %s %s", aws.ToString(e.LogicalResourceId), e.ResourceStatus, aws.ToString(e.ResourceStatusReason))
				}
				t.Fatalf("stack %s is %s (%s), want %s", name, ds.Stacks[0].StackStatus, aws.ToString(ds.Stacks[0].StackStatusReason), want)
			}
			return ds
		}
		if time.Now().After(deadline) {
			t.Fatalf("stack %s did not settle: %v", name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// outMessages receives n messages from the queue and returns their bodies,
// sorted.
func outMessages(t *testing.T, q *sqs.Client, url string, n int) []string {
	t.Helper()
	var got []string
	deadline := time.Now().Add(90 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		out, err := q.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			got = append(got, aws.ToString(m.Body))
			q.DeleteMessage(ctx(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle})
		}
	}
	sort.Strings(got)
	return got
}

func TestSAMTemplateDeploysAndRuns(t *testing.T) {
	requireClient(t, "python3", "--version")
	s := servertest.Start(t, servertest.Options{})
	samArtifacts(t, s)
	c := cloudformation.NewFromConfig(s.Config())
	q := sqs.NewFromConfig(s.Config())
	// "Requires capabilities : [CAPABILITY_AUTO_EXPAND]": CloudFormation user guide, "Acknowledging IAM resources" / transforms.
	_, err := c.CreateStack(ctx(t), &cloudformation.CreateStackInput{StackName: aws.String("sam"), TemplateBody: aws.String(samTemplate),
		Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam}})
	wantCode(t, err, "InsufficientCapabilitiesException")
	if _, err := c.CreateStack(ctx(t), &cloudformation.CreateStackInput{StackName: aws.String("sam"), TemplateBody: aws.String(samTemplate),
		Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam, cfntypes.CapabilityCapabilityAutoExpand}}); err != nil {
		t.Fatal(err)
	}
	ds := waitStack(t, c, "sam", "CREATE_COMPLETE")
	outs := outputs(ds)
	if !strings.HasSuffix(outs["AliasArn"], ":live") {
		t.Fatalf("outputs: %v", outs)
	}
	res, err := c.DescribeStackResources(ctx(t), &cloudformation.DescribeStackResourcesInput{StackName: aws.String("sam")})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]string{}
	for _, r := range res.StackResources {
		byID[aws.ToString(r.LogicalResourceId)] = aws.ToString(r.ResourceType)
	}
	for id, typ := range map[string]string{"Worker": "AWS::Lambda::Function", "WorkerRole": "AWS::IAM::Role", "WorkerAliaslive": "AWS::Lambda::Alias",
		"WorkerFromInbox": "AWS::Lambda::EventSourceMapping", "WorkerFromTopic": "AWS::SNS::Subscription", "WorkerFromTopicPermission": "AWS::Lambda::Permission",
		"WorkerOrders": "AWS::Events::Rule", "WorkerNightly": "AWS::Events::Rule", "WorkerDeploymentGroup": "AWS::CodeDeploy::DeploymentGroup",
		"ServerlessDeploymentApplication": "AWS::CodeDeploy::Application", "Flow": "AWS::StepFunctions::StateMachine", "FlowRole": "AWS::IAM::Role"} {
		if byID[id] != typ {
			t.Errorf("resource %s is %q, want %s (have %v)", id, byID[id], typ, byID)
		}
	}
	var versions, layers int
	for id, typ := range byID {
		if strings.HasPrefix(id, "WorkerVersion") && typ == "AWS::Lambda::Version" {
			versions++
		}
		if strings.HasPrefix(id, "Shared") && len(id) == len("Shared")+10 && typ == "AWS::Lambda::LayerVersion" {
			layers++
		}
	}
	if versions != 1 || layers != 1 {
		t.Fatalf("versions %d, layers %d: %v", versions, layers, byID)
	}
	// GetTemplate gives the template as given and, with TemplateStage
	// Processed, as expanded ("GetTemplate", CloudFormation API reference).
	processed, err := c.GetTemplate(ctx(t), &cloudformation.GetTemplateInput{StackName: aws.String("sam"), TemplateStage: cfntypes.TemplateStageProcessed})
	if err != nil || !strings.Contains(aws.ToString(processed.TemplateBody), "AWS::Lambda::EventSourceMapping") {
		t.Fatalf("processed template: %v", err)
	}
	original, _ := c.GetTemplate(ctx(t), &cloudformation.GetTemplateInput{StackName: aws.String("sam")})
	if !strings.Contains(aws.ToString(original.TemplateBody), "AWS::Serverless::Function") {
		t.Fatal("original template not kept")
	}

	// Events reach the function through its alias and layer.
	inbox, _ := q.GetQueueUrl(ctx(t), &sqs.GetQueueUrlInput{QueueName: aws.String(physicalOf(t, c, "sam", "Inbox", true))})
	out := physicalOf(t, c, "sam", "Out", false)
	q.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: inbox.QueueUrl, MessageBody: aws.String("from-queue")})
	topic := physicalOf(t, c, "sam", "Topic", false)
	if _, err := sns.NewFromConfig(s.Config()).Publish(ctx(t), &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("from-topic")}); err != nil {
		t.Fatal(err)
	}
	putEvent(t, s, "shop", `{"item":"from-rule"}`)
	if _, err := sfn.NewFromConfig(s.Config()).StartExecution(ctx(t), &sfn.StartExecutionInput{StateMachineArn: aws.String(outs["FlowArn"])}); err != nil {
		t.Fatal(err)
	}
	got := outMessages(t, q, out, 4)
	want := []string{"layer:flow|live", "layer:from-queue|live", "layer:from-rule|live", "layer:from-topic|live"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("forwarded %q, want %q", got, want)
	}
	// The schedule is a rule on forkline's EventBridge.
	eb := eventbridge.NewFromConfig(s.Config())
	rule, err := eb.DescribeRule(ctx(t), &eventbridge.DescribeRuleInput{Name: aws.String("nightly-worker")})
	if err != nil || aws.ToString(rule.ScheduleExpression) != "cron(0 3 * * ? *)" || rule.State != ebtypes.RuleStateEnabled {
		t.Fatalf("rule: %+v %v", rule, err)
	}

	// An update to the code publishes a new version behind the alias.
	if _, err := c.UpdateStack(ctx(t), &cloudformation.UpdateStackInput{StackName: aws.String("sam"), UsePreviousTemplate: aws.Bool(true),
		Parameters:   []cfntypes.Parameter{{ParameterKey: aws.String("CodeKey"), ParameterValue: aws.String("worker-v2.zip")}},
		Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam, cfntypes.CapabilityCapabilityAutoExpand}}); err != nil {
		t.Fatal(err)
	}
	waitStack(t, c, "sam", "UPDATE_COMPLETE")
	q.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: inbox.QueueUrl, MessageBody: aws.String("after-update")})
	if got := outMessages(t, q, out, 1); len(got) != 1 || got[0] != "v2:layer:after-update|live" {
		t.Fatalf("after the update: %q", got)
	}
	lc := lambda.NewFromConfig(s.Config())
	alias, err := lc.GetAlias(ctx(t), &lambda.GetAliasInput{FunctionName: aws.String(outs["AliasArn"][:strings.LastIndex(outs["AliasArn"], ":")]), Name: aws.String("live")})
	if err != nil || aws.ToString(alias.FunctionVersion) != "2" {
		t.Fatalf("alias after the update: %v %v", alias, err)
	}

	if _, err := c.DeleteStack(ctx(t), &cloudformation.DeleteStackInput{StackName: aws.String("sam")}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := c.DescribeStacks(ctx(t), &cloudformation.DescribeStacksInput{StackName: aws.String("sam")})
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("stack not deleted")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := q.GetQueueUrl(ctx(t), &sqs.GetQueueUrlInput{QueueName: aws.String(physicalName(inbox.QueueUrl))}); err == nil {
		t.Fatal("queue left behind")
	}
	_, err = eb.DescribeRule(ctx(t), &eventbridge.DescribeRuleInput{Name: aws.String("nightly-worker")})
	wantCode(t, err, "ResourceNotFoundException")
}

func physicalName(url *string) string {
	u := aws.ToString(url)
	return u[strings.LastIndex(u, "/")+1:]
}

// physicalOf is a resource's physical ID; for a queue, its name when name
// is true.
func physicalOf(t *testing.T, c *cloudformation.Client, stack, id string, name bool) string {
	t.Helper()
	r, err := c.DescribeStackResource(ctx(t), &cloudformation.DescribeStackResourceInput{StackName: aws.String(stack), LogicalResourceId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	p := aws.ToString(r.StackResourceDetail.PhysicalResourceId)
	if name {
		p = p[strings.LastIndex(p, "/")+1:]
	}
	return p
}

func putEvent(t *testing.T, s *servertest.Server, source, detail string) {
	t.Helper()
	out, err := eventbridge.NewFromConfig(s.Config()).PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{
		{Source: aws.String(source), DetailType: aws.String("Order"), Detail: aws.String(detail)}}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %v %v", out, err)
	}
}

// TestSAMWithAWSCLIPackageAndDeploy runs the flow the SAM and CloudFormation
// guides teach: aws cloudformation package uploads a local CodeUri folder
// to S3 and rewrites the template, aws cloudformation deploy creates it.
func TestSAMWithAWSCLIPackageAndDeploy(t *testing.T) {
	requireClient(t, "aws", "--version")
	requireClient(t, "python3", "--version")
	s := servertest.Start(t, servertest.Options{})
	c := s3.NewFromConfig(s.Config(), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := c.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String("deploys")}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "src"), 0o755)
	os.WriteFile(filepath.Join(dir, "src", "app.py"), []byte("def handler(event, context):\n    return {'greeting': 'hello ' + event['name']}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "template.yaml"), []byte(`AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ./src
      Handler: app.handler
      Runtime: python3.12
      FunctionName: cli-hello
`), 0o644)
	run := func(args ...string) (string, error) {
		t.Helper()
		// AWS_ENDPOINT_URL reaches every service the command calls: package
		// calls S3, which --endpoint-url (CloudFormation's) does not cover.
		cmd := exec.Command("aws", append([]string{"--region", "us-east-1"}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL="+s.URL, "AWS_ACCESS_KEY_ID=AKIDFORKLINETEST", "AWS_SECRET_ACCESS_KEY=forkline-test-secret", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run("cloudformation", "package", "--template-file", "template.yaml", "--s3-bucket", "deploys", "--output-template-file", "packaged.yaml"); err != nil {
		t.Fatalf("package: %v\n%s", err, out)
	}
	packaged, _ := os.ReadFile(filepath.Join(dir, "packaged.yaml"))
	if !strings.Contains(string(packaged), "s3://deploys/") {
		t.Fatalf("packaged template:\n%s", packaged)
	}
	if out, err := run("cloudformation", "deploy", "--template-file", "packaged.yaml", "--stack-name", "cli-sam",
		"--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"); err != nil {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	lc := lambda.NewFromConfig(s.Config())
	inv, err := lc.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("cli-hello"), Payload: []byte(`{"name":"sam"}`)})
	if err != nil || string(inv.Payload) != `{"greeting": "hello sam"}` {
		t.Fatalf("invoke: %s %v", inv.Payload, err)
	}
	if out, err := run("cloudformation", "delete-stack", "--stack-name", "cli-sam"); err != nil {
		t.Fatalf("delete-stack: %v\n%s", err, out)
	}
	if out, err := run("cloudformation", "wait", "stack-delete-complete", "--stack-name", "cli-sam"); err != nil {
		t.Fatalf("wait: %v\n%s", err, out)
	}
}
