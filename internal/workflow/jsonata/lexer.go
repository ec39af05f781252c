// Package jsonata evaluates JSONata 2.0 expressions (docs.jsonata.org), the
// query language that Step Functions states may use instead of JSONPath:
// paths over JSON values with predicates, sorting and grouping, the
// operators, lambdas and higher-order functions, and the function library,
// with Step Functions' own functions added by the caller.
//
// Values are those of asl (decoded with UseNumber): nil, bool, json.Number
// or float64, string, []any and map[string]any; a result that is not
// defined is reported as such rather than as null. Evaluation is bounded
// in depth and time, so that no expression can take the process down.
package jsonata

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Error is an expression's failure: JSONata's code (S0201, T2001, ...),
// the position in the expression, and the message.
type Error struct {
	Code     string
	Position int
	Message  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s at position %d: %s", e.Code, e.Position, e.Message)
}

func errorAt(code string, pos int, format string, args ...any) *Error {
	return &Error{Code: code, Position: pos, Message: fmt.Sprintf(format, args...)}
}

type tokenKind int

const (
	tokEnd tokenKind = iota
	tokOperator
	tokName     // a field name (plain or `quoted`)
	tokVariable // $name; $ alone and $$ too
	tokString
	tokNumber
	tokValue // true, false, null
	tokRegex
)

type token struct {
	kind  tokenKind
	value string
	num   float64
	flags string // regex flags
	pos   int
}

var operators = []string{"..", ":=", "!=", ">=", "<=", "**", "~>", "?:", "??",
	".", "[", "]", "{", "}", "(", ")", ",", "@", "#", ";", ":", "?", "+", "-", "*", "/", "%", "|", "=", "<", ">", "^", "&", "!", "~"}

type lexer struct {
	src string
	pos int
}

// next reads a token; prefix says whether a '/' there starts a regular
// expression (the parser knows).
func (l *lexer) next(prefix bool) (token, error) {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			l.pos++
			continue
		}
		if strings.HasPrefix(l.src[l.pos:], "/*") {
			end := strings.Index(l.src[l.pos+2:], "*/")
			if end < 0 {
				return token{}, errorAt("S0106", l.pos, "Comment has no closing tag")
			}
			l.pos += end + 4
			continue
		}
		break
	}
	start := l.pos
	if l.pos >= len(l.src) {
		return token{kind: tokEnd, pos: start}, nil
	}
	c := l.src[l.pos]
	switch {
	case prefix && c == '/':
		return l.regex()
	case c == '"' || c == '\'':
		return l.str(c)
	case c >= '0' && c <= '9':
		end := l.pos
		for end < len(l.src) && l.src[end] >= '0' && l.src[end] <= '9' {
			end++
		}
		if end+1 < len(l.src) && l.src[end] == '.' && l.src[end+1] >= '0' && l.src[end+1] <= '9' {
			end++
			for end < len(l.src) && l.src[end] >= '0' && l.src[end] <= '9' {
				end++
			}
		}
		if end < len(l.src) && (l.src[end] == 'e' || l.src[end] == 'E') {
			e := end + 1
			if e < len(l.src) && (l.src[e] == '+' || l.src[e] == '-') {
				e++
			}
			if e < len(l.src) && l.src[e] >= '0' && l.src[e] <= '9' {
				for e < len(l.src) && l.src[e] >= '0' && l.src[e] <= '9' {
					e++
				}
				end = e
			}
		}
		f, err := strconv.ParseFloat(l.src[l.pos:end], 64)
		if err != nil {
			return token{}, errorAt("S0102", start, "Number out of range: %s", l.src[l.pos:end])
		}
		l.pos = end
		return token{kind: tokNumber, num: f, value: l.src[start:end], pos: start}, nil
	case c == '`':
		end := strings.IndexByte(l.src[l.pos+1:], '`')
		if end < 0 {
			return token{}, errorAt("S0105", start, "Quoted property name must be terminated with a backquote (`)")
		}
		name := l.src[l.pos+1 : l.pos+1+end]
		l.pos += end + 2
		return token{kind: tokName, value: name, pos: start}, nil
	}
	for _, op := range operators {
		if strings.HasPrefix(l.src[l.pos:], op) {
			// "?:" and "??" are operators only in 2.x; a "?" followed by
			// ":" in a conditional with an empty branch is not written so.
			l.pos += len(op)
			return token{kind: tokOperator, value: op, pos: start}, nil
		}
	}
	if c == '$' {
		end := l.pos + 1
		for end < len(l.src) {
			r, size := utf8.DecodeRuneInString(l.src[end:])
			if !(r == '_' || r == '$' && end == l.pos+1 || unicode.IsLetter(r) || unicode.IsDigit(r)) {
				break
			}
			end += size
		}
		name := l.src[l.pos+1 : end]
		l.pos = end
		return token{kind: tokVariable, value: name, pos: start}, nil
	}
	end := l.pos
	for end < len(l.src) {
		r, size := utf8.DecodeRuneInString(l.src[end:])
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || strings.ContainsRune(".[]{}(),@#;:?+-*/%|=<>^&!~`\"'", r) {
			break
		}
		end += size
	}
	if end == l.pos {
		return token{}, errorAt("S0204", start, "Unknown operator: %q", string(c))
	}
	word := l.src[l.pos:end]
	l.pos = end
	switch word {
	case "and", "or", "in":
		return token{kind: tokOperator, value: word, pos: start}, nil
	case "true", "false", "null":
		return token{kind: tokValue, value: word, pos: start}, nil
	}
	return token{kind: tokName, value: word, pos: start}, nil
}

