package e2e

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/forkline/forkline/internal/server/servertest"
)

// posted is one request an HTTP subscriber received.
type posted struct {
	header http.Header
	body   []byte
}

// subscriber is an HTTP endpoint that records what SNS posts and answers
// with the status status() returns.
type subscriber struct {
	*httptest.Server
	got    chan posted
	status func(n int) int
	n      atomic.Int64
}

func newSubscriber(t *testing.T, status func(n int) int) *subscriber {
	t.Helper()
	s := &subscriber{got: make(chan posted, 100_000), status: status}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		n := int(s.n.Add(1))
		select {
		case s.got <- posted{r.Header.Clone(), b}:
		default: // never block the server (and its Close) on a full buffer
		}
		w.WriteHeader(s.status(n))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *subscriber) next(t *testing.T) posted {
	t.Helper()
	select {
	case p := <-s.got:
		return p
	case <-time.After(30 * time.Second):
		t.Fatal("no delivery within 30 s")
		return posted{}
	}
}

func ok200(int) int { return 200 }

// HTTP subscriptions: the confirmation flow, the x-amz-sns headers, signed
// envelopes (SNS developer guide, "Fanout to HTTP/S endpoints").
func TestHTTPSubscription(t *testing.T) {
	s, c, _ := startSNS(t, false)
	arn := createTopic(t, c, "web", nil)
	sub := newSubscriber(t, ok200)
	out, err := c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("http"), Endpoint: aws.String(sub.URL + "/hook")})
	if err != nil || *out.SubscriptionArn != "pending confirmation" {
		t.Fatalf("Subscribe = %v, %v; want pending confirmation", out.SubscriptionArn, err)
	}
	conf := sub.next(t)
	if conf.header.Get("x-amz-sns-message-type") != "SubscriptionConfirmation" || conf.header.Get("x-amz-sns-topic-arn") != arn ||
		conf.header.Get("x-amz-sns-subscription-arn") != "" {
		t.Fatalf("confirmation headers = %v", conf.header)
	}
	verifySignature(t, conf.body)
	n := decodeNotification(t, string(conf.body))
	if n.Token == "" || n.SubscribeURL == "" {
		t.Fatalf("confirmation = %+v", n)
	}
	// Subscribing the same endpoint again sends the confirmation again,
	// as the SNS console's "Request confirmation" does.
	if again, err := c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("http"), Endpoint: aws.String(sub.URL + "/hook")}); err != nil || *again.SubscriptionArn != "pending confirmation" {
		t.Fatalf("second Subscribe = %v, %v", again.SubscriptionArn, err)
	}
	resent := sub.next(t)
	if r := decodeNotification(t, string(resent.body)); resent.header.Get("x-amz-sns-message-type") != "SubscriptionConfirmation" || r.Token != n.Token || r.MessageId == n.MessageId {
		t.Fatalf("resent confirmation = %+v, %v", r, resent.header)
	}
	verifySignature(t, resent.body)
	// Pending subscriptions get nothing and show as PendingConfirmation.
	publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("too early")})
	list, _ := c.ListSubscriptionsByTopic(ctx(t), &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(arn)})
	if *list.Subscriptions[0].SubscriptionArn != "PendingConfirmation" {
		t.Fatalf("listed as %s", *list.Subscriptions[0].SubscriptionArn)
	}
	// Confirm by following SubscribeURL, as a subscriber does.
	resp, err := http.Get(n.SubscribeURL)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET SubscribeURL: %v %v", resp, err)
	}
	resp.Body.Close()
	list, _ = c.ListSubscriptionsByTopic(ctx(t), &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(arn)})
	subArn := *list.Subscriptions[0].SubscriptionArn
	if subArn == "PendingConfirmation" {
		t.Fatal("still pending after following SubscribeURL")
	}
	// Confirming again with the API returns the same subscription.
	again, err := c.ConfirmSubscription(ctx(t), &sns.ConfirmSubscriptionInput{TopicArn: aws.String(arn), Token: aws.String(n.Token)})
	if err != nil || *again.SubscriptionArn != subArn {
		t.Fatalf("ConfirmSubscription = %v, %v", again, err)
	}
	_, err = c.ConfirmSubscription(ctx(t), &sns.ConfirmSubscriptionInput{TopicArn: aws.String(arn), Token: aws.String("00ff")})
	wantCode(t, err, "InvalidParameter")

	pub := publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("hello"), Subject: aws.String("s")})
	got := sub.next(t)
	h := got.header
	if h.Get("x-amz-sns-message-type") != "Notification" || h.Get("x-amz-sns-message-id") != *pub.MessageId ||
		h.Get("x-amz-sns-subscription-arn") != subArn || h.Get("User-Agent") != "Amazon Simple Notification Service Agent" ||
		h.Get("Content-Type") != "text/plain; charset=UTF-8" {
		t.Fatalf("notification headers = %v", h)
	}
	verifySignature(t, got.body)
	if n := decodeNotification(t, string(got.body)); n.Message != "hello" || n.Subject != "s" {
		t.Fatalf("notification = %+v", n)
	}

	// Raw delivery posts the bare message with x-amz-sns-rawdelivery.
	if _, err := c.SetSubscriptionAttributes(ctx(t), &sns.SetSubscriptionAttributesInput{SubscriptionArn: aws.String(subArn),
		AttributeName: aws.String("RawMessageDelivery"), AttributeValue: aws.String("true")}); err != nil {
		t.Fatal(err)
	}
	publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("raw body")})
	got = sub.next(t)
	if string(got.body) != "raw body" || got.header.Get("x-amz-sns-rawdelivery") != "true" {
		t.Fatalf("raw delivery = %q %v", got.body, got.header)
	}

	// Unsubscribing through the notifications' unsigned UnsubscribeURL
	// sends a final UnsubscribeConfirmation (SNS API reference,
	// Unsubscribe).
	unsubscribeURL(t, s.URL, subArn)
	got = sub.next(t)
	if got.header.Get("x-amz-sns-message-type") != "UnsubscribeConfirmation" {
		t.Fatalf("after Unsubscribe: %v", got.header)
	}
	verifySignature(t, got.body)

	// The owner's signed Unsubscribe sends none: the next message the
	// endpoint gets is a new subscription's confirmation.
	second := confirmHTTP(t, c, arn, sub, nil)
	if _, err := c.Unsubscribe(ctx(t), &sns.UnsubscribeInput{SubscriptionArn: aws.String(second)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("http"), Endpoint: aws.String(sub.URL + "/other")}); err != nil {
		t.Fatal(err)
	}
	if got = sub.next(t); got.header.Get("x-amz-sns-message-type") != "SubscriptionConfirmation" {
		t.Fatalf("after a signed Unsubscribe the endpoint got %s", got.header.Get("x-amz-sns-message-type"))
	}
}

