package awsquery

import (
	"bytes"
	"encoding/xml"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestMembersListMap(t *testing.T) {
	v, err := ParseForm("Action=X", []byte("Attribute.2.Name=B&Attribute.2.Value=2&Attribute.1.Name=A&Attribute.1.Value=1&"+
		"AttributeName.10=ten&AttributeName.2=two&Entry.1.Id=a&Entry.1.MessageAttribute.1.Name=n&Entry.1.MessageAttribute.1.Value.StringValue=s"))
	if err != nil {
		t.Fatal(err)
	}
	p := FromValues(v)
	if got := p.Map("Attribute", "Name", "Value"); !reflect.DeepEqual(got, map[string]string{"A": "1", "B": "2"}) {
		t.Errorf("Map = %v", got)
	}
	if got := p.List("AttributeName"); !reflect.DeepEqual(got, []string{"two", "ten"}) {
		t.Errorf("List = %v (index order, not string order)", got)
	}
	e := p.Members("Entry")
	if len(e) != 1 || e[0]["Id"] != "a" || Params(e[0]).Members("MessageAttribute")[0]["Value.StringValue"] != "s" {
		t.Errorf("Members = %v", e)
	}
	// One member or value without an index, as AWS's query samples write
	// it, is index 1; an indexed form wins over it.
	v, err = ParseForm("", []byte("Attribute.Name=VisibilityTimeout&Attribute.Value=35&AttributeName=All&Tag.Key=k&Tag.Value=v&"+
		"MessageAttributeName=a&MessageAttributeName.1=b&Entry.Id=x&Entry.1.Id=y&Entry.Body=z"))
	if err != nil {
		t.Fatal(err)
	}
	p = FromValues(v)
	if got := p.Map("Attribute", "Name", "Value"); !reflect.DeepEqual(got, map[string]string{"VisibilityTimeout": "35"}) {
		t.Errorf("bare Map = %v", got)
	}
	if got := p.Map("Tag", "Key", "Value"); !reflect.DeepEqual(got, map[string]string{"k": "v"}) {
		t.Errorf("bare Tag Map = %v", got)
	}
	if got := p.List("AttributeName"); !reflect.DeepEqual(got, []string{"All"}) {
		t.Errorf("bare List = %v", got)
	}
	if got := p.List("MessageAttributeName"); !reflect.DeepEqual(got, []string{"b"}) {
		t.Errorf("List with both forms = %v, want the indexed one", got)
	}
	if e := p.Members("Entry"); len(e) != 1 || e[0]["Id"] != "y" || e[0]["Body"] != "z" {
		t.Errorf("Members with both forms = %v", e)
	}
	if _, err := ParseForm("a=%zz", nil); err == nil {
		t.Error("malformed escape accepted")
	}
}

// FuzzParseFormMatchesStdlib: the form parser reads what url.ParseQuery
// reads, and refuses what it refuses.
func FuzzParseFormMatchesStdlib(f *testing.F) {
	for _, s := range []string{"a=1&b=2&a=3", "a=%zz", "a;b=1", "k=v%3Bw", "x=a+b%20c", "=v", "k", "&&a=&", "%e2%82%ac=%E2%82%AC", "a=%", "a=1;b=2", "%0&;", strings.Repeat("a&", 10000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		want, werr := url.ParseQuery(q)
		got := url.Values{}
		gerr := parseQuery(got, q)
		if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
			t.Fatalf("%q: error %v, url.ParseQuery %v", q, gerr, werr)
		}
		if werr == nil && !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("%q: %v, url.ParseQuery %v", q, got, want)
		}
	})
}

func FuzzParseForm(f *testing.F) {
	f.Add("Action=SendMessage&Version=2012-11-05", "QueueUrl=http%3A%2F%2Fx%2F000000000000%2Fq&MessageBody=hi")
	f.Add("", "SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=x")
	f.Add("Attribute.0.Name=x&Attribute.-1.Value=y&Attribute.99999999999999999999.Name=z", "")
	f.Fuzz(func(t *testing.T, query, body string) {
		v, err := ParseForm(query, []byte(body))
		if err != nil {
			return
		}
		p := FromValues(v)
		for _, prefix := range []string{"Attribute", "SendMessageBatchRequestEntry", "Tag", "AttributeName", ""} {
			for _, m := range p.Members(prefix) {
				Params(m).Members("MessageAttribute")
			}
			p.List(prefix)
			p.Map(prefix, "Name", "Value")
		}
		p.Int("MaxNumberOfMessages")
	})
}

// FuzzElem: Elem writes what xml.EscapeText writes.
func FuzzElem(f *testing.F) {
	for _, s := range []string{"plain-id_1.2:3/4", `<a href="x">&'</a>`, "tab\tnl\ncr\r", "é\xff\x00", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var x XML
		x.Elem("E", s)
		var want bytes.Buffer
		want.WriteString("<E>")
		xml.EscapeText(&want, []byte(s))
		want.WriteString("</E>")
		if x.String() != want.String() {
			t.Fatalf("%q: %q, want %q", s, x.String(), want.String())
		}
	})
}
