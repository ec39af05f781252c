package events

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Schedule expressions as the EventBridge user guide defines them
// ("Creating an Amazon EventBridge rule that runs on a schedule"): rate(N
// unit) and cron(Minutes Hours Day-of-month Month Day-of-week Year), in UTC.

// errExpr is the one message EventBridge gives for any malformed expression.
var errExpr = errors.New("Parameter ScheduleExpression is not valid.")

// Schedule tells when a scheduled rule next fires.
type Schedule interface {
	// Next returns the first firing time strictly after t, or the zero
	// time when there is none.
	Next(t time.Time) time.Time
}

// ParseSchedule parses a schedule expression; start anchors rate
// expressions (a rate rule fires every period after it was created).
func ParseSchedule(expr string, start time.Time) (Schedule, error) {
	return ParseScheduleIn(expr, start, "")
}

// ParseScheduleIn parses a schedule expression whose cron and at() times
// are in the named time zone (EventBridge Scheduler's
// ScheduleExpressionTimezone; UTC when empty).
func ParseScheduleIn(expr string, start time.Time, tz string) (Schedule, error) {
	loc := time.UTC
	if tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil {
			return nil, errors.New("Invalid ScheduleExpressionTimezone: " + tz)
		}
		loc = l
	}
	switch {
	case strings.HasPrefix(expr, "at(") && strings.HasSuffix(expr, ")"):
		t, err := time.ParseInLocation("2006-01-02T15:04:05", expr[3:len(expr)-1], loc)
		if err != nil {
			return nil, errExpr
		}
		return once(t), nil
	case strings.HasPrefix(expr, "cron(") && strings.HasSuffix(expr, ")") && loc != time.UTC:
		c, err := parseCron(expr[5 : len(expr)-1])
		if err != nil {
			return nil, err
		}
		return zoned{c, loc}, nil
	}
	switch {
	case strings.HasPrefix(expr, "rate(") && strings.HasSuffix(expr, ")"):
		return parseRate(expr[5:len(expr)-1], start)
	case strings.HasPrefix(expr, "cron(") && strings.HasSuffix(expr, ")"):
		return parseCron(expr[5 : len(expr)-1])
	}
	return nil, errExpr
}

type rate struct {
	every time.Duration
	start time.Time
}

func parseRate(s string, start time.Time) (Schedule, error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return nil, errExpr
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n <= 0 || f[0][0] == '+' {
		return nil, errExpr
	}
	unit := f[1]
	// "If the value is equal to 1, then the unit must be singular.
	// Similarly, for values greater than 1, the unit must be plural."
	if n == 1 {
		unit += "s"
	} else if !strings.HasSuffix(unit, "s") {
		return nil, errExpr
	}
	var d time.Duration
	switch unit {
	case "minutes":
		d = time.Minute
	case "hours":
		d = time.Hour
	case "days":
		d = 24 * time.Hour
	default:
		return nil, errExpr
	}
	return rate{every: time.Duration(n) * d, start: start.Truncate(time.Second)}, nil
}

func (r rate) Next(t time.Time) time.Time {
	if t.Before(r.start) {
		return r.start.Add(r.every)
	}
	k := t.Sub(r.start)/r.every + 1
	return r.start.Add(k * r.every)
}

// cron is a parsed cron expression: each field a set of allowed values,
// with the day fields' special forms kept aside.
type cron struct {
	minute, hour, month uint64       // bit i set: value i allowed
	years               map[int]bool // nil: every year
	domAny, dowAny      bool         // "?"
	dom                 uint64       // days 1..31
	domLast             bool         // L
	domLastWeekday      bool         // LW
	domNearWeekday      []int        // nW
	dow                 uint64       // 1 (SUN) .. 7 (SAT)
	dowLast             []int        // nL: the last such weekday of the month
	dowNth              [][2]int     // d#n: the nth such weekday
}

var monthNames = map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
var dayNames = map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}

