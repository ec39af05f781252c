// The AWS SDK for JavaScript v3 against forkline: SQS (JSON protocol, with
// the SDK's own MD5 checks of bodies) and SNS (query protocol, the SDK's XML
// parser). Run by e2e/jsclient_test.go with FORKLINE_ENDPOINT set; prints
// "all checks passed" or throws.
import assert from "node:assert/strict";
import * as sqs from "@aws-sdk/client-sqs";
import * as sns from "@aws-sdk/client-sns";

const endpoint = process.env.FORKLINE_ENDPOINT;
const cfg = {
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "AKIDJS", secretAccessKey: "secret" },
  maxAttempts: 1,
};
const q = new sqs.SQSClient(cfg);
const t = new sns.SNSClient(cfg);

async function fails(p, name, status) {
  try {
    await p;
  } catch (e) {
    assert.equal(e.name, name, `error name: ${e.name}: ${e.message}`);
    assert.equal(e.$metadata.httpStatusCode, status);
    return e;
  }
  assert.fail(`expected ${name}`);
}

// --- SQS ---
const { QueueUrl: url } = await q.send(new sqs.CreateQueueCommand({
  QueueName: "js-orders", Attributes: { VisibilityTimeout: "30" }, tags: { team: "js" },
}));
assert.ok(url.endsWith("/000000000000/js-orders"), url);
const { QueueUrl: dlq } = await q.send(new sqs.CreateQueueCommand({ QueueName: "js-orders-dlq" }));
const { Attributes: dlqAttrs } = await q.send(new sqs.GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ["QueueArn"] }));
await q.send(new sqs.SetQueueAttributesCommand({
  QueueUrl: url,
  Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqAttrs.QueueArn, maxReceiveCount: 1 }) },
}));

// Unicode and a body the SDK checks by MD5 on send and on receive.
const body = "order 7: 3 × ☕ — 𝄞";
const sent = await q.send(new sqs.SendMessageCommand({
  QueueUrl: url, MessageBody: body,
  MessageAttributes: {
    kind: { DataType: "String", StringValue: "order" },
    total: { DataType: "Number", StringValue: "250.5" },
    blob: { DataType: "Binary", BinaryValue: new Uint8Array([0, 1, 2, 255]) },
  },
}));
assert.match(sent.MessageId, /^[0-9a-f-]{36}$/);
assert.ok(sent.MD5OfMessageAttributes);

const batch = await q.send(new sqs.SendMessageBatchCommand({
  QueueUrl: url,
  Entries: [
    { Id: "a", MessageBody: "second" },
    { Id: "b", MessageBody: "third", DelaySeconds: 0 },
  ],
}));
assert.equal(batch.Successful.length, 2);
assert.equal(batch.Failed?.length ?? 0, 0);

const got = [];
for (let i = 0; i < 10 && got.length < 3; i++) {
  const r = await q.send(new sqs.ReceiveMessageCommand({
    QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
    MessageAttributeNames: ["All"], MessageSystemAttributeNames: ["All"],
  }));
  got.push(...(r.Messages ?? []));
}
assert.equal(got.length, 3);
const first = got.find((m) => m.MessageId === sent.MessageId);
assert.equal(first.Body, body);
assert.equal(first.MessageAttributes.kind.StringValue, "order");
assert.equal(first.MessageAttributes.total.StringValue, "250.5");
assert.deepEqual([...first.MessageAttributes.blob.BinaryValue], [0, 1, 2, 255]);
assert.equal(first.Attributes.ApproximateReceiveCount, "1");
assert.ok(Number(first.Attributes.SentTimestamp) > 0);

// Visibility: one message back at once, the others deleted in a batch.
await q.send(new sqs.ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: first.ReceiptHandle, VisibilityTimeout: 0 }));
const del = await q.send(new sqs.DeleteMessageBatchCommand({
  QueueUrl: url,
  Entries: got.filter((m) => m !== first).map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })),
}));
assert.equal(del.Successful.length, 2);
// Received again past maxReceiveCount 1: moved to the dead-letter queue.
const again = await q.send(new sqs.ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }));
assert.equal(again.Messages?.length ?? 0, 0);
const dead = await q.send(new sqs.ReceiveMessageCommand({ QueueUrl: dlq, WaitTimeSeconds: 5, MessageAttributeNames: ["All"] }));
assert.equal(dead.Messages?.[0]?.Body, body);

// FIFO: order within a group, deduplication returns the first MessageId.
const { QueueUrl: fifo } = await q.send(new sqs.CreateQueueCommand({
  QueueName: "js-jobs.fifo", Attributes: { FifoQueue: "true", ContentBasedDeduplication: "true" },
}));
const one = await q.send(new sqs.SendMessageCommand({ QueueUrl: fifo, MessageBody: "job 1", MessageGroupId: "g" }));
const dup = await q.send(new sqs.SendMessageCommand({ QueueUrl: fifo, MessageBody: "job 1", MessageGroupId: "g" }));
assert.equal(dup.MessageId, one.MessageId);
assert.ok(one.SequenceNumber);
await q.send(new sqs.SendMessageCommand({ QueueUrl: fifo, MessageBody: "job 2", MessageGroupId: "g" }));
const jobs = await q.send(new sqs.ReceiveMessageCommand({ QueueUrl: fifo, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ["All"] }));
assert.deepEqual(jobs.Messages.map((m) => m.Body), ["job 1", "job 2"]);
assert.equal(jobs.Messages[0].Attributes.MessageGroupId, "g");

