package e2e

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/forkline/forkline/internal/server/servertest"
)

const testRole = "arn:aws:iam::000000000000:role/lambda-role"

var (
	probeOnce sync.Once
	probeZip  []byte
	probeErr  error
)

// probePackage builds e2e/functions/probe (aws-lambda-go) once per test
// run and zips it as a provided.al2023 package.
func probePackage(t *testing.T) []byte {
	t.Helper()
	probeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "probe")
		if err != nil {
			probeErr = err
			return
		}
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, "bootstrap")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "./functions/probe")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			probeErr = err
			probeErr = &buildError{err, string(out)}
			return
		}
		data, err := os.ReadFile(bin)
		if err != nil {
			probeErr = err
			return
		}
		probeZip = zipFiles(map[string]zipEntry{"bootstrap": {data, 0o755}})
	})
	if probeErr != nil {
		t.Fatalf("build probe function: %v", probeErr)
	}
	return probeZip
}

type buildError struct {
	err error
	out string
}

func (b *buildError) Error() string { return b.err.Error() + "\n" + b.out }

type zipEntry struct {
	data []byte
	mode os.FileMode
}

func zipFiles(files map[string]zipEntry) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, f := range files {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(f.mode)
		w, _ := zw.CreateHeader(h)
		w.Write(f.data)
	}
	zw.Close()
	return buf.Bytes()
}

// shellFunction is a provided runtime written as a shell script against
// the Runtime API with curl.
func shellFunction(script string) []byte {
	return zipFiles(map[string]zipEntry{"bootstrap": {[]byte("#!/bin/sh\n" + script), 0o755}})
}

func startLambda(t *testing.T) (*servertest.Server, *lambda.Client) {
	t.Helper()
	s := servertest.Start(t, servertest.Options{})
	return s, lambda.NewFromConfig(s.Config())
}

func createFunction(t *testing.T, c *lambda.Client, name string, zip []byte, mod ...func(*lambda.CreateFunctionInput)) *lambda.CreateFunctionOutput {
	t.Helper()
	in := &lambda.CreateFunctionInput{FunctionName: aws.String(name), Runtime: lambdatypes.RuntimeProvidedal2023,
		Role: aws.String(testRole), Handler: aws.String("bootstrap"), Code: &lambdatypes.FunctionCode{ZipFile: zip}}
	for _, m := range mod {
		m(in)
	}
	out, err := c.CreateFunction(ctx(t), in)
	if err != nil {
		t.Fatalf("CreateFunction %s: %v", name, err)
	}
	return out
}

func invoke(t *testing.T, c *lambda.Client, name string, payload any, mod ...func(*lambda.InvokeInput)) *lambda.InvokeOutput {
	t.Helper()
	b, _ := json.Marshal(payload)
	in := &lambda.InvokeInput{FunctionName: aws.String(name), Payload: b}
	for _, m := range mod {
		m(in)
	}
	out, err := c.Invoke(ctx(t), in)
	if err != nil {
		t.Fatalf("Invoke %s: %v", name, err)
	}
	return out
}

