package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/forkline/forkline/internal/server/servertest"
)

func s3Client(s *servertest.Server) *s3.Client {
	return s3.NewFromConfig(s.Config(), func(o *s3.Options) { o.UsePathStyle = true })
}

func httpStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func md5hex(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

// The S3 subset with aws-sdk-go-v2: buckets, objects with metadata,
// ranges and conditions, checksums, listing, copies, batch deletes
// (Amazon S3 API reference).
func TestS3Objects(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := s3Client(s)
	if _, err := c.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String("artifacts")}); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String("artifacts")})
	wantCode(t, err, "BucketAlreadyOwnedByYou")
	_, err = c.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String("Bad_Name")})
	wantCode(t, err, "InvalidBucketName")
	if _, err := c.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: aws.String("artifacts")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: aws.String("nope")})
	if httpStatus(err) != 404 {
		t.Fatalf("HeadBucket of a missing bucket: %v", err)
	}

	body := []byte("hello, forkline objects")
	put, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("artifacts"), Key: aws.String("dir/hello.txt"), Body: bytes.NewReader(body),
		ContentType: aws.String("text/plain"), Metadata: map[string]string{"owner": "ann"}, CacheControl: aws.String("max-age=60"),
		ChecksumAlgorithm: s3types.ChecksumAlgorithmCrc32})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Trim(aws.ToString(put.ETag), `"`) != md5hex(body) || put.ChecksumCRC32 == nil {
		t.Fatalf("PutObject: ETag %s, CRC32 %v", aws.ToString(put.ETag), put.ChecksumCRC32)
	}
	get, err := c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("artifacts"), Key: aws.String("dir/hello.txt"), ChecksumMode: s3types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(got, body) || aws.ToString(get.ContentType) != "text/plain" || get.Metadata["owner"] != "ann" ||
		aws.ToString(get.CacheControl) != "max-age=60" || aws.ToString(get.ChecksumCRC32) != aws.ToString(put.ChecksumCRC32) {
		t.Fatalf("GetObject: %q %+v", got, get)
	}
	// Ranges (RFC 9110, as S3 supports one range).
	rng, err := c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("artifacts"), Key: aws.String("dir/hello.txt"), Range: aws.String("bytes=7-14")})
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(rng.Body)
	rng.Body.Close()
	if string(part) != "forkline" || aws.ToString(rng.ContentRange) != "bytes 7-14/23" {
		t.Fatalf("range: %q %s", part, aws.ToString(rng.ContentRange))
	}
	_, err = c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("artifacts"), Key: aws.String("dir/hello.txt"), Range: aws.String("bytes=100-")})
	wantCode(t, err, "InvalidRange")
	// Conditional reads.
	_, err = c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("artifacts"), Key: aws.String("dir/hello.txt"), IfNoneMatch: put.ETag})
	if httpStatus(err) != 304 {
		t.Fatalf("If-None-Match: %v", err)
	}
	_, err = c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("artifacts"), Key: aws.String("dir/hello.txt"), IfMatch: aws.String(`"0000"`)})
	wantCode(t, err, "PreconditionFailed")
	_, err = c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("artifacts"), Key: aws.String("missing")})
	wantCode(t, err, "NoSuchKey")
	head, err := c.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: aws.String("artifacts"), Key: aws.String("dir/hello.txt")})
	if err != nil || aws.ToInt64(head.ContentLength) != int64(len(body)) || head.Metadata["owner"] != "ann" {
		t.Fatalf("HeadObject: %+v %v", head, err)
	}

	// Listing with a delimiter and pages.
	for _, k := range []string{"dir/a.txt", "dir/sub/b.txt", "dir/sub/c.txt", "top.txt", "z/last.txt"} {
		if _, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("artifacts"), Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
			t.Fatal(err)
		}
	}
	l, err := c.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String("artifacts"), Prefix: aws.String("dir/"), Delimiter: aws.String("/")})
	if err != nil {
		t.Fatal(err)
	}
	var keys, prefixes []string
	for _, o := range l.Contents {
		keys = append(keys, *o.Key)
	}
	for _, p := range l.CommonPrefixes {
		prefixes = append(prefixes, *p.Prefix)
	}
	if strings.Join(keys, ",") != "dir/a.txt,dir/hello.txt" || strings.Join(prefixes, ",") != "dir/sub/" || aws.ToInt32(l.KeyCount) != 3 {
		t.Fatalf("delimited listing: %v %v %d", keys, prefixes, aws.ToInt32(l.KeyCount))
	}
	var all []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String("artifacts"), MaxKeys: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			all = append(all, *o.Key)
		}
	}
	if strings.Join(all, ",") != "dir/a.txt,dir/hello.txt,dir/sub/b.txt,dir/sub/c.txt,top.txt,z/last.txt" {
		t.Fatalf("paged listing: %v", all)
	}

	// Copy, keeping or replacing the metadata.
	cp, err := c.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: aws.String("artifacts"), Key: aws.String("copy.txt"), CopySource: aws.String("artifacts/dir/hello.txt")})
	if err != nil || strings.Trim(aws.ToString(cp.CopyObjectResult.ETag), `"`) != md5hex(body) {
		t.Fatalf("CopyObject: %+v %v", cp, err)
	}
	h2, _ := c.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: aws.String("artifacts"), Key: aws.String("copy.txt")})
	if h2.Metadata["owner"] != "ann" {
		t.Fatalf("copied metadata: %v", h2.Metadata)
	}
	// Batch delete, then delete the bucket once empty.
	var ids []s3types.ObjectIdentifier
	for _, k := range append(all, "copy.txt", "not-there") {
		ids = append(ids, s3types.ObjectIdentifier{Key: aws.String(k)})
	}
	_, err = c.DeleteBucket(ctx(t), &s3.DeleteBucketInput{Bucket: aws.String("artifacts")})
	wantCode(t, err, "BucketNotEmpty")
	del, err := c.DeleteObjects(ctx(t), &s3.DeleteObjectsInput{Bucket: aws.String("artifacts"), Delete: &s3types.Delete{Objects: ids}})
	if err != nil || len(del.Deleted) != len(ids) {
		t.Fatalf("DeleteObjects: %+v %v", del, err)
	}
	if _, err := c.DeleteBucket(ctx(t), &s3.DeleteBucketInput{Bucket: aws.String("artifacts")}); err != nil {
		t.Fatal(err)
	}
	lb, err := c.ListBuckets(ctx(t), &s3.ListBucketsInput{})
	if err != nil || len(lb.Buckets) != 0 {
		t.Fatalf("ListBuckets: %+v %v", lb, err)
	}
}

