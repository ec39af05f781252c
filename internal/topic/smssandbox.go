package topic

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"

	"github.com/forkline/forkline/internal/store"
)

// The SMS sandbox's destination numbers (CreateSMSSandboxPhoneNumber and
// the actions after it). forkline sends no SMS, so the one-time password
// a number is verified with is written to the server's log instead of to
// the phone. The account is reported out of the sandbox
// (GetSMSSandboxAccountStatus), so the sandbox's own limits do not apply:
// ten verified numbers, five passwords a day, and no deletion within 24
// hours of a verification (SNS developer guide, "Using the Amazon SNS SMS
// sandbox"); the list is kept and verified as SNS keeps it, for code that
// manages it.

// nsSandbox holds the sandbox's numbers: phone number → sandboxRec.
const nsSandbox = "sns.smssandbox"

// sandboxRec is a destination number of the sandbox.
type sandboxRec struct {
	Status   string `json:"status"` // Pending or Verified
	Password string `json:"password"`
	Language string `json:"language"`
}

// sandboxNumber is the pattern of PhoneNumberString, up to 20 characters
// (SNS API reference, CreateSMSSandboxPhoneNumber).
var sandboxNumber = regexp.MustCompile(`^(\+[0-9]{8,}|[0-9]{0,9})$`)

// otpCode is an OneTimePassword: 5 to 8 digits (SNS API reference,
// VerifySMSSandboxPhoneNumber).
var otpCode = regexp.MustCompile(`^[0-9]{5,8}$`)

// languageCodes are LanguageCodeString's values (SNS API reference,
// CreateSMSSandboxPhoneNumber; "kr-KR" as SNS spells it).
var languageCodes = map[string]bool{
	"en-US": true, "en-GB": true, "es-419": true, "es-ES": true, "de-DE": true, "fr-CA": true, "fr-FR": true,
	"it-IT": true, "ja-JP": true, "pt-BR": true, "kr-KR": true, "zh-CN": true, "zh-TW": true,
}

// ErrVerification is VerifySMSSandboxPhoneNumber's answer to a wrong
// password (an error shape without a code of its own: its name is the
// code, HTTP 400).
var ErrVerification = errors.New("VerificationException")

// SandboxNumber is a destination number as ListSMSSandboxPhoneNumbers
// shows it.
type SandboxNumber struct {
	PhoneNumber string
	Status      string
}

func checkSandboxNumber(number string) error {
	if number == "" || len(number) > 20 || !sandboxNumber.MatchString(number) {
		return invalidPhoneNumber()
	}
	return nil
}

func errSandboxNumberNotFound() error {
	return errorf(ErrResourceNotFound, "The phone number is not a destination phone number in the SMS sandbox of this account")
}

func (s *Service) sandboxRecord(ctx context.Context, number string) (*sandboxRec, error) {
	v, err := s.st.GetRecord(ctx, nsSandbox, number)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rec sandboxRec
	if err := json.Unmarshal(v, &rec); err != nil {
		return nil, fmt.Errorf("%w: sms sandbox number: %v", store.ErrCorrupt, err)
	}
	return &rec, nil
}

// existingSandboxNumber reads a number that must be in the sandbox.
// Requires s.smsMu.
func (s *Service) existingSandboxNumber(ctx context.Context, number string) (*sandboxRec, error) {
	rec, err := s.sandboxRecord(ctx, number)
	if err == nil && rec == nil {
		err = errSandboxNumberNotFound()
	}
	return rec, err
}

// CreateSMSSandboxPhoneNumber adds a destination number, pending until it
// is verified with the one-time password that SNS would text to it and
// forkline logs. Adding a pending number again makes a new password (the
// console's "Resend verification code"); adding a verified one changes
// nothing.
func (s *Service) CreateSMSSandboxPhoneNumber(ctx context.Context, number, language string) error {
	if err := checkSandboxNumber(number); err != nil {
		return err
	}
	if language == "" {
		language = "en-US" // "The default value is en-US"
	}
	if !languageCodes[language] {
		return invalidParam("LanguageCode", language+" is not a supported language code")
	}
	s.smsMu.Lock()
	defer s.smsMu.Unlock()
	rec, err := s.sandboxRecord(ctx, number)
	if err != nil || rec != nil && rec.Status == "Verified" {
		return err
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return err
	}
	rec = &sandboxRec{Status: "Pending", Password: fmt.Sprintf("%06d", n.Int64()), Language: language}
	var b store.Batch
	b.PutRecord(nsSandbox, number, mustJSON(rec))
	if err := s.st.Commit(ctx, &b); err != nil {
		return err
	}
	// At warning level, so that a log kept to warnings still shows it:
	// it is the only way to the password.
	s.log.Warn("sms sandbox: one-time password not sent, forkline delivers no SMS; verify the number with it",
		"phone_number", number, "one_time_password", rec.Password)
	return nil
}