// Function CRUD and its errors (Lambda API reference: CreateFunction,
// GetFunction, ListFunctions, UpdateFunctionConfiguration, DeleteFunction).
func TestFunctionLifecycle(t *testing.T) {
	_, c := startLambda(t)
	zip := shellFunction("exit 0\n")
	out := createFunction(t, c, "lifecycle", zip, func(in *lambda.CreateFunctionInput) {
		in.Environment = &lambdatypes.Environment{Variables: map[string]string{"COLOR": "blue"}}
		in.Timeout = aws.Int32(7)
	})
	if *out.FunctionArn != "arn:aws:lambda:us-east-1:000000000000:function:lifecycle" || out.State != lambdatypes.StatePending ||
		*out.Timeout != 7 || *out.MemorySize != 128 || *out.Version != "$LATEST" || out.CodeSize != int64(len(zip)) || *out.CodeSha256 == "" {
		t.Fatalf("CreateFunction = %+v", out)
	}
	_, err := c.CreateFunction(ctx(t), &lambda.CreateFunctionInput{FunctionName: aws.String("lifecycle"), Runtime: lambdatypes.RuntimeProvidedal2023,
		Role: aws.String(testRole), Code: &lambdatypes.FunctionCode{ZipFile: zip}})
	wantCode(t, err, "ResourceConflictException")
	_, err = c.CreateFunction(ctx(t), &lambda.CreateFunctionInput{FunctionName: aws.String("badzip"), Runtime: lambdatypes.RuntimeProvidedal2023,
		Role: aws.String(testRole), Code: &lambdatypes.FunctionCode{ZipFile: []byte("not a zip")}})
	wantCode(t, err, "InvalidParameterValueException")
	_, err = c.CreateFunction(ctx(t), &lambda.CreateFunctionInput{FunctionName: aws.String("badrt"), Runtime: "cobol85",
		Role: aws.String(testRole), Code: &lambdatypes.FunctionCode{ZipFile: zip}})
	wantCode(t, err, "InvalidParameterValueException")
	_, err = c.CreateFunction(ctx(t), &lambda.CreateFunctionInput{FunctionName: aws.String("reserved"), Runtime: lambdatypes.RuntimeProvidedal2023,
		Role: aws.String(testRole), Code: &lambdatypes.FunctionCode{ZipFile: zip},
		Environment: &lambdatypes.Environment{Variables: map[string]string{"AWS_REGION": "x"}}})
	wantCode(t, err, "InvalidParameterValueException")

	got, err := c.GetFunction(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String("arn:aws:lambda:us-east-1:000000000000:function:lifecycle")})
	if err != nil || got.Configuration.Environment.Variables["COLOR"] != "blue" || *got.Code.Location == "" || got.Configuration.State != lambdatypes.StateActive {
		t.Fatalf("GetFunction = %+v, %v", got, err)
	}
	_, err = c.GetFunction(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String("missing")})
	wantCode(t, err, "ResourceNotFoundException")
	var rnf *lambdatypes.ResourceNotFoundException
	if !asType(err, &rnf) || rnf.Message == nil || !strings.Contains(*rnf.Message, "Function not found: arn:aws:lambda:us-east-1:000000000000:function:missing") {
		t.Fatalf("ResourceNotFoundException message: %v", err)
	}

	upd, err := c.UpdateFunctionConfiguration(ctx(t), &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("lifecycle"),
		MemorySize: aws.Int32(256), Description: aws.String("bigger")})
	if err != nil || *upd.MemorySize != 256 || *upd.RevisionId == *out.RevisionId {
		t.Fatalf("UpdateFunctionConfiguration = %+v, %v", upd, err)
	}
	_, err = c.UpdateFunctionConfiguration(ctx(t), &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("lifecycle"), Timeout: aws.Int32(901)})
	wantCode(t, err, "ValidationException")

	for _, n := range []string{"b-func", "c-func"} {
		createFunction(t, c, n, zip)
	}
	list, err := c.ListFunctions(ctx(t), &lambda.ListFunctionsInput{MaxItems: aws.Int32(2)})
	if err != nil || len(list.Functions) != 2 || list.NextMarker == nil {
		t.Fatalf("ListFunctions page 1 = %+v, %v", list, err)
	}
	list2, err := c.ListFunctions(ctx(t), &lambda.ListFunctionsInput{Marker: list.NextMarker})
	if err != nil || len(list2.Functions) != 1 || *list2.Functions[0].FunctionName != "lifecycle" {
		t.Fatalf("ListFunctions page 2 = %+v, %v", list2, err)
	}
	if _, err := c.DeleteFunction(ctx(t), &lambda.DeleteFunctionInput{FunctionName: aws.String("lifecycle")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteFunction(ctx(t), &lambda.DeleteFunctionInput{FunctionName: aws.String("lifecycle")})
	wantCode(t, err, "ResourceNotFoundException")
}

// A Go function built with aws-lambda-go runs unchanged through the
// Runtime API, sees Lambda's environment and nothing of forkline's.
func TestInvokeGoFunction(t *testing.T) {
	s, c := startLambda(t)
	createFunction(t, c, "probe", probePackage(t), func(in *lambda.CreateFunctionInput) {
		in.Environment = &lambdatypes.Environment{Variables: map[string]string{"GREETING": "hi"}}
		in.Timeout = aws.Int32(2)
	})
	out := invoke(t, c, "probe", map[string]string{"action": "echo", "message": "hello"}, func(in *lambda.InvokeInput) {
		in.LogType = lambdatypes.LogTypeTail
	})
	var r struct {
		Message, RequestID, FunctionArn string
		RemainingMs                     int64
	}
	if err := json.Unmarshal(out.Payload, &r); err != nil || r.Message != "hello" || r.RequestID == "" ||
		r.FunctionArn != "arn:aws:lambda:us-east-1:000000000000:function:probe" || r.RemainingMs <= 0 || r.RemainingMs > 2000 {
		t.Fatalf("echo = %s (%v)", out.Payload, err)
	}
	if out.FunctionError != nil || *out.ExecutedVersion != "$LATEST" || out.StatusCode != 200 {
		t.Fatalf("invoke output = %+v", out)
	}
	logs, _ := base64.StdEncoding.DecodeString(*out.LogResult)
	for _, want := range []string{"START RequestId: ", "END RequestId: ", "REPORT RequestId: ", "Init Duration: "} {
		if !strings.Contains(string(logs), want) {
			t.Fatalf("LogResult lacks %q:\n%s", want, logs)
		}
	}

	// The environment: Lambda's variables, the function's own, TMPDIR
	// (the sandbox's own temporary directory), no more.
	out = invoke(t, c, "probe", map[string]string{"action": "env"})
	var envr struct {
		Env      map[string]string
		EnvNames []string
	}
	json.Unmarshal(out.Payload, &envr)
	for k, want := range map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "probe", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
		"AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_REGION": "us-east-1", "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/probe",
		"AWS_EXECUTION_ENV": "AWS_Lambda_provided.al2023", "GREETING": "hi", "AWS_ENDPOINT_URL": s.URL, "_HANDLER": "bootstrap"} {
		if envr.Env[k] != want {
			t.Errorf("%s = %q, want %q", k, envr.Env[k], want)
		}
	}
	allowed := map[string]bool{"PATH": true, "LD_LIBRARY_PATH": true, "LANG": true, "TZ": true, "GREETING": true, "_HANDLER": true,
		"LAMBDA_TASK_ROOT": true, "LAMBDA_RUNTIME_DIR": true, "AWS_ENDPOINT_URL": true, "_X_AMZN_TRACE_ID": true, "TMPDIR": true}
	for _, k := range envr.EnvNames {
		if !allowed[k] && !strings.HasPrefix(k, "AWS_") {
			t.Errorf("unexpected variable %s in the function's environment", k)
		}
	}

	// A returned error is Unhandled with the runtime's error document.
	out = invoke(t, c, "probe", map[string]string{"action": "fail", "message": "boom"})
	var fe struct{ ErrorMessage, ErrorType string }
	json.Unmarshal(out.Payload, &fe)
	if out.FunctionError == nil || *out.FunctionError != "Unhandled" || fe.ErrorMessage != "boom" {
		t.Fatalf("failure = %s %v", out.Payload, out.FunctionError)
	}

	// A timeout kills the sandbox; the next invocation gets a new one.
	out = invoke(t, c, "probe", map[string]any{"action": "sleep", "millis": 5000})
	json.Unmarshal(out.Payload, &fe)
	if out.FunctionError == nil || fe.ErrorType != "Sandbox.Timedout" || !strings.Contains(fe.ErrorMessage, "Task timed out after 2.00 seconds") {
		t.Fatalf("timeout = %s", out.Payload)
	}
	out = invoke(t, c, "probe", map[string]string{"action": "echo", "message": "again"})
	if !strings.Contains(string(out.Payload), "again") {
		t.Fatalf("after a timeout: %s", out.Payload)
	}

	// A runtime that exits mid-invocation.
	out = invoke(t, c, "probe", map[string]string{"action": "exit"})
	json.Unmarshal(out.Payload, &fe)
	if out.FunctionError == nil || fe.ErrorType != "Runtime.ExitError" || !strings.Contains(fe.ErrorMessage, "Runtime exited with error: exit status 3") {
		t.Fatalf("exit = %s", out.Payload)
	}

	// DryRun and Event.
	dry := invoke(t, c, "probe", map[string]string{}, func(in *lambda.InvokeInput) { in.InvocationType = lambdatypes.InvocationTypeDryRun })
	ev := invoke(t, c, "probe", map[string]string{"action": "echo"}, func(in *lambda.InvokeInput) { in.InvocationType = lambdatypes.InvocationTypeEvent })
	if dry.StatusCode != 204 || ev.StatusCode != 202 {
		t.Fatalf("DryRun %d, Event %d", dry.StatusCode, ev.StatusCode)
	}
	_, err := c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("probe"), Payload: []byte("not json")})
	wantCode(t, err, "InvalidRequestContentException")
	_, err = c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("probe"), Payload: bytes.Repeat([]byte(" "), 6*1024*1024+1)})
	wantCode(t, err, "RequestEntityTooLargeException")
}