// Multipart uploads: parts of at least 5 MiB but the last, the ETag of
// the parts, listing and aborting (S3 API reference, "Multipart upload").
func TestS3Multipart(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	c := s3Client(s)
	c.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String("big")})
	up, err := c.CreateMultipartUpload(ctx(t), &s3.CreateMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("blob.bin"), ContentType: aws.String("application/x-test")})
	if err != nil {
		t.Fatal(err)
	}
	p1 := bytes.Repeat([]byte("a"), 5<<20)
	p2 := []byte("tail")
	var parts []s3types.CompletedPart
	var sums []byte
	for i, b := range [][]byte{p1, p2} {
		r, err := c.UploadPart(ctx(t), &s3.UploadPartInput{Bucket: aws.String("big"), Key: aws.String("blob.bin"), UploadId: up.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(b)})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, s3types.CompletedPart{ETag: r.ETag, PartNumber: aws.Int32(int32(i + 1))})
		s := md5.Sum(b)
		sums = append(sums, s[:]...)
	}
	lp, err := c.ListParts(ctx(t), &s3.ListPartsInput{Bucket: aws.String("big"), Key: aws.String("blob.bin"), UploadId: up.UploadId})
	if err != nil || len(lp.Parts) != 2 {
		t.Fatalf("ListParts: %+v %v", lp, err)
	}
	_, err = c.CompleteMultipartUpload(ctx(t), &s3.CompleteMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("blob.bin"), UploadId: up.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: []s3types.CompletedPart{parts[1], parts[0]}}})
	wantCode(t, err, "InvalidPartOrder")
	done, err := c.CompleteMultipartUpload(ctx(t), &s3.CompleteMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("blob.bin"), UploadId: up.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `"` + md5hex(sums) + `-2"`; aws.ToString(done.ETag) != want {
		t.Fatalf("multipart ETag %s, want %s", aws.ToString(done.ETag), want)
	}
	get, err := c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("big"), Key: aws.String("blob.bin")})
	if err != nil {
		t.Fatal(err)
	}
	all, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(all, append(append([]byte{}, p1...), p2...)) || aws.ToString(get.ContentType) != "application/x-test" {
		t.Fatalf("assembled object: %d bytes, %s", len(all), aws.ToString(get.ContentType))
	}
	ab, _ := c.CreateMultipartUpload(ctx(t), &s3.CreateMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("aborted")})
	if _, err := c.AbortMultipartUpload(ctx(t), &s3.AbortMultipartUploadInput{Bucket: aws.String("big"), Key: aws.String("aborted"), UploadId: ab.UploadId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.ListParts(ctx(t), &s3.ListPartsInput{Bucket: aws.String("big"), Key: aws.String("aborted"), UploadId: ab.UploadId})
	wantCode(t, err, "NoSuchUpload")
}

// Virtual-hosted-style addressing (bucket.localhost) and presigned URLs
// (S3 user guide, "Virtual hosting of buckets" and "Sharing objects with
// presigned URLs").
func TestS3VirtualHostsAndPresignedURLs(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	addr := strings.TrimPrefix(s.URL, "http://")
	_, port, _ := net.SplitHostPort(addr)
	cfg := s.Config()
	// Every host name reaches the server, as *.localhost does through a
	// resolver that knows it.
	cfg.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}}
	cfg.BaseEndpoint = aws.String("http://localhost:" + port)
	vc := s3.NewFromConfig(cfg)
	if _, err := vc.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String("vhost")}); err != nil {
		t.Fatal(err)
	}
	if _, err := vc.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("vhost"), Key: aws.String("a/b c.txt"), Body: strings.NewReader("virtual")}); err != nil {
		t.Fatal(err)
	}
	c := s3Client(s)
	get, err := c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("vhost"), Key: aws.String("a/b c.txt")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if string(b) != "virtual" {
		t.Fatalf("path-style read of a virtual-hosted write: %q", b)
	}
	// Presigned GET and PUT, used with a plain HTTP client.
	pc := s3.NewPresignClient(c)
	pg, err := pc.PresignGetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("vhost"), Key: aws.String("a/b c.txt")}, s3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "virtual" {
		t.Fatalf("presigned GET: %d %q", resp.StatusCode, b)
	}
	pp, err := pc.PresignPutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("vhost"), Key: aws.String("uploaded")}, s3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, pp.URL, strings.NewReader("by presigned PUT"))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("presigned PUT: %d", resp.StatusCode)
	}
	h, err := c.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: aws.String("vhost"), Key: aws.String("uploaded")})
	if err != nil || aws.ToInt64(h.ContentLength) != int64(len("by presigned PUT")) {
		t.Fatalf("after presigned PUT: %+v %v", h, err)
	}
	_ = url.Values{}
}

