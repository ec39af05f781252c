package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/forkline/forkline/internal/server/servertest"
)

func startWithCredentials(t *testing.T) *servertest.Server {
	t.Helper()
	f := filepath.Join(t.TempDir(), "credentials")
	creds := "# forkline credentials\n[default]\naws_access_key_id = AKIDFORKLINETEST\naws_secret_access_key = forkline-test-secret\n\nAKIDSECOND second-secret\n"
	if err := os.WriteFile(f, []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
	return servertest.Start(t, servertest.Options{CredentialsFile: f})
}

func TestSigV4Verification(t *testing.T) {
	s := startWithCredentials(t)
	good := sqs.NewFromConfig(s.Config())
	if _, err := good.CreateQueue(ctx(t), &sqs.CreateQueueInput{QueueName: aws.String("auth")}); err != nil {
		t.Fatalf("signed request refused: %v", err)
	}
	second := sqs.NewFromConfig(servertest.Config(s.URL, "AKIDSECOND", "second-secret"))
	if _, err := second.ListQueues(ctx(t), &sqs.ListQueuesInput{}); err != nil {
		t.Fatalf("plain-format credential refused: %v", err)
	}
	wrongSecret := sqs.NewFromConfig(servertest.Config(s.URL, "AKIDFORKLINETEST", "nope"))
	_, err := wrongSecret.ListQueues(ctx(t), &sqs.ListQueuesInput{})
	wantCode(t, err, "SignatureDoesNotMatch")
	unknown := sqs.NewFromConfig(servertest.Config(s.URL, "AKIDUNKNOWN", "x"))
	_, err = unknown.ListQueues(ctx(t), &sqs.ListQueuesInput{})
	wantCode(t, err, "InvalidClientTokenId")
}

func signedRequest(t *testing.T, url, body string, at time.Time, presign bool) *http.Response {
	t.Helper()
	method := http.MethodPost
	if presign {
		method = http.MethodGet
	}
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if !presign {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: "AKIDFORKLINETEST", SecretAccessKey: "forkline-test-secret"}
	signer := v4.NewSigner()
	if presign {
		u, hdr, err := signer.PresignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "sqs", "us-east-1", at)
		if err != nil {
			t.Fatal(err)
		}
		req, _ = http.NewRequest(http.MethodGet, u, nil)
		req.Header = hdr
	} else if err := signer.SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "sqs", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestSigV4ClockSkewAndPresigned(t *testing.T) {
	s := startWithCredentials(t)
	body := "Action=ListQueues&Version=2012-11-05"
	resp := signedRequest(t, s.URL+"/", body, time.Now(), false)
	if resp.StatusCode != 200 {
		t.Fatalf("fresh signature: status %d", resp.StatusCode)
	}
	// SigV4: a timestamp more than 15 minutes off is refused.
	resp = signedRequest(t, s.URL+"/", body, time.Now().Add(-20*time.Minute), false)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !bytes.Contains(b, []byte("<Code>RequestExpired</Code>")) {
		t.Fatalf("skewed request: %d %s", resp.StatusCode, b)
	}
	// Presigned query strings work, and expire.
	resp = signedRequest(t, s.URL+"/?Action=ListQueues&Version=2012-11-05&X-Amz-Expires=60", "", time.Now(), true)
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || !bytes.Contains(b, []byte("<ListQueuesResponse")) {
		t.Fatalf("presigned: %d %s", resp.StatusCode, b)
	}
	resp = signedRequest(t, s.URL+"/?Action=ListQueues&Version=2012-11-05&X-Amz-Expires=60", "", time.Now().Add(-2*time.Minute), true)
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 400 || !bytes.Contains(b, []byte("RequestExpired")) {
		t.Fatalf("expired presigned: %d %s", resp.StatusCode, b)
	}
	// Unsigned requests need a token when credentials are configured.
	r, err := http.Post(s.URL+"/", "application/x-www-form-urlencoded", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	if b, _ := io.ReadAll(r.Body); r.StatusCode != 403 || !bytes.Contains(b, []byte("MissingAuthenticationToken")) {
		t.Fatalf("unsigned: %d %s", r.StatusCode, b)
	}
}

func TestRoutingErrors(t *testing.T) {
	s, _ := start(t, false)
	post := func(target, ctype, body string) (int, http.Header, string) {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/", strings.NewReader(body))
		if target != "" {
			req.Header.Set("X-Amz-Target", target)
		}
		req.Header.Set("Content-Type", ctype)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	status, hdr, body := post("AmazonSQS.Frobnicate", "application/x-amz-json-1.0", "{}")
	if status != 400 || !strings.Contains(body, "UnknownOperationException") || hdr.Get("x-amzn-RequestId") == "" {
		t.Fatalf("unknown JSON action: %d %s", status, body)
	}
	status, _, body = post("", "application/x-www-form-urlencoded", "Action=Frobnicate&Version=2012-11-05&QueueUrl=x")
	if status != 400 || !strings.Contains(body, "<Code>InvalidAction</Code>") {
		t.Fatalf("unknown query action: %d %s", status, body)
	}
	// JSON members are named exactly: "queuename" is not QueueName.
	status, _, body = post("AmazonSQS.CreateQueue", "application/x-amz-json-1.0", `{"queuename":"folded"}`)
	if status != 400 || !strings.Contains(body, "QueueName") {
		t.Fatalf("a member named in another case: %d %s", status, body)
	}
	status, _, body = post("AmazonSQS.SendMessage", "application/x-amz-json-1.0", `{"queueurl":"`+s.URL+`/000000000000/x","MessageBody":"m"}`)
	if status != 400 || !strings.Contains(body, "QueueUrl") {
		t.Fatalf("SendMessage's member named in another case: %d %s", status, body)
	}
	status, _, body = post("AmazonSQS.ListQueues", "application/x-amz-json-1.0", "{not json")
	if status != 400 || !strings.Contains(body, "SerializationException") {
		t.Fatalf("malformed JSON: %d %s", status, body)
	}
	// JSON text is UTF-8 (RFC 8259, section 8.1): a body with invalid
	// bytes is refused, not stored with them replaced.
	if _, err := sqs.NewFromConfig(s.Config()).CreateQueue(ctx(t), &sqs.CreateQueueInput{QueueName: aws.String("utf8")}); err != nil {
		t.Fatal(err)
	}
	status, _, body = post("AmazonSQS.SendMessage", "application/x-amz-json-1.0", `{"QueueUrl":"`+s.URL+"/000000000000/utf8\",\"MessageBody\":\"a\xff\xfeb\"}")
	if status != 400 || !strings.Contains(body, "SerializationException") {
		t.Fatalf("invalid UTF-8 in a JSON body: %d %s", status, body)
	}
	status, hdr, body = post("AmazonSQS.GetQueueUrl", "application/x-amz-json-1.0", `{"QueueName":"none"}`)
	// SQS JSON API responses guide: the error type plus x-amzn-query-error.
	if status != 400 || !strings.Contains(body, `"__type":"com.amazonaws.sqs#QueueDoesNotExist"`) ||
		hdr.Get("x-amzn-query-error") != "AWS.SimpleQueueService.NonExistentQueue;Sender" {
		t.Fatalf("JSON error shape: %d %v %s", status, hdr, body)
	}
	status, _, body = post("DynamoDB_20120810.ListTables", "application/x-amz-json-1.0", "{}")
	if status != 400 || !strings.Contains(body, "UnknownOperationException") {
		t.Fatalf("unknown service: %d %s", status, body)
	}
}
