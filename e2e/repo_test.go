package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/forkline/forkline/internal/server/servertest"
)

const repoAppV1 = `AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Description: A named queue, as a reusable application
Parameters:
  QueueName:
    Type: String
    Description: the queue's name
  Retention:
    Type: Number
    Default: 345600
    MinValue: 60
    MaxValue: 1209600
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Ref QueueName
      MessageRetentionPeriod: !Ref Retention
Outputs:
  QueueUrl:
    Value: !Ref Queue
`

// TestServerlessRepoWithAWSCLI drives the repository with the AWS CLI's
// serverlessrepo commands (botocore's REST-JSON serializer and parser):
// publish an application and a new version, share it, make a template and
// a change set from it, and nest it in a stack by ApplicationId and
// SemanticVersion (AWS Serverless Application Repository API reference).
func TestServerlessRepoWithAWSCLI(t *testing.T) {
	requireClient(t, "aws", "--version")
	s := servertest.Start(t, servertest.Options{})
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "app.yaml"), []byte(repoAppV1), 0o644)
	os.WriteFile(filepath.Join(dir, "app2.yaml"), []byte(strings.Replace(repoAppV1, "Default: 345600", "Default: 86400", 1)), 0o644)
	run := func(args ...string) (map[string]any, string, error) {
		t.Helper()
		cmd := exec.Command("aws", append([]string{"--region", "us-east-1", "--output", "json"}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL="+s.URL, "AWS_ACCESS_KEY_ID=AKIDFORKLINETEST", "AWS_SECRET_ACCESS_KEY=forkline-test-secret",
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		out, err := cmd.CombinedOutput()
		var m map[string]any
		json.Unmarshal(out, &m)
		return m, string(out), err
	}
	must := func(args ...string) map[string]any {
		t.Helper()
		m, out, err := run(args...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return m
	}
	app := must("serverlessrepo", "create-application", "--name", "queue-app", "--author", "forkline", "--description", "a named queue",
		"--semantic-version", "1.0.0", "--template-body", "file://app.yaml", "--labels", "queue", "sqs",
		"--readme-body", "# queue-app", "--license-body", "MIT-0")
	if !strings.HasSuffix(app["ReadmeUrl"].(string), "/queue-app/README.md") || !strings.HasSuffix(app["LicenseUrl"].(string), "/queue-app/LICENSE") {
		t.Fatalf("readme and license: %v", app)
	}
	id, _ := app["ApplicationId"].(string)
	if id != "arn:aws:serverlessrepo:us-east-1:000000000000:applications/queue-app" {
		t.Fatalf("create-application: %v", app)
	}
	ver := app["Version"].(map[string]any)
	params := ver["ParameterDefinitions"].([]any)
	if len(params) != 2 || ver["SemanticVersion"] != "1.0.0" {
		t.Fatalf("version: %v", ver)
	}
	// A second application with the same name conflicts.
	if _, out, err := run("serverlessrepo", "create-application", "--name", "queue-app", "--author", "a", "--description", "d"); err == nil || !strings.Contains(out, "ConflictException") {
		t.Fatalf("duplicate: %v %s", err, out)
	}
	must("serverlessrepo", "create-application-version", "--application-id", id, "--semantic-version", "1.1.0", "--template-body", "file://app2.yaml")
	if _, out, err := run("serverlessrepo", "create-application-version", "--application-id", id, "--semantic-version", "1.1.0", "--template-body", "file://app2.yaml"); err == nil || !strings.Contains(out, "ConflictException") {
		t.Fatalf("duplicate version: %v %s", err, out)
	}
	versions := must("serverlessrepo", "list-application-versions", "--application-id", id)["Versions"].([]any)
	if len(versions) != 2 {
		t.Fatalf("versions: %v", versions)
	}
	got := must("serverlessrepo", "get-application", "--application-id", id)
	if got["Version"].(map[string]any)["SemanticVersion"] != "1.1.0" {
		t.Fatalf("get-application without version: %v", got)
	}
	apps := must("serverlessrepo", "list-applications")["Applications"].([]any)
	if len(apps) != 1 {
		t.Fatalf("list-applications: %v", apps)
	}
	if _, out, err := run("serverlessrepo", "get-application", "--application-id", "arn:aws:serverlessrepo:us-east-1:000000000000:applications/nope"); err == nil || !strings.Contains(out, "NotFoundException") {
		t.Fatalf("unknown application: %v %s", err, out)
	}
	must("serverlessrepo", "put-application-policy", "--application-id", id, "--statements", "Principals=*,Actions=Deploy")
	pol := must("serverlessrepo", "get-application-policy", "--application-id", id)["Statements"].([]any)
	if len(pol) != 1 {
		t.Fatalf("policy: %v", pol)
	}
	if _, out, err := run("serverlessrepo", "put-application-policy", "--application-id", id, "--statements", "Principals=12,Actions=Deploy"); err == nil || !strings.Contains(out, "BadRequestException") {
		t.Fatalf("bad principal: %v %s", err, out)
	}
	must("serverlessrepo", "update-application", "--application-id", id, "--description", "a named SQS queue")
	must("serverlessrepo", "put-application-policy", "--application-id", id, "--statements",
		"Principals=111122223333,Actions=Deploy,PrincipalOrgIDs=o-abc", "Principals=*,Actions=Deploy")
	if _, out, err := run("serverlessrepo", "unshare-application", "--application-id", id, "--organization-id", "o-abc"); err != nil {
		t.Fatalf("unshare: %v %s", err, out)
	}
	if pol := must("serverlessrepo", "get-application-policy", "--application-id", id)["Statements"].([]any); len(pol) != 1 {
		t.Fatalf("policy after unshare: %v", pol)
	}

	// A change set from the repository, executed with CloudFormation.
	tpl := must("serverlessrepo", "create-cloud-formation-template", "--application-id", id, "--semantic-version", "1.0.0")
	if tpl["Status"] != "ACTIVE" || !strings.Contains(tpl["TemplateUrl"].(string), "forkline-serverlessrepo") {
		t.Fatalf("template: %v", tpl)
	}
	must("serverlessrepo", "get-cloud-formation-template", "--application-id", id, "--template-id", tpl["TemplateId"].(string))
	cs := must("serverlessrepo", "create-cloud-formation-change-set", "--application-id", id, "--stack-name", "direct",
		"--semantic-version", "1.0.0", "--parameter-overrides", "Name=QueueName,Value=repo-direct", "--capabilities", "CAPABILITY_AUTO_EXPAND")
	must("cloudformation", "execute-change-set", "--change-set-name", cs["ChangeSetId"].(string))
	c := cloudformation.NewFromConfig(s.Config())
	waitStack(t, c, "serverlessrepo-direct", "CREATE_COMPLETE")
	q := sqs.NewFromConfig(s.Config())
	if _, err := q.GetQueueUrl(ctx(t), &sqs.GetQueueUrlInput{QueueName: aws.String("repo-direct")}); err != nil {
		t.Fatalf("queue of the repository stack: %v", err)
	}

	// The application nested by ID and version, with its output.
	parent := `AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Orders:
    Type: AWS::Serverless::Application
    Properties:
      Location:
        ApplicationId: ` + id + `
        SemanticVersion: 1.1.0
      Parameters:
        QueueName: nested-orders
Outputs:
  OrdersUrl:
    Value: !GetAtt Orders.Outputs.QueueUrl
`
	os.WriteFile(filepath.Join(dir, "parent.yaml"), []byte(parent), 0o644)
	if _, out, err := run("cloudformation", "deploy", "--template-file", "parent.yaml", "--stack-name", "nesting",
		"--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"); err != nil {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	ds, _ := c.DescribeStacks(ctx(t), &cloudformation.DescribeStacksInput{StackName: aws.String("nesting")})
	if o := outputs(ds); !strings.HasSuffix(o["OrdersUrl"], "/nested-orders") {
		t.Fatalf("outputs: %v", o)
	}
	attrs, _ := q.GetQueueAttributes(ctx(t), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(outputs(ds)["OrdersUrl"]), AttributeNames: []sqstypes.QueueAttributeName{"MessageRetentionPeriod"}})
	if attrs.Attributes["MessageRetentionPeriod"] != "86400" {
		t.Fatalf("nested version 1.1.0's default not applied: %v", attrs.Attributes)
	}
	// The parent, published too, lists the queue app as its dependency.
	os.WriteFile(filepath.Join(dir, "parent-app.yaml"), []byte(parent), 0o644)
	papp := must("serverlessrepo", "create-application", "--name", "orders", "--author", "forkline", "--description", "orders",
		"--semantic-version", "0.1.0", "--template-body", "file://parent-app.yaml")
	deps := must("serverlessrepo", "list-application-dependencies", "--application-id", papp["ApplicationId"].(string))["Dependencies"].([]any)
	if len(deps) != 1 || deps[0].(map[string]any)["ApplicationId"] != id || deps[0].(map[string]any)["SemanticVersion"] != "1.1.0" {
		t.Fatalf("dependencies: %v", deps)
	}
	if req := papp["Version"].(map[string]any)["RequiredCapabilities"].([]any); len(req) != 1 || req[0] != "CAPABILITY_AUTO_EXPAND" {
		t.Fatalf("required capabilities: %v", req)
	}
	must("serverlessrepo", "delete-application", "--application-id", papp["ApplicationId"].(string))
	if _, out, err := run("serverlessrepo", "get-application", "--application-id", papp["ApplicationId"].(string)); err == nil || !strings.Contains(out, "NotFoundException") {
		t.Fatalf("after delete: %v %s", err, out)
	}
}
