// Package repo is forkline's Serverless Application Repository:
// applications with semantic versions of a SAM or CloudFormation
// template, shared by policy (private to the owner by default, with
// accounts, or public), from which templates and change sets are made.
//
// Invariants:
//   - An application and each of its versions are records committed
//     before the call that made them answers; a version never changes.
//   - Access is checked on every read by another account: the owner, or a
//     policy statement naming the caller's account (or "*") for the
//     action.
package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/forkline/forkline/internal/clock"
	"github.com/forkline/forkline/internal/stack/template"
	"github.com/forkline/forkline/internal/store"
	"github.com/forkline/forkline/internal/uuid"
)

const (
	nsApp      = "sar.app" // application ID → appRec
	nsVersion  = "sar.ver" // application ID NUL semantic version → Version
	nsTemplate = "sar.tpl" // template ID → templateRec
)

// Error kinds; the text is the repository's error code.
var (
	ErrBadRequest = errors.New("BadRequestException")
	ErrConflict   = errors.New("ConflictException")
	ErrNotFound   = errors.New("NotFoundException")
	ErrForbidden  = errors.New("ForbiddenException")
)

// Error is a client error.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Message }

// Unwrap returns the kind.
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Statement is one statement of an application's policy.
type Statement struct {
	StatementID     string   `json:"statementId"`
	Principals      []string `json:"principals"`
	Actions         []string `json:"actions"`
	PrincipalOrgIDs []string `json:"principalOrgIDs,omitempty"`
}

// Application is an application's metadata.
type Application struct {
	ID            string      `json:"applicationId"`
	Name          string      `json:"name"`
	Author        string      `json:"author"`
	Description   string      `json:"description"`
	HomePageURL   string      `json:"homePageUrl,omitempty"`
	Labels        []string    `json:"labels,omitempty"`
	LicenseURL    string      `json:"licenseUrl,omitempty"`
	ReadmeURL     string      `json:"readmeUrl,omitempty"`
	SpdxLicenseID string      `json:"spdxLicenseId,omitempty"`
	Verified      bool        `json:"isVerifiedAuthor,omitempty"`
	Created       int64       `json:"created"`
	Owner         string      `json:"owner"`
	Policy        []Statement `json:"policy,omitempty"`
	Latest        string      `json:"latest,omitempty"` // the newest version
}

// Parameter is a template parameter as the repository describes it.
type Parameter struct {
	Name                  string   `json:"name"`
	Type                  string   `json:"type,omitempty"`
	DefaultValue          *string  `json:"defaultValue,omitempty"`
	Description           string   `json:"description,omitempty"`
	AllowedValues         []string `json:"allowedValues,omitempty"`
	AllowedPattern        string   `json:"allowedPattern,omitempty"`
	ConstraintDescription string   `json:"constraintDescription,omitempty"`
	MaxLength             *int     `json:"maxLength,omitempty"`
	MinLength             *int     `json:"minLength,omitempty"`
	MaxValue              *float64 `json:"maxValue,omitempty"`
	MinValue              *float64 `json:"minValue,omitempty"`
	NoEcho                bool     `json:"noEcho,omitempty"`
	ReferencedByResources []string `json:"referencedByResources"`
}

// Version is one immutable version of an application.
type Version struct {
	ApplicationID        string      `json:"applicationId"`
	SemanticVersion      string      `json:"semanticVersion"`
	TemplateBody         string      `json:"templateBody"`
	TemplateURL          string      `json:"templateUrl"`
	SourceCodeURL        string      `json:"sourceCodeUrl,omitempty"`
	SourceCodeArchiveURL string      `json:"sourceCodeArchiveUrl,omitempty"`
	Created              int64       `json:"created"`
	Parameters           []Parameter `json:"parameterDefinitions"`
	RequiredCapabilities []string    `json:"requiredCapabilities"`
	ResourcesSupported   bool        `json:"resourcesSupported"`
}

