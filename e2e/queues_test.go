package e2e

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestCreateQueueIdempotentAndConflicts(t *testing.T) {
	_, c := start(t, false)
	url := create(t, c, "orders", map[string]string{"VisibilityTimeout": "45"})
	if !strings.HasSuffix(url, "/000000000000/orders") {
		t.Fatalf("queue URL %q does not have the /ACCOUNT/NAME path", url)
	}
	// CreateQueue API reference: same name and attributes returns the URL.
	if again := create(t, c, "orders", map[string]string{"VisibilityTimeout": "45"}); again != url {
		t.Fatalf("second create = %q, want %q", again, url)
	}
	if again := create(t, c, "orders", nil); again != url {
		t.Fatalf("create without attributes = %q, want %q", again, url)
	}
	// A different value is QueueAlreadyExists (QueueNameExists shape).
	_, err := c.CreateQueue(ctx(t), &sqs.CreateQueueInput{QueueName: aws.String("orders"),
		Attributes: map[string]string{"VisibilityTimeout": "46"}})
	wantCode(t, err, "QueueAlreadyExists")
	var qne *types.QueueNameExists
	if !asType(err, &qne) {
		t.Fatalf("error %T is not *types.QueueNameExists", err)
	}
}

func TestCreateQueueValidation(t *testing.T) {
	_, c := start(t, false)
	cases := []struct {
		name  string
		queue string
		attrs map[string]string
		code  string
	}{
		{"bad char", "a.b", nil, "InvalidParameterValue"},
		{"too long", strings.Repeat("q", 81), nil, "InvalidParameterValue"},
		{"fifo without suffix", "f", map[string]string{"FifoQueue": "true"}, "InvalidParameterValue"},
		{"suffix without fifo", "f.fifo", nil, "InvalidParameterValue"},
		{"visibility too big", "v", map[string]string{"VisibilityTimeout": "43201"}, "InvalidAttributeValue"},
		{"delay negative", "d", map[string]string{"DelaySeconds": "-1"}, "InvalidAttributeValue"},
		{"max size too small", "m", map[string]string{"MaximumMessageSize": "1023"}, "InvalidAttributeValue"},
		{"max size above 1 MiB", "m", map[string]string{"MaximumMessageSize": "1048577"}, "InvalidAttributeValue"},
		{"retention too short", "r", map[string]string{"MessageRetentionPeriod": "59"}, "InvalidAttributeValue"},
		{"wait too long", "w", map[string]string{"ReceiveMessageWaitTimeSeconds": "21"}, "InvalidAttributeValue"},
		{"unknown attribute", "u", map[string]string{"Colour": "blue"}, "InvalidAttributeName"},
		{"fifo attribute on standard", "s", map[string]string{"ContentBasedDeduplication": "true"}, "InvalidAttributeName"},
		// Real SQS refuses FifoQueue on a standard queue even when false ("Unknown Attribute FifoQueue.", aws/aws-sdk-php#1331).
		{"FifoQueue=false on standard", "s2", map[string]string{"FifoQueue": "false"}, "InvalidAttributeName"},
		{"policy not json", "p", map[string]string{"Policy": "{"}, "InvalidAttributeValue"},
		// "A valid Amazon Web Services policy" (SetQueueAttributes), within "Statements 20" (SQS developer guide, "Amazon SQS policy quotas").
		{"policy not an object", "p", map[string]string{"Policy": "[]"}, "InvalidAttributeValue"},
		{"policy of 21 statements", "p", map[string]string{"Policy": `{"Version":"2012-10-17","Statement":[` +
			strings.TrimSuffix(strings.Repeat(`{"Effect":"Allow","Principal":"*","Action":"SQS:SendMessage","Resource":"*"},`, 21), ",") + `]}`}, "InvalidAttributeValue"},
		{"redrive to missing queue", "rd", map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:none","maxReceiveCount":3}`}, "InvalidParameterValue"},
		// Real SQS asks for maxReceiveCount first and checks the ARN's form (ansible-collections/community.aws#2321; LocalStack's AWS-validated snapshots).
		{"redrive empty", "rd", map[string]string{"RedrivePolicy": `{}`}, "InvalidParameterValue"},
		{"redrive target not an arn", "rd", map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"dummy","maxReceiveCount":3}`}, "InvalidParameterValue"},
		{"redrive count zero", "rd", map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:none","maxReceiveCount":0}`}, "InvalidParameterValue"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CreateQueue(ctx(t), &sqs.CreateQueueInput{QueueName: aws.String(tc.queue), Attributes: tc.attrs})
			wantCode(t, err, tc.code)
		})
	}
	// The name rule alone is the message (recorded AWS answers: MassTransit/MassTransit#2667).
	_, err := c.CreateQueue(ctx(t), &sqs.CreateQueueInput{QueueName: aws.String("a.b")})
	if !strings.HasSuffix(err.Error(), "InvalidParameterValue: Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length") {
		t.Errorf("bad name: %v", err)
	}
	// MaximumMessageSize may be today's maximum, 1 MiB (quotas-messages.html).
	create(t, c, "big", map[string]string{"MaximumMessageSize": "1048576"})
}

