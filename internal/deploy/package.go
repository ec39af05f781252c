// Package deploy is the client side of `forkline deploy`, `forkline
// delete` and `forkline validate`: it packages a template's local
// artifacts into object storage, as `aws cloudformation package` does, and
// drives the CloudFormation API through a change set, as `aws
// cloudformation deploy` does, printing each resource's progress.
package deploy

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/forkline/forkline/internal/stack/template"
)

// Uploader stores an artifact and reports where it is.
type Uploader interface {
	Upload(ctx context.Context, key string, body []byte) error
}

// artifact names a property that may point at a local file or folder,
// and how the uploaded location is written back.
type artifact struct {
	prop string
	// zip: folders are zipped (and files that are no zip); else the file
	// is uploaded as it is.
	zip bool
	// form writes the location: "s3uri" (s3://b/k), "code"
	// ({S3Bucket, S3Key}), "s3loc" ({Bucket, Key}), "url" (https URL of
	// a packaged nested template).
	form string
}

// artifacts are the properties the AWS CLI's package command uploads
// (the `aws cloudformation package` reference), for the types forkline
// serves.
var artifacts = map[string][]artifact{
	"AWS::Serverless::Function":        {{"CodeUri", true, "s3uri"}},
	"AWS::Serverless::LayerVersion":    {{"ContentUri", true, "s3uri"}},
	"AWS::Serverless::StateMachine":    {{"DefinitionUri", false, "s3uri"}},
	"AWS::Serverless::Application":     {{"Location", false, "url"}},
	"AWS::Lambda::Function":            {{"Code", true, "code"}},
	"AWS::Lambda::LayerVersion":        {{"Content", true, "code"}},
	"AWS::StepFunctions::StateMachine": {{"DefinitionS3Location", false, "s3loc"}},
	"AWS::CloudFormation::Stack":       {{"TemplateURL", false, "url"}},
}

// Packager uploads a template's local artifacts.
type Packager struct {
	Bucket string
	Up     Uploader
	// Log, when set, hears of each upload.
	Log func(format string, args ...any)
}

// isLocal reports whether a property value names a local path.
func isLocal(v any) (string, bool) {
	s, ok := v.(string)
	if !ok || s == "" {
		return "", false
	}
	for _, p := range []string{"s3://", "http://", "https://", "arn:"} {
		if strings.HasPrefix(s, p) {
			return "", false
		}
	}
	return s, true
}

// Package rewrites the template at path so that it refers to uploaded
// artifacts, and returns its body (JSON).
func (p *Packager) Package(ctx context.Context, path string) ([]byte, error) {
	body, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	tpl, err := template.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	dir := filepath.Dir(path)
	res := tpl.Resources()
	names := make([]string, 0, len(res))
	for n := range res {
		names = append(names, n)
	}
	sort.Strings(names)
	globals, _ := tpl.Doc["Globals"].(map[string]any)
	if fg, ok := globals["Function"].(map[string]any); ok {
		if local, ok := isLocal(fg["CodeUri"]); ok {
			loc, err := p.upload(ctx, filepath.Join(dir, local), true)
			if err != nil {
				return nil, err
			}
			fg["CodeUri"] = "s3://" + p.Bucket + "/" + loc
		}
	}
	for _, name := range names {
		r := res[name]
		typ, _ := r["Type"].(string)
		props, _ := r["Properties"].(map[string]any)
		for _, a := range artifacts[typ] {
			local, ok := isLocal(props[a.prop])
			if !ok {
				continue
			}
			if typ == "AWS::Serverless::Function" && props["InlineCode"] != nil {
				continue
			}
			full := filepath.Join(dir, local)
			var key string
			if a.form == "url" {
				nested, err := p.Package(ctx, full)
				if err != nil {
					return nil, err
				}
				key = hashKey(nested) + ".template"
				if err := p.Up.Upload(ctx, key, nested); err != nil {
					return nil, err
				}
				p.logf("Uploaded %s to s3://%s/%s", local, p.Bucket, key)
			} else if key, err = p.upload(ctx, full, a.zip); err != nil {
				return nil, fmt.Errorf("unable to upload artifact %s referenced by %s of %s: %v", local, a.prop, name, err)
			}
			switch a.form {
			case "s3uri":
				props[a.prop] = "s3://" + p.Bucket + "/" + key
			case "code":
				props[a.prop] = map[string]any{"S3Bucket": p.Bucket, "S3Key": key}
			case "s3loc":
				props[a.prop] = map[string]any{"Bucket": p.Bucket, "Key": key}
			case "url":
				props[a.prop] = "https://s3.amazonaws.com/" + p.Bucket + "/" + key
			}
		}
	}
	return marshal(tpl.Doc)
}

func (p *Packager) logf(format string, args ...any) {
	if p.Log != nil {
		p.Log(format, args...)
	}
}

// upload stores a file or a folder (zipped) under the MD5 of its content,
// as the AWS CLI names artifacts, so that unchanged code is not uploaded
// into a new key.
func (p *Packager) upload(ctx context.Context, path string, zipIt bool) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	var body []byte
	switch {
	case info.IsDir():
		if body, err = zipDir(path); err != nil {
			return "", err
		}
	default:
		if body, err = os.ReadFile(path); err != nil {
			return "", err
		}
		if zipIt && !isZip(body) {
			if body, err = zipFile(path, body, info.Mode()); err != nil {
				return "", err
			}
		}
	}
	key := hashKey(body)
	if zipIt {
		key += ".zip"
	}
	if err := p.Up.Upload(ctx, key, body); err != nil {
		return "", err
	}
	p.logf("Uploaded %s to s3://%s/%s", path, p.Bucket, key)
	return key, nil
}

func hashKey(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

func isZip(b []byte) bool { return len(b) > 4 && string(b[:4]) == "PK\x03\x04" }

// zipDir zips a folder's files, with their modes, in name order (so that
// the same folder always makes the same archive).
func zipDir(dir string) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	for _, f := range files {
		info, err := os.Stat(f)
		if err != nil {
			return nil, err
		}
		rel, _ := filepath.Rel(dir, f)
		h := &zip.FileHeader{Name: filepath.ToSlash(rel), Method: zip.Deflate}
		h.SetMode(info.Mode())
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func zipFile(path string, data []byte, mode fs.FileMode) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: filepath.Base(path), Method: zip.Deflate}
	h.SetMode(mode)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return nil, err
	}
	w.Write(data)
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
