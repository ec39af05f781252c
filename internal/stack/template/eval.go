package template

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Parameters, conditions and intrinsic functions (CloudFormation user
// guide: "Parameters", "Conditions", "Intrinsic function reference",
// "Pseudo parameters reference").

// NoValue is what {"Ref": "AWS::NoValue"} resolves to: the property that
// holds it is removed.
type noValueType struct{}

// NoValue removes the property that resolves to it.
var NoValue any = noValueType{}

// Parameter is a declared parameter.
type Parameter struct {
	Name                  string
	Type                  string
	Default               *string
	NoEcho                bool
	Description           string
	AllowedValues         []string
	AllowedPattern        string
	MinLength, MaxLength  *int
	MinValue, MaxValue    *float64
	ConstraintDescription string
}

func str(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// Parameters returns the declared parameters, by name.
func (t *Template) Parameters() ([]Parameter, error) {
	raw, _ := t.Doc["Parameters"].(map[string]any)
	names := make([]string, 0, len(raw))
	for n := range raw {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []Parameter
	for _, n := range names {
		m, ok := raw[n].(map[string]any)
		if !ok {
			return nil, errorf("Template format error: Parameter '%s' must be an object", n)
		}
		p := Parameter{Name: n}
		p.Type, _ = m["Type"].(string)
		if p.Type == "" {
			return nil, errorf("Template format error: Every Parameters object must contain a Type member.")
		}
		if !validType(p.Type) {
			return nil, errorf("Template format error: Unrecognized parameter type: %s", p.Type)
		}
		if d, ok := str(m["Default"]); ok {
			p.Default = &d
		} else if l, ok := m["Default"].([]any); ok {
			var parts []string
			for _, e := range l {
				s, _ := str(e)
				parts = append(parts, s)
			}
			d := strings.Join(parts, ",")
			p.Default = &d
		}
		p.NoEcho, _ = m["NoEcho"].(bool)
		if s, ok := str(m["NoEcho"]); ok && s == "true" {
			p.NoEcho = true
		}
		p.Description, _ = m["Description"].(string)
		p.AllowedPattern, _ = m["AllowedPattern"].(string)
		p.ConstraintDescription, _ = m["ConstraintDescription"].(string)
		if l, ok := m["AllowedValues"].([]any); ok {
			for _, e := range l {
				s, _ := str(e)
				p.AllowedValues = append(p.AllowedValues, s)
			}
		}
		for _, f := range []struct {
			key string
			dst **int
		}{{"MinLength", &p.MinLength}, {"MaxLength", &p.MaxLength}} {
			if s, ok := str(m[f.key]); ok {
				n, err := strconv.Atoi(s)
				if err != nil {
					return nil, errorf("Template format error: %s of parameter '%s' must be an integer", f.key, p.Name)
				}
				*f.dst = &n
			}
		}
		for _, f := range []struct {
			key string
			dst **float64
		}{{"MinValue", &p.MinValue}, {"MaxValue", &p.MaxValue}} {
			if s, ok := str(m[f.key]); ok {
				n, err := strconv.ParseFloat(s, 64)
				if err != nil {
					return nil, errorf("Template format error: %s of parameter '%s' must be a number", f.key, p.Name)
				}
				*f.dst = &n
			}
		}
		out = append(out, p)
	}
	return out, nil
}

var ec2Types = regexp.MustCompile(`^AWS::EC2::(AvailabilityZone::Name|Image::Id|Instance::Id|KeyPair::KeyName|SecurityGroup::GroupName|SecurityGroup::Id|Subnet::Id|Volume::Id|VPC::Id)$|^AWS::Route53::HostedZone::Id$`)

func validType(t string) bool {
	switch t {
	case "String", "Number", "List<Number>", "CommaDelimitedList":
		return true
	}
	if strings.HasPrefix(t, "List<") && strings.HasSuffix(t, ">") {
		return ec2Types.MatchString(t[5 : len(t)-1])
	}
	return ec2Types.MatchString(t) || strings.HasPrefix(t, "AWS::SSM::Parameter::")
}

// ResolveParameters checks the given values against the declarations and
// returns every parameter's value: a string, or a list of strings for the
// list types.
func (t *Template) ResolveParameters(given map[string]string) (map[string]any, error) {
	params, err := t.Parameters()
	if err != nil {
		return nil, err
	}
	declared := map[string]bool{}
	var missing []string
	out := map[string]any{}
	for _, p := range params {
		declared[p.Name] = true
		if strings.HasPrefix(p.Type, "AWS::SSM::Parameter::") {
			return nil, errorf("Parameter '%s' is of type %s: SSM parameter types are not supported by forkline (no SSM Parameter Store)", p.Name, p.Type)
		}
		v, ok := given[p.Name]
		if !ok {
			if p.Default == nil {
				missing = append(missing, p.Name)
				continue
			}
			v = *p.Default
		}
		if err := p.check(v); err != nil {
			return nil, err
		}
		if p.Type == "CommaDelimitedList" || strings.HasPrefix(p.Type, "List<") {
			var list []any
			for _, e := range strings.Split(v, ",") {
				list = append(list, strings.TrimSpace(e))
			}
			if v == "" {
				list = []any{}
			}
			out[p.Name] = list
		} else {
			out[p.Name] = v
		}
	}
	if len(missing) > 0 {
		return nil, errorf("Parameters: [%s] must have values", strings.Join(missing, ", "))
	}
	var unknown []string
	for k := range given {
		if !declared[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, errorf("Parameters: [%s] do not exist in the template", strings.Join(unknown, ", "))
	}
	return out, nil
}

// check applies a parameter's constraints (user guide, "Parameters").
func (p Parameter) check(v string) error {
	fail := func(format string, args ...any) error {
		if p.ConstraintDescription != "" {
			return errorf("Parameter '%s' failed to satisfy constraint: %s", p.Name, p.ConstraintDescription)
		}
		return errorf(format, args...)
	}
	values := []string{v}
	if p.Type == "List<Number>" || p.Type == "CommaDelimitedList" || strings.HasPrefix(p.Type, "List<") {
		values = strings.Split(v, ",")
	}
	for _, x := range values {
		x = strings.TrimSpace(x)
		if p.Type == "Number" || p.Type == "List<Number>" {
			n, err := strconv.ParseFloat(x, 64)
			if err != nil {
				return errorf("Parameter '%s' must be a number.", p.Name)
			}
			if p.MinValue != nil && n < *p.MinValue {
				return fail("Parameter '%s' must be a number not less than %v", p.Name, *p.MinValue)
			}
			if p.MaxValue != nil && n > *p.MaxValue {
				return fail("Parameter '%s' must be a number not greater than %v", p.Name, *p.MaxValue)
			}
		}
		if len(p.AllowedValues) > 0 {
			ok := false
			for _, a := range p.AllowedValues {
				ok = ok || a == x
			}
			if !ok {
				return fail("Parameter '%s' must be one of AllowedValues", p.Name)
			}
		}
	}
	if p.AllowedPattern != "" {
		re, err := regexp.Compile("^(?:" + p.AllowedPattern + ")$")
		if err != nil {
			return errorf("Template format error: AllowedPattern of parameter '%s' is not a valid pattern", p.Name)
		}
		if !re.MatchString(v) {
			return fail("Parameter '%s' must match pattern %s", p.Name, p.AllowedPattern)
		}
	}
	if p.MinLength != nil && len(v) < *p.MinLength {
		return fail("Parameter '%s' must contain at least %d characters", p.Name, *p.MinLength)
	}
	if p.MaxLength != nil && len(v) > *p.MaxLength {
		return fail("Parameter '%s' must contain at most %d characters", p.Name, *p.MaxLength)
	}
	return nil
}

// Env is what intrinsic functions resolve against.
type Env struct {
	Params     map[string]any
	Pseudo     map[string]any // AWS::Region, AWS::AccountId, AWS::StackName, ...
	Conditions map[string]bool
	Mappings   map[string]any
	// Ref returns a resource's reference value (its physical ID or what
	// its type returns for Ref).
	Ref func(resource string) (any, error)
	// GetAtt returns a resource's attribute.
	GetAtt func(resource, attr string) (any, error)
	// Import returns an export's value.
	Import func(name string) (string, error)
	Region string
}

// EvaluateConditions decides the template's conditions.
func (t *Template) EvaluateConditions(e *Env) error {
	raw, _ := t.Doc["Conditions"].(map[string]any)
	e.Conditions = map[string]bool{}
	visiting := map[string]bool{}
	var decide func(name string) (bool, error)
	decide = func(name string) (bool, error) {
		if v, ok := e.Conditions[name]; ok {
			return v, nil
		}
		c, ok := raw[name]
		if !ok {
			return false, errorf("Template format error: Unresolved dependencies [%s]. Cannot reference resources in the Conditions block of the template", name)
		}
		if visiting[name] {
			return false, errorf("Template error: circular condition dependency on [%s]", name)
		}
		visiting[name] = true
		v, err := e.condition(c, decide)
		if err != nil {
			return false, err
		}
		e.Conditions[name] = v
		return v, nil
	}
	names := make([]string, 0, len(raw))
	for n := range raw {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, err := decide(n); err != nil {
			return err
		}
	}
	return nil
}

func (e *Env) condition(v any, decide func(string) (bool, error)) (bool, error) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return false, errorf("Template format error: a condition must be an object with one condition function")
	}
	for fn, arg := range m {
		switch fn {
		case "Condition":
			name, ok := arg.(string)
			if !ok {
				return false, errorf("Template error: Condition must name a condition")
			}
			return decide(name)
		case "Fn::Equals":
			l, ok := arg.([]any)
			if !ok || len(l) != 2 {
				return false, errorf("Template error: Fn::Equals takes a list of two values")
			}
			a, err := e.resolveWith(l[0], decide)
			if err != nil {
				return false, err
			}
			b, err := e.resolveWith(l[1], decide)
			if err != nil {
				return false, err
			}
			as, _ := json.Marshal(scalarize(a))
			bs, _ := json.Marshal(scalarize(b))
			return string(as) == string(bs), nil
		case "Fn::And", "Fn::Or":
			l, ok := arg.([]any)
			if !ok || len(l) < 2 || len(l) > 10 {
				return false, errorf("Template error: %s takes between 2 and 10 conditions", fn)
			}
			for _, c := range l {
				r, err := e.condition(c, decide)
				if err != nil {
					return false, err
				}
				if fn == "Fn::And" && !r {
					return false, nil
				}
				if fn == "Fn::Or" && r {
					return true, nil
				}
			}
			return fn == "Fn::And", nil
		case "Fn::Not":
			l, ok := arg.([]any)
			if !ok || len(l) != 1 {
				return false, errorf("Template error: Fn::Not takes a list of one condition")
			}
			r, err := e.condition(l[0], decide)
			return !r, err
		}
		return false, errorf("Template error: %s is not a condition function", fn)
	}
	return false, nil
}

// scalarize makes numbers and strings compare as CloudFormation compares
// them (as strings).
func scalarize(v any) any {
	if s, ok := str(v); ok {
		return s
	}
	return v
}

// Resolve evaluates the intrinsic functions in v.
func (e *Env) Resolve(v any) (any, error) {
	return e.resolveWith(v, func(name string) (bool, error) {
		c, ok := e.Conditions[name]
		if !ok {
			return false, errorf("Template format error: Unresolved dependencies [%s]. Cannot reference resources in the Conditions block of the template", name)
		}
		return c, nil
	})
}

func (e *Env) resolveWith(v any, decide func(string) (bool, error)) (any, error) {
	switch x := v.(type) {
	case []any:
		out := make([]any, 0, len(x))
		for _, item := range x {
			r, err := e.resolveWith(item, decide)
			if err != nil {
				return nil, err
			}
			if r == NoValue {
				continue
			}
			out = append(out, r)
		}
		return out, nil
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return e.intrinsic(k, arg, decide)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, item := range x {
			r, err := e.resolveWith(item, decide)
			if err != nil {
				return nil, err
			}
			if r == NoValue {
				continue
			}
			out[k] = r
		}
		return out, nil
	}
	return v, nil
}

func (e *Env) intrinsic(fn string, arg any, decide func(string) (bool, error)) (any, error) {
	resolve := func(v any) (any, error) { return e.resolveWith(v, decide) }
	list := func(n int) ([]any, error) {
		l, ok := arg.([]any)
		if !ok || n >= 0 && len(l) != n {
			return nil, errorf("Template error: %s takes a list of %d arguments", fn, n)
		}
		return l, nil
	}
	switch fn {
	case "Ref":
		name, ok := arg.(string)
		if !ok {
			return nil, errorf("Template format error: Ref takes the name of a parameter, pseudo parameter or resource")
		}
		return e.ref(name)
	case "Fn::GetAtt":
		var res, attr string
		switch a := arg.(type) {
		case string:
			res, attr, _ = strings.Cut(a, ".")
		case []any:
			if len(a) != 2 {
				return nil, errorf("Template error: every Fn::GetAtt object requires two non-empty parameters")
			}
			res, _ = a[0].(string)
			av, err := resolve(a[1])
			if err != nil {
				return nil, err
			}
			attr, _ = av.(string)
		}
		if res == "" || attr == "" {
			return nil, errorf("Template error: every Fn::GetAtt object requires two non-empty parameters")
		}
		if e.GetAtt == nil {
			return nil, errorf("Template error: Fn::GetAtt is not available here")
		}
		return e.GetAtt(res, attr)
	case "Fn::Join":
		l, err := list(2)
		if err != nil {
			return nil, err
		}
		delim, ok := l[0].(string)
		if !ok {
			return nil, errorf("Template error: the delimiter of Fn::Join must be a string")
		}
		items, err := resolve(l[1])
		if err != nil {
			return nil, err
		}
		parts, ok := items.([]any)
		if !ok {
			return nil, errorf("Template error: Fn::Join joins a list of values")
		}
		var ss []string
		for _, p := range parts {
			s, ok := str(p)
			if !ok {
				return nil, errorf("Template error: every value of Fn::Join must be a string")
			}
			ss = append(ss, s)
		}
		return strings.Join(ss, delim), nil
	case "Fn::Select":
		l, err := list(2)
		if err != nil {
			return nil, err
		}
		iv, err := resolve(l[0])
		if err != nil {
			return nil, err
		}
		is, _ := str(iv)
		i, err := strconv.Atoi(is)
		if err != nil {
			return nil, errorf("Template error: Fn::Select requires an integer index, not %v", iv)
		}
		items, err := resolve(l[1])
		if err != nil {
			return nil, err
		}
		arr, ok := items.([]any)
		if !ok {
			return nil, errorf("Template error: Fn::Select selects from a list")
		}
		if i < 0 || i >= len(arr) {
			return nil, errorf("Template error: Fn::Select cannot select nonexistent value at index %d", i)
		}
		return arr[i], nil
	case "Fn::Split":
		l, err := list(2)
		if err != nil {
			return nil, err
		}
		delim, _ := l[0].(string)
		sv, err := resolve(l[1])
		if err != nil {
			return nil, err
		}
		s, ok := str(sv)
		if !ok || delim == "" {
			return nil, errorf("Template error: Fn::Split takes a delimiter and a string")
		}
		var out []any
		for _, p := range strings.Split(s, delim) {
			out = append(out, p)
		}
		return out, nil
	case "Fn::Sub":
		return e.sub(arg, resolve)
	case "Fn::If":
		l, err := list(3)
		if err != nil {
			return nil, err
		}
		name, ok := l[0].(string)
		if !ok {
			return nil, errorf("Template error: Fn::If takes a condition name first")
		}
		c, err := decide(name)
		if err != nil {
			return nil, err
		}
		if c {
			return resolve(l[1])
		}
		return resolve(l[2])
	case "Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not", "Condition":
		b, err := e.condition(map[string]any{fn: arg}, decide)
		return b, err
	case "Fn::FindInMap":
		l, ok := arg.([]any)
		if !ok || len(l) < 3 || len(l) > 4 {
			return nil, errorf("Template error: Fn::FindInMap takes a map name, a top-level key and a second-level key")
		}
		var keys []string
		for _, k := range l[:3] {
			r, err := resolve(k)
			if err != nil {
				return nil, err
			}
			s, ok := str(r)
			if !ok {
				return nil, errorf("Template error: the keys of Fn::FindInMap must be strings")
			}
			keys = append(keys, s)
		}
		m, _ := e.Mappings[keys[0]].(map[string]any)
		top, _ := m[keys[1]].(map[string]any)
		v, found := top[keys[2]]
		if !found {
			if len(l) == 4 {
				if d, ok := l[3].(map[string]any); ok {
					return resolve(d["DefaultValue"])
				}
			}
			if m == nil {
				return nil, errorf("Template error: Unable to get mapping for %s", keys[0])
			}
			return nil, errorf("Template error: Unable to get mapping for %s::%s::%s", keys[0], keys[1], keys[2])
		}
		return v, nil
	case "Fn::GetAZs":
		r := e.Region
		if s, ok := arg.(string); ok && s != "" {
			r = s
		}
		return []any{r + "a", r + "b", r + "c"}, nil
	case "Fn::Base64":
		v, err := resolve(arg)
		if err != nil {
			return nil, err
		}
		s, ok := str(v)
		if !ok {
			return nil, errorf("Template error: Fn::Base64 encodes a string")
		}
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	case "Fn::Cidr":
		l, err := list(3)
		if err != nil {
			return nil, err
		}
		var vals []string
		for _, x := range l {
			r, err := resolve(x)
			if err != nil {
				return nil, err
			}
			s, _ := str(r)
			vals = append(vals, s)
		}
		return cidr(vals[0], vals[1], vals[2])
	case "Fn::ImportValue":
		v, err := resolve(arg)
		if err != nil {
			return nil, err
		}
		name, ok := str(v)
		if !ok || e.Import == nil {
			return nil, errorf("Template error: Fn::ImportValue takes an export name")
		}
		return e.Import(name)
	case "Fn::Length":
		v, err := resolve(arg)
		if err != nil {
			return nil, err
		}
		l, ok := v.([]any)
		if !ok {
			return nil, errorf("Template error: Fn::Length takes a list")
		}
		return json.Number(strconv.Itoa(len(l))), nil
	case "Fn::ToJsonString":
		v, err := resolve(arg)
		if err != nil {
			return nil, err
		}
		b, _ := json.Marshal(v)
		return string(b), nil
	}
	return nil, errorf("Template format error: Unrecognized function %s", fn)
}

func (e *Env) ref(name string) (any, error) {
	if name == "AWS::NoValue" {
		return NoValue, nil
	}
	if v, ok := e.Pseudo[name]; ok {
		return v, nil
	}
	if strings.HasPrefix(name, "AWS::") {
		return nil, errorf("Template format error: Unrecognized pseudo parameter %s", name)
	}
	if v, ok := e.Params[name]; ok {
		return v, nil
	}
	if e.Ref == nil {
		return nil, errorf("Template format error: Unresolved resource dependencies [%s] in the Resources block of the template", name)
	}
	return e.Ref(name)
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

// sub is Fn::Sub: ${Name} and ${Resource.Attribute}, ${!Literal}.
func (e *Env) sub(arg any, resolve func(any) (any, error)) (any, error) {
	var text string
	vars := map[string]any{}
	switch a := arg.(type) {
	case string:
		text = a
	case []any:
		if len(a) != 2 {
			return nil, errorf("Template error: Fn::Sub takes a string, or a string and a map of variables")
		}
		text, _ = a[0].(string)
		m, ok := a[1].(map[string]any)
		if !ok {
			return nil, errorf("Template error: the variables of Fn::Sub must be a map")
		}
		for k, v := range m {
			r, err := resolve(v)
			if err != nil {
				return nil, err
			}
			vars[k] = r
		}
	default:
		return nil, errorf("Template error: Fn::Sub takes a string, or a string and a map of variables")
	}
	var subErr error
	out := subVar.ReplaceAllStringFunc(text, func(m string) string {
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}"
		}
		name = strings.TrimSpace(name)
		var v any
		var err error
		if x, ok := vars[name]; ok {
			v = x
		} else if res, attr, dotted := strings.Cut(name, "."); dotted && !strings.HasPrefix(name, "AWS::") {
			if e.GetAtt == nil {
				err = errorf("Template error: Fn::GetAtt is not available here")
			} else {
				v, err = e.GetAtt(res, attr)
			}
		} else {
			v, err = e.ref(name)
		}
		if err != nil {
			subErr = err
			return m
		}
		s, ok := str(v)
		if !ok {
			if l, isList := v.([]any); isList {
				var parts []string
				for _, p := range l {
					ps, _ := str(p)
					parts = append(parts, ps)
				}
				return strings.Join(parts, ",")
			}
			subErr = errorf("Template error: variable %s in Fn::Sub is not a string", name)
			return m
		}
		return s
	})
	if subErr != nil {
		return nil, subErr
	}
	return out, nil
}

// cidr is Fn::Cidr: count subnets of cidrBits host bits from block.
func cidr(block, countText, bitsText string) (any, error) {
	_, ipnet, err := net.ParseCIDR(block)
	if err != nil {
		return nil, errorf("Template error: Fn::Cidr needs a CIDR block, not %q", block)
	}
	count, err1 := strconv.Atoi(countText)
	bits, err2 := strconv.Atoi(bitsText)
	ones, total := ipnet.Mask.Size()
	if err1 != nil || err2 != nil || count < 1 || count > 256 || bits < 1 || bits > total-ones {
		return nil, errorf("Template error: Fn::Cidr takes a block, a count from 1 to 256 and a number of subnet bits that fits the block")
	}
	if total != 32 {
		return nil, errorf("Template error: forkline computes Fn::Cidr for IPv4 blocks")
	}
	prefix := total - bits
	base := binary.BigEndian.Uint32(ipnet.IP.To4())
	size := uint64(1) << bits
	if uint64(count)*size > uint64(1)<<(total-ones) {
		return nil, errorf("Template error: Fn::Cidr cannot fit %d subnets in %s", count, block)
	}
	var out []any
	for i := 0; i < count; i++ {
		ip := make(net.IP, 4)
		binary.BigEndian.PutUint32(ip, base+uint32(uint64(i)*size))
		out = append(out, fmt.Sprintf("%s/%d", ip, prefix))
	}
	return out, nil
}
