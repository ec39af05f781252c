// Package config holds forkline's one configuration struct, its defaults,
// and its loading from flags and the environment (flags win).
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Config configures `forkline serve`.
type Config struct {
	Listen          string
	DataDir         string
	Region          string
	AccountID       string
	CredentialsFile string
	LogLevel        string
	LogFormat       string
	// GroupCommitWindow lets concurrent durable writes gather before the
	// write-ahead log is synced (see pebblestore.Options).
	GroupCommitWindow time.Duration
	// PublicURL is the scheme://host:port at which subscribers and
	// functions reach forkline (SNS SubscribeURL, UnsubscribeURL and
	// SigningCertURL); empty means http:// and the listening address.
	PublicURL string
	// StrictRuntimes refuses to run a python or nodejs function whose
	// exact runtime version the host lacks, instead of running it on the
	// nearest interpreter with a warning.
	StrictRuntimes bool
}

// Default returns the defaults.
func Default() Config {
	return Config{
		Listen:    "127.0.0.1:4566",
		DataDir:   defaultDataDir(),
		Region:    "us-east-1",
		AccountID: "000000000000",
		LogLevel:  "info",
		LogFormat: "text",

		GroupCommitWindow: 250 * time.Microsecond,
	}
}

// defaultDataDir is a "forkline" folder under the user's data directory:
// $XDG_DATA_HOME, else ~/.local/share (on macOS ~/Library/Application
// Support).
func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "forkline")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "forkline-data"
	}
	if _, err := os.Stat(filepath.Join(home, "Library", "Application Support")); err == nil {
		return filepath.Join(home, "Library", "Application Support", "forkline")
	}
	return filepath.Join(home, ".local", "share", "forkline")
}

// Load parses args (without the program and command names) over the
// environment over the defaults.
func Load(args []string, getenv func(string) string) (Config, error) {
	c := Default()
	env := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	env("FORKLINE_LISTEN", &c.Listen)
	env("FORKLINE_DATA_DIR", &c.DataDir)
	env("FORKLINE_REGION", &c.Region)
	env("FORKLINE_ACCOUNT_ID", &c.AccountID)
	env("FORKLINE_CREDENTIALS_FILE", &c.CredentialsFile)
	env("FORKLINE_LOG_LEVEL", &c.LogLevel)
	env("FORKLINE_LOG_FORMAT", &c.LogFormat)
	env("FORKLINE_PUBLIC_URL", &c.PublicURL)
	var envErr error
	if v := getenv("FORKLINE_GROUP_COMMIT_WINDOW"); v != "" {
		c.GroupCommitWindow, envErr = time.ParseDuration(v)
		if envErr != nil {
			return c, fmt.Errorf("FORKLINE_GROUP_COMMIT_WINDOW: %w", envErr)
		}
	}

	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&c.Listen, "listen", c.Listen, "address to listen on (FORKLINE_LISTEN)")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "data directory (FORKLINE_DATA_DIR)")
	fs.StringVar(&c.Region, "region", c.Region, "AWS region forkline presents (FORKLINE_REGION)")
	fs.StringVar(&c.AccountID, "account-id", c.AccountID, "AWS account ID forkline presents (FORKLINE_ACCOUNT_ID)")
	fs.StringVar(&c.CredentialsFile, "credentials-file", c.CredentialsFile, "file of access key / secret pairs; enables SigV4 verification (FORKLINE_CREDENTIALS_FILE)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error (FORKLINE_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "text or json (FORKLINE_LOG_FORMAT)")
	fs.DurationVar(&c.GroupCommitWindow, "group-commit-window", c.GroupCommitWindow, "least time between write-ahead log syncs; concurrent writes share a sync (FORKLINE_GROUP_COMMIT_WINDOW)")
	if v := getenv("FORKLINE_STRICT_RUNTIMES"); v != "" {
		c.StrictRuntimes = v == "1" || strings.EqualFold(v, "true")
	}
	fs.BoolVar(&c.StrictRuntimes, "strict-runtimes", c.StrictRuntimes, "refuse python/nodejs functions whose exact runtime version the host lacks (FORKLINE_STRICT_RUNTIMES)")
	fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, "URL at which subscribers reach forkline, for SNS links; default http://LISTEN (FORKLINE_PUBLIC_URL)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return c, c.Validate()
}

var (
	accountRe = regexp.MustCompile(`^[0-9]{12}$`)
	regionRe  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
)

// Validate checks the configuration, including the rule that forkline
// listens beyond loopback only with credentials configured.
func (c Config) Validate() error {
	var errs []error
	if !accountRe.MatchString(c.AccountID) {
		errs = append(errs, fmt.Errorf("account ID %q: want 12 digits", c.AccountID))
	}
	if !regionRe.MatchString(c.Region) {
		errs = append(errs, fmt.Errorf("region %q: want a region name such as us-east-1", c.Region))
	}
	if c.GroupCommitWindow < 0 || c.GroupCommitWindow > 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("group commit window %s: want 0 to 100ms", c.GroupCommitWindow))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data directory must not be empty"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log level %q: want debug, info, warn or error", c.LogLevel))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log format %q: want text or json", c.LogFormat))
	}
	if c.PublicURL != "" && !strings.HasPrefix(c.PublicURL, "http://") && !strings.HasPrefix(c.PublicURL, "https://") {
		errs = append(errs, fmt.Errorf("public URL %q: want http://host:port or https://host:port", c.PublicURL))
	}
	loop, err := IsLoopback(c.Listen)
	if err != nil {
		errs = append(errs, err)
	} else if !loop && c.CredentialsFile == "" {
		errs = append(errs, fmt.Errorf("refusing to listen on %s beyond loopback without credentials: set --credentials-file", c.Listen))
	}
	return errors.Join(errs...)
}

// IsLoopback reports whether a listen address binds only loopback
// interfaces. An empty host (all interfaces) is not loopback.
func IsLoopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return true, nil
	}
	if host == "" {
		return false, nil // all interfaces
	}
	ip := net.ParseIP(host)
	if ip == nil {
		ips, err := net.LookupIP(host)
		if err != nil || len(ips) == 0 {
			return false, fmt.Errorf("listen address %q: cannot resolve host", addr)
		}
		for _, ip := range ips {
			if !ip.IsLoopback() {
				return false, nil
			}
		}
		return true, nil
	}
	return ip.IsLoopback(), nil
}
