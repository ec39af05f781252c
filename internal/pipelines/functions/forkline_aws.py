"""A small AWS JSON-protocol client for the Event Fork Pipelines functions:
SigV4-signed requests with the function's credentials to AWS_ENDPOINT_URL
(forkline), using only the standard library, so that the functions run on
any Python 3 without an SDK. forkline's own code."""
import datetime
import hashlib
import hmac
import http.client
import json
import os
import urllib.parse


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
    status, raw = _post(url, body, headers)
    if status < 300:
        return json.loads(raw) if raw else {}
    try:
        err = json.loads(raw)
    except ValueError:
        err = {}
    code = str(err.get("__type", "HTTP%d" % status)).split("#")[-1]
    raise AWSError(status, code, err.get("message", err.get("Message", raw.decode("utf-8", "replace"))))


# One keep-alive connection per warm sandbox: invocations reuse it.
_conn = None


def _post(url, body, headers):
    global _conn
    for attempt in (0, 1):
        if _conn is None:
            cls = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
            _conn = cls(url.netloc, timeout=30)
        try:
            _conn.request("POST", "/", body=body, headers=headers)
            resp = _conn.getresponse()
            return resp.status, resp.read()
        except (http.client.HTTPException, OSError):
            _conn.close()
            _conn = None
            if attempt:
                raise


def sqs(action, payload):
    return call("sqs", "AmazonSQS." + action, payload)


def firehose(action, payload):
    return call("firehose", "Firehose_20150804." + action, payload, "application/x-amz-json-1.1")