func TestGetQueueUrlAndListQueues(t *testing.T) {
	_, c := start(t, false)
	var names []string
	for i := 0; i < 12; i++ {
		n := fmt.Sprintf("list-%02d", i)
		names = append(names, n)
		create(t, c, n, nil)
	}
	create(t, c, "other", nil)
	out, err := c.GetQueueUrl(ctx(t), &sqs.GetQueueUrlInput{QueueName: aws.String("list-03")})
	if err != nil || !strings.HasSuffix(*out.QueueUrl, "/list-03") {
		t.Fatalf("GetQueueUrl = %v, %v", out, err)
	}
	_, err = c.GetQueueUrl(ctx(t), &sqs.GetQueueUrlInput{QueueName: aws.String("missing")})
	wantCode(t, err, "AWS.SimpleQueueService.NonExistentQueue")
	var qdne *types.QueueDoesNotExist
	if !asType(err, &qdne) {
		t.Fatalf("error %T is not *types.QueueDoesNotExist", err)
	}

	// Pagination with MaxResults (ListQueues API reference).
	var got []string
	p := sqs.NewListQueuesPaginator(c, &sqs.ListQueuesInput{QueueNamePrefix: aws.String("list-"), MaxResults: aws.Int32(5)})
	pages := 0
	for p.HasMorePages() {
		pg, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, u := range pg.QueueUrls {
			got = append(got, u[strings.LastIndexByte(u, '/')+1:])
		}
	}
	sort.Strings(got)
	if pages != 3 || strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("paged %d pages: %v", pages, got)
	}
	all, err := c.ListQueues(ctx(t), &sqs.ListQueuesInput{})
	if err != nil || len(all.QueueUrls) != 13 || all.NextToken != nil {
		t.Fatalf("ListQueues = %d urls, token %v, err %v", len(all.QueueUrls), all.NextToken, err)
	}
	_, err = c.ListQueues(ctx(t), &sqs.ListQueuesInput{MaxResults: aws.Int32(1001)})
	wantCode(t, err, "InvalidParameterValue")
}

func TestQueueAttributesRoundTrip(t *testing.T) {
	s, c := start(t, true)
	url := create(t, c, "attrs", nil)
	a := attrs(t, c, url)
	// Defaults from the CreateQueue API reference.
	want := map[string]string{
		"VisibilityTimeout": "30", "MaximumMessageSize": "1048576", "MessageRetentionPeriod": "345600",
		"DelaySeconds": "0", "ReceiveMessageWaitTimeSeconds": "0", "SqsManagedSseEnabled": "true",
		"QueueArn":                    "arn:aws:sqs:us-east-1:000000000000:attrs",
		"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0", "ApproximateNumberOfMessagesDelayed": "0",
		"CreatedTimestamp": fmt.Sprint(s.Clock.Now().Unix()), "LastModifiedTimestamp": fmt.Sprint(s.Clock.Now().Unix()),
	}
	for k, v := range want {
		if a[k] != v {
			t.Errorf("attribute %s = %q, want %q", k, a[k], v)
		}
	}
	if len(a) != len(want) {
		t.Errorf("got %d attributes, want %d: %v", len(a), len(want), a)
	}
	s.Clock.Advance(10 * time.Second)
	_, err := c.SetQueueAttributes(ctx(t), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url),
		Attributes: map[string]string{"VisibilityTimeout": "5", "DelaySeconds": "2", "Policy": `{"Version":"2012-10-17","Statement":[]}`}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.GetQueueAttributes(ctx(t), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{"VisibilityTimeout", "DelaySeconds", "LastModifiedTimestamp"}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Attributes["VisibilityTimeout"] != "5" || out.Attributes["DelaySeconds"] != "2" || out.Attributes["LastModifiedTimestamp"] != fmt.Sprint(s.Clock.Now().Unix()) || len(out.Attributes) != 3 {
		t.Fatalf("after set: %v", out.Attributes)
	}
	// Without AttributeNames, nothing is returned (GetQueueAttributes API reference).
	none, err := c.GetQueueAttributes(ctx(t), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url)})
	if err != nil || len(none.Attributes) != 0 {
		t.Fatalf("no names: %v %v", none.Attributes, err)
	}
	_, err = c.GetQueueAttributes(ctx(t), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{"Bogus"}})
	wantCode(t, err, "InvalidAttributeName")
	_, err = c.SetQueueAttributes(ctx(t), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: map[string]string{"FifoQueue": "true"}})
	wantCode(t, err, "InvalidAttributeName")
	_, err = c.SetQueueAttributes(ctx(t), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: map[string]string{"QueueArn": "x"}})
	wantCode(t, err, "InvalidAttributeName")
}