// unsubscribeURL unsubscribes as a notification's UnsubscribeURL does: an
// unsigned GET.
func unsubscribeURL(t *testing.T, server, subArn string) {
	t.Helper()
	resp, err := http.Get(server + "/?Action=Unsubscribe&SubscriptionArn=" + url.QueryEscape(subArn))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET UnsubscribeURL: %d %s", resp.StatusCode, body)
	}
}

// Retries follow the delivery policy, then the subscription's dead-letter
// queue gets the message (SNS developer guide, "Amazon SNS message
// delivery retries", "Amazon SNS dead-letter queues").
func TestHTTPRetriesAndDeadLetterQueue(t *testing.T) {
	s, c, q := startSNS(t, true)
	arn := createTopic(t, c, "flaky", nil)
	dlqURL := create(t, q, "flaky-dlq", nil)

	// An endpoint that fails twice, then accepts.
	flaky := newSubscriber(t, func(n int) int {
		if n == 1 { // the confirmation
			return 200
		}
		if n <= 3 {
			return 503
		}
		return 200
	})
	subArn := confirmHTTP(t, c, arn, flaky, nil)
	publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("retry me")})
	for attempt := 1; attempt <= 3; attempt++ {
		got := flaky.next(t)
		if n := decodeNotification(t, string(got.body)); n.Message != "retry me" {
			t.Fatalf("attempt %d delivered %q", attempt, n.Message)
		}
		if attempt < 3 {
			waitPending(t, s, 1)
			s.Clock.Advance(20 * time.Second) // the default policy: 3 retries, 20 s apart
		}
	}
	_ = subArn

	// An endpoint that always fails: after the retries, the DLQ.
	dead := newSubscriber(t, func(n int) int {
		if n == 1 {
			return 200
		}
		return 500
	})
	confirmHTTP(t, c, arn, dead, map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"` + queueArn("flaky-dlq") + `"}`})
	publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("doomed")})
	failedAttempts(t, s, dead, 4, 20*time.Second)
	// The first subscriber got "doomed" too; drain it.
	flaky.next(t)
	var body string
	deadline := time.Now().Add(30 * time.Second)
	for body == "" && time.Now().Before(deadline) {
		if msgs := receive(t, q, dlqURL, 1); len(msgs) == 1 {
			body = *msgs[0].Body
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if n := decodeNotification(t, body); n.Message != "doomed" {
		t.Fatalf("dead-letter queue got %q", body)
	}

	// A 4xx answer is the endpoint's: "a status code outside the range of
	// 200–4xx" is a failed attempt (SNS developer guide, "Step 1: Make
	// sure your endpoint is ready to process Amazon SNS messages"), so a
	// 404 is neither retried nor dead-lettered.
	gone := newSubscriber(t, func(n int) int {
		if n == 1 {
			return 200
		}
		return 404
	})
	createTopic(t, c, "gone", nil)
	goneArn := "arn:aws:sns:us-east-1:000000000000:gone"
	confirmHTTP(t, c, goneArn, gone, map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"` + queueArn("flaky-dlq") + `"}`})
	publish(t, c, &sns.PublishInput{TopicArn: aws.String(goneArn), Message: aws.String("not found")})
	gone.next(t)
	for i := 0; i < 5; i++ { // past the default policy's three retries, 20 s apart
		s.Clock.Advance(30 * time.Second)
		select {
		case p := <-gone.got:
			t.Fatalf("a 4xx answer was retried: %s", p.body)
		case <-time.After(20 * time.Millisecond):
		}
	}
	for _, m := range receive(t, q, dlqURL, 10) {
		if n := decodeNotification(t, *m.Body); n.Message == "not found" {
			t.Fatal("a 4xx answer was dead-lettered")
		}
	}
}