func parseCron(s string) (Schedule, error) {
	f := strings.Fields(s)
	if len(f) != 6 {
		return nil, errExpr
	}
	c := &cron{}
	var err error
	if c.minute, err = parseField(f[0], 0, 59, nil); err != nil {
		return nil, err
	}
	if c.hour, err = parseField(f[1], 0, 23, nil); err != nil {
		return nil, err
	}
	if c.month, err = parseField(f[3], 1, 12, monthNames); err != nil {
		return nil, err
	}
	// "You can't specify the Day-of-month and Day-of-week fields in the
	// same cron expression. If you specify a value or a * in one of the
	// fields, you must use a ? in the other."
	c.domAny, c.dowAny = f[2] == "?", f[4] == "?"
	if c.domAny == c.dowAny {
		return nil, errExpr
	}
	if !c.domAny {
		if err := c.parseDOM(f[2]); err != nil {
			return nil, err
		}
	}
	if !c.dowAny {
		if err := c.parseDOW(f[4]); err != nil {
			return nil, err
		}
	}
	if f[5] != "*" {
		c.years = map[int]bool{}
		for _, part := range strings.Split(f[5], ",") {
			lo, hi, step, err := rangeOf(part, 1970, 2199, nil)
			if err != nil {
				return nil, err
			}
			for y := lo; y <= hi; y += step {
				c.years[y] = true
			}
		}
	}
	return c, nil
}

// parseField parses a list of values, ranges, * and steps into a bit set.
func parseField(s string, min, max int, names map[string]int) (uint64, error) {
	var set uint64
	for _, part := range strings.Split(s, ",") {
		lo, hi, step, err := rangeOf(part, min, max, names)
		if err != nil {
			return 0, err
		}
		for v := lo; v <= hi; v += step {
			set |= 1 << uint(v)
		}
	}
	return set, nil
}

// rangeOf parses "*", "v", "a-b", each optionally "/step".
func rangeOf(part string, min, max int, names map[string]int) (lo, hi, step int, err error) {
	step = 1
	if i := strings.IndexByte(part, '/'); i >= 0 {
		step, err = strconv.Atoi(part[i+1:])
		if err != nil || step <= 0 {
			return 0, 0, 0, errExpr
		}
		part = part[:i]
		hi = max
	}
	value := func(s string) (int, error) {
		if v, ok := names[strings.ToUpper(s)]; ok {
			return v, nil
		}
		v, err := strconv.Atoi(s)
		if err != nil || v < min || v > max || s == "" || s[0] == '+' || s[0] == '-' {
			return 0, errExpr
		}
		return v, nil
	}
	switch {
	case part == "*":
		return min, max, step, nil
	case strings.Contains(part, "-"):
		i := strings.IndexByte(part, '-')
		if lo, err = value(part[:i]); err != nil {
			return
		}
		if hi, err = value(part[i+1:]); err != nil {
			return
		}
		if hi < lo {
			return 0, 0, 0, errExpr
		}
		return lo, hi, step, nil
	}
	if lo, err = value(part); err != nil {
		return
	}
	if step == 1 && hi == 0 {
		hi = lo
	}
	return lo, hi, step, nil
}

func (c *cron) parseDOM(s string) error {
	for _, part := range strings.Split(s, ",") {
		switch {
		case part == "L":
			c.domLast = true
		case part == "LW":
			c.domLastWeekday = true
		case strings.HasSuffix(part, "W"):
			v, err := strconv.Atoi(part[:len(part)-1])
			if err != nil || v < 1 || v > 31 {
				return errExpr
			}
			c.domNearWeekday = append(c.domNearWeekday, v)
		default:
			set, err := parseField(part, 1, 31, nil)
			if err != nil {
				return err
			}
			c.dom |= set
		}
	}
	return nil
}