// A bootstrap that fails during init is reported as Lambda reports it.
func TestInvokeInitFailures(t *testing.T) {
	_, c := startLambda(t)
	createFunction(t, c, "crash", shellFunction("echo initialising >&2\nexit 1\n"))
	out := invoke(t, c, "crash", map[string]string{})
	var fe struct{ ErrorMessage, ErrorType string }
	json.Unmarshal(out.Payload, &fe)
	if out.FunctionError == nil || fe.ErrorType != "Runtime.ExitError" {
		t.Fatalf("crash in init = %s", out.Payload)
	}
	// A runtime that reports its own init error.
	createFunction(t, c, "initerr", shellFunction(`curl -s -X POST -H 'Lambda-Runtime-Function-Error-Type: Runtime.ConfigError' `+
		`-d '{"errorType":"Runtime.ConfigError","errorMessage":"missing setting"}' "http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/init/error"
exit 1
`))
	out = invoke(t, c, "initerr", map[string]string{})
	json.Unmarshal(out.Payload, &fe)
	if out.FunctionError == nil || fe.ErrorType != "Runtime.ConfigError" || fe.ErrorMessage != "missing setting" {
		t.Fatalf("init error = %s", out.Payload)
	}
	// No bootstrap at all.
	createFunction(t, c, "nobootstrap", zipFiles(map[string]zipEntry{"handler.sh": {[]byte("x"), 0o644}}))
	out = invoke(t, c, "nobootstrap", map[string]string{})
	json.Unmarshal(out.Payload, &fe)
	if fe.ErrorType != "Runtime.InvalidEntrypoint" {
		t.Fatalf("missing bootstrap = %s", out.Payload)
	}
	// A shell runtime that answers through the Runtime API with curl.
	createFunction(t, c, "shell", shellFunction(`while true; do
  HEADERS=$(mktemp)
  EVENT=$(curl -sS -D "$HEADERS" "http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation/next")
  ID=$(grep -i Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '\r' | cut -d' ' -f2)
  curl -sS -X POST -d "{\"got\":$EVENT}" "http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation/$ID/response" >/dev/null
done
`))
	out = invoke(t, c, "shell", map[string]int{"n": 42})
	if string(out.Payload) != `{"got":{"n":42}}` {
		t.Fatalf("shell runtime answered %s", out.Payload)
	}
}

// A lambda subscription invokes the function with SNS's event (Lambda
// developer guide, "Using AWS Lambda with Amazon SNS").
func TestSNSToLambda(t *testing.T) {
	s, c := startLambda(t)
	sc := sns.NewFromConfig(s.Config())
	out := filepath.Join(t.TempDir(), "events")
	createFunction(t, c, "sink", shellFunction(`while true; do
  HEADERS=$(mktemp)
  EVENT=$(curl -sS -D "$HEADERS" "http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation/next")
  ID=$(grep -i Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '\r' | cut -d' ' -f2)
  printf '%s\n' "$EVENT" >> "$OUT_FILE"
  curl -sS -X POST -d '{}' "http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation/$ID/response" >/dev/null
done
`), func(in *lambda.CreateFunctionInput) {
		in.Environment = &lambdatypes.Environment{Variables: map[string]string{"OUT_FILE": out}}
	})
	arn := createTopic(t, sc, "to-lambda", nil)
	sub, err := sc.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("lambda"),
		Endpoint: aws.String("arn:aws:lambda:us-east-1:000000000000:function:sink")})
	if err != nil {
		t.Fatal(err)
	}
	pub := publish(t, sc, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("to the function <&>"), Subject: aws.String("s"),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{"k": {DataType: aws.String("String"), StringValue: aws.String("v")}}})
	deadline := time.Now().Add(30 * time.Second)
	var data []byte
	for len(data) == 0 && time.Now().Before(deadline) {
		data, _ = os.ReadFile(out)
		time.Sleep(10 * time.Millisecond)
	}
	var ev struct {
		Records []struct {
			EventSource, EventVersion, EventSubscriptionArn string
			Sns                                             struct {
				Type, MessageId, TopicArn, Subject, Message, SignatureVersion, Signature, SigningCertUrl, UnsubscribeUrl string
				MessageAttributes                                                                                        map[string]struct{ Type, Value string }
			}
		}
	}
	if err := json.Unmarshal(bytes.TrimSpace(data), &ev); err != nil || len(ev.Records) != 1 {
		t.Fatalf("event = %s (%v)", data, err)
	}
	r := ev.Records[0]
	if r.EventSource != "aws:sns" || r.EventSubscriptionArn != *sub.SubscriptionArn || r.Sns.MessageId != *pub.MessageId ||
		r.Sns.Message != "to the function <&>" || r.Sns.Subject != "s" || r.Sns.MessageAttributes["k"].Value != "v" ||
		r.Sns.SignatureVersion != "1" || r.Sns.Signature == "" || r.Sns.SigningCertUrl == "" {
		t.Fatalf("event record = %+v", r)
	}
	verifyEventSignature(t, bytes.TrimSpace(data), "1")

	// A SignatureVersion 2 topic's events still say 1 but are signed with
	// SHA256 (LocalStack's AWS-validated test_publish_lambda_verify_signature).
	v2 := createTopic(t, sc, "to-lambda-v2", map[string]string{"SignatureVersion": "2"})
	if _, err := sc.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(v2), Protocol: aws.String("lambda"),
		Endpoint: aws.String("arn:aws:lambda:us-east-1:000000000000:function:sink")}); err != nil {
		t.Fatal(err)
	}
	publish(t, sc, &sns.PublishInput{TopicArn: aws.String(v2), Message: aws.String("signed with SHA256")})
	var lines [][]byte
	for deadline := time.Now().Add(30 * time.Second); len(lines) < 2 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		data, _ = os.ReadFile(out)
		lines = bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	}
	if len(lines) < 2 {
		t.Fatalf("no second event: %s", data)
	}
	verifyEventSignature(t, lines[1], "2")
}

// verifyEventSignature checks a Lambda SNS event's signature as a
// verifier of version ver does, with the certificate at SigningCertUrl.
func verifyEventSignature(t *testing.T, event []byte, ver string) {
	t.Helper()
	var ev struct {
		Records []struct{ Sns map[string]any }
	}
	if err := json.Unmarshal(event, &ev); err != nil || len(ev.Records) != 1 {
		t.Fatalf("event %s: %v", event, err)
	}
	m := ev.Records[0].Sns
	if m["SignatureVersion"] != "1" {
		t.Fatalf("event SignatureVersion = %v, want 1", m["SignatureVersion"])
	}
	env := map[string]any{"SignatureVersion": ver, "SigningCertURL": m["SigningCertUrl"]}
	for _, k := range []string{"Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp", "Signature"} {
		if v, ok := m[k]; ok && v != nil {
			env[k] = v
		}
	}
	b, _ := json.Marshal(env)
	verifySignature(t, b)
}