// failedAttempts takes n delivery attempts at sub, moving the fake clock
// on by every between them, as the subscription's retry policy spaces
// them.
func failedAttempts(t *testing.T, s *servertest.Server, sub *subscriber, n int, every time.Duration) {
	t.Helper()
	for attempt := 1; attempt <= n; attempt++ {
		sub.next(t)
		if attempt < n {
			waitPending(t, s, 1)
			s.Clock.Advance(every)
		}
	}
}

// confirmHTTP subscribes an endpoint and confirms it with the token it
// receives.
func confirmHTTP(t *testing.T, c *sns.Client, topicArn string, sub *subscriber, attrs map[string]string) string {
	t.Helper()
	if _, err := c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(topicArn), Protocol: aws.String("http"),
		Endpoint: aws.String(sub.URL), Attributes: attrs}); err != nil {
		t.Fatal(err)
	}
	n := decodeNotification(t, string(sub.next(t).body))
	out, err := c.ConfirmSubscription(ctx(t), &sns.ConfirmSubscriptionInput{TopicArn: aws.String(topicArn), Token: aws.String(n.Token)})
	if err != nil {
		t.Fatal(err)
	}
	return *out.SubscriptionArn
}

// A queue deleted under its subscription is a client-side failure: the
// message goes to the subscription's dead-letter queue.
func TestDeletedQueueGoesToDeadLetterQueue(t *testing.T) {
	_, c, q := startSNS(t, false)
	arn := createTopic(t, c, "lost", nil)
	url, _ := subscribeQueue(t, c, q, arn, "lost-q", map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"` + queueArn("lost-dlq") + `"}`})
	dlq := create(t, q, "lost-dlq", nil)
	if _, err := q.DeleteQueue(ctx(t), &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}); err != nil {
		t.Fatal(err)
	}
	publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("orphan")})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if msgs := receive(t, q, dlq, 1); len(msgs) == 1 {
			if n := decodeNotification(t, *msgs[0].Body); n.Message != "orphan" {
				t.Fatalf("dead-letter queue got %+v", n)
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("nothing reached the dead-letter queue")
}

// throttlePolicy.maxReceivesPerSecond spaces deliveries to a subscriber
// (SNS developer guide, "Amazon SNS message delivery retries": throttle
// policy), on the injected clock.
func TestHTTPThrottlePolicy(t *testing.T) {
	s, c, _ := startSNS(t, true)
	arn := createTopic(t, c, "throttled", nil)
	sub := newSubscriber(t, ok200)
	confirmHTTP(t, c, arn, sub, map[string]string{"DeliveryPolicy": `{"throttlePolicy":{"maxReceivesPerSecond":1}}`})
	for i := 0; i < 3; i++ {
		publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String(fmt.Sprint("m", i))})
	}
	sub.next(t) // the first goes at once
	for i := 1; i < 3; i++ {
		select {
		case p := <-sub.got:
			t.Fatalf("delivery %d came before its second: %s", i, p.body)
		case <-time.After(50 * time.Millisecond):
		}
		waitPending(t, s, 1)
		s.Clock.Advance(time.Second)
		sub.next(t)
	}
}

// AuthenticateOnUnsubscribe counts only on a signed ConfirmSubscription
// (SNS API reference, ConfirmSubscription): added to the unsigned
// SubscribeURL it is ignored and the UnsubscribeURL still works; set by a
// signed call, it makes the unsigned link fail.
func TestAuthenticateOnUnsubscribe(t *testing.T) {
	_, c, _ := startSNS(t, false)
	arn := createTopic(t, c, "auth-unsub", nil)
	get := func(u string) int {
		t.Helper()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	subscribers := func() int {
		t.Helper()
		list, err := c.ListSubscriptionsByTopic(ctx(t), &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		return len(list.Subscriptions)
	}

	byLink := newSubscriber(t, ok200)
	if _, err := c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("http"), Endpoint: aws.String(byLink.URL)}); err != nil {
		t.Fatal(err)
	}
	conf := decodeNotification(t, string(byLink.next(t).body))
	if code := get(conf.SubscribeURL + "&AuthenticateOnUnsubscribe=true"); code != 200 {
		t.Fatalf("GET SubscribeURL: %d", code)
	}
	publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("one")})
	if code := get(decodeNotification(t, string(byLink.next(t).body)).UnsubscribeURL); code != 200 {
		t.Fatalf("GET UnsubscribeURL after an unsigned confirmation: %d", code)
	}
	if n := subscribers(); n != 0 {
		t.Fatalf("%d subscriptions left after the UnsubscribeURL", n)
	}

	signed := newSubscriber(t, ok200)
	if _, err := c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("http"), Endpoint: aws.String(signed.URL)}); err != nil {
		t.Fatal(err)
	}
	conf = decodeNotification(t, string(signed.next(t).body))
	if _, err := c.ConfirmSubscription(ctx(t), &sns.ConfirmSubscriptionInput{TopicArn: aws.String(arn), Token: aws.String(conf.Token),
		AuthenticateOnUnsubscribe: aws.String("true")}); err != nil {
		t.Fatal(err)
	}
	publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("two")})
	if code := get(decodeNotification(t, string(signed.next(t).body)).UnsubscribeURL); code == 200 {
		t.Fatal("the unsigned UnsubscribeURL worked on a subscription confirmed with AuthenticateOnUnsubscribe")
	}
	if n := subscribers(); n != 1 {
		t.Fatalf("%d subscriptions, want 1", n)
	}
}

// maxReceivesPerSecond is 1 or greater (SNS developer guide, "Amazon SNS
// message delivery retries").
func TestThrottlePolicyValidation(t *testing.T) {
	_, c, _ := startSNS(t, false)
	arn := createTopic(t, c, "throttle-check", nil)
	_, err := c.SetTopicAttributes(ctx(t), &sns.SetTopicAttributesInput{TopicArn: aws.String(arn), AttributeName: aws.String("DeliveryPolicy"),
		AttributeValue: aws.String(`{"http":{"defaultThrottlePolicy":{"maxReceivesPerSecond":0}}}`)})
	wantCode(t, err, "InvalidParameter")
	_, err = c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("http"), Endpoint: aws.String("http://127.0.0.1:9/x"),
		Attributes: map[string]string{"DeliveryPolicy": `{"throttlePolicy":{"maxReceivesPerSecond":-1}}`}})
	wantCode(t, err, "InvalidParameter")
}

// A subscription left unconfirmed for 48 hours is deleted (SNS developer
// guide, "Deleting an Amazon SNS subscription and topic").
func TestPendingSubscriptionExpires(t *testing.T) {
	s, c, _ := startSNS(t, true)
	arn := createTopic(t, c, "pending", nil)
	kept := newSubscriber(t, ok200)
	confirmHTTP(t, c, arn, kept, nil)
	left := newSubscriber(t, ok200)
	if _, err := c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("http"), Endpoint: aws.String(left.URL)}); err != nil {
		t.Fatal(err)
	}
	left.next(t) // its confirmation, never followed
	count := func() (int, string) {
		t.Helper()
		list, err := c.ListSubscriptionsByTopic(ctx(t), &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		ta, err := c.GetTopicAttributes(ctx(t), &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		return len(list.Subscriptions), ta.Attributes["SubscriptionsPending"]
	}
	s.Clock.Advance(47 * time.Hour)
	if n, pending := count(); n != 2 || pending != "1" {
		t.Fatalf("after 47 h: %d subscriptions, %s pending; want 2 and 1", n, pending)
	}
	s.Clock.Advance(2 * time.Hour)
	if n, pending := count(); n != 1 || pending != "0" {
		t.Fatalf("after 49 h: %d subscriptions, %s pending; want 1 and 0", n, pending)
	}
}

// HTTP/S retries end within an hour of the publish (SNS developer guide,
// "Amazon SNS message delivery retries": "The total policy retry time for an
// HTTP/S endpoint cannot be greater than 3,600 seconds"): a policy that
// would retry for longer is refused, on the topic and on the subscription;
// one that fills the hour runs its course, then the subscription's
// dead-letter queue gets the message.
func TestHTTPRetriesStopAfterAnHour(t *testing.T) {
	s, c, q := startSNS(t, true)
	arn := createTopic(t, c, "hour", nil)
	tooLong := `{"healthyRetryPolicy":{"minDelayTarget":600,"maxDelayTarget":600,"numRetries":7}}`
	dead := newSubscriber(t, func(n int) int {
		if n == 1 {
			return 200
		}
		return 500
	})
	_, err := c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("http"),
		Endpoint: aws.String(dead.URL), Attributes: map[string]string{"DeliveryPolicy": tooLong}})
	wantCode(t, err, "InvalidParameter")
	if err == nil || !strings.Contains(err.Error(), "Total policy retry time cannot be greater than 3600 seconds") {
		t.Fatalf("Subscribe with 4,200 s of retries: %v", err)
	}
	_, err = c.SetTopicAttributes(ctx(t), &sns.SetTopicAttributesInput{TopicArn: aws.String(arn), AttributeName: aws.String("DeliveryPolicy"),
		AttributeValue: aws.String(`{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":40,"maxDelayTarget":40,"numRetries":100}}}`)})
	wantCode(t, err, "InvalidParameter")

	dlqURL := create(t, q, "hour-dlq", nil)
	subArn := confirmHTTP(t, c, arn, dead, map[string]string{
		"DeliveryPolicy": `{"healthyRetryPolicy":{"minDelayTarget":600,"maxDelayTarget":600,"numRetries":6}}`,
		"RedrivePolicy":  `{"deadLetterTargetArn":"` + queueArn("hour-dlq") + `"}`})
	_, err = c.SetSubscriptionAttributes(ctx(t), &sns.SetSubscriptionAttributesInput{SubscriptionArn: aws.String(subArn),
		AttributeName: aws.String("DeliveryPolicy"), AttributeValue: aws.String(tooLong)})
	wantCode(t, err, "InvalidParameter")
	publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("late")})
	// Attempts at 0, 10, ..., 60 minutes.
	failedAttempts(t, s, dead, 7, 600*time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if msgs := receive(t, q, dlqURL, 1); len(msgs) == 1 {
			if n := decodeNotification(t, *msgs[0].Body); n.Message != "late" {
				t.Fatalf("dead-letter queue got %q", n.Message)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the delivery never reached the dead-letter queue")
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.Clock.Advance(600 * time.Second)
	select {
	case p := <-dead.got:
		t.Fatalf("an attempt after the hour: %s", p.body)
	case <-time.After(50 * time.Millisecond):
	}
}

// An UnsubscribeConfirmation's SubscribeURL, or its Token with
// ConfirmSubscription, restores the subscription (SNS developer guide,
// "HTTP/HTTPS unsubscribe confirmation JSON format": "To cancel this
// operation and restore the subscription, visit the SubscribeURL").
func TestUnsubscribeConfirmationRestores(t *testing.T) {
	s, c, _ := startSNS(t, true)
	arn := createTopic(t, c, "restore", nil)
	sub := newSubscriber(t, ok200)
	subArn := confirmHTTP(t, c, arn, sub, map[string]string{"RawMessageDelivery": "true"})
	unsubscribe := func() notification {
		t.Helper()
		unsubscribeURL(t, s.URL, subArn)
		n := decodeNotification(t, string(sub.next(t).body))
		if n.Type != "UnsubscribeConfirmation" || n.Token == "" || !strings.Contains(n.SubscribeURL, n.Token) {
			t.Fatalf("after Unsubscribe: %+v", n)
		}
		return n
	}
	listed := func() []string {
		t.Helper()
		list, err := c.ListSubscriptionsByTopic(ctx(t), &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		var arns []string
		for _, x := range list.Subscriptions {
			arns = append(arns, *x.SubscriptionArn)
		}
		return arns
	}

	n := unsubscribe()
	if l := listed(); len(l) != 0 {
		t.Fatalf("after Unsubscribe: %v", l)
	}
	resp, err := http.Get(n.SubscribeURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<SubscriptionArn>"+subArn+"</SubscriptionArn>") {
		t.Fatalf("GET SubscribeURL: %d %s", resp.StatusCode, body)
	}
	if l := listed(); len(l) != 1 || l[0] != subArn {
		t.Fatalf("restored: %v, want [%s]", l, subArn)
	}
	attrs, err := c.GetSubscriptionAttributes(ctx(t), &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(subArn)})
	if err != nil {
		t.Fatal(err)
	}
	if attrs.Attributes["RawMessageDelivery"] != "true" || attrs.Attributes["PendingConfirmation"] != "false" {
		t.Fatalf("restored attributes: %v", attrs.Attributes)
	}
	publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("back")})
	if got := string(sub.next(t).body); got != "back" {
		t.Fatalf("delivered %q after the restore, want the raw message", got)
	}
	// The token again names the restored subscription.
	again, err := c.ConfirmSubscription(ctx(t), &sns.ConfirmSubscriptionInput{TopicArn: aws.String(arn), Token: aws.String(n.Token)})
	if err != nil || *again.SubscriptionArn != subArn {
		t.Fatalf("ConfirmSubscription with the used token: %v, %v", again, err)
	}

	// The token of a later Unsubscribe expires with the confirmation
	// tokens.
	n = unsubscribe()
	s.Clock.Advance(49 * time.Hour)
	_, err = c.ConfirmSubscription(ctx(t), &sns.ConfirmSubscriptionInput{TopicArn: aws.String(arn), Token: aws.String(n.Token)})
	wantCode(t, err, "InvalidParameter")
	if l := listed(); len(l) != 0 {
		t.Fatalf("an expired token restored %v", l)
	}
}