func (c *cron) parseDOW(s string) error {
	weekday := func(s string) (int, error) {
		if v, ok := dayNames[strings.ToUpper(s)]; ok {
			return v, nil
		}
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > 7 {
			return 0, errExpr
		}
		return v, nil
	}
	for _, part := range strings.Split(s, ",") {
		switch {
		case part == "L": // the last day of the week
			c.dow |= 1 << 7
		case len(part) > 1 && strings.HasSuffix(part, "L"):
			d, err := weekday(part[:len(part)-1])
			if err != nil {
				return err
			}
			c.dowLast = append(c.dowLast, d)
		case strings.Contains(part, "#"):
			i := strings.IndexByte(part, '#')
			d, err := weekday(part[:i])
			if err != nil {
				return err
			}
			n, err := strconv.Atoi(part[i+1:])
			if err != nil || n < 1 || n > 5 {
				return errExpr
			}
			c.dowNth = append(c.dowNth, [2]int{d, n})
		default:
			set, err := parseField(part, 1, 7, dayNames)
			if err != nil {
				return err
			}
			c.dow |= set
		}
	}
	return nil
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// dayMatches reports whether the date fires under the day fields.
func (c *cron) dayMatches(d time.Time) bool {
	day, last := d.Day(), daysIn(d.Year(), d.Month())
	if !c.domAny {
		if c.dom&(1<<uint(day)) != 0 || (c.domLast && day == last) {
			return true
		}
		if c.domLastWeekday && day == nearestWeekday(d.Year(), d.Month(), last) {
			return true
		}
		for _, n := range c.domNearWeekday {
			if n <= last && day == nearestWeekday(d.Year(), d.Month(), n) {
				return true
			}
		}
		return false
	}
	wd := int(d.Weekday()) + 1 // 1 = SUN
	if c.dow&(1<<uint(wd)) != 0 {
		return true
	}
	for _, w := range c.dowLast {
		if w == wd && day+7 > last {
			return true
		}
	}
	for _, p := range c.dowNth {
		if p[0] == wd && (day-1)/7+1 == p[1] {
			return true
		}
	}
	return false
}

// nearestWeekday is the weekday (Monday to Friday) nearest to day n of the
// month, never crossing into another month.
func nearestWeekday(y int, m time.Month, n int) int {
	t := time.Date(y, m, n, 0, 0, 0, 0, time.UTC)
	switch t.Weekday() {
	case time.Saturday:
		if n == 1 {
			return 3
		}
		return n - 1
	case time.Sunday:
		if n == daysIn(y, m) {
			return n - 2
		}
		return n + 1
	}
	return n
}

func (c *cron) Next(t time.Time) time.Time {
	t = t.UTC().Truncate(time.Minute).Add(time.Minute)
	// A bounded walk over days: the expression's year field ends at 2199,
	// and an expression that never fires (31 FEB) stops at the bound.
	end := t.AddDate(10, 0, 0)
	for d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC); d.Before(end); d = d.AddDate(0, 0, 1) {
		if c.years != nil && !c.years[d.Year()] {
			if d.Year() > 2199 {
				break
			}
			d = time.Date(d.Year()+1, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
			continue
		}
		if c.month&(1<<uint(d.Month())) == 0 || !c.dayMatches(d) {
			continue
		}
		for h := 0; h < 24; h++ {
			if c.hour&(1<<uint(h)) == 0 {
				continue
			}
			for m := 0; m < 60; m++ {
				if c.minute&(1<<uint(m)) == 0 {
					continue
				}
				at := d.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
				if !at.Before(t) {
					return at
				}
			}
		}
	}
	return time.Time{}
}

// once is an at() expression: one time.
type once time.Time

func (o once) Next(t time.Time) time.Time {
	if time.Time(o).After(t) {
		return time.Time(o)
	}
	return time.Time{}
}

// zoned evaluates a cron expression in a time zone.
type zoned struct {
	c   Schedule
	loc *time.Location
}

func (z zoned) Next(t time.Time) time.Time {
	// Walk the wall clock of the zone: shift to a UTC instant with the
	// same wall time, find the next match, shift back.
	wall := t.In(z.loc)
	asUTC := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), wall.Nanosecond(), time.UTC)
	n := z.c.Next(asUTC)
	if n.IsZero() {
		return n
	}
	return time.Date(n.Year(), n.Month(), n.Day(), n.Hour(), n.Minute(), 0, 0, z.loc)
}
