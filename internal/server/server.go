// Package server assembles forkline: it opens the store, starts the
// services and serves every AWS protocol on one HTTP port, routing each
// request by X-Amz-Target, the SigV4 credential scope, the Action parameter
// and the path, authenticating it, and handing it to the service's wire
// adapter. Every request gets a unique request ID that appears in the
// response header, the body and the log line.
package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/forkline/forkline/internal/cfnapi"
	"github.com/forkline/forkline/internal/clock"
	"github.com/forkline/forkline/internal/config"
	"github.com/forkline/forkline/internal/events"
	"github.com/forkline/forkline/internal/eventsapi"
	"github.com/forkline/forkline/internal/firehose"
	"github.com/forkline/forkline/internal/firehoseapi"
	"github.com/forkline/forkline/internal/function"
	"github.com/forkline/forkline/internal/lambdaapi"
	"github.com/forkline/forkline/internal/logs"
	"github.com/forkline/forkline/internal/logsapi"
	"github.com/forkline/forkline/internal/object"
	"github.com/forkline/forkline/internal/pipelines"
	"github.com/forkline/forkline/internal/queue"
	"github.com/forkline/forkline/internal/repo"
	"github.com/forkline/forkline/internal/repoapi"
	"github.com/forkline/forkline/internal/runtimeapi"
	"github.com/forkline/forkline/internal/s3api"
	"github.com/forkline/forkline/internal/search"
	"github.com/forkline/forkline/internal/searchapi"
	"github.com/forkline/forkline/internal/sfnapi"
	"github.com/forkline/forkline/internal/sigv4"
	"github.com/forkline/forkline/internal/snsapi"
	"github.com/forkline/forkline/internal/sqsapi"
	"github.com/forkline/forkline/internal/stack"
	"github.com/forkline/forkline/internal/store/pebblestore"
	"github.com/forkline/forkline/internal/topic"
	"github.com/forkline/forkline/internal/uuid"
	"github.com/forkline/forkline/internal/wire/awserr"
	"github.com/forkline/forkline/internal/wire/awsjson"
	"github.com/forkline/forkline/internal/wire/awsquery"
	"github.com/forkline/forkline/internal/workflow"
)

// Version is set at build time with -ldflags "-X ...server.Version=...".
var Version = "dev"

// maxBody bounds a request body: a 1 MiB batch grows by up to 3x in form
// encoding.
const maxBody = 8 << 20

// maxLambdaBody bounds a Lambda request: a 50 MB zip, base64-encoded in
// CreateFunction's JSON (Lambda quotas).
const maxLambdaBody = 69905067

// Options are the parts of a server tests may replace.
type Options struct {
	Clock  clock.Clock
	Logger *slog.Logger
}

// Server is a running forkline instance.
type Server struct {
	cfg         config.Config
	log         *slog.Logger
	clock       clock.Clock
	store       *pebblestore.Store
	queues      *queue.Service
	topics      *topic.Service
	funcs       *function.Service
	lambda      *lambdaapi.Handler
	logs        *logs.Service
	logsAPI     *logsapi.Handler
	events      *events.Service
	eventsAPI   *eventsapi.Handler
	repo        *repo.Service
	repoAPI     *repoapi.Handler
	firehose    *firehose.Service
	firehoseAPI *firehoseapi.Handler
	search      *search.Service
	searchAPI   *searchapi.Handler
	// fnKey and fnSecret are the credentials forkline gives code it runs.
	fnKey, fnSecret, fnToken string
	flows                    *workflow.Service
	objects                  *object.Service
	s3                       *s3api.Handler
	stacks                   *stack.Service
	cfn                      *cfnapi.Handler
	sfn                      *sfnapi.Handler
	sqs                      *sqsapi.Handler
	sns                      *snsapi.Handler
	auth                     *sigv4.Verifier
	http                     *http.Server
	// publicURL is the base of the links SNS puts in messages, set when
	// the listener is known unless configured.
	publicURL atomic.Value

	closeOnce sync.Once
}

