package jsonata

import (
	"regexp"
	"strings"
)

type nodeKind int

const (
	nNumber nodeKind = iota
	nString
	nValue // true, false, null
	nRegex
	nName
	nWildcard   // *
	nDescendant // **
	nVariable
	nPath // lhs.rhs, flattened into steps
	nBinary
	nNegate
	nNot // not used by the grammar; $not is a function
	nArray
	nObject
	nGroup // lhs{...}
	nCall
	nLambda
	nCondition
	nBind
	nBlock
	nApply // ~>
	nFilter
	nSort
	nPlaceholder // ? in a partial application
	nParent
	nRange
	nTransform
	nCoalesce // ??
	nElvis    // ?:
)

type node struct {
	kind nodeKind
	pos  int
	op   string
	str  string
	num  float64

	lhs, rhs *node
	items    []*node    // array items, call arguments, block expressions, path steps
	pairs    [][2]*node // object constructor
	cond     *node
	then     *node
	els      *node
	params   []string
	body     *node
	re       *regexp.Regexp
	partial  bool
	keep     bool // [] after a step: keep singleton arrays
	terms    []sortTerm
	update   *node // transform
	delete   *node
	focus    string // @$v
	index    string // #$i
}

type sortTerm struct {
	desc bool
	expr *node
}

var bindingPower = map[string]int{
	".": 75, "[": 80, "]": 0, "{": 70, "}": 0, "(": 80, ")": 0, ",": 0, "@": 80, "#": 80, ";": 80, ":": 80, "?": 20,
	"+": 50, "-": 50, "*": 60, "/": 60, "%": 60, "|": 20, "=": 40, "<": 40, ">": 40, "^": 40, "**": 60, "..": 20,
	":=": 10, "!=": 40, "<=": 40, ">=": 40, "~>": 40, "?:": 40, "??": 40, "and": 30, "or": 25, "in": 40, "&": 50, "!": 0, "~": 0,
}

type parser struct {
	lx    lexer
	tok   token
	depth int
	// prev is the last token read, to tell a regex's '/' from a division.
	prev token
}

// Compile parses an expression.
func Compile(src string) (*Expr, error) {
	p := &parser{lx: lexer{src: src}}
	if err := p.advance(""); err != nil {
		return nil, err
	}
	root, err := p.expression(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEnd {
		return nil, errorAt("S0201", p.tok.pos, "Syntax error: %q", p.tok.value)
	}
	root = flatten(root)
	return &Expr{root: root, src: src}, nil
}

func (p *parser) advance(want string) error {
	if want != "" && !(p.tok.kind == tokOperator && p.tok.value == want) {
		if p.tok.kind == tokEnd {
			return errorAt("S0203", p.tok.pos, "Expected %q before end of expression", want)
		}
		return errorAt("S0202", p.tok.pos, "Expected %q, got %q", want, p.tok.value)
	}
	// A '/' starts a regular expression where a value is expected.
	prefix := true
	switch p.tok.kind {
	case tokName, tokVariable, tokString, tokNumber, tokValue, tokRegex:
		prefix = false
	case tokOperator:
		prefix = p.tok.value != ")" && p.tok.value != "]" && p.tok.value != "}"
	}
	if p.tok.kind == tokEnd && p.tok.pos == 0 && p.lx.pos == 0 {
		prefix = true
	}
	t, err := p.lx.next(prefix)
	if err != nil {
		return err
	}
	p.prev, p.tok = p.tok, t
	return nil
}

func (p *parser) isOp(v string) bool { return p.tok.kind == tokOperator && p.tok.value == v }

func (p *parser) lbp() int {
	if p.tok.kind != tokOperator {
		return 0
	}
	switch p.tok.value {
	case ":", ";", ",", ")", "]", "}", "..", "|":
		return 0 // terminators, never infix
	}
	return bindingPower[p.tok.value]
}

func (p *parser) expression(rbp int) (*node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, errorAt("S0201", p.tok.pos, "The expression is nested too deeply")
	}
	t := p.tok
	if err := p.advance(""); err != nil {
		return nil, err
	}
	left, err := p.nud(t)
	if err != nil {
		return nil, err
	}
	for rbp < p.lbp() {
		t = p.tok
		if err := p.advance(""); err != nil {
			return nil, err
		}
		if left, err = p.led(t, left); err != nil {
			return nil, err
		}
	}
	return left, nil
}

