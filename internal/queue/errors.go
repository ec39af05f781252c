package queue

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error the Service returns to a caller wraps one of
// these (use errors.Is), except failures of the store, which wrap the store's
// own errors and are internal. Wire adapters map each sentinel to the
// protocol's error code; the text after the sentinel is the client message.
var (
	ErrQueueDoesNotExist           = errors.New("QueueDoesNotExist")
	ErrQueueNameExists             = errors.New("QueueNameExists")
	ErrQueueDeletedRecently        = errors.New("QueueDeletedRecently")
	ErrInvalidAttributeName        = errors.New("InvalidAttributeName")
	ErrInvalidAttributeValue       = errors.New("InvalidAttributeValue")
	ErrInvalidParameterValue       = errors.New("InvalidParameterValue")
	ErrMissingParameter            = errors.New("MissingParameter")
	ErrInvalidMessageContents      = errors.New("InvalidMessageContents")
	ErrReceiptHandleIsInvalid      = errors.New("ReceiptHandleIsInvalid")
	ErrMessageNotInflight          = errors.New("MessageNotInflight")
	ErrPurgeQueueInProgress        = errors.New("PurgeQueueInProgress")
	ErrOverLimit                   = errors.New("OverLimit")
	ErrTooManyEntries              = errors.New("TooManyEntriesInBatchRequest")
	ErrEmptyBatch                  = errors.New("EmptyBatchRequest")
	ErrBatchEntryIdsNotDistinct    = errors.New("BatchEntryIdsNotDistinct")
	ErrInvalidBatchEntryID         = errors.New("InvalidBatchEntryId")
	ErrBatchRequestTooLong         = errors.New("BatchRequestTooLong")
	ErrResourceNotFound            = errors.New("ResourceNotFoundException")
	ErrUnsupportedOperation        = errors.New("UnsupportedOperation")
	ErrInvalidParameterCombination = errors.New("InvalidParameterCombination")
)

// Error is a client error: a sentinel kind and the message for the client.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Message }

// Unwrap returns the sentinel kind.
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

func errNoQueue() error {
	return errorf(ErrQueueDoesNotExist, "The specified queue does not exist.")
}

func invalidValue(param string, value any, reason string) error {
	return errorf(ErrInvalidParameterValue, "Value %v for parameter %s is invalid. Reason: %s", value, param, reason)
}

// invalidParam is SQS's refusal of a value it cannot read at all, which
// it does not echo.
func invalidParam(param, reason string) error {
	return errorf(ErrInvalidParameterValue, "Invalid value for the parameter %s. Reason: %s", param, reason)
}

func missing(param string) error {
	return errorf(ErrMissingParameter, "The request must contain the parameter %s.", param)
}
