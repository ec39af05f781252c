package sqsapi

import (
	"encoding/base64"
	"slices"

	"github.com/forkline/forkline/internal/wire/jsonread"
	"github.com/forkline/forkline/internal/wire/jsontext"
)

// The shapes of the hot actions (sends, receives, deletes, visibility
// changes) decode and encode themselves without reflection. Decoding
// gives up on anything unusual and awsjson.Decode then uses
// encoding/json; FuzzFastDecode and FuzzFastEncode hold both directions
// to encoding/json's values and bytes.

func (v *msgAttrValue) decodeJSON(r *jsonread.Reader) {
	if r.Null() {
		return
	}
	var seen uint
	r.Object(func(k []byte) {
		switch {
		case r.FieldExact(k, "StringValue", 0, &seen):
			r.StringPtr(&v.StringValue)
		case r.FieldExact(k, "BinaryValue", 1, &seen):
			v.BinaryValue = r.Bytes()
		case r.FieldExact(k, "StringListValues", 2, &seen):
			r.Strings(&v.StringListValues)
		case r.FieldExact(k, "BinaryListValues", 3, &seen):
			if r.Null() {
				v.BinaryListValues = nil
				return
			}
			out := [][]byte{}
			r.Array(func() { out = append(out, r.Bytes()) })
			v.BinaryListValues = out
		case r.FieldExact(k, "DataType", 4, &seen):
			r.StringInto(&v.DataType)
		default:
			r.Skip()
		}
	})
}

func decodeAttrMap(r *jsonread.Reader, p *map[string]msgAttrValue) {
	if r.Null() {
		*p = nil
		return
	}
	m := *p
	if m == nil {
		m = map[string]msgAttrValue{}
	}
	r.MapObject(func(k []byte) {
		key := string(k)
		if _, dup := m[key]; dup {
			r.Fail()
			return
		}
		var v msgAttrValue
		v.decodeJSON(r)
		m[key] = v
	})
	*p = m
}

// sendFields points at the message fields that a send and a batch entry
// share.
type sendFields struct {
	body, dedup, group **string
	delay              **int
	attrs, sys         *map[string]msgAttrValue
}

// decode reads the value of key k when k names one of the fields (bits 1
// to 6 of seen), and reports whether it did.
func (f sendFields) decode(r *jsonread.Reader, k []byte, seen *uint) bool {
	switch {
	case r.FieldExact(k, "MessageBody", 1, seen):
		r.StringPtr(f.body)
	case r.FieldExact(k, "DelaySeconds", 2, seen):
		r.IntPtr(f.delay)
	case r.FieldExact(k, "MessageAttributes", 3, seen):
		decodeAttrMap(r, f.attrs)
	case r.FieldExact(k, "MessageSystemAttributes", 4, seen):
		decodeAttrMap(r, f.sys)
	case r.FieldExact(k, "MessageDeduplicationId", 5, seen):
		r.StringPtr(f.dedup)
	case r.FieldExact(k, "MessageGroupId", 6, seen):
		r.StringPtr(f.group)
	default:
		return false
	}
	return true
}

// DecodeJSON implements awsjson.FastDecoder.
func (in *sendMessageInput) DecodeJSON(r *jsonread.Reader) {
	var seen uint
	f := sendFields{&in.MessageBody, &in.MessageDeduplicationId, &in.MessageGroupId, &in.DelaySeconds, &in.MessageAttributes, &in.MessageSystemAttributes}
	r.Object(func(k []byte) {
		switch {
		case r.FieldExact(k, "QueueUrl", 0, &seen):
			r.StringInto(&in.QueueUrl)
		case f.decode(r, k, &seen):
		default:
			r.Skip()
		}
	})
}

func (e *sendBatchEntry) decodeJSON(r *jsonread.Reader) {
	if r.Null() {
		return
	}
	var seen uint
	f := sendFields{&e.MessageBody, &e.MessageDeduplicationId, &e.MessageGroupId, &e.DelaySeconds, &e.MessageAttributes, &e.MessageSystemAttributes}
	r.Object(func(k []byte) {
		switch {
		case r.FieldExact(k, "Id", 0, &seen):
			r.StringInto(&e.Id)
		case f.decode(r, k, &seen):
		default:
			r.Skip()
		}
	})
}

