package function

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/forkline/forkline/internal/clock"
	"github.com/forkline/forkline/internal/schedule"
	"github.com/forkline/forkline/internal/store"
	"github.com/forkline/forkline/internal/uuid"
)

// nsFunction holds one record per function: its $LATEST configuration and
// code.
const nsFunction = "fn.func"

// Config configures a Service.
type Config struct {
	Region    string
	AccountID string
	Clock     clock.Clock
	Logger    *slog.Logger
	// DataDir holds code (lambda/code) and unpacked task roots
	// (lambda/task).
	DataDir string
	// Listen starts a Runtime API endpoint for a new sandbox.
	Listen func() (Endpoint, error)
	// EndpointURL is given to functions as AWS_ENDPOINT_URL, so that the
	// AWS SDKs inside them call forkline.
	EndpointURL func() string
	// AccessKey, SecretKey and SessionToken are the credentials functions
	// get.
	AccessKey, SecretKey, SessionToken string
	// MaxSandboxes bounds the sandboxes of one function (its unreserved
	// concurrency); default 64.
	MaxSandboxes int
	// Queues serves SQS event source mappings.
	Queues Queues
	// Senders delivers asynchronous invocation records to SQS and SNS
	// destinations.
	Senders Senders
	// Logs receives function output (a stream per sandbox).
	Logs LogSink
	// NoMemoryLimits leaves MemorySize unenforced even where memory
	// cgroups are available.
	NoMemoryLimits bool
	// StrictRuntimes refuses to run a managed runtime whose exact version
	// the host lacks, instead of using the nearest interpreter.
	StrictRuntimes bool
}

// LogSink takes function output lines.
type LogSink interface {
	Append(group, stream string, ts time.Time, message string)
}

// Configuration is a function's configuration as the Lambda API reports it
// (FunctionConfiguration).
type Configuration struct {
	FunctionName     string           `json:"FunctionName"`
	FunctionArn      string           `json:"FunctionArn"`
	Runtime          string           `json:"Runtime,omitempty"`
	Role             string           `json:"Role"`
	Handler          string           `json:"Handler,omitempty"`
	CodeSize         int64            `json:"CodeSize"`
	Description      string           `json:"Description"`
	Timeout          int              `json:"Timeout"`
	MemorySize       int              `json:"MemorySize"`
	LastModified     string           `json:"LastModified"`
	CodeSha256       string           `json:"CodeSha256"`
	Version          string           `json:"Version"`
	Environment      *Environment     `json:"Environment,omitempty"`
	TracingConfig    TracingConfig    `json:"TracingConfig"`
	RevisionID       string           `json:"RevisionId"`
	State            string           `json:"State"`
	StateReason      string           `json:"StateReason,omitempty"`
	StateReasonCode  string           `json:"StateReasonCode,omitempty"`
	LastUpdateStatus string           `json:"LastUpdateStatus"`
	PackageType      string           `json:"PackageType"`
	Architectures    []string         `json:"Architectures"`
	Layers           []Layer          `json:"Layers,omitempty"`
	EphemeralStorage EphemeralStorage `json:"EphemeralStorage"`
	LoggingConfig    LoggingConfig    `json:"LoggingConfig"`
	SnapStart        SnapStart        `json:"SnapStart"`
}

// Environment holds a function's variables.
type Environment struct {
	Variables map[string]string `json:"Variables"`
}

// TracingConfig is the X-Ray mode.
type TracingConfig struct {
	Mode string `json:"Mode"`
}

// EphemeralStorage is the /tmp size in MB.
type EphemeralStorage struct {
	Size int `json:"Size"`
}

// LoggingConfig names the log group.
type LoggingConfig struct {
	LogFormat string `json:"LogFormat"`
	LogGroup  string `json:"LogGroup"`
}

// SnapStart is reported as off.
type SnapStart struct {
	ApplyOn            string `json:"ApplyOn"`
	OptimizationStatus string `json:"OptimizationStatus"`
}