// The AWS CLI's s3 commands (botocore's own signing, checksums and
// addressing).
func TestS3WithAWSCLI(t *testing.T) {
	requireClient(t, "aws", "--version")
	s := startWithCredentials(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "report.txt")
	os.WriteFile(file, []byte("quarterly numbers\n"), 0o644)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("aws", append([]string{"--endpoint-url", s.URL, "--region", "us-east-1"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDFORKLINETEST", "AWS_SECRET_ACCESS_KEY=forkline-test-secret", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	run("s3", "mb", "s3://cli-bucket")
	run("s3", "cp", file, "s3://cli-bucket/reports/q1.txt")
	if out := run("s3", "ls", "s3://cli-bucket/reports/"); !strings.Contains(out, "q1.txt") {
		t.Fatalf("aws s3 ls: %s", out)
	}
	if out := run("s3", "cp", "s3://cli-bucket/reports/q1.txt", "-"); out != "quarterly numbers\n" {
		t.Fatalf("aws s3 cp to stdout: %q", out)
	}
	// The CLI presigns with signature version 2 (query-string
	// authentication); the URL works, and only unchanged.
	u := strings.TrimSpace(run("s3", "presign", "s3://cli-bucket/reports/q1.txt", "--expires-in", "300"))
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "quarterly numbers\n" {
		t.Fatalf("presigned (v2) GET: %d %q", resp.StatusCode, b)
	}
	resp, err = http.Get(strings.Replace(u, "q1.txt", "q2.txt", 1))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("tampered presigned (v2) URL: %d", resp.StatusCode)
	}
	run("s3", "rm", "s3://cli-bucket/reports/q1.txt")
	run("s3", "rb", "s3://cli-bucket")
}

// With credentials configured, S3 requests are verified like the others:
// signed headers with the payload hash (and aws-chunked uploads), and
// presigned URLs, whose tampering or expiry is refused (S3 API reference,
// "Authenticating Requests (AWS Signature Version 4)").
func TestS3SignatureVerification(t *testing.T) {
	s := startWithCredentials(t)
	c := s3Client(s)
	if _, err := c.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String("signed")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("signed"), Key: aws.String("k"), Body: strings.NewReader("secret data"),
		ChecksumAlgorithm: s3types.ChecksumAlgorithmSha256}); err != nil {
		t.Fatal(err)
	}
	bad := s3.NewFromConfig(servertest.Config(s.URL, "AKIDFORKLINETEST", "wrong-secret"), func(o *s3.Options) { o.UsePathStyle = true })
	_, err := bad.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("signed"), Key: aws.String("k")})
	if code(err) != "SignatureDoesNotMatch" || httpStatus(err) != 403 {
		t.Fatalf("wrong secret: %v", err)
	}
	pg, err := s3.NewPresignClient(c).PresignGetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("signed"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "secret data" {
		t.Fatalf("presigned GET: %d %s", resp.StatusCode, b)
	}
	tampered := strings.Replace(pg.URL, "/signed/k", "/signed/other", 1)
	resp, err = http.Get(tampered)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("tampered presigned URL: %d", resp.StatusCode)
	}
	// An unsigned request is refused.
	resp, err = http.Get(s.URL + "/signed/k")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 && resp.StatusCode != 400 {
		t.Fatalf("unsigned GET: %d", resp.StatusCode)
	}
}

