package sam

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/forkline/forkline/internal/stack/template"
)

// The corpus in testdata/corpus holds SAM templates with what
// aws-sam-translator makes of them (tools/sam-translator/regen.sh); the
// transform must produce the same logical resources, types, attributes and
// properties. Documented differences, normalized before comparing:
//   - tag lists are compared as sets: templates reach forkline as maps,
//     without the source order of their keys;
//   - the documents of policy templates that forkline does not write out
//     (it does not enforce IAM) are not compared;
//   - lists built from sets in the translator (Fn::Or of conditions) are
//     compared as sets.

func opts() Options {
	return Options{Region: "us-east-1", AccountID: "000000000000", Partition: "aws", StackName: "test-stack",
		Application: func(_ context.Context, id, version string) (string, error) {
			app := id[strings.LastIndex(id, "/")+1:]
			return "https://awsserverlessrepo-changesets.s3.amazonaws.com/" + app + "/" + version + "/template.yaml", nil
		}}
}

func TestCorpusMatchesTheTranslator(t *testing.T) {
	files, _ := filepath.Glob("testdata/corpus/*.yaml")
	errFiles, _ := filepath.Glob("testdata/corpus/err/*.yaml")
	files = append(files, errFiles...)
	if len(files) < 40 {
		t.Fatalf("corpus has %d templates", len(files))
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.TrimSuffix(f, ".yaml") + ".expected")
			if err != nil {
				t.Fatal(err)
			}
			if reason, skip := skipped[filepath.Base(f)]; skip {
				t.Skip(reason)
			}
			tpl, err := template.Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			got, terr := Transform(context.Background(), tpl.Doc, opts())
			if strings.HasPrefix(string(want), "ERROR") {
				if terr == nil {
					t.Fatalf("transform succeeded; the translator says %s", firstLine(want))
				}
				wantCauses := causes(string(want))
				var gotCauses []string
				if e, ok := terr.(*Error); ok {
					gotCauses = append(gotCauses, e.Causes...)
				} else {
					gotCauses = []string{terr.Error()}
				}
				sort.Strings(gotCauses)
				if !reflect.DeepEqual(gotCauses, wantCauses) {
					t.Errorf("causes differ\n got: %q\nwant: %q", gotCauses, wantCauses)
				}
				return
			}
			if terr != nil {
				t.Fatalf("transform failed: %v", terr)
			}
			var exp map[string]any
			dec := json.NewDecoder(strings.NewReader(string(want)))
			dec.UseNumber()
			if err := dec.Decode(&exp); err != nil {
				t.Fatal(err)
			}
			compareDocs(t, normalize(roundTrip(t, got)), normalize(exp))
		})
	}
}

// skipped are corpus cases whose expansion forkline leaves out, with why.
var skipped = map[string]string{
	"ev_order.yaml":           "DynamoDB stream events: forkline has no DynamoDB",
	"fn_deploypref_cond.yaml": "PassthroughCondition on deployment preferences is not expanded (forkline records preferences for its own canary work)",
}

func firstLine(b []byte) string {
	s := string(b)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// causes are the translator's causes, sorted; a failure without listed
// causes is its one message.
func causes(out string) []string {
	var list []string
	for _, l := range strings.Split(out, "\n") {
		if _, c, ok := strings.Cut(l, "  cause "); ok {
			_, msg, _ := strings.Cut(c, ": ")
			list = append(list, msg)
		}
	}
	if len(list) == 0 {
		line := firstLine([]byte(out))
		_, msg, _ := strings.Cut(line, ": ")
		list = []string{msg}
	}
	sort.Strings(list)
	return list
}

func roundTrip(t *testing.T, v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = normalize(e)
		}
		if tags, ok := out["Tags"].([]any); ok {
			sort.SliceStable(tags, func(i, j int) bool { return fmt.Sprint(tags[i]) < fmt.Sprint(tags[j]) })
		}
		if or, ok := out["Fn::Or"].([]any); ok {
			sort.SliceStable(or, func(i, j int) bool { return fmt.Sprint(or[i]) < fmt.Sprint(or[j]) })
		}
		// A policy template's document is compared only when forkline
		// writes that template out.
		if name, ok := out["PolicyName"].(string); ok {
			if doc, ok := out["PolicyDocument"].(map[string]any); ok {
				if st, ok := doc["Statement"].([]any); ok && len(st) == 0 {
					out["PolicyDocument"] = "(policy template)"
				}
			}
			_ = name
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	}
	return v
}

func compareDocs(t *testing.T, got, want any) {
	t.Helper()
	g, w := got.(map[string]any), want.(map[string]any)
	gr, _ := g["Resources"].(map[string]any)
	wr, _ := w["Resources"].(map[string]any)
	var missing, extra []string
	for id := range wr {
		if _, ok := gr[id]; !ok {
			missing = append(missing, id)
		}
	}
	for id := range gr {
		if _, ok := wr[id]; !ok {
			extra = append(extra, id)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing)+len(extra) > 0 {
		t.Errorf("logical IDs differ: missing %v, extra %v", missing, extra)
	}
	ids := make([]string, 0, len(wr))
	for id := range wr {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		gv, ok := gr[id]
		if !ok {
			continue
		}
		wantRes := wr[id].(map[string]any)
		if gotRes := gv.(map[string]any); !reflect.DeepEqual(gotRes, unknownTemplates(gotRes, wantRes)) {
			gb, _ := json.Marshal(gotRes)
			wb, _ := json.Marshal(wantRes)
			t.Errorf("%s differs\n got: %s\nwant: %s", id, gb, wb)
		}
	}
	for _, k := range []string{"Outputs", "Conditions", "Parameters"} {
		if !reflect.DeepEqual(g[k], w[k]) {
			gb, _ := json.Marshal(g[k])
			wb, _ := json.Marshal(w[k])
			t.Errorf("%s differ\n got: %s\nwant: %s", k, gb, wb)
		}
	}
}

// unknownTemplates marks, in want, the inline policies that got has as
// unexpanded policy templates.
func unknownTemplates(got, want map[string]any) map[string]any {
	gp, _ := got["Properties"].(map[string]any)
	wp, _ := want["Properties"].(map[string]any)
	gl, _ := gp["Policies"].([]any)
	wl, _ := wp["Policies"].([]any)
	if len(gl) != len(wl) || len(gl) == 0 {
		return want
	}
	out := clone(want).(map[string]any)
	ol := out["Properties"].(map[string]any)["Policies"].([]any)
	for i := range gl {
		if m, ok := gl[i].(map[string]any); ok && m["PolicyDocument"] == "(policy template)" {
			ol[i].(map[string]any)["PolicyDocument"] = "(policy template)"
		}
	}
	return out
}
