package server

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/forkline/forkline/internal/function"
	"github.com/forkline/forkline/internal/sigv4"
	"github.com/forkline/forkline/internal/stack"
	"github.com/forkline/forkline/internal/uuid"
)

// cfnResponseModules are the modules CloudFormation adds to inline
// (ZipFile) functions for custom resources to answer with.
//
//go:embed cfnresponse/cfnresponse.py cfnresponse/cfn-response.js
var cfnResponseModules embed.FS

// customBucket receives custom resources' responses.
const customBucket = "forkline-cfn-custom-resource-responses"

// customResource is the provider of AWS::CloudFormation::CustomResource
// and Custom::* types: the request goes to the ServiceToken (a function,
// invoked asynchronously, or a topic) with a presigned ResponseURL, and the
// resource waits for the response object there ("Custom resources",
// CloudFormation user guide).
type customResource struct{ s *Server }

type customResponse struct {
	Status, Reason, PhysicalResourceID, StackID, RequestID, LogicalResourceID string
	NoEcho                                                                    bool
	Data                                                                      map[string]any
}

func (p customResource) call(ctx context.Context, r *stack.Resource, requestType string, old *stack.Resource) (*customResponse, error) {
	token := prop(r, "ServiceToken")
	if token == "" {
		return nil, errors.New("Property ServiceToken cannot be empty.")
	}
	if err := p.s.objects.CreateBucket(ctx, customBucket, ""); err != nil && !strings.Contains(err.Error(), "BucketAlreadyOwnedByYou") {
		return nil, err
	}
	reqID := uuid.New()
	key := reqID
	url, err := sigv4.PresignS3(http.MethodPut, p.s.publicURL.Load().(string)+"/"+customBucket+"/"+key, p.s.cfg.Region,
		p.s.fnKey, p.s.fnSecret, p.s.fnToken, p.s.clock.Now(), 2*time.Hour)
	if err != nil {
		return nil, err
	}
	event := map[string]any{"RequestType": requestType, "ServiceToken": token, "ResponseURL": url, "StackId": r.StackID,
		"RequestId": reqID, "LogicalResourceId": r.LogicalID, "ResourceType": r.Type, "ResourceProperties": r.Properties}
	if old != nil {
		event["PhysicalResourceId"] = old.PhysicalID
		if requestType == "Update" {
			event["OldResourceProperties"] = old.Properties
		}
	}
	payload, _ := json.Marshal(event)
	switch {
	case strings.HasPrefix(token, "arn:aws:lambda:"):
		if _, err := p.s.funcs.Invoke(ctx, function.InvokeInput{FunctionName: token, InvocationType: "Event", Payload: payload}); err != nil {
			return nil, err
		}
	case strings.HasPrefix(token, "arn:aws:sns:"):
		t := tasks{fs: p.s.funcs, qs: p.s.queues, ts: p.s.topics, srv: p.s}
		if _, err := t.CallAWS(ctx, "sns", "Publish", map[string]any{"TopicArn": token, "Message": string(payload)}); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("Invalid service token: %s", token)
	}
	timeout := time.Hour
	if n, err := strconv.Atoi(prop(r, "ServiceTimeout")); err == nil && n > 0 {
		timeout = time.Duration(n) * time.Second
	}
	deadline := time.Now().Add(timeout)
	wait := 20 * time.Millisecond
	for {
		body, err := p.s.objects.ReadObject(ctx, customBucket, key, 1<<20)
		if err == nil {
			p.s.objects.DeleteObject(ctx, customBucket, key)
			var resp customResponse
			if err := json.Unmarshal(body, &resp); err != nil {
				return nil, fmt.Errorf("Invalid response object: %v", err)
			}
			if resp.Status != "SUCCESS" {
				reason := resp.Reason
				if reason == "" {
					reason = "Failed to " + strings.ToLower(requestType) + " resource."
				}
				return nil, fmt.Errorf("Received response status [%s] from custom resource. Message returned: %s", resp.Status, reason)
			}
			return &resp, nil
		}
		if time.Now().After(deadline) {
			return nil, errors.New("CloudFormation did not receive a response from your Custom Resource. Please check your logs for requestId [" + reqID + "].")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		if wait < 500*time.Millisecond {
			wait *= 2
		}
	}
}

func (p customResource) apply(r *stack.Resource, resp *customResponse, fallback string) {
	id := resp.PhysicalResourceID
	if id == "" {
		id = fallback
	}
	r.PhysicalID, r.Ref = id, id
	r.Attrs = map[string]any{}
	for k, v := range resp.Data {
		r.Attrs[k] = v
	}
}

func (p customResource) Create(ctx context.Context, r *stack.Resource) error {
	resp, err := p.call(ctx, r, "Create", nil)
	if err != nil {
		return err
	}
	p.apply(r, resp, r.LogicalID+"-"+r.Suffix)
	return nil
}

func (p customResource) Update(ctx context.Context, r, old *stack.Resource) (bool, error) {
	if changed(r, old, "ServiceToken") {
		return false, errors.New("Modifying service token is not allowed.")
	}
	resp, err := p.call(ctx, r, "Update", old)
	if err != nil {
		return false, err
	}
	p.apply(r, resp, old.PhysicalID)
	// A new physical ID replaces the resource: the old one is deleted
	// (CloudFormation does it in the cleanup phase; forkline at once).
	if r.PhysicalID != old.PhysicalID {
		if _, err := p.call(ctx, old, "Delete", old); err != nil {
			p.s.log.Warn("custom resource: delete of the replaced resource failed", "resource", old.LogicalID, "err", err)
		}
	}
	return false, nil
}

func (p customResource) Delete(ctx context.Context, r *stack.Resource) error {
	_, err := p.call(ctx, r, "Delete", r)
	return err
}
