package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/forkline/forkline/internal/server/servertest"
)

var testCreds = aws.Credentials{AccessKeyID: "AKIDFORKLINETEST", SecretAccessKey: "forkline-test-secret"}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// signedSend signs req (for service and region, over payloadHash) with the
// test credentials, lets tamper change it after signing, and returns the
// status and body of the answer.
func signedSend(t *testing.T, req *http.Request, payloadHash, service, region string, tamper func(*http.Request)) (int, string) {
	t.Helper()
	if err := v4.NewSigner().SignHTTP(context.Background(), testCreds, req, payloadHash, service, region, time.Now()); err != nil {
		t.Fatal(err)
	}
	if tamper != nil {
		tamper(req)
	}
	return do(t, req)
}

// do sends req and returns the status and body of the answer.
func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestSignatureCoversTheRequest: with credentials configured, a signature
// vouches for the body, the region, the service and the host it was made
// for (AWS General Reference, "Create a canonical request for Signature
// Version 4": the hashed payload and the host header are part of it;
// "Credential scope": date, Region, service).
func TestSignatureCoversTheRequest(t *testing.T) {
	s := startWithCredentials(t)
	form := func(body string) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req
	}
	list := "Action=ListQueues&Version=2012-11-05"
	if status, body := signedSend(t, form(list), hexSum([]byte(list)), "sqs", "us-east-1", nil); status != 200 {
		t.Fatalf("a good signature: %d %s", status, body)
	}

	// Another body under a signature made for the first: an unsigned
	// X-Amz-Content-Sha256 naming the first body's hash changes nothing.
	evil := "Action=CreateQueue&QueueName=evil&Version=2012-11-05"
	status, body := signedSend(t, form(list), hexSum([]byte(list)), "sqs", "us-east-1", func(r *http.Request) {
		r.Body, r.ContentLength = io.NopCloser(strings.NewReader(evil)), int64(len(evil))
		r.Header.Set("X-Amz-Content-Sha256", hexSum([]byte(list)))
	})
	if status != 403 || !strings.Contains(body, "SignatureDoesNotMatch") {
		t.Fatalf("a body the signature does not cover: %d %s", status, body)
	}
	// Nor does a signature over UNSIGNED-PAYLOAD, which only S3 takes.
	r := form(evil)
	r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	if status, body := signedSend(t, r, "UNSIGNED-PAYLOAD", "sqs", "us-east-1", nil); status != 403 || !strings.Contains(body, "SignatureDoesNotMatch") {
		t.Fatalf("UNSIGNED-PAYLOAD on SQS: %d %s", status, body)
	}
	c := sqs.NewFromConfig(servertest.Config(s.URL, testCreds.AccessKeyID, testCreds.SecretAccessKey))
	if out, err := c.ListQueues(ctx(t), &sqs.ListQueuesInput{}); err != nil || len(out.QueueUrls) != 0 {
		t.Fatalf("a tampered request created a queue: %v, %v", out, err)
	}

	// The scope's region and service, and the host.
	if status, body := signedSend(t, form(list), hexSum([]byte(list)), "sqs", "eu-west-1", nil); status != 403 ||
		!strings.Contains(body, "Credential should be scoped to a valid region, not &#39;eu-west-1&#39;") && !strings.Contains(body, "not 'eu-west-1'") {
		t.Fatalf("another region: %d %s", status, body)
	}
	jr, _ := http.NewRequest(http.MethodPost, s.URL+"/", strings.NewReader("{}"))
	jr.Header.Set("Content-Type", "application/x-amz-json-1.0")
	jr.Header.Set("X-Amz-Target", "AmazonSQS.ListQueues")
	if status, body := signedSend(t, jr, hexSum([]byte("{}")), "execute-api", "us-east-1", nil); status != 403 || !strings.Contains(body, "Credential should be scoped to correct service: 'sqs'") {
		t.Fatalf("another service: %d %s", status, body)
	}
	status, body = signedSend(t, form(list), hexSum([]byte(list)), "sqs", "us-east-1", func(r *http.Request) {
		r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), ";host", "", 1))
	})
	if status != 403 || !strings.Contains(body, "must be a &#39;SignedHeader&#39;") && !strings.Contains(body, "must be a 'SignedHeader'") {
		t.Fatalf("host not signed: %d %s", status, body)
	}

	// A long-term key with a session token: "The security token included
	// in the request is invalid."
	tok := sqs.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(s.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			c := testCreds
			c.SessionToken = "garbage"
			return c, nil
		})})
	_, err := tok.ListQueues(ctx(t), &sqs.ListQueuesInput{})
	wantCode(t, err, "InvalidClientTokenId")
}

