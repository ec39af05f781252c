package e2e

import (
	"errors"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/forkline/forkline/internal/server/servertest"
)

// lastPassword is the one-time password the server last logged for number.
func lastPassword(t *testing.T, log *lockedBuffer, number string) string {
	t.Helper()
	re := regexp.MustCompile(`phone_number=` + regexp.QuoteMeta(number) + ` one_time_password=([0-9]{6})`)
	m := re.FindAllStringSubmatch(log.String(), -1)
	if len(m) == 0 {
		t.Fatalf("no one-time password logged for %s in:\n%s", number, log.String())
	}
	return m[len(m)-1][1]
}

// TestSMSSandboxPhoneNumbers drives the SMS sandbox's destination numbers
// with the SDK: a number is added pending and verified with its one-time
// password, which forkline logs (at warning level) since it sends no SMS; the shapes,
// patterns, ranges and error codes are the SNS API reference's
// (CreateSMSSandboxPhoneNumber, VerifySMSSandboxPhoneNumber,
// DeleteSMSSandboxPhoneNumber, ListSMSSandboxPhoneNumbers,
// ListOriginationNumbers), and the numbers survive a restart.
func TestSMSSandboxPhoneNumbers(t *testing.T) {
	dir := t.TempDir()
	log := &lockedBuffer{}
	s := servertest.Start(t, servertest.Options{DataDir: dir, Log: log})
	c := sns.NewFromConfig(s.Config())

	list := func(c *sns.Client, in *sns.ListSMSSandboxPhoneNumbersInput) *sns.ListSMSSandboxPhoneNumbersOutput {
		t.Helper()
		out, err := c.ListSMSSandboxPhoneNumbers(ctx(t), in)
		if err != nil {
			t.Fatalf("ListSMSSandboxPhoneNumbers: %v", err)
		}
		return out
	}
	if out := list(c, &sns.ListSMSSandboxPhoneNumbersInput{}); len(out.PhoneNumbers) != 0 || out.NextToken != nil {
		t.Fatalf("empty sandbox: %+v", out)
	}

	const number = "+15555550100"
	if _, err := c.CreateSMSSandboxPhoneNumber(ctx(t), &sns.CreateSMSSandboxPhoneNumberInput{PhoneNumber: aws.String(number)}); err != nil {
		t.Fatal(err)
	}
	first := lastPassword(t, log, number)

	// PhoneNumberString: "^(\+[0-9]{8,}|[0-9]{0,9})$", at most 20 long.
	for _, bad := range []string{"555-0100", "+1234567", "1234567890", "+123456789012345678901"} {
		_, err := c.CreateSMSSandboxPhoneNumber(ctx(t), &sns.CreateSMSSandboxPhoneNumberInput{PhoneNumber: aws.String(bad)})
		wantCode(t, err, "InvalidParameter")
	}
	_, err := c.CreateSMSSandboxPhoneNumber(ctx(t), &sns.CreateSMSSandboxPhoneNumberInput{PhoneNumber: aws.String("+15555550101"), LanguageCode: "ko-KR"})
	wantCode(t, err, "InvalidParameter") // Korean is "kr-KR" in LanguageCodeString

	out := list(c, &sns.ListSMSSandboxPhoneNumbersInput{})
	if len(out.PhoneNumbers) != 1 || aws.ToString(out.PhoneNumbers[0].PhoneNumber) != number || out.PhoneNumbers[0].Status != types.SMSSandboxPhoneNumberVerificationStatusPending {
		t.Fatalf("after create: %+v", out.PhoneNumbers)
	}

	// A wrong password: VerificationException, HTTP 400, with the number's
	// status in its Status member.
	wrong := "000000"
	if first == wrong {
		wrong = "000001"
	}
	_, err = c.VerifySMSSandboxPhoneNumber(ctx(t), &sns.VerifySMSSandboxPhoneNumberInput{PhoneNumber: aws.String(number), OneTimePassword: aws.String(wrong)})
	var ve *types.VerificationException
	if !errors.As(err, &ve) || aws.ToString(ve.Status) != "Pending" || httpStatus(err) != 400 {
		t.Fatalf("wrong password: %v (status %d)", err, httpStatus(err))
	}
	// OTPCode: 5 to 8 digits.
	_, err = c.VerifySMSSandboxPhoneNumber(ctx(t), &sns.VerifySMSSandboxPhoneNumberInput{PhoneNumber: aws.String(number), OneTimePassword: aws.String("1234")})
	wantCode(t, err, "InvalidParameter")
	_, err = c.VerifySMSSandboxPhoneNumber(ctx(t), &sns.VerifySMSSandboxPhoneNumberInput{PhoneNumber: aws.String("+15555550199"), OneTimePassword: aws.String(first)})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || httpStatus(err) != 404 {
		t.Fatalf("unknown number: %v (status %d)", err, httpStatus(err))
	}

	// Adding a pending number again sends a new password, the one that
	// verifies it.
	if _, err := c.CreateSMSSandboxPhoneNumber(ctx(t), &sns.CreateSMSSandboxPhoneNumberInput{PhoneNumber: aws.String(number), LanguageCode: types.LanguageCodeStringDeDe}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.VerifySMSSandboxPhoneNumber(ctx(t), &sns.VerifySMSSandboxPhoneNumberInput{PhoneNumber: aws.String(number), OneTimePassword: aws.String(lastPassword(t, log, number))}); err != nil {
		t.Fatal(err)
	}

	// A verified number's password is spent: verifying it again changes
	// nothing, whatever the password.
	if _, err := c.VerifySMSSandboxPhoneNumber(ctx(t), &sns.VerifySMSSandboxPhoneNumberInput{PhoneNumber: aws.String(number), OneTimePassword: aws.String(wrong)}); err != nil {
		t.Fatal(err)
	}

	for _, n := range []string{"+15555550102", "+15555550103", "12345"} {
		if _, err := c.CreateSMSSandboxPhoneNumber(ctx(t), &sns.CreateSMSSandboxPhoneNumberInput{PhoneNumber: aws.String(n)}); err != nil {
			t.Fatal(err)
		}
	}

	s.Stop(t)
	s = servertest.Start(t, servertest.Options{DataDir: dir})
	c = sns.NewFromConfig(s.Config())

	// Pages of MaxResults (1 to 100), in number order.
	var got []types.SMSSandboxPhoneNumber
	in := &sns.ListSMSSandboxPhoneNumbersInput{MaxResults: aws.Int32(2)}
	for pages := 0; ; pages++ {
		out := list(c, in)
		if len(out.PhoneNumbers) > 2 || pages > 3 {
			t.Fatalf("page of %d past MaxResults 2", len(out.PhoneNumbers))
		}
		got = append(got, out.PhoneNumbers...)
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	want := []string{"+15555550100 Verified", "+15555550102 Pending", "+15555550103 Pending", "12345 Pending"}
	if len(got) != len(want) {
		t.Fatalf("numbers after restart: %+v", got)
	}
	for i, n := range got {
		if g := aws.ToString(n.PhoneNumber) + " " + string(n.Status); g != want[i] {
			t.Fatalf("number %d = %s, want %s", i, g, want[i])
		}
	}
	for _, bad := range []int32{0, 101} {
		_, err := c.ListSMSSandboxPhoneNumbers(ctx(t), &sns.ListSMSSandboxPhoneNumbersInput{MaxResults: aws.Int32(bad)})
		wantCode(t, err, "InvalidParameter")
	}

	if _, err := c.DeleteSMSSandboxPhoneNumber(ctx(t), &sns.DeleteSMSSandboxPhoneNumberInput{PhoneNumber: aws.String(number)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteSMSSandboxPhoneNumber(ctx(t), &sns.DeleteSMSSandboxPhoneNumberInput{PhoneNumber: aws.String(number)})
	wantCode(t, err, "ResourceNotFound")
	if out := list(c, &sns.ListSMSSandboxPhoneNumbersInput{}); len(out.PhoneNumbers) != 3 {
		t.Fatalf("after delete: %+v", out.PhoneNumbers)
	}

	// forkline rents no origination numbers; MaxResults is 1 to 30.
	orig, err := c.ListOriginationNumbers(ctx(t), &sns.ListOriginationNumbersInput{MaxResults: aws.Int32(30)})
	if err != nil || len(orig.PhoneNumbers) != 0 || orig.NextToken != nil {
		t.Fatalf("ListOriginationNumbers: %+v, %v", orig, err)
	}
	// Range errors in the request framework's words (as for SNS's other
	// ValidationErrors).
	_, err = c.ListOriginationNumbers(ctx(t), &sns.ListOriginationNumbersInput{MaxResults: aws.Int32(31)})
	wantCode(t, err, "ValidationException")
	if m := errMessage(err); m != "1 validation error detected: Value '31' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 30" {
		t.Fatalf("MaxResults 31: %q", m)
	}
	_, err = c.ListOriginationNumbers(ctx(t), &sns.ListOriginationNumbersInput{MaxResults: aws.Int32(0)})
	if m := errMessage(err); m != "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1" {
		t.Fatalf("MaxResults 0: %q", m)
	}
}
