"""The Event Fork Pipelines' replay function: it forwards a batch from the
replay queue to the queue named DESTINATION_SQS_QUEUE_NAME in one
SendMessageBatch, bodies unchanged and message attributes kept. Any failed
entry fails the batch, which then stays in the replay queue."""
import logging
import os

import forkline_aws

log = logging.getLogger()
log.setLevel(getattr(logging, os.environ.get("LOG_LEVEL", "INFO").upper(), logging.INFO))

_queue_url = None


def _destination():
    global _queue_url
    if _queue_url is None:
        _queue_url = forkline_aws.sqs("GetQueueUrl", {"QueueName": os.environ["DESTINATION_SQS_QUEUE_NAME"]})["QueueUrl"]
    return _queue_url


def _attribute(a):
    # The event's camelCase attribute fields, as SendMessageBatch takes them;
    # empty list fields are dropped.
    out = {}
    for k, v in a.items():
        if v:
            out[k[:1].upper() + k[1:]] = v
    return out


def handler(event, context):
    records = event.get("Records")
    if not records:
        log.info("no records in the event")
        return
    entries = []
    for i, r in enumerate(records):
        entry = {"Id": str(i), "MessageBody": r["body"]}
        attrs = {name: _attribute(a) for name, a in (r.get("messageAttributes") or {}).items()}
        if attrs:
            entry["MessageAttributes"] = attrs
        entries.append(entry)
    url = _destination()
    out = forkline_aws.sqs("SendMessageBatch", {"QueueUrl": url, "Entries": entries})
    if out.get("Failed"):
        raise RuntimeError("Failed to send messages to destination queue: queue URL=%s, failures=%s" % (url, out["Failed"]))
    log.debug("replayed %d messages to %s", len(entries), url)