// TestS3BodiesAreChecked: S3 checks every body against the
// x-amz-content-sha256 its signature covers, requires that header on
// requests signed with the Authorization header, and checks the signature
// of each chunk of an aws-chunked upload (S3 API reference, "Common
// Request Headers" and "Signature Calculations for the Authorization
// Header: Transferring Payload in Multiple Chunks").
func TestS3BodiesAreChecked(t *testing.T) {
	s := startWithCredentials(t)
	c := s3.NewFromConfig(servertest.Config(s.URL, testCreds.AccessKeyID, testCreds.SecretAccessKey), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := c.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String("guarded")}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"del1", "keep"} {
		if _, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("guarded"), Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
			t.Fatal(err)
		}
	}
	exists := func(key string) bool {
		_, err := c.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: aws.String("guarded"), Key: aws.String(key)})
		return err == nil
	}

	// DeleteObjects signed for del1, sent naming keep.
	del := func(key string) string {
		return `<Delete><Object><Key>` + key + `</Key></Object></Delete>`
	}
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/guarded?delete", strings.NewReader(del("del1")))
	req.Header.Set("X-Amz-Content-Sha256", hexSum([]byte(del("del1"))))
	status, body := signedSend(t, req, hexSum([]byte(del("del1"))), "s3", "us-east-1", func(r *http.Request) {
		r.Body, r.ContentLength = io.NopCloser(strings.NewReader(del("keep"))), int64(len(del("keep")))
	})
	if status != 400 || !strings.Contains(body, "XAmzContentSHA256Mismatch") || !exists("keep") {
		t.Fatalf("DeleteObjects with another body: %d %s", status, body)
	}

	// A PUT signed without x-amz-content-sha256.
	req, _ = http.NewRequest(http.MethodPut, s.URL+"/guarded/nohash", strings.NewReader("data"))
	if status, body := signedSend(t, req, hexSum(nil), "s3", "us-east-1", nil); status != 400 ||
		!strings.Contains(body, "Missing required header for this request: x-amz-content-sha256") || exists("nohash") {
		t.Fatalf("PUT without x-amz-content-sha256: %d %s", status, body)
	}

	// aws-chunked: good chunk signatures store the data; a bad one stores
	// nothing.
	chunked := func(key string, spoil int) (int, string) {
		data := [][]byte{bytes.Repeat([]byte("a"), 8192), []byte("tail"), nil}
		now := time.Now().UTC()
		req, _ := http.NewRequest(http.MethodPut, s.URL+"/guarded/"+key, nil)
		req.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
		req.Header.Set("Content-Encoding", "aws-chunked")
		req.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(8192+4))
		if err := v4.NewSigner().SignHTTP(context.Background(), testCreds, req, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "s3", "us-east-1", now); err != nil {
			t.Fatal(err)
		}
		auth := req.Header.Get("Authorization")
		prev := auth[strings.Index(auth, "Signature=")+len("Signature="):]
		date := now.Format("20060102T150405Z")
		scope := now.Format("20060102") + "/us-east-1/s3/aws4_request"
		key4 := []byte("AWS4" + testCreds.SecretAccessKey)
		for _, p := range []string{now.Format("20060102"), "us-east-1", "s3", "aws4_request"} {
			key4 = hmacSum(key4, p)
		}
		var b bytes.Buffer
		for i, d := range data {
			sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + date + "\n" + scope + "\n" + prev + "\n" + hexSum(nil) + "\n" + hexSum(d)
			sig := hex.EncodeToString(hmacSum(key4, sts))
			prev = sig
			if i == spoil {
				sig = strings.Repeat("0", 64)
			}
			if spoil == truncated && len(d) == 0 {
				break // no final chunk
			}
			fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n", len(d), sig)
			b.Write(d)
			b.WriteString("\r\n")
		}
		if spoil == trailingData {
			b.WriteString("more")
		}
		req.Body, req.ContentLength = io.NopCloser(&b), int64(b.Len())
		return do(t, req)
	}
	if status, body := chunked("chunked", -1); status != 200 {
		t.Fatalf("signed chunks: %d %s", status, body)
	}
	got, err := c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("guarded"), Key: aws.String("chunked")})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(got.Body); len(b) != 8196 || string(b[8192:]) != "tail" {
		t.Fatalf("chunked object: %d bytes", len(b))
	}
	got.Body.Close()
	for _, spoil := range []int{0, 2} {
		if status, body := chunked("spoiled", spoil); status != 403 || !strings.Contains(body, "SignatureDoesNotMatch") || exists("spoiled") {
			t.Fatalf("chunk %d's signature spoiled: %d %s", spoil, status, body)
		}
	}
	// A body without its last chunk, or with data after it, is incomplete
	// (400), not the server's failure.
	for _, spoil := range []int{truncated, trailingData} {
		if status, body := chunked("framed", spoil); status != 400 || !strings.Contains(body, "IncompleteBody") || exists("framed") {
			t.Fatalf("malformed aws-chunked body (%d): %d %s", spoil, status, body)
		}
	}

	// A URL presigned with signature version 2 covers its sub-resources
	// and response overrides (S3 developer guide, "Signing and
	// authenticating REST requests": the CanonicalizedResource).
	exp := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	m := hmac.New(sha1.New, []byte(testCreds.SecretAccessKey))
	m.Write([]byte("GET\n\n\n" + exp + "\n/guarded/keep"))
	v2 := s.URL + "/guarded/keep?AWSAccessKeyId=" + testCreds.AccessKeyID + "&Expires=" + exp + "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(m.Sum(nil)))
	// A checksum signed in a version 2 URL's query binds the body as the
	// header would.
	evilSum := sha256.Sum256([]byte("AAAAAAAAAA"))
	pin := base64.StdEncoding.EncodeToString(evilSum[:])
	pm := hmac.New(sha1.New, []byte(testCreds.SecretAccessKey))
	pm.Write([]byte("PUT\n\n\n" + exp + "\nx-amz-checksum-sha256:" + pin + "\n/guarded/pinned"))
	pinned := s.URL + "/guarded/pinned?AWSAccessKeyId=" + testCreds.AccessKeyID + "&Expires=" + exp +
		"&x-amz-checksum-sha256=" + url.QueryEscape(pin) + "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(pm.Sum(nil)))
	for body, want := range map[string]int{"EVIL": 400, "AAAAAAAAAA": 200} {
		req, _ := http.NewRequest(http.MethodPut, pinned, strings.NewReader(body))
		if status, out := do(t, req); status != want {
			t.Fatalf("PUT %q to a URL pinning a checksum: %d %s", body, status, out)
		}
	}
	for u, want := range map[string]int{v2: 200, v2 + "&response-content-type=text%2Fhtml": 403} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", u, resp.StatusCode, want)
		}
	}
}

