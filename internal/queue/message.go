package queue

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/big"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/forkline/forkline/internal/store"
)

// Limits on messages, from the SQS Developer Guide
// (sqs-message-attributes.html and quotas-messages.html).
const (
	MaxMessageAttributes = 10
	maxAttrNameLen       = 256
	maxDataTypeLen       = 256
	maxGroupIDLen        = 128
	maxBatchEntries      = 10
	maxBatchIDLen        = 80
	// MaxMessageSizeLimit is the largest MaximumMessageSize a queue may
	// have: 1 MiB since August 2025 (quotas-messages.html).
	MaxMessageSizeLimit = 1 << 20
)

// MD5OfBody returns the hex MD5 of a message body, as SQS reports it.
func MD5OfBody(body string) string {
	sum := md5.Sum([]byte(body))
	return hex.EncodeToString(sum[:])
}

// MD5OfAttributes returns the hex MD5 of message attributes as SQS computes
// it (SQS Developer Guide, "Calculating the MD5 message digest for message
// attributes"): attributes sorted by name; for each, the name, the data type
// and the value, each preceded by its 4-byte big-endian length, with a
// transport byte (1 for String and Number, 2 for Binary) before the value.
// It returns "" when there are no attributes.
func MD5OfAttributes(attrs []store.MessageAttribute) string {
	if len(attrs) == 0 {
		return ""
	}
	sorted := make([]store.MessageAttribute, len(attrs))
	copy(sorted, attrs)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	h := md5.New()
	var lenBuf [4]byte
	put := func(p []byte) {
		binary.BigEndian.PutUint32(lenBuf[:], uint32(len(p)))
		h.Write(lenBuf[:])
		h.Write(p)
	}
	for _, a := range sorted {
		put([]byte(a.Name))
		put([]byte(a.DataType))
		if isBinaryType(a.DataType) {
			h.Write([]byte{2})
			put(a.BinaryValue)
		} else {
			h.Write([]byte{1})
			put([]byte(a.StringValue))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func baseType(dataType string) string {
	if i := strings.IndexByte(dataType, '.'); i >= 0 {
		return dataType[:i]
	}
	return dataType
}

func isBinaryType(dataType string) bool { return baseType(dataType) == "Binary" }

// validBodyChar reports whether r may appear in a message body or a string
// attribute value: #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD |
// #x10000 to #x10FFFF (SendMessage API reference).
func validBodyChar(r rune) bool {
	switch {
	case r == 0x9 || r == 0xA || r == 0xD:
		return true
	case r >= 0x20 && r <= 0xD7FF:
		return true
	case r >= 0xE000 && r <= 0xFFFD:
		return true
	case r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}

// ValidBody reports whether s holds only the characters SQS allows in a
// message body.
func ValidBody(s string) bool { return checkChars(s) == nil }

func checkChars(s string) error {
	// ASCII eight bytes at a time, a word with a byte outside 0x20 to
	// 0x7F byte by byte; the rest rune by rune from the first byte beyond
	// ASCII.
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		// With every byte from 0x20 to 0x7F, no subtraction borrows and
		// no high bit is set; any other byte sets one.
		if (w|(w-0x2020202020202020))&0x8080808080808080 == 0 {
			continue
		}
		for j := i; j < i+8; j++ {
			if s[j] >= 0x80 {
				return checkRunes(s[j:])
			}
			if err := checkASCII(s[j]); err != nil {
				return err
			}
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= 0x80 {
			return checkRunes(s[i:])
		}
		if err := checkASCII(s[i]); err != nil {
			return err
		}
	}
	return nil
}

// checkASCII checks one byte below 0x80.
func checkASCII(c byte) error {
	if c < 0x20 && c != 0x9 && c != 0xA && c != 0xD {
		return errorf(ErrInvalidMessageContents, "Invalid binary character '#x%X' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF", c)
	}
	return nil
}

func checkRunes(s string) error {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				return errorf(ErrInvalidMessageContents, "Invalid binary character was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF")
			}
		}
		if !validBodyChar(r) {
			return errorf(ErrInvalidMessageContents, "Invalid binary character '#x%X' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF", r)
		}
	}
	return nil
}

func validAttrNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

// validateAttributes checks user message attributes and returns their size
// in bytes as SQS counts it toward the message size (name, type, value).
func validateAttributes(attrs []store.MessageAttribute, param string) (int, error) {
	if len(attrs) > MaxMessageAttributes {
		return 0, errorf(ErrInvalidParameterValue, "Number of message attributes [%d] exceeds the allowed maximum [%d].", len(attrs), MaxMessageAttributes)
	}
	seen := make(map[string]bool, len(attrs))
	size := 0
	for _, a := range attrs {
		if a.Name == "" {
			return 0, errorf(ErrInvalidParameterValue, "The request must contain non-empty message attribute names.")
		}
		if len(a.Name) > maxAttrNameLen {
			return 0, errorf(ErrInvalidParameterValue, "Message (user) attribute name must be shorter than %d bytes.", maxAttrNameLen+1)
		}
		for i := 0; i < len(a.Name); i++ {
			if !validAttrNameChar(a.Name[i]) {
				return 0, errorf(ErrInvalidParameterValue, "Message (user) attribute '%s' must contain a non-empty message attribute name. Allowed characters are alphanumeric, hyphen, underscore and period.", a.Name)
			}
		}
		lower := strings.ToLower(a.Name)
		if strings.HasPrefix(lower, "aws.") || strings.HasPrefix(lower, "amazon.") {
			return 0, errorf(ErrInvalidParameterValue, "Message (user) attribute name '%s' cannot start with a reserved prefix (AWS. or Amazon.).", a.Name)
		}
		if strings.HasPrefix(a.Name, ".") || strings.HasSuffix(a.Name, ".") || strings.Contains(a.Name, "..") {
			return 0, errorf(ErrInvalidParameterValue, "Message (user) attribute name '%s' can not start or end with a period (.), or have multiple periods in succession (..).", a.Name)
		}
		if seen[a.Name] {
			return 0, errorf(ErrInvalidParameterValue, "Message (user) attribute name '%s' already exists.", a.Name)
		}
		seen[a.Name] = true
		if a.DataType == "" {
			return 0, errorf(ErrInvalidParameterValue, "The message attribute '%s' must contain non-empty message attribute type.", a.Name)
		}
		if len(a.DataType) > maxDataTypeLen {
			return 0, errorf(ErrInvalidParameterValue, "Message (user) attribute '%s' type must be shorter than %d bytes.", a.Name, maxDataTypeLen+1)
		}
		// "The custom-type label has the same restrictions as the message
		// body" (SQS developer guide, "Amazon SQS message attributes").
		if checkChars(a.DataType) != nil {
			return 0, errorf(ErrInvalidParameterValue, "Message (user) attribute '%s' type contains a character that is not allowed.", a.Name)
		}
		switch baseType(a.DataType) {
		case "String":
			if a.StringValue == "" {
				return 0, errorf(ErrInvalidParameterValue, "Message (user) attribute '%s' must contain a non-empty value of type 'String'.", a.Name)
			}
			// A value with characters outside the body's set is an
			// invalid parameter, not invalid message contents (real SQS,
			// recorded in LocalStack's AWS-validated
			// test_invalid_string_attributes_cause_invalid_parameter_value_error).
			if checkChars(a.StringValue) != nil {
				return 0, errorf(ErrInvalidParameterValue, "Message (user) attribute '%s' value contains a character that is not allowed.", a.Name)
			}
			if len(a.BinaryValue) > 0 {
				return 0, errorf(ErrInvalidParameterValue, "The message attribute '%s' with type 'String' must use field 'String'.", a.Name)
			}
			size += len(a.StringValue)
		case "Number":
			if a.StringValue == "" {
				return 0, errorf(ErrInvalidParameterValue, "Message (user) attribute '%s' must contain a non-empty value of type 'Number'.", a.Name)
			}
			if !validNumber(a.StringValue) {
				return 0, errorf(ErrInvalidParameterValue, "Can't cast the value of message (user) attribute '%s' to a number.", a.Name)
			}
			size += len(a.StringValue)
		case "Binary":
			if len(a.BinaryValue) == 0 {
				return 0, errorf(ErrInvalidParameterValue, "Message (user) attribute '%s' must contain a non-empty value of type 'Binary'.", a.Name)
			}
			if a.StringValue != "" {
				return 0, errorf(ErrInvalidParameterValue, "The message attribute '%s' with type 'Binary' must use field 'Binary'.", a.Name)
			}
			size += len(a.BinaryValue)
		default:
			return 0, errorf(ErrInvalidParameterValue, "The type of message (user) attribute '%s' is invalid. You must use only the following supported type prefixes: Binary, Number, String.", a.Name)
		}
		size += len(a.Name) + len(a.DataType)
	}
	return size, nil
}

// numberRe is the decimal syntax of Number attributes: no hex, no
// underscores, no spaces.
var numberRe = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// DecimalSyntax reports whether s is written as a Number attribute must
// be: an optional sign, digits with at most one decimal point, and an
// optional exponent (no hex, no underscores, no spaces, no NaN or Inf).
func DecimalSyntax(s string) bool { return numberRe.MatchString(s) }

// Bounds of Number attribute magnitudes (sqs-message-attributes.html).
var numberMax, numberMin = mustFloat("1e126"), mustFloat("1e-128")

func mustFloat(s string) *big.Float {
	f, ok := new(big.Float).SetString(s)
	if !ok {
		panic("bad float constant " + s)
	}
	return f
}

// validNumber reports whether s is a number SQS accepts: up to 38 digits of
// precision, magnitude between 10^-128 and 10^+126 (or zero).
func validNumber(s string) bool {
	// A plain decimal (sign, digits, at most one point, no exponent), the
	// common case, is valid when it has at most 38 significant digits and
	// at most 100 digits in all: its magnitude then lies between 10^-100
	// and 10^100, inside the bounds.
	i, digits, point := 0, 0, false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
			continue
		case c == '.' && !point:
			point = true
			continue
		}
		break
	}
	if i == len(s) && digits > 0 && digits <= 100 {
		return significantDigits(s) <= 38
	}
	return validNumberFull(s)
}

