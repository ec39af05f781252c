// Package awserr is forkline's catalogue of AWS error codes: for each code,
// the HTTP status, whether the sender or the receiver is at fault, and the
// names it takes in each protocol. It is data only; the wire packages write
// the errors in their protocol's shape.
package awserr

import "net/http"

// Entry describes one AWS error code.
type Entry struct {
	// Code is the error's name as the JSON protocol's __type reports it
	// (without namespace) and as the catalogue is keyed.
	Code string
	// QueryCode is the code the query protocol reports (and SQS's
	// x-amzn-query-error header); Code when empty.
	QueryCode string
	// Status is the HTTP status.
	Status int
	// Sender is true for client faults, false for server faults.
	Sender bool
}

// Query returns the query-protocol code.
func (e Entry) Query() string {
	if e.QueryCode != "" {
		return e.QueryCode
	}
	return e.Code
}

// Fault returns "Sender" or "Receiver".
func (e Entry) Fault() string {
	if e.Sender {
		return "Sender"
	}
	return "Receiver"
}

// Error is a client-facing AWS error: a catalogue entry and a message.
type Error struct {
	Entry
	Message string
	// Extra are members of the error's shape after Message, in order,
	// for the shapes that have more (SNS's VerificationException: Status).
	// The names are constants, written unescaped, never Code or Message;
	// the query protocol's error document writes them, the JSON
	// protocols' do not.
	Extra [][2]string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// New returns an Error for the catalogue entry of code.
func New(code, message string) *Error {
	return &Error{Entry: Lookup(code), Message: message}
}

// Lookup returns the catalogue entry of code; unknown codes are internal
// failures.
func Lookup(code string) Entry {
	if e, ok := catalogue[code]; ok {
		return e
	}
	return catalogue[InternalFailure]
}

// Common codes (AWS API references, "Common Errors").
const (
	InternalFailure             = "InternalFailure"
	ServiceUnavailable          = "ServiceUnavailable"
	MissingParameter            = "MissingParameter"
	InvalidParameterValue       = "InvalidParameterValue"
	InvalidParameterCombination = "InvalidParameterCombination"
	InvalidAction               = "InvalidAction"
	MissingAction               = "MissingAction"
	InvalidQueryParameter       = "InvalidQueryParameter"
	MalformedQueryString        = "MalformedQueryString"
	AccessDenied                = "AccessDenied"
	InvalidClientTokenID        = "InvalidClientTokenId"
	SignatureDoesNotMatch       = "SignatureDoesNotMatch"
	IncompleteSignature         = "IncompleteSignature"
	MissingAuthenticationToken  = "MissingAuthenticationToken"
	RequestExpired              = "RequestExpired"
	UnknownOperation            = "UnknownOperationException"
	SerializationException      = "SerializationException"
	UnrecognizedClient          = "UnrecognizedClientException"
)

var catalogue = map[string]Entry{}

// services holds the codes whose shape differs between services (SNS's
// TooManyEntriesInBatchRequest is not SQS's), by service name.
var services = map[string]map[string]Entry{"sns": {}}

// InService returns the catalogue entry of code as service reports it.
func InService(service, code string) Entry {
	if e, ok := services[service][code]; ok {
		return e
	}
	return Lookup(code)
}

func addIn(service, code string, status int, sender bool) {
	services[service][code] = Entry{Code: code, Status: status, Sender: sender}
}

func add(code, query string, status int, sender bool) {
	catalogue[code] = Entry{Code: code, QueryCode: query, Status: status, Sender: sender}
}

func init() {
	// Common errors.
	add(InternalFailure, "", http.StatusInternalServerError, false)
	add(ServiceUnavailable, "", http.StatusServiceUnavailable, false)
	add(MissingParameter, "", http.StatusBadRequest, true)
	add(InvalidParameterValue, "", http.StatusBadRequest, true)
	add(InvalidParameterCombination, "", http.StatusBadRequest, true)
	add(InvalidAction, "", http.StatusBadRequest, true)
	add(MissingAction, "", http.StatusBadRequest, true)
	add(InvalidQueryParameter, "", http.StatusBadRequest, true)
	add(MalformedQueryString, "", http.StatusNotFound, true)
	add(AccessDenied, "", http.StatusForbidden, true)
	add(InvalidClientTokenID, "", http.StatusForbidden, true)
	add(SignatureDoesNotMatch, "", http.StatusForbidden, true)
	add(IncompleteSignature, "", http.StatusBadRequest, true)
	add(MissingAuthenticationToken, "", http.StatusForbidden, true)
	add(RequestExpired, "", http.StatusBadRequest, true)
	add(UnknownOperation, "", http.StatusBadRequest, true)
	add(SerializationException, "", http.StatusBadRequest, true)
	add(UnrecognizedClient, "", http.StatusForbidden, true)

	// SQS (aws-sdk-go-v2 service/sqs schemas: awsQueryError traits).
	add("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", http.StatusBadRequest, true)
	add("QueueNameExists", "QueueAlreadyExists", http.StatusBadRequest, true)
	add("QueueDeletedRecently", "AWS.SimpleQueueService.QueueDeletedRecently", http.StatusBadRequest, true)
	add("PurgeQueueInProgress", "AWS.SimpleQueueService.PurgeQueueInProgress", http.StatusForbidden, true)
	add("OverLimit", "OverLimit", http.StatusForbidden, true)
	add("RequestThrottled", "RequestThrottled", http.StatusForbidden, true)
	add("InvalidSecurity", "InvalidSecurity", http.StatusForbidden, true)
	add("InvalidAddress", "InvalidAddress", http.StatusNotFound, true)
	add("ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", http.StatusNotFound, true)
	add("ResourceNotFoundException", "ResourceNotFoundException", http.StatusNotFound, true)
	add("UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", http.StatusBadRequest, true)
	add("MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight", http.StatusBadRequest, true)
	add("BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", http.StatusBadRequest, true)
	add("BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong", http.StatusBadRequest, true)
	add("EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", http.StatusBadRequest, true)
	add("InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId", http.StatusBadRequest, true)
	add("TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", http.StatusBadRequest, true)
	add("InvalidAttributeName", "", http.StatusBadRequest, true)
	add("InvalidAttributeValue", "", http.StatusBadRequest, true)
	add("InvalidMessageContents", "", http.StatusBadRequest, true)
	add("InvalidIdFormat", "", http.StatusBadRequest, true)

	// SNS (botocore sns/2010-03-31 model: error shapes and their HTTP
	// status codes).
	for code, status := range map[string]int{
		"InvalidParameter": 400, "ParameterValueInvalid": 400, "NotFound": 404, "ResourceNotFound": 404,
		"AuthorizationError": 403, "InvalidSecurity": 403, "SubscriptionLimitExceeded": 403,
		"FilterPolicyLimitExceeded": 403, "TopicLimitExceeded": 403, "TagLimitExceeded": 400, "StaleTag": 400,
		"TagPolicy": 400, "ConcurrentAccess": 400, "ValidationException": 400, "ValidationError": 400,
		"TooManyEntriesInBatchRequest": 400, "BatchEntryIdsNotDistinct": 400, "BatchRequestTooLong": 400,
		"EmptyBatchRequest": 400, "InvalidBatchEntryId": 400, "Throttled": 429, "InvalidAction": 400,
		"MissingParameter": 400, "MissingAction": 400, "InvalidState": 400, "ReplayLimitExceeded": 403,
		"EndpointDisabled": 400, "PlatformApplicationDisabled": 400, "OptedOut": 400, "UserError": 400,
		"VerificationException": 400,
	} {
		addIn("sns", code, status, true)
	}
	addIn("sns", "InternalError", http.StatusInternalServerError, false)
}
