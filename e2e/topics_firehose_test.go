package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// A firehose subscription delivers each notification to its delivery
// stream: the JSON notification on one line, without a signature, or the
// message alone with raw delivery (SNS developer guide, "Formatting Amazon
// SNS notifications for storage in Amazon S3 destinations" and "Amazon
// SNS raw message delivery"). It needs a SubscriptionRoleArn, which no
// other protocol takes (SNS API reference, Subscribe).
func TestFirehoseSubscription(t *testing.T) {
	s, c, _ := startSNS(t, true)
	b := s3.NewFromConfig(s.Config(), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := b.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String("sns-archive")}); err != nil {
		t.Fatal(err)
	}
	for _, stream := range []string{"envelopes", "raw"} {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/", strings.NewReader(`{"DeliveryStreamName":"`+stream+`",`+
			`"ExtendedS3DestinationConfiguration":{"BucketARN":"arn:aws:s3:::sns-archive","RoleARN":"arn:aws:iam::000000000000:role/fh",`+
			`"Prefix":"`+stream+`/","BufferingHints":{"IntervalInSeconds":60,"SizeInMBs":1}}}`))
		req.Header.Set("X-Amz-Target", "Firehose_20150804.CreateDeliveryStream")
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("CreateDeliveryStream %s: %d %s", stream, resp.StatusCode, body)
		}
	}
	arn := createTopic(t, c, "to-firehose", nil)
	streamArn := "arn:aws:firehose:us-east-1:000000000000:deliverystream/"
	role := "arn:aws:iam::000000000000:role/sns-firehose"
	subscribe := func(endpoint string, attrs map[string]string) error {
		_, err := c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("firehose"),
			Endpoint: aws.String(endpoint), Attributes: attrs})
		return err
	}
	wantCode(t, subscribe(streamArn+"envelopes", nil), "InvalidParameter")
	wantCode(t, subscribe("not-an-arn", map[string]string{"SubscriptionRoleArn": role}), "InvalidParameter")
	wantCode(t, subscribe(streamArn+"envelopes", map[string]string{"SubscriptionRoleArn": "role"}), "InvalidParameter")
	_, err := c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("sqs"),
		Endpoint: aws.String(queueArn("q")), Attributes: map[string]string{"SubscriptionRoleArn": role}})
	wantCode(t, err, "InvalidParameter")
	if err := subscribe(streamArn+"envelopes", map[string]string{"SubscriptionRoleArn": role}); err != nil {
		t.Fatal(err)
	}
	if err := subscribe(streamArn+"raw", map[string]string{"SubscriptionRoleArn": role, "RawMessageDelivery": "true"}); err != nil {
		t.Fatal(err)
	}

	ids := map[string]bool{}
	for _, m := range []string{"first", "second"} {
		out := publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String(m), Subject: aws.String("s")})
		ids[*out.MessageId] = true
	}
	read := func(prefix string) string {
		t.Helper()
		var got string
		waitFor(t, func() bool {
			s.Clock.Advance(61 * time.Second)
			list, err := b.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String("sns-archive"), Prefix: aws.String(prefix)})
			if err != nil || len(list.Contents) == 0 {
				return false
			}
			got = ""
			for _, o := range list.Contents {
				obj, err := b.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String("sns-archive"), Key: o.Key})
				if err != nil {
					t.Fatal(err)
				}
				data, _ := io.ReadAll(obj.Body)
				obj.Body.Close()
				got += string(data)
			}
			return strings.Count(got, "first")+strings.Count(got, "second") == 2
		})
		return got
	}
	if raw := read("raw/"); raw != "firstsecond" && raw != "secondfirst" {
		t.Fatalf("raw stream holds %q", raw)
	}
	lines := strings.Split(strings.TrimSuffix(read("envelopes/"), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines in the envelope stream, want 2: %q", len(lines), lines)
	}
	for _, l := range lines {
		var n map[string]any
		if err := json.Unmarshal([]byte(l), &n); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if n["Type"] != "Notification" || !ids[n["MessageId"].(string)] || n["TopicArn"] != arn || n["Subject"] != "s" ||
			n["UnsubscribeURL"] == nil || n["Signature"] != nil {
			t.Fatalf("notification %v", n)
		}
	}
}