func (l *lexer) str(quote byte) (token, error) {
	start := l.pos
	l.pos++
	var b strings.Builder
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == quote:
			l.pos++
			return token{kind: tokString, value: b.String(), pos: start}, nil
		case c == '\\':
			l.pos++
			if l.pos >= len(l.src) {
				return token{}, errorAt("S0101", start, "String literal must be terminated by a matching quote")
			}
			switch e := l.src[l.pos]; e {
			case '"', '\\', '/', '\'':
				b.WriteByte(e)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				if l.pos+4 >= len(l.src) {
					return token{}, errorAt("S0104", l.pos, "The escape sequence \\u must be followed by 4 hex digits")
				}
				n, err := strconv.ParseUint(l.src[l.pos+1:l.pos+5], 16, 32)
				if err != nil {
					return token{}, errorAt("S0104", l.pos, "The escape sequence \\u must be followed by 4 hex digits")
				}
				r := rune(n)
				l.pos += 4
				if r >= 0xD800 && r < 0xDC00 && l.pos+6 < len(l.src) && l.src[l.pos+1:l.pos+3] == "\\u" {
					if n2, err := strconv.ParseUint(l.src[l.pos+3:l.pos+7], 16, 32); err == nil && n2 >= 0xDC00 && n2 < 0xE000 {
						r = (r-0xD800)<<10 + (rune(n2) - 0xDC00) + 0x10000
						l.pos += 6
					}
				}
				b.WriteRune(r)
			default:
				return token{}, errorAt("S0103", l.pos, "Unsupported escape sequence: \\%c", e)
			}
			l.pos++
		default:
			b.WriteByte(c)
			l.pos++
		}
	}
	return token{}, errorAt("S0101", start, "String literal must be terminated by a matching quote")
}

func (l *lexer) regex() (token, error) {
	start := l.pos
	l.pos++
	depth := 0
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == '\\':
			l.pos += 2
			continue
		case c == '[':
			depth++
		case c == ']' && depth > 0:
			depth--
		case c == '/' && depth == 0:
			pattern := l.src[start+1 : l.pos]
			if pattern == "" {
				return token{}, errorAt("S0301", start, "Empty regular expressions are not allowed")
			}
			l.pos++
			fstart := l.pos
			for l.pos < len(l.src) && (l.src[l.pos] == 'i' || l.src[l.pos] == 'm') {
				l.pos++
			}
			return token{kind: tokRegex, value: pattern, flags: l.src[fstart:l.pos], pos: start}, nil
		}
		l.pos++
	}
	return token{}, errorAt("S0302", start, "No terminating / in regular expression")
}