// New opens the data directory and starts the services.
func New(ctx context.Context, cfg config.Config, o Options) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	var creds []sigv4.Credential
	if cfg.CredentialsFile != "" {
		var err error
		if creds, err = sigv4.LoadCredentials(cfg.CredentialsFile); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	// Code forkline runs gets temporary credentials of its own, kept in the
	// data directory so that URLs presigned with them outlive a restart,
	// and never one of the configured long-term keys.
	key, secret, token, err := functionCredentials(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	st, err := pebblestore.Open(cfg.DataDir+"/store", pebblestore.Options{Logger: o.Logger, GroupCommitWindow: cfg.GroupCommitWindow})
	if err != nil {
		return nil, err
	}
	qs, err := queue.New(ctx, st, queue.Config{Region: cfg.Region, AccountID: cfg.AccountID, Clock: o.Clock, Logger: o.Logger})
	if err != nil {
		st.Close()
		return nil, err
	}
	s := &Server{
		cfg: cfg, log: o.Logger, clock: o.Clock, store: st, queues: qs,
		sqs:  sqsapi.New(qs, cfg.AccountID, o.Logger),
		auth: sigv4.NewVerifier(creds, cfg.Region, o.Clock.Now),
	}
	s.publicURL.Store(cfg.PublicURL)
	if cfg.PublicURL == "" {
		s.publicURL.Store("http://" + cfg.Listen)
	}
	// The logs service first: the topics' delivery status logging
	// writes into it from their start.
	ls, err := logs.New(ctx, st, cfg.Region, cfg.AccountID, o.Clock, o.Logger)
	if err != nil {
		qs.Close()
		st.Close()
		return nil, err
	}
	s.logs, s.logsAPI = ls, logsapi.New(ls, o.Logger)
	ts, err := topic.New(ctx, st, topic.Config{
		Region: cfg.Region, AccountID: cfg.AccountID, Clock: o.Clock, Logger: o.Logger,
		Queues: qs, Poster: newPoster(), KeyDir: cfg.DataDir,
		PublicURL:   func() string { return s.publicURL.Load().(string) },
		DeliveryLog: ls.Append,
	})
	if err != nil {
		ls.Close()
		qs.Close()
		st.Close()
		return nil, err
	}
	s.topics = ts
	s.sns = snsapi.New(ts, o.Logger)
	s.auth.AddSession(key, secret, token)
	s.fnKey, s.fnSecret, s.fnToken = key, secret, token
	fs, err := function.New(ctx, st, function.Config{
		Region: cfg.Region, AccountID: cfg.AccountID, Clock: o.Clock, Logger: o.Logger, DataDir: cfg.DataDir,
		Listen:      func() (function.Endpoint, error) { return runtimeapi.Listen() },
		EndpointURL: func() string { return s.publicURL.Load().(string) },
		AccessKey:   key, SecretKey: secret, SessionToken: token, Queues: qs, Senders: senders{qs, ts}, Logs: ls, StrictRuntimes: cfg.StrictRuntimes,
	})
	if err != nil {
		ts.Close()
		ls.Close()
		qs.Close()
		st.Close()
		return nil, err
	}
	s.funcs = fs
	s.lambda = lambdaapi.New(fs, codeStore{s}, o.Logger)
	ts.SetFunctions(invoker{fs})
	wf, err := workflow.New(ctx, st, workflow.Config{Region: cfg.Region, AccountID: cfg.AccountID, Clock: o.Clock, Logger: o.Logger,
		Tasks: tasks{fs: fs, qs: qs, ts: ts, srv: s}})
	if err != nil {
		fs.Close()
		ts.Close()
		ls.Close()
		qs.Close()
		st.Close()
		return nil, err
	}
	s.flows, s.sfn = wf, sfnapi.New(wf, o.Logger)
	objs, err := object.New(ctx, st, object.Config{DataDir: cfg.DataDir, Region: cfg.Region, Clock: o.Clock, Logger: o.Logger})
	if err != nil {
		wf.Close()
		fs.Close()
		ts.Close()
		ls.Close()
		qs.Close()
		st.Close()
		return nil, err
	}
	s.objects, s.s3 = objs, s3api.New(objs, cfg.AccountID, o.Logger)
	evs, err := events.New(ctx, st, events.Config{Region: cfg.Region, AccountID: cfg.AccountID, Clock: o.Clock, Logger: o.Logger,
		Deliverer: eventTargets{tasks{fs: fs, qs: qs, ts: ts, srv: s}}})
	if err != nil {
		wf.Close()
		fs.Close()
		ts.Close()
		ls.Close()
		qs.Close()
		st.Close()
		return nil, err
	}
	s.events, s.eventsAPI = evs, eventsapi.New(evs, o.Logger)
	srch, err := search.New(ctx, st, search.Config{Region: cfg.Region, AccountID: cfg.AccountID, Clock: o.Clock,
		Dir: filepath.Join(cfg.DataDir, "search-index")})
	if err != nil {
		evs.Close()
		wf.Close()
		fs.Close()
		ts.Close()
		ls.Close()
		qs.Close()
		st.Close()
		return nil, err
	}
	s.search, s.searchAPI = srch, searchapi.New(srch, o.Logger)
	fh, err := firehose.New(ctx, st, firehose.Config{Region: cfg.Region, AccountID: cfg.AccountID, Clock: o.Clock, Logger: o.Logger, Sink: firehoseSink{s}})
	if err != nil {
		evs.Close()
		wf.Close()
		fs.Close()
		ts.Close()
		ls.Close()
		qs.Close()
		st.Close()
		return nil, err
	}
	s.firehose, s.firehoseAPI = fh, firehoseapi.New(fh, o.Logger)
	ts.SetStreams(streams{fh})
	s.repo = repo.New(st, repo.Config{Region: cfg.Region, AccountID: cfg.AccountID, Clock: o.Clock, Templates: repoTemplates{s},
		TemplateBucket: repoBucket, Fetch: s.fetchTemplate,
		BeforeDeploy: func(ctx context.Context, a *repo.Application) error {
			if a.Owner == pipelines.Owner {
				return pipelines.StoreCode(ctx, repoTemplates{s}.put)
			}
			return nil
		}})
	if err := pipelines.Install(ctx, s.repo); err != nil {
		evs.Close()
		wf.Close()
		fs.Close()
		ts.Close()
		ls.Close()
		qs.Close()
		st.Close()
		return nil, fmt.Errorf("install the Event Fork Pipelines: %w", err)
	}
	stacks, err := stack.New(ctx, st, stack.Config{Region: cfg.Region, AccountID: cfg.AccountID, Clock: o.Clock, Logger: o.Logger,
		Providers: s.stackProviders(), Fetch: s.fetchTemplate,
		Application: func(ctx context.Context, id, version string) (string, error) {
			return s.repo.Resolve(ctx, cfg.AccountID, id, version)
		}})
	if err != nil {
		evs.Close()
		wf.Close()
		fs.Close()
		ts.Close()
		ls.Close()
		qs.Close()
		st.Close()
		return nil, err
	}
	s.stacks, s.cfn = stacks, cfnapi.New(stacks, o.Logger)
	s.repoAPI = repoapi.New(s.repo, repoDeployer{stacks}, o.Logger)
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// Serve accepts connections on l until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	if s.cfg.PublicURL == "" {
		s.publicURL.Store("http://" + l.Addr().String())
	}
	s.log.Info("forkline serving", "listen", l.Addr().String(), "dataDir", s.cfg.DataDir,
		"region", s.cfg.Region, "account", s.cfg.AccountID, "sigv4", s.auth.Enforcing(), "version", Version)
	err := s.http.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting requests, waits for those in progress (until
// ctx ends), stops the services and closes the store.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	s.closeOnce.Do(func() {
		// Long polls end when the queue service closes; close it first
		// so that Shutdown does not wait up to 20 s for them (the queues
		// still take writes). Then stop taking requests and wait for those
		// in progress, so that no invocation meets a closed function
		// service; then the background work: topic deliveries (which
		// write into queues and invoke functions), the sandboxes, logs.
		s.queues.Close()
		err = s.http.Shutdown(ctx)
		s.stacks.Close()
		s.events.Close()
		s.firehose.Close()
		s.search.Close()
		s.flows.Close()
		s.topics.Close()
		s.funcs.Close()
		s.logs.Close()
		if cerr := s.store.Close(); cerr != nil && err == nil {
			err = cerr
		}
	})
	return err
}

