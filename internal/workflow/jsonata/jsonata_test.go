package jsonata

import (
	"encoding/json"
	"strings"
	"testing"
)

// The JSONata documentation's examples (docs.jsonata.org: "Simple
// Queries", "Navigating JSON Arrays", "Predicate Queries", "Functional
// Programming", "Sorting, Grouping and Aggregation", the function
// library), on its Address and Invoice sample documents.
const address = `{
  "FirstName": "Fred", "Surname": "Smith", "Age": 28,
  "Address": {"Street": "Hursley Park", "City": "Winchester", "Postcode": "SO21 2JN"},
  "Phone": [
    {"type": "home", "number": "0203 544 1234"},
    {"type": "office", "number": "01962 001234"},
    {"type": "office", "number": "01962 001235"},
    {"type": "mobile", "number": "077 7700 1234"}
  ],
  "Email": [
    {"type": "work", "address": ["fred.smith@my-work.com", "fsmith@my-work.com"]},
    {"type": "home", "address": ["freddy@my-social.com", "frederic.smith@very-serious.com"]}
  ],
  "Other": {"Over 18 ?": true, "Misc": null, "Alternative.Address": {"Street": "Brick Lane", "City": "London", "Postcode": "E1 6RF"}}
}`

const invoice = `{"Account": {"Account Name": "Firefly", "Order": [
  {"OrderID": "order103", "Product": [
    {"Product Name": "Bowler Hat", "ProductID": 858383, "SKU": "0406654608", "Price": 34.45, "Quantity": 2},
    {"Product Name": "Trilby hat", "ProductID": 858236, "SKU": "0406634348", "Price": 21.67, "Quantity": 1}]},
  {"OrderID": "order104", "Product": [
    {"Product Name": "Bowler Hat", "ProductID": 858383, "SKU": "040657863", "Price": 34.45, "Quantity": 4},
    {"Product Name": "Cloak", "ProductID": 345664, "SKU": "0406654603", "Price": 107.99, "Quantity": 1}]}]}}`

