package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/forkline/forkline/internal/deploy"
	"github.com/forkline/forkline/internal/server"
	"github.com/forkline/forkline/internal/server/servertest"
)

const deployParent = `AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Greeting: {Type: String, Default: hello}
Resources:
  Tools:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: ./layer
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ./hello
      Handler: app.handler
      Runtime: python3.12
      FunctionName: deploy-hello
      Layers: [!Ref Tools]
      Environment:
        Variables:
          GREETING: !Ref Greeting
          QUEUE_URL: !GetAtt Queues.Outputs.WorkUrl
  Flow:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: ./flow.asl.json
      DefinitionSubstitutions:
        HelloArn: !GetAtt Hello.Arn
  Queues:
    Type: AWS::Serverless::Application
    Properties:
      Location: ./queues.yaml
      Parameters: {Prefix: !Ref AWS::StackName}
Outputs:
  FlowArn:
    Value: !Ref Flow
  WorkUrl:
    Value: !GetAtt Queues.Outputs.WorkUrl
`

const deployChild = `AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Prefix: {Type: String}
Resources:
  Work:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${Prefix}-work"
Outputs:
  WorkUrl:
    Value: !Ref Work
`

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestForklineDeploy(t *testing.T) {
	requireClient(t, "python3", "--version")
	s := servertest.Start(t, servertest.Options{})
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"template.yaml":         deployParent,
		"queues.yaml":           deployChild,
		"hello/app.py":          "import os\nfrom tools import shout\n\ndef handler(event, context):\n    return {'message': shout(os.environ['GREETING'] + ' ' + event['name']), 'queue': os.environ['QUEUE_URL']}\n",
		"layer/python/tools.py": "def shout(s):\n    return s.upper()\n",
		"flow.asl.json":         `{"StartAt":"Hello","States":{"Hello":{"Type":"Task","Resource":"${HelloArn}","End":true}}}`,
	})
	var out bytes.Buffer
	c := deploy.NewClient(s.URL, "us-east-1", "AKIDFORKLINETEST", "forkline-test-secret", &out)
	c.Poll = 20 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tpl := filepath.Join(dir, "template.yaml")
	if err := c.Deploy(ctx, deploy.Input{TemplateFile: tpl, StackName: "app"}); err != nil {
		t.Fatalf("deploy: %v\n%s", err, out.String())
	}
	for _, want := range []string{"Uploaded", "+ Add", "CREATE_IN_PROGRESS", "AWS::CloudFormation::Stack", "CREATE_COMPLETE", "Successfully created/updated stack - app", "WorkUrl"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
	lc := lambda.NewFromConfig(s.Config())
	inv, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("deploy-hello"), Payload: []byte(`{"name":"ada"}`)})
	if err != nil || !strings.Contains(string(inv.Payload), `"message": "HELLO ADA"`) || !strings.Contains(string(inv.Payload), "/app-work") {
		t.Fatalf("invoke: %s %v", inv.Payload, err)
	}
	cf := cloudformation.NewFromConfig(s.Config())
	ds, _ := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("app")})
	flowArn := outputs(ds)["FlowArn"]
	if arn := startAndWait(t, s, flowArn, `{"name":"flow"}`); !strings.Contains(arn, "HELLO FLOW") {
		t.Fatalf("state machine output: %s", arn)
	}
	// The nested stack is a stack of its own, with its parent.
	list, _ := cf.ListStacks(ctx, &cloudformation.ListStacksInput{})
	nested := ""
	for _, st := range list.StackSummaries {
		if aws.ToString(st.ParentId) != "" && st.StackStatus == "CREATE_COMPLETE" {
			nested = aws.ToString(st.StackName)
		}
	}
	if !strings.HasPrefix(nested, "app-Queues-") {
		t.Fatalf("nested stack: %q", nested)
	}

	// Deploying the same again changes nothing.
	out.Reset()
	if err := c.Deploy(ctx, deploy.Input{TemplateFile: tpl, StackName: "app"}); err != nil || !strings.Contains(out.String(), "No changes to deploy") {
		t.Fatalf("second deploy: %v\n%s", err, out.String())
	}
	// A parameter override updates the stack; the others keep their values.
	out.Reset()
	if err := c.Deploy(ctx, deploy.Input{TemplateFile: tpl, StackName: "app", Parameters: map[string]string{"Greeting": "bonjour"}}); err != nil {
		t.Fatalf("update: %v\n%s", err, out.String())
	}
	inv, _ = lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("deploy-hello"), Payload: []byte(`{"name":"ada"}`)})
	if !strings.Contains(string(inv.Payload), "BONJOUR ADA") {
		t.Fatalf("after the update: %s", inv.Payload)
	}
	// A failing update rolls back, and says so.
	writeFiles(t, dir, map[string]string{"bad.yaml": strings.Replace(deployParent, "Runtime: python3.12", "Runtime: cobol85", 1)})
	out.Reset()
	err = c.Deploy(ctx, deploy.Input{TemplateFile: filepath.Join(dir, "bad.yaml"), StackName: "app"})
	if err == nil || !strings.Contains(err.Error(), "UPDATE_ROLLBACK_COMPLETE") || !strings.Contains(out.String(), "UPDATE_FAILED") {
		t.Fatalf("failing update: %v\n%s", err, out.String())
	}
	inv, _ = lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("deploy-hello"), Payload: []byte(`{"name":"ada"}`)})
	if !strings.Contains(string(inv.Payload), "BONJOUR ADA") {
		t.Fatalf("after the rollback: %s", inv.Payload)
	}

	// validate checks offline.
	if sum, err := deploy.Validate(ctx, tpl, server.ResourceTypes()); err != nil || !strings.Contains(sum, "4 resources") {
		t.Fatalf("validate: %q %v", sum, err)
	}
	writeFiles(t, dir, map[string]string{"unknown.yaml": "Resources:\n  X:\n    Type: AWS::DynamoDB::Table\n"})
	if _, err := deploy.Validate(ctx, filepath.Join(dir, "unknown.yaml"), server.ResourceTypes()); err == nil || !strings.Contains(err.Error(), "AWS::DynamoDB::Table") {
		t.Fatalf("validate of an unsupported type: %v", err)
	}

	out.Reset()
	if err := c.Delete(ctx, "app"); err != nil || !strings.Contains(out.String(), "DELETE_COMPLETE") {
		t.Fatalf("delete: %v\n%s", err, out.String())
	}
	list, _ = cf.ListStacks(ctx, &cloudformation.ListStacksInput{})
	for _, st := range list.StackSummaries {
		if st.StackStatus != "DELETE_COMPLETE" {
			t.Fatalf("stack %s left in %s", aws.ToString(st.StackName), st.StackStatus)
		}
	}
}