func TestDeleteQueueAndRecreateCooloff(t *testing.T) {
	s, c := start(t, true)
	url := create(t, c, "gone", nil)
	send(t, c, url, "x")
	if _, err := c.DeleteQueue(ctx(t), &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}); err != nil {
		t.Fatal(err)
	}
	_, err := c.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x")})
	wantCode(t, err, "AWS.SimpleQueueService.NonExistentQueue")
	_, err = c.DeleteQueue(ctx(t), &sqs.DeleteQueueInput{QueueUrl: aws.String(url)})
	wantCode(t, err, "AWS.SimpleQueueService.NonExistentQueue")
	// DeleteQueue API reference: wait 60 seconds before recreating the name.
	_, err = c.CreateQueue(ctx(t), &sqs.CreateQueueInput{QueueName: aws.String("gone")})
	wantCode(t, err, "AWS.SimpleQueueService.QueueDeletedRecently")
	s.Clock.Advance(61 * time.Second)
	url2 := create(t, c, "gone", nil)
	wantCounts(t, c, url2, "0", "0", "0")
}

func TestPurgeQueue(t *testing.T) {
	s, c := start(t, true)
	url := create(t, c, "purge", nil)
	for i := 0; i < 5; i++ {
		send(t, c, url, fmt.Sprint(i))
	}
	receive(t, c, url, 2)
	if _, err := c.PurgeQueue(ctx(t), &sqs.PurgeQueueInput{QueueUrl: aws.String(url)}); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, c, url, "0", "0", "0")
	// PurgeQueue API reference: one purge per 60 seconds.
	_, err := c.PurgeQueue(ctx(t), &sqs.PurgeQueueInput{QueueUrl: aws.String(url)})
	wantCode(t, err, "AWS.SimpleQueueService.PurgeQueueInProgress")
	send(t, c, url, "after")
	s.Clock.Advance(61 * time.Second)
	if got := receive(t, c, url, 10); len(got) != 1 || *got[0].Body != "after" {
		t.Fatalf("after purge received %v", got)
	}
	if _, err := c.PurgeQueue(ctx(t), &sqs.PurgeQueueInput{QueueUrl: aws.String(url)}); err != nil {
		t.Fatal(err)
	}
}