// Tags, listing, errors.
const tags = await q.send(new sqs.ListQueueTagsCommand({ QueueUrl: url }));
assert.deepEqual(tags.Tags, { team: "js" });
const list = await q.send(new sqs.ListQueuesCommand({ QueueNamePrefix: "js-" }));
assert.equal(list.QueueUrls.length, 3);
await fails(q.send(new sqs.GetQueueUrlCommand({ QueueName: "js-missing" })), "QueueDoesNotExist", 400);
await fails(q.send(new sqs.SendMessageCommand({ QueueUrl: fifo, MessageBody: "no group" })), "MissingParameter", 400);
// 404: the SQS model's awsQueryError trait for ReceiptHandleIsInvalid.
await fails(q.send(new sqs.ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: "bogus", VisibilityTimeout: 5 })), "ReceiptHandleIsInvalid", 404);
await fails(q.send(new sqs.SendMessageBatchCommand({ QueueUrl: url, Entries: [] })), "EmptyBatchRequest", 400);

// --- SNS ---
const { TopicArn: topic } = await t.send(new sns.CreateTopicCommand({ Name: "js-checkout", Tags: [{ Key: "team", Value: "js" }] }));
assert.equal(topic, "arn:aws:sns:us-east-1:000000000000:js-checkout");
const { QueueUrl: big } = await q.send(new sqs.CreateQueueCommand({ QueueName: "js-big" }));
const { Attributes: bigAttrs } = await q.send(new sqs.GetQueueAttributesCommand({ QueueUrl: big, AttributeNames: ["QueueArn"] }));
const sub = await t.send(new sns.SubscribeCommand({
  TopicArn: topic, Protocol: "sqs", Endpoint: bigAttrs.QueueArn, ReturnSubscriptionArn: true,
  Attributes: { FilterPolicy: JSON.stringify({ total: [{ numeric: [">=", 100] }] }), FilterPolicyScope: "MessageBody" },
}));
assert.ok(sub.SubscriptionArn.startsWith(topic + ":"));
const { QueueUrl: all } = await q.send(new sqs.CreateQueueCommand({ QueueName: "js-all" }));
const { Attributes: allAttrs } = await q.send(new sqs.GetQueueAttributesCommand({ QueueUrl: all, AttributeNames: ["QueueArn"] }));
await t.send(new sns.SubscribeCommand({
  TopicArn: topic, Protocol: "sqs", Endpoint: allAttrs.QueueArn, Attributes: { RawMessageDelivery: "true" },
}));

const pub = await t.send(new sns.PublishCommand({
  TopicArn: topic, Subject: "checkout", Message: JSON.stringify({ order: 7, total: 250 }),
  MessageAttributes: { kind: { DataType: "String", StringValue: "order" } },
}));
assert.match(pub.MessageId, /^[0-9a-f-]{36}$/);
const pb = await t.send(new sns.PublishBatchCommand({
  TopicArn: topic,
  PublishBatchRequestEntries: [
    { Id: "small", Message: JSON.stringify({ order: 8, total: 5 }) },
    { Id: "large", Message: JSON.stringify({ order: 9, total: 900 }) },
  ],
}));
assert.equal(pb.Successful.length, 2);

async function drain(u, n) {
  const out = [];
  for (let i = 0; i < 10 && out.length < n; i++) {
    const r = await q.send(new sqs.ReceiveMessageCommand({ QueueUrl: u, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ["All"] }));
    out.push(...(r.Messages ?? []));
  }
  return out;
}
const envelopes = (await drain(big, 2)).map((m) => JSON.parse(m.Body));
assert.deepEqual(envelopes.map((e) => JSON.parse(e.Message).order).sort(), [7, 9]);
const e7 = envelopes.find((e) => JSON.parse(e.Message).order === 7);
assert.equal(e7.Type, "Notification");
assert.equal(e7.Subject, "checkout");
assert.equal(e7.TopicArn, topic);
assert.equal(e7.SignatureVersion, "1");
assert.deepEqual(e7.MessageAttributes.kind, { Type: "String", Value: "order" });
const raw = await drain(all, 3);
assert.equal(raw.length, 3);
const raw7 = raw.find((m) => JSON.parse(m.Body).order === 7);
assert.equal(raw7.MessageAttributes.kind.StringValue, "order");

const subs = await t.send(new sns.ListSubscriptionsByTopicCommand({ TopicArn: topic }));
assert.equal(subs.Subscriptions.length, 2);
const topicTags = await t.send(new sns.ListTagsForResourceCommand({ ResourceArn: topic }));
assert.deepEqual(topicTags.Tags, [{ Key: "team", Value: "js" }]);
await fails(t.send(new sns.PublishCommand({ TopicArn: topic + "-missing", Message: "x" })), "NotFoundException", 404);
await fails(t.send(new sns.SubscribeCommand({ TopicArn: topic, Protocol: "carrier-pigeon", Endpoint: "x" })), "InvalidParameterException", 400);

console.log("all checks passed");
