package topic

import (
	"log/slog"
	"sync"
	"time"
)

// logEvery is the least time between two warnings about one
// subscription's failed deliveries: an endpoint that is down, or a queue
// deleted under its subscription, fails every message, and a warning for
// each filled the log (the soak audit: 8,000 lines for 2,000 publishes).
const logEvery = 10 * time.Second

// logLimiter lets through one warning per key per logEvery and counts the
// ones it holds back, which the next warning reports.
type logLimiter struct {
	mu   sync.Mutex
	keys map[string]*limited
}

type limited struct {
	last   time.Time
	held   int
	logged bool
}

// warn logs msg for key unless one was logged less than logEvery ago.
func (l *logLimiter) warn(log *slog.Logger, key, msg string, args ...any) {
	now := time.Now()
	l.mu.Lock()
	if l.keys == nil {
		l.keys = map[string]*limited{}
	}
	k := l.keys[key]
	if k == nil {
		k = &limited{}
		l.keys[key] = k
	}
	if k.logged && now.Sub(k.last) < logEvery {
		k.held++
		l.mu.Unlock()
		return
	}
	held := k.held
	k.last, k.held, k.logged = now, 0, true
	// Keys not seen for a while are forgotten.
	if len(l.keys) > 1024 {
		for key, v := range l.keys {
			if now.Sub(v.last) > logEvery {
				delete(l.keys, key)
			}
		}
	}
	l.mu.Unlock()
	if held > 0 {
		args = append(args, "alike since the last warning", held)
	}
	log.Warn(msg, args...)
}