// Ways chunked spoils a body besides a chunk's signature.
const (
	truncated    = -2
	trailingData = -3
)

func hmacSum(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// TestFunctionCodeLinksAreSigned: GetFunction's Code.Location is "a
// presigned URL" "valid for up to 10 minutes" (Lambda API reference,
// FunctionCodeLocation); without its signature, or altered, it serves
// nothing.
func TestFunctionCodeLinksAreSigned(t *testing.T) {
	s := startWithCredentials(t)
	c := lambda.NewFromConfig(servertest.Config(s.URL, testCreds.AccessKeyID, testCreds.SecretAccessKey))
	zip := shellFunction("exit 0")
	createFunction(t, c, "linked", zip)
	out, err := c.GetFunction(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String("linked")})
	if err != nil {
		t.Fatal(err)
	}
	loc := *out.Code.Location
	get := func(u string) (int, []byte) {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if status, b := get(loc); status != 200 || !bytes.Equal(b, zip) {
		t.Fatalf("signed link: %d, %d bytes", status, len(b))
	}
	bare, _, _ := strings.Cut(loc, "?")
	if status, _ := get(bare); status != 403 {
		t.Fatalf("unsigned link: %d", status)
	}
	flip := "0"
	if strings.HasSuffix(loc, "0") {
		flip = "1"
	}
	if status, _ := get(loc[:len(loc)-1] + flip); status != 403 {
		t.Fatalf("altered link: %d", status)
	}
}

// TestBrowserRequestsRefused: without credentials forkline takes any
// signature, so it refuses what only a web page sends: a cross-site
// request, a foreign Origin, a Host that DNS rebinding would name.
func TestBrowserRequestsRefused(t *testing.T) {
	s, c := start(t, false)
	try := func(mod func(*http.Request)) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/", strings.NewReader("Action=CreateQueue&QueueName=web&Version=2012-11-05"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		mod(req)
		return do(t, req)
	}
	for name, mod := range map[string]func(*http.Request){
		"foreign origin": func(r *http.Request) { r.Header.Set("Origin", "http://evil.example") },
		"null origin":    func(r *http.Request) { r.Header.Set("Origin", "null") },
		"cross-site":     func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") },
		"rebound host":   func(r *http.Request) { r.Host = "evil.example:4566" },
		"amazonaws host": func(r *http.Request) { r.Host = "evil.amazonaws.com" },
	} {
		if status, body := try(mod); status != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") {
			t.Errorf("%s: %d %s", name, status, body)
		}
	}
	// An unsigned action in a GET's query, as an image in a page would
	// send it even where browsers send no Sec-Fetch-Site.
	today := time.Now().UTC()
	fakeSig := "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDX%2F" + today.Format("20060102") + "%2Fus-east-1%2Fsqs%2Faws4_request" +
		"&X-Amz-Date=" + today.Format("20060102T150405Z") + "&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=" + strings.Repeat("0", 64)
	for _, u := range []string{s.URL + "/?Action=CreateQueue&QueueName=web&Version=2012-11-05",
		s.URL + "/?Action=CreateStack&StackName=web&TemplateBody=%7B%7D",
		s.URL + "/?Action=CreateQueue&QueueName=web&Version=2012-11-05" + fakeSig} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			req, _ := http.NewRequest(method, u, nil)
			if status, b := do(t, req); status != 403 || method == http.MethodGet && !strings.Contains(b, "AccessDenied") {
				t.Errorf("%s %s: %d %s", method, u, status, b)
			}
		}
	}
	if out, err := c.ListQueues(ctx(t), &sqs.ListQueuesInput{}); err != nil || len(out.QueueUrls) != 0 {
		t.Fatalf("a refused request created a queue: %v, %v", out, err)
	}
	// A page of the developer's own on another local port, and S3's
	// virtual-hosted names, are served.
	if status, body := try(func(r *http.Request) {
		// localhost:3000 to 127.0.0.1 is cross-site to the browser; its
		// Origin says it is this machine's.
		r.Header.Set("Origin", "http://localhost:3000")
		r.Header.Set("Sec-Fetch-Site", "cross-site")
	}); status != 200 {
		t.Fatalf("a local origin: %d %s", status, body)
	}
	// A SubscribeURL link followed from a local app: no Origin, its page
	// in Referer.
	link, _ := http.NewRequest(http.MethodGet, s.URL+"/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-east-1:000000000000:none&Token="+strings.Repeat("ab", 64), nil)
	link.Header.Set("Sec-Fetch-Site", "cross-site")
	link.Header.Set("Referer", "http://localhost:3000/subscriptions")
	if status, body := do(t, link); status == 403 {
		t.Fatalf("a link from a local page: %d %s", status, body)
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/", nil)
	req.Host = "web.s3.amazonaws.com"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 403 {
		t.Fatalf("a virtual-hosted S3 name was refused")
	}
}

