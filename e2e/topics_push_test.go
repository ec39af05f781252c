package e2e

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"

	"github.com/forkline/forkline/internal/server/servertest"
)

// errMessage returns an API error's message.
func errMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

// TestPlatformApplicationsAndEndpoints drives mobile push resources with
// the SDK: platform applications keep their attributes but never show
// their credentials (SNS API reference, GetPlatformApplicationAttributes),
// CreatePlatformEndpoint is idempotent for a token with the same
// attributes and refuses it with others in SNS's words (moto's
// AWS-verified test_create_duplicate_platform_endpoint_with_attrs), a
// publish to a disabled endpoint is refused before its JSON is read
// (test_publish_to_disabled_platform_endpoint, AWS-verified), a deleted
// endpoint is gone for reads and subscriptions, and everything survives a
// restart.
func TestPlatformApplicationsAndEndpoints(t *testing.T) {
	dir := t.TempDir()
	s := servertest.Start(t, servertest.Options{DataDir: dir})
	c := sns.NewFromConfig(s.Config())

	for _, bad := range []*sns.CreatePlatformApplicationInput{
		{Name: aws.String("app"), Platform: aws.String("PIGEON"), Attributes: map[string]string{"PlatformCredential": "k"}},
		{Name: aws.String("app"), Platform: aws.String("APNS"), Attributes: map[string]string{"PlatformCredential": "k"}},
		{Name: aws.String("bad name"), Platform: aws.String("GCM"), Attributes: map[string]string{"PlatformCredential": "k"}},
		{Name: aws.String("app"), Platform: aws.String("GCM"), Attributes: map[string]string{"PlatformCredential": "k", "Colour": "blue"}},
	} {
		_, err := c.CreatePlatformApplication(ctx(t), bad)
		wantCode(t, err, "InvalidParameter")
	}
	app, err := c.CreatePlatformApplication(ctx(t), &sns.CreatePlatformApplicationInput{Name: aws.String("app"), Platform: aws.String("GCM"),
		Attributes: map[string]string{"PlatformCredential": "server-key"}})
	if err != nil {
		t.Fatal(err)
	}
	appArn := aws.ToString(app.PlatformApplicationArn)
	if appArn != "arn:aws:sns:us-east-1:000000000000:app/GCM/app" {
		t.Fatalf("application ARN %s", appArn)
	}
	if _, err := c.SetPlatformApplicationAttributes(ctx(t), &sns.SetPlatformApplicationAttributesInput{PlatformApplicationArn: &appArn,
		Attributes: map[string]string{"EventEndpointCreated": "arn:aws:sns:us-east-1:000000000000:events"}}); err != nil {
		t.Fatal(err)
	}
	attrs, err := c.GetPlatformApplicationAttributes(ctx(t), &sns.GetPlatformApplicationAttributesInput{PlatformApplicationArn: &appArn})
	if err != nil || attrs.Attributes["EventEndpointCreated"] == "" || attrs.Attributes["PlatformCredential"] != "" {
		t.Fatalf("GetPlatformApplicationAttributes: %v, %v", attrs, err)
	}

	ep, err := c.CreatePlatformEndpoint(ctx(t), &sns.CreatePlatformEndpointInput{PlatformApplicationArn: &appArn, Token: aws.String("device-1")})
	if err != nil {
		t.Fatal(err)
	}
	epArn := aws.ToString(ep.EndpointArn)
	if !regexp.MustCompile(`^arn:aws:sns:us-east-1:000000000000:endpoint/GCM/app/[0-9a-f-]{36}$`).MatchString(epArn) {
		t.Fatalf("endpoint ARN %s", epArn)
	}
	again, err := c.CreatePlatformEndpoint(ctx(t), &sns.CreatePlatformEndpointInput{PlatformApplicationArn: &appArn, Token: aws.String("device-1"),
		Attributes: map[string]string{"Enabled": "true"}})
	if err != nil || aws.ToString(again.EndpointArn) != epArn {
		t.Fatalf("the same token and attributes again: %v, %v", again, err)
	}
	_, err = c.CreatePlatformEndpoint(ctx(t), &sns.CreatePlatformEndpointInput{PlatformApplicationArn: &appArn, Token: aws.String("device-1"),
		CustomUserData: aws.String("someone")})
	wantCode(t, err, "InvalidParameter")
	if want := "Invalid parameter: Token Reason: Endpoint " + epArn + " already exists with the same Token, but different attributes."; errMessage(err) != want {
		t.Fatalf("the same token with other attributes: %q, want %q", errMessage(err), want)
	}
	_, err = c.CreatePlatformEndpoint(ctx(t), &sns.CreatePlatformEndpointInput{PlatformApplicationArn: aws.String(appArn + "-gone"), Token: aws.String("d")})
	wantCode(t, err, "NotFound")

	// Disabled: refused before the message is parsed.
	if _, err := c.SetEndpointAttributes(ctx(t), &sns.SetEndpointAttributesInput{EndpointArn: &epArn, Attributes: map[string]string{"Enabled": "false"}}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Publish(ctx(t), &sns.PublishInput{TargetArn: &epArn, Message: aws.String("not json"), MessageStructure: aws.String("json")})
	wantCode(t, err, "EndpointDisabled")
	if errMessage(err) != "Endpoint is disabled" {
		t.Fatalf("publish to a disabled endpoint: %v", err)
	}
	if _, err := c.SetEndpointAttributes(ctx(t), &sns.SetEndpointAttributesInput{EndpointArn: &epArn, Attributes: map[string]string{"Enabled": "true", "CustomUserData": "u1"}}); err != nil {
		t.Fatal(err)
	}
	// A platform's own key, no "default" (SNS developer guide, "Sending
	// platform specific payloads in messages to mobile devices").
	_, err = c.Publish(ctx(t), &sns.PublishInput{TargetArn: &epArn, MessageStructure: aws.String("json"), Message: aws.String("null")})
	wantCode(t, err, "InvalidParameter")
	pub, err := c.Publish(ctx(t), &sns.PublishInput{TargetArn: &epArn, MessageStructure: aws.String("json"),
		Message: aws.String(`{"GCM":"{\"notification\":{\"title\":\"hi\"}}"}`)})
	if err != nil || aws.ToString(pub.MessageId) == "" {
		t.Fatalf("publish to the endpoint: %v, %v", pub, err)
	}

	topicArn := createTopic(t, c, "pushes", nil)
	if _, err := c.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: &topicArn, Protocol: aws.String("application"), Endpoint: &epArn}); err != nil {
		t.Fatal(err)
	}
	s.Stop(t)

	s2 := servertest.Start(t, servertest.Options{DataDir: dir})
	c2 := sns.NewFromConfig(s2.Config())
	got, err := c2.GetEndpointAttributes(ctx(t), &sns.GetEndpointAttributesInput{EndpointArn: &epArn})
	if err != nil || got.Attributes["Enabled"] != "true" || got.Attributes["Token"] != "device-1" || got.Attributes["CustomUserData"] != "u1" || len(got.Attributes) != 3 {
		t.Fatalf("GetEndpointAttributes after a restart: %v, %v", got, err)
	}
	apps, err := c2.ListPlatformApplications(ctx(t), &sns.ListPlatformApplicationsInput{})
	if err != nil || len(apps.PlatformApplications) != 1 || aws.ToString(apps.PlatformApplications[0].PlatformApplicationArn) != appArn {
		t.Fatalf("ListPlatformApplications: %v, %v", apps, err)
	}
	eps, err := c2.ListEndpointsByPlatformApplication(ctx(t), &sns.ListEndpointsByPlatformApplicationInput{PlatformApplicationArn: &appArn})
	if err != nil || len(eps.Endpoints) != 1 || aws.ToString(eps.Endpoints[0].EndpointArn) != epArn || eps.Endpoints[0].Attributes["Token"] != "device-1" {
		t.Fatalf("ListEndpointsByPlatformApplication: %v, %v", eps, err)
	}

	// Deleting twice is no error (SNS API reference, DeleteEndpoint).
	for i := 0; i < 2; i++ {
		if _, err := c2.DeleteEndpoint(ctx(t), &sns.DeleteEndpointInput{EndpointArn: &epArn}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c2.GetEndpointAttributes(ctx(t), &sns.GetEndpointAttributesInput{EndpointArn: &epArn})
	wantCode(t, err, "NotFound")
	if errMessage(err) != "Endpoint does not exist" {
		t.Fatalf("a deleted endpoint: %v", err)
	}
	_, err = c2.Publish(ctx(t), &sns.PublishInput{TargetArn: &epArn, Message: aws.String("m")})
	wantCode(t, err, "InvalidParameter")
	// Its subscription stays ("you must also unsubscribe the endpoint
	// from the topic", SNS API reference, DeleteEndpoint), and Subscribe
	// still finds it; a new subscription of it is refused.
	if _, err := c2.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: &topicArn, Protocol: aws.String("application"), Endpoint: &epArn}); err != nil {
		t.Fatalf("subscribing a deleted endpoint where it is subscribed: %v", err)
	}
	other := createTopic(t, c2, "other-pushes", nil)
	_, err = c2.Subscribe(ctx(t), &sns.SubscribeInput{TopicArn: &other, Protocol: aws.String("application"), Endpoint: &epArn})
	wantCode(t, err, "InvalidParameter")
	if !strings.HasSuffix(errMessage(err), "Endpoint does not exist for endpoint arn"+epArn) {
		t.Fatalf("subscribing a deleted endpoint: %v", err)
	}

	// An empty CustomUserData sets none, as SetEndpointAttributes takes
	// it; Enabled is read whatever its case.
	ep2, err := c2.CreatePlatformEndpoint(ctx(t), &sns.CreatePlatformEndpointInput{PlatformApplicationArn: &appArn, Token: aws.String("device-2"),
		Attributes: map[string]string{"CustomUserData": "", "Enabled": "True"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c2.GetEndpointAttributes(ctx(t), &sns.GetEndpointAttributesInput{EndpointArn: ep2.EndpointArn}); err != nil ||
		len(got.Attributes) != 2 || got.Attributes["Enabled"] != "true" {
		t.Fatalf("an endpoint made with an empty CustomUserData: %v, %v", got, err)
	}
	if _, err := c2.DeletePlatformApplication(ctx(t), &sns.DeletePlatformApplicationInput{PlatformApplicationArn: &appArn}); err != nil {
		t.Fatal(err)
	}
	_, err = c2.ListEndpointsByPlatformApplication(ctx(t), &sns.ListEndpointsByPlatformApplicationInput{PlatformApplicationArn: &appArn})
	wantCode(t, err, "NotFound")
	_, err = c2.GetEndpointAttributes(ctx(t), &sns.GetEndpointAttributesInput{EndpointArn: ep2.EndpointArn})
	wantCode(t, err, "NotFound")
}
