package queue

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/forkline/forkline/internal/store"
)

// Actions AddPermission accepts (AddPermission API reference: any SQS
// action or *; SendMessage, DeleteMessage and ChangeMessageVisibility also
// grant their batch forms).
// Not among them: the actions to which "cross-account permissions don't
// apply" (SQS developer guide, "Limitations of Amazon SQS custom
// policies"): AddPermission, CancelMessageMoveTask, CreateQueue,
// DeleteQueue, ListMessageMoveTasks, ListQueues, ListQueueTags,
// RemovePermission, SetQueueAttributes, StartMessageMoveTask, TagQueue
// and UntagQueue.
var permissionActions = map[string]bool{
	"*": true, "SendMessage": true, "ReceiveMessage": true, "DeleteMessage": true,
	"ChangeMessageVisibility": true, "GetQueueAttributes": true, "GetQueueUrl": true,
	"ListDeadLetterSourceQueues": true, "PurgeQueue": true,
}

const maxPermissionActions = 7

type policyDoc struct {
	Version   string            `json:"Version"`
	ID        string            `json:"Id,omitempty"`
	Statement []json.RawMessage `json:"Statement"`
}

type statement struct {
	Sid       string         `json:"Sid"`
	Effect    string         `json:"Effect"`
	Principal map[string]any `json:"Principal"`
	Action    any            `json:"Action"`
	Resource  string         `json:"Resource"`
}

// Queue policy quotas (SQS developer guide, "Amazon SQS policy quotas").
const (
	maxPolicyBytes      = 8192
	maxPolicyStatements = 20
	maxPolicyPrincipals = 50
	maxPolicyConditions = 10
	maxStatementActions = 7
)

// checkPolicy checks a queue policy document: a JSON object within the
// policy quotas. It reports which quota a valid document exceeds (over)
// apart from malformed documents (err).
func checkPolicy(doc string) (over string, err error) {
	if len(doc) > maxPolicyBytes {
		return fmt.Sprintf("a policy is at most %d bytes", maxPolicyBytes), nil
	}
	var top map[string]json.RawMessage
	if json.Unmarshal([]byte(doc), &top) != nil {
		return "", fmt.Errorf("not a JSON object")
	}
	raw, ok := top["Statement"]
	if !ok {
		return "", fmt.Errorf("no Statement")
	}
	var stmts []map[string]json.RawMessage
	if json.Unmarshal(raw, &stmts) != nil {
		var one map[string]json.RawMessage
		if json.Unmarshal(raw, &one) != nil {
			return "", fmt.Errorf("Statement is neither an object nor a list of objects")
		}
		stmts = append(stmts, one)
	}
	if len(stmts) > maxPolicyStatements {
		return fmt.Sprintf("a policy has at most %d statements", maxPolicyStatements), nil
	}
	principals, conditions := 0, 0
	for _, st := range stmts {
		if n := countStrings(st["Action"]); n > maxStatementActions {
			return fmt.Sprintf("a statement has at most %d actions", maxStatementActions), nil
		}
		principals += countStrings(st["Principal"])
		var cond map[string]map[string]json.RawMessage
		if json.Unmarshal(st["Condition"], &cond) == nil {
			for _, keys := range cond {
				conditions += len(keys)
			}
		}
	}
	if principals > maxPolicyPrincipals {
		return fmt.Sprintf("a policy has at most %d principals", maxPolicyPrincipals), nil
	}
	if conditions > maxPolicyConditions {
		return fmt.Sprintf("a policy has at most %d conditions", maxPolicyConditions), nil
	}
	return "", nil
}

// countStrings counts the strings in a policy element: a string, a list
// of strings, or an object of either (as a Principal).
func countStrings(raw json.RawMessage) int {
	if len(raw) == 0 {
		return 0
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return 1
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return len(many)
	}
	var byKind map[string]json.RawMessage
	if json.Unmarshal(raw, &byKind) == nil {
		n := 0
		for _, v := range byKind {
			n += countStrings(v)
		}
		return n
	}
	return 0
}

func oneOrMany(v []string) any {
	if len(v) == 1 {
		return v[0]
	}
	return v
}