func (p *parser) nud(t token) (*node, error) {
	switch t.kind {
	case tokEnd:
		return nil, errorAt("S0207", t.pos, "Unexpected end of expression")
	case tokNumber:
		return &node{kind: nNumber, num: t.num, pos: t.pos}, nil
	case tokString:
		return &node{kind: nString, str: t.value, pos: t.pos}, nil
	case tokValue:
		return &node{kind: nValue, str: t.value, pos: t.pos}, nil
	case tokRegex:
		pattern := t.value
		if strings.Contains(t.flags, "i") {
			pattern = "(?i)" + pattern
		}
		if strings.Contains(t.flags, "m") {
			pattern = "(?s)" + pattern
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			return nil, errorAt("S0303", t.pos, "Invalid regular expression: %v", err)
		}
		return &node{kind: nRegex, re: re, pos: t.pos}, nil
	case tokVariable:
		return &node{kind: nVariable, str: t.value, pos: t.pos}, nil
	case tokName:
		if t.value == "function" || t.value == "λ" {
			if p.isOp("(") {
				return p.lambda(t)
			}
		}
		return &node{kind: nName, str: t.value, pos: t.pos}, nil
	}
	switch t.value {
	case "-":
		e, err := p.expression(70)
		if err != nil {
			return nil, err
		}
		if e.kind == nNumber {
			e.num = -e.num
			return e, nil
		}
		return &node{kind: nNegate, lhs: e, pos: t.pos}, nil
	case "*":
		return &node{kind: nWildcard, pos: t.pos}, nil
	case "**":
		return &node{kind: nDescendant, pos: t.pos}, nil
	case "%":
		return &node{kind: nParent, pos: t.pos}, nil
	case "?":
		return &node{kind: nPlaceholder, pos: t.pos}, nil
	case "(":
		var items []*node
		for !p.isOp(")") {
			e, err := p.expression(0)
			if err != nil {
				return nil, err
			}
			items = append(items, e)
			if !p.isOp(";") {
				break
			}
			if err := p.advance(";"); err != nil {
				return nil, err
			}
		}
		if err := p.advance(")"); err != nil {
			return nil, err
		}
		return &node{kind: nBlock, items: items, pos: t.pos}, nil
	case "[":
		var items []*node
		for !p.isOp("]") {
			e, err := p.expression(0)
			if err != nil {
				return nil, err
			}
			if p.isOp("..") {
				if err := p.advance(".."); err != nil {
					return nil, err
				}
				r, err := p.expression(0)
				if err != nil {
					return nil, err
				}
				e = &node{kind: nRange, lhs: e, rhs: r, pos: e.pos}
			}
			items = append(items, e)
			if !p.isOp(",") {
				break
			}
			if err := p.advance(","); err != nil {
				return nil, err
			}
		}
		if err := p.advance("]"); err != nil {
			return nil, err
		}
		return &node{kind: nArray, items: items, pos: t.pos}, nil
	case "{":
		pairs, err := p.pairs()
		if err != nil {
			return nil, err
		}
		return &node{kind: nObject, pairs: pairs, pos: t.pos}, nil
	case "|":
		pattern, err := p.expression(0)
		if err != nil {
			return nil, err
		}
		if err := p.advance("|"); err != nil {
			return nil, err
		}
		update, err := p.expression(0)
		if err != nil {
			return nil, err
		}
		n := &node{kind: nTransform, lhs: pattern, update: update, pos: t.pos}
		if p.isOp(",") {
			if err := p.advance(","); err != nil {
				return nil, err
			}
			if n.delete, err = p.expression(0); err != nil {
				return nil, err
			}
		}
		return n, p.advance("|")
	}
	return nil, errorAt("S0211", t.pos, "The symbol %q cannot be used as a unary operator", t.value)
}

