package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// DefaultBucket holds packaged artifacts when no bucket is named.
const DefaultBucket = "forkline-deploy-artifacts"

// Client talks to a forkline endpoint.
type Client struct {
	CFN *cloudformation.Client
	S3  *s3.Client
	Out io.Writer
	// Poll is the interval between progress polls.
	Poll time.Duration
}

// NewClient connects to endpoint with static credentials.
func NewClient(endpoint, region, key, secret string, out io.Writer) *Client {
	cfg := aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider(key, secret, ""), BaseEndpoint: aws.String(endpoint)}
	return &Client{CFN: cloudformation.NewFromConfig(cfg), S3: s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		Out: out, Poll: 200 * time.Millisecond}
}

func (c *Client) printf(format string, args ...any) { fmt.Fprintf(c.Out, format, args...) }

type bucketUploader struct {
	c      *Client
	bucket string
	made   bool
}

func (u *bucketUploader) Upload(ctx context.Context, key string, body []byte) error {
	if !u.made {
		_, err := u.c.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(u.bucket)})
		var ae smithy.APIError
		if err != nil && !(errors.As(err, &ae) && (ae.ErrorCode() == "BucketAlreadyOwnedByYou" || ae.ErrorCode() == "BucketAlreadyExists")) {
			return err
		}
		u.made = true
	}
	// An artifact already uploaded under its content hash stays.
	if _, err := u.c.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(u.bucket), Key: aws.String(key)}); err == nil {
		return nil
	}
	_, err := u.c.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(u.bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	return err
}

// Input is a deployment.
type Input struct {
	TemplateFile, StackName, Bucket string
	Parameters                      map[string]string
	Capabilities                    []string
	Tags                            map[string]string
	NoExecute                       bool
}

// maxBody is CloudFormation's limit on an inline TemplateBody; larger
// templates go through object storage.
const maxBody = 51200

// Deploy packages the template, creates a change set, shows it, executes
// it and follows the stack's events until the stack settles.
func (c *Client) Deploy(ctx context.Context, in Input) error {
	if in.Bucket == "" {
		in.Bucket = DefaultBucket
	}
	up := &bucketUploader{c: c, bucket: in.Bucket}
	p := &Packager{Bucket: in.Bucket, Up: up, Log: func(f string, a ...any) { c.printf(f+"\n", a...) }}
	body, err := p.Package(ctx, in.TemplateFile)
	if err != nil {
		return err
	}
	exists, prevParams, err := c.existing(ctx, in.StackName)
	if err != nil {
		return err
	}
	csType := cfntypes.ChangeSetTypeCreate
	if exists {
		csType = cfntypes.ChangeSetTypeUpdate
	}
	var params []cfntypes.Parameter
	keys := make([]string, 0, len(in.Parameters))
	for k := range in.Parameters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		params = append(params, cfntypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(in.Parameters[k])})
	}
	// As aws cloudformation deploy does: a parameter the stack has and the
	// command does not override keeps its value.
	declared := declaredParams(body)
	for _, k := range prevParams {
		if _, given := in.Parameters[k]; !given && declared[k] {
			params = append(params, cfntypes.Parameter{ParameterKey: aws.String(k), UsePreviousValue: aws.Bool(true)})
		}
	}
	caps := in.Capabilities
	if caps == nil {
		caps = []string{"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"}
	}
	var capList []cfntypes.Capability
	for _, cp := range caps {
		capList = append(capList, cfntypes.Capability(cp))
	}
	var tags []cfntypes.Tag
	for k, v := range in.Tags {
		tags = append(tags, cfntypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	csName := fmt.Sprintf("forkline-deploy-%d", time.Now().UnixNano())
	create := &cloudformation.CreateChangeSetInput{StackName: aws.String(in.StackName), ChangeSetName: aws.String(csName),
		ChangeSetType: csType, Parameters: params, Capabilities: capList, Tags: tags}
	if len(body) <= maxBody {
		create.TemplateBody = aws.String(string(body))
	} else {
		key := hashKey(body) + ".template"
		if err := up.Upload(ctx, key, body); err != nil {
			return err
		}
		create.TemplateURL = aws.String("https://s3.amazonaws.com/" + in.Bucket + "/" + key)
	}
	c.printf("\nWaiting for changeset to be created..\n")
	if _, err := c.CFN.CreateChangeSet(ctx, create); err != nil {
		return err
	}
	cs, err := c.waitChangeSet(ctx, in.StackName, csName)
	if err != nil {
		return err
	}
	if cs.Status == cfntypes.ChangeSetStatusFailed {
		reason := aws.ToString(cs.StatusReason)
		if strings.Contains(reason, "didn't contain changes") || strings.Contains(reason, "No updates are to be performed") {
			c.printf("No changes to deploy. Stack %s is up to date\n", in.StackName)
			c.CFN.DeleteChangeSet(ctx, &cloudformation.DeleteChangeSetInput{StackName: aws.String(in.StackName), ChangeSetName: aws.String(csName)})
			return nil
		}
		return fmt.Errorf("failed to create the changeset: %s", reason)
	}
	c.printChanges(cs)
	if in.NoExecute {
		c.printf("Changeset created successfully. Run the following command to review changes:\naws cloudformation describe-change-set --change-set-name %s\n", aws.ToString(cs.ChangeSetId))
		return nil
	}
	since := time.Now().Add(-time.Second)
	if _, err := c.CFN.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{StackName: aws.String(in.StackName), ChangeSetName: aws.String(csName)}); err != nil {
		return err
	}
	c.printf("\nWaiting for stack create/update to complete\n\n")
	status, err := c.follow(ctx, aws.ToString(cs.StackId), since)
	if err != nil {
		return err
	}
	if status != "CREATE_COMPLETE" && status != "UPDATE_COMPLETE" {
		return fmt.Errorf("stack %s ended in %s", in.StackName, status)
	}
	c.printf("\nSuccessfully created/updated stack - %s\n", in.StackName)
	return c.printOutputs(ctx, in.StackName)
}