// Template is a template made from a version, for deployment.
type Template struct {
	ID, ApplicationID, SemanticVersion, URL string
	Created, Expires                        time.Time
}

// Store keeps the templates made for deployment where CloudFormation can
// read them (object storage), and returns their URL.
type Store interface {
	PutTemplate(ctx context.Context, key string, body []byte) (url string, err error)
}

// Config configures the Service.
type Config struct {
	Region, AccountID string
	Clock             clock.Clock
	Templates         Store
	// TemplateBucket is where Templates puts templates.
	TemplateBucket string
	// BeforeDeploy, when set, runs before a template is made for
	// deployment (built-in applications store their code then).
	BeforeDeploy func(ctx context.Context, a *Application) error
	// Fetch reads a template given by URL (templateUrl), from object
	// storage.
	Fetch func(ctx context.Context, url string) ([]byte, error)
}

// Service is the repository. It is safe for concurrent use.
type Service struct {
	st  store.Records
	cfg Config
}

// New returns the repository over st.
func New(st store.Records, cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	return &Service{st: st, cfg: cfg}
}

var (
	appName   = regexp.MustCompile(`^[a-zA-Z0-9\-]{1,140}$`)
	semver    = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
	accountID = regexp.MustCompile(`^\d{12}$`)
)

// AppID is the ARN of an application.
func (s *Service) AppID(owner, name string) string {
	return fmt.Sprintf("arn:aws:serverlessrepo:%s:%s:applications/%s", s.cfg.Region, owner, name)
}

// CreateInput is CreateApplication's request.
type CreateInput struct {
	Name, Author, Description, HomePageURL, LicenseURL, LicenseBody, ReadmeURL, ReadmeBody, SpdxLicenseID string
	Labels                                                                                                []string
	SemanticVersion, TemplateBody, SourceCodeURL, SourceCodeArchiveURL                                    string
	// Owner is the account that creates it; Policy and Verified are set
	// for applications forkline ships.
	Owner    string
	Policy   []Statement
	Verified bool
}

