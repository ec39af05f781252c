package sqsapi

import (
	"encoding/base64"
	"sort"
	"strconv"

	"github.com/forkline/forkline/internal/queue"
	"github.com/forkline/forkline/internal/wire/awserr"
	"github.com/forkline/forkline/internal/wire/awsquery"
)

func (h *Handler) register() {
	reg(h, "CreateQueue", func(p awsquery.Params, in *createQueueInput) error {
		in.QueueName = p["QueueName"]
		in.Attributes = p.Map("Attribute", "Name", "Value")
		in.Tags = p.Map("Tag", "Key", "Value")
		return nil
	}, func(h *Handler, r *Request, in *createQueueInput) (*queueURLOutput, error) {
		info, err := h.svc.CreateQueue(r.Ctx, in.QueueName, in.Attributes, in.Tags)
		if err != nil {
			return nil, err
		}
		return &queueURLOutput{QueueUrl: h.queueURL(r, info.Name)}, nil
	}, func(x *awsquery.XML, o *queueURLOutput) { x.Elem("QueueUrl", o.QueueUrl) })

	reg(h, "GetQueueUrl", func(p awsquery.Params, in *getQueueURLInput) error {
		in.QueueName, in.QueueOwnerAWSAccountId = p["QueueName"], p["QueueOwnerAWSAccountId"]
		return nil
	}, func(h *Handler, r *Request, in *getQueueURLInput) (*queueURLOutput, error) {
		if in.QueueOwnerAWSAccountId != "" && in.QueueOwnerAWSAccountId != h.account {
			return nil, &queue.Error{Kind: queue.ErrQueueDoesNotExist, Message: "The specified queue does not exist."}
		}
		info, err := h.svc.GetQueue(r.Ctx, in.QueueName)
		if err != nil {
			return nil, err
		}
		return &queueURLOutput{QueueUrl: h.queueURL(r, info.Name)}, nil
	}, func(x *awsquery.XML, o *queueURLOutput) { x.Elem("QueueUrl", o.QueueUrl) })

	reg(h, "ListQueues", func(p awsquery.Params, in *listQueuesInput) error {
		in.QueueNamePrefix, in.NextToken = p["QueueNamePrefix"], p["NextToken"]
		var err error
		in.MaxResults, err = p.Int("MaxResults")
		return err
	}, func(h *Handler, r *Request, in *listQueuesInput) (*listQueuesOutput, error) {
		max := 0
		if in.MaxResults != nil {
			max = *in.MaxResults
			if max < 1 || max > 1000 {
				return nil, awserr.New(awserr.InvalidParameterValue, "Value "+strconv.Itoa(max)+" for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.")
			}
		}
		names, next, err := h.svc.ListQueues(r.Ctx, in.QueueNamePrefix, max, in.NextToken)
		if err != nil {
			return nil, err
		}
		out := &listQueuesOutput{NextToken: next}
		for _, n := range names {
			out.QueueUrls = append(out.QueueUrls, h.queueURL(r, n))
		}
		return out, nil
	}, func(x *awsquery.XML, o *listQueuesOutput) {
		for _, u := range o.QueueUrls {
			x.Elem("QueueUrl", u)
		}
		if o.NextToken != "" {
			x.Elem("NextToken", o.NextToken)
		}
	})

	reg(h, "DeleteQueue", func(p awsquery.Params, in *queueURLInput) error {
		in.QueueUrl = p["QueueUrl"]
		return nil
	}, onQueue(func(h *Handler, r *Request, name string, in *queueURLInput) (*empty, error) {
		return &empty{}, h.svc.DeleteQueue(r.Ctx, name)
	}), nil)

	reg(h, "PurgeQueue", func(p awsquery.Params, in *queueURLInput) error {
		in.QueueUrl = p["QueueUrl"]
		return nil
	}, onQueue(func(h *Handler, r *Request, name string, in *queueURLInput) (*empty, error) {
		return &empty{}, h.svc.PurgeQueue(r.Ctx, name)
	}), nil)

	reg(h, "GetQueueAttributes", func(p awsquery.Params, in *getQueueAttributesInput) error {
		in.QueueUrl = p["QueueUrl"]
		in.AttributeNames = p.List("AttributeName")
		return nil
	}, onQueue(func(h *Handler, r *Request, name string, in *getQueueAttributesInput) (*attributesOutput, error) {
		attrs, err := h.svc.GetQueueAttributes(r.Ctx, name, in.AttributeNames)
		if err != nil {
			return nil, err
		}
		return &attributesOutput{Attributes: attrs}, nil
	}), func(x *awsquery.XML, o *attributesOutput) { xmlAttributes(x, o.Attributes) })

	reg(h, "SetQueueAttributes", func(p awsquery.Params, in *setQueueAttributesInput) error {
		in.QueueUrl = p["QueueUrl"]
		in.Attributes = p.Map("Attribute", "Name", "Value")
		return nil
	}, onQueue(func(h *Handler, r *Request, name string, in *setQueueAttributesInput) (*empty, error) {
		if in.Attributes == nil {
			return nil, awserr.New(awserr.MissingParameter, "The request must contain the parameter Attributes.")
		}
		return &empty{}, h.svc.SetQueueAttributes(r.Ctx, name, in.Attributes)
	}), nil)

	reg(h, "SendMessage", func(p awsquery.Params, in *sendMessageInput) error {
		in.QueueUrl = p["QueueUrl"]
		in.MessageBody = optString(p, "MessageBody")
		var err error
		if in.DelaySeconds, err = p.Int("DelaySeconds"); err != nil {
			return err
		}
		if in.MessageAttributes, err = queryAttrs(p, "MessageAttribute"); err != nil {
			return err
		}
		if in.MessageSystemAttributes, err = queryAttrs(p, "MessageSystemAttribute"); err != nil {
			return err
		}
		in.MessageDeduplicationId = optString(p, "MessageDeduplicationId")
		in.MessageGroupId = optString(p, "MessageGroupId")
		return nil
	}, onQueue(func(h *Handler, r *Request, name string, in *sendMessageInput) (*sendMessageOutput, error) {
		si, err := h.sendInput(r, "", in.MessageBody, in.DelaySeconds, in.MessageAttributes, in.MessageSystemAttributes, in.MessageDeduplicationId, in.MessageGroupId)
		if err != nil {
			return nil, err
		}
		res, err := h.svc.SendMessage(r.Ctx, name, si)
		if err != nil {
			return nil, err
		}
		return &sendMessageOutput{MD5OfMessageBody: res.MD5Body, MD5OfMessageAttributes: res.MD5Attr,
			MD5OfMessageSystemAttributes: res.MD5SysAttr, MessageId: res.MessageID, SequenceNumber: res.SequenceNumber}, nil
	}), xmlSendResult)

	reg(h, "SendMessageBatch", func(p awsquery.Params, in *sendMessageBatchInput) error {
		in.QueueUrl = p["QueueUrl"]
		for _, m := range p.Members("SendMessageBatchRequestEntry") {
			mp := awsquery.Params(m)
			e := sendBatchEntry{Id: mp["Id"], MessageBody: optString(mp, "MessageBody"),
				MessageDeduplicationId: optString(mp, "MessageDeduplicationId"), MessageGroupId: optString(mp, "MessageGroupId")}
			var err error
			if e.DelaySeconds, err = mp.Int("DelaySeconds"); err != nil {
				return err
			}
			if e.MessageAttributes, err = queryAttrs(mp, "MessageAttribute"); err != nil {
				return err
			}
			if e.MessageSystemAttributes, err = queryAttrs(mp, "MessageSystemAttribute"); err != nil {
				return err
			}
			in.Entries = append(in.Entries, e)
		}
		return nil
	}, onQueue(func(h *Handler, r *Request, name string, in *sendMessageBatchInput) (*sendMessageBatchOutput, error) {
		ids := make([]string, len(in.Entries))
		for i, e := range in.Entries {
			ids[i] = e.Id
		}
		if err := queue.CheckBatchIDs("SendMessageBatchRequestEntry", ids); err != nil {
			return nil, err
		}
		entries := make([]queue.SendInput, 0, len(in.Entries))
		out := &sendMessageBatchOutput{Successful: []sendBatchResultEntry{}, Failed: []batchResultError{}}
		for _, e := range in.Entries {
			si, err := h.sendInput(r, e.Id, e.MessageBody, e.DelaySeconds, e.MessageAttributes, e.MessageSystemAttributes, e.MessageDeduplicationId, e.MessageGroupId)
			if err != nil {
				out.Failed = append(out.Failed, batchError(e.Id, err, h, r))
				si = queue.SendInput{ID: e.Id}
			}
			entries = append(entries, si)
		}
		if len(out.Failed) > 0 {
			// Keep decoding failures out of the service call but keep
			// the batch-level checks (ids, count) on the whole batch.
			failed := map[string]bool{}
			for _, f := range out.Failed {
				failed[f.Id] = true
			}
			kept := entries[:0]
			for _, e := range entries {
				if !failed[e.ID] {
					kept = append(kept, e)
				}
			}
			entries = kept
			if len(entries) == 0 {
				return out, nil
			}
		}
		res, err := h.svc.SendMessageBatch(r.Ctx, name, entries)
		if err != nil {
			return nil, err
		}
		for _, x := range res {
			if x.Err != nil {
				out.Failed = append(out.Failed, batchError(x.ID, x.Err, h, r))
				continue
			}
			out.Successful = append(out.Successful, sendBatchResultEntry{Id: x.ID, sendMessageOutput: sendMessageOutput{
				MD5OfMessageBody: x.MD5Body, MD5OfMessageAttributes: x.MD5Attr, MD5OfMessageSystemAttributes: x.MD5SysAttr,
				MessageId: x.MessageID, SequenceNumber: x.SequenceNumber}})
		}
		return out, nil
	}), func(x *awsquery.XML, o *sendMessageBatchOutput) {
		for _, s := range o.Successful {
			x.Open("SendMessageBatchResultEntry")
			x.Elem("Id", s.Id)
			xmlSendResult(x, &s.sendMessageOutput)
			x.Close("SendMessageBatchResultEntry")
		}
		xmlBatchErrors(x, o.Failed)
	})

	reg(h, "ReceiveMessage", func(p awsquery.Params, in *receiveMessageInput) error {
		in.QueueUrl = p["QueueUrl"]
		in.AttributeNames = p.List("AttributeName")
		in.MessageSystemAttributeNames = p.List("MessageSystemAttributeName")
		in.MessageAttributeNames = p.List("MessageAttributeName")
		in.ReceiveRequestAttemptId = p["ReceiveRequestAttemptId"]
		var err error
		if in.MaxNumberOfMessages, err = p.Int("MaxNumberOfMessages"); err != nil {
			return err
		}
		if in.VisibilityTimeout, err = p.Int("VisibilityTimeout"); err != nil {
			return err
		}
		in.WaitTimeSeconds, err = p.Int("WaitTimeSeconds")
		return err
	}, onQueue(func(h *Handler, r *Request, name string, in *receiveMessageInput) (*receiveMessageOutput, error) {
		msgs, err := h.svc.ReceiveMessage(r.Ctx, name, queue.ReceiveInput{
			MaxNumberOfMessages: in.MaxNumberOfMessages, VisibilityTimeout: in.VisibilityTimeout,
			WaitTimeSeconds:       in.WaitTimeSeconds,
			SystemAttributeNames:  append(append([]string(nil), in.AttributeNames...), in.MessageSystemAttributeNames...),
			MessageAttributeNames: in.MessageAttributeNames, AttemptID: in.ReceiveRequestAttemptId,
		})
		if err != nil {
			return nil, err
		}
		out := &receiveMessageOutput{}
		for _, m := range msgs {
			out.Messages = append(out.Messages, message{
				MessageId: m.MessageID, ReceiptHandle: m.ReceiptHandle, MD5OfBody: m.MD5Body, Body: m.Body,
				Attributes: m.Attributes, MD5OfMessageAttributes: m.MD5Attr, MessageAttributes: fromStoreAttrs(m.MessageAttrs),
			})
		}
		return out, nil
	}), func(x *awsquery.XML, o *receiveMessageOutput) {
		for _, m := range o.Messages {
			x.Open("Message")
			x.Elem("MessageId", m.MessageId)
			x.Elem("ReceiptHandle", m.ReceiptHandle)
			x.Elem("MD5OfBody", m.MD5OfBody)
			x.Elem("Body", m.Body)
			xmlAttributes(x, m.Attributes)
			if m.MD5OfMessageAttributes != "" {
				x.Elem("MD5OfMessageAttributes", m.MD5OfMessageAttributes)
			}
			names := make([]string, 0, len(m.MessageAttributes))
			for n := range m.MessageAttributes {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				v := m.MessageAttributes[n]
				x.Open("MessageAttribute")
				x.Elem("Name", n)
				x.Open("Value")
				if v.StringValue != nil {
					x.Elem("StringValue", *v.StringValue)
				} else {
					x.Elem("BinaryValue", base64.StdEncoding.EncodeToString(v.BinaryValue))
				}
				x.Elem("DataType", v.DataType)
				x.Close("Value")
				x.Close("MessageAttribute")
			}
			x.Close("Message")
		}
	})

	reg(h, "DeleteMessage", func(p awsquery.Params, in *receiptInput) error {
		in.QueueUrl, in.ReceiptHandle = p["QueueUrl"], p["ReceiptHandle"]
		return nil
	}, onQueue(func(h *Handler, r *Request, name string, in *receiptInput) (*empty, error) {
		return &empty{}, h.svc.DeleteMessage(r.Ctx, name, in.ReceiptHandle)
	}), nil)

	reg(h, "ChangeMessageVisibility", func(p awsquery.Params, in *receiptInput) error {
		in.QueueUrl, in.ReceiptHandle = p["QueueUrl"], p["ReceiptHandle"]
		var err error
		in.VisibilityTimeout, err = p.Int("VisibilityTimeout")
		return err
	}, onQueue(func(h *Handler, r *Request, name string, in *receiptInput) (*empty, error) {
		return &empty{}, h.svc.ChangeMessageVisibility(r.Ctx, name, in.ReceiptHandle, in.VisibilityTimeout)
	}), nil)

	batchQuery := func(entryName string) func(p awsquery.Params, in *batchInput) error {
		return func(p awsquery.Params, in *batchInput) error {
			in.QueueUrl = p["QueueUrl"]
			for _, m := range p.Members(entryName) {
				mp := awsquery.Params(m)
				e := batchEntry{Id: mp["Id"], ReceiptHandle: mp["ReceiptHandle"]}
				var err error
				if e.VisibilityTimeout, err = mp.Int("VisibilityTimeout"); err != nil {
					return err
				}
				in.Entries = append(in.Entries, e)
			}
			return nil
		}
	}
	batchRun := func(do func(h *Handler, r *Request, name string, es []queue.BatchEntry) ([]error, error)) func(h *Handler, r *Request, in *batchInput) (*batchOutput, error) {
		return onQueue(func(h *Handler, r *Request, name string, in *batchInput) (*batchOutput, error) {
			es := make([]queue.BatchEntry, len(in.Entries))
			for i, e := range in.Entries {
				es[i] = queue.BatchEntry{ID: e.Id, ReceiptHandle: e.ReceiptHandle, VisibilityTimeout: e.VisibilityTimeout}
			}
			errs, err := do(h, r, name, es)
			if err != nil {
				return nil, err
			}
			out := &batchOutput{Successful: []idEntry{}, Failed: []batchResultError{}}
			for i, e := range errs {
				if e != nil {
					out.Failed = append(out.Failed, batchError(es[i].ID, e, h, r))
				} else {
					out.Successful = append(out.Successful, idEntry{Id: es[i].ID})
				}
			}
			return out, nil
		})
	}
	batchXML := func(entry string) func(x *awsquery.XML, o *batchOutput) {
		return func(x *awsquery.XML, o *batchOutput) {
			for _, s := range o.Successful {
				x.Open(entry)
				x.Elem("Id", s.Id)
				x.Close(entry)
			}
			xmlBatchErrors(x, o.Failed)
		}
	}
	reg(h, "DeleteMessageBatch", batchQuery("DeleteMessageBatchRequestEntry"),
		batchRun(func(h *Handler, r *Request, name string, es []queue.BatchEntry) ([]error, error) {
			return h.svc.DeleteMessageBatch(r.Ctx, name, es)
		}), batchXML("DeleteMessageBatchResultEntry"))
	reg(h, "ChangeMessageVisibilityBatch", batchQuery("ChangeMessageVisibilityBatchRequestEntry"),
		batchRun(func(h *Handler, r *Request, name string, es []queue.BatchEntry) ([]error, error) {
			return h.svc.ChangeMessageVisibilityBatch(r.Ctx, name, es)
		}), batchXML("ChangeMessageVisibilityBatchResultEntry"))

	reg(h, "TagQueue", func(p awsquery.Params, in *tagQueueInput) error {
		in.QueueUrl = p["QueueUrl"]
		in.Tags = p.Map("Tag", "Key", "Value")
		return nil
	}, onQueue(func(h *Handler, r *Request, name string, in *tagQueueInput) (*empty, error) {
		return &empty{}, h.svc.TagQueue(r.Ctx, name, in.Tags)
	}), nil)

	reg(h, "UntagQueue", func(p awsquery.Params, in *untagQueueInput) error {
		in.QueueUrl = p["QueueUrl"]
		in.TagKeys = p.List("TagKey")
		return nil
	}, onQueue(func(h *Handler, r *Request, name string, in *untagQueueInput) (*empty, error) {
		return &empty{}, h.svc.UntagQueue(r.Ctx, name, in.TagKeys)
	}), nil)

	reg(h, "ListQueueTags", func(p awsquery.Params, in *queueURLInput) error {
		in.QueueUrl = p["QueueUrl"]
		return nil
	}, onQueue(func(h *Handler, r *Request, name string, in *queueURLInput) (*tagsOutput, error) {
		tags, err := h.svc.ListQueueTags(r.Ctx, name)
		if err != nil {
			return nil, err
		}
		return &tagsOutput{Tags: tags}, nil
	}), func(x *awsquery.XML, o *tagsOutput) {
		keys := make([]string, 0, len(o.Tags))
		for k := range o.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			x.Open("Tag")
			x.Elem("Key", k)
			x.Elem("Value", o.Tags[k])
			x.Close("Tag")
		}
	})

	reg(h, "ListDeadLetterSourceQueues", func(p awsquery.Params, in *listDLQSourcesInput) error {
		in.QueueUrl, in.NextToken = p["QueueUrl"], p["NextToken"]
		var err error
		in.MaxResults, err = p.Int("MaxResults")
		return err
	}, onQueue(func(h *Handler, r *Request, name string, in *listDLQSourcesInput) (*listDLQSourcesOutput, error) {
		max := 0
		if in.MaxResults != nil {
			max = *in.MaxResults
			if max < 1 || max > 1000 {
				return nil, awserr.New(awserr.InvalidParameterValue, "Value "+strconv.Itoa(max)+" for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.")
			}
		}
		names, next, err := h.svc.ListDeadLetterSourceQueues(r.Ctx, name, max, in.NextToken)
		if err != nil {
			return nil, err
		}
		out := &listDLQSourcesOutput{QueueUrls: []string{}, NextToken: next}
		for _, n := range names {
			out.QueueUrls = append(out.QueueUrls, h.queueURL(r, n))
		}
		return out, nil
	}), func(x *awsquery.XML, o *listDLQSourcesOutput) {
		for _, u := range o.QueueUrls {
			x.Elem("QueueUrl", u)
		}
		if o.NextToken != "" {
			x.Elem("NextToken", o.NextToken)
		}
	})

	reg(h, "AddPermission", func(p awsquery.Params, in *addPermissionInput) error {
		in.QueueUrl, in.Label = p["QueueUrl"], p["Label"]
		in.AWSAccountIds = p.List("AWSAccountId")
		in.Actions = p.List("ActionName")
		return nil
	}, onQueue(func(h *Handler, r *Request, name string, in *addPermissionInput) (*empty, error) {
		return &empty{}, h.svc.AddPermission(r.Ctx, name, in.Label, in.AWSAccountIds, in.Actions)
	}), nil)

	reg(h, "RemovePermission", func(p awsquery.Params, in *removePermissionInput) error {
		in.QueueUrl, in.Label = p["QueueUrl"], p["Label"]
		return nil
	}, onQueue(func(h *Handler, r *Request, name string, in *removePermissionInput) (*empty, error) {
		return &empty{}, h.svc.RemovePermission(r.Ctx, name, in.Label)
	}), nil)

	reg(h, "StartMessageMoveTask", func(p awsquery.Params, in *startMoveInput) error {
		in.SourceArn, in.DestinationArn = p["SourceArn"], p["DestinationArn"]
		var err error
		in.MaxNumberOfMessagesPerSecond, err = p.Int("MaxNumberOfMessagesPerSecond")
		return err
	}, func(h *Handler, r *Request, in *startMoveInput) (*startMoveOutput, error) {
		handle, err := h.svc.StartMessageMoveTask(r.Ctx, in.SourceArn, in.DestinationArn, in.MaxNumberOfMessagesPerSecond)
		if err != nil {
			return nil, err
		}
		return &startMoveOutput{TaskHandle: handle}, nil
	}, func(x *awsquery.XML, o *startMoveOutput) { x.Elem("TaskHandle", o.TaskHandle) })

	reg(h, "ListMessageMoveTasks", func(p awsquery.Params, in *listMoveInput) error {
		in.SourceArn = p["SourceArn"]
		var err error
		in.MaxResults, err = p.Int("MaxResults")
		return err
	}, func(h *Handler, r *Request, in *listMoveInput) (*listMoveOutput, error) {
		tasks, err := h.svc.ListMessageMoveTasks(r.Ctx, in.SourceArn, in.MaxResults)
		if err != nil {
			return nil, err
		}
		out := &listMoveOutput{Results: []moveTaskEntry{}}
		for _, t := range tasks {
			e := moveTaskEntry{Status: t.Status, SourceArn: t.SourceArn, DestinationArn: t.DestinationArn,
				ApproximateNumberOfMessagesMoved: t.Moved, ApproximateNumberOfMessagesToMove: t.ToMove,
				FailureReason: t.FailureReason, StartedTimestamp: t.StartedTimestamp}
			if t.Status == queue.TaskRunning {
				e.TaskHandle = t.Handle
			}
			if t.MaxPerSecond > 0 {
				n := t.MaxPerSecond
				e.MaxNumberOfMessagesPerSecond = &n
			}
			out.Results = append(out.Results, e)
		}
		return out, nil
	}, func(x *awsquery.XML, o *listMoveOutput) {
		for _, e := range o.Results {
			x.Open("ListMessageMoveTasksResultEntry")
			if e.TaskHandle != "" {
				x.Elem("TaskHandle", e.TaskHandle)
			}
			x.Elem("Status", e.Status)
			x.Elem("SourceArn", e.SourceArn)
			if e.DestinationArn != "" {
				x.Elem("DestinationArn", e.DestinationArn)
			}
			if e.MaxNumberOfMessagesPerSecond != nil {
				x.Elem("MaxNumberOfMessagesPerSecond", strconv.Itoa(*e.MaxNumberOfMessagesPerSecond))
			}
			x.Elem("ApproximateNumberOfMessagesMoved", strconv.FormatInt(e.ApproximateNumberOfMessagesMoved, 10))
			x.Elem("ApproximateNumberOfMessagesToMove", strconv.FormatInt(e.ApproximateNumberOfMessagesToMove, 10))
			if e.FailureReason != "" {
				x.Elem("FailureReason", e.FailureReason)
			}
			x.Elem("StartedTimestamp", strconv.FormatInt(e.StartedTimestamp, 10))
			x.Close("ListMessageMoveTasksResultEntry")
		}
	})

	reg(h, "CancelMessageMoveTask", func(p awsquery.Params, in *cancelMoveInput) error {
		in.TaskHandle = p["TaskHandle"]
		return nil
	}, func(h *Handler, r *Request, in *cancelMoveInput) (*cancelMoveOutput, error) {
		n, err := h.svc.CancelMessageMoveTask(r.Ctx, in.TaskHandle)
		if err != nil {
			return nil, err
		}
		return &cancelMoveOutput{ApproximateNumberOfMessagesMoved: n}, nil
	}, func(x *awsquery.XML, o *cancelMoveOutput) {
		x.Elem("ApproximateNumberOfMessagesMoved", strconv.FormatInt(o.ApproximateNumberOfMessagesMoved, 10))
	})
}
