// Command forkline runs the event-driven serverless stack on one port:
// `forkline serve` starts it; `forkline deploy`, `delete` and `validate`
// manage stacks on a running forkline; `forkline version` prints its
// version.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // served only when FORKLINE_PPROF_LISTEN is set
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/metrics"
	"syscall"
	"time"

	"github.com/forkline/forkline/internal/config"
	"github.com/forkline/forkline/internal/server"
)

const usage = `usage: forkline <command> [flags]

commands:
  serve     start forkline (forkline serve -h for its flags)
  deploy    deploy a CloudFormation or SAM template (forkline deploy --help)
  delete    delete a stack
  validate  check a template without deploying it
  version   print the version
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		if err := serve(os.Args[2:]); err != nil {
			if !errors.Is(err, flag.ErrHelp) {
				fmt.Fprintln(os.Stderr, "forkline:", err)
			}
			os.Exit(1)
		}
	case "deploy", "delete", "validate":
		if err := stackCommand(os.Args[1], os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "forkline:", err)
			os.Exit(1)
		}
	case "version", "--version", "-version":
		fmt.Println("forkline", server.Version)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "forkline: unknown command %q\n%s", os.Args[1], usage)
		os.Exit(2)
	}
}

func serve(args []string) error {
	cfg, err := config.Load(args, os.Getenv)
	if err != nil {
		return err
	}
	level := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}[cfg.LogLevel]
	hopts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, hopts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(os.Stderr, hopts)
	}
	log := slog.New(h)
	slog.SetDefault(log)

	if addr := os.Getenv("FORKLINE_PPROF_LISTEN"); addr != "" {
		if ok, err := config.IsLoopback(addr); err != nil || !ok {
			return fmt.Errorf("FORKLINE_PPROF_LISTEN must be a loopback address, not %q", addr)
		}
		go func() { log.Info("pprof listening", "addr", addr, "err", http.ListenAndServe(addr, nil)) }()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tuneGC(ctx)
	srv, err := server.New(ctx, cfg, server.Options{Logger: log})
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		srv.Shutdown(context.Background())
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		log.Info("shutting down")
	}
	sctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil && err == nil {
		err = serr
	}
	log.Info("stopped")
	return err
}

// tuneGC trades memory the service does not need for less GC work: the live
// heap is small (indexes and in-flight requests; bodies live in the store),
// so a higher GOGC with a soft memory limit keeps the collector out of the
// request path. GOGC and GOMEMLIMIT in the environment win.
//
// The limit follows the live heap: at least 160 MiB, and half again the
// live heap (plus the runtime's memory beside the heap) once that is
// larger. A fixed limit below the live heap (a
// backlog of a few million messages in the indexes) made the collector
// run back to back, at up to half the CPU (a profile of a publish to 100
// subscriptions with 2 million copies queued: 24 % in marking, 10 % in
// write barriers).
func tuneGC(ctx context.Context) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(memoryLimit(0, 0))
	go func() {
		// The live heap, and what the runtime holds beside the heap
		// (goroutine stacks, metadata), which the limit also counts.
		sample := []metrics.Sample{
			{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/total:bytes"},
			{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"},
			{Name: "/memory/classes/heap/free:bytes"}, {Name: "/memory/classes/heap/released:bytes"},
		}
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			metrics.Read(sample)
			var v [6]uint64
			for i, s := range sample {
				if s.Value.Kind() == metrics.KindUint64 {
					v[i] = s.Value.Uint64()
				}
			}
			heap := v[2] + v[3] + v[4] + v[5]
			var beside uint64
			if v[1] > heap {
				beside = v[1] - heap
			}
			debug.SetMemoryLimit(memoryLimit(v[0], beside))
		}
	}()
}

// memoryLimit is the soft memory limit for a live heap of live bytes and
// beside bytes of runtime memory outside the heap.
func memoryLimit(live, beside uint64) int64 {
	return max(160<<20, int64(live)*3/2+int64(beside))
}
