package topic

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every client error the Service returns wraps one of
// these; the sentinel's text is SNS's error code, and the wire adapter
// writes the *Error's message after it. Failures of the store wrap the
// store's errors and are internal.
var (
	ErrNotFound                 = errors.New("NotFound")
	ErrInvalidParameter         = errors.New("InvalidParameter")
	ErrInvalidParameterValue    = errors.New("InvalidParameterValue")
	ErrAuthorization            = errors.New("AuthorizationError")
	ErrTooManyEntries           = errors.New("TooManyEntriesInBatchRequest")
	ErrEmptyBatch               = errors.New("EmptyBatchRequest")
	ErrBatchEntryIdsNotDistinct = errors.New("BatchEntryIdsNotDistinct")
	ErrInvalidBatchEntryID      = errors.New("InvalidBatchEntryId")
	ErrBatchRequestTooLong      = errors.New("BatchRequestTooLong")
	ErrTagLimitExceeded         = errors.New("TagLimitExceeded")
	ErrResourceNotFound         = errors.New("ResourceNotFound")
	ErrTopicLimitExceeded       = errors.New("TopicLimitExceeded")
	ErrSubscriptionLimit        = errors.New("SubscriptionLimitExceeded")
	ErrFilterPolicyLimit        = errors.New("FilterPolicyLimitExceeded")
	ErrValidation               = errors.New("ValidationException")
	ErrInvalidState             = errors.New("InvalidState")
)

// Error is a client error: a sentinel kind and SNS's message.
type Error struct {
	Kind    error
	Message string
	// Extra are members of the error's shape after Message, in order
	// (VerificationException's Status): constant names, never Code or
	// Message. Only the query protocol's error document writes them.
	Extra [][2]string
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Message }

// Unwrap returns the sentinel kind.
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// invalidParam is SNS's most common error: "Invalid parameter: NAME" with
// an optional " Reason: ...".
func invalidParam(name, reason string) error {
	if reason == "" {
		return errorf(ErrInvalidParameter, "Invalid parameter: %s", name)
	}
	return errorf(ErrInvalidParameter, "Invalid parameter: %s Reason: %s", name, reason)
}

func errTopicNotFound() error { return errorf(ErrNotFound, "Topic does not exist") }

func errSubNotFound() error { return errorf(ErrNotFound, "Subscription does not exist") }