// pythonRuntime is a custom runtime written in Python against the Runtime
// API: handler(event) is the body of the handle function.
func pythonRuntime(handler string) []byte {
	return zipFiles(map[string]zipEntry{"bootstrap": {[]byte(`#!/usr/bin/python3
import json, os, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
def handle(event):
` + handler + `
while True:
    with urllib.request.urlopen(api + "next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(r.read())
    body = json.dumps(handle(event)).encode()
    urllib.request.urlopen(urllib.request.Request(api + rid + "/response", data=body, method="POST")).read()
`), 0o755}})
}

// An SQS event source mapping with partial batch failures: processed
// messages are deleted, failed ones return and reach the queue's DLQ
// (Lambda developer guide, "Handling errors for an SQS event source").
func TestSQSEventSourceMapping(t *testing.T) {
	s, c := startLambda(t)
	q := sqs.NewFromConfig(s.Config())
	out := filepath.Join(t.TempDir(), "bodies")
	create(t, q, "esm-dlq", nil)
	url := create(t, q, "esm-src", map[string]string{"VisibilityTimeout": "1",
		"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:esm-dlq","maxReceiveCount":"2"}`})
	createFunction(t, c, "consumer", pythonRuntime(`    failures = []
    with open(os.environ["OUT_FILE"], "a") as f:
        for r in event["Records"]:
            assert r["eventSource"] == "aws:sqs" and r["attributes"]["ApproximateReceiveCount"]
            f.write(r["body"] + "\n")
            if r["body"] == "fail":
                failures.append({"itemIdentifier": r["messageId"]})
    return {"batchItemFailures": failures}`), func(in *lambda.CreateFunctionInput) {
		in.Environment = &lambdatypes.Environment{Variables: map[string]string{"OUT_FILE": out}}
	})
	m, err := c.CreateEventSourceMapping(ctx(t), &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("consumer"),
		EventSourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:esm-src"), BatchSize: aws.Int32(10),
		FunctionResponseTypes: []lambdatypes.FunctionResponseType{lambdatypes.FunctionResponseTypeReportBatchItemFailures}})
	if err != nil || *m.State != "Creating" || *m.BatchSize != 10 {
		t.Fatalf("CreateEventSourceMapping = %+v, %v", m, err)
	}
	_, err = c.CreateEventSourceMapping(ctx(t), &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("consumer"),
		EventSourceArn: aws.String("arn:aws:sqs:us-east-1:000000000000:esm-src")})
	wantCode(t, err, "ResourceConflictException")
	for _, b := range []string{"a", "b", "fail", "c", "d"} {
		send(t, q, url, b)
	}
	dlq := queueURLOf(t, q, "esm-dlq")
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if counts(t, q, dlq)[0] == "1" && counts(t, q, url) == [3]string{"0", "0", "0"} {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := counts(t, q, dlq); got[0] != "1" {
		t.Fatalf("dead-letter queue counts %v, want the failed message", got)
	}
	if got := counts(t, q, url); got != [3]string{"0", "0", "0"} {
		t.Fatalf("source queue counts %v, want empty", got)
	}
	data, _ := os.ReadFile(out)
	seen := map[string]int{}
	for _, l := range strings.Fields(string(data)) {
		seen[l]++
	}
	if seen["a"] != 1 || seen["d"] != 1 || seen["fail"] != 2 {
		t.Fatalf("processed %v; want each good message once and the failing one twice", seen)
	}
	// Disable, list, delete.
	upd, err := c.UpdateEventSourceMapping(ctx(t), &lambda.UpdateEventSourceMappingInput{UUID: m.UUID, Enabled: aws.Bool(false)})
	if err != nil || *upd.State != "Updating" {
		t.Fatalf("UpdateEventSourceMapping = %+v, %v", upd, err)
	}
	got, err := c.GetEventSourceMapping(ctx(t), &lambda.GetEventSourceMappingInput{UUID: m.UUID})
	if err != nil || *got.State != "Disabled" {
		t.Fatalf("GetEventSourceMapping = %+v, %v", got, err)
	}
	list, err := c.ListEventSourceMappings(ctx(t), &lambda.ListEventSourceMappingsInput{FunctionName: aws.String("consumer")})
	if err != nil || len(list.EventSourceMappings) != 1 {
		t.Fatalf("ListEventSourceMappings = %+v, %v", list, err)
	}
	del, err := c.DeleteEventSourceMapping(ctx(t), &lambda.DeleteEventSourceMappingInput{UUID: m.UUID})
	if err != nil || *del.State != "Deleting" {
		t.Fatalf("DeleteEventSourceMapping = %+v, %v", del, err)
	}
	_, err = c.GetEventSourceMapping(ctx(t), &lambda.GetEventSourceMappingInput{UUID: m.UUID})
	wantCode(t, err, "ResourceNotFoundException")
}

func codeZip(files map[string]string) []byte {
	m := map[string]zipEntry{}
	for k, v := range files {
		m[k] = zipEntry{[]byte(v), 0o644}
	}
	return zipFiles(m)
}

// The managed Python runtime: handler resolution, the context object,
// error documents (Lambda developer guide, "Building Lambda functions
// with Python").
func TestPythonRuntime(t *testing.T) {
	requireClient(t, "python3", "--version")
	_, c := startLambda(t)
	createFunction(t, c, "py", codeZip(map[string]string{
		"app.py": `import os
def handler(event, context):
    if event.get("fail"):
        raise ValueError("bad input")
    return {"got": event, "name": context.function_name, "remaining": context.get_remaining_time_in_millis() > 0,
            "memory": context.memory_limit_in_mb, "requestId": context.aws_request_id, "env": os.environ.get("GREETING")}
`,
		"pkg/__init__.py": "",
		"pkg/mod.py":      "def handle(event, context):\n    print('nested says hi')\n    return 'nested'\n",
	}), func(in *lambda.CreateFunctionInput) {
		in.Runtime, in.Handler = lambdatypes.RuntimePython311, aws.String("app.handler")
		in.Environment = &lambdatypes.Environment{Variables: map[string]string{"GREETING": "hello"}}
	})
	out := invoke(t, c, "py", map[string]int{"n": 1})
	var r struct {
		Got               map[string]int
		Name, Memory, Env string
		RequestID         string `json:"requestId"`
		Remaining         bool
	}
	if err := json.Unmarshal(out.Payload, &r); err != nil || r.Got["n"] != 1 || r.Name != "py" || r.Memory != "128" || !r.Remaining ||
		r.RequestID == "" || r.Env != "hello" || out.FunctionError != nil {
		t.Fatalf("python answered %s (%v)", out.Payload, err)
	}
	out = invoke(t, c, "py", map[string]bool{"fail": true})
	var fe struct {
		ErrorMessage, ErrorType, RequestID string
		StackTrace                         []string
	}
	json.Unmarshal(out.Payload, &fe)
	if out.FunctionError == nil || fe.ErrorType != "ValueError" || fe.ErrorMessage != "bad input" || len(fe.StackTrace) == 0 {
		t.Fatalf("python error = %s", out.Payload)
	}
	// A nested module path and its printed output in the tail.
	if _, err := c.UpdateFunctionConfiguration(ctx(t), &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("py"),
		Handler: aws.String("pkg/mod.handle")}); err != nil {
		t.Fatal(err)
	}
	out = invoke(t, c, "py", map[string]int{}, func(in *lambda.InvokeInput) { in.LogType = lambdatypes.LogTypeTail })
	logs, _ := base64.StdEncoding.DecodeString(*out.LogResult)
	if string(out.Payload) != `"nested"` || !strings.Contains(string(logs), "nested says hi") {
		t.Fatalf("nested handler = %s, logs %s", out.Payload, logs)
	}
	// A module that does not exist fails init as AWS reports it.
	if _, err := c.UpdateFunctionConfiguration(ctx(t), &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("py"),
		Handler: aws.String("missing.handler")}); err != nil {
		t.Fatal(err)
	}
	out = invoke(t, c, "py", map[string]int{})
	json.Unmarshal(out.Payload, &fe)
	if fe.ErrorType != "Runtime.ImportModuleError" || !strings.Contains(fe.ErrorMessage, "Unable to import module 'missing'") {
		t.Fatalf("import error = %s", out.Payload)
	}
}

// TestSandboxTemporaryDirectory: each sandbox has its own temporary
// directory, kept across its warm invocations and gone with it, as a
// Lambda execution environment's /tmp (Lambda developer guide, "Configure
// ephemeral storage for Lambda functions"): TMPDIR names it, under the
// data directory, not the host's /tmp.
func TestSandboxTemporaryDirectory(t *testing.T) {
	requireClient(t, "python3", "--version")
	s, c := startLambda(t)
	createFunction(t, c, "tmp", codeZip(map[string]string{
		"app.py": `import os, tempfile
def handler(event, context):
    d = tempfile.gettempdir()
    seen = os.path.exists(os.path.join(d, "mark"))
    open(os.path.join(d, "mark"), "w").close()
    return {"dir": d, "seen": seen}
`,
	}), func(in *lambda.CreateFunctionInput) {
		in.Runtime, in.Handler = lambdatypes.RuntimePython311, aws.String("app.handler")
	})
	var first, second struct {
		Dir  string
		Seen bool
	}
	json.Unmarshal(invoke(t, c, "tmp", map[string]int{}).Payload, &first)
	json.Unmarshal(invoke(t, c, "tmp", map[string]int{}).Payload, &second)
	if !strings.HasPrefix(first.Dir, filepath.Join(s.DataDir, "lambda", "tmp")+"/") || first.Seen || second.Dir != first.Dir || !second.Seen {
		t.Fatalf("first invocation %+v, second %+v", first, second)
	}
	if _, err := c.DeleteFunction(ctx(t), &lambda.DeleteFunctionInput{FunctionName: aws.String("tmp")}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(first.Dir); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sandbox's temporary directory %s outlived its function", first.Dir)
		}
	}
}

// The managed Node.js runtime: async and callback handlers, ES modules,
// errors (Lambda developer guide, "Building Lambda functions with
// Node.js").
func TestNodeRuntime(t *testing.T) {
	requireClient(t, "node", "--version")
	_, c := startLambda(t)
	createFunction(t, c, "node", codeZip(map[string]string{
		"index.js": `exports.handler = async (event, context) => {
  if (event.fail) throw new TypeError("nope");
  return { got: event, name: context.functionName, id: context.awsRequestId, left: context.getRemainingTimeInMillis() > 0 };
};
exports.cb = (event, context, callback) => { setTimeout(() => callback(null, "called back"), 5); };
`,
		"esm.mjs": "export const handler = async () => 'from esm';\n",
	}), func(in *lambda.CreateFunctionInput) {
		in.Runtime, in.Handler = lambdatypes.RuntimeNodejs20x, aws.String("index.handler")
	})
	out := invoke(t, c, "node", map[string]int{"n": 2})
	var r struct {
		Got      map[string]int
		Name, ID string
		Left     bool
	}
	if err := json.Unmarshal(out.Payload, &r); err != nil || r.Got["n"] != 2 || r.Name != "node" || r.ID == "" || !r.Left {
		t.Fatalf("node answered %s (%v)", out.Payload, err)
	}
	out = invoke(t, c, "node", map[string]bool{"fail": true})
	var fe struct{ ErrorType, ErrorMessage string }
	json.Unmarshal(out.Payload, &fe)
	if out.FunctionError == nil || fe.ErrorType != "TypeError" || fe.ErrorMessage != "nope" {
		t.Fatalf("node error = %s", out.Payload)
	}
	for handler, want := range map[string]string{"index.cb": `"called back"`, "esm.handler": `"from esm"`} {
		if _, err := c.UpdateFunctionConfiguration(ctx(t), &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("node"),
			Handler: aws.String(handler)}); err != nil {
			t.Fatal(err)
		}
		if out := invoke(t, c, "node", map[string]int{}); string(out.Payload) != want {
			t.Fatalf("%s answered %s, want %s", handler, out.Payload, want)
		}
	}
}

// Versions are immutable snapshots; aliases route by weight and report
// the version that ran (Lambda developer guide, "Lambda function
// versions", "Lambda function aliases").
func TestVersionsAndAliases(t *testing.T) {
	_, c := startLambda(t)
	reply := func(v string) []byte {
		return pythonRuntime("    return " + strconv.Quote(v))
	}
	createFunction(t, c, "ver", reply("one"))
	v1, err := c.PublishVersion(ctx(t), &lambda.PublishVersionInput{FunctionName: aws.String("ver")})
	if err != nil || *v1.Version != "1" || *v1.FunctionArn != "arn:aws:lambda:us-east-1:000000000000:function:ver:1" {
		t.Fatalf("PublishVersion = %+v, %v", v1, err)
	}
	// Publishing an unchanged $LATEST returns the same version.
	if again, _ := c.PublishVersion(ctx(t), &lambda.PublishVersionInput{FunctionName: aws.String("ver")}); *again.Version != "1" {
		t.Fatalf("unchanged publish made version %s", *again.Version)
	}
	if _, err := c.UpdateFunctionCode(ctx(t), &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("ver"), ZipFile: reply("two")}); err != nil {
		t.Fatal(err)
	}
	v2, err := c.PublishVersion(ctx(t), &lambda.PublishVersionInput{FunctionName: aws.String("ver")})
	if err != nil || *v2.Version != "2" {
		t.Fatalf("second PublishVersion = %+v, %v", v2, err)
	}
	if out := invoke(t, c, "ver", nil, func(in *lambda.InvokeInput) { in.Qualifier = aws.String("1") }); string(out.Payload) != `"one"` || *out.ExecutedVersion != "1" {
		t.Fatalf("version 1 answered %s (%s)", out.Payload, *out.ExecutedVersion)
	}
	if out := invoke(t, c, "ver", nil); string(out.Payload) != `"two"` || *out.ExecutedVersion != "$LATEST" {
		t.Fatalf("$LATEST answered %s", out.Payload)
	}
	vs, err := c.ListVersionsByFunction(ctx(t), &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("ver")})
	if err != nil || len(vs.Versions) != 3 {
		t.Fatalf("ListVersionsByFunction = %+v, %v", vs, err)
	}
	// An alias at version 1 sending 30% to version 2.
	al, err := c.CreateAlias(ctx(t), &lambda.CreateAliasInput{FunctionName: aws.String("ver"), Name: aws.String("live"),
		FunctionVersion: aws.String("1"), RoutingConfig: &lambdatypes.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"2": 0.3}}})
	if err != nil || *al.AliasArn != "arn:aws:lambda:us-east-1:000000000000:function:ver:live" {
		t.Fatalf("CreateAlias = %+v, %v", al, err)
	}
	ran := map[string]int{}
	for i := 0; i < 200; i++ {
		out := invoke(t, c, "ver", nil, func(in *lambda.InvokeInput) { in.Qualifier = aws.String("live") })
		ran[*out.ExecutedVersion]++
		if want := map[string]string{"1": `"one"`, "2": `"two"`}[*out.ExecutedVersion]; string(out.Payload) != want {
			t.Fatalf("version %s answered %s", *out.ExecutedVersion, out.Payload)
		}
	}
	// 30% of 200 is 60; the bounds are five standard deviations wide.
	if ran["2"] < 28 || ran["2"] > 92 || ran["1"]+ran["2"] != 200 {
		t.Fatalf("alias routing ran %v", ran)
	}
	_, err = c.DeleteFunction(ctx(t), &lambda.DeleteFunctionInput{FunctionName: aws.String("ver"), Qualifier: aws.String("1")})
	wantCode(t, err, "ResourceConflictException")
	if _, err := c.UpdateAlias(ctx(t), &lambda.UpdateAliasInput{FunctionName: aws.String("ver"), Name: aws.String("live"),
		FunctionVersion: aws.String("2"), RoutingConfig: &lambdatypes.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{}}}); err != nil {
		t.Fatal(err)
	}
	if out := invoke(t, c, "ver", nil, func(in *lambda.InvokeInput) { in.Qualifier = aws.String("live") }); *out.ExecutedVersion != "2" {
		t.Fatalf("after UpdateAlias ran version %s", *out.ExecutedVersion)
	}
	if _, err := c.DeleteFunction(ctx(t), &lambda.DeleteFunctionInput{FunctionName: aws.String("ver"), Qualifier: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetFunction(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String("ver"), Qualifier: aws.String("1")})
	wantCode(t, err, "ResourceNotFoundException")
	as, err := c.ListAliases(ctx(t), &lambda.ListAliasesInput{FunctionName: aws.String("ver")})
	if err != nil || len(as.Aliases) != 1 {
		t.Fatalf("ListAliases = %+v, %v", as, err)
	}
}

// Asynchronous invocations are queued durably, retried on the injected
// clock, and their records go to the OnSuccess / OnFailure destinations
// (Lambda developer guide, "Asynchronous invocation", "Adding a
// destination").
func TestAsyncInvokeRetriesAndDestinations(t *testing.T) {
	s := servertest.Start(t, servertest.Options{FakeClock: true})
	c := lambda.NewFromConfig(s.Config())
	q := sqs.NewFromConfig(s.Config())
	okURL := create(t, q, "on-success", nil)
	failURL := create(t, q, "on-failure", nil)
	createFunction(t, c, "flaky", pythonRuntime(`    if event.get("fail"):
        raise RuntimeError("always")
    return {"ok": event}`))
	cfg, err := c.PutFunctionEventInvokeConfig(ctx(t), &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("flaky"),
		MaximumRetryAttempts: aws.Int32(1), DestinationConfig: &lambdatypes.DestinationConfig{
			OnSuccess: &lambdatypes.OnSuccess{Destination: aws.String("arn:aws:sqs:us-east-1:000000000000:on-success")},
			OnFailure: &lambdatypes.OnFailure{Destination: aws.String("arn:aws:sqs:us-east-1:000000000000:on-failure")}}})
	if err != nil || *cfg.MaximumRetryAttempts != 1 || *cfg.FunctionArn != "arn:aws:lambda:us-east-1:000000000000:function:flaky:$LATEST" {
		t.Fatalf("PutFunctionEventInvokeConfig = %+v, %v", cfg, err)
	}
	waitMessage := func(url string) map[string]any {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if ms := receive(t, q, url, 1); len(ms) == 1 {
				var m map[string]any
				json.Unmarshal([]byte(*ms[0].Body), &m)
				return m
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("no record in %s", url)
		return nil
	}
	ev := invoke(t, c, "flaky", map[string]int{"n": 1}, func(in *lambda.InvokeInput) { in.InvocationType = lambdatypes.InvocationTypeEvent })
	if ev.StatusCode != 202 {
		t.Fatalf("Event invoke status %d", ev.StatusCode)
	}
	rec := waitMessage(okURL)
	rc := rec["requestContext"].(map[string]any)
	if rc["condition"] != "Success" || rec["responsePayload"].(map[string]any)["ok"].(map[string]any)["n"] != float64(1) {
		t.Fatalf("success record = %v", rec)
	}

	invoke(t, c, "flaky", map[string]bool{"fail": true}, func(in *lambda.InvokeInput) { in.InvocationType = lambdatypes.InvocationTypeEvent })
	// The first attempt fails at once; the retry waits a minute.
	waitPending(t, s, 1)
	s.Clock.Advance(time.Minute)
	rec = waitMessage(failURL)
	rc = rec["requestContext"].(map[string]any)
	resp := rec["responseContext"].(map[string]any)
	if rc["condition"] != "RetriesExhausted" || rc["approximateInvokeCount"] != float64(2) || resp["functionError"] != "Unhandled" {
		t.Fatalf("failure record = %v", rec)
	}
	if err := func() error {
		_, err := c.DeleteFunctionEventInvokeConfig(ctx(t), &lambda.DeleteFunctionEventInvokeConfigInput{FunctionName: aws.String("flaky")})
		return err
	}(); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetFunctionEventInvokeConfig(ctx(t), &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("flaky")})
	wantCode(t, err, "ResourceNotFoundException")
}

// Concurrency, resource policy and tags (Lambda API reference:
// PutFunctionConcurrency, AddPermission, TagResource).
func TestFunctionSettings(t *testing.T) {
	_, c := startLambda(t)
	createFunction(t, c, "settings", pythonRuntime("    return 1"))
	arn := "arn:aws:lambda:us-east-1:000000000000:function:settings"
	if _, err := c.PutFunctionConcurrency(ctx(t), &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("settings"),
		ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	_, err := c.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("settings")})
	wantCode(t, err, "TooManyRequestsException")
	got, err := c.GetFunctionConcurrency(ctx(t), &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("settings")})
	if err != nil || got.ReservedConcurrentExecutions == nil || *got.ReservedConcurrentExecutions != 0 {
		t.Fatalf("GetFunctionConcurrency = %+v, %v", got, err)
	}
	if _, err := c.DeleteFunctionConcurrency(ctx(t), &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("settings")}); err != nil {
		t.Fatal(err)
	}
	if out := invoke(t, c, "settings", nil); string(out.Payload) != "1" {
		t.Fatalf("after DeleteFunctionConcurrency: %s", out.Payload)
	}
	_, err = c.GetPolicy(ctx(t), &lambda.GetPolicyInput{FunctionName: aws.String("settings")})
	wantCode(t, err, "ResourceNotFoundException")
	if _, err := c.AddPermission(ctx(t), &lambda.AddPermissionInput{FunctionName: aws.String("settings"), StatementId: aws.String("sns"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("sns.amazonaws.com"),
		SourceArn: aws.String("arn:aws:sns:us-east-1:000000000000:t")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.AddPermission(ctx(t), &lambda.AddPermissionInput{FunctionName: aws.String("settings"), StatementId: aws.String("sns"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("sns.amazonaws.com")})
	wantCode(t, err, "ResourceConflictException")
	pol, err := c.GetPolicy(ctx(t), &lambda.GetPolicyInput{FunctionName: aws.String("settings")})
	if err != nil || !strings.Contains(*pol.Policy, `"Sid":"sns"`) || !strings.Contains(*pol.Policy, `"AWS:SourceArn":"arn:aws:sns:us-east-1:000000000000:t"`) {
		t.Fatalf("GetPolicy = %v, %v", pol, err)
	}
	if _, err := c.RemovePermission(ctx(t), &lambda.RemovePermissionInput{FunctionName: aws.String("settings"), StatementId: aws.String("sns")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TagResource(ctx(t), &lambda.TagResourceInput{Resource: aws.String(arn), Tags: map[string]string{"team": "a", "env": "dev"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx(t), &lambda.UntagResourceInput{Resource: aws.String(arn), TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTags(ctx(t), &lambda.ListTagsInput{Resource: aws.String(arn)})
	if err != nil || len(tags.Tags) != 1 || tags.Tags["team"] != "a" {
		t.Fatalf("ListTags = %+v, %v", tags, err)
	}
}

// Layers stack in order, later over earlier, and are found where Lambda's
// runtimes look: python/ on the Python path (Lambda developer guide,
// "Lambda layers").
func TestLayers(t *testing.T) {
	requireClient(t, "python3", "--version")
	_, c := startLambda(t)
	publish := func(name string, files map[string]string) string {
		t.Helper()
		out, err := c.PublishLayerVersion(ctx(t), &lambda.PublishLayerVersionInput{LayerName: aws.String(name),
			Content: &lambdatypes.LayerVersionContentInput{ZipFile: codeZip(files)}, CompatibleRuntimes: []lambdatypes.Runtime{lambdatypes.RuntimePython311}})
		if err != nil {
			t.Fatalf("PublishLayerVersion: %v", err)
		}
		return *out.LayerVersionArn
	}
	base := publish("shared", map[string]string{"python/greeting.py": "WORD = 'base'\n", "python/only_base.py": "X = 1\n"})
	over := publish("shared", map[string]string{"python/greeting.py": "WORD = 'override'\n"})
	if !strings.HasSuffix(base, ":layer:shared:1") || !strings.HasSuffix(over, ":layer:shared:2") {
		t.Fatalf("layer version ARNs %s, %s", base, over)
	}
	createFunction(t, c, "layered", codeZip(map[string]string{"app.py": `import greeting, only_base
def handler(event, context):
    return greeting.WORD + str(only_base.X)
`}), func(in *lambda.CreateFunctionInput) {
		in.Runtime, in.Handler, in.Layers = lambdatypes.RuntimePython311, aws.String("app.handler"), []string{base, over}
	})
	if out := invoke(t, c, "layered", nil); string(out.Payload) != `"override1"` {
		t.Fatalf("layered function answered %s", out.Payload)
	}
	cfg, err := c.GetFunctionConfiguration(ctx(t), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("layered")})
	if err != nil || len(cfg.Layers) != 2 || *cfg.Layers[1].Arn != over {
		t.Fatalf("Layers = %+v, %v", cfg.Layers, err)
	}
	list, err := c.ListLayerVersions(ctx(t), &lambda.ListLayerVersionsInput{LayerName: aws.String("shared")})
	if err != nil || len(list.LayerVersions) != 2 || list.LayerVersions[0].Version != 2 {
		t.Fatalf("ListLayerVersions = %+v, %v", list, err)
	}
	_, err = c.CreateFunction(ctx(t), &lambda.CreateFunctionInput{FunctionName: aws.String("badlayer"), Runtime: lambdatypes.RuntimePython311,
		Role: aws.String(testRole), Handler: aws.String("app.handler"), Code: &lambdatypes.FunctionCode{ZipFile: codeZip(map[string]string{"app.py": ""})},
		Layers: []string{"arn:aws:lambda:us-east-1:000000000000:layer:missing:1"}})
	wantCode(t, err, "InvalidParameterValueException")
	if _, err := c.DeleteLayerVersion(ctx(t), &lambda.DeleteLayerVersionInput{LayerName: aws.String("shared"), VersionNumber: aws.Int64(1)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetLayerVersion(ctx(t), &lambda.GetLayerVersionInput{LayerName: aws.String("shared"), VersionNumber: aws.Int64(1)})
	wantCode(t, err, "ResourceNotFoundException")
	// The function keeps working with the layer it already has.
	if out := invoke(t, c, "layered", nil); string(out.Payload) != `"override1"` {
		t.Fatalf("after the layer's deletion: %s", out.Payload)
	}
}

// Function output and the START / END / REPORT lines are kept per function
// (log group /aws/lambda/NAME, a stream per sandbox) and read through the
// CloudWatch Logs API (Lambda developer guide, "Using CloudWatch Logs with
// Lambda").
func TestFunctionLogs(t *testing.T) {
	s, c := startLambda(t)
	lc := cloudwatchlogs.NewFromConfig(s.Config())
	createFunction(t, c, "talker", pythonRuntime(`    print("hello from the function", flush=True)
    return 1`))
	invoke(t, c, "talker", nil)
	invoke(t, c, "talker", nil)
	groups, err := lc.DescribeLogGroups(ctx(t), &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/lambda/")})
	if err != nil || len(groups.LogGroups) != 1 || *groups.LogGroups[0].LogGroupName != "/aws/lambda/talker" {
		t.Fatalf("DescribeLogGroups = %+v, %v", groups, err)
	}
	streams, err := lc.DescribeLogStreams(ctx(t), &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/aws/lambda/talker")})
	if err != nil || len(streams.LogStreams) != 1 || !strings.Contains(*streams.LogStreams[0].LogStreamName, "[$LATEST]") {
		t.Fatalf("DescribeLogStreams = %+v, %v", streams, err)
	}
	evs, err := lc.GetLogEvents(ctx(t), &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/aws/lambda/talker"),
		LogStreamName: streams.LogStreams[0].LogStreamName, StartFromHead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	var text []string
	for _, e := range evs.Events {
		text = append(text, *e.Message)
	}
	all := strings.Join(text, "\n")
	if strings.Count(all, "START RequestId:") != 2 || strings.Count(all, "hello from the function") != 2 || strings.Count(all, "REPORT RequestId:") != 2 {
		t.Fatalf("log events:\n%s", all)
	}
	f, err := lc.FilterLogEvents(ctx(t), &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/talker"), FilterPattern: aws.String("REPORT")})
	if err != nil || len(f.Events) != 2 {
		t.Fatalf("FilterLogEvents = %d events, %v", len(f.Events), err)
	}
	// Clients write their own logs too.
	if _, err := lc.CreateLogGroup(ctx(t), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.CreateLogStream(ctx(t), &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	_, err = lc.PutLogEvents(ctx(t), &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("s"),
		LogEvents: []logtypes.InputLogEvent{{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String("custom line")}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := lc.GetLogEvents(ctx(t), &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("s")})
	if err != nil || len(got.Events) != 1 || *got.Events[0].Message != "custom line" {
		t.Fatalf("GetLogEvents = %+v, %v", got, err)
	}
	_, err = lc.GetLogEvents(ctx(t), &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("missing"), LogStreamName: aws.String("s")})
	wantCode(t, err, "ResourceNotFoundException")
}

// MemorySize is a memory limit where the host allows memory cgroups: a
// function that goes over it is killed and reported as Lambda reports it.
func TestMemoryLimit(t *testing.T) {
	if _, err := os.Stat("/sys/fs/cgroup/memory"); err != nil {
		if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err != nil {
			t.Skip("no memory cgroups on this host")
		}
	}
	_, c := startLambda(t)
	createFunction(t, c, "hungry", pythonRuntime(`    b = bytearray(event["mb"] * 1024 * 1024)
    return len(b)`), func(in *lambda.CreateFunctionInput) { in.MemorySize = aws.Int32(128) })
	if out := invoke(t, c, "hungry", map[string]int{"mb": 16}); out.FunctionError != nil {
		t.Fatalf("16 MB in 128 MB failed: %s", out.Payload)
	}
	out := invoke(t, c, "hungry", map[string]int{"mb": 400})
	var fe struct{ ErrorType, ErrorMessage string }
	json.Unmarshal(out.Payload, &fe)
	if out.FunctionError == nil || fe.ErrorType != "Runtime.ExitError" || !strings.Contains(fe.ErrorMessage, "signal: killed") {
		_, v1 := os.Stat("/sys/fs/cgroup/memory/forkline")
		_, v2 := os.Stat("/sys/fs/cgroup/forkline")
		if v1 != nil && v2 != nil {
			t.Skipf("no writable memory cgroup here: %s", out.Payload)
		}
		t.Fatalf("400 MB in a 128 MB function: %s", out.Payload)
	}
}

// Regressions from review: an Event invocation by ARN uses the function's
// event invoke config; SNS invokes asynchronously, so a failing function
// meets its OnFailure destination; a mapping's unreadable batch-failure
// answer retries the whole batch.
func TestAsyncByArnAndFromSNS(t *testing.T) {
	s := servertest.Start(t, servertest.Options{FakeClock: true})
	c := lambda.NewFromConfig(s.Config())
	q := sqs.NewFromConfig(s.Config())
	sc := sns.NewFromConfig(s.Config())
	failURL := create(t, q, "arn-failures", nil)
	createFunction(t, c, "boom", pythonRuntime(`    raise RuntimeError("no")`))
	if _, err := c.PutFunctionEventInvokeConfig(ctx(t), &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("boom"),
		MaximumRetryAttempts: aws.Int32(0), DestinationConfig: &lambdatypes.DestinationConfig{
			OnFailure: &lambdatypes.OnFailure{Destination: aws.String("arn:aws:sqs:us-east-1:000000000000:arn-failures")}}}); err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:lambda:us-east-1:000000000000:function:boom"
	invoke(t, c, arn, map[string]int{}, func(in *lambda.InvokeInput) { in.InvocationType = lambdatypes.InvocationTypeEvent })
	topicArn := createTopic(t, sc, "to-boom", nil)
	if _, err := sc.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(topicArn), Protocol: aws.String("lambda"), Endpoint: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	publish(t, sc, &sns.PublishInput{TopicArn: aws.String(topicArn), Message: aws.String("hi")})
	got := 0
	deadline := time.Now().Add(30 * time.Second)
	for got < 2 && time.Now().Before(deadline) {
		for _, m := range receive(t, q, failURL, 10) {
			if !strings.Contains(*m.Body, `"condition":"RetriesExhausted"`) {
				t.Fatalf("failure record %s", *m.Body)
			}
			got++
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got != 2 {
		t.Fatalf("%d failure records, want 2 (one by ARN, one from SNS)", got)
	}
}
