// Package repoapi is the Serverless Application Repository wire adapter:
// REST-JSON under /applications, addressed by SigV4 scope
// "serverlessrepo" (the path alone would be an S3 bucket).
package repoapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/forkline/forkline/internal/repo"
)

// Deployer creates a change set from a template URL for the repository's
// CreateCloudFormationChangeSet.
type Deployer interface {
	CreateChangeSet(ctx context.Context, in ChangeSetInput) (changeSetID, stackID string, err error)
}

// ChangeSetInput is the change set a deployment asks for.
type ChangeSetInput struct {
	StackName, ChangeSetName, Description, TemplateURL string
	Parameters                                         map[string]string
	Capabilities                                       []string
	Tags                                               map[string]string
}

// Handler serves the repository. It is safe for concurrent use.
type Handler struct {
	svc    *repo.Service
	deploy Deployer
	log    *slog.Logger
}

// New returns the adapter.
func New(svc *repo.Service, deploy Deployer, log *slog.Logger) *Handler {
	return &Handler{svc: svc, deploy: deploy, log: log}
}

// Request is one request.
type Request struct {
	Ctx       context.Context
	RequestID string
	Method    string
	Path      string // escaped
	Query     url.Values
	Body      []byte
	Caller    string // the caller's account
}

var statuses = map[string]int{"BadRequestException": 400, "ConflictException": 409, "ForbiddenException": 403,
	"NotFoundException": 404, "TooManyRequestsException": 429, "InternalServerErrorException": 500}

// WriteError writes an error in the repository's JSON shape.
func WriteError(w http.ResponseWriter, requestID, code, message string) {
	status := statuses[code]
	if status == 0 {
		status = 400
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", code)
	w.Header().Set("X-Amzn-Requestid", requestID)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"errorCode": code, "message": message})
}

func bad(msg string) error { return &repo.Error{Kind: repo.ErrBadRequest, Message: msg} }

// Serve handles one request and returns the operation's name.
func (h *Handler) Serve(w http.ResponseWriter, r *Request) string {
	op, status, out, err := h.route(r)
	if err != nil {
		var re *repo.Error
		if errors.As(err, &re) {
			WriteError(w, r.RequestID, re.Kind.Error(), re.Message)
		} else {
			h.log.Error("internal error", "requestId", r.RequestID, "err", err)
			WriteError(w, r.RequestID, "InternalServerErrorException", "An internal error occurred.")
		}
		return op
	}
	w.Header().Set("X-Amzn-Requestid", r.RequestID)
	if out == nil {
		w.WriteHeader(status)
		return op
	}
	b, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
	return op
}

