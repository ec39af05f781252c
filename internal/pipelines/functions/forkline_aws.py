"""A small AWS JSON-protocol client for the Event Fork Pipelines functions:
SigV4-signed requests with the function's credentials to AWS_ENDPOINT_URL
(forkline), using only the standard library, so that the functions run on
any Python 3 without an SDK. forkline's own code."""
import datetime
import hashlib
import hmac
import json
import os
import urllib.error
import urllib.parse
import urllib.request


class AWSError(Exception):
    def __init__(self, status, code, message):
        super().__init__("%s: %s" % (code, message))
        self.status, self.code, self.message = status, code, message


def _sign(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def call(service, target, payload, content_type="application/x-amz-json-1.0"):
    """Calls an AWS JSON-protocol action (X-Amz-Target) and returns the decoded answer."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566").rstrip("/")
    region = os.environ.get("AWS_REGION", "us-east-1")
    key = os.environ.get("AWS_ACCESS_KEY_ID", "")
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
    token = os.environ.get("AWS_SESSION_TOKEN", "")
    body = json.dumps(payload).encode("utf-8")
    url = urllib.parse.urlsplit(endpoint + "/")
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, date = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    headers = {"content-type": content_type, "host": url.netloc, "x-amz-date": amz_date, "x-amz-target": target}
    if token:
        headers["x-amz-security-token"] = token
    signed = sorted(headers)
    canonical = "\n".join(["POST", "/", "", "".join("%s:%s\n" % (h, headers[h]) for h in signed),
                           ";".join(signed), hashlib.sha256(body).hexdigest()])
    scope = "%s/%s/%s/aws4_request" % (date, region, service)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()])
    k = _sign(_sign(_sign(_sign(("AWS4" + secret).encode("utf-8"), date), region), service), "aws4_request")
    signature = hmac.new(k, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    headers["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        key, scope, ";".join(signed), signature)
    req = urllib.request.Request(endpoint + "/", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            return json.loads(raw) if raw else {}
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            err = json.loads(raw)
        except ValueError:
            err = {}
        code = str(err.get("__type", "HTTP%d" % e.code)).split("#")[-1]
        raise AWSError(e.code, code, err.get("message", err.get("Message", raw.decode("utf-8", "replace"))))


def sqs(action, payload):
    return call("sqs", "AmazonSQS." + action, payload)


def firehose(action, payload):
    return call("firehose", "Firehose_20150804." + action, payload, "application/x-amz-json-1.1")