// TestFunctionsGetSessionCredentials: code forkline runs signs its calls
// with temporary credentials of its own (an ASIA key and a session token,
// as a Lambda execution role's: Lambda developer guide, "Defined runtime
// environment variables"), never a configured long-term key, and they
// work where signatures are enforced.
func TestFunctionsGetSessionCredentials(t *testing.T) {
	requireClient(t, "python3", "-c", "import boto3")
	s := startWithCredentials(t)
	cfg := servertest.Config(s.URL, testCreds.AccessKeyID, testCreds.SecretAccessKey)
	q := sqs.NewFromConfig(cfg)
	url := create(t, q, "from-function", nil)
	c := lambda.NewFromConfig(cfg)
	createFunction(t, c, "caller", codeZip(map[string]string{"app.py": `import os, boto3
def handler(event, context):
    boto3.client("sqs").send_message(QueueUrl=event["url"], MessageBody="signed by a function")
    return {"key": os.environ["AWS_ACCESS_KEY_ID"], "token": bool(os.environ.get("AWS_SESSION_TOKEN"))}
`}), func(in *lambda.CreateFunctionInput) {
		in.Runtime, in.Handler = "python3.11", aws.String("app.handler")
	})
	out := invoke(t, c, "caller", map[string]string{"url": url})
	if out.FunctionError != nil {
		t.Fatalf("function failed: %s", out.Payload)
	}
	var r struct {
		Key   string
		Token bool
	}
	if err := json.Unmarshal(out.Payload, &r); err != nil || !strings.HasPrefix(r.Key, "ASIA") || !r.Token {
		t.Fatalf("function credentials: %s", out.Payload)
	}
	if got := receive(t, q, url, 1); len(got) != 1 || *got[0].Body != "signed by a function" {
		t.Fatalf("the function's message: %v", got)
	}
}

