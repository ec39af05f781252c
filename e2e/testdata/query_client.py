"""Drive forkline's SQS query protocol with Debian's python3-boto3.

Debian's botocore (1.29) still speaks the query protocol with XML
responses for SQS, and checks MD5OfMessageBody and MD5OfMessageAttributes
on send and receive. Run by e2e/clients_test.go with FORKLINE_ENDPOINT set.
"""
import os
import sys

import boto3
import botocore
from botocore.exceptions import ClientError

endpoint = os.environ["FORKLINE_ENDPOINT"]
c = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1",
                 aws_access_key_id="AKIDQUERY", aws_secret_access_key="secret")
assert c.meta.service_model.protocol == "query", c.meta.service_model.protocol


def code(fn, **kw):
    try:
        fn(**kw)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    raise AssertionError("no error from %s" % fn)


url = c.create_queue(QueueName="py-q", Attributes={"VisibilityTimeout": "7", "DelaySeconds": "0"},
                     tags={"team": "py"})["QueueUrl"]
assert url.endswith("/000000000000/py-q"), url
assert c.get_queue_url(QueueName="py-q")["QueueUrl"] == url
assert c.list_queues(QueueNamePrefix="py-")["QueueUrls"] == [url]
a = c.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
assert a["VisibilityTimeout"] == "7" and a["QueueArn"].endswith(":py-q"), a
c.set_queue_attributes(QueueUrl=url, Attributes={"MaximumMessageSize": "2048"})
assert c.get_queue_attributes(QueueUrl=url, AttributeNames=["MaximumMessageSize"])["Attributes"] == {"MaximumMessageSize": "2048"}

# Attributes of every type; botocore verifies both MD5s.
attrs = {
    "s": {"DataType": "String", "StringValue": "x & <y>"},
    "n": {"DataType": "Number.int", "StringValue": "-12.5e3"},
    "b": {"DataType": "Binary", "BinaryValue": b"\x00\xff\x10"},
}
sent = c.send_message(QueueUrl=url, MessageBody="body\r\nwith ünïcode 😀", MessageAttributes=attrs,
                      MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-5759e988-bd862e3fe1be46a994272793"}})
assert sent["MD5OfMessageAttributes"] and sent["MD5OfMessageSystemAttributes"], sent
batch = c.send_message_batch(QueueUrl=url, Entries=[
    {"Id": "ok", "MessageBody": "second", "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}},
    {"Id": "bad", "MessageBody": "x" * 3000},
])
assert [e["Id"] for e in batch["Successful"]] == ["ok"], batch
assert batch["Failed"][0]["Id"] == "bad" and batch["Failed"][0]["SenderFault"] is True, batch
assert batch["Failed"][0]["Code"] == "InvalidParameterValue", batch

msgs = c.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"],
                         MessageAttributeNames=["All"])["Messages"]
assert len(msgs) == 2, msgs
first = [m for m in msgs if m["MessageId"] == sent["MessageId"]][0]
assert first["Body"] == "body\r\nwith ünïcode 😀", repr(first["Body"])
assert first["MessageAttributes"]["b"]["BinaryValue"] == b"\x00\xff\x10"
assert first["Attributes"]["AWSTraceHeader"] == "Root=1-5759e988-bd862e3fe1be46a994272793"
assert first["Attributes"]["SenderId"] == "AKIDQUERY"
c.change_message_visibility(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=60)
res = c.change_message_visibility_batch(QueueUrl=url, Entries=[
    {"Id": "a", "ReceiptHandle": first["ReceiptHandle"], "VisibilityTimeout": 30},
    {"Id": "z", "ReceiptHandle": "junk", "VisibilityTimeout": 30}])
assert [e["Id"] for e in res["Successful"]] == ["a"] and res["Failed"][0]["Code"] == "ReceiptHandleIsInvalid", res
c.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
res = c.delete_message_batch(QueueUrl=url, Entries=[{"Id": "x", "ReceiptHandle": m["ReceiptHandle"]} for m in msgs if m is not first])
assert len(res["Successful"]) == 1, res
counts = c.get_queue_attributes(QueueUrl=url, AttributeNames=[
    "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
assert counts == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}, counts

# Tags and permissions.
c.tag_queue(QueueUrl=url, Tags={"env": "test"})
assert c.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "py", "env": "test"}
c.untag_queue(QueueUrl=url, TagKeys=["team"])
assert c.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "test"}
c.add_permission(QueueUrl=url, Label="share", AWSAccountIds=["111122223333", "444455556666"],
                 Actions=["SendMessage", "ReceiveMessage"])
assert "share" in c.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"]
c.remove_permission(QueueUrl=url, Label="share")

# Dead-letter queues.
dlq = c.create_queue(QueueName="py-dlq")["QueueUrl"]
dlq_arn = c.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
c.set_queue_attributes(QueueUrl=url, Attributes={
    "RedrivePolicy": '{"deadLetterTargetArn":"%s","maxReceiveCount":"5"}' % dlq_arn})
assert c.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [url]
# (Debian's botocore predates the message move task actions; the Go test
# TestMoveTaskQueryXML covers their query form.)

# FIFO.
f = c.create_queue(QueueName="py.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
one = c.send_message(QueueUrl=f, MessageBody="1", MessageGroupId="g")
dup = c.send_message(QueueUrl=f, MessageBody="1", MessageGroupId="g")
assert one["MessageId"] == dup["MessageId"] and len(one["SequenceNumber"]) == 20, (one, dup)
c.send_message(QueueUrl=f, MessageBody="2", MessageGroupId="g")
got = c.receive_message(QueueUrl=f, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
assert [m["Body"] for m in got] == ["1", "2"], got
assert got[0]["Attributes"]["MessageGroupId"] == "g"

# Errors in the query protocol's shape.
assert code(c.get_queue_url, QueueName="nope") == ("AWS.SimpleQueueService.NonExistentQueue", 400)
assert code(c.create_queue, QueueName="py-q", Attributes={"VisibilityTimeout": "8"}) == ("QueueAlreadyExists", 400)
assert code(c.receive_message, QueueUrl=url, MaxNumberOfMessages=11) == ("InvalidParameterValue", 400)
assert code(c.delete_message, QueueUrl=url, ReceiptHandle="junk") == ("ReceiptHandleIsInvalid", 404)
assert code(c.send_message_batch, QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "x"}] * 2) == \
    ("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400)
c.purge_queue(QueueUrl=url)
assert code(c.purge_queue, QueueUrl=url) == ("AWS.SimpleQueueService.PurgeQueueInProgress", 403)
c.delete_queue(QueueUrl=f)
print("query client: all checks passed")
