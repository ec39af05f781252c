package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// requireClient skips when a second client is missing, unless
// FORKLINE_REQUIRE_CLIENTS is set (scripts/test.sh sets it after installing
// them), in which case it fails.
func requireClient(t *testing.T, name string, args ...string) {
	t.Helper()
	if err := exec.Command(name, args...).Run(); err != nil {
		if os.Getenv("FORKLINE_REQUIRE_CLIENTS") != "" {
			t.Fatalf("%s %v: %v (scripts/test.sh installs the clients)", name, args, err)
		}
		t.Skipf("%s not available: %v", name, err)
	}
}

// TestQueryProtocolWithBoto3 runs Debian's python3-boto3, which speaks the
// SQS query protocol, against a real server.
func TestQueryProtocolWithBoto3(t *testing.T) {
	requireClient(t, "/usr/bin/python3", "-c", "import boto3")
	s, _ := start(t, false)
	runChecks(t, s.URL, "", "/usr/bin/python3", "testdata/query_client.py")
}

// runChecks runs a second client's script against the server at url, in
// dir (or here), and fails unless it ends with "all checks passed".
func runChecks(t *testing.T, url, dir string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), "FORKLINE_ENDPOINT="+url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v failed: %v\n%s", name, args, err, out)
	}
	if !strings.Contains(string(out), "all checks passed") {
		t.Fatalf("%s %v output: %s", name, args, out)
	}
}

// cleanEnv drops AWS settings of the developer's shell.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "AWS_ACCESS_KEY_ID=AKIDCLI", "AWS_SECRET_ACCESS_KEY=secret", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
}

// TestAWSCLI drives the AWS CLI v1 (current botocore, JSON protocol),
// which checks message and attribute MD5s in its own code.
func TestAWSCLI(t *testing.T) {
	requireClient(t, "aws", "--version")
	s, _ := start(t, false)
	aws := func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.Command("aws", append([]string{"--endpoint-url", s.URL, "--output", "json", "sqs"}, args...)...)
		cmd.Env = cleanEnv()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws sqs %v: %v\n%s", args, err, out)
		}
		var m map[string]any
		if len(strings.TrimSpace(string(out))) > 0 {
			if err := json.Unmarshal(out, &m); err != nil {
				t.Fatalf("aws sqs %v: %v\n%s", args, err, out)
			}
		}
		return m
	}
	url := aws("create-queue", "--queue-name", "cli")["QueueUrl"].(string)
	aws("send-message", "--queue-url", url, "--message-body", "from the cli",
		"--message-attributes", `{"k":{"DataType":"String","StringValue":"v"},"n":{"DataType":"Number","StringValue":"3"}}`)
	got := aws("receive-message", "--queue-url", url, "--message-attribute-names", "All", "--attribute-names", "All")
	msgs := got["Messages"].([]any)
	m := msgs[0].(map[string]any)
	if m["Body"] != "from the cli" {
		t.Fatalf("received %v", m)
	}
	aws("delete-message", "--queue-url", url, "--receipt-handle", m["ReceiptHandle"].(string))
	a := aws("get-queue-attributes", "--queue-url", url, "--attribute-names", "ApproximateNumberOfMessagesNotVisible")
	if a["Attributes"].(map[string]any)["ApproximateNumberOfMessagesNotVisible"] != "0" {
		t.Fatalf("attributes %v", a)
	}
	cmd := exec.Command("aws", "--endpoint-url", s.URL, "sqs", "get-queue-url", "--queue-name", "missing")
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "AWS.SimpleQueueService.NonExistentQueue") {
		t.Fatalf("missing queue: %v %s", err, out)
	}
}

