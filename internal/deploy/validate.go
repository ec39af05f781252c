package deploy

import (
	"context"
	"fmt"

	"github.com/forkline/forkline/internal/stack/sam"
	"github.com/forkline/forkline/internal/stack/template"
)

type nopUploader struct{}

func (nopUploader) Upload(context.Context, string, []byte) error { return nil }

// Validate checks a template without a server: its syntax, the SAM
// transform (with local artifacts standing in for their uploads), every
// resource type against those forkline serves, and the references between
// resources. It returns a one-line summary.
func Validate(ctx context.Context, path string, supported func(typ string) bool) (string, error) {
	p := &Packager{Bucket: "forkline-validate", Up: nopUploader{}}
	body, err := p.Package(ctx, path)
	if err != nil {
		return "", err
	}
	tpl, err := template.Parse(body)
	if err != nil {
		return "", err
	}
	n := len(tpl.Resources())
	note := ""
	if sam.Has(tpl.Doc) {
		doc, err := sam.Transform(ctx, tpl.Doc, sam.Options{Region: "us-east-1", AccountID: "000000000000", StackName: "validate",
			Application: func(_ context.Context, id, version string) (string, error) {
				return "https://s3.amazonaws.com/forkline-validate/application.template", nil
			}})
		if err != nil {
			return "", fmt.Errorf("Transform %s failed with: %v", sam.Name, err)
		}
		tpl = &template.Template{Doc: doc}
		note = fmt.Sprintf(" (%d after the SAM transform)", len(tpl.Resources()))
	}
	if _, err := tpl.Parameters(); err != nil {
		return "", err
	}
	var unknown []string
	for _, r := range tpl.Resources() {
		typ, _ := r["Type"].(string)
		if !supported(typ) {
			unknown = append(unknown, typ)
		}
	}
	if len(unknown) > 0 {
		return "", fmt.Errorf("Template format error: Unrecognized resource types: %v", unknown)
	}
	if _, err := tpl.Order(); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s is a valid template: %d resources%s", path, n, note), nil
}
