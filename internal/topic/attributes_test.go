package topic

import "testing"

// TestCheckArchivePolicy: a FIFO topic's ArchivePolicy keeps messages 1 to
// 365 days (SNS developer guide, "FIFO topic message archiving and
// replay").
func TestCheckArchivePolicy(t *testing.T) {
	for doc, ok := range map[string]bool{
		`{"MessageRetentionPeriod":"30"}`: true, `{"MessageRetentionPeriod":365}`: true, `{"MessageRetentionPeriod":"1"}`: true,
		`{"MessageRetentionPeriod":"0"}`: false, `{"MessageRetentionPeriod":366}`: false, `{"MessageRetentionPeriod":"x"}`: false,
		`{}`: false, `{"Other":1}`: false, `[]`: false, `{`: false,
	} {
		if err := checkArchivePolicy(doc); (err == nil) != ok {
			t.Errorf("%s: %v", doc, err)
		}
	}
}

func TestIsIAMRoleArn(t *testing.T) {
	for arn, ok := range map[string]bool{
		"arn:aws:iam::123456789012:role/sns-firehose": true, "arn:aws:iam::123456789012:role/path/r": true,
		"arn:aws:iam::123456789012:user/u": false, "arn:aws:iam::12345:role/r": false, "role": false,
		"arn:aws:iam::123456789012:role/": false, "arn:aws:sts::123456789012:role/r": false,
	} {
		if isIAMRoleArn(arn) != ok {
			t.Errorf("%s: want %v", arn, ok)
		}
	}
}

// FuzzCheckArchivePolicy: any document is judged without a panic.
func FuzzCheckArchivePolicy(f *testing.F) {
	for _, s := range []string{`{"MessageRetentionPeriod":"30"}`, `{"MessageRetentionPeriod":1e3}`, `{"MessageRetentionPeriod":null}`, `""`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) { checkArchivePolicy(doc) })
}
