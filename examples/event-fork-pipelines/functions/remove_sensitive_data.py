"""A Firehose transformation: it removes the card details from each checkout
event before the event is backed up or indexed."""
import base64
import json


def handler(event, context):
    out = []
    for record in event.get("records", []):
        order = json.loads(base64.b64decode(record["data"]))
        payment = order.get("payment", {})
        for key in [k for k in payment if k.startswith("card-")]:
            del payment[key]
        data = json.dumps(order, sort_keys=True) + "\n"
        out.append({"recordId": record["recordId"], "result": "Ok",
                    "data": base64.b64encode(data.encode("utf-8")).decode("ascii")})
    return {"records": out}