// funcRec is the stored function.
type funcRec struct {
	Config Configuration     `json:"config"`
	Tags   map[string]string `json:"tags,omitempty"`
	// CodeHex is the hex SHA-256 of the zip, naming lambda/code/HEX.zip.
	CodeHex string `json:"codeHex"`
	// LastVersion is the number of the last published version ($LATEST
	// only).
	LastVersion int `json:"lastVersion,omitempty"`
	// PublishedFrom is the $LATEST revision a version was published from.
	PublishedFrom string `json:"publishedFrom,omitempty"`
	// Reserved is the reserved concurrency, if any.
	Reserved *int `json:"reserved,omitempty"`
	// LayerHexes are the code hashes of the layers, in stacking order.
	LayerHexes []string `json:"layerHexes,omitempty"`
	// Policy holds the resource policy's statements.
	Policy []json.RawMessage `json:"policy,omitempty"`
}

// Service is the function service. It is safe for concurrent use.
type Service struct {
	st    store.Records
	cfg   Config
	clock clock.Clock
	log   *slog.Logger

	mu       sync.RWMutex // guards funcs, mappings and pollers
	funcs    map[string]*fn
	mappings map[string]*Mapping
	pollers  map[string]*poller
	eic      map[string]EventInvokeConfig // by NAME NUL QUALIFIER
	// layers by NAME NUL VERSION; layerHigh is each layer's highest
	// version ever published.
	layers    map[string]*layerRec
	layerHigh map[string]int64

	async *schedule.Queue[*asyncRec]
	// mem enforces MemorySize where the host allows (nil elsewhere).
	mem *memoryLimiter

	// unpackMu serializes the unpacking of code into task roots.
	unpackMu sync.Mutex
	// interpreters maps a managed runtime to the host interpreter chosen.
	interpreters sync.Map

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// fn is one live function.
type fn struct {
	// All fields are replaced, never modified, under Service.mu.
	rec      funcRec // $LATEST
	pool     *pool
	versions map[string]*version
	aliases  map[string]*Alias
}

func (s *Service) newFn(rec funcRec) *fn {
	return &fn{rec: rec, pool: s.newPool(), versions: map[string]*version{}, aliases: map[string]*Alias{}}
}

// New loads every function. Close stops the sandboxes.
func New(ctx context.Context, st store.Records, cfg Config) (*Service, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxSandboxes <= 0 {
		cfg.MaxSandboxes = 64
	}
	if cfg.EndpointURL == nil {
		cfg.EndpointURL = func() string { return "http://localhost:4566" }
	}
	s := &Service{st: st, cfg: cfg, clock: cfg.Clock, log: cfg.Logger.With("service", "lambda"), funcs: map[string]*fn{},
		mappings: map[string]*Mapping{}, pollers: map[string]*poller{}, eic: map[string]EventInvokeConfig{},
		layers: map[string]*layerRec{}, layerHigh: map[string]int64{}}
	s.async = schedule.New[*asyncRec](s.clock, asyncWorkers)
	if !cfg.NoMemoryLimits {
		s.mem = newMemoryLimiter()
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	// Sandboxes' temporary directories die with their sandboxes; any
	// left are from a forkline that was killed.
	if err := os.RemoveAll(s.sandboxTmpDir()); err != nil {
		return nil, fmt.Errorf("lambda directories: %w", err)
	}
	for _, d := range []string{s.codeDir(), s.taskDir(), s.sandboxTmpDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("lambda directories: %w", err)
		}
	}
	if err := s.installRuntimes(); err != nil {
		return nil, err
	}
	if err := s.loadLayers(ctx); err != nil {
		return nil, fmt.Errorf("load layers: %w", err)
	}
	err := st.ScanRecords(ctx, nsFunction, "", func(_ string, v []byte) error {
		var rec funcRec
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("%w: function: %v", store.ErrCorrupt, err)
		}
		s.funcs[rec.Config.FunctionName] = s.newFn(rec)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load functions: %w", err)
	}
	for _, f := range s.funcs {
		if err := s.loadVersions(ctx, f); err != nil {
			return nil, fmt.Errorf("load versions of %s: %w", f.rec.Config.FunctionName, err)
		}
	}
	if err := s.loadMappings(ctx); err != nil {
		return nil, fmt.Errorf("load event source mappings: %w", err)
	}
	if err := s.loadInvokeConfigs(ctx); err != nil {
		return nil, fmt.Errorf("load event invoke configs: %w", err)
	}
	if err := s.loadAsync(ctx); err != nil {
		return nil, fmt.Errorf("load queued events: %w", err)
	}
	s.wg.Add(2)
	go func() { defer s.wg.Done(); s.async.Run(s.ctx, s.runAsync) }()
	go func() { defer s.wg.Done(); s.reaper(s.ctx) }()
	return s, nil
}

// Close stops every sandbox.
func (s *Service) Close() {
	s.cancel()
	s.mu.RLock()
	for _, f := range s.funcs {
		f.closePools()
	}
	s.mu.RUnlock()
	s.wg.Wait()
	s.mem.close()
}

func (s *Service) codeDir() string { return filepath.Join(s.cfg.DataDir, "lambda", "code") }
func (s *Service) taskDir() string { return filepath.Join(s.cfg.DataDir, "lambda", "task") }

// sandboxTmpDir holds each sandbox's own temporary directory.
func (s *Service) sandboxTmpDir() string { return filepath.Join(s.cfg.DataDir, "lambda", "tmp") }

func (s *Service) functionArn(name string) string {
	return "arn:aws:lambda:" + s.cfg.Region + ":" + s.cfg.AccountID + ":function:" + name
}

var (
	nameRE      = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	functionRef = regexp.MustCompile(`^(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?$`)
	roleRE      = regexp.MustCompile(`^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`)
)

// ParseName resolves the FunctionName forms Lambda accepts (a name, a
// partial ARN ACCOUNT:function:NAME, or a full ARN, each optionally with a
// :QUALIFIER) into the name and qualifier.
func (s *Service) ParseName(ref string) (name, qualifier string, err error) {
	if plainName(ref) {
		return ref, "", nil
	}
	m := functionRef.FindStringSubmatch(ref)
	if m == nil || len(ref) > 170 {
		return "", "", errorf(ErrValidation, "1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", ref, functionRef.String()[1:len(functionRef.String())-1])
	}
	if (m[5] != "" && m[5] != s.cfg.AccountID+":") || (m[3] != "" && m[3] != s.cfg.Region+":") {
		return "", "", errorf(ErrResourceNotFound, "Function not found: %s", ref)
	}
	return m[7], m[9], nil
}

func validation(field, value, constraint string) error {
	return errorf(ErrValidation, "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, field, constraint)
}

// Runtimes Lambda accepts for new functions (Lambda runtimes page).
var runtimes = map[string]bool{
	"provided.al2023": true, "provided.al2": true, "provided": true,
	"python3.9": true, "python3.10": true, "python3.11": true, "python3.12": true, "python3.13": true, "python3.14": true,
	"nodejs18.x": true, "nodejs20.x": true, "nodejs22.x": true, "nodejs24.x": true,
	"java11": true, "java17": true, "java21": true, "java8.al2": true, "dotnet8": true, "ruby3.3": true, "ruby3.4": true,
}

// reservedEnv are variables Lambda sets and users may not (Lambda
// developer guide, "Defined runtime environment variables").
var reservedEnv = map[string]bool{
	"_HANDLER": true, "_X_AMZN_TRACE_ID": true, "AWS_DEFAULT_REGION": true, "AWS_REGION": true, "AWS_EXECUTION_ENV": true,
	"AWS_LAMBDA_FUNCTION_NAME": true, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true, "AWS_LAMBDA_FUNCTION_VERSION": true,
	"AWS_LAMBDA_INITIALIZATION_TYPE": true, "AWS_LAMBDA_LOG_GROUP_NAME": true, "AWS_LAMBDA_LOG_STREAM_NAME": true,
	"AWS_ACCESS_KEY": true, "AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true,
	"AWS_LAMBDA_RUNTIME_API": true, "LAMBDA_TASK_ROOT": true, "LAMBDA_RUNTIME_DIR": true,
}

// CreateInput are the parameters of CreateFunction.
type CreateInput struct {
	FunctionName  string
	Runtime       string
	Role          string
	Handler       string
	Description   string
	Timeout       *int
	MemorySize    *int
	ZipFile       []byte
	HasCode       bool
	Environment   map[string]string
	Architectures []string
	PackageType   string
	Tags          map[string]string
	TracingMode   string
	Ephemeral     *int
	Layers        []string
}

func (s *Service) validateConfig(c *Configuration) error {
	if !roleRE.MatchString(c.Role) {
		return validation("role", c.Role, "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+")
	}
	if c.Runtime != "" && !runtimes[c.Runtime] {
		keys := make([]string, 0, len(runtimes))
		for k := range runtimes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return errorf(ErrInvalidParameterValue, "Value %s at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [%s] or be a valid ARN", c.Runtime, strings.Join(keys, ", "))
	}
	if c.Runtime == "" {
		return errorf(ErrInvalidParameterValue, "Runtime and Handler are mandatory parameters for functions created with deployment packages.")
	}
	if c.Handler == "" && !strings.HasPrefix(c.Runtime, "provided") {
		return errorf(ErrInvalidParameterValue, "Runtime and Handler are mandatory parameters for functions created with deployment packages.")
	}
	if len(c.Handler) > 128 {
		return validation("handler", c.Handler, "Member must have length less than or equal to 128")
	}
	if c.Timeout < 1 {
		return validation("timeout", fmt.Sprint(c.Timeout), "Member must have value greater than or equal to 1")
	}
	if c.Timeout > 900 {
		return validation("timeout", fmt.Sprint(c.Timeout), "Member must have value less than or equal to 900")
	}
	if c.MemorySize < 128 {
		return validation("memorySize", fmt.Sprint(c.MemorySize), "Member must have value greater than or equal to 128")
	}
	if c.MemorySize > 10240 {
		return validation("memorySize", fmt.Sprint(c.MemorySize), "Member must have value less than or equal to 10240")
	}
	if len(c.Description) > 256 {
		return validation("description", c.Description, "Member must have length less than or equal to 256")
	}
	if c.EphemeralStorage.Size < 512 || c.EphemeralStorage.Size > 10240 {
		return validation("ephemeralStorage.size", fmt.Sprint(c.EphemeralStorage.Size), "Member must have value between 512 and 10240")
	}
	for _, a := range c.Architectures {
		if a != "x86_64" && a != "arm64" {
			return validation("architectures", a, "Member must satisfy enum value set: [x86_64, arm64]")
		}
	}
	if c.Environment != nil {
		var reserved []string
		size := 0
		for k, v := range c.Environment.Variables {
			if reservedEnv[k] {
				reserved = append(reserved, k)
			}
			if !envNameRE.MatchString(k) {
				return validation("environment.variables", k, "Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+")
			}
			size += len(k) + len(v)
		}
		if len(reserved) > 0 {
			sort.Strings(reserved)
			return errorf(ErrInvalidParameterValue, "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s", strings.Join(reserved, ","))
		}
		if size > 4096 {
			return errorf(ErrInvalidParameterValue, "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: %d", size)
		}
	}
	return nil
}

// plainName reports whether ref is a bare function name, the common case,
// without a regular expression.
func plainName(ref string) bool {
	if ref == "" || len(ref) > 64 {
		return false
	}
	for i := 0; i < len(ref); i++ {
		c := ref[i]
		if !(c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

var envNameRE = regexp.MustCompile(`^[a-zA-Z]([a-zA-Z0-9_])+$`)

func lastModified(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000+0000") }

func newRevision() string { return uuid.New() }

// CreateFunction creates a function from a zip package.
func (s *Service) CreateFunction(ctx context.Context, in CreateInput) (Configuration, error) {
	if !nameRE.MatchString(in.FunctionName) {
		if _, _, err := s.ParseName(in.FunctionName); err != nil {
			return Configuration{}, err
		}
	}
	name, q, err := s.ParseName(in.FunctionName)
	if err != nil {
		return Configuration{}, err
	}
	if q != "" {
		return Configuration{}, errorf(ErrInvalidParameterValue, "Unsupported function name: %s", in.FunctionName)
	}
	if in.PackageType == "Image" {
		return Configuration{}, errorf(ErrInvalidParameterValue, "Container images are not supported by forkline: use a zip package.")
	}
	c := Configuration{
		FunctionName: name, FunctionArn: s.functionArn(name), Runtime: in.Runtime, Role: in.Role, Handler: in.Handler,
		Description: in.Description, Timeout: 3, MemorySize: 128, Version: "$LATEST",
		TracingConfig: TracingConfig{Mode: "PassThrough"}, State: "Active", LastUpdateStatus: "Successful",
		PackageType: "Zip", Architectures: []string{"x86_64"}, EphemeralStorage: EphemeralStorage{Size: 512},
		LoggingConfig: LoggingConfig{LogFormat: "Text", LogGroup: "/aws/lambda/" + name},
		SnapStart:     SnapStart{ApplyOn: "None", OptimizationStatus: "Off"},
	}
	if in.Timeout != nil {
		c.Timeout = *in.Timeout
	}
	if in.MemorySize != nil {
		c.MemorySize = *in.MemorySize
	}
	if in.Ephemeral != nil {
		c.EphemeralStorage.Size = *in.Ephemeral
	}
	if len(in.Architectures) > 0 {
		c.Architectures = in.Architectures
	}
	if in.TracingMode != "" {
		c.TracingConfig.Mode = in.TracingMode
	}
	if in.Environment != nil {
		c.Environment = &Environment{Variables: in.Environment}
	}
	if err := s.validateConfig(&c); err != nil {
		return Configuration{}, err
	}
	if !in.HasCode {
		return Configuration{}, errorf(ErrInvalidParameterValue, "Please provide a source for function code.")
	}
	code, err := s.storeCode(in.ZipFile)
	if err != nil {
		return Configuration{}, err
	}
	c.CodeSize, c.CodeSha256 = code.size, code.sha256
	c.LastModified = lastModified(s.clock.Now())
	c.RevisionID = newRevision()
	rec := funcRec{Config: c, Tags: in.Tags, CodeHex: code.hex}

	s.mu.Lock()
	defer s.mu.Unlock()
	if len(in.Layers) > 0 {
		if rec.Config.Layers, rec.LayerHexes, err = s.resolveLayers(in.Layers); err != nil {
			return Configuration{}, err
		}
	}
	if s.funcs[name] != nil {
		return Configuration{}, errorf(ErrResourceConflict, "Function already exist: %s", name)
	}
	var b store.Batch
	b.PutRecord(nsFunction, name, mustJSON(rec))
	if err := s.st.Commit(ctx, &b); err != nil {
		return Configuration{}, fmt.Errorf("create function %s: %w", name, err)
	}
	s.funcs[name] = s.newFn(rec)
	return c, nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func (s *Service) lookup(ref string) (*fn, string, error) {
	name, q, err := s.ParseName(ref)
	if err != nil {
		return nil, "", err
	}
	s.mu.RLock()
	f := s.funcs[name]
	s.mu.RUnlock()
	if f == nil {
		return nil, "", errorf(ErrResourceNotFound, "Function not found: %s", s.functionArn(name))
	}
	return f, q, nil
}

// FunctionInfo is what GetFunction reports.
type FunctionInfo struct {
	Configuration Configuration
	Tags          map[string]string
	// CodeLocation is where the code can be downloaded.
	CodeLocation string
	// Reserved is the reserved concurrency, if any.
	Reserved *int
}

// GetFunction returns a function's configuration, tags and code location.
func (s *Service) GetFunction(ctx context.Context, ref, qualifier string) (FunctionInfo, error) {
	if qualifier != "" {
		ref = ref + ":" + qualifier
	}
	f, q, err := s.lookup(ref)
	if err != nil {
		return FunctionInfo{}, err
	}
	s.mu.RLock()
	rec, _, _, err := s.resolve(f, q, false)
	reserved, tags := f.rec.Reserved, f.rec.Tags
	s.mu.RUnlock()
	if err != nil {
		return FunctionInfo{}, err
	}
	return FunctionInfo{Configuration: rec.Config, Tags: tags, Reserved: reserved,
		CodeLocation: s.CodeURL(rec.CodeHex)}, nil
}

// CodePath returns the zip file of a code hash, for the code download link.
func (s *Service) CodePath(hexSum, expires, signature string) (string, bool) {
	if len(hexSum) != 64 || strings.Trim(hexSum, "0123456789abcdef") != "" {
		return "", false
	}
	exp, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || s.clock.Now().Unix() > exp || !hmac.Equal([]byte(signature), []byte(s.codeSignature(hexSum, exp))) {
		return "", false
	}
	p := filepath.Join(s.codeDir(), hexSum+".zip")
	if _, err := os.Stat(p); err != nil {
		return "", false
	}
	return p, true
}

// codeURLLifetime is how long a code link stays valid: "A presigned URL
// that you can use to download the deployment package" that is "valid for
// up to 10 minutes" (Lambda API reference, FunctionCodeLocation).
const codeURLLifetime = 10 * time.Minute

// CodeURL is a link to download a code package (a function's or a
// layer's), signed so that only who was given it can fetch it.
func (s *Service) CodeURL(hexSum string) string {
	exp := s.clock.Now().Add(codeURLLifetime).Unix()
	return s.cfg.EndpointURL() + "/_forkline/lambda/code/" + hexSum + ".zip?expires=" + strconv.FormatInt(exp, 10) +
		"&signature=" + s.codeSignature(hexSum, exp)
}

func (s *Service) codeSignature(hexSum string, exp int64) string {
	m := hmac.New(sha256.New, []byte("forkline code link\x00"+s.cfg.SecretKey))
	fmt.Fprintf(m, "%s\n%d", hexSum, exp)
	return hex.EncodeToString(m.Sum(nil))
}

// ListFunctions returns the functions in name order, a page at a time.
func (s *Service) ListFunctions(ctx context.Context, marker string, max int) ([]Configuration, string, error) {
	if max <= 0 || max > 50 {
		max = 50
	}
	s.mu.RLock()
	names := make([]string, 0, len(s.funcs))
	for n := range s.funcs {
		names = append(names, n)
	}
	sort.Strings(names)
	start := 0
	if marker != "" {
		raw, err := hex.DecodeString(marker)
		if err != nil {
			s.mu.RUnlock()
			return nil, "", errorf(ErrInvalidParameterValue, "Invalid marker: %s", marker)
		}
		start = sort.SearchStrings(names, string(raw))
		if start < len(names) && names[start] == string(raw) {
			start++
		}
	}
	var out []Configuration
	next := ""
	for i := start; i < len(names); i++ {
		if len(out) == max {
			next = hex.EncodeToString([]byte(names[i-1]))
			break
		}
		out = append(out, s.funcs[names[i]].rec.Config)
	}
	s.mu.RUnlock()
	return out, next, nil
}

// DeleteFunction deletes a function and stops its sandboxes.
func (s *Service) DeleteFunction(ctx context.Context, ref string) error {
	f, q, err := s.lookup(ref)
	if err != nil {
		return err
	}
	if q == "$LATEST" {
		return errorf(ErrInvalidParameterValue, "$LATEST version cannot be deleted without deleting the function.")
	}
	if q != "" {
		return s.deleteVersion(ctx, f, q)
	}
	s.mu.Lock()
	name := f.rec.Config.FunctionName
	if s.funcs[name] != f {
		s.mu.Unlock()
		return errorf(ErrResourceNotFound, "Function not found: %s", s.functionArn(name))
	}
	var b store.Batch
	b.DeleteRecord(nsFunction, name)
	for v := range f.versions {
		n, _ := strconv.Atoi(v)
		b.DeleteRecord(nsVersion, versionKey(name, n))
	}
	for a := range f.aliases {
		b.DeleteRecord(nsAlias, name+"\x00"+a)
	}
	for k := range s.eic {
		if strings.HasPrefix(k, name+"\x00") {
			b.DeleteRecord(nsInvokeConfig, k)
		}
	}
	if err := s.st.Commit(ctx, &b); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("delete function %s: %w", name, err)
	}
	delete(s.funcs, name)
	for k := range s.eic {
		if strings.HasPrefix(k, name+"\x00") {
			delete(s.eic, k)
		}
	}
	pools := f.pools()
	s.mu.Unlock()
	for _, p := range pools {
		p.close()
	}
	return nil
}

// pools lists a function's pools. Requires s.mu.
func (f *fn) pools() []*pool {
	ps := []*pool{f.pool}
	for _, v := range f.versions {
		ps = append(ps, v.pool)
	}
	return ps
}

// live reports whether f is still the function of its name. Requires s.mu.
func (s *Service) live(f *fn) error {
	name := f.rec.Config.FunctionName
	if s.funcs[name] != f {
		return errorf(ErrResourceNotFound, "Function not found: %s", s.functionArn(name))
	}
	return nil
}

func (f *fn) closePools() {
	for _, p := range f.pools() {
		p.close()
	}
}

// deleteVersion deletes a published version no alias points to.
func (s *Service) deleteVersion(ctx context.Context, f *fn, q string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := f.versions[q]
	name := f.rec.Config.FunctionName
	if v == nil {
		return errorf(ErrResourceNotFound, "Function not found: %s:%s", s.functionArn(name), q)
	}
	for _, a := range f.aliases {
		routed := false
		if a.RoutingConfig != nil {
			_, routed = a.RoutingConfig.AdditionalVersionWeights[q]
		}
		if a.FunctionVersion == q || routed {
			return errorf(ErrResourceConflict, "Unable to delete version because the following aliases reference it: [%s]", a.Name)
		}
	}
	n, _ := strconv.Atoi(q)
	var b store.Batch
	b.DeleteRecord(nsVersion, versionKey(name, n))
	if err := s.st.Commit(ctx, &b); err != nil {
		return fmt.Errorf("delete version: %w", err)
	}
	delete(f.versions, q)
	v.pool.close()
	return nil
}

// UpdateCode replaces a function's code.
func (s *Service) UpdateCode(ctx context.Context, ref string, zip []byte, revisionID string) (Configuration, error) {
	f, _, err := s.lookup(ref)
	if err != nil {
		return Configuration{}, err
	}
	code, err := s.storeCode(zip)
	if err != nil {
		return Configuration{}, err
	}
	return s.update(ctx, f, revisionID, func(rec *funcRec) error {
		rec.Config.CodeSize, rec.Config.CodeSha256, rec.CodeHex = code.size, code.sha256, code.hex
		return nil
	})
}

// ConfigUpdate are the parameters of UpdateFunctionConfiguration; nil
// fields are left as they are.
type ConfigUpdate struct {
	Runtime, Role, Handler, Description *string
	Timeout, MemorySize, Ephemeral      *int
	Environment                         *map[string]string
	TracingMode                         *string
	Layers                              *[]string
	RevisionID                          string
}

// UpdateConfiguration changes a function's settings.
func (s *Service) UpdateConfiguration(ctx context.Context, ref string, u ConfigUpdate) (Configuration, error) {
	f, _, err := s.lookup(ref)
	if err != nil {
		return Configuration{}, err
	}
	return s.update(ctx, f, u.RevisionID, func(rec *funcRec) error {
		c := &rec.Config
		set := func(dst *string, v *string) {
			if v != nil {
				*dst = *v
			}
		}
		set(&c.Runtime, u.Runtime)
		set(&c.Role, u.Role)
		set(&c.Handler, u.Handler)
		set(&c.Description, u.Description)
		set(&c.TracingConfig.Mode, u.TracingMode)
		if u.Timeout != nil {
			c.Timeout = *u.Timeout
		}
		if u.MemorySize != nil {
			c.MemorySize = *u.MemorySize
		}
		if u.Ephemeral != nil {
			c.EphemeralStorage.Size = *u.Ephemeral
		}
		if u.Environment != nil {
			c.Environment = &Environment{Variables: *u.Environment}
		}
		if u.Layers != nil {
			var err error
			if c.Layers, rec.LayerHexes, err = s.resolveLayers(*u.Layers); err != nil {
				return err
			}
		}
		return s.validateConfig(c)
	})
}

// update writes a changed function record and retires its sandboxes.
func (s *Service) update(ctx context.Context, f *fn, revisionID string, change func(*funcRec) error) (Configuration, error) {
	s.mu.Lock()
	name := f.rec.Config.FunctionName
	if s.funcs[name] != f {
		s.mu.Unlock()
		return Configuration{}, errorf(ErrResourceNotFound, "Function not found: %s", s.functionArn(name))
	}
	if revisionID != "" && revisionID != f.rec.Config.RevisionID {
		s.mu.Unlock()
		return Configuration{}, errorf(ErrPreconditionFailed, "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
	}
	rec := f.rec
	if rec.Config.Environment != nil {
		vars := make(map[string]string, len(rec.Config.Environment.Variables))
		for k, v := range rec.Config.Environment.Variables {
			vars[k] = v
		}
		rec.Config.Environment = &Environment{Variables: vars}
	}
	if err := change(&rec); err != nil {
		s.mu.Unlock()
		return Configuration{}, err
	}
	rec.Config.LastModified = lastModified(s.clock.Now())
	rec.Config.RevisionID = newRevision()
	var b store.Batch
	b.PutRecord(nsFunction, name, mustJSON(rec))
	if err := s.st.Commit(ctx, &b); err != nil {
		s.mu.Unlock()
		return Configuration{}, fmt.Errorf("update function %s: %w", name, err)
	}
	old := f.pool
	f.rec, f.pool = rec, s.newPool()
	s.mu.Unlock()
	old.close() // sandboxes of the old code and settings
	return rec.Config, nil
}

// randRead fills b from a fast, non-cryptographic source: request, trace
// and sandbox IDs need uniqueness, not secrecy, and crypto/rand costs a
// system call per read on some kernels.
func randRead(b []byte) {
	for i := 0; i < len(b); i += 8 {
		v := mrand.Uint64()
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
}