// AddPermission adds a statement labelled label to the queue's Policy.
func (s *Service) AddPermission(ctx context.Context, name, label string, accounts, actions []string) error {
	q, err := s.lookup(name)
	if err != nil {
		return err
	}
	if label == "" {
		return missing("Label")
	}
	if len(label) > 80 || !validBatchID(label) {
		return invalidValue("Label", label, "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length.")
	}
	if len(accounts) == 0 {
		return missing("AWSAccountIds")
	}
	if len(actions) == 0 {
		return missing("Actions")
	}
	if len(actions) > maxPermissionActions {
		return errorf(ErrOverLimit, "%d Actions were found, maximum allowed is %d.", len(actions), maxPermissionActions)
	}
	for _, a := range actions {
		if !permissionActions[a] {
			return invalidValue("ActionName.1", a, "Only the queue owner is allowed to invoke this action.")
		}
	}
	// Principals are AWS account IDs ("AddPermission does not support
	// adding a non-account principal", AddPermission API reference); AWS
	// answers others with "Value [x] for parameter PrincipalId is invalid.
	// Reason: Unable to verify principal." (aws/aws-sdk#414).
	for _, a := range accounts {
		if !IsAccountID(a) {
			return invalidValue("PrincipalId", "["+a+"]", "Unable to verify principal.")
		}
	}
	return s.updateQueue(ctx, q, func(rec *store.Queue) error {
		// The version SQS writes (recorded AWS answer, LocalStack's
		// test_sqs_permission_lifecycle snapshot).
		doc := policyDoc{Version: "2008-10-17", ID: q.arn + "/SQSDefaultPolicy"}
		if p := rec.Attributes[AttrPolicy]; p != "" {
			if err := json.Unmarshal([]byte(p), &doc); err != nil {
				return errorf(ErrInvalidParameterValue, "The queue's existing Policy is not a policy document AddPermission can extend.")
			}
		}
		for _, raw := range doc.Statement {
			var st statement
			if json.Unmarshal(raw, &st) == nil && st.Sid == label {
				return invalidValue("Label", label, "Already exists.")
			}
		}
		principals := make([]string, len(accounts))
		for i, a := range accounts {
			principals[i] = "arn:aws:iam::" + a + ":root"
		}
		acts := make([]string, len(actions))
		for i, a := range actions {
			acts[i] = "SQS:" + a
		}
		st := statement{Sid: label, Effect: "Allow", Principal: map[string]any{"AWS": oneOrMany(principals)},
			Action: oneOrMany(acts), Resource: q.arn}
		raw, _ := json.Marshal(st)
		doc.Statement = append(doc.Statement, raw)
		b, _ := json.Marshal(doc)
		// "AddPermission returns this error if the maximum number of
		// permissions for the queue is reached" (SQS API reference,
		// OverLimit).
		if over, _ := checkPolicy(string(b)); over != "" {
			return errorf(ErrOverLimit, "The resulting policy exceeds a quota: %s.", over)
		}
		rec.Attributes[AttrPolicy] = string(b)
		rec.ModifiedAt = s.clock.Now().Unix()
		return nil
	})
}

// RemovePermission removes the statement labelled label.
func (s *Service) RemovePermission(ctx context.Context, name, label string) error {
	q, err := s.lookup(name)
	if err != nil {
		return err
	}
	if label == "" {
		return missing("Label")
	}
	return s.updateQueue(ctx, q, func(rec *store.Queue) error {
		var doc policyDoc
		p := rec.Attributes[AttrPolicy]
		if p == "" {
			// Recorded AWS answer for a queue without a policy
			// (LocalStack's test_sqs_permission_lifecycle snapshot).
			return invalidValue("Label", label, "can't find label.")
		}
		if json.Unmarshal([]byte(p), &doc) != nil {
			return invalidValue("Label", label, "can't find label on existing policy.")
		}
		kept := doc.Statement[:0]
		found := false
		for _, raw := range doc.Statement {
			var st statement
			if json.Unmarshal(raw, &st) == nil && st.Sid == label {
				found = true
				continue
			}
			kept = append(kept, raw)
		}
		if !found {
			return invalidValue("Label", label, "can't find label on existing policy.")
		}
		if len(kept) == 0 {
			delete(rec.Attributes, AttrPolicy)
		} else {
			doc.Statement = kept
			b, _ := json.Marshal(doc)
			rec.Attributes[AttrPolicy] = string(b)
		}
		rec.ModifiedAt = s.clock.Now().Unix()
		return nil
	})
}

// IsAccountID reports whether a is a 12-digit AWS account ID.
func IsAccountID(a string) bool {
	if len(a) != 12 {
		return false
	}
	for i := 0; i < len(a); i++ {
		if a[i] < '0' || a[i] > '9' {
			return false
		}
	}
	return true
}