func (s *Service) getApp(ctx context.Context, id string) (*Application, error) {
	v, err := s.st.GetRecord(ctx, nsApp, id)
	if errors.Is(err, store.ErrNotFound) {
		// An application ID of another region names the same application
		// here (templates name AWS's pipelines by their us-east-1 IDs).
		if parts := strings.SplitN(id, ":", 6); len(parts) == 6 && parts[3] != s.cfg.Region {
			parts[3] = s.cfg.Region
			v, err = s.st.GetRecord(ctx, nsApp, strings.Join(parts, ":"))
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, errorf(ErrNotFound, "Application %s could not be found.", id)
	}
	if err != nil {
		return nil, err
	}
	var a Application
	if err := json.Unmarshal(v, &a); err != nil {
		return nil, fmt.Errorf("%w: application: %v", store.ErrCorrupt, err)
	}
	return &a, nil
}

// CreateApplication creates an application, and its first version when a
// semantic version and template are given.
func (s *Service) CreateApplication(ctx context.Context, in CreateInput) (*Application, *Version, error) {
	switch {
	case in.Name == "":
		return nil, nil, errorf(ErrBadRequest, "Missing required parameter: name")
	case !appName.MatchString(in.Name):
		return nil, nil, errorf(ErrBadRequest, "Invalid name: %s. The name must be between 1 and 140 characters: letters, digits and hyphens.", in.Name)
	case in.Author == "":
		return nil, nil, errorf(ErrBadRequest, "Missing required parameter: author")
	case in.Description == "":
		return nil, nil, errorf(ErrBadRequest, "Missing required parameter: description")
	case len(in.Description) > 256:
		return nil, nil, errorf(ErrBadRequest, "Invalid description: it must be at most 256 characters.")
	case len(in.Labels) > 10:
		return nil, nil, errorf(ErrBadRequest, "Invalid labels: at most 10 labels are allowed.")
	}
	owner := in.Owner
	if owner == "" {
		owner = s.cfg.AccountID
	}
	a := &Application{ID: s.AppID(owner, in.Name), Name: in.Name, Author: in.Author, Description: in.Description,
		HomePageURL: in.HomePageURL, Labels: in.Labels, LicenseURL: in.LicenseURL, ReadmeURL: in.ReadmeURL,
		SpdxLicenseID: in.SpdxLicenseID, Created: s.cfg.Clock.Now().UnixMilli(), Owner: owner, Policy: in.Policy, Verified: in.Verified}
	if _, err := s.st.GetRecord(ctx, nsApp, a.ID); err == nil {
		return nil, nil, errorf(ErrConflict, "Application with name %s already exists.", in.Name)
	}
	// Bodies given inline are stored, as the repository stores them, and
	// served by URL.
	for _, doc := range []struct {
		body string
		url  *string
		name string
	}{{in.LicenseBody, &a.LicenseURL, "LICENSE"}, {in.ReadmeBody, &a.ReadmeURL, "README.md"}} {
		if doc.body == "" {
			continue
		}
		if *doc.url != "" {
			return nil, nil, errorf(ErrBadRequest, "Specify either the body or the URL of the %s, not both.", doc.name)
		}
		u, err := s.cfg.Templates.PutTemplate(ctx, owner+"/"+in.Name+"/"+doc.name, []byte(doc.body))
		if err != nil {
			return nil, nil, err
		}
		*doc.url = u
	}
	var b store.Batch
	var ver *Version
	if in.SemanticVersion != "" || in.TemplateBody != "" {
		v, err := s.newVersion(ctx, a.ID, in.SemanticVersion, in.TemplateBody, in.SourceCodeURL, in.SourceCodeArchiveURL)
		if err != nil {
			return nil, nil, err
		}
		ver = v
		a.Latest = v.SemanticVersion
		b.PutRecord(nsVersion, a.ID+"\x00"+v.SemanticVersion, mustJSON(v))
	}
	b.PutRecord(nsApp, a.ID, mustJSON(a))
	if err := s.st.Commit(ctx, &b); err != nil {
		return nil, nil, err
	}
	return a, ver, nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// newVersion checks a version's template and describes its parameters.
func (s *Service) newVersion(ctx context.Context, appID, sv, body, sourceURL, archiveURL string) (*Version, error) {
	return s.makeVersion(ctx, appID, sv, body, sourceURL, archiveURL, true)
}

// makeVersion is newVersion; store says whether to write the template to
// object storage now (built-in applications write theirs when deployed).
func (s *Service) makeVersion(ctx context.Context, appID, sv, body, sourceURL, archiveURL string, store bool) (*Version, error) {
	if !semver.MatchString(sv) {
		return nil, errorf(ErrBadRequest, "Invalid semanticVersion: %q. It must be a valid semantic version (semver.org), such as 1.0.0.", sv)
	}
	if body == "" {
		return nil, errorf(ErrBadRequest, "Missing required parameter: templateBody or templateUrl")
	}
	tpl, err := template.Parse([]byte(body))
	if err != nil {
		return nil, errorf(ErrBadRequest, "Invalid template: %v", err)
	}
	decl, err := tpl.Parameters()
	if err != nil {
		return nil, errorf(ErrBadRequest, "Invalid template: %v", err)
	}
	name := appID[strings.LastIndex(appID, "/")+1:]
	owner := strings.Split(appID, ":")[4]
	url := "https://s3.amazonaws.com/" + s.cfg.TemplateBucket + "/" + owner + "/" + name + "/" + sv + "/template.yaml"
	if store {
		var err error
		if url, err = s.cfg.Templates.PutTemplate(ctx, owner+"/"+name+"/"+sv+"/template.yaml", []byte(body)); err != nil {
			return nil, err
		}
	}
	v := &Version{TemplateURL: url, ApplicationID: appID, SemanticVersion: sv, TemplateBody: body, SourceCodeURL: sourceURL,
		SourceCodeArchiveURL: archiveURL, Created: s.cfg.Clock.Now().UnixMilli(), Parameters: []Parameter{},
		RequiredCapabilities: capabilities(tpl), ResourcesSupported: true}
	refs := map[string][]string{}
	for name, r := range tpl.Resources() {
		for _, ref := range template.References(r["Properties"]) {
			refs[ref] = append(refs[ref], name)
		}
	}
	for _, d := range decl {
		p := Parameter{Name: d.Name, Type: d.Type, Description: d.Description, AllowedValues: d.AllowedValues,
			AllowedPattern: d.AllowedPattern, ConstraintDescription: d.ConstraintDescription, NoEcho: d.NoEcho,
			MaxLength: d.MaxLength, MinLength: d.MinLength, MaxValue: d.MaxValue, MinValue: d.MinValue, ReferencedByResources: refs[d.Name]}
		if d.Default != nil {
			def := *d.Default
			p.DefaultValue = &def
		}
		if p.ReferencedByResources == nil {
			p.ReferencedByResources = []string{}
		}
		sort.Strings(p.ReferencedByResources)
		v.Parameters = append(v.Parameters, p)
	}
	return v, nil
}

// capabilities are the capabilities deploying a template needs.
func capabilities(tpl *template.Template) []string {
	set := map[string]bool{}
	for _, r := range tpl.Resources() {
		typ, _ := r["Type"].(string)
		props, _ := r["Properties"].(map[string]any)
		switch {
		case typ == "AWS::IAM::Role" && props["RoleName"] != nil, typ == "AWS::IAM::ManagedPolicy" && props["ManagedPolicyName"] != nil:
			set["CAPABILITY_NAMED_IAM"] = true
		case strings.HasPrefix(typ, "AWS::IAM::"):
			set["CAPABILITY_IAM"] = true
		case typ == "AWS::Serverless::Function", typ == "AWS::Serverless::StateMachine":
			if props["Role"] == nil {
				set["CAPABILITY_IAM"] = true
			}
		case typ == "AWS::Serverless::Application":
			set["CAPABILITY_AUTO_EXPAND"] = true
		}
		if typ == "AWS::Serverless::Application" || typ == "AWS::CloudFormation::Stack" {
			set["CAPABILITY_AUTO_EXPAND"] = true
		}
	}
	out := []string{}
	for c := range set {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// CreateVersion adds a version to an application the caller owns.
func (s *Service) CreateVersion(ctx context.Context, caller, appID, sv, body, sourceURL, archiveURL string) (*Version, error) {
	a, err := s.getApp(ctx, appID)
	if err != nil {
		return nil, err
	}
	if a.Owner != caller {
		return nil, errorf(ErrForbidden, "Only the owner of application %s can create versions.", appID)
	}
	if _, err := s.st.GetRecord(ctx, nsVersion, appID+"\x00"+sv); err == nil {
		return nil, errorf(ErrConflict, "Cannot publish version %s for application %s because it already exists.", sv, appID)
	}
	v, err := s.newVersion(ctx, appID, sv, body, sourceURL, archiveURL)
	if err != nil {
		return nil, err
	}
	if a.Latest == "" || compareSemver(sv, a.Latest) > 0 {
		a.Latest = sv
	}
	var b store.Batch
	b.PutRecord(nsVersion, appID+"\x00"+sv, mustJSON(v))
	b.PutRecord(nsApp, appID, mustJSON(a))
	if err := s.st.Commit(ctx, &b); err != nil {
		return nil, err
	}
	return v, nil
}

// compareSemver orders versions by major, minor, patch; a pre-release
// sorts before its release.
func compareSemver(a, b string) int {
	core := func(v string) ([3]int, string) {
		v, _, _ = strings.Cut(v, "+")
		main, pre, _ := strings.Cut(v, "-")
		var n [3]int
		for i, p := range strings.SplitN(main, ".", 3) {
			n[i], _ = strconv.Atoi(p)
		}
		return n, pre
	}
	na, pa := core(a)
	nb, pb := core(b)
	for i := range na {
		if na[i] != nb[i] {
			if na[i] < nb[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case pa == pb:
		return 0
	case pa == "":
		return 1
	case pb == "":
		return -1
	case pa < pb:
		return -1
	}
	return 1
}

// allowed reports whether caller may do action on the application.
func allowed(a *Application, caller, action string) bool {
	if caller == a.Owner {
		return true
	}
	for _, st := range a.Policy {
		principal := false
		for _, p := range st.Principals {
			if p == "*" || p == caller {
				principal = true
			}
		}
		if !principal {
			continue
		}
		for _, act := range st.Actions {
			// "Deploy" grants what deploying needs.
			if act == action || act == "Deploy" && (action == "GetApplication" || action == "CreateCloudFormationChangeSet" ||
				action == "CreateCloudFormationTemplate" || action == "ListApplicationVersions" || action == "SearchApplications") {
				return true
			}
		}
	}
	return false
}

func (s *Service) access(ctx context.Context, caller, appID, action string) (*Application, error) {
	a, err := s.getApp(ctx, appID)
	if err != nil {
		return nil, err
	}
	if !allowed(a, caller, action) {
		return nil, errorf(ErrForbidden, "Application %s is not shared with account %s for %s.", appID, caller, action)
	}
	return a, nil
}

func (s *Service) version(ctx context.Context, a *Application, sv string) (*Version, error) {
	if sv == "" {
		sv = a.Latest
	}
	if sv == "" {
		return nil, errorf(ErrNotFound, "Application %s has no versions.", a.ID)
	}
	raw, err := s.st.GetRecord(ctx, nsVersion, a.ID+"\x00"+sv)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errorf(ErrNotFound, "Application %s with version %s could not be found.", a.ID, sv)
	}
	if err != nil {
		return nil, err
	}
	var v Version
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("%w: version: %v", store.ErrCorrupt, err)
	}
	return &v, nil
}

// GetApplication returns an application and one of its versions (the
// newest when sv is empty).
func (s *Service) GetApplication(ctx context.Context, caller, appID, sv string) (*Application, *Version, error) {
	a, err := s.access(ctx, caller, appID, "GetApplication")
	if err != nil {
		return nil, nil, err
	}
	if a.Latest == "" && sv == "" {
		return a, nil, nil
	}
	v, err := s.version(ctx, a, sv)
	if err != nil {
		return nil, nil, err
	}
	return a, v, nil
}

// ListApplications lists the caller's applications, by ID.
func (s *Service) ListApplications(ctx context.Context, caller string) ([]Application, error) {
	var out []Application
	err := s.st.ScanRecords(ctx, nsApp, "", func(_ string, v []byte) error {
		var a Application
		if err := json.Unmarshal(v, &a); err != nil {
			return fmt.Errorf("%w: application: %v", store.ErrCorrupt, err)
		}
		if a.Owner == caller {
			out = append(out, a)
		}
		return nil
	})
	return out, err
}

// ListVersions lists an application's versions, oldest first.
func (s *Service) ListVersions(ctx context.Context, caller, appID string) ([]Version, error) {
	if _, err := s.access(ctx, caller, appID, "ListApplicationVersions"); err != nil {
		return nil, err
	}
	var out []Version
	err := s.st.ScanRecords(ctx, nsVersion, appID+"\x00", func(_ string, v []byte) error {
		var ver Version
		if err := json.Unmarshal(v, &ver); err != nil {
			return fmt.Errorf("%w: version: %v", store.ErrCorrupt, err)
		}
		out = append(out, ver)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return compareSemver(out[i].SemanticVersion, out[j].SemanticVersion) < 0 })
	return out, err
}

// Dependency is a nested application of a version.
type Dependency struct{ ApplicationID, SemanticVersion string }

// Dependencies lists the repository applications a version nests.
func (s *Service) Dependencies(ctx context.Context, caller, appID, sv string) ([]Dependency, error) {
	a, err := s.access(ctx, caller, appID, "GetApplication")
	if err != nil {
		return nil, err
	}
	v, err := s.version(ctx, a, sv)
	if err != nil {
		return nil, err
	}
	tpl, err := template.Parse([]byte(v.TemplateBody))
	if err != nil {
		return nil, err
	}
	out := []Dependency{}
	for _, r := range tpl.Resources() {
		if r["Type"] != "AWS::Serverless::Application" {
			continue
		}
		props, _ := r["Properties"].(map[string]any)
		loc, _ := props["Location"].(map[string]any)
		id, _ := loc["ApplicationId"].(string)
		ver := fmt.Sprint(loc["SemanticVersion"])
		if id != "" {
			out = append(out, Dependency{id, ver})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ApplicationID < out[j].ApplicationID })
	return out, nil
}

// UpdateInput is UpdateApplication's request; nil fields stay.
type UpdateInput struct {
	Author, Description, HomePageURL, ReadmeURL, ReadmeBody *string
	Labels                                                  []string
}

// UpdateApplication changes an application's metadata.
func (s *Service) UpdateApplication(ctx context.Context, caller, appID string, in UpdateInput) (*Application, *Version, error) {
	a, err := s.getApp(ctx, appID)
	if err != nil {
		return nil, nil, err
	}
	if a.Owner != caller {
		return nil, nil, errorf(ErrForbidden, "Only the owner of application %s can update it.", appID)
	}
	if in.Author != nil {
		a.Author = *in.Author
	}
	if in.Description != nil {
		if len(*in.Description) > 256 {
			return nil, nil, errorf(ErrBadRequest, "Invalid description: it must be at most 256 characters.")
		}
		a.Description = *in.Description
	}
	if in.HomePageURL != nil {
		a.HomePageURL = *in.HomePageURL
	}
	if in.ReadmeURL != nil {
		a.ReadmeURL = *in.ReadmeURL
	}
	if in.ReadmeBody != nil {
		u, err := s.cfg.Templates.PutTemplate(ctx, a.Owner+"/"+a.Name+"/README.md", []byte(*in.ReadmeBody))
		if err != nil {
			return nil, nil, err
		}
		a.ReadmeURL = u
	}
	if in.Labels != nil {
		a.Labels = in.Labels
	}
	var b store.Batch
	b.PutRecord(nsApp, appID, mustJSON(a))
	if err := s.st.Commit(ctx, &b); err != nil {
		return nil, nil, err
	}
	if a.Latest == "" {
		return a, nil, nil
	}
	v, err := s.version(ctx, a, "")
	return a, v, err
}

// DeleteApplication deletes an application and its versions.
func (s *Service) DeleteApplication(ctx context.Context, caller, appID string) error {
	a, err := s.getApp(ctx, appID)
	if err != nil {
		return err
	}
	if a.Owner != caller {
		return errorf(ErrForbidden, "Only the owner of application %s can delete it.", appID)
	}
	var b store.Batch
	b.DeleteRecord(nsApp, appID)
	err = s.st.ScanRecords(ctx, nsVersion, appID+"\x00", func(k string, _ []byte) error {
		b.DeleteRecord(nsVersion, k)
		return nil
	})
	if err != nil {
		return err
	}
	return s.st.Commit(ctx, &b)
}

var validActions = map[string]bool{"GetApplication": true, "CreateCloudFormationChangeSet": true, "CreateCloudFormationTemplate": true,
	"ListApplicationVersions": true, "SearchApplications": true, "Deploy": true, "UnshareApplication": true}

// Policy returns an application's policy.
func (s *Service) Policy(ctx context.Context, caller, appID string) ([]Statement, error) {
	a, err := s.getApp(ctx, appID)
	if err != nil {
		return nil, err
	}
	if a.Owner != caller {
		return nil, errorf(ErrForbidden, "Only the owner of application %s can read its policy.", appID)
	}
	if a.Policy == nil {
		return []Statement{}, nil
	}
	return a.Policy, nil
}

// PutPolicy replaces an application's policy.
func (s *Service) PutPolicy(ctx context.Context, caller, appID string, statements []Statement) ([]Statement, error) {
	a, err := s.getApp(ctx, appID)
	if err != nil {
		return nil, err
	}
	if a.Owner != caller {
		return nil, errorf(ErrForbidden, "Only the owner of application %s can change its policy.", appID)
	}
	for i := range statements {
		st := &statements[i]
		if len(st.Principals) == 0 || len(st.Actions) == 0 {
			return nil, errorf(ErrBadRequest, "Invalid policy statement: principals and actions are required.")
		}
		for _, p := range st.Principals {
			if p != "*" && !accountID.MatchString(p) {
				return nil, errorf(ErrBadRequest, "Invalid principal: %s. A principal is an AWS account ID or *.", p)
			}
		}
		for _, act := range st.Actions {
			if !validActions[act] {
				return nil, errorf(ErrBadRequest, "Invalid action: %s.", act)
			}
		}
		if st.StatementID == "" {
			st.StatementID = uuid.New()
		}
	}
	a.Policy = statements
	var b store.Batch
	b.PutRecord(nsApp, appID, mustJSON(a))
	if err := s.st.Commit(ctx, &b); err != nil {
		return nil, err
	}
	return statements, nil
}

type templateRec struct {
	ApplicationID   string `json:"applicationId"`
	SemanticVersion string `json:"semanticVersion"`
	URL             string `json:"url"`
	Created         int64  `json:"created"`
}

// templateTTL is how long a template made for deployment stays
// available, as in the repository (6 hours).
const templateTTL = 6 * time.Hour

// CreateTemplate makes a version's template available for deployment.
func (s *Service) CreateTemplate(ctx context.Context, caller, appID, sv string) (*Template, error) {
	a, err := s.access(ctx, caller, appID, "CreateCloudFormationTemplate")
	if err != nil {
		return nil, err
	}
	v, err := s.version(ctx, a, sv)
	if err != nil {
		return nil, err
	}
	if s.cfg.BeforeDeploy != nil {
		if err := s.cfg.BeforeDeploy(ctx, a); err != nil {
			return nil, err
		}
	}
	id := uuid.New()
	url, err := s.cfg.Templates.PutTemplate(ctx, a.Name+"/"+v.SemanticVersion+"/"+id+"/template.yaml", []byte(v.TemplateBody))
	if err != nil {
		return nil, err
	}
	now := s.cfg.Clock.Now()
	rec := templateRec{ApplicationID: appID, SemanticVersion: v.SemanticVersion, URL: url, Created: now.UnixMilli()}
	var b store.Batch
	b.PutRecord(nsTemplate, id, mustJSON(rec))
	if err := s.st.Commit(ctx, &b); err != nil {
		return nil, err
	}
	return &Template{ID: id, ApplicationID: appID, SemanticVersion: v.SemanticVersion, URL: url, Created: now, Expires: now.Add(templateTTL)}, nil
}

// GetTemplate returns a template made for deployment.
func (s *Service) GetTemplate(ctx context.Context, caller, appID, id string) (*Template, error) {
	if _, err := s.access(ctx, caller, appID, "CreateCloudFormationTemplate"); err != nil {
		return nil, err
	}
	raw, err := s.st.GetRecord(ctx, nsTemplate, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errorf(ErrNotFound, "Template %s could not be found.", id)
	}
	if err != nil {
		return nil, err
	}
	var rec templateRec
	json.Unmarshal(raw, &rec)
	if rec.ApplicationID != appID {
		return nil, errorf(ErrNotFound, "Template %s could not be found.", id)
	}
	created := time.UnixMilli(rec.Created)
	return &Template{ID: id, ApplicationID: appID, SemanticVersion: rec.SemanticVersion, URL: rec.URL, Created: created, Expires: created.Add(templateTTL)}, nil
}

// TemplateBody is the template a request gives inline or by URL (read
// from object storage).
func (s *Service) TemplateBody(ctx context.Context, body, url string) (string, error) {
	switch {
	case body != "" && url != "":
		return "", errorf(ErrBadRequest, "Specify either templateBody or templateUrl, not both.")
	case body != "" || url == "":
		return body, nil
	case s.cfg.Fetch == nil:
		return "", errorf(ErrBadRequest, "Invalid templateUrl: %s", url)
	}
	b, err := s.cfg.Fetch(ctx, url)
	if err != nil {
		return "", errorf(ErrBadRequest, "Invalid templateUrl: %s (%v)", url, err)
	}
	return string(b), nil
}

// Resolve returns the URL of a template for an application version that
// account may deploy: what AWS::Serverless::Application resources with an
// ApplicationId resolve to.
func (s *Service) Resolve(ctx context.Context, account, appID, sv string) (string, error) {
	t, err := s.CreateTemplate(ctx, account, appID, sv)
	if err != nil {
		var re *Error
		if errors.As(err, &re) {
			return "", errors.New(re.Message)
		}
		return "", err
	}
	return t.URL, nil
}

// InstallBuiltin publishes an application that forkline ships, owned by
// in.Owner: the application and its version are written as given, so that
// a newer forkline replaces what an older one installed.
func (s *Service) InstallBuiltin(ctx context.Context, in CreateInput) error {
	a := &Application{ID: s.AppID(in.Owner, in.Name), Name: in.Name, Author: in.Author, Description: in.Description,
		HomePageURL: in.HomePageURL, Labels: in.Labels, LicenseURL: in.LicenseURL, ReadmeURL: in.ReadmeURL,
		SpdxLicenseID: in.SpdxLicenseID, Created: s.cfg.Clock.Now().UnixMilli(), Owner: in.Owner, Policy: in.Policy,
		Verified: in.Verified, Latest: in.SemanticVersion}
	if old, err := s.getApp(ctx, a.ID); err == nil {
		a.Created = old.Created
		if old.Latest != "" && compareSemver(old.Latest, a.Latest) > 0 {
			a.Latest = old.Latest
		}
	}
	v, err := s.makeVersion(ctx, a.ID, in.SemanticVersion, in.TemplateBody, in.SourceCodeURL, "", false)
	if err != nil {
		return err
	}
	if old, err := s.version(ctx, a, in.SemanticVersion); err == nil {
		v.Created = old.Created
	}
	var b store.Batch
	b.PutRecord(nsApp, a.ID, mustJSON(a))
	b.PutRecord(nsVersion, a.ID+"\x00"+v.SemanticVersion, mustJSON(v))
	return s.st.Commit(ctx, &b)
}

// Unshare removes an organization from an application's policy
// (UnshareApplication): every statement that shares the application with
// that organization loses it, and a statement left with no organization
// and that relied on one is dropped.
func (s *Service) Unshare(ctx context.Context, caller, appID, org string) error {
	a, err := s.getApp(ctx, appID)
	if err != nil {
		return err
	}
	if a.Owner != caller {
		return errorf(ErrForbidden, "Only the owner of application %s can unshare it.", appID)
	}
	if org == "" {
		return errorf(ErrBadRequest, "Missing required parameter: organizationId")
	}
	var keep []Statement
	for _, st := range a.Policy {
		var orgs []string
		had := false
		for _, o := range st.PrincipalOrgIDs {
			if o == org {
				had = true
				continue
			}
			orgs = append(orgs, o)
		}
		if had && len(orgs) == 0 {
			continue
		}
		st.PrincipalOrgIDs = orgs
		keep = append(keep, st)
	}
	a.Policy = keep
	var b store.Batch
	b.PutRecord(nsApp, appID, mustJSON(a))
	return s.st.Commit(ctx, &b)
}