// An SQS subscription is deleted only by a signed Unsubscribe (SNS API
// reference, Unsubscribe: "Amazon SQS queue subscriptions require
// authentication for deletion"): the unsigned UnsubscribeURL of its
// notifications is refused.
func TestSQSUnsubscribeNeedsSignature(t *testing.T) {
	_, c, q := startSNS(t, false)
	arn := createTopic(t, c, "sqs-unsub", nil)
	url, subArn := subscribeQueue(t, c, q, arn, "sqs-unsub-q", nil)
	publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("one")})
	msgs := receive(t, q, url, 1)
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	resp, err := http.Get(decodeNotification(t, *msgs[0].Body).UnsubscribeURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(body), "<Code>AuthorizationError</Code>") {
		t.Fatalf("unsigned UnsubscribeURL: %d %s", resp.StatusCode, body)
	}
	if _, err := c.Unsubscribe(ctx(t), &sns.UnsubscribeInput{SubscriptionArn: aws.String(subArn)}); err != nil {
		t.Fatalf("signed Unsubscribe: %v", err)
	}
}

// A subscription pending confirmation cannot be deleted (SNS developer
// guide, "Deleting an Amazon SNS subscription and topic"), and its token
// is valid for two days (Subscribe API reference).
func TestPendingSubscriptionCannotBeDeleted(t *testing.T) {
	s, c, _ := startSNS(t, true)
	arn := createTopic(t, c, "pending-del", nil)
	sub := newSubscriber(t, ok200)
	out, err := c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("http"),
		Endpoint: aws.String(sub.URL), ReturnSubscriptionArn: true})
	if err != nil {
		t.Fatal(err)
	}
	conf := decodeNotification(t, string(sub.next(t).body))
	_, err = c.Unsubscribe(ctx(t), &sns.UnsubscribeInput{SubscriptionArn: out.SubscriptionArn})
	wantCode(t, err, "InvalidParameter")
	list, err := c.ListSubscriptionsByTopic(ctx(t), &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(arn)})
	if err != nil || len(list.Subscriptions) != 1 {
		t.Fatalf("after the refused Unsubscribe: %v, %v", list, err)
	}
	s.Clock.Advance(49 * time.Hour)
	_, err = c.ConfirmSubscription(ctx(t), &sns.ConfirmSubscriptionInput{TopicArn: aws.String(arn), Token: aws.String(conf.Token)})
	wantCode(t, err, "InvalidParameter")
}

