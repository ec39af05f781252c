package template

import (
	"encoding/json"
	"testing"
)

// The short forms of the intrinsic functions become their long forms
// (CloudFormation user guide, "Intrinsic function reference": each
// function's YAML short form).
func TestShortForms(t *testing.T) {
	tpl, err := Parse([]byte(`AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Env: {Type: String, Default: dev}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Condition: IsProd
    Properties:
      QueueName: !Sub "${Env}-orders"
      DelaySeconds: 5
      FifoQueue: false
      Tags:
        - Key: arn
          Value: !GetAtt Topic.TopicArn
        - Key: joined
          Value: !Join [",", [!Ref Env, !Select [0, !Split ["-", "a-b"]]]]
        - Key: other
          Value: !If [IsProd, !Base64 x, !Ref "AWS::NoValue"]
Outputs:
  Arn:
    Value: !GetAtt [Queue, Arn]
    Export: {Name: !Sub "${AWS::StackName}-arn"}
`))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(tpl.Doc)
	want := `{"AWSTemplateFormatVersion":"2010-09-09","Conditions":{"IsProd":{"Fn::Equals":[{"Ref":"Env"},"prod"]}},"Outputs":{"Arn":{"Export":{"Name":{"Fn::Sub":"${AWS::StackName}-arn"}},"Value":{"Fn::GetAtt":["Queue","Arn"]}}},"Parameters":{"Env":{"Default":"dev","Type":"String"}},"Resources":{"Queue":{"Condition":"IsProd","Properties":{"DelaySeconds":5,"FifoQueue":false,"QueueName":{"Fn::Sub":"${Env}-orders"},"Tags":[{"Key":"arn","Value":{"Fn::GetAtt":["Topic","TopicArn"]}},{"Key":"joined","Value":{"Fn::Join":[",",[{"Ref":"Env"},{"Fn::Select":[0,{"Fn::Split":["-","a-b"]}]}]]}},{"Key":"other","Value":{"Fn::If":["IsProd",{"Fn::Base64":"x"},{"Ref":"AWS::NoValue"}]}}]},"Type":"AWS::SQS::Queue"}}}`
	if string(got) != want {
		t.Fatalf("parsed:\n%s\nwant\n%s", got, want)
	}
}

func TestTemplateErrors(t *testing.T) {
	for _, body := range []string{
		`{"Resources": {}`,
		"Resources:\n  A: [\n",
		"Parameters: {}\n",
		"Resourcez:\n  A: {Type: X}\n",
		"AWSTemplateFormatVersion: 2011-01-01\nResources:\n  A: {Type: X}\n",
		"Resources:\n  A: {Type: X, Properties: {V: !Unknown x}}\n",
		"Resources:\n  A: {Type: X}\n  A: {Type: Y}\n",
		"Resources:\n  A: {Type: X, Properties: {V: !GetAtt NoDot}}\n",
	} {
		if _, err := Parse([]byte(body)); err == nil {
			t.Errorf("accepted: %q", body)
		} else if _, ok := err.(*Error); !ok {
			t.Errorf("%q: error %T", body, err)
		}
	}
}

// FuzzParse: no body makes the parser panic; refusals are *Error.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"Resources:\n  A: {Type: X, Properties: {N: !Ref P}}\n", `{"Resources":{"A":{"Type":"X"}}}`,
		"a: &x {b: 1}\nc: *x\nResources: {A: {Type: X}}\n", "Resources:\n  A: !GetAtt [B, C]\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, err := Parse(body); err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T: %v", err, err)
			}
		}
	})
}

func TestAliasExpansionIsBounded(t *testing.T) {
	body := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for i := 0; i < 9; i++ {
		name := string(rune('b' + i))
		body += name + ": &" + name + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n"
		prev = name
	}
	body += "Resources: {A: {Type: X}}\n"
	if _, err := Parse([]byte(body)); err == nil {
		t.Fatal("a billion-laughs document was accepted")
	}
}