// significantDigits counts the digits of a number's mantissa from its first
// one that is not zero: "A number can have up to 38 digits of precision"
// (SQS developer guide, "Amazon SQS message attributes").
func significantDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 'e' || c == 'E' {
			break
		}
		if c >= '1' && c <= '9' || c == '0' && n > 0 {
			n++
		}
	}
	return n
}

// validNumberFull is validNumber for any syntax, exponents included.
func validNumberFull(s string) bool {
	if !numberRe.MatchString(s) {
		return false
	}
	f, ok := new(big.Float).SetString(s)
	if !ok || f.IsInf() {
		return false
	}
	if significantDigits(s) > 38 {
		return false
	}
	abs := new(big.Float).Abs(f)
	if abs.Sign() == 0 {
		return true
	}
	return abs.Cmp(numberMax) <= 0 && abs.Cmp(numberMin) >= 0
}

// validGroupIDChars reports whether s uses only the characters allowed in a
// MessageGroupId, MessageDeduplicationId or ReceiveRequestAttemptId:
// alphanumerics and punctuation (!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~).
func validGroupIDChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

func checkToken(param, v string) error {
	if len(v) > maxGroupIDLen {
		return invalidValue(param, v, fmt.Sprintf("%s can only include alphanumeric and punctuation characters. 1 to %d in length.", param, maxGroupIDLen))
	}
	if !validGroupIDChars(v) {
		return invalidValue(param, v, fmt.Sprintf("%s can only include alphanumeric and punctuation characters. 1 to %d in length.", param, maxGroupIDLen))
	}
	return nil
}

// validBatchID reports whether id is a valid batch entry Id.
func validBatchID(id string) bool {
	if id == "" || len(id) > maxBatchIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// CheckBatchIDs validates the Ids of a batch request: 1 to 10 entries,
// distinct, each 1 to 80 alphanumerics, hyphens or underscores. entryName
// names the entry type in messages (e.g. SendMessageBatchRequestEntry).
func CheckBatchIDs(entryName string, ids []string) error { return checkBatchIDs(entryName, ids) }

// checkBatchIDs validates the Ids of a batch request.
func checkBatchIDs(entryName string, ids []string) error {
	if len(ids) == 0 {
		return errorf(ErrEmptyBatch, "There should be at least one %s in the request.", entryName)
	}
	if len(ids) > maxBatchEntries {
		return errorf(ErrTooManyEntries, "Maximum number of entries per request are %d. You have sent %d.", maxBatchEntries, len(ids))
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if !validBatchID(id) {
			return errorf(ErrInvalidBatchEntryID, "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most %d letters long.", maxBatchIDLen)
		}
		if seen[id] {
			return errorf(ErrBatchEntryIdsNotDistinct, "Id %s repeated.", id)
		}
		seen[id] = true
	}
	return nil
}