func decode(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func run(t *testing.T, expr string, input any, vars map[string]any) (string, error) {
	t.Helper()
	e, err := Compile(expr)
	if err != nil {
		return "", err
	}
	v, err := e.Evaluate(input, vars, nil)
	if err != nil {
		return "", err
	}
	if v == Undefined {
		return "undefined", nil
	}
	return encodeJSON(v, false), nil
}

func TestDocumentationExamples(t *testing.T) {
	addr, inv := decode(t, address), decode(t, invoice)
	for _, tc := range []struct {
		in         any
		expr, want string
	}{
		{addr, `Surname`, `"Smith"`},
		{addr, `Address.City`, `"Winchester"`},
		{addr, `Other.Misc`, `null`},
		{addr, `Other.Nothing`, `undefined`},
		{addr, "Other.`Over 18 ?`", `true`},
		{addr, `Phone[0]`, `{"number":"0203 544 1234","type":"home"}`},
		{addr, `Phone[-1].number`, `"077 7700 1234"`},
		{addr, `Phone[0].number`, `"0203 544 1234"`},
		{addr, `Phone.number[0]`, `["0203 544 1234","01962 001234","01962 001235","077 7700 1234"]`},
		{addr, `(Phone.number)[0]`, `"0203 544 1234"`},
		{addr, `Phone[type='mobile'].number`, `"077 7700 1234"`},
		{addr, `Phone[type='office'].number`, `["01962 001234","01962 001235"]`},
		{addr, `Phone[[0..1]].type`, `["home","office"]`},
		// Objects keep no key order here: the wildcard gives values by key.
		{addr, `Address.*`, `["Winchester","SO21 2JN","Hursley Park"]`},
		{addr, `Email.address`, `["fred.smith@my-work.com","fsmith@my-work.com","freddy@my-social.com","frederic.smith@very-serious.com"]`},
		{addr, `Email[type='home'].address[0]`, `"freddy@my-social.com"`},
		{addr, `FirstName & ' ' & Surname`, `"Fred Smith"`},
		{addr, `Address.(Street & ', ' & City)`, `"Hursley Park, Winchester"`},
		{addr, `Age > 18 ? 'adult' : 'minor'`, `"adult"`},
		{addr, `{"name": FirstName, "mobile": Phone[type = "mobile"].number}`, `{"mobile":"077 7700 1234","name":"Fred"}`},
		{addr, `Phone{type: number}`, `{"home":"0203 544 1234","mobile":"077 7700 1234","office":["01962 001234","01962 001235"]}`},
		{addr, `Phone{type: number[]}`, `{"home":["0203 544 1234"],"mobile":["077 7700 1234"],"office":["01962 001234","01962 001235"]}`},
		{addr, `$count(Phone)`, `4`},
		{addr, `$.Age`, `28`},
		{addr, `**.Postcode`, `["SO21 2JN","E1 6RF"]`},
		{inv, `$sum(Account.Order.Product.(Price * Quantity))`, `336.36`},
		{inv, `Account.Order.(OrderID & ': ' & $string($sum(Product.(Price*Quantity))))`, `["order103: 90.57","order104: 245.79"]`},
		{inv, `Account.Order.Product^(>Price).SKU`, `["0406654603","0406654608","040657863","0406634348"]`},
		{inv, `Account.Order.Product{` + "`Product Name`" + `: $sum(Quantity)}`, `{"Bowler Hat":6,"Cloak":1,"Trilby hat":1}`},
		{inv, `Account.Order.Product[Price > 30 and Quantity > 1].ProductID`, `[858383,858383]`},
		{inv, `$distinct(Account.Order.Product.ProductID)`, `[858383,858236,345664]`},
		{inv, `Account.Order[0].Product[0].Price`, `34.45`},
		{nil, `[1..5]`, `[1,2,3,4,5]`},
		{nil, `[1, [2, 3], [[4]]]`, `[1,[2,3],[[4]]]`},
		{nil, `$map([1,2,3], function($v, $i) { $v * 10 + $i })`, `[10,21,32]`},
		{nil, `$filter([1,2,3,4], function($v) { $v % 2 = 0 })`, `[2,4]`},
		{nil, `$reduce([1,2,3,4], function($a, $b) { $a + $b })`, `10`},
		{nil, `$reduce([1,2,3], function($a, $b) { $a * $b }, 10)`, `60`},
		{nil, `($f := function($n) { $n <= 1 ? 1 : $n * $f($n - 1) }; $f(5))`, `120`},
		{nil, `($add := function($a, $b) { $a + $b }; $inc := $add(?, 1); $inc(41))`, `42`},
		{nil, `"hello" ~> $uppercase()`, `"HELLO"`},
		{nil, `($up := $uppercase ~> $trim; $up('  a  b '))`, `"A B"`},
		{nil, `$substring("Hello World", 3)`, `"lo World"`},
		{nil, `$substring("Hello World", 3, 5)`, `"lo Wo"`},
		{nil, `$substring("Hello World", -4)`, `"orld"`},
		{nil, `$substringBefore("Hello World", " ")`, `"Hello"`},
		{nil, `$substringAfter("Hello World", " ")`, `"World"`},
		{nil, `$pad("foo", 5, "#")`, `"foo##"`},
		{nil, `$pad("foo", -5)`, `"  foo"`},
		{nil, `$split("so many words", " ", 2)`, `["so","many"]`},
		{nil, `$join(["a","b","c"], "-")`, `"a-b-c"`},
		{nil, `$contains("abracadabra", /a.*a/)`, `true`},
		{nil, `$match("ababbabbcc", /a(b+)/)`, `[{"groups":["b"],"index":0,"match":"ab"},{"groups":["bb"],"index":2,"match":"abb"},{"groups":["bb"],"index":5,"match":"abb"}]`},
		{nil, `$replace("John Smith", /(\w+)\s(\w+)/, "$2, $1")`, `"Smith, John"`},
		{nil, `$replace("265USD", /([0-9]+)USD/, function($m) { $number($m.groups[0]) * 2 & " EUR" })`, `"530 EUR"`},
		{nil, `$number("0x12")`, `18`},
		{nil, `$number("1e3")`, `1000`},
		{nil, `$round(2.5)`, `2`},
		{nil, `$round(3.5)`, `4`},
		{nil, `$round(123.456, 2)`, `123.46`},
		{nil, `$round(123.456, -1)`, `120`},
		{nil, `$power(2, 8)`, `256`},
		{nil, `$string(0.1 + 0.2)`, `"0.3"`},
		{nil, `$string({"a": [1, true]})`, `"{\"a\":[1,true]}"`},
		{nil, `$formatNumber(12345.6, "#,###.00")`, `"12,345.60"`},
		{nil, `$formatNumber(0.14, "#0%")`, `"14%"`},
		{nil, `$formatBase(100, 2)`, `"1100100"`},
		{nil, `$boolean([])`, `false`},
		{nil, `$boolean([0, "", false, 1])`, `true`},
		{nil, `$not("")`, `true`},
		{nil, `$exists(nothing)`, `false`},
		{nil, `$append([1,2], 3)`, `[1,2,3]`},
		{nil, `$sort([3,1,2])`, `[1,2,3]`},
		{nil, `$sort(["b","a"], function($l, $r) { $l < $r })`, `["b","a"]`},
		{nil, `$reverse([1,2,3])`, `[3,2,1]`},
		{nil, `$zip([1,2,3], [4,5])`, `[[1,4],[2,5]]`},
		{nil, `$keys({"b": 1, "a": 2})`, `["a","b"]`},
		{nil, `$merge([{"a": 1}, {"b": 2}, {"a": 3}])`, `{"a":3,"b":2}`},
		{nil, `$spread({"a": 1, "b": 2})`, `[{"a":1},{"b":2}]`},
		{nil, `$each({"a": 1, "b": 2}, function($v, $k) { $k & "=" & $v })`, `["a=1","b=2"]`},
		{nil, `$sift({"a": 1, "b": 2}, function($v) { $v > 1 })`, `{"b":2}`},
		{nil, `$lookup({"a": 1}, "a")`, `1`},
		{nil, `$type([1])`, `"array"`},
		{nil, `$type(function() { 1 })`, `"function"`},
		{nil, `$single([1, 2, 3], function($v) { $v = 2 })`, `2`},
		{nil, `$average([1, 2, 3, 4])`, `2.5`},
		{nil, `$max([1, 5, 3])`, `5`},
		{nil, `$min([4, 2, 8])`, `2`},
		{nil, `$base64encode("myuser:mypass")`, `"bXl1c2VyOm15cGFzcw=="`},
		{nil, `$base64decode("bXl1c2VyOm15cGFzcw==")`, `"myuser:mypass"`},
		{nil, `$encodeUrlComponent("?x=test")`, `"%3Fx%3Dtest"`},
		{nil, `$decodeUrlComponent("%3Fx%3Dtest")`, `"?x=test"`},
		{nil, `$fromMillis(1510067557121)`, `"2017-11-07T15:12:37.121Z"`},
		{nil, `$toMillis("2017-11-07T15:07:54.972Z")`, `1510067274972`},
		{nil, `1 in [1, 2]`, `true`},
		{nil, `"a" in "a"`, `true`},
		{nil, `[1,2,3][$ > 1]`, `[2,3]`},
		{nil, `$x.y ?? "default"`, `"default"`},
		{nil, `0 ?: "falsy"`, `"falsy"`},
		{nil, `/* comment */ 1 + 2`, `3`},
		{nil, `"a\"b\u00e9"`, `"a\"bé"`},
		{nil, `$x := 5`, `5`},
		{nil, `($x := [1,2]; $count($x))`, `2`},
		{decode(t, `{"a": 1, "c": 3}`), `$ ~> |$|{"b": 2}, ["a"]|`, `{"b":2,"c":3}`},
	} {
		got, err := run(t, tc.expr, tc.in, nil)
		if err != nil || got != tc.want {
			t.Errorf("%s\n got %s, %v\nwant %s", tc.expr, got, err, tc.want)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct{ expr, code string }{
		{`1 +`, "S0207"},
		{`"abc`, "S0101"},
		{`(1 + 2`, "S0203"},
		{`"a" + 1`, "T2001"},
		{`1 < "a"`, "T2010"},
		{`$foo()`, "T1006"},
		{`($f := function($n) { $f($n + 1) }; $f(0))`, "U1001"},
		{`{1: 2}`, "T1003"},
		{`$error("boom")`, "D3137"},
		{`$single([1,1])`, "D3138"},
		{`[1..1e8]`, "D2014"},
	} {
		_, err := run(t, tc.expr, nil, nil)
		e, ok := err.(*Error)
		if !ok || e.Code != tc.code {
			t.Errorf("%s: error %v, want code %s", tc.expr, err, tc.code)
		}
	}
}

func TestVariablesAndFunctions(t *testing.T) {
	e, err := Compile(`$states.input.items[price > $limit].name`)
	if err != nil {
		t.Fatal(err)
	}
	in := decode(t, `{"items":[{"name":"a","price":5},{"name":"b","price":15},{"name":"c","price":25}]}`)
	v, err := e.Evaluate(nil, map[string]any{"states": map[string]any{"input": in}, "limit": 10.0}, nil)
	if err != nil || encodeJSON(v, false) != `["b","c"]` {
		t.Fatalf("got %v, %v", v, err)
	}
	e, _ = Compile(`$double(21)`)
	v, err = e.Evaluate(nil, nil, map[string]Function{"double": func(a []any) (any, error) {
		f, _ := toNumber(a[0])
		return f * 2, nil
	}})
	if err != nil || v != 42.0 {
		t.Fatalf("extension: %v, %v", v, err)
	}
}

func TestDeepNestingIsRefused(t *testing.T) {
	src := strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000)
	if _, err := Compile(src); err == nil {
		t.Fatal("a 100000-deep expression compiled")
	}
}
