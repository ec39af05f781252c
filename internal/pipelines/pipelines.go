// Package pipelines ships AWS's Event Fork Pipelines as forkline's own
// applications in the application repository, under AWS's application IDs
// (arn:aws:serverlessrepo:REGION:077246666028:applications/fork-event-...)
// and version 1.0.0, with the parameters, resources and outputs of the
// versions AWS publishes: templates that deploy unchanged, with functions
// and services that are forkline's (no Firehose, no Elasticsearch domain
// outside forkline). See docs/research/event-fork-pipelines.md.
package pipelines

import (
	"archive/zip"
	"bytes"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/forkline/forkline/internal/repo"
	"github.com/forkline/forkline/internal/stack/template"
)

//go:embed templates/*.yaml functions/*.py
var files embed.FS

const (
	// Owner is the account AWS publishes the pipelines from.
	Owner = "077246666028"
	// Version is the published version.
	Version = "1.0.0"
	// CodeBucket and CodeKey hold the pipelines' function code.
	CodeBucket = "forkline-serverlessrepo"
	CodeKey    = "event-fork-pipelines/functions-" + Version + ".zip"
)

// Put stores an object.
type Put func(ctx context.Context, bucket, key string, body []byte) error

// Names lists the shipped applications.
func Names() []string {
	entries, _ := fs.ReadDir(files, "templates")
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// Template returns a shipped application's template.
func Template(name string) ([]byte, error) { return files.ReadFile("templates/" + name + ".yaml") }

// code zips the functions, the same bytes every time.
func code() ([]byte, error) {
	entries, err := fs.ReadDir(files, "functions")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		b, err := files.ReadFile(path.Join("functions", e.Name()))
		if err != nil {
			return nil, err
		}
		h := &zip.FileHeader{Name: e.Name(), Method: zip.Deflate, Modified: time.Date(2019, 3, 26, 0, 0, 0, 0, time.UTC)}
		h.SetMode(0o644)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// StoreCode stores the functions' code where the templates refer to it;
// it runs before a pipeline deploys, so that a forkline that never deploys
// one keeps no bucket for it.
func StoreCode(ctx context.Context, put Put) error {
	zipped, err := code()
	if err != nil {
		return err
	}
	return put(ctx, CodeBucket, CodeKey, zipped)
}

// Install publishes the applications, shared publicly for deployment, as
// AWS shares them.
func Install(ctx context.Context, r *repo.Service) error {
	for _, name := range Names() {
		body, err := Template(name)
		if err != nil {
			return err
		}
		tpl, err := template.Parse(body)
		if err != nil {
			return fmt.Errorf("pipeline %s: %v", name, err)
		}
		meta, _ := tpl.Doc["Metadata"].(map[string]any)
		app, _ := meta["AWS::ServerlessRepo::Application"].(map[string]any)
		str := func(k string) string { s, _ := app[k].(string); return s }
		var labels []string
		if l, ok := app["Labels"].([]any); ok {
			for _, e := range l {
				labels = append(labels, fmt.Sprint(e))
			}
		}
		desc, _ := tpl.Doc["Description"].(string)
		if i := strings.Index(desc, " (forkline's"); i > 0 {
			desc = desc[:i]
		}
		if len(desc) > 256 {
			desc = desc[:256]
		}
		err = r.InstallBuiltin(ctx, repo.CreateInput{Name: name, Author: str("Author"), Description: desc, HomePageURL: str("HomePageUrl"),
			Labels: labels, SpdxLicenseID: str("SpdxLicenseId"), SemanticVersion: Version, TemplateBody: string(body),
			SourceCodeURL: str("HomePageUrl") + "/tree/" + Version + "/pipelines/" + strings.TrimPrefix(name, "fork-"),
			Owner:         Owner, Verified: true,
			Policy: []repo.Statement{{StatementID: "public", Principals: []string{"*"}, Actions: []string{"Deploy"}}}})
		if err != nil {
			return fmt.Errorf("pipeline %s: %v", name, err)
		}
	}
	return nil
}
