package events

import (
	"testing"
	"time"
)

func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

// The examples of the EventBridge user guide, "Cron expressions" table
// (docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html).
func TestCronExamples(t *testing.T) {
	cases := []struct {
		expr, after string
		want        []string
	}{
		{"cron(0 10 * * ? *)", "2026-11-27 10:00", []string{"2026-11-28 10:00", "2026-11-29 10:00"}},
		{"cron(15 12 * * ? *)", "2026-11-27 06:00", []string{"2026-11-27 12:15", "2026-11-28 12:15"}},
		{"cron(0 18 ? * MON-FRI *)", "2026-11-27 19:00", []string{"2026-11-30 18:00", "2026-12-01 18:00"}}, // Fri → Mon
		{"cron(0 8 1 * ? *)", "2026-11-27 00:00", []string{"2026-12-01 08:00", "2027-01-01 08:00"}},
		{"cron(0/15 * * * ? *)", "2026-11-27 06:07", []string{"2026-11-27 06:15", "2026-11-27 06:30"}},
		{"cron(0/10 * ? * MON-FRI *)", "2026-11-27 23:55", []string{"2026-11-30 00:00", "2026-11-30 00:10"}},
		{"cron(0/5 8-17 ? * MON-FRI *)", "2026-11-27 17:55", []string{"2026-11-30 08:00", "2026-11-30 08:05"}},
		{"cron(0 9 ? * 2#1 *)", "2026-11-27 00:00", []string{"2026-12-07 09:00", "2027-01-04 09:00"}}, // first Monday
		{"cron(0 0 L * ? *)", "2026-11-27 00:00", []string{"2026-11-30 00:00", "2026-12-31 00:00"}},
		{"cron(0 0 ? * 6L *)", "2026-11-01 00:00", []string{"2026-11-27 00:00", "2026-12-25 00:00"}},  // last Friday
		{"cron(0 0 15W * ? *)", "2026-11-01 00:00", []string{"2026-11-16 00:00", "2026-12-15 00:00"}}, // Sun 15 Nov → Mon 16
		{"cron(0 0 1W * ? *)", "2026-07-31 00:00", []string{"2026-08-03 00:00"}},                      // Sat 1 Aug → Mon 3, not July
		{"cron(30 6 ? * SAT,SUN 2027)", "2026-11-27 00:00", []string{"2027-01-02 06:30", "2027-01-03 06:30"}},
		{"cron(0 12 31 2 ? *)", "2026-01-01 00:00", []string{""}}, // never
	}
	for _, c := range cases {
		s, err := ParseSchedule(c.expr, time.Time{})
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		cur := at(c.after)
		for _, w := range c.want {
			got := s.Next(cur)
			if w == "" {
				if !got.IsZero() {
					t.Errorf("%s after %s = %v, want never", c.expr, c.after, got)
				}
				break
			}
			if !got.Equal(at(w)) {
				t.Errorf("%s after %s = %v, want %s", c.expr, cur, got, w)
				break
			}
			cur = got
		}
	}
}

func TestRate(t *testing.T) {
	start := at("2026-11-27 06:00").Add(17 * time.Second)
	s, err := ParseSchedule("rate(5 minutes)", start)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Next(start); !got.Equal(start.Add(5 * time.Minute)) {
		t.Fatalf("first = %v", got)
	}
	if got := s.Next(start.Add(5 * time.Minute)); !got.Equal(start.Add(10 * time.Minute)) {
		t.Fatalf("second = %v", got)
	}
	for _, ok := range []string{"rate(1 minute)", "rate(1 hour)", "rate(7 days)", "rate(2 hours)"} {
		if _, err := ParseSchedule(ok, start); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

// "If the value is equal to 1, then the unit must be singular" (same page);
// one of Day-of-month and Day-of-week must be "?".
func TestInvalidExpressions(t *testing.T) {
	for _, bad := range []string{"rate(1 minutes)", "rate(5 minute)", "rate(0 minutes)", "rate(-1 minutes)", "rate(5 weeks)",
		"rate(5)", "cron(0 10 * * * *)", "cron(0 10 ? * ? *)", "cron(0 10 * *)", "cron(60 10 * * ? *)", "cron(0 24 * * ? *)",
		"cron(0 10 32 * ? *)", "cron(0 10 ? * 8 *)", "cron(0 10 ? * 2#6 *)", "cron(0 10 * 13 ? *)", "cron(0 10 * * ? 1969)",
		"cron(5-1 10 * * ? *)", "cron(0/0 10 * * ? *)", "every day", "", "rate(5 minutes"} {
		if _, err := ParseSchedule(bad, time.Time{}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzSchedule(f *testing.F) {
	for _, s := range []string{"rate(5 minutes)", "cron(0/5 8-17 ? * MON-FRI *)", "cron(0 0 LW * ? *)", "cron(0 9 ? * 2#1 2026-2030/2)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := ParseSchedule(expr, time.Unix(0, 0))
		if err != nil {
			return
		}
		from := at("2026-11-27 06:00")
		if n := s.Next(from); !n.IsZero() && !n.After(from) {
			t.Fatalf("%s: next %v not after %v", expr, n, from)
		}
	})
}
