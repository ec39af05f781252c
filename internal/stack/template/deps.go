package template

import (
	"sort"
	"strings"
)

// Resources returns the template's resources by logical ID.
func (t *Template) Resources() map[string]map[string]any {
	raw, _ := t.Doc["Resources"].(map[string]any)
	out := map[string]map[string]any{}
	for k, v := range raw {
		if m, ok := v.(map[string]any); ok {
			out[k] = m
		}
	}
	return out
}

// References lists the names v refers to through Ref, Fn::GetAtt and
// Fn::Sub (parameters and pseudo parameters included; the caller keeps
// the resources).
func References(v any) []string {
	seen := map[string]bool{}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			if len(x) == 1 {
				for k, arg := range x {
					switch k {
					case "Ref":
						if s, ok := arg.(string); ok {
							seen[s] = true
						}
						return
					case "Fn::GetAtt":
						switch a := arg.(type) {
						case []any:
							if len(a) > 0 {
								if s, ok := a[0].(string); ok {
									seen[s] = true
								}
							}
							walk(a[1:])
						case string:
							r, _, _ := strings.Cut(a, ".")
							seen[r] = true
						}
						return
					case "Fn::Sub":
						text := ""
						switch a := arg.(type) {
						case string:
							text = a
						case []any:
							if len(a) > 0 {
								text, _ = a[0].(string)
							}
							local := map[string]bool{}
							if len(a) > 1 {
								if m, ok := a[1].(map[string]any); ok {
									for name, e := range m {
										local[name] = true
										walk(e)
									}
								}
							}
							for _, m := range subVar.FindAllStringSubmatch(text, -1) {
								name := strings.TrimSpace(m[1])
								if strings.HasPrefix(name, "!") || local[name] {
									continue
								}
								r, _, _ := strings.Cut(name, ".")
								if strings.HasPrefix(name, "AWS::") {
									r = name
								}
								seen[r] = true
							}
							return
						}
						for _, m := range subVar.FindAllStringSubmatch(text, -1) {
							name := strings.TrimSpace(m[1])
							if strings.HasPrefix(name, "!") {
								continue
							}
							r, _, _ := strings.Cut(name, ".")
							if strings.HasPrefix(name, "AWS::") {
								r = name
							}
							seen[r] = true
						}
						return
					}
				}
			}
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Order returns the resources in an order where each comes after those it
// depends on (references and DependsOn), or an error naming a cycle or a
// dependency on a resource that does not exist.
func (t *Template) Order() ([]string, error) {
	res := t.Resources()
	deps := map[string][]string{}
	params, _ := t.Doc["Parameters"].(map[string]any)
	for name, r := range res {
		var d []string
		for _, ref := range References(r["Properties"]) {
			if _, isParam := params[ref]; isParam || strings.HasPrefix(ref, "AWS::") {
				continue
			}
			if _, ok := res[ref]; !ok {
				return nil, errorf("Template format error: Unresolved resource dependencies [%s] in the Resources block of the template", ref)
			}
			d = append(d, ref)
		}
		switch x := r["DependsOn"].(type) {
		case string:
			d = append(d, x)
		case []any:
			for _, e := range x {
				if s, ok := e.(string); ok {
					d = append(d, s)
				}
			}
		}
		for _, x := range d {
			if _, ok := res[x]; !ok {
				return nil, errorf("Template format error: Unresolved resource dependencies [%s] in the Resources block of the template", x)
			}
		}
		deps[name] = d
	}
	names := make([]string, 0, len(res))
	for n := range res {
		names = append(names, n)
	}
	sort.Strings(names)
	state := map[string]int{} // 1 visiting, 2 done
	var order []string
	var visit func(n string, path []string) error
	visit = func(n string, path []string) error {
		switch state[n] {
		case 1:
			return errorf("Circular dependency between resources: [%s]", strings.Join(append(path, n), ", "))
		case 2:
			return nil
		}
		state[n] = 1
		for _, d := range deps[n] {
			if err := visit(d, append(path, n)); err != nil {
				return err
			}
		}
		state[n] = 2
		order = append(order, n)
		return nil
	}
	for _, n := range names {
		if err := visit(n, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}