func TestTags(t *testing.T) {
	_, c := start(t, false)
	out, err := c.CreateQueue(ctx(t), &sqs.CreateQueueInput{QueueName: aws.String("tagged"), Tags: map[string]string{"team": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	url := out.QueueUrl
	if _, err := c.TagQueue(ctx(t), &sqs.TagQueueInput{QueueUrl: url, Tags: map[string]string{"env": "dev", "team": "b"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListQueueTags(ctx(t), &sqs.ListQueueTagsInput{QueueUrl: url})
	if err != nil || len(tags.Tags) != 2 || tags.Tags["team"] != "b" || tags.Tags["env"] != "dev" {
		t.Fatalf("tags = %v, %v", tags, err)
	}
	if _, err := c.UntagQueue(ctx(t), &sqs.UntagQueueInput{QueueUrl: url, TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	tags, _ = c.ListQueueTags(ctx(t), &sqs.ListQueueTagsInput{QueueUrl: url})
	if len(tags.Tags) != 1 {
		t.Fatalf("after untag: %v", tags.Tags)
	}
	many := map[string]string{}
	for i := 0; i < 50; i++ {
		many[fmt.Sprint("k", i)] = "v"
	}
	_, err = c.TagQueue(ctx(t), &sqs.TagQueueInput{QueueUrl: url, Tags: many})
	wantCode(t, err, "InvalidParameterValue")
	_, err = c.TagQueue(ctx(t), &sqs.TagQueueInput{QueueUrl: url, Tags: map[string]string{strings.Repeat("k", 129): "v"}})
	wantCode(t, err, "InvalidParameterValue")
	// Letters, digits, white space and _ . : / = + - @ only, and no aws:
	// prefix on a key or a value (SQS developer guide, "Amazon SQS queue
	// quotas", tags).
	for _, bad := range []map[string]string{{"k#": "v"}, {"k": "v!"}, {"k": "aws:reserved"}} {
		_, err = c.TagQueue(ctx(t), &sqs.TagQueueInput{QueueUrl: url, Tags: bad})
		wantCode(t, err, "InvalidParameterValue")
	}
	if _, err := c.TagQueue(ctx(t), &sqs.TagQueueInput{QueueUrl: url, Tags: map[string]string{"Owner Team": "café/ops_1 + a@b.c:d=e-f"}}); err != nil {
		t.Fatalf("TagQueue with allowed characters: %v", err)
	}
}

func TestPermissions(t *testing.T) {
	_, c := start(t, false)
	url := aws.String(create(t, c, "perm", nil))
	_, err := c.AddPermission(ctx(t), &sqs.AddPermissionInput{QueueUrl: url, Label: aws.String("l1"),
		AWSAccountIds: []string{"111122223333"}, Actions: []string{"SendMessage"}})
	if err != nil {
		t.Fatal(err)
	}
	p := attrs(t, c, *url)["Policy"]
	// Version 2008-10-17, as SQS writes it (LocalStack's AWS-validated test_sqs_permission_lifecycle snapshot).
	if !strings.Contains(p, `"Sid":"l1"`) || !strings.Contains(p, "arn:aws:iam::111122223333:root") || !strings.Contains(p, "SQS:SendMessage") ||
		!strings.Contains(p, `"Version":"2008-10-17"`) {
		t.Fatalf("policy = %s", p)
	}
	// Actions to which "cross-account permissions don't apply" (SQS developer guide, "Limitations of Amazon SQS custom policies").
	for _, owner := range []string{"DeleteQueue", "SetQueueAttributes", "TagQueue", "ListQueueTags", "StartMessageMoveTask", "RemovePermission"} {
		_, err = c.AddPermission(ctx(t), &sqs.AddPermissionInput{QueueUrl: url, Label: aws.String("owner"),
			AWSAccountIds: []string{"111122223333"}, Actions: []string{owner}})
		wantCode(t, err, "InvalidParameterValue")
	}
	_, err = c.AddPermission(ctx(t), &sqs.AddPermissionInput{QueueUrl: url, Label: aws.String("l1"),
		AWSAccountIds: []string{"111122223333"}, Actions: []string{"SendMessage"}})
	wantCode(t, err, "InvalidParameterValue")
	_, err = c.AddPermission(ctx(t), &sqs.AddPermissionInput{QueueUrl: url, Label: aws.String("l2"),
		AWSAccountIds: []string{"111122223333"}, Actions: []string{"SendMessage", "ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility", "GetQueueAttributes", "GetQueueUrl", "PurgeQueue", "ListQueueTags"}})
	wantCode(t, err, "OverLimit")
	// "Principals 50" (SQS developer guide, "Amazon SQS policy quotas"):
	// AddPermission answers OverLimit.
	var many []string
	for i := 0; i < 51; i++ {
		many = append(many, fmt.Sprintf("1111222233%02d", i))
	}
	_, err = c.AddPermission(ctx(t), &sqs.AddPermissionInput{QueueUrl: url, Label: aws.String("many"),
		AWSAccountIds: many, Actions: []string{"SendMessage"}})
	wantCode(t, err, "OverLimit")
	// Only account principals (AddPermission API reference: "does not
	// support adding a non-account principal").
	for _, bad := range []string{"arn:aws:iam::111122223333:user/x", "foo", "11112222333"} {
		_, err = c.AddPermission(ctx(t), &sqs.AddPermissionInput{QueueUrl: url, Label: aws.String("l3"),
			AWSAccountIds: []string{bad}, Actions: []string{"SendMessage"}})
		wantCode(t, err, "InvalidParameterValue")
	}
	if _, err := c.RemovePermission(ctx(t), &sqs.RemovePermissionInput{QueueUrl: url, Label: aws.String("l1")}); err != nil {
		t.Fatal(err)
	}
	if _, ok := attrs(t, c, *url)["Policy"]; ok {
		t.Fatal("policy still present after removing its only statement")
	}
	_, err = c.RemovePermission(ctx(t), &sqs.RemovePermissionInput{QueueUrl: url, Label: aws.String("l1")})
	wantCode(t, err, "InvalidParameterValue")
	if !strings.HasSuffix(err.Error(), "Reason: can't find label.") {
		t.Errorf("RemovePermission without a policy: %v", err)
	}
}

func TestQueueURLForms(t *testing.T) {
	s, c := start(t, false)
	create(t, c, "forms", nil)
	for _, u := range []string{
		s.URL + "/000000000000/forms",
		"https://sqs.us-east-1.amazonaws.com/000000000000/forms",
		"http://localhost:4566/queue/forms",
	} {
		if _, err := c.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String("x")}); err != nil {
			t.Errorf("send via %s: %v", u, err)
		}
	}
	_, err := c.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: aws.String(s.URL + "/123456789012/forms"), MessageBody: aws.String("x")})
	wantCode(t, err, "AWS.SimpleQueueService.NonExistentQueue")
	// A queue name where the URL belongs: InvalidAddress, "The specified
	// ID is invalid." (the SDKs' SQS error reference, e.g. boto3's).
	_, err = c.SendMessage(ctx(t), &sqs.SendMessageInput{QueueUrl: aws.String("forms"), MessageBody: aws.String("x")})
	wantCode(t, err, "InvalidAddress")
	wantCounts(t, c, s.URL+"/000000000000/forms", "3", "0", "0")
}

func TestConcurrentCreateQueue(t *testing.T) {
	_, c := start(t, false)
	var wg sync.WaitGroup
	urls := make([]string, 8)
	for i := range urls {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			out, err := c.CreateQueue(ctx(t), &sqs.CreateQueueInput{QueueName: aws.String("race")})
			if err != nil {
				t.Error(err)
				return
			}
			urls[i] = *out.QueueUrl
		}(i)
	}
	wg.Wait()
	for _, u := range urls {
		if u != urls[0] {
			t.Fatalf("urls differ: %v", urls)
		}
	}
	all, err := c.ListQueues(ctx(t), &sqs.ListQueuesInput{})
	if err != nil || len(all.QueueUrls) != 1 {
		t.Fatalf("ListQueues = %v, %v", all, err)
	}
}

// A queue has one server-side encryption option ("Only one server-side
// encryption option is supported per queue", SetQueueAttributes API
// reference): turning SSE-SQS on leaves SSE-KMS, and a KMS key leaves
// SSE-SQS.
func TestEncryptionOptionsSwitch(t *testing.T) {
	_, c := start(t, false)
	u := create(t, c, "sse", map[string]string{"KmsMasterKeyId": "alias/aws/sqs"})
	if a := attrs(t, c, u); a["KmsMasterKeyId"] != "alias/aws/sqs" || a["SqsManagedSseEnabled"] != "false" {
		t.Fatalf("SSE-KMS queue: %v", a)
	}
	set := func(k, v string) {
		t.Helper()
		if _, err := c.SetQueueAttributes(ctx(t), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(u), Attributes: map[string]string{k: v}}); err != nil {
			t.Fatal(err)
		}
	}
	set("SqsManagedSseEnabled", "true")
	if a := attrs(t, c, u); a["SqsManagedSseEnabled"] != "true" || a["KmsMasterKeyId"] != "" || a["KmsDataKeyReusePeriodSeconds"] != "" {
		t.Fatalf("after turning SSE-SQS on: %v", a)
	}
	set("KmsMasterKeyId", "alias/aws/sqs")
	if a := attrs(t, c, u); a["KmsMasterKeyId"] != "alias/aws/sqs" || a["SqsManagedSseEnabled"] != "false" {
		t.Fatalf("after setting a KMS key: %v", a)
	}
	// An SSE-SQS queue created twice with the same attributes is the same
	// queue.
	same := map[string]string{"SqsManagedSseEnabled": "true", "KmsDataKeyReusePeriodSeconds": "600"}
	first := create(t, c, "sse-twice", same)
	if again := create(t, c, "sse-twice", same); again != first {
		t.Fatalf("CreateQueue again: %s, want %s", again, first)
	}
}
