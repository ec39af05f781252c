package e2e

import (
	"maps"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/forkline/forkline/internal/server/servertest"
)

// TestSMSAccountSettings drives the account-level SMS actions with the
// SDK: SetSMSAttributes and GetSMSAttributes keep the documented settings
// across a restart and check their documented limits (SNS API reference,
// SetSMSAttributes), GetSMSAttributes without names returns all that are
// set ("If you don't use this parameter, Amazon SNS returns all SMS
// attributes"), and the opt-out actions answer for a forkline that sends
// no SMS: no number is opted out, and the empty list has no nextToken
// (LocalStack's AWS-validated test_list_opted_out snapshot).
func TestSMSAccountSettings(t *testing.T) {
	dir := t.TempDir()
	s := servertest.Start(t, servertest.Options{DataDir: dir})
	c := sns.NewFromConfig(s.Config())

	got, err := c.GetSMSAttributes(ctx(t), &sns.GetSMSAttributesInput{})
	if err != nil || len(got.Attributes) != 0 {
		t.Fatalf("GetSMSAttributes before any is set: %v, %v", got, err)
	}
	set := map[string]string{"DefaultSMSType": "Transactional", "DefaultSenderID": "Forkline1", "MonthlySpendLimit": "5", "DeliveryStatusSuccessSamplingRate": "50"}
	if _, err := c.SetSMSAttributes(ctx(t), &sns.SetSMSAttributesInput{Attributes: set}); err != nil {
		t.Fatal(err)
	}
	// Attributes not named keep their values.
	if _, err := c.SetSMSAttributes(ctx(t), &sns.SetSMSAttributesInput{Attributes: map[string]string{"MonthlySpendLimit": "10"}}); err != nil {
		t.Fatal(err)
	}
	set["MonthlySpendLimit"] = "10"
	for _, bad := range []map[string]string{
		{"DefaultSMSType": "Urgent"},
		{"DeliveryStatusSuccessSamplingRate": "101"},
		{"DefaultSenderID": "123456"},       // no letter
		{"DefaultSenderID": "TwelveLetter"}, // twelve characters
		{"MonthlySpendLimit": "-1"},
		{"MonthlySpendLimit": "+7"},
		{"DeliveryStatusSuccessSamplingRate": "+50"},
		{"": "x"},
		{"DefaultSMSType": "Promotional", "Colour": "blue"}, // not an SMS attribute: nothing is set
		{},
	} {
		_, err := c.SetSMSAttributes(ctx(t), &sns.SetSMSAttributesInput{Attributes: bad})
		wantCode(t, err, "InvalidParameter")
	}
	s.Stop(t)

	s2 := servertest.Start(t, servertest.Options{DataDir: dir})
	c2 := sns.NewFromConfig(s2.Config())
	got, err = c2.GetSMSAttributes(ctx(t), &sns.GetSMSAttributesInput{})
	if err != nil || !maps.Equal(got.Attributes, set) {
		t.Fatalf("GetSMSAttributes after a restart: %v, %v; want %v", got.Attributes, err, set)
	}
	got, err = c2.GetSMSAttributes(ctx(t), &sns.GetSMSAttributesInput{Attributes: []string{"DefaultSMSType", "UsageReportS3Bucket"}})
	if err != nil || !maps.Equal(got.Attributes, map[string]string{"DefaultSMSType": "Transactional"}) {
		t.Fatalf("GetSMSAttributes of two names, one never set: %v, %v", got.Attributes, err)
	}
	// An empty value removes a setting.
	if _, err := c2.SetSMSAttributes(ctx(t), &sns.SetSMSAttributesInput{Attributes: map[string]string{"DefaultSenderID": ""}}); err != nil {
		t.Fatal(err)
	}
	if got, err = c2.GetSMSAttributes(ctx(t), &sns.GetSMSAttributesInput{Attributes: []string{"DefaultSenderID"}}); err != nil || len(got.Attributes) != 0 {
		t.Fatalf("DefaultSenderID after setting it empty: %v, %v", got.Attributes, err)
	}

	out, err := c2.CheckIfPhoneNumberIsOptedOut(ctx(t), &sns.CheckIfPhoneNumberIsOptedOutInput{PhoneNumber: aws.String("+15555550100")})
	if err != nil || out.IsOptedOut {
		t.Fatalf("CheckIfPhoneNumberIsOptedOut: %v, %v", out, err)
	}
	_, err = c2.CheckIfPhoneNumberIsOptedOut(ctx(t), &sns.CheckIfPhoneNumberIsOptedOutInput{PhoneNumber: aws.String("not-a-number")})
	wantCode(t, err, "InvalidParameter")
	list, err := c2.ListPhoneNumbersOptedOut(ctx(t), &sns.ListPhoneNumbersOptedOutInput{})
	if err != nil || len(list.PhoneNumbers) != 0 || list.NextToken != nil {
		t.Fatalf("ListPhoneNumbersOptedOut: %v, %v", list, err)
	}
	if _, err := c2.OptInPhoneNumber(ctx(t), &sns.OptInPhoneNumberInput{PhoneNumber: aws.String("+15555550100")}); err != nil {
		t.Fatal(err)
	}
	_, err = c2.OptInPhoneNumber(ctx(t), &sns.OptInPhoneNumberInput{PhoneNumber: aws.String("555 0100")})
	wantCode(t, err, "InvalidParameter")
	sandbox, err := c2.GetSMSSandboxAccountStatus(ctx(t), &sns.GetSMSSandboxAccountStatusInput{})
	if err != nil || sandbox.IsInSandbox {
		t.Fatalf("GetSMSSandboxAccountStatus: %v, %v", sandbox, err)
	}
}