func (p *parser) pairs() ([][2]*node, error) {
	var pairs [][2]*node
	for !p.isOp("}") {
		k, err := p.expression(0)
		if err != nil {
			return nil, err
		}
		if err := p.advance(":"); err != nil {
			return nil, err
		}
		v, err := p.expression(0)
		if err != nil {
			return nil, err
		}
		pairs = append(pairs, [2]*node{k, v})
		if !p.isOp(",") {
			break
		}
		if err := p.advance(","); err != nil {
			return nil, err
		}
	}
	return pairs, p.advance("}")
}

func (p *parser) lambda(t token) (*node, error) {
	if err := p.advance("("); err != nil {
		return nil, err
	}
	var params []string
	for !p.isOp(")") {
		if p.tok.kind != tokVariable {
			return nil, errorAt("S0208", p.tok.pos, "Parameter %q of function definition must be a variable name (start with $)", p.tok.value)
		}
		params = append(params, p.tok.value)
		if err := p.advance(""); err != nil {
			return nil, err
		}
		if !p.isOp(",") {
			break
		}
		if err := p.advance(","); err != nil {
			return nil, err
		}
	}
	if err := p.advance(")"); err != nil {
		return nil, err
	}
	// An optional signature <...>; forkline does not check it.
	if p.isOp("<") {
		depth := 0
		for {
			if p.tok.kind == tokEnd {
				return nil, errorAt("S0401", t.pos, "Type signature is not terminated")
			}
			if p.isOp("<") {
				depth++
			}
			if p.isOp(">") {
				depth--
				if depth == 0 {
					if err := p.advance(""); err != nil {
						return nil, err
					}
					break
				}
			}
			if err := p.advance(""); err != nil {
				return nil, err
			}
		}
	}
	if err := p.advance("{"); err != nil {
		return nil, err
	}
	body, err := p.expression(0)
	if err != nil {
		return nil, err
	}
	if err := p.advance("}"); err != nil {
		return nil, err
	}
	return &node{kind: nLambda, params: params, body: body, pos: t.pos}, nil
}