func declaredParams(body []byte) map[string]bool {
	var doc struct {
		Parameters map[string]json.RawMessage
	}
	json.Unmarshal(body, &doc)
	out := map[string]bool{}
	for k := range doc.Parameters {
		out[k] = true
	}
	return out
}

// existing reports whether the stack exists (not only as a change set's
// REVIEW_IN_PROGRESS placeholder) and lists its parameters.
func (c *Client) existing(ctx context.Context, name string) (bool, []string, error) {
	ds, err := c.CFN.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "ValidationError" && strings.Contains(ae.ErrorMessage(), "does not exist") {
			return false, nil, nil
		}
		return false, nil, err
	}
	st := ds.Stacks[0]
	if st.StackStatus == cfntypes.StackStatusReviewInProgress {
		return false, nil, nil
	}
	var keys []string
	for _, p := range st.Parameters {
		keys = append(keys, aws.ToString(p.ParameterKey))
	}
	return true, keys, nil
}

func (c *Client) waitChangeSet(ctx context.Context, stack, name string) (*cloudformation.DescribeChangeSetOutput, error) {
	for {
		cs, err := c.CFN.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{StackName: aws.String(stack), ChangeSetName: aws.String(name)})
		if err != nil {
			return nil, err
		}
		if cs.Status == cfntypes.ChangeSetStatusCreateComplete || cs.Status == cfntypes.ChangeSetStatusFailed {
			return cs, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(c.Poll):
		}
	}
}

func (c *Client) printChanges(cs *cloudformation.DescribeChangeSetOutput) {
	c.printf("\nCloudFormation stack changeset\n")
	c.printf("%-12s %-32s %-40s %s\n", "Operation", "LogicalResourceId", "ResourceType", "Replacement")
	for _, ch := range cs.Changes {
		rc := ch.ResourceChange
		if rc == nil {
			continue
		}
		c.printf("%-12s %-32s %-40s %s\n", "+ "+string(rc.Action), aws.ToString(rc.LogicalResourceId), aws.ToString(rc.ResourceType), string(rc.Replacement))
	}
}

// follow prints the stack's events after since until the stack settles,
// and returns its final status.
func (c *Client) follow(ctx context.Context, stackID string, since time.Time) (string, error) {
	seen := map[string]bool{}
	c.printf("%-28s %-40s %-40s %s\n", "ResourceStatus", "ResourceType", "LogicalResourceId", "ResourceStatusReason")
	for {
		ev, err := c.CFN.DescribeStackEvents(ctx, &cloudformation.DescribeStackEventsInput{StackName: aws.String(stackID)})
		if err != nil {
			return "", err
		}
		var fresh []cfntypes.StackEvent
		for _, e := range ev.StackEvents {
			id := aws.ToString(e.EventId)
			if seen[id] || aws.ToTime(e.Timestamp).Before(since) {
				continue
			}
			seen[id] = true
			fresh = append(fresh, e)
		}
		var final string
		for i := len(fresh) - 1; i >= 0; i-- { // oldest first
			e := fresh[i]
			reason := aws.ToString(e.ResourceStatusReason)
			if reason == "" {
				reason = "-"
			}
			c.printf("%-28s %-40s %-40s %s\n", e.ResourceStatus, aws.ToString(e.ResourceType), aws.ToString(e.LogicalResourceId), reason)
			if aws.ToString(e.ResourceType) == "AWS::CloudFormation::Stack" && aws.ToString(e.PhysicalResourceId) == stackID &&
				!strings.HasSuffix(string(e.ResourceStatus), "_IN_PROGRESS") {
				final = string(e.ResourceStatus)
			}
		}
		if final != "" {
			return final, nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(c.Poll):
		}
	}
}

func (c *Client) printOutputs(ctx context.Context, name string) error {
	ds, err := c.CFN.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		return err
	}
	outs := ds.Stacks[0].Outputs
	if len(outs) == 0 {
		return nil
	}
	c.printf("\nOutputs\n")
	for _, o := range outs {
		c.printf("%-24s %s\n", aws.ToString(o.OutputKey), aws.ToString(o.OutputValue))
	}
	return nil
}

// Delete deletes a stack and follows its events until it is gone.
func (c *Client) Delete(ctx context.Context, name string) error {
	ds, err := c.CFN.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && strings.Contains(ae.ErrorMessage(), "does not exist") {
			c.printf("Stack %s does not exist\n", name)
			return nil
		}
		return err
	}
	id := aws.ToString(ds.Stacks[0].StackId)
	since := time.Now().Add(-time.Second)
	if _, err := c.CFN.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String(id)}); err != nil {
		return err
	}
	status, err := c.follow(ctx, id, since)
	if err != nil {
		return err
	}
	if status != "DELETE_COMPLETE" {
		return fmt.Errorf("stack %s ended in %s", name, status)
	}
	c.printf("\nDeleted stack %s\n", name)
	return nil
}

func marshal(doc map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