// VerifySMSSandboxPhoneNumber verifies a destination number with its
// one-time password.
func (s *Service) VerifySMSSandboxPhoneNumber(ctx context.Context, number, password string) error {
	if err := checkSandboxNumber(number); err != nil {
		return err
	}
	if !otpCode.MatchString(password) {
		return invalidParam("OneTimePassword", "must be 5 to 8 digits")
	}
	s.smsMu.Lock()
	defer s.smsMu.Unlock()
	rec, err := s.existingSandboxNumber(ctx, number)
	if err != nil {
		return err
	}
	if rec.Status == "Verified" {
		return nil // verified already: its password is spent
	}
	if password != rec.Password {
		e := errorf(ErrVerification, "Invalid one-time password for the phone number").(*Error)
		e.Extra = [][2]string{{"Status", rec.Status}}
		return e
	}
	rec.Status, rec.Password = "Verified", ""
	var b store.Batch
	b.PutRecord(nsSandbox, number, mustJSON(rec))
	return s.st.Commit(ctx, &b)
}

// DeleteSMSSandboxPhoneNumber removes a destination number.
func (s *Service) DeleteSMSSandboxPhoneNumber(ctx context.Context, number string) error {
	if err := checkSandboxNumber(number); err != nil {
		return err
	}
	s.smsMu.Lock()
	defer s.smsMu.Unlock()
	if _, err := s.existingSandboxNumber(ctx, number); err != nil {
		return err
	}
	var b store.Batch
	b.DeleteRecord(nsSandbox, number)
	return s.st.Commit(ctx, &b)
}

// ListSMSSandboxPhoneNumbers lists the destination numbers by number,
// maxResults (1 to 100, default 100) at a time.
func (s *Service) ListSMSSandboxPhoneNumbers(ctx context.Context, token, maxResults string) ([]SandboxNumber, string, error) {
	limit, err := listLimit(maxResults, 100, ErrInvalidParameter)
	if err != nil {
		return nil, "", err
	}
	recs := map[string]sandboxRec{}
	var keys []string
	err = s.st.ScanRecords(ctx, nsSandbox, "", func(k string, v []byte) error {
		var rec sandboxRec
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("%w: sms sandbox number %s: %v", store.ErrCorrupt, k, err)
		}
		recs[k] = rec
		keys = append(keys, k)
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	keys, next, err := pageOf(keys, token, limit)
	if err != nil {
		return nil, "", err
	}
	out := make([]SandboxNumber, len(keys))
	for i, k := range keys {
		out[i] = SandboxNumber{PhoneNumber: k, Status: recs[k].Status}
	}
	return out, next, nil
}

// ListOriginationNumbers lists the account's origination numbers: none in
// forkline, which rents no numbers. maxResults is 1 to 30; any token is
// invalid, since no list has a next page.
func (s *Service) ListOriginationNumbers(ctx context.Context, token, maxResults string) error {
	if _, err := listLimit(maxResults, 30, ErrValidation); err != nil {
		return err
	}
	if token != "" {
		return invalidParam("NextToken", "")
	}
	return nil
}

// listLimit reads a MaxResults of 1 to most (default most); out of range
// is an error of kind, in the framework's words when kind is
// ErrValidation.
func listLimit(v string, most int, kind error) (int, error) {
	if v == "" {
		return most, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || !digits(strings.TrimPrefix(v, "-")) {
		return 0, invalidParam("MaxResults", "must be an integer")
	}
	if n >= 1 && n <= most {
		return n, nil
	}
	if kind == ErrValidation {
		bound := fmt.Sprintf("less than or equal to %d", most)
		if n < 1 {
			bound = "greater than or equal to 1"
		}
		return 0, errorf(kind, "1 validation error detected: Value '%s' at 'maxResults' failed to satisfy constraint: Member must have value %s", v, bound)
	}
	return 0, invalidParam("MaxResults", fmt.Sprintf("must be between 1 and %d", most))
}