// TestS3AndLambdaAuthErrors: S3 and Lambda name refused signatures their
// own way (S3 API reference, "Error responses": InvalidAccessKeyId,
// AuthorizationQueryParametersError; Lambda API reference, common errors:
// UnrecognizedClientException, InvalidSignatureException).
func TestS3AndLambdaAuthErrors(t *testing.T) {
	s := startWithCredentials(t)
	unknown := servertest.Config(s.URL, "AKIDUNKNOWN", "x")
	wrong := servertest.Config(s.URL, testCreds.AccessKeyID, "wrong")
	_, err := s3.NewFromConfig(unknown, func(o *s3.Options) { o.UsePathStyle = true }).ListBuckets(ctx(t), &s3.ListBucketsInput{})
	wantCode(t, err, "InvalidAccessKeyId")
	_, err = lambda.NewFromConfig(unknown).ListFunctions(ctx(t), &lambda.ListFunctionsInput{})
	wantCode(t, err, "UnrecognizedClientException")
	_, err = lambda.NewFromConfig(wrong).ListFunctions(ctx(t), &lambda.ListFunctionsInput{})
	wantCode(t, err, "InvalidSignatureException")
	// A presigned URL valid for more than a week is malformed.
	pc := s3.NewPresignClient(s3.NewFromConfig(servertest.Config(s.URL, testCreds.AccessKeyID, testCreds.SecretAccessKey), func(o *s3.Options) { o.UsePathStyle = true }))
	p, err := pc.PresignGetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("b"), Key: aws.String("k")}, s3.WithPresignExpires(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(strings.Replace(p.URL, "X-Amz-Expires=3600", "X-Amz-Expires=604801", 1))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), "<Code>AuthorizationQueryParametersError</Code>") {
		t.Fatalf("a presigned URL of more than a week: %d %s", resp.StatusCode, b)
	}
}

// TestAnonymousPathStyleS3: an unsigned request for an object of an
// existing bucket (curl, a browser tab) is S3's anonymous request: served
// when forkline takes any request, AccessDenied when signatures are
// enforced (S3 API reference, "Error responses": AccessDenied).
func TestAnonymousPathStyleS3(t *testing.T) {
	for _, enforced := range []bool{false, true} {
		var s *servertest.Server
		if enforced {
			s = startWithCredentials(t)
		} else {
			s = servertest.Start(t, servertest.Options{})
		}
		c := s3.NewFromConfig(servertest.Config(s.URL, testCreds.AccessKeyID, testCreds.SecretAccessKey), func(o *s3.Options) { o.UsePathStyle = true })
		if _, err := c.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String("site")}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("site"), Key: aws.String("index.html"), Body: strings.NewReader("<h1>hi</h1>")}); err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(s.URL + "/site/index.html")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case !enforced && (resp.StatusCode != 200 || string(b) != "<h1>hi</h1>"):
			t.Fatalf("anonymous GET without credentials: %d %s", resp.StatusCode, b)
		case enforced && (resp.StatusCode != 403 || !strings.Contains(string(b), "<Code>AccessDenied</Code>")):
			t.Fatalf("anonymous GET with credentials: %d %s", resp.StatusCode, b)
		}
	}
}