// A subscriber slow to answer holds only its share of the delivery slots:
// while forty of its notifications wait on it, another topic's subscriber
// still gets its own. (Each subscription has its own delivery and throttle
// policy: SNS developer guide, "Amazon SNS message delivery retries".)
func TestSlowEndpointDoesNotHoldUpOthers(t *testing.T) {
	_, c, _ := startSNS(t, false)
	hold := make(chan struct{})
	var inFlight atomic.Int64
	slow := newSubscriber(t, func(n int) int {
		if n > 1 { // the first request is the confirmation
			inFlight.Add(1)
			<-hold
		}
		return 200
	})
	t.Cleanup(func() { close(hold) })
	slowTopic := createTopic(t, c, "slow", nil)
	confirmHTTP(t, c, slowTopic, slow, nil)
	fast := newSubscriber(t, ok200)
	fastTopic := createTopic(t, c, "fast", nil)
	confirmHTTP(t, c, fastTopic, fast, nil)
	for i := 0; i < 40; i++ {
		publish(t, c, &sns.PublishInput{TopicArn: aws.String(slowTopic), Message: aws.String(fmt.Sprint("slow ", i))})
	}
	deadline := time.Now().Add(30 * time.Second)
	for inFlight.Load() < 16 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	publish(t, c, &sns.PublishInput{TopicArn: aws.String(fastTopic), Message: aws.String("fast")})
	if n := decodeNotification(t, string(fast.next(t).body)); n.Message != "fast" {
		t.Fatalf("fast subscriber got %+v", n)
	}
	if got := inFlight.Load(); got > 16 {
		t.Fatalf("%d deliveries to one subscription at once, want at most 16", got)
	}
}