func (p *parser) led(t token, left *node) (*node, error) {
	switch t.value {
	case ".":
		r, err := p.expression(bindingPower["."])
		if err != nil {
			return nil, err
		}
		return &node{kind: nPath, lhs: left, rhs: r, pos: t.pos}, nil
	case "(":
		n := &node{kind: nCall, lhs: left, pos: t.pos}
		for !p.isOp(")") {
			var a *node
			if p.isOp("?") {
				a = &node{kind: nPlaceholder, pos: p.tok.pos}
				n.partial = true
				if err := p.advance("?"); err != nil {
					return nil, err
				}
			} else {
				var err error
				if a, err = p.expression(0); err != nil {
					return nil, err
				}
			}
			n.items = append(n.items, a)
			if !p.isOp(",") {
				break
			}
			if err := p.advance(","); err != nil {
				return nil, err
			}
		}
		return n, p.advance(")")
	case "[":
		if p.isOp("]") {
			left.keep = true
			if left.kind == nPath {
				markKeep(left)
			}
			return left, p.advance("]")
		}
		pred, err := p.expression(0)
		if err != nil {
			return nil, err
		}
		return &node{kind: nFilter, lhs: left, rhs: pred, pos: t.pos}, p.advance("]")
	case "{":
		pairs, err := p.pairs()
		if err != nil {
			return nil, err
		}
		return &node{kind: nGroup, lhs: left, pairs: pairs, pos: t.pos}, nil
	case "^":
		if err := p.advance("("); err != nil {
			return nil, err
		}
		n := &node{kind: nSort, lhs: left, pos: t.pos}
		for {
			term := sortTerm{}
			if p.isOp("<") {
				if err := p.advance("<"); err != nil {
					return nil, err
				}
			} else if p.isOp(">") {
				term.desc = true
				if err := p.advance(">"); err != nil {
					return nil, err
				}
			}
			e, err := p.expression(0)
			if err != nil {
				return nil, err
			}
			term.expr = e
			n.terms = append(n.terms, term)
			if !p.isOp(",") {
				break
			}
			if err := p.advance(","); err != nil {
				return nil, err
			}
		}
		return n, p.advance(")")
	case "?":
		then, err := p.expression(0)
		if err != nil {
			return nil, err
		}
		n := &node{kind: nCondition, cond: left, then: then, pos: t.pos}
		if p.isOp(":") {
			if err := p.advance(":"); err != nil {
				return nil, err
			}
			if n.els, err = p.expression(0); err != nil {
				return nil, err
			}
		}
		return n, nil
	case ":=":
		if left.kind != nVariable {
			return nil, errorAt("S0212", t.pos, "The left side of := must be a variable name (start with $)")
		}
		r, err := p.expression(bindingPower[":="] - 1)
		if err != nil {
			return nil, err
		}
		return &node{kind: nBind, lhs: left, rhs: r, pos: t.pos}, nil
	case "~>":
		r, err := p.expression(bindingPower["~>"])
		if err != nil {
			return nil, err
		}
		return &node{kind: nApply, lhs: left, rhs: r, pos: t.pos}, nil
	case "@", "#":
		if p.tok.kind != tokVariable {
			return nil, errorAt("S0214", p.tok.pos, "The right side of %s must be a variable name (start with $)", t.value)
		}
		v := p.tok.value
		if err := p.advance(""); err != nil {
			return nil, err
		}
		if t.value == "@" {
			left.focus = v
		} else {
			left.index = v
		}
		return left, nil
	case "??", "?:":
		r, err := p.expression(bindingPower[t.value])
		if err != nil {
			return nil, err
		}
		kind := nCoalesce
		if t.value == "?:" {
			kind = nElvis
		}
		return &node{kind: kind, lhs: left, rhs: r, pos: t.pos}, nil
	}
	if _, ok := bindingPower[t.value]; ok && t.kind == tokOperator {
		r, err := p.expression(bindingPower[t.value])
		if err != nil {
			return nil, err
		}
		return &node{kind: nBinary, op: t.value, lhs: left, rhs: r, pos: t.pos}, nil
	}
	return nil, errorAt("S0201", t.pos, "Syntax error: %q", t.value)
}

func markKeep(n *node) {
	for n.kind == nPath {
		n = n.rhs
	}
	n.keep = true
}

// flatten turns chains of '.' into path nodes whose items are the steps.
func flatten(n *node) *node {
	if n == nil {
		return nil
	}
	for _, c := range []**node{&n.lhs, &n.rhs, &n.cond, &n.then, &n.els, &n.body, &n.update, &n.delete} {
		*c = flatten(*c)
	}
	for i := range n.items {
		n.items[i] = flatten(n.items[i])
	}
	for i := range n.pairs {
		n.pairs[i][0], n.pairs[i][1] = flatten(n.pairs[i][0]), flatten(n.pairs[i][1])
	}
	for i := range n.terms {
		n.terms[i].expr = flatten(n.terms[i].expr)
	}
	if n.kind == nPath {
		var steps []*node
		for _, side := range []*node{n.lhs, n.rhs} {
			if side.kind == nPath && side.items != nil {
				steps = append(steps, side.items...)
			} else {
				steps = append(steps, side)
			}
		}
		keep := n.keep
		n = &node{kind: nPath, items: steps, pos: n.pos, keep: keep}
		for _, s := range steps {
			if s.keep {
				n.keep = true
			}
		}
	}
	return n
}
