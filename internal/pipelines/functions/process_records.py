"""The Event Fork Pipelines' record processor (storage and backup, search
and analytics): each SQS message body, which raw delivery keeps as the
original SNS message, goes to the Firehose delivery stream named by
FIREHOSE_DELIVERY_STREAM_NAME as one record followed by a newline. Message
attributes are not kept. Any failure fails the batch, which SQS then
delivers again."""
import base64
import logging
import os

import forkline_aws

log = logging.getLogger()
log.setLevel(getattr(logging, os.environ.get("LOG_LEVEL", "INFO").upper(), logging.INFO))

STREAM = os.environ["FIREHOSE_DELIVERY_STREAM_NAME"]


def handler(event, context):
    records = event.get("Records")
    if not records:
        log.info("no records in the event")
        return
    for start in range(0, len(records), 500):
        batch = [{"Data": base64.b64encode((r["body"] + "\n").encode("utf-8")).decode("ascii")}
                 for r in records[start:start + 500]]
        out = forkline_aws.firehose("PutRecordBatch", {"DeliveryStreamName": STREAM, "Records": batch})
        if out.get("FailedPutCount"):
            raise RuntimeError("Firehose refused %d records: %s" % (out["FailedPutCount"], out.get("RequestResponses")))
    log.debug("put %d records into %s", len(records), STREAM)
