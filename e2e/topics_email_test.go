package e2e

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/forkline/forkline/internal/server/servertest"
)

// logValues returns every value of key in a text log, unquoted.
func logValues(t *testing.T, log, key string) []string {
	t.Helper()
	var out []string
	for _, m := range regexp.MustCompile(key+`=("(?:[^"\\]|\\.)*"|\S+)`).FindAllStringSubmatch(log, -1) {
		v := m[1]
		if strings.HasPrefix(v, `"`) {
			var err error
			if v, err = strconv.Unquote(v); err != nil {
				t.Fatalf("log value %s: %v", m[1], err)
			}
		}
		out = append(out, v)
	}
	return out
}

// TestEmailSubscriptionsThroughTheLog: forkline sends no email, so an
// email subscription's confirmation link and token are written to the
// log, and following the link or calling ConfirmSubscription with the
// token confirms it, as the email's link does in SNS (SNS developer
// guide, "Email notifications": the subscription stays pending until the
// link in the confirmation email is chosen). Subscribing again while
// pending sends the confirmation again. What a confirmed subscription
// would be sent is logged too.
func TestEmailSubscriptionsThroughTheLog(t *testing.T) {
	log := &lockedBuffer{}
	s := servertest.Start(t, servertest.Options{Log: log})
	c := sns.NewFromConfig(s.Config())
	arn := createTopic(t, c, "mail", nil)

	sub := func(proto, addr string) string {
		t.Helper()
		out, err := c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String(proto),
			Endpoint: aws.String(addr), ReturnSubscriptionArn: true})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.SubscriptionArn)
	}
	pending := func(subArn string) string {
		t.Helper()
		a, err := c.GetSubscriptionAttributes(ctx(t), &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(subArn)})
		if err != nil {
			t.Fatal(err)
		}
		return a.Attributes["PendingConfirmation"]
	}

	mail := sub("email", "dev@example.com")
	if pending(mail) != "true" {
		t.Fatal("an email subscription is pending until confirmed")
	}
	urls := logValues(t, log.String(), "subscribe_url")
	if len(urls) != 1 || !strings.Contains(urls[0], "Action=ConfirmSubscription") {
		t.Fatalf("confirmation links logged: %q\n%s", urls, log.String())
	}
	// Subscribing again asks for the confirmation again (the console's
	// "Request confirmation").
	if again := sub("email", "dev@example.com"); again != mail {
		t.Fatalf("second Subscribe = %s, want %s", again, mail)
	}
	if urls = logValues(t, log.String(), "subscribe_url"); len(urls) != 2 || urls[1] != urls[0] {
		t.Fatalf("confirmation links after a second Subscribe: %q", urls)
	}
	resp, err := http.Get(urls[0])
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || pending(mail) != "false" {
		t.Fatalf("after following the link: status %d, pending %s", resp.StatusCode, pending(mail))
	}

	js := sub("email-json", "ops@example.com")
	tokens := logValues(t, log.String(), "token")
	if len(tokens) != 3 {
		t.Fatalf("tokens logged: %q", tokens)
	}
	if _, err := c.ConfirmSubscription(ctx(t), &sns.ConfirmSubscriptionInput{TopicArn: aws.String(arn), Token: aws.String(tokens[2])}); err != nil {
		t.Fatal(err)
	}
	if pending(js) != "false" {
		t.Fatal("email-json subscription still pending after ConfirmSubscription")
	}

	pub, err := c.Publish(ctx(t), &sns.PublishInput{TopicArn: aws.String(arn), Subject: aws.String("Order shipped"), Message: aws.String("order 42 left the warehouse")})
	if err != nil {
		t.Fatal(err)
	}
	var sent []string
	for _, line := range strings.Split(log.String(), "\n") {
		if strings.Contains(line, "not sent, forkline has no email") && strings.Contains(line, "message_id="+aws.ToString(pub.MessageId)) {
			sent = append(sent, line)
		}
	}
	if len(sent) != 2 || !strings.Contains(sent[0], `message="order 42 left the warehouse"`) || !strings.Contains(sent[0], `subject="Order shipped"`) {
		t.Fatalf("undelivered email logged as:\n%s", strings.Join(sent, "\n"))
	}
}
