package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/forkline/forkline/internal/firehose"
	"github.com/forkline/forkline/internal/function"
	"github.com/forkline/forkline/internal/object"
	"github.com/forkline/forkline/internal/stack"
)

// firehoseSink delivers Firehose buffers to forkline's object storage,
// functions and search domains.
type firehoseSink struct{ s *Server }

func (f firehoseSink) PutObject(ctx context.Context, bucketARN, key string, body []byte) error {
	bucket, ok := strings.CutPrefix(bucketARN, "arn:aws:s3:::")
	if !ok {
		return fmt.Errorf("not a bucket ARN: %s", bucketARN)
	}
	_, err := f.s.objects.PutObject(ctx, bucket, key, bytes.NewReader(body), object.PutInput{})
	return err
}

func (f firehoseSink) Transform(ctx context.Context, fn string, event []byte) ([]byte, error) {
	out, err := f.s.funcs.Invoke(ctx, function.InvokeInput{FunctionName: fn, Payload: event})
	if err != nil {
		return nil, err
	}
	if out.FunctionError != "" {
		return nil, fmt.Errorf("the transformation function failed: %s", out.Payload)
	}
	return out.Payload, nil
}

func (f firehoseSink) Index(ctx context.Context, domainARN, index string, docs [][]byte) (map[int]string, error) {
	if f.s.search == nil {
		return nil, errors.New("no search service")
	}
	return f.s.search.Bulk(ctx, domainARN, index, docs)
}

// deliveryStream is the AWS::KinesisFirehose::DeliveryStream provider.
type deliveryStream struct{ s *Server }

func (p deliveryStream) Create(ctx context.Context, r *stack.Resource) error {
	name := prop(r, "DeliveryStreamName")
	if name == "" {
		name = physicalName(r, 64, false)
	}
	sm, err := firehose.FromConfig(name, prop(r, "DeliveryStreamType"), r.Properties)
	if err != nil {
		return err
	}
	arn, err := p.s.firehose.Create(ctx, sm)
	if err != nil && !(r.Adopt && errors.Is(err, firehose.ErrInUse)) {
		return err
	}
	if arn == "" {
		st, _ := p.s.firehose.Describe(ctx, name)
		arn = st.Arn
	}
	r.PhysicalID, r.Ref = name, name
	r.Attrs = map[string]any{"Arn": arn}
	return nil
}

// Update replaces the stream when its destination changes (forkline does
// not version stream configurations); a change of name or type replaces it
// anyway.
func (p deliveryStream) Update(ctx context.Context, r, old *stack.Resource) (bool, error) {
	return true, nil
}

func (p deliveryStream) Delete(ctx context.Context, r *stack.Resource) error {
	err := p.s.firehose.Delete(ctx, r.PhysicalID)
	if errors.Is(err, firehose.ErrNotFound) {
		return nil
	}
	return err
}