// TestMoveTaskQueryXML checks the query-protocol form of the message move
// task actions, which Debian's botocore predates.
func TestMoveTaskQueryXML(t *testing.T) {
	s, c := start(t, false)
	dlq := create(t, c, "qdlq", nil)
	arn := attrs(t, c, dlq)["QueueArn"]
	create(t, c, "qsrc", map[string]string{"RedrivePolicy": redrive(arn, 3)})
	post := func(form string) string { return postForm(t, s.URL, form) }
	out := post("Action=StartMessageMoveTask&Version=2012-11-05&SourceArn=" + url.QueryEscape(arn))
	if !strings.Contains(out, "<StartMessageMoveTaskResult><TaskHandle>") {
		t.Fatalf("start: %s", out)
	}
	waitFor(t, func() bool {
		out = post("Action=ListMessageMoveTasks&Version=2012-11-05&MaxResults=10&SourceArn=" + url.QueryEscape(arn))
		return strings.Contains(out, "<Status>COMPLETED</Status>")
	})
	if !strings.Contains(out, "<ListMessageMoveTasksResultEntry>") || !strings.Contains(out, "<SourceArn>"+arn+"</SourceArn>") {
		t.Fatalf("list: %s", out)
	}
}

// postForm POSTs an unsigned query-protocol form to the server and returns
// the body of its 200 answer.
func postForm(t *testing.T, base, form string) string {
	t.Helper()
	resp, err := http.Post(base+"/", "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %s", form, resp.StatusCode, b)
	}
	return string(b)
}

// TestQuerySamplesWithoutIndexes sends the query forms of AWS's own API
// reference samples, which give a single list member without an index
// (SQS API reference, SetQueueAttributes: "Attribute.Name=VisibilityTimeout
// &Attribute.Value=35"; ReceiveMessage: "AttributeName=All"; TagQueue:
// "Tag.Key=QueueType&Tag.Value=Production").
func TestQuerySamplesWithoutIndexes(t *testing.T) {
	s, c := start(t, false)
	u := create(t, c, "samples", nil)
	post := func(form string) string {
		t.Helper()
		return postForm(t, s.URL, form+"&Version=2012-11-05&QueueUrl="+url.QueryEscape(u))
	}
	post("Action=SetQueueAttributes&Attribute.Name=VisibilityTimeout&Attribute.Value=35")
	post("Action=TagQueue&Tag.Key=QueueType&Tag.Value=Production")
	if a := attrs(t, c, u); a["VisibilityTimeout"] != "35" {
		t.Fatalf("VisibilityTimeout = %s after the un-indexed SetQueueAttributes", a["VisibilityTimeout"])
	}
	if out := post("Action=ListQueueTags"); !strings.Contains(out, "<Key>QueueType</Key><Value>Production</Value>") {
		t.Fatalf("tags: %s", out)
	}
	send(t, c, u, "hello")
	if out := post("Action=ReceiveMessage&AttributeName=All"); !strings.Contains(out, "<Name>SentTimestamp</Name>") {
		t.Fatalf("ReceiveMessage with AttributeName=All: %s", out)
	}
}

// TestSNSWithBoto3 drives SNS with current boto3 (its own query serializer
// and XML parser) and verifies delivered signatures with Python's
// cryptography package, independently of forkline's code.
func TestSNSWithBoto3(t *testing.T) {
	requireClient(t, "python3", "-c", "import boto3, cryptography")
	s, _ := start(t, false)
	runChecks(t, s.URL, "", "python3", "testdata/sns_client.py")
}

// TestJSClientSDK drives SQS and SNS with the AWS SDK for JavaScript v3
// (testdata/jsclient, pinned by its package-lock.json; scripts/test.sh runs
// npm ci there): another JSON serializer for SQS with its own MD5 checks of
// bodies, another query serializer and XML parser for SNS, and its error
// mapping.
func TestJSClientSDK(t *testing.T) {
	requireClient(t, "node", "--version")
	requireClient(t, "test", "-d", "testdata/jsclient/node_modules/@aws-sdk/client-sqs")
	s, _ := start(t, false)
	runChecks(t, s.URL, "testdata/jsclient", "node", "--no-warnings", "check.mjs")
}
