package server

import (
	"bytes"
	"context"
	"strings"

	"github.com/forkline/forkline/internal/object"
	"github.com/forkline/forkline/internal/repoapi"
	"github.com/forkline/forkline/internal/stack"
)

// repoBucket holds the repository's templates.
const repoBucket = "forkline-serverlessrepo"

// repoTemplates keeps repository templates in object storage, where
// CloudFormation reads them by URL.
type repoTemplates struct{ s *Server }

func (t repoTemplates) PutTemplate(ctx context.Context, key string, body []byte) (string, error) {
	if err := t.put(ctx, repoBucket, key, body); err != nil {
		return "", err
	}
	return "https://s3.amazonaws.com/" + repoBucket + "/" + key, nil
}

// put stores an object, making its bucket when needed.
func (t repoTemplates) put(ctx context.Context, bucket, key string, body []byte) error {
	if err := t.s.objects.CreateBucket(ctx, bucket, ""); err != nil && !strings.Contains(err.Error(), "BucketAlreadyOwnedByYou") {
		return err
	}
	_, err := t.s.objects.PutObject(ctx, bucket, key, bytes.NewReader(body), object.PutInput{})
	return err
}

// repoDeployer makes the change sets of CreateCloudFormationChangeSet.
type repoDeployer struct{ stacks *stack.Service }

func (d repoDeployer) CreateChangeSet(ctx context.Context, in repoapi.ChangeSetInput) (string, string, error) {
	typ := "CREATE"
	if st, err := d.stacks.DescribeStacks(ctx, in.StackName); err == nil && len(st) == 1 && st[0].Status != "REVIEW_IN_PROGRESS" {
		typ = "UPDATE"
	}
	params := map[string]*string{}
	for k, v := range in.Parameters {
		v := v
		params[k] = &v
	}
	return d.stacks.CreateChangeSet(ctx, stack.ChangeSetInput{StackName: in.StackName, Name: in.ChangeSetName, Type: typ,
		Description: in.Description, TemplateURL: in.TemplateURL, Parameters: params, Capabilities: in.Capabilities, Tags: in.Tags})
}