// DecodeJSON implements awsjson.FastDecoder.
func (in *sendMessageBatchInput) DecodeJSON(r *jsonread.Reader) {
	var seen uint
	r.Object(func(k []byte) {
		switch {
		case r.FieldExact(k, "QueueUrl", 0, &seen):
			r.StringInto(&in.QueueUrl)
		case r.FieldExact(k, "Entries", 1, &seen):
			if r.Null() {
				in.Entries = nil
				return
			}
			es := make([]sendBatchEntry, 0, 10)
			r.Array(func() {
				es = append(es, sendBatchEntry{})
				es[len(es)-1].decodeJSON(r)
			})
			in.Entries = es
		default:
			r.Skip()
		}
	})
}

// DecodeJSON implements awsjson.FastDecoder.
func (in *receiveMessageInput) DecodeJSON(r *jsonread.Reader) {
	var seen uint
	r.Object(func(k []byte) {
		switch {
		case r.FieldExact(k, "QueueUrl", 0, &seen):
			r.StringInto(&in.QueueUrl)
		case r.FieldExact(k, "AttributeNames", 1, &seen):
			r.Strings(&in.AttributeNames)
		case r.FieldExact(k, "MessageSystemAttributeNames", 2, &seen):
			r.Strings(&in.MessageSystemAttributeNames)
		case r.FieldExact(k, "MessageAttributeNames", 3, &seen):
			r.Strings(&in.MessageAttributeNames)
		case r.FieldExact(k, "MaxNumberOfMessages", 4, &seen):
			r.IntPtr(&in.MaxNumberOfMessages)
		case r.FieldExact(k, "VisibilityTimeout", 5, &seen):
			r.IntPtr(&in.VisibilityTimeout)
		case r.FieldExact(k, "WaitTimeSeconds", 6, &seen):
			r.IntPtr(&in.WaitTimeSeconds)
		case r.FieldExact(k, "ReceiveRequestAttemptId", 7, &seen):
			r.StringInto(&in.ReceiveRequestAttemptId)
		default:
			r.Skip()
		}
	})
}

// DecodeJSON implements awsjson.FastDecoder.
func (in *receiptInput) DecodeJSON(r *jsonread.Reader) {
	var seen uint
	r.Object(func(k []byte) {
		switch {
		case r.FieldExact(k, "QueueUrl", 0, &seen):
			r.StringInto(&in.QueueUrl)
		case r.FieldExact(k, "ReceiptHandle", 1, &seen):
			r.StringInto(&in.ReceiptHandle)
		case r.FieldExact(k, "VisibilityTimeout", 2, &seen):
			r.IntPtr(&in.VisibilityTimeout)
		default:
			r.Skip()
		}
	})
}

// DecodeJSON implements awsjson.FastDecoder.
func (in *batchInput) DecodeJSON(r *jsonread.Reader) {
	var seen uint
	r.Object(func(k []byte) {
		switch {
		case r.FieldExact(k, "QueueUrl", 0, &seen):
			r.StringInto(&in.QueueUrl)
		case r.FieldExact(k, "Entries", 1, &seen):
			if r.Null() {
				in.Entries = nil
				return
			}
			es := make([]batchEntry, 0, 10)
			r.Array(func() {
				es = append(es, batchEntry{})
				e := &es[len(es)-1]
				if r.Null() {
					return
				}
				var seen uint
				r.Object(func(k []byte) {
					switch {
					case r.FieldExact(k, "Id", 0, &seen):
						r.StringInto(&e.Id)
					case r.FieldExact(k, "ReceiptHandle", 1, &seen):
						r.StringInto(&e.ReceiptHandle)
					case r.FieldExact(k, "VisibilityTimeout", 2, &seen):
						r.IntPtr(&e.VisibilityTimeout)
					default:
						r.Skip()
					}
				})
			})
			in.Entries = es
		default:
			r.Skip()
		}
	})
}

// ---------------------------------------------------------------- encoding

// The encoders write what encoding/json writes with HTML escaping off:
// fields in declaration order, omitempty honoured, map keys sorted, []byte
// as padded base64, nil slices as null.

func appendField(b []byte, first *bool, name string) []byte {
	if !*first {
		b = append(b, ',')
	}
	*first = false
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

func appendBase64(b []byte, v []byte) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, v)
	return append(b, '"')
}

func appendStrings(b []byte, vs []string) []byte {
	if vs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsontext.AppendString(b, s)
	}
	return append(b, ']')
}

func (o *sendMessageOutput) appendFields(b []byte, first *bool) []byte {
	for _, f := range [...]struct{ name, v string }{
		{"MD5OfMessageBody", o.MD5OfMessageBody},
		{"MD5OfMessageAttributes", o.MD5OfMessageAttributes},
		{"MD5OfMessageSystemAttributes", o.MD5OfMessageSystemAttributes},
		{"MessageId", o.MessageId},
		{"SequenceNumber", o.SequenceNumber},
	} {
		if f.v != "" {
			b = appendField(b, first, f.name)
			b = jsontext.AppendString(b, f.v)
		}
	}
	return b
}

