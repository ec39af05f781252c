package snsapi

import (
	"context"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/forkline/forkline/internal/clock"
	"github.com/forkline/forkline/internal/queue"
	"github.com/forkline/forkline/internal/store/pebblestore"
	"github.com/forkline/forkline/internal/topic"
	"github.com/forkline/forkline/internal/wire/awsquery"
)

func newHandler(t testing.TB) *Handler {
	t.Helper()
	st, err := pebblestore.Open(t.TempDir(), pebblestore.Options{CacheBytes: 1 << 20, MemTableBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	clk := clock.NewFake(clock.Real{}.Now())
	qs, err := queue.New(context.Background(), st, queue.Config{Region: "us-east-1", AccountID: "000000000000", Clock: clk, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := topic.New(context.Background(), st, topic.Config{Region: "us-east-1", AccountID: "000000000000", Clock: clk,
		Logger: log, Queues: qs, KeyDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.Close(); qs.Close(); st.Close() })
	ctx := context.Background()
	if _, err := qs.CreateQueue(ctx, "q", nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := qs.CreateQueue(ctx, "f.fifo", map[string]string{"FifoQueue": "true"}, nil); err != nil {
		t.Fatal(err)
	}
	arn, err := ts.CreateTopic(ctx, "t", nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Subscribe(ctx, topic.SubscribeInput{TopicArn: arn, Protocol: "sqs", Endpoint: "arn:aws:sqs:us-east-1:000000000000:q",
		Attributes: map[string]string{"FilterPolicy": `{"a":[{"prefix":"x"}]}`}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.CreateTopic(ctx, "f.fifo", map[string]string{"FifoTopic": "true", "ContentBasedDeduplication": "true"}, nil, ""); err != nil {
		t.Fatal(err)
	}
	return New(ts, log)
}

var fuzzActions = []string{"CreateTopic", "DeleteTopic", "ListTopics", "GetTopicAttributes", "SetTopicAttributes", "Subscribe",
	"ConfirmSubscription", "Unsubscribe", "ListSubscriptions", "ListSubscriptionsByTopic", "GetSubscriptionAttributes",
	"SetSubscriptionAttributes", "Publish", "PublishBatch", "TagResource", "UntagResource", "ListTagsForResource",
	"AddPermission", "RemovePermission", "GetDataProtectionPolicy", "PutDataProtectionPolicy", "SetSMSAttributes",
	"GetSMSAttributes", "CheckIfPhoneNumberIsOptedOut", "ListPhoneNumbersOptedOut", "OptInPhoneNumber",
	"GetSMSSandboxAccountStatus", "CreatePlatformApplication", "GetPlatformApplicationAttributes",
	"SetPlatformApplicationAttributes", "ListPlatformApplications", "DeletePlatformApplication", "CreatePlatformEndpoint",
	"GetEndpointAttributes", "SetEndpointAttributes", "ListEndpointsByPlatformApplication", "DeleteEndpoint",
	"CreateSMSSandboxPhoneNumber", "VerifySMSSandboxPhoneNumber", "DeleteSMSSandboxPhoneNumber", "ListSMSSandboxPhoneNumbers",
	"ListOriginationNumbers"}

// FuzzQuery: no query request makes the adapter fail internally or answer
// anything but a well-formed XML document.
func FuzzQuery(f *testing.F) {
	const t = "arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At"
	f.Add(uint8(12), "TopicArn="+t+"&Message=hi&MessageAttributes.entry.1.Name=a&MessageAttributes.entry.1.Value.DataType=String&MessageAttributes.entry.1.Value.StringValue=xy")
	f.Add(uint8(13), "TopicArn="+t+"&PublishBatchRequestEntries.member.1.Id=a&PublishBatchRequestEntries.member.1.Message=x")
	f.Add(uint8(12), "TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3Af.fifo&Message=m&MessageGroupId=g")
	f.Add(uint8(0), "Name=n&Attributes.entry.1.key=DisplayName&Attributes.entry.1.value=d&Tags.member.1.Key=k&Tags.member.1.Value=v")
	f.Add(uint8(5), "TopicArn="+t+"&Protocol=sqs&Endpoint=arn%3Aaws%3Asqs%3Aus-east-1%3A000000000000%3Aq&Attributes.entry.1.key=FilterPolicy&Attributes.entry.1.value=%7B%22a%22%3A%5B1%5D%7D")
	f.Add(uint8(11), "SubscriptionArn="+t+"%3Aabc&AttributeName=DeliveryPolicy&AttributeValue=%7B%22healthyRetryPolicy%22%3A%7B%7D%7D")
	f.Add(uint8(12), "TopicArn="+t+"&Message=%7B%22default%22%3A%22x%22%7D&MessageStructure=json")
	f.Add(uint8(21), "attributes.entry.1.key=DefaultSMSType&attributes.entry.1.value=Transactional&attributes.entry.2.key=DefaultSenderID&attributes.entry.2.value=")
	f.Add(uint8(22), "attributes.member.1=DefaultSMSType&attributes.member.2=MonthlySpendLimit")
	f.Add(uint8(23), "phoneNumber=%2B15555550100")
	f.Add(uint8(27), "Name=app&Platform=GCM&Attributes.entry.1.key=PlatformCredential&Attributes.entry.1.value=k")
	f.Add(uint8(32), "PlatformApplicationArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3Aapp%2FGCM%2Fapp&Token=t&CustomUserData=u")
	f.Add(uint8(12), "TargetArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3Aendpoint%2FGCM%2Fapp%2Fx&Message=%7B%7D&MessageStructure=json")
	f.Add(uint8(37), "PhoneNumber=%2B15555550100&LanguageCode=fr-CA")
	f.Add(uint8(38), "PhoneNumber=%2B15555550100&OneTimePassword=123456")
	f.Add(uint8(39), "PhoneNumber=12345")
	f.Add(uint8(40), "MaxResults=1&NextToken=2b31")
	f.Add(uint8(41), "MaxResults=30")
	h := newHandler(f)
	f.Fuzz(func(t *testing.T, op uint8, form string) {
		action := fuzzActions[int(op)%len(fuzzActions)]
		v, err := awsquery.ParseForm(form, nil)
		if err != nil {
			return
		}
		w := httptest.NewRecorder()
		h.Serve(w, &Request{Ctx: context.Background(), RequestID: "req", Authenticated: true}, action, awsquery.FromValues(v))
		if w.Code >= 500 {
			t.Fatalf("%s %s: status %d %s", action, form, w.Code, w.Body)
		}
		d := xml.NewDecoder(w.Body)
		for {
			_, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: malformed XML: %v", action, err)
			}
		}
	})
}
