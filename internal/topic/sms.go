package topic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"

	"github.com/forkline/forkline/internal/store"
)

// The account's SMS settings (SetSMSAttributes). forkline sends no SMS:
// the settings are kept and reported as SNS keeps them, and no number is
// ever opted out, since opting out is a recipient's reply to a message.

// nsSMS holds the account's SMS records: smsAttributesKey, the attributes
// as a JSON object.
const (
	nsSMS            = "sns.sms"
	smsAttributesKey = "attributes"
)

// smsAttributeNames are the attributes SetSMSAttributes takes (SNS API
// reference, SetSMSAttributes).
var smsAttributeNames = map[string]bool{
	"MonthlySpendLimit": true, "DeliveryStatusIAMRole": true, "DeliveryStatusSuccessSamplingRate": true,
	"DefaultSenderID": true, "DefaultSMSType": true, "UsageReportS3Bucket": true,
}

// e164 is a phone number in E.164 format, as the SMS account actions take
// it: up to 15 digits, the first not 0, after an optional "+" (the format
// moto and LocalStack check; no AWS answer to a bad number is recorded).
var e164 = regexp.MustCompile(`^\+?[1-9][0-9]{1,14}$`)

// senderID is a DefaultSenderID: "1-11 alphanumeric characters, with at
// least one letter and no spaces" (SNS API reference, SetSMSAttributes).
var senderIDRE = regexp.MustCompile(`^[A-Za-z0-9]{1,11}$`)

func invalidPhoneNumber() error {
	return errorf(ErrInvalidParameter, "Invalid parameter: PhoneNumber Reason: input incorrectly formatted")
}

// checkSMSAttribute checks one attribute against the limits the SNS API
// reference documents for it; an empty value removes the attribute.
func checkSMSAttribute(name, value string) error {
	bad := func(reason string) error {
		return errorf(ErrInvalidParameter, "Invalid parameter: %s Reason: %s", name, reason)
	}
	if name == "" {
		return errorf(ErrInvalidParameter, "Invalid parameter: attributes Reason: an attribute name is empty")
	}
	if !smsAttributeNames[name] {
		return errorf(ErrInvalidParameter, "Invalid parameter: %s Reason: %s is not a valid attribute", name, name)
	}
	if value == "" {
		return nil
	}
	switch name {
	case "MonthlySpendLimit":
		if !digits(value) {
			return bad("must be a whole number of US dollars")
		}
	case "DeliveryStatusSuccessSamplingRate":
		if n, err := strconv.Atoi(value); err != nil || !digits(value) || n > 100 {
			return bad("must be an integer from 0 to 100")
		}
	case "DefaultSenderID":
		letter := false
		for _, r := range value {
			letter = letter || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z'
		}
		if !senderIDRE.MatchString(value) || !letter {
			return bad("must be 1 to 11 alphanumeric characters with at least one letter")
		}
	case "DefaultSMSType":
		if value != "Promotional" && value != "Transactional" {
			return bad("must be Promotional or Transactional")
		}
	}
	return nil
}

// smsAttributes reads the stored attributes.
func (s *Service) smsAttributes(ctx context.Context) (map[string]string, error) {
	v, err := s.st.GetRecord(ctx, nsSMS, smsAttributesKey)
	if errors.Is(err, store.ErrNotFound) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	if err := json.Unmarshal(v, &m); err != nil {
		return nil, fmt.Errorf("%w: sms attributes: %v", store.ErrCorrupt, err)
	}
	return m, nil
}

// SetSMSAttributes sets the account's default SMS settings; attributes
// not named keep their values, and one given empty is removed.
func (s *Service) SetSMSAttributes(ctx context.Context, attrs map[string]string) error {
	if len(attrs) == 0 {
		return errorf(ErrInvalidParameter, "Invalid parameter: attributes Reason: no value for required parameter")
	}
	// The first invalid one by name, whatever the request's order.
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		if err := checkSMSAttribute(k, attrs[k]); err != nil {
			return err
		}
	}
	s.smsMu.Lock()
	defer s.smsMu.Unlock()
	cur, err := s.smsAttributes(ctx)
	if err != nil {
		return err
	}
	for k, v := range attrs {
		if v == "" {
			delete(cur, k)
		} else {
			cur[k] = v
		}
	}
	var b store.Batch
	b.PutRecord(nsSMS, smsAttributesKey, mustJSON(cur))
	return s.st.Commit(ctx, &b)
}

// GetSMSAttributes returns the account's SMS settings that are set: those
// named, or all of them when names is empty ("If you don't use this
// parameter, Amazon SNS returns all SMS attributes", SNS API reference).
func (s *Service) GetSMSAttributes(ctx context.Context, names []string) (map[string]string, error) {
	cur, err := s.smsAttributes(ctx)
	if err != nil || len(names) == 0 {
		return cur, err
	}
	out := map[string]string{}
	for _, n := range names {
		if v, ok := cur[n]; ok {
			out[n] = v
		}
	}
	return out, nil
}

// CheckIfPhoneNumberIsOptedOut reports whether a number has opted out of
// SMS from the account: never, in forkline (no recipient can reply STOP).
func (s *Service) CheckIfPhoneNumberIsOptedOut(ctx context.Context, number string) (bool, error) {
	if !e164.MatchString(number) {
		return false, invalidPhoneNumber()
	}
	return false, nil
}

// OptInPhoneNumber opts a number back in; in forkline none is ever out.
func (s *Service) OptInPhoneNumber(ctx context.Context, number string) error {
	if !e164.MatchString(number) {
		return invalidPhoneNumber()
	}
	return nil
}

// digits reports whether s is a run of 1 to 18 decimal digits (no sign).
func digits(s string) bool {
	if s == "" || len(s) > 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