// A retry waiting when the server stops keeps its place in the policy's
// schedule after a restart: it is not tried at once (every failed
// delivery of an endpoint would otherwise arrive together), and it is
// tried when due.
func TestHTTPRetryKeepsItsScheduleAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	s := servertest.Start(t, servertest.Options{FakeClock: true, DataDir: dir})
	c := sns.NewFromConfig(s.Config())
	arn := createTopic(t, c, "patient", nil)
	var up atomic.Bool
	hook := newSubscriber(t, func(n int) int {
		if n == 1 || up.Load() {
			return 200
		}
		return 503
	})
	confirmHTTP(t, c, arn, hook, nil)
	publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("later")})
	hook.next(t)         // the first attempt fails
	waitPending(t, s, 1) // its retry waits, 20 s away (the default policy), less its jitter
	s.Stop(t)

	up.Store(true)
	s = servertest.Start(t, servertest.Options{FakeClock: true, DataDir: dir}) // the fake clock begins at Epoch again
	waitPending(t, s, 1)
	select {
	case p := <-hook.got:
		t.Fatalf("the retry was made at once after the restart: %s", p.body)
	case <-time.After(300 * time.Millisecond):
	}
	s.Clock.Advance(20 * time.Second)
	if n := decodeNotification(t, string(hook.next(t).body)); n.Message != "later" {
		t.Fatalf("the retry delivered %q", n.Message)
	}
}

