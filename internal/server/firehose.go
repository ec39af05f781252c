package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/forkline/forkline/internal/firehose"
	"github.com/forkline/forkline/internal/function"
	"github.com/forkline/forkline/internal/object"
	"github.com/forkline/forkline/internal/search"
	"github.com/forkline/forkline/internal/searchapi"
	"github.com/forkline/forkline/internal/sigv4"
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
	if strings.HasPrefix(domainARN, "http://") || strings.HasPrefix(domainARN, "https://") {
		return externalBulk(ctx, domainARN, index, docs)
	}
	return f.s.search.Bulk(ctx, domainARN, index, docs)
}

// externalBulk indexes documents into an external OpenSearch endpoint
// with its _bulk API.
func externalBulk(ctx context.Context, endpoint, index string, docs [][]byte) (map[int]string, error) {
	var body bytes.Buffer
	for _, d := range docs {
		fmt.Fprintf(&body, "{\"index\":{\"_index\":%q}}\n", index)
		body.Write(bytes.TrimSpace(d))
		body.WriteByte('\n')
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(endpoint, "/")+"/_bulk", &body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("%s/_bulk answered %s", endpoint, resp.Status)
	}
	var out struct {
		Items []map[string]struct {
			Status int `json:"status"`
			Error  any `json:"error"`
		} `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	failed := map[int]string{}
	for i, it := range out.Items {
		for _, r := range it {
			if r.Status >= 300 {
				failed[i] = fmt.Sprint(r.Error)
			}
		}
	}
	return failed, nil
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

// serveSearch serves a search domain's endpoint: signed requests (service
// "es") are verified as every other; with credentials configured, unsigned
// ones are refused.
func (s *Server) serveSearch(w http.ResponseWriter, r *http.Request, reqID string) (string, string) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 100<<20))
	if err != nil {
		searchapi.WriteError(w, http.StatusRequestEntityTooLarge, "content_too_long_exception", "The request body is larger than 100 MB.")
		return "es", ""
	}
	auth, err := sigv4.Parse(r)
	if err == nil {
		err = s.auth.Verify(r, auth, "es", body)
	}
	if err != nil {
		e := asAWS(err)
		searchapi.WriteError(w, http.StatusForbidden, "security_exception", e.Message)
		return "es", ""
	}
	return "es", s.searchAPI.Serve(r.Context(), w, r.Method, r.URL.EscapedPath(), r.URL.Query(), body)
}

// searchDomain is the provider of AWS::OpenSearchService::Domain and
// AWS::Elasticsearch::Domain: a forkline search domain, whatever the
// cluster configuration asks for.
type searchDomain struct{ s *Server }

func (p searchDomain) Create(ctx context.Context, r *stack.Resource) error {
	name := prop(r, "DomainName")
	if name == "" {
		name = strings.Trim(physicalName(r, 28, true), "-")
		if name[0] < 'a' || name[0] > 'z' {
			name = "d" + name[1:]
		}
	}
	engine := prop(r, "EngineVersion")
	if engine == "" {
		engine = "Elasticsearch_" + prop(r, "ElasticsearchVersion")
	}
	d, err := p.s.search.CreateDomain(ctx, name, engine)
	if err != nil && !(r.Adopt && errors.Is(err, search.ErrDomainDup)) {
		return err
	}
	if d.Arn == "" {
		d, _ = p.s.search.Domain(name)
	}
	endpoint := strings.TrimPrefix(strings.TrimPrefix(p.s.publicURL.Load().(string), "http://"), "https://") + searchapi.Prefix + name
	r.PhysicalID, r.Ref = name, name
	r.Attrs = map[string]any{"Arn": d.Arn, "DomainArn": d.Arn, "DomainEndpoint": endpoint, "Id": name}
	return nil
}

func (p searchDomain) Update(ctx context.Context, r, old *stack.Resource) (bool, error) {
	if changed(r, old, "DomainName") {
		return true, nil
	}
	r.PhysicalID, r.Ref, r.Attrs = old.PhysicalID, old.Ref, old.Attrs
	return false, nil
}

func (p searchDomain) Delete(ctx context.Context, r *stack.Resource) error {
	err := p.s.search.DeleteDomain(ctx, r.PhysicalID)
	if errors.Is(err, search.ErrNoDomain) {
		return nil
	}
	return err
}