// NewRequestID returns a random request ID in AWS's UUID form.
func NewRequestID() string { return uuid.New() }

// bodyPool recycles request body buffers; decoders copy what they keep.
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// protocol is how a request is framed.
type protocol int

const (
	protoQuery protocol = iota
	protoJSON
)

// ServeHTTP routes one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := NewRequestID()
	rw := &statusWriter{ResponseWriter: w}
	service, action := s.serve(rw, r, reqID)
	level := slog.LevelDebug
	if rw.status >= 500 {
		level = slog.LevelError
	}
	if s.log.Enabled(r.Context(), level) {
		s.log.Log(r.Context(), level, "request", "requestId", reqID, "service", service, "action", action,
			"status", rw.status, "duration", time.Since(start), "remote", r.RemoteAddr)
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, reqID string) (string, string) {
	proto := protoQuery
	target := r.Header.Get("X-Amz-Target")
	if target != "" || strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json") {
		proto = protoJSON
	}
	sreq := &sqsapi.Request{Ctx: r.Context(), RequestID: reqID, BaseURL: baseURL(r), Path: r.URL.Path}
	fail := func(service, action string, e *awserr.Error) (string, string) {
		if service == "sns" && proto == protoQuery {
			s.sns.WriteError(w, &snsapi.Request{Ctx: r.Context(), RequestID: reqID}, e)
			return service, action
		}
		if proto == protoJSON {
			s.sqs.WriteJSONError(w, sreq, e)
		} else {
			s.sqs.WriteQueryError(w, sreq, e)
		}
		return service, action
	}

	if !s.auth.Enforcing() {
		if why := s.fromBrowser(r); why != "" {
			return fail("", "", awserr.New(awserr.AccessDenied, "forkline without credentials answers only the tools and SDKs of this machine, not web pages: "+
				why+". Configure --credentials-file to serve it."))
		}
	}

	if r.Method == http.MethodGet && (r.URL.Path == "/_forkline/health" || r.URL.Path == "/health") {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"running","version":%q}`, Version)
		return "forkline", "health"
	}
	if strings.HasPrefix(r.URL.Path, searchapi.Prefix) {
		return s.serveSearch(w, r, reqID)
	}
	if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/SimpleNotificationService-") && s.sns.ServeCertificate(w, r.URL.Path) {
		return "sns", "SigningCertificate"
	}
	if r.Method == http.MethodGet && s.lambda.ServeCode(w, r) {
		return "lambda", "GetCode"
	}
	// S3 streams its bodies: it is routed before the body is read, by a
	// virtual-hosted bucket name or by the signature's service.
	if bucket, ok := s3api.VirtualBucket(r.Host); ok {
		return s.serveS3(w, r, reqID, bucket, strings.TrimPrefix(r.URL.Path, "/"))
	}
	if q := r.URL.Query(); q.Has("AWSAccessKeyId") && q.Has("Signature") && q.Has("Expires") {
		bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		return s.serveS3(w, r, reqID, bucket, key)
	}
	// The signature is parsed once: its service routes S3 here, and its
	// error is answered only after the body is read.
	auth, authErr := sigv4.Parse(r)
	if auth.Service == "s3" {
		// A malformed S3 signature is answered in S3's shape too.
		bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		return s.serveS3(w, r, reqID, bucket, key)
	}
	if bucket, key, ok := s.anonymousS3(r, auth, authErr); ok {
		return s.serveS3(w, r, reqID, bucket, key)
	}

	buf := bodyPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 1<<20 {
			buf.Reset()
			bodyPool.Put(buf)
		}
	}()
	limit := int64(maxBody)
	isLambda := lambdaapi.Owns(r.URL.Path)
	if isLambda {
		limit = maxLambdaBody
	}
	if r.ContentLength > 0 && r.ContentLength <= limit {
		buf.Grow(int(r.ContentLength))
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	body := buf.Bytes()
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			if isLambda {
				lambdaapi.WriteError(w, reqID, http.StatusRequestEntityTooLarge, "RequestTooLargeException",
					fmt.Sprintf("Request must be smaller than %d bytes for the operation", limit))
				return "lambda", ""
			}
			return fail("", "", &awserr.Error{Entry: awserr.Entry{Code: "RequestEntityTooLarge", Status: http.StatusRequestEntityTooLarge, Sender: true},
				Message: fmt.Sprintf("Request body is larger than %d bytes.", maxBody)})
		}
		return fail("", "", awserr.New(awserr.InvalidParameterValue, "Could not read the request body."))
	}

	if authErr != nil {
		if isLambda || auth.Service == "lambda" {
			e := lambdaAuthError(asAWS(authErr))
			lambdaapi.WriteError(w, reqID, e.Status, e.Code, e.Message)
			return "lambda", ""
		}
		return fail(s.serviceHint(r, body), "", asAWS(authErr))
	}

	// The repository's paths would be an S3 bucket's: its requests are
	// known by their signature's service.
	if auth.Service == "serverlessrepo" {
		if err := s.auth.Verify(r, auth, "serverlessrepo", body); err != nil {
			e := asAWS(err)
			repoapi.WriteError(w, reqID, e.Code, e.Message)
			return "serverlessrepo", ""
		}
		action := s.repoAPI.Serve(w, &repoapi.Request{Ctx: r.Context(), RequestID: reqID, Method: r.Method, Path: r.URL.EscapedPath(),
			Query: r.URL.Query(), Body: body, Caller: s.cfg.AccountID})
		return "serverlessrepo", action
	}

	// REST-JSON services are routed by their paths.
	if isLambda || auth.Service == "lambda" {
		if err := s.auth.Verify(r, auth, "lambda", body); err != nil {
			e := lambdaAuthError(asAWS(err))
			lambdaapi.WriteError(w, reqID, e.Status, e.Code, e.Message)
			return "lambda", ""
		}
		action := s.lambda.Serve(w, &lambdaapi.Request{Ctx: r.Context(), RequestID: reqID, Method: r.Method,
			Path: r.URL.EscapedPath(), Query: r.URL.Query(), Header: r.Header, Body: body})
		return "lambda", action
	}

	// Route: X-Amz-Target, then the credential scope, then Action, then
	// the path.
	var action string
	var params awsquery.Params
	service := auth.Service
	if proto == protoJSON {
		prefix, op, ok := awsjson.Target(target)
		if !ok {
			return fail(service, "", awserr.New(awserr.UnknownOperation, "Missing or malformed X-Amz-Target header."))
		}
		action = op
		switch prefix {
		case sqsapi.TargetPrefix:
			service = "sqs"
		case sfnapi.TargetPrefix:
			if err := s.auth.Verify(r, auth, "states", body); err != nil {
				sfnapi.WriteError(w, reqID, asAWS(err))
				return "states", action
			}
			s.sfn.Serve(r.Context(), w, reqID, action, body)
			return "states", action
		case firehoseapi.TargetPrefix:
			if err := s.auth.Verify(r, auth, "firehose", body); err != nil {
				firehoseapi.WriteError(w, reqID, asAWS(err))
				return "firehose", action
			}
			s.firehoseAPI.Serve(r.Context(), w, reqID, action, body)
			return "firehose", action
		case eventsapi.TargetPrefix:
			if err := s.auth.Verify(r, auth, "events", body); err != nil {
				eventsapi.WriteError(w, reqID, asAWS(err))
				return "events", action
			}
			s.eventsAPI.Serve(r.Context(), w, reqID, action, body)
			return "events", action
		case logsapi.TargetPrefix:
			if err := s.auth.Verify(r, auth, "logs", body); err != nil {
				logsapi.WriteError(w, reqID, asAWS(err))
				return "logs", action
			}
			s.logsAPI.Serve(r.Context(), w, reqID, action, body)
			return "logs", action
		default:
			return fail(service, action, awserr.New(awserr.UnknownOperation, "The service "+prefix+" is not served by forkline."))
		}
	} else {
		raw := body
		if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			raw = nil
		}
		form, err := awsquery.ParseForm(r.URL.RawQuery, raw)
		if err != nil {
			return fail(service, "", asAWS(err))
		}
		params = awsquery.FromValues(form)
		action = params["Action"]
		if service == "" {
			service = s.guessService(action, params, r.URL.Path)
		}
	}
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.Header.Get("Authorization") == "" && !s.auth.Enforcing() &&
		action != "ConfirmSubscription" && action != "Unsubscribe" {
		// An action in a GET's or HEAD's query without an Authorization
		// header is what a link, an image or a no-cors fetch in a web page
		// sends (SDKs and tools POST, and sign in a header; a query-string
		// signature proves nothing without credentials, a page can write
		// one); a browser without Sec-Fetch-Site would not be told apart
		// otherwise. SNS's SubscribeURL and UnsubscribeURL links stay
		// links.
		return fail(service, action, awserr.New(awserr.AccessDenied, "forkline without credentials takes unsigned actions only by POST (a GET could come from a web page): sign the request or POST it."))
	}
	if service == "" && action != "" && s.cfn.Has(action) && !s.sqs.Has(action) && !s.sns.Has(action) {
		service = "cloudformation"
	}
	if service == "cloudformation" && proto == protoQuery {
		if err := s.auth.Verify(r, auth, "cloudformation", body); err != nil {
			s.cfn.WriteError(w, reqID, asAWS(err))
			return service, action
		}
		if action == "" {
			s.cfn.WriteError(w, reqID, awserr.New(awserr.MissingAction, "The request must contain the parameter Action."))
			return service, action
		}
		s.cfn.Serve(w, &cfnapi.Request{HTTP: r, RequestID: reqID}, action, params)
		return service, action
	}
	if service != "sqs" && service != "sns" {
		if service == "" && action != "" {
			return fail(service, action, awserr.New(awserr.InvalidAction, "The action "+action+" is not valid for this endpoint."))
		}
		if service == "" {
			return fail(service, action, awserr.New(awserr.MissingAction, "The request must contain the parameter Action."))
		}
		return fail(service, action, awserr.New(awserr.InvalidAction, "The service "+service+" is not served by forkline."))
	}
	// SubscribeURL and UnsubscribeURL links are followed unsigned, as in
	// SNS; the topic service checks what an unsigned request may do.
	linkAction := service == "sns" && !auth.Signed && (action == "ConfirmSubscription" || action == "Unsubscribe")

	if !linkAction {
		if err := s.auth.Verify(r, auth, service, body); err != nil {
			return fail(service, action, asAWS(err))
		}
	}
	if service == "sns" {
		if proto == protoJSON {
			return fail(service, action, awserr.New(awserr.UnknownOperation, "SNS is served over the query protocol."))
		}
		if action == "" {
			return fail(service, action, awserr.New(awserr.MissingAction, "The request must contain the parameter Action."))
		}
		s.sns.Serve(w, &snsapi.Request{Ctx: r.Context(), RequestID: reqID, Authenticated: auth.Signed,
			TraceHeader: r.Header.Get("X-Amzn-Trace-Id")}, action, params)
		return service, action
	}
	sreq.AccessKey = auth.AccessKey
	if sreq.AccessKey == "" {
		sreq.AccessKey = s.cfg.AccountID
	}
	if proto == protoJSON {
		s.sqs.ServeJSON(w, sreq, action, body)
		return service, action
	}
	if action == "" {
		return fail(service, action, awserr.New(awserr.MissingAction, "The request must contain the parameter Action."))
	}
	s.sqs.ServeQuery(w, sreq, action, params)
	return service, action
}

// codeStore gives Lambda the objects that code locations name (the object
// service starts after the functions).
type codeStore struct{ s *Server }

func (c codeStore) ReadObject(ctx context.Context, bucket, key string, max int64) ([]byte, error) {
	return c.s.objects.ReadObject(ctx, bucket, key, max)
}

// fetchTemplate reads a TemplateURL from object storage: path-style
// (http://HOST/BUCKET/KEY) or virtual-hosted (https://BUCKET.s3...).
func (s *Server) fetchTemplate(ctx context.Context, raw string) ([]byte, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("not a URL: %q", raw)
	}
	path := strings.TrimPrefix(u.Path, "/")
	bucket, key := "", ""
	if b, ok := s3api.VirtualBucket(u.Host); ok {
		bucket, key = b, path
	} else {
		bucket, key, _ = strings.Cut(path, "/")
	}
	return s.objects.ReadObject(ctx, bucket, key, 1<<20)
}

// serveS3 verifies an S3 request's signature and serves it.
func (s *Server) serveS3(w http.ResponseWriter, r *http.Request, reqID, bucket, key string) (string, string) {
	req := &s3api.Request{HTTP: r, RequestID: reqID, Bucket: bucket, Key: key, PayloadHash: r.Header.Get("X-Amz-Content-Sha256")}
	var err error
	if q := r.URL.Query(); q.Has("AWSAccessKeyId") && q.Has("Signature") {
		// The resource as the client escaped it: the path, after the
		// bucket for virtual-hosted requests.
		resource := r.URL.EscapedPath()
		if vb, ok := s3api.VirtualBucket(r.Host); ok {
			resource = "/" + vb + resource
		}
		err = s.auth.VerifyS3V2Query(r, resource)
	} else {
		var auth sigv4.Auth
		if auth, err = sigv4.Parse(r); err == nil {
			var chunks *sigv4.ChunkSigner
			if chunks, err = s.auth.VerifyStreamed(r, auth); chunks != nil {
				req.Chunks = chunks
			}
		}
	}
	if err == nil && (r.URL.Query().Has("X-Amz-Signature") || r.URL.Query().Has("Signature")) {
		// What a presigned URL signed in its query applies as headers
		// (its checksum, Content-MD5, metadata): the handlers enforce
		// headers.
		sigv4.HoistQuery(r)
		req.PayloadHash = r.Header.Get("X-Amz-Content-Sha256")
	}
	if err == nil && s.auth.Enforcing() && !s3DataPut(r, key) {
		// Bodies other than an object's data (DeleteObjects, multipart
		// completions, configurations) are small: read and checked here
		// against the payload hash the signature covered.
		err = checkS3Body(r, req.PayloadHash)
	}
	if err != nil {
		e := s3AuthError(asAWS(err), r)
		se := &s3api.Error{Status: e.Status, Code: e.Code, Message: e.Message}
		if a, perr := sigv4.Parse(r); perr == nil && a.Signed && a.Region != s.cfg.Region &&
			strings.HasPrefix(e.Message, "Credential should be scoped to a valid region") {
			// S3's answer names the region to sign for, which clients
			// (botocore's region redirector) follow (S3 API reference,
			// "Error responses": AuthorizationHeaderMalformed).
			se.Status, se.Region = http.StatusBadRequest, s.cfg.Region
			if a.Presigned {
				se.Code, se.Message = "AuthorizationQueryParametersError", "Error parsing the X-Amz-Credential parameter; the region '"+a.Region+"' is wrong; expecting '"+s.cfg.Region+"'"
			} else {
				se.Code, se.Message = "AuthorizationHeaderMalformed", "The authorization header is malformed; the region '"+a.Region+"' is wrong; expecting '"+s.cfg.Region+"'"
			}
		}
		s.s3.WriteError(w, req, se)
		return "s3", ""
	}
	return "s3", s.s3.Serve(w, req)
}

func asAWS(err error) *awserr.Error {
	var ae *awserr.Error
	if errors.As(err, &ae) {
		return ae
	}
	return awserr.New(awserr.InternalFailure, "The request processing has failed because of an unknown error.")
}

// senders lets functions deliver asynchronous invocation records to queues
// and topics.
type senders struct {
	*queue.Service
	ts *topic.Service
}

// Publish implements function.Senders.
func (x senders) Publish(ctx context.Context, topicArn, message string) error {
	_, err := x.ts.Publish(ctx, topic.PublishInput{TopicArn: topicArn, Message: message})
	return err
}

// tasks runs Step Functions Task states on the other services.
type tasks struct {
	fs  *function.Service
	qs  *queue.Service
	ts  *topic.Service
	srv *Server // for the aws-sdk integrations, which call the APIs
}

// InvokeFunction implements workflow.Tasks.
func (t tasks) InvokeFunction(ctx context.Context, fn string, payload []byte) (workflow.Invocation, error) {
	out, err := t.fs.Invoke(ctx, function.InvokeInput{FunctionName: fn, Payload: payload})
	if err != nil {
		var fe *function.Error
		if errors.As(err, &fe) {
			return workflow.Invocation{}, &workflow.ServiceError{Code: fe.Kind.Error(), Message: fe.Message, Status: function.HTTPStatus[fe.Kind.Error()]}
		}
		return workflow.Invocation{}, err
	}
	inv := workflow.Invocation{Payload: out.Payload, ExecutedVersion: out.ExecutedVersion}
	if out.FunctionError != "" {
		var e struct{ ErrorType string }
		json.Unmarshal(out.Payload, &e)
		inv.ErrorType = e.ErrorType
		if inv.ErrorType == "" {
			inv.ErrorType = "Lambda.Unknown"
		}
	}
	return inv, nil
}

// SendMessage implements workflow.Tasks.
func (t tasks) SendMessage(ctx context.Context, queueURL, body, group, dedup string) (map[string]any, error) {
	name := queueURL[strings.LastIndexByte(queueURL, '/')+1:]
	in := queue.SendInput{Body: body, GroupID: group, HasGroupID: group != "", DedupID: dedup, HasDedupID: dedup != ""}
	res, err := t.qs.SendMessage(ctx, name, in)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"MessageId": res.MessageID, "MD5OfMessageBody": res.MD5Body}
	if res.SequenceNumber != "" {
		out["SequenceNumber"] = res.SequenceNumber
	}
	return out, nil
}

// Publish implements workflow.Tasks.
func (t tasks) Publish(ctx context.Context, topicArn, message, subject string) (map[string]any, error) {
	res, err := t.ts.Publish(ctx, topic.PublishInput{TopicArn: topicArn, Message: message, Subject: subject, HasSubject: subject != ""})
	if err != nil {
		return nil, err
	}
	return map[string]any{"MessageId": res.MessageID}, nil
}

// streams delivers the firehose protocol's notifications to the Firehose
// service (topic.Streams).
type streams struct{ fh *firehose.Service }

// PutRecord implements topic.Streams: the record is durable in the stream
// when it returns. A missing stream or a record it refuses is for good.
func (f streams) PutRecord(ctx context.Context, arn string, data []byte) error {
	name := arn[strings.LastIndexByte(arn, '/')+1:]
	_, err := f.fh.Put(ctx, name, [][]byte{data})
	if errors.Is(err, firehose.ErrNotFound) || errors.Is(err, firehose.ErrInvalid) {
		return fmt.Errorf("%w: %v", topic.ErrRefused, err)
	}
	return err
}

// invoker lets topics invoke functions.
type invoker struct{ fs *function.Service }

// InvokeEvent implements topic.Invoker: SNS invokes asynchronously, so the
// event is queued durably and the function's own failures meet its retry
// and destination settings.
func (i invoker) InvokeEvent(ctx context.Context, arn string, payload []byte) (string, bool, error) {
	out, err := i.fs.Invoke(ctx, function.InvokeInput{FunctionName: arn, InvocationType: "Event", Payload: payload})
	if errors.Is(err, function.ErrResourceNotFound) {
		return "", false, nil
	}
	return out.RequestID, true, err
}

// guessService routes an unsigned query request by its action: SQS and
// SNS share AddPermission and RemovePermission, which SNS addresses by
// TopicArn.
func (s *Server) guessService(action string, p awsquery.Params, path string) string {
	inSNS, inSQS := s.sns.Has(action), s.sqs.Has(action)
	switch {
	case inSNS && inSQS:
		if _, ok := p["TopicArn"]; ok {
			return "sns"
		}
		return "sqs"
	case inSNS:
		return "sns"
	case inSQS, looksLikeQueuePath(path):
		return "sqs"
	}
	return ""
}

// serviceHint names the service a request with an unreadable signature
// was meant for, so that its error comes in that service's shape: the
// credential scope's service if the header names one, else the service
// of a query request's action.
func (s *Server) serviceHint(r *http.Request, body []byte) string {
	if h := r.Header.Get("Authorization"); strings.Contains(h, "/sns/aws4_request") {
		return "sns"
	} else if strings.Contains(h, "/sqs/aws4_request") {
		return "sqs"
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return ""
	}
	form, err := awsquery.ParseForm(r.URL.RawQuery, body)
	if err != nil {
		return ""
	}
	return s.guessService(form.Get("Action"), awsquery.FromValues(form), r.URL.Path)
}

func looksLikeQueuePath(p string) bool {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	return len(parts) == 2 && len(parts[0]) == 12
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if host == "" {
		host = "localhost"
	}
	return scheme + "://" + host
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// functionCredentials returns the temporary credentials code run by
// forkline signs its calls with: read from the data directory, or made
// there at the first start. Like a Lambda execution role's, they are an
// ASIA key with a session token.
func functionCredentials(dataDir string) (key, secret, token string, err error) {
	path := filepath.Join(dataDir, "function-credentials")
	if b, err := os.ReadFile(path); err == nil {
		if f := strings.Fields(string(b)); len(f) == 3 {
			return f[0], f[1], f[2], nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", "", "", fmt.Errorf("function credentials: %w", err)
	}
	const upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	raw := make([]byte, 16+30+48)
	if _, err := rand.Read(raw); err != nil {
		return "", "", "", err
	}
	kb := make([]byte, 16)
	for i, c := range raw[:16] {
		kb[i] = upper[c&31]
	}
	key = "ASIA" + string(kb)
	secret = base64.RawURLEncoding.EncodeToString(raw[16:46])
	token = base64.StdEncoding.EncodeToString(raw[46:])
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", "", "", fmt.Errorf("function credentials: %w", err)
	}
	_, werr := fmt.Fprintf(f, "%s %s %s\n", key, secret, token)
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		return "", "", "", fmt.Errorf("function credentials: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", "", "", fmt.Errorf("function credentials: %w", err)
	}
	if d, err := os.Open(dataDir); err == nil {
		d.Sync()
		d.Close()
	}
	return key, secret, token, nil
}

// s3DataPut reports whether r uploads an object's data (PutObject,
// UploadPart), whose body the S3 handler streams and checks itself.
func s3DataPut(r *http.Request, key string) bool {
	if r.Method != http.MethodPut || key == "" || r.Header.Get("X-Amz-Copy-Source") != "" {
		return false
	}
	for k := range r.URL.Query() {
		switch {
		case k == "partNumber" || k == "uploadId" || k == "x-id" || k == "AWSAccessKeyId" || k == "Signature" || k == "Expires":
		case strings.HasPrefix(strings.ToLower(k), "x-amz-"):
		default:
			return false // a sub-resource: tagging, acl, ...
		}
	}
	return true
}

// maxS3ControlBody bounds the bodies checkS3Body reads: a multipart
// completion of 10,000 parts is under 1 MiB.
const maxS3ControlBody = 8 << 20

// checkS3Body reads a small S3 body, checks it against the hex SHA-256 the
// signature covered (UNSIGNED-PAYLOAD checks nothing, as in S3), and puts
// it back for the handler.
func checkS3Body(r *http.Request, payload string) error {
	if len(payload) != 64 {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxS3ControlBody+1))
	if err != nil {
		return &awserr.Error{Entry: awserr.Entry{Code: "IncompleteBody", Status: http.StatusBadRequest, Sender: true},
			Message: "The request body could not be read."}
	}
	if len(b) > maxS3ControlBody {
		return &awserr.Error{Entry: awserr.Entry{Code: "EntityTooLarge", Status: http.StatusBadRequest, Sender: true},
			Message: "Your proposed upload exceeds the maximum allowed size"}
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != strings.ToLower(payload) {
		return &awserr.Error{Entry: awserr.Entry{Code: "XAmzContentSHA256Mismatch", Status: http.StatusBadRequest, Sender: true},
			Message: "The provided 'x-amz-content-sha256' header does not match what was computed."}
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return nil
}

// fromBrowser says why r may come from a web page, or "" if it cannot.
// Without credentials every signature passes, so a page the developer
// visits could otherwise drive forkline (deploy a stack whose function
// runs code): by a cross-site form or image request, which browsers mark
// with Sec-Fetch-Site and (for a POST) Origin, or through DNS rebinding,
// which names the attacker's host in Host. SDKs and tools send neither
// header, and address a loopback name.
func (s *Server) fromBrowser(r *http.Request) string {
	// A page of this machine (a local app on another port) names its
	// loopback origin; otherwise a cross-site request is a stranger's.
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || !s.loopbackName(u.Hostname()) {
			return "a request from the web origin " + o
		}
	} else if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		// A link followed from a page of this machine (a local app
		// showing a SubscribeURL) names it in Referer, which a stranger's
		// page can suppress but not forge.
		u, err := url.Parse(r.Header.Get("Referer"))
		if err != nil || u.Host == "" || !s.loopbackName(u.Hostname()) {
			return "a cross-site request (Sec-Fetch-Site)"
		}
	}
	if h := r.Host; h != "" {
		name := h
		if host, _, err := net.SplitHostPort(h); err == nil {
			name = host
		}
		name = strings.ToLower(strings.TrimSuffix(strings.Trim(name, "[]"), "."))
		// S3's names under amazonaws.com and LocalStack's under
		// localhost.localstack.cloud are not an attacker's to rebind;
		// S3 clients address buckets under them.
		_, s3Name := s3api.VirtualBucket(name)
		if !s.loopbackName(name) && !s3Name && !s3Endpoint(name) && name != "localhost.localstack.cloud" {
			return "a request for the host " + h
		}
	}
	return ""
}

// s3Endpoint reports whether name is one of S3's own endpoint names
// (s3.amazonaws.com, s3.REGION.amazonaws.com, s3-REGION.amazonaws.com).
func s3Endpoint(name string) bool {
	rest, ok := strings.CutSuffix(name, ".amazonaws.com")
	if !ok {
		return false
	}
	return rest == "s3" || (strings.HasPrefix(rest, "s3.") || strings.HasPrefix(rest, "s3-")) && !strings.Contains(rest[3:], ".")
}

// loopbackName reports whether a host name is this machine's: localhost,
// a name under .localhost, a loopback address, or the --public-url host.
func (s *Server) loopbackName(name string) bool {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return true
	}
	if ip := net.ParseIP(name); ip != nil && ip.IsLoopback() {
		return true
	}
	if s.cfg.PublicURL != "" {
		if u, err := url.Parse(s.cfg.PublicURL); err == nil && strings.EqualFold(u.Hostname(), name) {
			return true
		}
	}
	return false
}

// s3AuthError is S3's own answer to a signature it refuses, where S3's
// codes differ from the other services' (S3 API reference, "Error
// responses": InvalidAccessKeyId, RequestTimeTooSkewed, AccessDenied for
// an expired presigned URL, AuthorizationQueryParametersError and
// AuthorizationHeaderMalformed for malformed signatures).
func s3AuthError(e *awserr.Error, r *http.Request) *awserr.Error {
	mk := func(code string, status int, msg string) *awserr.Error {
		return &awserr.Error{Entry: awserr.Entry{Code: code, Status: status, Sender: true}, Message: msg}
	}
	presigned := r.URL.Query().Has("X-Amz-Signature") || r.URL.Query().Has("Signature")
	switch e.Code {
	case awserr.InvalidClientTokenID:
		if r.Header.Get("X-Amz-Security-Token") != "" || r.URL.Query().Has("X-Amz-Security-Token") {
			return mk("InvalidToken", http.StatusBadRequest, "The provided token is malformed or otherwise invalid.")
		}
		return mk("InvalidAccessKeyId", http.StatusForbidden, "The AWS Access Key Id you provided does not exist in our records.")
	case awserr.RequestExpired:
		if presigned {
			return mk("AccessDenied", http.StatusForbidden, strings.TrimSuffix(e.Message, "."))
		}
		return mk("RequestTimeTooSkewed", http.StatusForbidden, "The difference between the request time and the current time is too large.")
	case awserr.MissingAuthenticationToken:
		return mk("AccessDenied", http.StatusForbidden, "Access Denied")
	case awserr.IncompleteSignature:
		if presigned {
			return mk("AuthorizationQueryParametersError", http.StatusBadRequest, e.Message)
		}
		return mk("AuthorizationHeaderMalformed", http.StatusBadRequest, e.Message)
	}
	return e
}

// lambdaAuthError is Lambda's answer to a signature it refuses: its
// exceptions are named differently from the query services' codes
// (UnrecognizedClientException for an unknown key, InvalidSignatureException
// for a wrong or expired signature; Lambda API reference, common errors).
func lambdaAuthError(e *awserr.Error) *awserr.Error {
	mk := func(code, msg string) *awserr.Error {
		return &awserr.Error{Entry: awserr.Entry{Code: code, Status: http.StatusForbidden, Sender: true}, Message: msg}
	}
	switch e.Code {
	case awserr.InvalidClientTokenID:
		return mk("UnrecognizedClientException", e.Message)
	case awserr.SignatureDoesNotMatch:
		return mk("InvalidSignatureException", e.Message)
	case awserr.RequestExpired:
		return mk("InvalidSignatureException", "Signature expired: "+e.Message)
	case awserr.MissingAuthenticationToken:
		return mk("MissingAuthenticationTokenException", "Missing Authentication Token")
	case awserr.IncompleteSignature:
		return mk("IncompleteSignatureException", e.Message)
	}
	return e
}

// anonymousS3 recognizes an unsigned path-style request for an existing
// bucket (a browser tab or curl fetching an object), which S3 takes as an
// anonymous request: served without credentials configured, refused with
// AccessDenied with them. The query services' requests name an Action.
func (s *Server) anonymousS3(r *http.Request, auth sigv4.Auth, authErr error) (string, string, bool) {
	if auth.Signed || authErr != nil || r.Header.Get("X-Amz-Target") != "" {
		return "", "", false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete:
	default:
		return "", "", false
	}
	if r.URL.Query().Has("Action") {
		return "", "", false
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if bucket == "" || s.objects == nil {
		return "", "", false
	}
	if _, err := s.objects.HeadBucket(r.Context(), bucket); err != nil {
		return "", "", false
	}
	return bucket, key, true
}