// AppendJSON implements awsjson.Appender.
func (o *sendMessageOutput) AppendJSON(b []byte) []byte {
	first := true
	b = append(b, '{')
	b = o.appendFields(b, &first)
	return append(b, '}')
}

func appendBatchErrors(b []byte, es []batchResultError) []byte {
	if es == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range es {
		e := &es[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Id":`...)
		b = jsontext.AppendString(b, e.Id)
		if e.SenderFault {
			b = append(b, `,"SenderFault":true,"Code":`...)
		} else {
			b = append(b, `,"SenderFault":false,"Code":`...)
		}
		b = jsontext.AppendString(b, e.Code)
		if e.Message != "" {
			b = append(b, `,"Message":`...)
			b = jsontext.AppendString(b, e.Message)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// AppendJSON implements awsjson.Appender.
func (o *sendMessageBatchOutput) AppendJSON(b []byte) []byte {
	b = append(b, `{"Successful":`...)
	if o.Successful == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range o.Successful {
			e := &o.Successful[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"Id":`...)
			b = jsontext.AppendString(b, e.Id)
			first := false
			b = e.sendMessageOutput.appendFields(b, &first)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"Failed":`...)
	b = appendBatchErrors(b, o.Failed)
	return append(b, '}')
}

// AppendJSON implements awsjson.Appender.
func (o *batchOutput) AppendJSON(b []byte) []byte {
	b = append(b, `{"Successful":`...)
	if o.Successful == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range o.Successful {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"Id":`...)
			b = jsontext.AppendString(b, o.Successful[i].Id)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"Failed":`...)
	b = appendBatchErrors(b, o.Failed)
	return append(b, '}')
}

func (v *msgAttrValue) appendJSON(b []byte) []byte {
	first := true
	b = append(b, '{')
	if v.StringValue != nil {
		b = appendField(b, &first, "StringValue")
		b = jsontext.AppendString(b, *v.StringValue)
	}
	if len(v.BinaryValue) > 0 {
		b = appendField(b, &first, "BinaryValue")
		b = appendBase64(b, v.BinaryValue)
	}
	if len(v.StringListValues) > 0 {
		b = appendField(b, &first, "StringListValues")
		b = appendStrings(b, v.StringListValues)
	}
	if len(v.BinaryListValues) > 0 {
		b = appendField(b, &first, "BinaryListValues")
		b = append(b, '[')
		for i, x := range v.BinaryListValues {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendBase64(b, x)
		}
		b = append(b, ']')
	}
	b = appendField(b, &first, "DataType")
	b = jsontext.AppendString(b, v.DataType)
	return append(b, '}')
}

// AppendJSON implements awsjson.Appender.
func (o *receiveMessageOutput) AppendJSON(b []byte) []byte {
	if len(o.Messages) == 0 {
		return append(b, "{}"...)
	}
	b = append(b, `{"Messages":[`...)
	for i := range o.Messages {
		m := &o.Messages[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"MessageId":`...)
		b = jsontext.AppendString(b, m.MessageId)
		b = append(b, `,"ReceiptHandle":`...)
		b = jsontext.AppendString(b, m.ReceiptHandle)
		b = append(b, `,"MD5OfBody":`...)
		b = jsontext.AppendString(b, m.MD5OfBody)
		b = append(b, `,"Body":`...)
		b = jsontext.AppendString(b, m.Body)
		if len(m.Attributes) > 0 {
			b = append(b, `,"Attributes":{`...)
			for j, k := range sortedKeys(m.Attributes) {
				if j > 0 {
					b = append(b, ',')
				}
				b = jsontext.AppendString(b, k)
				b = append(b, ':')
				b = jsontext.AppendString(b, m.Attributes[k])
			}
			b = append(b, '}')
		}
		if m.MD5OfMessageAttributes != "" {
			b = append(b, `,"MD5OfMessageAttributes":`...)
			b = jsontext.AppendString(b, m.MD5OfMessageAttributes)
		}
		if len(m.MessageAttributes) > 0 {
			b = append(b, `,"MessageAttributes":{`...)
			for j, k := range sortedKeys(m.MessageAttributes) {
				if j > 0 {
					b = append(b, ',')
				}
				b = jsontext.AppendString(b, k)
				b = append(b, ':')
				v := m.MessageAttributes[k]
				b = v.appendJSON(b)
			}
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// sortedKeys returns m's keys in the order encoding/json writes them: by
// their bytes, before escaping.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