func iso(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z") }

func appJSON(a *repo.Application, v *repo.Version) map[string]any {
	m := map[string]any{"applicationId": a.ID, "name": a.Name, "author": a.Author, "description": a.Description,
		"creationTime": iso(a.Created), "labels": a.Labels, "isVerifiedAuthor": a.Verified}
	if a.Labels == nil {
		m["labels"] = []string{}
	}
	for k, val := range map[string]string{"homePageUrl": a.HomePageURL, "licenseUrl": a.LicenseURL, "readmeUrl": a.ReadmeURL, "spdxLicenseId": a.SpdxLicenseID} {
		if val != "" {
			m[k] = val
		}
	}
	if v != nil {
		m["version"] = versionJSON(v)
	}
	return m
}

func versionJSON(v *repo.Version) map[string]any {
	m := map[string]any{"applicationId": v.ApplicationID, "semanticVersion": v.SemanticVersion, "creationTime": iso(v.Created),
		"parameterDefinitions": v.Parameters, "requiredCapabilities": v.RequiredCapabilities, "resourcesSupported": v.ResourcesSupported,
		"templateUrl": v.TemplateURL}
	if v.SourceCodeURL != "" {
		m["sourceCodeUrl"] = v.SourceCodeURL
	}
	if v.SourceCodeArchiveURL != "" {
		m["sourceCodeArchiveUrl"] = v.SourceCodeArchiveURL
	}
	return m
}

// page cuts a list by maxItems and nextToken (an offset).
func page(q url.Values, n int) (start, end int, next string, err error) {
	if t := q.Get("nextToken"); t != "" {
		if start, err = strconv.Atoi(t); err != nil || start < 0 || start > n {
			return 0, 0, "", bad("Invalid nextToken.")
		}
	}
	max := 100
	if m := q.Get("maxItems"); m != "" {
		if max, err = strconv.Atoi(m); err != nil || max < 1 || max > 100 {
			return 0, 0, "", bad("Invalid maxItems: it must be between 1 and 100.")
		}
	}
	end = start + max
	if end > n {
		end = n
	}
	if end < n {
		next = strconv.Itoa(end)
	}
	return start, end, next, nil
}

func (h *Handler) body(r *Request, v any) error {
	if len(r.Body) == 0 {
		return nil
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		return bad("Could not parse the request body as JSON.")
	}
	return nil
}

func (h *Handler) route(r *Request) (op string, status int, out any, err error) {
	ctx := r.Ctx
	parts := strings.Split(strings.TrimPrefix(r.Path, "/"), "/")
	if len(parts) == 0 || parts[0] != "applications" {
		return "", 0, nil, &repo.Error{Kind: repo.ErrNotFound, Message: "No such resource: " + r.Path}
	}
	if len(parts) == 1 {
		switch r.Method {
		case http.MethodPost:
			var in struct {
				Name, Author, Description, HomePageURL, LicenseURL, LicenseBody, ReadmeURL, ReadmeBody, SpdxLicenseID string
				SemanticVersion, TemplateBody, TemplateURL, SourceCodeURL, SourceCodeArchiveURL                       string
				Labels                                                                                                []string
			}
			if err := h.body(r, &in); err != nil {
				return "CreateApplication", 0, nil, err
			}
			raw := map[string]any{}
			json.Unmarshal(r.Body, &raw)
			str := func(k string) string { s, _ := raw[k].(string); return s }
			body, err := h.svc.TemplateBody(ctx, str("templateBody"), str("templateUrl"))
			if err != nil {
				return "CreateApplication", 0, nil, err
			}
			var labels []string
			if l, ok := raw["labels"].([]any); ok {
				for _, e := range l {
					if s, ok := e.(string); ok {
						labels = append(labels, s)
					}
				}
			}
			a, v, err := h.svc.CreateApplication(ctx, repo.CreateInput{Name: str("name"), Author: str("author"), Description: str("description"),
				HomePageURL: str("homePageUrl"), LicenseURL: str("licenseUrl"), ReadmeURL: str("readmeUrl"), SpdxLicenseID: str("spdxLicenseId"),
				LicenseBody: str("licenseBody"), ReadmeBody: str("readmeBody"),
				Labels: labels, SemanticVersion: str("semanticVersion"), TemplateBody: body, SourceCodeURL: str("sourceCodeUrl"),
				SourceCodeArchiveURL: str("sourceCodeArchiveUrl"), Owner: r.Caller})
			if err != nil {
				return "CreateApplication", 0, nil, err
			}
			return "CreateApplication", http.StatusCreated, appJSON(a, v), nil
		case http.MethodGet:
			apps, err := h.svc.ListApplications(ctx, r.Caller)
			if err != nil {
				return "ListApplications", 0, nil, err
			}
			start, end, next, err := page(r.Query, len(apps))
			if err != nil {
				return "ListApplications", 0, nil, err
			}
			list := []map[string]any{}
			for i := start; i < end; i++ {
				m := appJSON(&apps[i], nil)
				delete(m, "isVerifiedAuthor")
				delete(m, "licenseUrl")
				delete(m, "readmeUrl")
				list = append(list, m)
			}
			res := map[string]any{"applications": list}
			if next != "" {
				res["nextToken"] = next
			}
			return "ListApplications", http.StatusOK, res, nil
		}
		return "", 0, nil, &repo.Error{Kind: repo.ErrNotFound, Message: "No such operation: " + r.Method + " /applications"}
	}
	appID, uerr := url.PathUnescape(parts[1])
	if uerr != nil || appID == "" {
		return "", 0, nil, bad("Invalid applicationId.")
	}
	sub := parts[2:]
	switch {
	case len(sub) == 0 && r.Method == http.MethodGet:
		a, v, err := h.svc.GetApplication(ctx, r.Caller, appID, r.Query.Get("semanticVersion"))
		if err != nil {
			return "GetApplication", 0, nil, err
		}
		return "GetApplication", http.StatusOK, appJSON(a, v), nil
	case len(sub) == 0 && r.Method == http.MethodPatch:
		var in struct {
			Author, Description, HomePageURL, ReadmeURL, ReadmeBody *string
			Labels                                                  []string
		}
		raw := map[string]any{}
		if err := h.body(r, &raw); err != nil {
			return "UpdateApplication", 0, nil, err
		}
		get := func(k string) *string {
			if s, ok := raw[k].(string); ok {
				return &s
			}
			return nil
		}
		in.Author, in.Description, in.HomePageURL, in.ReadmeURL = get("author"), get("description"), get("homePageUrl"), get("readmeUrl")
		in.ReadmeBody = get("readmeBody")
		if l, ok := raw["labels"].([]any); ok {
			in.Labels = []string{}
			for _, e := range l {
				if s, ok := e.(string); ok {
					in.Labels = append(in.Labels, s)
				}
			}
		}
		a, v, err := h.svc.UpdateApplication(ctx, r.Caller, appID, repo.UpdateInput{Author: in.Author, Description: in.Description,
			HomePageURL: in.HomePageURL, ReadmeURL: in.ReadmeURL, ReadmeBody: in.ReadmeBody, Labels: in.Labels})
		if err != nil {
			return "UpdateApplication", 0, nil, err
		}
		return "UpdateApplication", http.StatusOK, appJSON(a, v), nil
	case len(sub) == 0 && r.Method == http.MethodDelete:
		return "DeleteApplication", http.StatusNoContent, nil, h.svc.DeleteApplication(ctx, r.Caller, appID)
	case len(sub) == 2 && sub[0] == "versions" && r.Method == http.MethodPut:
		sv, _ := url.PathUnescape(sub[1])
		raw := map[string]any{}
		if err := h.body(r, &raw); err != nil {
			return "CreateApplicationVersion", 0, nil, err
		}
		str := func(k string) string { s, _ := raw[k].(string); return s }
		body, err := h.svc.TemplateBody(ctx, str("templateBody"), str("templateUrl"))
		if err != nil {
			return "CreateApplicationVersion", 0, nil, err
		}
		v, err := h.svc.CreateVersion(ctx, r.Caller, appID, sv, body, str("sourceCodeUrl"), str("sourceCodeArchiveUrl"))
		if err != nil {
			return "CreateApplicationVersion", 0, nil, err
		}
		return "CreateApplicationVersion", http.StatusCreated, versionJSON(v), nil
	case len(sub) == 1 && sub[0] == "versions" && r.Method == http.MethodGet:
		vs, err := h.svc.ListVersions(ctx, r.Caller, appID)
		if err != nil {
			return "ListApplicationVersions", 0, nil, err
		}
		start, end, next, err := page(r.Query, len(vs))
		if err != nil {
			return "ListApplicationVersions", 0, nil, err
		}
		list := []map[string]any{}
		for _, v := range vs[start:end] {
			m := map[string]any{"applicationId": v.ApplicationID, "semanticVersion": v.SemanticVersion, "creationTime": iso(v.Created)}
			if v.SourceCodeURL != "" {
				m["sourceCodeUrl"] = v.SourceCodeURL
			}
			list = append(list, m)
		}
		res := map[string]any{"versions": list}
		if next != "" {
			res["nextToken"] = next
		}
		return "ListApplicationVersions", http.StatusOK, res, nil
	case len(sub) == 1 && sub[0] == "dependencies" && r.Method == http.MethodGet:
		deps, err := h.svc.Dependencies(ctx, r.Caller, appID, r.Query.Get("semanticVersion"))
		if err != nil {
			return "ListApplicationDependencies", 0, nil, err
		}
		start, end, next, err := page(r.Query, len(deps))
		if err != nil {
			return "ListApplicationDependencies", 0, nil, err
		}
		list := []map[string]string{}
		for _, d := range deps[start:end] {
			list = append(list, map[string]string{"applicationId": d.ApplicationID, "semanticVersion": d.SemanticVersion})
		}
		res := map[string]any{"dependencies": list}
		if next != "" {
			res["nextToken"] = next
		}
		return "ListApplicationDependencies", http.StatusOK, res, nil
	case len(sub) == 1 && sub[0] == "policy" && r.Method == http.MethodGet:
		st, err := h.svc.Policy(ctx, r.Caller, appID)
		if err != nil {
			return "GetApplicationPolicy", 0, nil, err
		}
		return "GetApplicationPolicy", http.StatusOK, map[string]any{"statements": st}, nil
	case len(sub) == 1 && sub[0] == "policy" && r.Method == http.MethodPut:
		var in struct {
			Statements []repo.Statement `json:"statements"`
		}
		if err := h.body(r, &in); err != nil {
			return "PutApplicationPolicy", 0, nil, err
		}
		st, err := h.svc.PutPolicy(ctx, r.Caller, appID, in.Statements)
		if err != nil {
			return "PutApplicationPolicy", 0, nil, err
		}
		return "PutApplicationPolicy", http.StatusOK, map[string]any{"statements": st}, nil
	case len(sub) == 1 && sub[0] == "templates" && r.Method == http.MethodPost:
		var in struct {
			SemanticVersion string `json:"semanticVersion"`
		}
		if err := h.body(r, &in); err != nil {
			return "CreateCloudFormationTemplate", 0, nil, err
		}
		t, err := h.svc.CreateTemplate(ctx, r.Caller, appID, in.SemanticVersion)
		if err != nil {
			return "CreateCloudFormationTemplate", 0, nil, err
		}
		return "CreateCloudFormationTemplate", http.StatusCreated, templateJSON(t), nil
	case len(sub) == 2 && sub[0] == "templates" && r.Method == http.MethodGet:
		t, err := h.svc.GetTemplate(ctx, r.Caller, appID, sub[1])
		if err != nil {
			return "GetCloudFormationTemplate", 0, nil, err
		}
		return "GetCloudFormationTemplate", http.StatusOK, templateJSON(t), nil
	case len(sub) == 1 && sub[0] == "unshare" && r.Method == http.MethodPost:
		var in struct {
			OrganizationID string `json:"organizationId"`
		}
		if err := h.body(r, &in); err != nil {
			return "UnshareApplication", 0, nil, err
		}
		return "UnshareApplication", http.StatusNoContent, nil, h.svc.Unshare(ctx, r.Caller, appID, in.OrganizationID)
	case len(sub) == 1 && sub[0] == "changesets" && r.Method == http.MethodPost:
		return h.changeSet(r, appID)
	}
	return "", 0, nil, &repo.Error{Kind: repo.ErrNotFound, Message: "No such operation: " + r.Method + " " + r.Path}
}

func templateJSON(t *repo.Template) map[string]any {
	return map[string]any{"applicationId": t.ApplicationID, "semanticVersion": t.SemanticVersion, "templateId": t.ID,
		"templateUrl": t.URL, "status": "ACTIVE", "creationTime": t.Created.UTC().Format("2006-01-02T15:04:05.000Z"),
		"expirationTime": t.Expires.UTC().Format("2006-01-02T15:04:05.000Z")}
}

// changeSet serves CreateCloudFormationChangeSet: the stack is named
// serverlessrepo-<stackName>, as the repository names the stacks it
// deploys.
func (h *Handler) changeSet(r *Request, appID string) (string, int, any, error) {
	const op = "CreateCloudFormationChangeSet"
	var in struct {
		StackName, SemanticVersion, TemplateID, ChangeSetName, Description string
		Capabilities                                                       []string
		ParameterOverrides                                                 []struct{ Name, Value string }
		Tags                                                               []struct{ Key, Value string }
	}
	if err := h.body(r, &in); err != nil {
		return op, 0, nil, err
	}
	if in.StackName == "" {
		return op, 0, nil, bad("Missing required parameter: stackName")
	}
	var t *repo.Template
	var err error
	if in.TemplateID != "" {
		t, err = h.svc.GetTemplate(r.Ctx, r.Caller, appID, in.TemplateID)
	} else {
		t, err = h.svc.CreateTemplate(r.Ctx, r.Caller, appID, in.SemanticVersion)
	}
	if err != nil {
		return op, 0, nil, err
	}
	params := map[string]string{}
	for _, p := range in.ParameterOverrides {
		params[p.Name] = p.Value
	}
	tags := map[string]string{}
	for _, tg := range in.Tags {
		tags[tg.Key] = tg.Value
	}
	name := in.ChangeSetName
	if name == "" {
		name = "a" + strings.ReplaceAll(t.ID, "-", "")
	}
	stackName := in.StackName
	if !strings.HasPrefix(stackName, "serverlessrepo-") {
		stackName = "serverlessrepo-" + stackName
	}
	csID, stackID, err := h.deploy.CreateChangeSet(r.Ctx, ChangeSetInput{StackName: stackName, ChangeSetName: name, Description: in.Description,
		TemplateURL: t.URL, Parameters: params, Capabilities: in.Capabilities, Tags: tags})
	if err != nil {
		return op, 0, nil, err
	}
	return op, http.StatusCreated, map[string]any{"applicationId": appID, "changeSetId": csID, "semanticVersion": t.SemanticVersion, "stackId": stackID}, nil
}
