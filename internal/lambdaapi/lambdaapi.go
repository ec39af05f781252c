// Package lambdaapi is the Lambda wire adapter: the REST-JSON protocol of
// the 2015-03-31 API (paths name the resource, JSON bodies, errors as
// X-Amzn-ErrorType plus a JSON document), decoding each request into a
// call of the function service and encoding its result.
package lambdaapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/forkline/forkline/internal/function"
)

// Request is what the adapter needs of an HTTP request.
type Request struct {
	Ctx       context.Context
	RequestID string
	Method    string
	// Path is the escaped request path.
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// Handler serves Lambda. It is safe for concurrent use.
type Handler struct {
	svc  *function.Service
	log  *slog.Logger
	code CodeStore
}

// CodeStore reads function code and layers from object storage
// (S3Bucket and S3Key).
type CodeStore interface {
	ReadObject(ctx context.Context, bucket, key string, max int64) ([]byte, error)
}

// New returns the Lambda adapter over svc; code, when not nil, serves
// S3Bucket/S3Key code locations.
func New(svc *function.Service, code CodeStore, log *slog.Logger) *Handler {
	return &Handler{svc: svc, log: log, code: code}
}

// maxS3Code bounds code read from object storage (Lambda's limit on a
// package's unzipped size, which its zip cannot exceed).
const maxS3Code = 250 << 20

// s3Code reads code from object storage, with Lambda's error shapes.
func (h *Handler) s3Code(ctx context.Context, bucket, key string) ([]byte, error) {
	if h.code == nil {
		return nil, &function.Error{Kind: function.ErrInvalidParameterValue, Message: "No object storage is configured for S3 code locations."}
	}
	b, err := h.code.ReadObject(ctx, bucket, key, maxS3Code)
	if err != nil {
		code := "InternalError"
		var coder interface{ Unwrap() error }
		if errors.As(err, &coder) && coder.Unwrap() != nil {
			code = coder.Unwrap().Error()
		}
		return nil, &function.Error{Kind: function.ErrInvalidParameterValue,
			Message: fmt.Sprintf("Error occurred while GetObject. S3 Error Code: %s. S3 Error Message: %s", code, strings.TrimPrefix(err.Error(), code+": "))}
	}
	return b, nil
}

// Owns reports whether a path belongs to the Lambda API.
func Owns(path string) bool {
	for _, p := range []string{"/2015-03-31/", "/2016-08-19/", "/2017-03-31/", "/2017-10-31/", "/2018-10-31/", "/2019-09-25/", "/2019-09-30/", "/2021-10-31/"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// apiError is a Lambda error on the wire.
type apiError struct {
	status int
	code   string
	msg    string
}

// lowerMessage lists the errors whose body carries "message" rather than
// "Message" (botocore's lambda model; the SDKs match the key exactly).
var lowerMessage = map[string]bool{
	"InvalidParameterValueException": true, "ResourceConflictException": true, "PreconditionFailedException": true,
	"TooManyRequestsException": true, "CodeStorageExceededException": true, "InvalidRequestContentException": true,
	"ValidationException": true, "UnknownOperationException": true,
}

func (h *Handler) toAPI(r *Request, err error) apiError {
	var fe *function.Error
	if errors.As(err, &fe) {
		code := fe.Kind.Error()
		return apiError{function.HTTPStatus[code], code, fe.Message}
	}
	if errors.Is(err, context.Canceled) {
		return apiError{503, "ServiceException", "The request was cancelled."}
	}
	h.log.Error("internal error", "requestId", r.RequestID, "err", err)
	return apiError{500, "ServiceException", "An internal error occurred."}
}

// WriteError writes a Lambda error (also used by the router for
// authentication failures).
func WriteError(w http.ResponseWriter, requestID string, status int, code, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-ErrorType", code)
	h.Set("X-Amzn-RequestId", requestID)
	w.WriteHeader(status)
	typ := "User"
	if status >= 500 {
		typ = "Service"
	}
	key := "Message"
	if lowerMessage[code] {
		key = "message"
	}
	b, _ := json.Marshal(map[string]string{"Type": typ, key: msg})
	w.Write(b)
}

func writeJSON(w http.ResponseWriter, requestID string, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-RequestId", requestID)
	w.WriteHeader(status)
	if v != nil {
		json.NewEncoder(w).Encode(v)
	}
}

// Serve routes one request by method and path.
func (h *Handler) Serve(w http.ResponseWriter, r *Request) string {
	parts := strings.Split(strings.Trim(r.Path, "/"), "/")
	for i := range parts {
		if u, err := url.PathUnescape(parts[i]); err == nil {
			parts[i] = u
		}
	}
	action, err := h.route(w, r, parts)
	if err != nil {
		e := h.toAPI(r, err)
		WriteError(w, r.RequestID, e.status, e.code, e.msg)
	}
	return action
}

var errUnknownPath = errors.New("unknown path")

func (h *Handler) route(w http.ResponseWriter, r *Request, parts []string) (string, error) {
	n := len(parts)
	fail := func(action string, err error) (string, error) { return action, err }
	switch {
	case n == 2 && parts[0] == "2015-03-31" && parts[1] == "functions" && r.Method == http.MethodPost:
		return fail("CreateFunction", h.createFunction(w, r))
	case n == 2 && parts[0] == "2015-03-31" && parts[1] == "functions" && r.Method == http.MethodGet:
		return fail("ListFunctions", h.listFunctions(w, r))
	case n == 3 && parts[0] == "2015-03-31" && parts[1] == "functions" && r.Method == http.MethodGet:
		return fail("GetFunction", h.getFunction(w, r, parts[2]))
	case n == 3 && parts[0] == "2015-03-31" && parts[1] == "functions" && r.Method == http.MethodDelete:
		return fail("DeleteFunction", h.deleteFunction(w, r, parts[2]))
	case n == 4 && parts[0] == "2015-03-31" && parts[1] == "functions" && parts[3] == "configuration" && r.Method == http.MethodGet:
		return fail("GetFunctionConfiguration", h.getConfiguration(w, r, parts[2]))
	case n == 4 && parts[0] == "2015-03-31" && parts[1] == "functions" && parts[3] == "configuration" && r.Method == http.MethodPut:
		return fail("UpdateFunctionConfiguration", h.updateConfiguration(w, r, parts[2]))
	case n == 4 && parts[0] == "2015-03-31" && parts[1] == "functions" && parts[3] == "code" && r.Method == http.MethodPut:
		return fail("UpdateFunctionCode", h.updateCode(w, r, parts[2]))
	case n == 4 && parts[0] == "2015-03-31" && parts[1] == "functions" && parts[3] == "invocations" && r.Method == http.MethodPost:
		return fail("Invoke", h.invoke(w, r, parts[2]))
	case n == 4 && parts[0] == "2015-03-31" && parts[1] == "functions" && parts[3] == "versions" && r.Method == http.MethodPost:
		var in struct{ CodeSha256, Description, RevisionId string }
		if err := decode(r, &in); err != nil {
			return "PublishVersion", err
		}
		c, err := h.svc.PublishVersion(r.Ctx, parts[2], in.Description, in.CodeSha256, in.RevisionId)
		if err != nil {
			return "PublishVersion", err
		}
		writeJSON(w, r.RequestID, http.StatusCreated, c)
		return "PublishVersion", nil
	case n == 4 && parts[0] == "2015-03-31" && parts[1] == "functions" && parts[3] == "versions" && r.Method == http.MethodGet:
		vs, err := h.svc.ListVersions(r.Ctx, parts[2])
		if err != nil {
			return "ListVersionsByFunction", err
		}
		writeJSON(w, r.RequestID, 200, map[string]any{"Versions": vs})
		return "ListVersionsByFunction", nil
	case n == 4 && parts[0] == "2015-03-31" && parts[1] == "functions" && parts[3] == "aliases" && r.Method == http.MethodPost:
		return fail("CreateAlias", h.createAlias(w, r, parts[2]))
	case n == 4 && parts[0] == "2015-03-31" && parts[1] == "functions" && parts[3] == "aliases" && r.Method == http.MethodGet:
		as, err := h.svc.ListAliases(r.Ctx, parts[2])
		if err != nil {
			return "ListAliases", err
		}
		writeJSON(w, r.RequestID, 200, map[string]any{"Aliases": as})
		return "ListAliases", nil
	case n == 5 && parts[0] == "2015-03-31" && parts[1] == "functions" && parts[3] == "aliases" && r.Method == http.MethodGet:
		a, err := h.svc.GetAlias(r.Ctx, parts[2], parts[4])
		if err != nil {
			return "GetAlias", err
		}
		writeJSON(w, r.RequestID, 200, a)
		return "GetAlias", nil
	case n == 5 && parts[0] == "2015-03-31" && parts[1] == "functions" && parts[3] == "aliases" && r.Method == http.MethodPut:
		return fail("UpdateAlias", h.updateAlias(w, r, parts[2], parts[4]))
	case n == 5 && parts[0] == "2015-03-31" && parts[1] == "functions" && parts[3] == "aliases" && r.Method == http.MethodDelete:
		if err := h.svc.DeleteAlias(r.Ctx, parts[2], parts[4]); err != nil {
			return "DeleteAlias", err
		}
		writeJSON(w, r.RequestID, http.StatusNoContent, nil)
		return "DeleteAlias", nil
	case n == 2 && parts[0] == "2015-03-31" && parts[1] == "event-source-mappings" && r.Method == http.MethodPost:
		return fail("CreateEventSourceMapping", h.createMapping(w, r))
	case n == 2 && parts[0] == "2015-03-31" && parts[1] == "event-source-mappings" && r.Method == http.MethodGet:
		ms, err := h.svc.ListMappings(r.Ctx, r.Query.Get("EventSourceArn"), r.Query.Get("FunctionName"))
		if err != nil {
			return "ListEventSourceMappings", err
		}
		writeJSON(w, r.RequestID, 200, map[string]any{"EventSourceMappings": ms})
		return "ListEventSourceMappings", nil
	case n == 3 && parts[0] == "2015-03-31" && parts[1] == "event-source-mappings" && r.Method == http.MethodGet:
		m, err := h.svc.GetMapping(r.Ctx, parts[2])
		if err != nil {
			return "GetEventSourceMapping", err
		}
		writeJSON(w, r.RequestID, 200, m)
		return "GetEventSourceMapping", nil
	case n == 3 && parts[0] == "2015-03-31" && parts[1] == "event-source-mappings" && r.Method == http.MethodPut:
		return fail("UpdateEventSourceMapping", h.updateMapping(w, r, parts[2]))
	case n == 3 && parts[0] == "2015-03-31" && parts[1] == "event-source-mappings" && r.Method == http.MethodDelete:
		m, err := h.svc.DeleteMapping(r.Ctx, parts[2])
		if err != nil {
			return "DeleteEventSourceMapping", err
		}
		writeJSON(w, r.RequestID, http.StatusAccepted, m)
		return "DeleteEventSourceMapping", nil
	case n == 4 && parts[0] == "2019-09-25" && parts[1] == "functions" && parts[3] == "event-invoke-config":
		return h.eventInvokeConfig(w, r, parts[2])
	case n == 5 && parts[0] == "2019-09-25" && parts[1] == "functions" && parts[3] == "event-invoke-config" && parts[4] == "list" && r.Method == http.MethodGet:
		out := []function.EventInvokeConfig{}
		if c, err := h.svc.GetEventInvokeConfig(r.Ctx, parts[2], ""); err == nil {
			out = append(out, c)
		} else if !errors.Is(err, function.ErrResourceNotFound) {
			return "ListFunctionEventInvokeConfigs", err
		} else if _, _, lerr := h.svc.ParseName(parts[2]); lerr != nil {
			return "ListFunctionEventInvokeConfigs", lerr
		}
		writeJSON(w, r.RequestID, 200, map[string]any{"FunctionEventInvokeConfigs": out})
		return "ListFunctionEventInvokeConfigs", nil
	case n == 4 && parts[1] == "functions" && parts[3] == "concurrency" && (parts[0] == "2017-10-31" || parts[0] == "2019-09-30"):
		return h.concurrency(w, r, parts[2])
	case n == 4 && parts[0] == "2015-03-31" && parts[1] == "functions" && parts[3] == "policy" && r.Method == http.MethodPost:
		var in struct {
			StatementId, Action, Principal, SourceArn, SourceAccount, EventSourceToken, PrincipalOrgID, FunctionUrlAuthType string
		}
		if err := decode(r, &in); err != nil {
			return "AddPermission", err
		}
		ref := parts[2]
		if q := r.Query.Get("Qualifier"); q != "" {
			ref += ":" + q
		}
		stmt, err := h.svc.AddPermission(r.Ctx, ref, function.PermissionInput{StatementID: in.StatementId, Action: in.Action,
			Principal: in.Principal, SourceArn: in.SourceArn, SourceAccount: in.SourceAccount, EventSourceToken: in.EventSourceToken})
		if err != nil {
			return "AddPermission", err
		}
		writeJSON(w, r.RequestID, http.StatusCreated, map[string]string{"Statement": stmt})
		return "AddPermission", nil
	case n == 4 && parts[0] == "2015-03-31" && parts[1] == "functions" && parts[3] == "policy" && r.Method == http.MethodGet:
		doc, rev, err := h.svc.GetPolicy(r.Ctx, parts[2])
		if err != nil {
			return "GetPolicy", err
		}
		writeJSON(w, r.RequestID, 200, map[string]string{"Policy": doc, "RevisionId": rev})
		return "GetPolicy", nil
	case n == 5 && parts[0] == "2015-03-31" && parts[1] == "functions" && parts[3] == "policy" && r.Method == http.MethodDelete:
		if err := h.svc.RemovePermission(r.Ctx, parts[2], parts[4]); err != nil {
			return "RemovePermission", err
		}
		writeJSON(w, r.RequestID, http.StatusNoContent, nil)
		return "RemovePermission", nil
	case n == 3 && parts[0] == "2017-03-31" && parts[1] == "tags":
		return h.tags(w, r, parts[2])
	case n == 2 && parts[0] == "2018-10-31" && parts[1] == "layers" && r.Method == http.MethodGet:
		ls, err := h.svc.ListLayers(r.Ctx)
		if err != nil {
			return "ListLayers", err
		}
		writeJSON(w, r.RequestID, 200, map[string]any{"Layers": ls})
		return "ListLayers", nil
	case n == 4 && parts[0] == "2018-10-31" && parts[1] == "layers" && parts[3] == "versions" && r.Method == http.MethodPost:
		var in struct {
			Description, LicenseInfo                    string
			CompatibleRuntimes, CompatibleArchitectures []string
			Content                                     *struct {
				ZipFile         []byte
				S3Bucket, S3Key string
			}
		}
		if err := decode(r, &in); err != nil {
			return "PublishLayerVersion", err
		}
		if in.Content != nil && in.Content.S3Bucket != "" {
			b, err := h.s3Code(r.Ctx, in.Content.S3Bucket, in.Content.S3Key)
			if err != nil {
				return "PublishLayerVersion", err
			}
			in.Content.ZipFile = b
		}
		pi := function.PublishLayerInput{Name: parts[2], Description: in.Description, LicenseInfo: in.LicenseInfo,
			CompatibleRuntimes: in.CompatibleRuntimes, CompatArchs: in.CompatibleArchitectures}
		if in.Content != nil {
			pi.ZipFile = in.Content.ZipFile
		}
		v, err := h.svc.PublishLayerVersion(r.Ctx, pi)
		if err != nil {
			return "PublishLayerVersion", err
		}
		writeJSON(w, r.RequestID, http.StatusCreated, v)
		return "PublishLayerVersion", nil
	case n == 4 && parts[0] == "2018-10-31" && parts[1] == "layers" && parts[3] == "versions" && r.Method == http.MethodGet:
		vs, err := h.svc.ListLayerVersions(r.Ctx, parts[2])
		if err != nil {
			return "ListLayerVersions", err
		}
		writeJSON(w, r.RequestID, 200, map[string]any{"LayerVersions": vs})
		return "ListLayerVersions", nil
	case n == 5 && parts[0] == "2018-10-31" && parts[1] == "layers" && parts[3] == "versions":
		v, err := strconv.ParseInt(parts[4], 10, 64)
		if err != nil {
			return "GetLayerVersion", &function.Error{Kind: function.ErrInvalidParameterValue, Message: "Invalid layer version " + parts[4]}
		}
		if r.Method == http.MethodDelete {
			if err := h.svc.DeleteLayerVersion(r.Ctx, parts[2], v); err != nil {
				return "DeleteLayerVersion", err
			}
			writeJSON(w, r.RequestID, http.StatusNoContent, nil)
			return "DeleteLayerVersion", nil
		}
		lv, err := h.svc.GetLayerVersion(r.Ctx, parts[2], v)
		if err != nil {
			return "GetLayerVersion", err
		}
		writeJSON(w, r.RequestID, 200, lv)
		return "GetLayerVersion", nil
	case n == 2 && parts[0] == "2016-08-19" && parts[1] == "account-settings" && r.Method == http.MethodGet:
		writeJSON(w, r.RequestID, 200, map[string]any{
			"AccountLimit": map[string]any{"TotalCodeSize": 80530636800, "CodeSizeUnzipped": 262144000, "CodeSizeZipped": 52428800,
				"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": 1000},
			"AccountUsage": map[string]any{"TotalCodeSize": 0, "FunctionCount": 0},
		})
		return "GetAccountSettings", nil
	}
	WriteError(w, r.RequestID, 404, "UnknownOperationException", "Unknown operation: "+r.Method+" "+r.Path)
	return "", nil
}

func decode(r *Request, v any) error {
	if len(r.Body) == 0 {
		return nil
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		return &function.Error{Kind: function.ErrInvalidRequestContent, Message: "Could not parse request body into json: " + err.Error()}
	}
	return nil
}

type createRequest struct {
	FunctionName  string
	Runtime       string
	Role          string
	Handler       string
	Description   string
	Timeout       *int
	MemorySize    *int
	Publish       bool
	PackageType   string
	Architectures []string
	Code          *struct {
		ZipFile  []byte
		S3Bucket string
		S3Key    string
		ImageUri string
	}
	Environment      *struct{ Variables map[string]string }
	Tags             map[string]string
	Layers           []string
	TracingConfig    *struct{ Mode string }
	EphemeralStorage *struct{ Size int }
}

func (h *Handler) createFunction(w http.ResponseWriter, r *Request) error {
	var in createRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	ci := function.CreateInput{FunctionName: in.FunctionName, Runtime: in.Runtime, Role: in.Role, Handler: in.Handler,
		Description: in.Description, Timeout: in.Timeout, MemorySize: in.MemorySize, Architectures: in.Architectures,
		PackageType: in.PackageType, Tags: in.Tags, Layers: in.Layers}
	if in.Code != nil {
		if in.Code.ImageUri != "" {
			return &function.Error{Kind: function.ErrInvalidParameterValue, Message: "forkline runs functions from zip packages; container images are not supported."}
		}
		if in.Code.S3Bucket != "" {
			b, err := h.s3Code(r.Ctx, in.Code.S3Bucket, in.Code.S3Key)
			if err != nil {
				return err
			}
			in.Code.ZipFile = b
		}
		ci.ZipFile, ci.HasCode = in.Code.ZipFile, len(in.Code.ZipFile) > 0
	}
	if in.Environment != nil {
		ci.Environment = in.Environment.Variables
		if ci.Environment == nil {
			ci.Environment = map[string]string{}
		}
	}
	if in.TracingConfig != nil {
		ci.TracingMode = in.TracingConfig.Mode
	}
	if in.EphemeralStorage != nil {
		ci.Ephemeral = &in.EphemeralStorage.Size
	}
	c, err := h.svc.CreateFunction(r.Ctx, ci)
	if err != nil {
		return err
	}
	if in.Publish {
		if c, err = h.svc.PublishVersion(r.Ctx, c.FunctionName, "", "", ""); err != nil {
			return err
		}
	}
	// A new function reports Pending until it is ready (Lambda developer
	// guide, "Lambda function states"); forkline's are ready at once, so
	// GetFunction already says Active.
	c.State, c.StateReason, c.StateReasonCode = "Pending", "The function is being created.", "Creating"
	writeJSON(w, r.RequestID, http.StatusCreated, c)
	return nil
}

func (h *Handler) listFunctions(w http.ResponseWriter, r *Request) error {
	max, _ := strconv.Atoi(r.Query.Get("MaxItems"))
	fs, next, err := h.svc.ListFunctions(r.Ctx, r.Query.Get("Marker"), max)
	if err != nil {
		return err
	}
	out := map[string]any{"Functions": fs}
	if fs == nil {
		out["Functions"] = []any{}
	}
	if next != "" {
		out["NextMarker"] = next
	}
	writeJSON(w, r.RequestID, 200, out)
	return nil
}

func (h *Handler) getFunction(w http.ResponseWriter, r *Request, name string) error {
	info, err := h.svc.GetFunction(r.Ctx, name, r.Query.Get("Qualifier"))
	if err != nil {
		return err
	}
	out := map[string]any{
		"Configuration": info.Configuration,
		"Code":          map[string]string{"RepositoryType": "S3", "Location": info.CodeLocation},
	}
	if len(info.Tags) > 0 {
		out["Tags"] = info.Tags
	}
	if info.Reserved != nil {
		out["Concurrency"] = map[string]int{"ReservedConcurrentExecutions": *info.Reserved}
	}
	writeJSON(w, r.RequestID, 200, out)
	return nil
}

func (h *Handler) getConfiguration(w http.ResponseWriter, r *Request, name string) error {
	info, err := h.svc.GetFunction(r.Ctx, name, r.Query.Get("Qualifier"))
	if err != nil {
		return err
	}
	writeJSON(w, r.RequestID, 200, info.Configuration)
	return nil
}

func (h *Handler) deleteFunction(w http.ResponseWriter, r *Request, name string) error {
	ref := name
	if q := r.Query.Get("Qualifier"); q != "" {
		ref += ":" + q
	}
	if err := h.svc.DeleteFunction(r.Ctx, ref); err != nil {
		return err
	}
	writeJSON(w, r.RequestID, http.StatusNoContent, nil)
	return nil
}

func (h *Handler) updateCode(w http.ResponseWriter, r *Request, name string) error {
	var in struct {
		ZipFile         []byte
		S3Bucket, S3Key string
		RevisionId      string
		Publish         bool
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.S3Bucket != "" {
		b, err := h.s3Code(r.Ctx, in.S3Bucket, in.S3Key)
		if err != nil {
			return err
		}
		in.ZipFile = b
	}
	if len(in.ZipFile) == 0 {
		return &function.Error{Kind: function.ErrInvalidParameterValue, Message: "Please provide a source for function code."}
	}
	c, err := h.svc.UpdateCode(r.Ctx, name, in.ZipFile, in.RevisionId)
	if err != nil {
		return err
	}
	if in.Publish {
		if c, err = h.svc.PublishVersion(r.Ctx, c.FunctionName, "", "", ""); err != nil {
			return err
		}
	}
	writeJSON(w, r.RequestID, 200, c)
	return nil
}

func (h *Handler) updateConfiguration(w http.ResponseWriter, r *Request, name string) error {
	var in struct {
		Runtime, Role, Handler, Description *string
		Timeout, MemorySize                 *int
		Environment                         *struct{ Variables map[string]string }
		TracingConfig                       *struct{ Mode string }
		EphemeralStorage                    *struct{ Size int }
		Layers                              *[]string
		RevisionId                          string
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	u := function.ConfigUpdate{Runtime: in.Runtime, Role: in.Role, Handler: in.Handler, Description: in.Description,
		Timeout: in.Timeout, MemorySize: in.MemorySize, RevisionID: in.RevisionId, Layers: in.Layers}
	if in.Environment != nil {
		vars := in.Environment.Variables
		if vars == nil {
			vars = map[string]string{}
		}
		u.Environment = &vars
	}
	if in.TracingConfig != nil {
		u.TracingMode = &in.TracingConfig.Mode
	}
	if in.EphemeralStorage != nil {
		u.Ephemeral = &in.EphemeralStorage.Size
	}
	c, err := h.svc.UpdateConfiguration(r.Ctx, name, u)
	if err != nil {
		return err
	}
	writeJSON(w, r.RequestID, 200, c)
	return nil
}

func (h *Handler) invoke(w http.ResponseWriter, r *Request, name string) error {
	in := function.InvokeInput{
		FunctionName: name, Qualifier: r.Query.Get("Qualifier"),
		InvocationType: r.Header.Get("X-Amz-Invocation-Type"), LogType: r.Header.Get("X-Amz-Log-Type"),
		ClientContext: r.Header.Get("X-Amz-Client-Context"), TraceID: r.Header.Get("X-Amzn-Trace-Id"),
		Payload: r.Body, RequestID: r.RequestID,
	}
	if in.ClientContext != "" {
		if raw, err := base64.StdEncoding.DecodeString(in.ClientContext); err == nil {
			in.ClientContext = string(raw)
		}
	}
	out, err := h.svc.Invoke(r.Ctx, in)
	if err != nil {
		return err
	}
	hd := w.Header()
	hd.Set("X-Amzn-RequestId", r.RequestID)
	if out.ExecutedVersion != "" && out.StatusCode == 200 {
		hd.Set("X-Amz-Executed-Version", out.ExecutedVersion)
	}
	if out.FunctionError != "" {
		hd.Set("X-Amz-Function-Error", out.FunctionError)
	}
	if out.LogResult != "" {
		hd.Set("X-Amz-Log-Result", out.LogResult)
	}
	hd.Set("Content-Type", "application/json")
	w.WriteHeader(out.StatusCode)
	w.Write(out.Payload)
	return nil
}

func (h *Handler) eventInvokeConfig(w http.ResponseWriter, r *Request, fn string) (string, error) {
	q := r.Query.Get("Qualifier")
	switch r.Method {
	case http.MethodGet:
		c, err := h.svc.GetEventInvokeConfig(r.Ctx, fn, q)
		if err != nil {
			return "GetFunctionEventInvokeConfig", err
		}
		writeJSON(w, r.RequestID, 200, c)
		return "GetFunctionEventInvokeConfig", nil
	case http.MethodDelete:
		if err := h.svc.DeleteEventInvokeConfig(r.Ctx, fn, q); err != nil {
			return "DeleteFunctionEventInvokeConfig", err
		}
		writeJSON(w, r.RequestID, http.StatusNoContent, nil)
		return "DeleteFunctionEventInvokeConfig", nil
	case http.MethodPut, http.MethodPost:
		action := "PutFunctionEventInvokeConfig"
		if r.Method == http.MethodPost {
			action = "UpdateFunctionEventInvokeConfig"
		}
		var in function.EventInvokeConfig
		if err := decode(r, &in); err != nil {
			return action, err
		}
		c, err := h.svc.PutEventInvokeConfig(r.Ctx, fn, q, in, r.Method == http.MethodPost)
		if err != nil {
			return action, err
		}
		writeJSON(w, r.RequestID, 200, c)
		return action, nil
	}
	WriteError(w, r.RequestID, 404, "UnknownOperationException", "Unknown operation: "+r.Method+" "+r.Path)
	return "", nil
}

func (h *Handler) concurrency(w http.ResponseWriter, r *Request, fn string) (string, error) {
	switch r.Method {
	case http.MethodPut:
		var in struct{ ReservedConcurrentExecutions *int }
		if err := decode(r, &in); err != nil {
			return "PutFunctionConcurrency", err
		}
		if in.ReservedConcurrentExecutions == nil {
			return "PutFunctionConcurrency", &function.Error{Kind: function.ErrInvalidParameterValue, Message: "ReservedConcurrentExecutions is required."}
		}
		n, err := h.svc.PutConcurrency(r.Ctx, fn, *in.ReservedConcurrentExecutions)
		if err != nil {
			return "PutFunctionConcurrency", err
		}
		writeJSON(w, r.RequestID, 200, map[string]int{"ReservedConcurrentExecutions": n})
		return "PutFunctionConcurrency", nil
	case http.MethodGet:
		n, err := h.svc.GetConcurrency(r.Ctx, fn)
		if err != nil {
			return "GetFunctionConcurrency", err
		}
		out := map[string]int{}
		if n != nil {
			out["ReservedConcurrentExecutions"] = *n
		}
		writeJSON(w, r.RequestID, 200, out)
		return "GetFunctionConcurrency", nil
	case http.MethodDelete:
		if err := h.svc.DeleteConcurrency(r.Ctx, fn); err != nil {
			return "DeleteFunctionConcurrency", err
		}
		writeJSON(w, r.RequestID, http.StatusNoContent, nil)
		return "DeleteFunctionConcurrency", nil
	}
	WriteError(w, r.RequestID, 404, "UnknownOperationException", "Unknown operation: "+r.Method+" "+r.Path)
	return "", nil
}

func (h *Handler) tags(w http.ResponseWriter, r *Request, arn string) (string, error) {
	switch r.Method {
	case http.MethodPost:
		var in struct{ Tags map[string]string }
		if err := decode(r, &in); err != nil {
			return "TagResource", err
		}
		if err := h.svc.TagResource(r.Ctx, arn, in.Tags); err != nil {
			return "TagResource", err
		}
		writeJSON(w, r.RequestID, http.StatusNoContent, nil)
		return "TagResource", nil
	case http.MethodDelete:
		if err := h.svc.UntagResource(r.Ctx, arn, r.Query["tagKeys"]); err != nil {
			return "UntagResource", err
		}
		writeJSON(w, r.RequestID, http.StatusNoContent, nil)
		return "UntagResource", nil
	case http.MethodGet:
		tags, err := h.svc.ListTags(r.Ctx, arn)
		if err != nil {
			return "ListTags", err
		}
		writeJSON(w, r.RequestID, 200, map[string]any{"Tags": tags})
		return "ListTags", nil
	}
	WriteError(w, r.RequestID, 404, "UnknownOperationException", "Unknown operation: "+r.Method+" "+r.Path)
	return "", nil
}

type aliasRequest struct {
	Name            string
	FunctionVersion *string
	Description     *string
	RoutingConfig   *struct{ AdditionalVersionWeights map[string]float64 }
	RevisionId      string
}

func (a *aliasRequest) input() function.AliasInput {
	in := function.AliasInput{FunctionVersion: a.FunctionVersion, Description: a.Description, RevisionID: a.RevisionId}
	if a.RoutingConfig != nil {
		w := a.RoutingConfig.AdditionalVersionWeights
		if w == nil {
			w = map[string]float64{}
		}
		in.Weights = &w
	}
	return in
}

func (h *Handler) createAlias(w http.ResponseWriter, r *Request, fn string) error {
	var in aliasRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	a, err := h.svc.CreateAlias(r.Ctx, fn, in.Name, in.input())
	if err != nil {
		return err
	}
	writeJSON(w, r.RequestID, http.StatusCreated, a)
	return nil
}

func (h *Handler) updateAlias(w http.ResponseWriter, r *Request, fn, name string) error {
	var in aliasRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	a, err := h.svc.UpdateAlias(r.Ctx, fn, name, in.input())
	if err != nil {
		return err
	}
	writeJSON(w, r.RequestID, 200, a)
	return nil
}

type mappingRequest struct {
	FunctionName                   string
	EventSourceArn                 string
	Enabled                        *bool
	BatchSize                      *int
	MaximumBatchingWindowInSeconds *int
	FunctionResponseTypes          *[]string
	ScalingConfig                  *struct{ MaximumConcurrency *int }
}

func (m *mappingRequest) input() function.MappingInput {
	in := function.MappingInput{FunctionName: m.FunctionName, EventSourceArn: m.EventSourceArn, Enabled: m.Enabled,
		BatchSize: m.BatchSize, MaximumBatchingWindow: m.MaximumBatchingWindowInSeconds, FunctionResponseTypes: m.FunctionResponseTypes}
	if m.ScalingConfig != nil {
		in.MaximumConcurrency = m.ScalingConfig.MaximumConcurrency
	}
	return in
}

func (h *Handler) createMapping(w http.ResponseWriter, r *Request) error {
	var in mappingRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	m, err := h.svc.CreateMapping(r.Ctx, in.input())
	if err != nil {
		return err
	}
	writeJSON(w, r.RequestID, http.StatusAccepted, m)
	return nil
}

func (h *Handler) updateMapping(w http.ResponseWriter, r *Request, id string) error {
	var in mappingRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	m, err := h.svc.UpdateMapping(r.Ctx, id, in.input())
	if err != nil {
		return err
	}
	writeJSON(w, r.RequestID, http.StatusAccepted, m)
	return nil
}

// ServeCode answers a GET of a function's code location.
func (h *Handler) ServeCode(w http.ResponseWriter, r *http.Request) bool {
	const p = "/_forkline/lambda/code/"
	if !strings.HasPrefix(r.URL.Path, p) || !strings.HasSuffix(r.URL.Path, ".zip") {
		return false
	}
	q := r.URL.Query()
	path, ok := h.svc.CodePath(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, p), ".zip"), q.Get("expires"), q.Get("signature"))
	if !ok {
		// As S3 answers a presigned link that expired or was altered.
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Error><Code>AccessDenied</Code><Message>Request has expired or its signature does not match</Message></Error>`)
		return true
	}
	f, err := os.Open(path)
	if err != nil {
		http.NotFound(w, r)
		return true
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/zip")
	http.ServeContent(w, r, "code.zip", modTime(f), f)
	return true
}

func modTime(f *os.File) time.Time {
	if st, err := f.Stat(); err == nil {
		return st.ModTime()
	}
	return time.Time{}
}
