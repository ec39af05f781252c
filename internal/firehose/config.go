package firehose

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// FromConfig reads a stream from CreateDeliveryStream's request or the
// AWS::KinesisFirehose::DeliveryStream properties, which share their
// names: ExtendedS3DestinationConfiguration, S3DestinationConfiguration,
// ElasticsearchDestinationConfiguration and
// AmazonopensearchserviceDestinationConfiguration.
func FromConfig(name, typ string, cfg map[string]any) (Stream, error) {
	sm := Stream{Name: name, Type: typ}
	if typ != "" && typ != "DirectPut" {
		return sm, errorf(ErrInvalid, "forkline serves DirectPut delivery streams, not %s.", typ)
	}
	for _, k := range []string{"ExtendedS3DestinationConfiguration", "S3DestinationConfiguration"} {
		if m, ok := cfg[k].(map[string]any); ok {
			d := s3Dest(m)
			sm.S3 = &d
			sm.Processor = processor(m)
		}
	}
	for _, k := range []string{"ElasticsearchDestinationConfiguration", "AmazonopensearchserviceDestinationConfiguration"} {
		m, ok := cfg[k].(map[string]any)
		if !ok {
			continue
		}
		d := &SearchDestination{DomainARN: str(m["DomainARN"]), IndexName: str(m["IndexName"]), TypeName: str(m["TypeName"]),
			Rotation: str(m["IndexRotationPeriod"]), BackupMode: str(m["S3BackupMode"])}
		if d.Rotation == "" {
			d.Rotation = "OneDay" // the API's default
		}
		if r, ok := m["RetryOptions"].(map[string]any); ok {
			d.RetrySeconds = num(r["DurationInSeconds"])
		}
		d.IntervalSeconds, d.SizeMB = hints(m)
		if b, ok := m["S3Configuration"].(map[string]any); ok {
			d.Backup = s3Dest(b)
		}
		if d.DomainARN == "" {
			return sm, errorf(ErrInvalid, "DomainARN is required: forkline delivers to its own search domains.")
		}
		sm.Search = d
		sm.Processor = processor(m)
	}
	for k := range cfg {
		switch k {
		case "ExtendedS3DestinationConfiguration", "S3DestinationConfiguration", "ElasticsearchDestinationConfiguration",
			"AmazonopensearchserviceDestinationConfiguration", "DeliveryStreamName", "DeliveryStreamType", "Tags",
			"DeliveryStreamEncryptionConfigurationInput", "DeliveryStreamEncryptionConfiguration":
		default:
			if len(k) > len("DestinationConfiguration") && k[len(k)-len("DestinationConfiguration"):] == "DestinationConfiguration" {
				return sm, errorf(ErrInvalid, "forkline does not deliver to %s.", k)
			}
		}
	}
	return sm, nil
}

func s3Dest(m map[string]any) S3Destination {
	d := S3Destination{BucketARN: str(m["BucketARN"]), Prefix: str(m["Prefix"]), ErrorOutputPrefix: str(m["ErrorOutputPrefix"]),
		Compression: str(m["CompressionFormat"]), FileExtension: str(m["FileExtension"])}
	d.IntervalSeconds, d.SizeMB = hints(m)
	return d
}

func hints(m map[string]any) (interval, size int) {
	if h, ok := m["BufferingHints"].(map[string]any); ok {
		return num(h["IntervalInSeconds"]), num(h["SizeInMBs"])
	}
	return 0, 0
}

// processor is the ARN of the Lambda processor of an enabled
// ProcessingConfiguration.
func processor(m map[string]any) string {
	pc, ok := m["ProcessingConfiguration"].(map[string]any)
	if !ok || !(pc["Enabled"] == true || pc["Enabled"] == "true") {
		return ""
	}
	procs, _ := pc["Processors"].([]any)
	for _, p := range procs {
		pm, _ := p.(map[string]any)
		if pm["Type"] != "Lambda" {
			continue
		}
		params, _ := pm["Parameters"].([]any)
		for _, x := range params {
			xm, _ := x.(map[string]any)
			if xm["ParameterName"] == "LambdaArn" {
				return str(xm["ParameterValue"])
			}
		}
	}
	return ""
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

func num(v any) int {
	switch x := v.(type) {
	case float64:
		return int(x)
	case json.Number:
		n, _ := x.Int64()
		return int(n)
	case string:
		n, _ := strconv.Atoi(x)
		return n
	case int:
		return x
	}
	return 0
}

// Describe forms the stream as DescribeDeliveryStream shows it.
func (sm Stream) Description() map[string]any {
	dest := map[string]any{"DestinationId": "destinationId-000000000001"}
	s3desc := func(d S3Destination) map[string]any {
		m := map[string]any{"BucketARN": d.BucketARN, "CompressionFormat": d.Compression,
			"BufferingHints":          map[string]any{"IntervalInSeconds": d.IntervalSeconds, "SizeInMBs": d.SizeMB},
			"EncryptionConfiguration": map[string]any{"NoEncryptionConfig": "NoEncryption"}}
		if d.Prefix != "" {
			m["Prefix"] = d.Prefix
		}
		if d.ErrorOutputPrefix != "" {
			m["ErrorOutputPrefix"] = d.ErrorOutputPrefix
		}
		return m
	}
	proc := map[string]any{"Enabled": false, "Processors": []any{}}
	if sm.Processor != "" {
		proc = map[string]any{"Enabled": true, "Processors": []any{map[string]any{"Type": "Lambda",
			"Parameters": []any{map[string]any{"ParameterName": "LambdaArn", "ParameterValue": sm.Processor}}}}}
	}
	if sm.S3 != nil {
		d := s3desc(*sm.S3)
		d["ProcessingConfiguration"] = proc
		d["S3BackupMode"] = "Disabled"
		dest["ExtendedS3DestinationDescription"] = d
		dest["S3DestinationDescription"] = s3desc(*sm.S3)
	}
	if sm.Search != nil {
		d := sm.Search
		dest["ElasticsearchDestinationDescription"] = map[string]any{"DomainARN": d.DomainARN, "IndexName": d.IndexName,
			"TypeName": d.TypeName, "IndexRotationPeriod": d.Rotation, "S3BackupMode": d.BackupMode,
			"BufferingHints":           map[string]any{"IntervalInSeconds": d.IntervalSeconds, "SizeInMBs": d.SizeMB},
			"RetryOptions":             map[string]any{"DurationInSeconds": d.RetrySeconds},
			"S3DestinationDescription": s3desc(d.Backup), "ProcessingConfiguration": proc}
	}
	return map[string]any{"DeliveryStreamName": sm.Name, "DeliveryStreamARN": sm.Arn, "DeliveryStreamStatus": "ACTIVE",
		"DeliveryStreamType": sm.Type, "VersionId": fmt.Sprint(sm.Version), "CreateTimestamp": float64(sm.Created) / 1000,
		"Destinations": []any{dest}, "HasMoreDestinations": false}
}