// Function code from S3 (Lambda API reference, FunctionCode: S3Bucket and
// S3Key), and Lambda's error for a missing object.
func TestFunctionCodeFromS3(t *testing.T) {
	requireClient(t, "python3", "--version")
	s := servertest.Start(t, servertest.Options{})
	c := s3Client(s)
	lc := lambda.NewFromConfig(s.Config())
	c.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String("code")})
	for v, msg := range map[string]string{"v1.zip": "one", "v2.zip": "two"} {
		zip := codeZip(map[string]string{"app.py": "def handler(event, context):\n    return '" + msg + "'\n"})
		if _, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String("code"), Key: aws.String(v), Body: bytes.NewReader(zip)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := lc.CreateFunction(ctx(t), &lambda.CreateFunctionInput{FunctionName: aws.String("from-s3"), Role: aws.String(testRole),
		Runtime: lambdatypes.RuntimePython311, Handler: aws.String("app.handler"),
		Code: &lambdatypes.FunctionCode{S3Bucket: aws.String("code"), S3Key: aws.String("v1.zip")}})
	if err != nil {
		t.Fatal(err)
	}
	invoke := func() string {
		out, err := lc.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("from-s3")})
		if err != nil {
			t.Fatal(err)
		}
		return string(out.Payload)
	}
	if got := invoke(); got != `"one"` {
		t.Fatalf("code v1 said %s", got)
	}
	if _, err := lc.UpdateFunctionCode(ctx(t), &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("from-s3"), S3Bucket: aws.String("code"), S3Key: aws.String("v2.zip")}); err != nil {
		t.Fatal(err)
	}
	if got := invoke(); got != `"two"` {
		t.Fatalf("code v2 said %s", got)
	}
	_, err = lc.CreateFunction(ctx(t), &lambda.CreateFunctionInput{FunctionName: aws.String("missing"), Role: aws.String(testRole),
		Runtime: lambdatypes.RuntimePython311, Handler: aws.String("app.handler"),
		Code: &lambdatypes.FunctionCode{S3Bucket: aws.String("code"), S3Key: aws.String("nope.zip")}})
	wantCode(t, err, "InvalidParameterValueException")
	if !strings.Contains(err.Error(), "S3 Error Code: NoSuchKey") {
		t.Fatalf("missing code object: %v", err)
	}
}