// TestFunctionPresignsS3: code run by forkline can presign S3 URLs with
// its session credentials, as boto3 does by default, and fetch them.
func TestFunctionPresignsS3(t *testing.T) {
	requireClient(t, "python3", "-c", "import boto3")
	s := startWithCredentials(t)
	cfg := servertest.Config(s.URL, testCreds.AccessKeyID, testCreds.SecretAccessKey)
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := c.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String("shared")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("shared"), Key: aws.String("report.txt"), Body: strings.NewReader("numbers")}); err != nil {
		t.Fatal(err)
	}
	l := lambda.NewFromConfig(cfg)
	createFunction(t, l, "presigner", codeZip(map[string]string{"app.py": `import boto3, urllib.request
from botocore.config import Config
def handler(event, context):
    out = {}
    for name, conf in (("default", None), ("v4", Config(signature_version="s3v4"))):
        s3 = boto3.client("s3", config=conf) if conf else boto3.client("s3")
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "shared", "Key": "report.txt"}, ExpiresIn=60)
        try:
            with urllib.request.urlopen(url) as r:
                out[name] = r.read().decode()
        except Exception as e:
            out[name] = "error: %s %s" % (e, getattr(e, "read", lambda: b"")().decode())
    return out
`}), func(in *lambda.CreateFunctionInput) {
		in.Runtime, in.Handler = "python3.11", aws.String("app.handler")
	})
	out := invoke(t, l, "presigner", map[string]string{})
	var r map[string]string
	if err := json.Unmarshal(out.Payload, &r); err != nil || r["default"] != "numbers" || r["v4"] != "numbers" {
		t.Fatalf("presigned by a function: %s", out.Payload)
	}
}

// TestTemporaryCredentialsInFile: a credentials file may hold temporary
// credentials (aws_session_token, as the AWS CLI writes for SSO and
// assumed roles); their requests must carry the token.
func TestTemporaryCredentialsInFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(f, []byte("[sso]\naws_access_key_id = ASIATEMPORARY\naws_secret_access_key = temp-secret\naws_session_token = the-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := servertest.Start(t, servertest.Options{CredentialsFile: f})
	client := func(token string) *sqs.Client {
		return sqs.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(s.URL),
			Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{AccessKeyID: "ASIATEMPORARY", SecretAccessKey: "temp-secret", SessionToken: token}, nil
			})})
	}
	if _, err := client("the-token").ListQueues(ctx(t), &sqs.ListQueuesInput{}); err != nil {
		t.Fatalf("with its token: %v", err)
	}
	for _, tok := range []string{"", "another-token"} {
		_, err := client(tok).ListQueues(ctx(t), &sqs.ListQueuesInput{})
		wantCode(t, err, "InvalidClientTokenId")
	}
}

// TestS3WrongRegion: a request signed for another region gets
// AuthorizationHeaderMalformed naming the region to sign for (S3 API
// reference, "Error responses"; botocore's region redirector signs again
// with it).
func TestS3WrongRegion(t *testing.T) {
	s := startWithCredentials(t)
	cfg := servertest.Config(s.URL, testCreds.AccessKeyID, testCreds.SecretAccessKey)
	cfg.Region = "eu-west-1"
	_, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).ListBuckets(ctx(t), &s3.ListBucketsInput{})
	wantCode(t, err, "AuthorizationHeaderMalformed")
	var ae interface{ ErrorMessage() string }
	if !asType(err, &ae) || !strings.Contains(ae.ErrorMessage(), "expecting 'us-east-1'") {
		t.Fatalf("message: %v", err)
	}
}