// A retry that comes due after the server was down for longer than SNS's
// hour of retries is given up (to the subscription's dead-letter queue)
// without another attempt ("The total policy retry time for an HTTP/S
// endpoint cannot be greater than 3,600 seconds", SNS developer guide).
func TestHTTPRetryPastTheHourAfterRestart(t *testing.T) {
	dir := t.TempDir()
	s := servertest.Start(t, servertest.Options{FakeClock: true, DataDir: dir})
	c, q := sns.NewFromConfig(s.Config()), sqs.NewFromConfig(s.Config())
	arn := createTopic(t, c, "late", nil)
	dlq := create(t, q, "late-dlq", nil)
	hook := newSubscriber(t, func(n int) int {
		if n == 1 {
			return 200
		}
		return 503
	})
	confirmHTTP(t, c, arn, hook, map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"` + queueArn("late-dlq") + `"}`})
	publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("stale")})
	hook.next(t)
	waitPending(t, s, 1)
	s.Stop(t)

	s = servertest.Start(t, servertest.Options{FakeClock: true, DataDir: dir})
	q = sqs.NewFromConfig(s.Config())
	waitPending(t, s, 1)
	s.Clock.Advance(2 * time.Hour)
	ms := drain(t, q, dlq, 1)
	if n := decodeNotification(t, aws.ToString(ms[0].Body)); n.Message != "stale" {
		t.Fatalf("dead-lettered %q", n.Message)
	}
	select {
	case p := <-hook.got:
		t.Fatalf("an attempt was made past the hour: %s", p.body)
	default:
	}
}

// ConfirmSubscription with a valid token and the ARN of a topic that does
// not exist, in the same account and region, still confirms the token's
// subscription (LocalStack's AWS-validated
// test_subscribe_external_http_endpoint: "even with a wrong topic, SNS
// will confirm"); an unknown token is refused.
func TestConfirmSubscriptionWithAnotherTopicName(t *testing.T) {
	_, c, _ := startSNS(t, false)
	arn := createTopic(t, c, "named", nil)
	sub := newSubscriber(t, ok200)
	if _, err := c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("http"), Endpoint: aws.String(sub.URL)}); err != nil {
		t.Fatal(err)
	}
	n := decodeNotification(t, string(sub.next(t).body))
	_, err := c.ConfirmSubscription(ctx(t), &sns.ConfirmSubscriptionInput{TopicArn: aws.String(arn + "x"), Token: aws.String(strings.Repeat("ab", 64))})
	wantCode(t, err, "InvalidParameter")
	out, err := c.ConfirmSubscription(ctx(t), &sns.ConfirmSubscriptionInput{TopicArn: aws.String(arn + "x"), Token: aws.String(n.Token)})
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.GetSubscriptionAttributes(ctx(t), &sns.GetSubscriptionAttributesInput{SubscriptionArn: out.SubscriptionArn})
	if err != nil || a.Attributes["PendingConfirmation"] != "false" || a.Attributes["TopicArn"] != arn {
		t.Fatalf("confirmed through another topic's name: %v, %v", a, err)
	}
}

// An endpoint's credentials (https://user:password@host/path) are sent
// only when it asks: the first request carries none, and a 401 answer's
// Basic or Digest challenge is answered ("Amazon SNS supports basic and
// digest access authentication", SNS developer guide, "Fanout to HTTP/S
// endpoints").
func TestHTTPEndpointAuthentication(t *testing.T) {
	_, c, _ := startSNS(t, false)
	arn := createTopic(t, c, "guarded", nil)
	for _, scheme := range []string{"Basic", "Digest"} {
		t.Run(scheme, func(t *testing.T) {
			got := make(chan []byte, 10)
			bare := make(chan bool, 10)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				auth := r.Header.Get("Authorization")
				if auth == "" {
					bare <- true
					if scheme == "Basic" {
						w.Header().Set("WWW-Authenticate", `Basic realm="sns"`)
					} else {
						w.Header().Set("WWW-Authenticate", `Digest realm="sns", qop="auth", nonce="n-1", opaque="op"`)
					}
					w.WriteHeader(401)
					return
				}
				if !authorized(scheme, auth, r.Method, r.URL.RequestURI()) {
					t.Errorf("%s: bad credentials %q", scheme, auth)
					w.WriteHeader(403)
					return
				}
				got <- body
			}))
			t.Cleanup(srv.Close)
			endpoint := strings.Replace(srv.URL, "http://", "http://sns-user:s3cr%40t@", 1) + "/hook"
			if _, err := c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("http"), Endpoint: aws.String(endpoint)}); err != nil {
				t.Fatal(err)
			}
			var conf []byte
			select {
			case conf = <-got:
			case <-time.After(30 * time.Second):
				t.Fatal("no authenticated confirmation")
			}
			select {
			case <-bare:
			default:
				t.Fatal("the first request carried credentials")
			}
			n := decodeNotification(t, string(conf))
			sub, err := c.ConfirmSubscription(ctx(t), &sns.ConfirmSubscriptionInput{TopicArn: aws.String(arn), Token: aws.String(n.Token)})
			if err != nil {
				t.Fatal(err)
			}
			// The password is shown masked, as SNS shows it.
			a, err := c.GetSubscriptionAttributes(ctx(t), &sns.GetSubscriptionAttributesInput{SubscriptionArn: sub.SubscriptionArn})
			if err != nil || !strings.Contains(a.Attributes["Endpoint"], "//sns-user:****@") {
				t.Fatalf("Endpoint shown as %q (%v)", a.Attributes["Endpoint"], err)
			}
			publish(t, c, &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("for " + scheme)})
			for {
				select {
				case b := <-got:
					if m := decodeNotification(t, string(b)); m.Type == "Notification" && m.Message == "for "+scheme {
						c.Unsubscribe(ctx(t), &sns.UnsubscribeInput{SubscriptionArn: sub.SubscriptionArn})
						return
					}
				case <-time.After(30 * time.Second):
					t.Fatal("no authenticated notification")
				}
			}
		})
	}
}

// authorized checks credentials as the endpoint would, for sns-user with
// the password s3cr@t.
func authorized(scheme, auth, method, uri string) bool {
	if scheme == "Basic" {
		return auth == "Basic "+base64.StdEncoding.EncodeToString([]byte("sns-user:s3cr@t"))
	}
	p := map[string]string{}
	for _, kv := range strings.Split(strings.TrimPrefix(auth, "Digest "), ", ") {
		k, v, _ := strings.Cut(kv, "=")
		p[k] = strings.Trim(v, `"`)
	}
	md := func(s string) string { sum := md5.Sum([]byte(s)); return hex.EncodeToString(sum[:]) }
	want := md(md("sns-user:sns:s3cr@t") + ":" + p["nonce"] + ":" + p["nc"] + ":" + p["cnonce"] + ":auth:" + md(method+":"+uri))
	return p["username"] == "sns-user" && p["uri"] == uri && p["nonce"] == "n-1" && p["opaque"] == "op" && p["response"] == want
}
